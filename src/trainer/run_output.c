/* run_output.c - summary.json, metrics.csv and the .npy weights of a run. */
#include "trainer/run_output.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trainer/best_params.h"
#include "trainer/checkpoint.h"

static void join(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

/* JSON has no NaN: non-finite numbers become null. */
static void add_number(cJSON *obj, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(obj, key, v);
	else
		cJSON_AddNullToObject(obj, key);
}

static cJSON *config_json(const tr_trainer *t, const tr_run_info *info)
{
	const tr_train_config *c = &t->cfg;
	cJSON *cfg = cJSON_CreateObject();
	cJSON *layers = cJSON_AddArrayToObject(cfg, "layers");
	size_t i;

	for (i = 0; i <= c->layout.n_layers; i++)
		cJSON_AddItemToArray(layers, cJSON_CreateNumber((double)c->layout.sizes[i]));
	cJSON_AddStringToObject(cfg, "init", tr_init_name(c->init));
	tr_json_add_integer(cfg, "seed", c->seed);
	cJSON_AddNumberToObject(cfg, "lr", c->lr);
	cJSON_AddNumberToObject(cfg, "l2", c->l2);
	cJSON_AddStringToObject(cfg, "l2_scope", c->l2_scope == TR_L2_ALL ? "all" : "weights");
	cJSON_AddNumberToObject(cfg, "batch", (double)c->batch);
	cJSON_AddNumberToObject(cfg, "iters", (double)c->iters);
	cJSON_AddNumberToObject(cfg, "eval_every", (double)c->eval_every);
	cJSON_AddBoolToObject(cfg, "shuffle", c->shuffle);
	cJSON_AddNumberToObject(cfg, "val_size", (double)info->val_size);
	cJSON_AddStringToObject(cfg, "data", info->data_dir ? info->data_dir : "");
	cJSON_AddNumberToObject(cfg, "threads", info->threads);
	cJSON_AddStringToObject(cfg, "device", info->device ? info->device : "auto");
	cJSON_AddStringToObject(cfg, "checkpoint_every",
				info->checkpoint_every ? info->checkpoint_every : "");
	if (info->init_weights)
		cJSON_AddStringToObject(cfg, "init_weights", info->init_weights);
	else
		cJSON_AddNullToObject(cfg, "init_weights");
	return cfg;
}

static void copy_string(const cJSON *obj, const char *key, char *buf, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	buf[0] = '\0';
	if (cJSON_IsString(v) && v->valuestring && strlen(v->valuestring) < cap)
		strcpy(buf, v->valuestring);
}

int tr_run_read_settings(const char *dir, tr_run_settings *out, tr_error *err)
{
	cJSON *root, *cfg, *threads;
	char path[1100];
	int rc;

	memset(out, 0, sizeof(*out));
	out->threads = -1;
	join(path, sizeof(path), dir, "summary.json");
	if ((rc = tr_json_read(path, &root, err)))
		return rc;
	cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
	threads = cJSON_GetObjectItemCaseSensitive(cfg, "threads");
	copy_string(cfg, "data", out->data_dir, sizeof(out->data_dir));
	copy_string(cfg, "device", out->device, sizeof(out->device));
	copy_string(cfg, "checkpoint_every", out->checkpoint_every,
		    sizeof(out->checkpoint_every));
	copy_string(root, "status", out->status, sizeof(out->status));
	if (cJSON_IsNumber(threads) && threads->valuedouble >= 0 && threads->valuedouble <= 1024)
		out->threads = (int)threads->valuedouble;
	cJSON_Delete(root);
	return TR_OK;
}

/* Is name one of the files a run writes: a fixed name, or [wb]<digits>.npy? */
static bool is_run_output(const char *name)
{
	static const char *const fixed[] = {
		"metrics.csv", "summary.json", TR_CHECKPOINT_FILE, "analysis.json",
		"confusion.csv", "misclassified.csv", "misclassified.npy",
	};
	size_t i, digits;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(name, fixed[i]))
			return true;
	if (name[0] != 'w' && name[0] != 'b')
		return false;
	digits = strspn(name + 1, "0123456789");
	return digits > 0 && !strcmp(name + 1 + digits, ".npy");
}

/* ".<output>.tmp.XXXXXX", the temporary file of an atomic write of an output. */
static bool is_output_temp(const char *name)
{
	char base[256];

	return tr_atomic_temp_base(name, base, sizeof(base)) &&
	       (is_run_output(base) || !strcmp(base, TR_BEST_DIR));
}

