/*
 * test_run_analysis.c - what a run leaves besides its curves: best/ (written only when
 * the validation accuracy improves, replaced whole, read back exactly), and the
 * end-of-run analyses (confusion matrix whose diagonal is the test accuracy,
 * misclassified images that are the test images, dead ReLU units counted against a
 * host computation, the best parameters' test accuracy). A 784-16-10 network trained
 * for 100 iterations on MNIST, on the fast CPU backend when built.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trainer/best_params.h"
#include "trainer/run_analysis.h"
#include "trainer/trainer.h"

#define HIDDEN 16
#define KILLED 3 /* hidden units made dead on purpose */

static bool no_temporaries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	bool clean = true;

	if (!d)
		return false;
	while ((e = readdir(d)) != NULL)
		clean &= strncmp(e->d_name, ".best.tmp.", 10) != 0;
	closedir(d);
	return clean;
}

/* Append an evaluation row with this validation accuracy, and offer it to best/. */
static int eval_row(tr_trainer *t, const char *dir, double val_acc, tr_error *err)
{
	tr_metric_row row;
	int rc = tr_trainer_log_point(t, &row, err);

	if (rc)
		return rc;
	row.val_acc = val_acc;
	t->metrics[t->n_metrics - 1].val_acc = val_acc;
	return tr_best_update(dir, t, &row, err);
}

static void test_best(tr_trainer *t, const char *dir)
{
	const tr_layout *lay = &t->cfg.layout;
	size_t n = lay->n_params, i;
	float *now = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
	char from[1200], aside[1200];
	long iter = -1;
	double acc = -1;
	tr_error err;
	int k;

	CHECK(tr_best_read(dir, lay, got, &iter, &acc, &err) == TR_ERR_INPUT,
	      "no best/ yet: an input error (%s)", err.msg);
	for (k = 0; k < 10; k++)
		tr_trainer_step(t, &err);
	CHECK(eval_row(t, dir, 0.5, &err) == TR_OK, "first evaluation: %s", err.msg);
	CHECK(tr_best_read(dir, lay, got, &iter, &acc, &err) == TR_OK && iter == 10 && acc == 0.5,
	      "best/ after the first evaluation: iteration %ld, accuracy %g (%s)", iter, acc,
	      err.msg);
	for (k = 0; k < 10; k++)
		tr_trainer_step(t, &err);
	CHECK(eval_row(t, dir, 0.4, &err) == TR_OK, "a worse evaluation: %s", err.msg);
	CHECK(tr_best_read(dir, lay, got, &iter, &acc, &err) == TR_OK && iter == 10,
	      "a worse evaluation leaves best/ alone (iteration %ld)", iter);
	CHECK(eval_row(t, dir, 0.5, &err) == TR_OK && tr_best_read(dir, lay, got, &iter, &acc,
							      &err) == TR_OK && iter == 10,
	      "an equal one too (iteration %ld)", iter);
	for (k = 0; k < 10; k++)
		tr_trainer_step(t, &err);
	CHECK(eval_row(t, dir, 0.6, &err) == TR_OK, "a better evaluation: %s", err.msg);
	CHECK(now && got && tr_net_get_state(t->net, now, NULL, NULL, &err) == TR_OK,
	      "download");
	CHECK(tr_best_read(dir, lay, got, &iter, &acc, &err) == TR_OK && iter == 30 && acc == 0.6,
	      "a better evaluation replaces best/: iteration %ld, accuracy %g", iter, acc);
	for (i = 0; now && got && i < n && now[i] == got[i]; i++)
		;
	CHECK(i == n, "best/ holds exactly the parameters of iteration 30 (first difference "
	      "at %zu of %zu)", i, n);
	CHECK(no_temporaries(dir), "no temporary set is left in %s", dir);
	/* Killed between moving best/ aside and putting the new set in its place (where
	 * the file system cannot exchange them): the next update puts the old set back. */
	snprintf(from, sizeof(from), "%s/%s", dir, TR_BEST_DIR);
	snprintf(aside, sizeof(aside), "%s/.best.tmp.old", dir);
	CHECK(rename(from, aside) == 0, "move best/ aside");
	CHECK(eval_row(t, dir, 0.1, &err) == TR_OK && tr_best_read(dir, lay, got, &iter, &acc,
							      &err) == TR_OK && iter == 30,
	      "a set left aside by a killed update is put back, not removed (iteration %ld: %s)",
	      iter, err.msg);
	CHECK(no_temporaries(dir), "... and nothing is left aside");
	free(now);
	free(got);
}

/* Make hidden units 0..KILLED-1 dead: all incoming weights and the bias -1 (the
 * inputs are >= 0). */
static void kill_units(tr_trainer *t)
{
	const tr_layout *lay = &t->cfg.layout;
	float *p = malloc(lay->n_params * sizeof(float));
	size_t r, u;
	tr_error err;

	if (!p || tr_net_get_state(t->net, p, NULL, NULL, &err) != TR_OK)
		goto out;
	for (u = 0; u < KILLED; u++) {
		for (r = 0; r < lay->sizes[0]; r++)
			p[lay->w_off[0] + r * HIDDEN + u] = -1.0f;
		p[lay->b_off[0] + u] = -1.0f;
	}
	tr_net_set_state(t->net, p, NULL, NULL, &err);
out:
	free(p);
}

