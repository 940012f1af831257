/*
 * run_analysis.c - the end-of-run analyses of run_analysis.h: forward passes over the
 * test and validation splits chunk by chunk through the tr_net_* API, with the
 * chunk's logits or hidden activations downloaded and examined on the host.
 */
#include "trainer/run_analysis.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/best_params.h"

#define PATH_CAP 1200

static int download(tr_trainer *t, tr_buf *buf, float *dst, size_t n, tr_error *err)
{
	const tr_error *e;

	if (tr_backend_download(t->be, tr_at(buf, 0), dst, n) == TR_OK)
		return TR_OK;
	e = tr_backend_last_error(t->be);
	tr_fail(err, e->status ? e->status : TR_ERR_DEVICE, "%s", e->msg);
	return tr_error_prefix(err, "end-of-run analysis");
}

/* Forward rows [first, first + rows) of split s. */
static int forward_chunk(tr_trainer *t, const tr_split *s, size_t first, size_t rows,
			 tr_error *err)
{
	const tr_examples *ex;
	size_t base;
	int rc;

	tr_trainer_split_source(t, s, &ex, &base);
	if ((rc = tr_net_gather(t->net, ex, base, NULL, first, rows, err)) ||
	    (rc = tr_net_forward(t->net, rows, err)))
		return tr_error_prefix(err, "end-of-run analysis");
	return TR_OK;
}

/* The first largest logit's class (as the backends count a prediction correct) and its
 * softmax probability. */
static int predict(const float *z, size_t classes, double *prob)
{
	size_t c, best = 0;
	double sum = 0;

	for (c = 1; c < classes; c++)
		if (z[c] > z[best])
			best = c;
	for (c = 0; c < classes; c++)
		sum += exp((double)z[c] - (double)z[best]);
	*prob = 1.0 / sum;
	return (int)best;
}

static void note_wrong(tr_run_analysis *a, const tr_split *s, size_t index, int truth,
		       int pred, double prob)
{
	tr_misclassified *m;
	size_t p;

	a->n_wrong++;
	if (a->n_shown >= TR_MISCLASSIFIED_MAX || !a->wrong_images)
		return;
	m = &a->wrong[a->n_shown];
	m->index = index;
	m->true_class = truth;
	m->predicted = pred;
	m->prob = prob;
	for (p = 0; p < a->pixels; p++)
		a->wrong_images[a->n_shown * a->pixels + p] =
			(float)s->images[index * s->image_size + p] / 255.0f;
	a->n_shown++;
}

static int analyse_test(tr_trainer *t, tr_run_analysis *a, float *host, tr_error *err)
{
	const tr_split *s = &t->data->test;
	size_t L = t->cfg.layout.n_layers, classes = t->cfg.layout.sizes[L];
	size_t chunk = t->cfg.eval_chunk, first, r;
	int rc;

	a->n_test = s->count;
	a->pixels = s->image_size;
	a->wrong_images = malloc(TR_MISCLASSIFIED_MAX * (s->image_size ? s->image_size : 1) *
				 sizeof(float));
	if (!a->wrong_images)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	for (first = 0; first < s->count; first += chunk) {
		size_t rows = s->count - first < chunk ? s->count - first : chunk;

		if ((rc = forward_chunk(t, s, first, rows, err)) ||
		    (rc = download(t, t->net->act[L - 1], host, rows * classes, err)))
			return rc;
		for (r = 0; r < rows; r++) {
			int truth = s->labels[first + r];
			double prob;
			int pred = predict(host + r * classes, classes, &prob);

			a->confusion[truth][pred]++;
			if (pred != truth)
				note_wrong(a, s, first + r, truth, pred, prob);
		}
	}
	return TR_OK;
}