void tr_run_remove_stale_temps(const char *dir)
{
	char path[1400];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		/* best/'s temporary sets are directories: best_params.c sees to them */
		if (!is_output_temp(e->d_name) || !strncmp(e->d_name, ".best.", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* Remove the run's files in dir (and, in a best/ set, its best.json); with `rmdir`,
 * the directory too if nothing else is left in it. */
static int remove_outputs_in(const char *dir, bool set, tr_error *err)
{
	char path[1400];
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = TR_OK;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? TR_OK :
		       tr_fail(err, TR_ERR_OUTPUT, "--force: cannot read directory %s: %s", dir,
			       strerror(errno));
	while (rc == TR_OK && (e = readdir(d)) != NULL) {
		bool is_set = !set && (!strcmp(e->d_name, TR_BEST_DIR) ||
				       (is_output_temp(e->d_name) && !strncmp(e->d_name, ".best.", 6)));

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (is_set) {
			rc = remove_outputs_in(path, true, err);
			continue;
		}
		if (!is_run_output(e->d_name) && !(set && !strcmp(e->d_name, "best.json")) &&
		    !(!set && is_output_temp(e->d_name)))
			continue;
		if (unlink(path) != 0 && errno != ENOENT)
			rc = tr_fail(err, TR_ERR_OUTPUT, "--force: cannot remove %s, a file of the "
				     "earlier run: %s", path, strerror(errno));
	}
	closedir(d);
	if (rc == TR_OK && set)
		rmdir(dir); /* fails, and keeps it, if it holds anything else */
	return rc;
}

int tr_run_remove_outputs(const char *dir, tr_error *err)
{
	return remove_outputs_in(dir, false, err);
}

int tr_run_write_summary(const char *dir, const tr_trainer *t, const tr_run_info *info,
			 tr_error *err)
{
	cJSON *root = cJSON_CreateObject(), *dev, *res;
	const tr_metric_row *last = t->n_metrics ? &t->metrics[t->n_metrics - 1] : NULL;
	double best_acc = NAN;
	long best_iter = 0;
	char path[1100];
	size_t i;
	int rc;

	if (!root)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	for (i = 0; i < t->n_metrics; i++) {
		if (isnan(best_acc) || t->metrics[i].val_acc > best_acc) {
			best_acc = t->metrics[i].val_acc;
			best_iter = t->metrics[i].iter;
		}
	}
	cJSON_AddStringToObject(root, "trainer_version", TRAINER_VERSION);
	cJSON_AddStringToObject(root, "status", info->status);
	cJSON_AddStringToObject(root, "started_at", info->started_at ? info->started_at : "");
	cJSON_AddItemToObject(root, "config", config_json(t, info));
	dev = cJSON_AddObjectToObject(root, "device");
	cJSON_AddStringToObject(dev, "backend", tr_backend_name(t->be));
	cJSON_AddStringToObject(dev, "name", tr_backend_device_name(t->be));
	cJSON_AddStringToObject(dev, "version", tr_backend_device_version(t->be));
	/* "" for backends without tuning; else e.g. "CLBlast: tuned parameters (...)" */
	cJSON_AddStringToObject(dev, "tuning", tr_backend_tuning(t->be));
	/* Flat copies of the most used figures, for scripts. */
	cJSON_AddStringToObject(root, "backend", tr_backend_name(t->be));
	cJSON_AddStringToObject(root, "device_name", tr_backend_device_name(t->be));
	cJSON_AddNumberToObject(root, "iterations_done", (double)t->step);
	add_number(root, "test_loss", info->have_test ? info->test_loss : NAN);
	add_number(root, "test_acc", info->have_test ? info->test_acc : NAN);
	add_number(root, "wall_seconds", tr_trainer_seconds(t));
	cJSON_AddBoolToObject(root, "diverged", t->diverged_at != 0);
	if (t->diverged_at)
		cJSON_AddNumberToObject(root, "diverged_at", (double)t->diverged_at);
	else
		cJSON_AddNullToObject(root, "diverged_at");
	res = cJSON_AddObjectToObject(root, "final");
	add_number(res, "train_loss", last ? last->train_loss : NAN);
	add_number(res, "train_acc", last ? last->train_acc : NAN);
	add_number(res, "val_loss", last ? last->val_loss : NAN);
	add_number(res, "val_acc", last ? last->val_acc : NAN);
	add_number(res, "best_val_acc", best_acc);
	cJSON_AddNumberToObject(res, "best_val_iter", (double)best_iter);
	/* The parameters at the best validation accuracy (best/), tested at the end. */
	if (info->have_best) {
		cJSON *best = cJSON_AddObjectToObject(root, "best");

		cJSON_AddStringToObject(best, "parameters", "best/");
		cJSON_AddNumberToObject(best, "iter", (double)info->best_iter);
		add_number(best, "val_acc", info->best_val_acc);
		add_number(best, "test_acc", info->best_test_acc);
	} else {
		cJSON_AddNullToObject(root, "best");
	}
	if (info->message)
		cJSON_AddStringToObject(root, "message", info->message);
	else
		cJSON_AddNullToObject(root, "message");
	join(path, sizeof(path), dir, "summary.json");
	rc = tr_json_write(path, root, err);
	cJSON_Delete(root);
	return rc;
}

/* One of a run's 2L parameter files: w1..wL (k < L), then b1..bL. */
struct param_file {
	char path[1100];
	size_t shape[2];
	int ndim;
	size_t off; /* in the flat parameter array */
};

static void param_file(const char *dir, const tr_layout *lay, size_t k,
		       struct param_file *pf)
{
	size_t L = lay->n_layers, i = k < L ? k : k - L;
	char name[32];

	snprintf(name, sizeof(name), "%c%zu.npy", k < L ? 'w' : 'b', i + 1);
	join(pf->path, sizeof(pf->path), dir, name);
	pf->ndim = k < L ? 2 : 1;
	pf->shape[0] = k < L ? lay->sizes[i] : lay->sizes[i + 1];
	pf->shape[1] = lay->sizes[i + 1];
	pf->off = k < L ? lay->w_off[i] : lay->b_off[i];
}

int tr_run_write_weights(const char *dir, const tr_layout *lay, const float *flat,
			 tr_error *err)
{
	struct param_file pf;
	size_t k;
	int rc;

	for (k = 0; k < 2 * lay->n_layers; k++) {
		param_file(dir, lay, k, &pf);
		rc = tr_npy_write(pf.path, flat + pf.off, pf.shape, pf.ndim, err);
		if (rc)
			return rc;
	}
	return TR_OK;
}

/* Read one array and check it has exactly the expected shape. */
static int read_exact(const char *path, const size_t *want, int want_ndim, float *dst,
		      tr_error *err)
{
	size_t shape[TR_NPY_MAX_DIMS], n = 1, k;
	float *data = NULL;
	int ndim, i, rc;

	rc = tr_npy_read(path, &data, shape, &ndim, err);
	if (rc)
		return rc;
	for (i = 0; i < ndim; i++)
		n *= shape[i];
	if (ndim != want_ndim || shape[0] != want[0] || (ndim == 2 && shape[1] != want[1])) {
		char got[64] = "", exp[64];

		for (i = 0; i < ndim; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%zu",
				 i ? ", " : "", shape[i]);
		if (want_ndim == 2)
			snprintf(exp, sizeof(exp), "%zu, %zu", want[0], want[1]);
		else
			snprintf(exp, sizeof(exp), "%zu,", want[0]);
		free(data);
		return tr_fail(err, TR_ERR_INPUT,
			       "%s: shape (%s) does not match --layers, which needs (%s)",
			       path, got, exp);
	}
	for (k = 0; k < n; k++) {
		if (!isfinite(data[k])) {
			double v = data[k];

			free(data);
			return tr_fail(err, TR_ERR_INPUT, "%s: element %zu is not finite (%g): "
				       "the weights are damaged or come from a diverged run",
				       path, k, v);
		}
	}
	memcpy(dst, data, n * sizeof(float));
	free(data);
	return TR_OK;
}

int tr_run_read_weights(const char *dir, const tr_layout *lay, float *flat,
			tr_error *err)
{
	struct param_file pf;
	size_t k;
	int rc;

	for (k = 0; k < 2 * lay->n_layers; k++) {
		param_file(dir, lay, k, &pf);
		rc = read_exact(pf.path, pf.shape, pf.ndim, flat + pf.off, err);
		if (rc)
			return rc;
	}
	return TR_OK;
}

int tr_run_write_metrics(const char *dir, const tr_trainer *t, tr_error *err)
{
	char path[1100];

	join(path, sizeof(path), dir, "metrics.csv");
	return tr_metrics_write(path, t->metrics, t->n_metrics, err);
}