/* Dead units of layer 1 on the validation split, computed on the host. */
static size_t host_dead_units(tr_trainer *t)
{
	const tr_layout *lay = &t->cfg.layout;
	const tr_split *s = &t->data->val;
	float *p = malloc(lay->n_params * sizeof(float));
	bool alive[HIDDEN] = { false };
	size_t i, u, r, dead = 0;
	tr_error err;

	if (!p || tr_net_get_state(t->net, p, NULL, NULL, &err) != TR_OK) {
		free(p);
		return 0;
	}
	for (i = 0; i < s->count; i++) {
		for (u = 0; u < HIDDEN; u++) {
			double z = p[lay->b_off[0] + u];

			for (r = 0; r < lay->sizes[0]; r++)
				z += (s->images[i * s->image_size + r] / 255.0) *
				     p[lay->w_off[0] + r * HIDDEN + u];
			alive[u] |= z > 1e-6;
		}
	}
	for (u = 0; u < HIDDEN; u++)
		dead += !alive[u];
	free(p);
	return dead;
}

static void test_analysis(tr_trainer *t, const char *dir)
{
	const tr_split *test = &t->data->test;
	tr_run_analysis a;
	double loss, acc, best_acc;
	size_t i, j, diag = 0, sum = 0, host_dead;
	bool images_ok = true, ordered = true;
	tr_error err;

	kill_units(t);
	host_dead = host_dead_units(t);
	CHECK(tr_trainer_evaluate(t, test, &loss, &acc, &err) == TR_OK, "evaluate: %s", err.msg);
	CHECK(tr_run_analyse(t, &a, &err) == TR_OK, "analyse: %s", err.msg);
	for (i = 0; i < TR_N_CLASSES; i++)
		for (j = 0; j < TR_N_CLASSES; j++) {
			sum += a.confusion[i][j];
			diag += i == j ? a.confusion[i][j] : 0;
		}
	CHECK(sum == test->count && a.n_test == test->count, "the confusion matrix counts "
	      "every test image (%zu of %zu)", sum, test->count);
	CHECK(fabs((double)diag / (double)sum - acc) < 1e-9, "its diagonal is the test accuracy "
	      "(%.4f vs %.4f)", (double)diag / (double)sum, acc);
	CHECK(a.n_wrong == sum - diag, "misclassified %zu = %zu - %zu", a.n_wrong, sum, diag);
	CHECK(a.n_shown == (a.n_wrong < TR_MISCLASSIFIED_MAX ? a.n_wrong : TR_MISCLASSIFIED_MAX),
	      "%zu shown", a.n_shown);
	for (i = 0; i < a.n_shown; i++) {
		const tr_misclassified *m = &a.wrong[i];

		images_ok &= m->true_class == test->labels[m->index] && m->predicted != m->true_class &&
			     m->prob > 0 && m->prob <= 1 &&
			     a.wrong_images[i * a.pixels + 300] ==
			     test->images[m->index * test->image_size + 300] / 255.0f;
		ordered &= i == 0 || m->index > a.wrong[i - 1].index;
	}
	CHECK(images_ok, "the misclassified images, labels and probabilities are the test set's");
	CHECK(ordered, "in test-file order");
	CHECK(a.n_hidden == 1 && a.units[0] == HIDDEN, "one hidden layer of %d units", HIDDEN);
	CHECK(a.dead[0] == host_dead && a.dead[0] >= KILLED, "dead units: %zu, the host counts "
	      "%zu (%d made dead)", a.dead[0], host_dead, KILLED);

	/* best/ holds iteration 30's parameters (test_best): its test accuracy. */
	CHECK(tr_run_analyse_best(t, dir, &a, &err) == TR_OK && a.have_best && a.best_iter == 30,
	      "the best parameters are found (%s)", err.msg);
	best_acc = a.best_test_acc;
	CHECK(tr_trainer_evaluate(t, test, &loss, &acc, &err) == TR_OK && acc == best_acc,
	      "their test accuracy %.4f is that of the parameters now loaded (%.4f)", best_acc, acc);
	CHECK(tr_run_write_analysis(dir, &a, &err) == TR_OK, "write: %s", err.msg);
	tr_run_analysis_free(&a);
}

int main(void)
{
	const char *data_dir = test_data_dir(), *dir;
	const char *req = getenv("TRAINER_REQUIRE_DATA");
	tr_train_config cfg;
	tr_dataset data;
	tr_backend *be;
	tr_trainer *t;
	tr_error err;

	if (!data_dir) {
		CHECK(!(req && !strcmp(req, "1")), "MNIST required (TRAINER_REQUIRE_DATA=1)");
		return req && !strcmp(req, "1") ? test_finish() : TEST_SKIP;
	}
	dir = test_tmpdir("analysis");
	tr_train_config_default(&cfg);
	if (tr_layout_parse("784,16,10", &cfg.layout, &err) ||
	    tr_dataset_load(data_dir, 5000, &data, &err) ||
	    (tr_backend_open("cpu", NULL, &be, &err) &&
	     tr_backend_open("cpu-ref", NULL, &be, &err)) ||
	    (cfg.init = TR_INIT_HE, cfg.lr = 0.003, tr_trainer_create(&cfg, &data, be, NULL, &t,
								     &err))) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return 1;
	}
	test_best(t, dir);
	test_analysis(t, dir);
	tr_trainer_free(t);
	tr_backend_free(be);
	tr_dataset_free(&data);
	return test_finish();
}