/* A hidden unit is dead when its ReLU output is 0 on every validation image. */
static int analyse_dead_units(tr_trainer *t, tr_run_analysis *a, float *host, tr_error *err)
{
	const tr_layout *lay = &t->cfg.layout;
	const tr_split *s = &t->data->val;
	size_t chunk = t->cfg.eval_chunk, first, i, r, u;
	unsigned char *alive[TR_MAX_LAYERS] = { NULL };
	int rc = TR_OK;

	a->n_val = s->count;
	a->n_hidden = lay->n_layers - 1;
	for (i = 0; i < a->n_hidden; i++) {
		a->units[i] = lay->sizes[i + 1];
		alive[i] = calloc(a->units[i], 1);
		if (!alive[i]) {
			rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
			goto out_free;
		}
	}
	for (first = 0; first < s->count && a->n_hidden; first += chunk) {
		size_t rows = s->count - first < chunk ? s->count - first : chunk;

		if ((rc = forward_chunk(t, s, first, rows, err)))
			goto out_free;
		for (i = 0; i < a->n_hidden; i++) {
			size_t n = a->units[i];

			if ((rc = download(t, t->net->act[i], host, rows * n, err)))
				goto out_free;
			for (r = 0; r < rows; r++)
				for (u = 0; u < n; u++)
					alive[i][u] |= host[r * n + u] > 0;
		}
	}
	for (i = 0; i < a->n_hidden; i++) {
		a->dead[i] = 0;
		for (u = 0; u < a->units[i]; u++)
			a->dead[i] += !alive[i][u];
	}
out_free:
	for (i = 0; i < TR_MAX_LAYERS; i++)
		free(alive[i]);
	return rc;
}

int tr_run_analyse(tr_trainer *t, tr_run_analysis *a, tr_error *err)
{
	const tr_layout *lay = &t->cfg.layout;
	size_t width = lay->max_width > lay->sizes[lay->n_layers] ? lay->max_width :
		       lay->sizes[lay->n_layers];
	float *host = malloc(t->cfg.eval_chunk * width * sizeof(float));
	int rc;

	memset(a, 0, sizeof(*a));
	if (!host)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	if (!(rc = analyse_test(t, a, host, err)))
		rc = analyse_dead_units(t, a, host, err);
	free(host);
	return rc;
}

int tr_run_analyse_best(tr_trainer *t, const char *dir, tr_run_analysis *a, tr_error *err)
{
	const tr_layout *lay = &t->cfg.layout;
	long iter, want_iter = -1;
	double val_acc, best = -1;
	float *params;
	tr_error ignored;
	size_t i;
	int rc;

	a->have_best = false;
	for (i = 0; i < t->n_metrics; i++) {
		if (isfinite(t->metrics[i].val_acc) && t->metrics[i].val_acc > best) {
			best = t->metrics[i].val_acc;
			want_iter = t->metrics[i].iter;
		}
	}
	params = malloc(lay->n_params * sizeof(float));
	if (!params)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	/* No best/, or one from another point of the run: nothing to compare. */
	if (want_iter < 0 || tr_best_read(dir, lay, params, &iter, &val_acc, &ignored) ||
	    iter != want_iter) {
		free(params);
		return TR_OK;
	}
	rc = tr_net_set_state(t->net, params, NULL, NULL, err);
	free(params);
	if (!rc)
		rc = tr_trainer_evaluate(t, &t->data->test, &a->best_test_loss,
					 &a->best_test_acc, err);
	if (rc)
		return tr_error_prefix(err, "test accuracy of the best parameters");
	a->have_best = true;
	a->best_iter = iter;
	a->best_val_acc = val_acc;
	return TR_OK;
}

void tr_run_analysis_free(tr_run_analysis *a)
{
	if (!a)
		return;
	free(a->wrong_images);
	a->wrong_images = NULL;
}

/* ---- files ---- */

static int write_confusion(const char *dir, const tr_run_analysis *a, tr_error *err)
{
	char path[PATH_CAP];
	tr_atomic_file af;
	int i, j, rc;

	snprintf(path, sizeof(path), "%s/confusion.csv", dir);
	if ((rc = tr_atomic_open(&af, path, err)))
		return rc;
	fprintf(af.fp, "true_class");
	for (j = 0; j < TR_N_CLASSES; j++)
		fprintf(af.fp, ",predicted_%d", j);
	fprintf(af.fp, "\n");
	for (i = 0; i < TR_N_CLASSES; i++) {
		fprintf(af.fp, "%d", i);
		for (j = 0; j < TR_N_CLASSES; j++)
			fprintf(af.fp, ",%zu", a->confusion[i][j]);
		fprintf(af.fp, "\n");
	}
	return tr_atomic_commit(&af, err);
}

static int write_misclassified(const char *dir, const tr_run_analysis *a, tr_error *err)
{
	char path[PATH_CAP];
	size_t shape[2] = { a->n_shown, a->pixels }, i;
	tr_atomic_file af;
	int rc;

	snprintf(path, sizeof(path), "%s/misclassified.csv", dir);
	if ((rc = tr_atomic_open(&af, path, err)))
		return rc;
	fprintf(af.fp, "test_index,true_class,predicted,probability\n");
	for (i = 0; i < a->n_shown; i++)
		fprintf(af.fp, "%zu,%d,%d,%.4f\n", a->wrong[i].index, a->wrong[i].true_class,
			a->wrong[i].predicted, a->wrong[i].prob);
	if ((rc = tr_atomic_commit(&af, err)))
		return rc;
	snprintf(path, sizeof(path), "%s/misclassified.npy", dir);
	return tr_npy_write(path, a->wrong_images, shape, 2, err);
}

static cJSON *per_class_json(const tr_run_analysis *a)
{
	cJSON *arr = cJSON_CreateArray();
	int i, j;

	for (i = 0; i < TR_N_CLASSES; i++) {
		cJSON *o = cJSON_CreateObject();
		size_t n = 0;

		for (j = 0; j < TR_N_CLASSES; j++)
			n += a->confusion[i][j];
		cJSON_AddNumberToObject(o, "class", i);
		cJSON_AddNumberToObject(o, "images", (double)n);
		cJSON_AddNumberToObject(o, "correct", (double)a->confusion[i][i]);
		if (n)
			cJSON_AddNumberToObject(o, "accuracy", (double)a->confusion[i][i] / (double)n);
		else
			cJSON_AddNullToObject(o, "accuracy");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static int write_json(const char *dir, const tr_run_analysis *a, tr_error *err)
{
	cJSON *root = cJSON_CreateObject(), *test, *dead, *layers, *best;
	char path[PATH_CAP];
	size_t i, correct = 0;
	int rc;

	if (!root)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	for (i = 0; i < TR_N_CLASSES; i++)
		correct += a->confusion[i][i];
	cJSON_AddStringToObject(root, "parameters", "final");
	test = cJSON_AddObjectToObject(root, "test");
	cJSON_AddNumberToObject(test, "images", (double)a->n_test);
	if (a->n_test)
		cJSON_AddNumberToObject(test, "accuracy", (double)correct / (double)a->n_test);
	else
		cJSON_AddNullToObject(test, "accuracy");
	cJSON_AddStringToObject(test, "confusion", "confusion.csv");
	cJSON_AddItemToObject(test, "per_class", per_class_json(a));
	cJSON_AddNumberToObject(test, "misclassified", (double)a->n_wrong);
	cJSON_AddNumberToObject(test, "misclassified_shown", (double)a->n_shown);
	cJSON_AddStringToObject(test, "misclassified_files", "misclassified.csv, misclassified.npy");
	dead = cJSON_AddObjectToObject(root, "dead_units");
	cJSON_AddStringToObject(dead, "definition", "hidden ReLU units whose output is 0 on "
				"every validation image");
	cJSON_AddNumberToObject(dead, "validation_images", (double)a->n_val);
	layers = cJSON_AddArrayToObject(dead, "layers");
	for (i = 0; i < a->n_hidden; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "layer", (double)(i + 1));
		cJSON_AddNumberToObject(o, "units", (double)a->units[i]);
		cJSON_AddNumberToObject(o, "dead", (double)a->dead[i]);
		cJSON_AddItemToArray(layers, o);
	}
	if (a->have_best) {
		best = cJSON_AddObjectToObject(root, "best");
		cJSON_AddStringToObject(best, "parameters", TR_BEST_DIR "/");
		cJSON_AddNumberToObject(best, "iter", (double)a->best_iter);
		cJSON_AddNumberToObject(best, "val_acc", a->best_val_acc);
		cJSON_AddNumberToObject(best, "test_acc", a->best_test_acc);
		if (isfinite(a->best_test_loss))
			cJSON_AddNumberToObject(best, "test_loss", a->best_test_loss);
	} else {
		cJSON_AddNullToObject(root, "best");
	}
	snprintf(path, sizeof(path), "%s/analysis.json", dir);
	rc = tr_json_write(path, root, err);
	cJSON_Delete(root);
	return rc;
}

int tr_run_write_analysis(const char *dir, const tr_run_analysis *a, tr_error *err)
{
	int rc;

	if ((rc = write_confusion(dir, a, err)) || (rc = write_misclassified(dir, a, err)))
		return rc;
	return write_json(dir, a, err);
}
