/*
 * report_load.c - the run directories of an experiment as rp_run records: summary.json,
 * metrics.csv, the weight matrices (and how far they moved from their initial values),
 * analysis.json, with each run's figures for the four questions.
 */
#include "report_impl.h"

#include "trainer/run_output.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void join(char *buf, size_t cap, const char *dir, const char *name)
{
	rp_path(buf, cap, "%s/%s", dir, name);
}

static double num(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Integers of a summary, read without trusting them: a value that is not a whole number
 * in its range (1e300, 2.5, -1 for a count) marks the summary as damaged, instead of
 * going through an undefined double-to-long conversion. */
struct whole_reader {
	const char *bad;            /* the first key whose value was refused, or NULL */
	double bad_value, lo, hi;
};

/* The whole number at key, dflt when absent or null. */
static long whole(struct whole_reader *wr, const cJSON *obj, const char *key, double lo,
		  double hi, long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v))
		return dflt;
	if (cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
	    v->valuedouble == floor(v->valuedouble))
		return (long)v->valuedouble;
	if (!wr->bad) {
		wr->bad = key;
		wr->bad_value = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		wr->lo = lo;
		wr->hi = hi;
	}
	return dflt;
}

/* A count from analysis.json (decoration only): 0 when it is not a plausible count. */
static size_t count(const cJSON *obj, const char *key)
{
	struct whole_reader ignored = { 0 };

	return (size_t)whole(&ignored, obj, key, 0, 1e9, 0);
}

#define MAX_ITERS 1e9       /* --iters' limit */
#define MAX_SEED 9007199254740992.0 /* 2^53, --seed's limit */

static void str(const cJSON *obj, const char *key, char *buf, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	snprintf(buf, cap, "%s", cJSON_IsString(v) && v->valuestring ? v->valuestring : "");
}

static void read_config(rp_run *run, const cJSON *cfg, struct whole_reader *wr)
{
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers"), *v;
	size_t len = 0;

	cJSON_ArrayForEach(v, layers) {
		if (cJSON_IsNumber(v) && len + 24 < sizeof(run->layers))
			len += (size_t)snprintf(run->layers + len, sizeof(run->layers) - len,
						"%s%.0f", len ? "," : "", v->valuedouble);
	}
	str(cfg, "init", run->init, sizeof(run->init));
	str(cfg, "l2_scope", run->l2_scope, sizeof(run->l2_scope));
	run->lr = num(cfg, "lr", NAN);
	run->l2 = num(cfg, "l2", NAN);
	run->seed = whole(wr, cfg, "seed", 0, MAX_SEED, -1);
	run->batch = whole(wr, cfg, "batch", 1, 65536, 0);
	run->iters = whole(wr, cfg, "iters", 1, MAX_ITERS, 0);
	run->eval_every = whole(wr, cfg, "eval_every", 1, MAX_ITERS, 0);
	run->val_size = whole(wr, cfg, "val_size", 0, 1e8, -1);
	run->shuffle = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "shuffle"));
	str(cfg, "init_weights", run->init_weights, sizeof(run->init_weights));
}

/* summary.json's "best": the best parameters' figures (absent before best/ existed). */
static void read_best(rp_run *run, const cJSON *root, struct whole_reader *wr)
{
	const cJSON *best = cJSON_GetObjectItemCaseSensitive(root, "best");

	run->best_iter = -1;
	run->best_val_acc = run->best_test_acc = NAN;
	if (!cJSON_IsObject(best))
		return;
	run->best_iter = whole(wr, best, "iter", 0, MAX_ITERS, -1);
	run->best_val_acc = num(best, "val_acc", NAN);
	run->best_test_acc = num(best, "test_acc", NAN);
}

int rp_read_summary(rp_run *run, const char *path, tr_error *err)
{
	struct whole_reader wr = { 0 };
	cJSON *root = NULL, *cfg;
	int rc = tr_json_read(path, &root, err);

	if (rc)
		return rc;
	cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
	if (!cJSON_IsObject(cfg) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "status"))) {
		cJSON_Delete(root);
		return tr_fail(err, TR_ERR_INPUT, "%s: not a trainer summary (no status or config)",
			       path);
	}
	read_config(run, cfg, &wr);
	str(root, "status", run->status, sizeof(run->status));
	str(root, "backend", run->backend, sizeof(run->backend));
	str(root, "device_name", run->device, sizeof(run->device));
	str(root, "message", run->message, sizeof(run->message));
	run->iterations_done = whole(&wr, root, "iterations_done", 0, MAX_ITERS, 0);
	run->wall_seconds = num(root, "wall_seconds", NAN);
	run->test_acc = num(root, "test_acc", NAN);
	run->diverged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "diverged")) ||
			!strcmp(run->status, "diverged");
	run->diverged_at = whole(&wr, root, "diverged_at", 0, MAX_ITERS, 0);
	read_best(run, root, &wr);
	cJSON_Delete(root);
	if (wr.bad)
		return tr_fail(err, TR_ERR_INPUT, "%s: \"%s\" is %g, not a whole number from %.0f "
			       "to %.0f: the summary is damaged", path, wr.bad, wr.bad_value,
			       wr.lo, wr.hi);
	return TR_OK;
}

/* Number of weight matrices the layer list implies ("784,32,10" -> 2). */
static size_t n_matrices(const char *layers)
{
	size_t n = 0;

	for (; *layers; layers++)
		n += *layers == ',';
	return n < TR_MAX_LAYERS ? n : TR_MAX_LAYERS;
}

bool rp_initial_params(const rp_run *run, tr_layout *lay, float **params)
{
	enum tr_init init;
	tr_error err;

	*params = NULL;
	if (tr_layout_parse(run->layers, lay, &err) != TR_OK ||
	    tr_init_parse(run->init, &init, &err) != TR_OK || run->seed < 0)
		return false;
	*params = malloc(lay->n_params * sizeof(float));
	if (!*params)
		return false;
	if (!run->init_weights[0]) {
		tr_init_params(lay, init, (uint64_t)run->seed, *params);
		return true;
	}
	if (tr_run_read_weights(run->init_weights, lay, *params, &err) == TR_OK)
		return true;
	free(*params);
	*params = NULL;
	return false;
}

/* Read wK.npy for every layer, up to the first that cannot be read. Absent files: the
 * run left no weights (a run that did not complete); a file that is there but cannot
 * be read (or is missing from a completed run): run->weights_problem says why, and
 * only the matrices before it have figures. */
static void read_weights(rp_run *run, const char *dir)
{
	size_t k, n = n_matrices(run->layers);
	float *init = NULL;
	tr_layout lay;
	bool known = rp_initial_params(run, &lay, &init);

	run->n_mats = 0;
	run->weights_problem[0] = '\0';
	for (k = 0; k < n; k++) {
		rp_matrix *m = &run->mats[k];
		size_t shape[TR_NPY_MAX_DIMS];
		char path[RP_PATH_MAX], name[32];
		struct stat st;
		float *w = NULL;
		tr_error err;
		int ndim;

		snprintf(name, sizeof(name), "w%zu.npy", k + 1);
		join(path, sizeof(path), dir, name);
		if (stat(path, &st) != 0) {
			if (k > 0 || !strcmp(run->status, "completed"))
				snprintf(run->weights_problem, sizeof(run->weights_problem),
					 "%.400s is missing", path);
			break;
		}
		if (tr_npy_read(path, &w, shape, &ndim, &err) != TR_OK) {
			snprintf(run->weights_problem, sizeof(run->weights_problem), "%.470s",
				 err.msg);
			break;
		}
		if (ndim != 2) {
			snprintf(run->weights_problem, sizeof(run->weights_problem),
				 "%.400s holds %d dimensions, not a matrix", path, ndim);
			free(w);
			break;
		}
		m->rows = shape[0];
		m->cols = shape[1];
		m->header_len = (size_t)st.st_size - m->rows * m->cols * sizeof(float);
		tr_sparsity_compute(w, m->rows * m->cols, TR_SPARSITY_REL, &m->sp);
		m->moved = NAN;
		if (known && k < lay.n_layers && lay.sizes[k] == m->rows &&
		    lay.sizes[k + 1] == m->cols)
			m->moved = tr_weight_movement(w, init + lay.w_off[k], m->rows * m->cols);
		free(w);
		run->n_mats = k + 1;
	}
	free(init);
}

static void read_analysis(rp_run *run, const char *dir)
{
	const cJSON *test, *cls, *dead, *layers, *v;
	char path[RP_PATH_MAX];
	rp_analysis *a = &run->an;
	cJSON *root = NULL;
	tr_error err;
	size_t i = 0;

	memset(a, 0, sizeof(*a));
	join(path, sizeof(path), dir, "analysis.json");
	if (!is_file(path) || tr_json_read(path, &root, &err) != TR_OK)
		return;
	test = cJSON_GetObjectItemCaseSensitive(root, "test");
	cls = cJSON_GetObjectItemCaseSensitive(test, "per_class");
	cJSON_ArrayForEach(v, cls) {
		if (i >= TR_N_CLASSES)
			break;
		a->class_images[i] = count(v, "images");
		a->class_acc[i] = num(v, "accuracy", NAN);
		i++;
	}
	a->n_wrong = count(test, "misclassified");
	a->n_shown = count(test, "misclassified_shown");
	dead = cJSON_GetObjectItemCaseSensitive(root, "dead_units");
	a->val_images = count(dead, "validation_images");
	layers = cJSON_GetObjectItemCaseSensitive(dead, "layers");
	cJSON_ArrayForEach(v, layers) {
		if (a->n_hidden >= TR_MAX_LAYERS)
			break;
		a->units[a->n_hidden] = count(v, "units");
		a->dead[a->n_hidden] = count(v, "dead");
		a->n_hidden++;
	}
	cJSON_Delete(root);
	a->have = i == TR_N_CLASSES;
	join(path, sizeof(path), dir, "confusion.csv");
	a->confusion_file = is_file(path);
	join(path, sizeof(path), dir, "misclassified.npy");
	a->misclassified_files = is_file(path) && a->n_shown > 0;
}

/* Names that can go into gnuplot strings and Markdown links unchanged. */
static bool drawable_name(const char *s)
{
	return *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789._+=,@-") == strlen(s);
}

static int load_run(rp_run *run, const char *dir, const char *name, tr_error *err)
{
	char path[RP_PATH_MAX];
	size_t i;
	int rc;

	memset(run, 0, sizeof(*run));
	snprintf(run->name, sizeof(run->name), "%s", name);
	join(path, sizeof(path), dir, "summary.json");
	if ((rc = rp_read_summary(run, path, err)))
		return rc;
	join(path, sizeof(path), dir, "metrics.csv");
	if (is_file(path) &&
	    (rc = tr_metrics_read(path, &run->rows, &run->n_rows, err)))
		return rc;
	for (i = 0; i < run->n_rows && !run->has_parts; i++)
		run->has_parts = isfinite(run->rows[i].val_ce) && isfinite(run->rows[i].l2_term);
	read_weights(run, dir);
	read_analysis(run, dir);
	run->drawable = drawable_name(name);
	return TR_OK;
}

/* Each run's own figures for the questions. */
static void analyse_run(rp_run *run, const tr_peak_params *pp)
{
	size_t i;

	tr_peak_detect(run->rows, run->n_rows, pp, &run->peak);
	tr_convergence_compute(run->rows, run->n_rows, pp->smooth_window, &run->conv);
	run->n_declines = tr_find_declines(run->rows, run->n_rows, pp, run->declines,
					   TR_MAX_DECLINES);
	run->n_declines_loss_fell = 0;
	for (i = 0; i < run->n_declines && i < TR_MAX_DECLINES; i++)
		run->n_declines_loss_fell += run->declines[i].val_loss_fell;
}

/* The settings apart from seed, lr and lambda, as one comparable string. */
static void base_key(const rp_run *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s|%s|%ld|%ld|%ld|%s|%ld|%d|%s", r->layers, r->init, r->batch,
		 r->iters, r->eval_every, r->l2_scope, r->val_size, r->shuffle, r->init_weights);
}

bool rp_same_base(const rp_run *a, const rp_run *b)
{
	char ka[RP_PATH_MAX + 512], kb[RP_PATH_MAX + 512];

	base_key(a, ka, sizeof(ka));
	base_key(b, kb, sizeof(kb));
	return !strcmp(ka, kb);
}

/* Runs with L2 first, then by lambda, then by learning rate, then by seed; the base
 * settings group. */
static int cmp_runs(const void *pa, const void *pb)
{
	const rp_run *a = pa, *b = pb;
	char ka[RP_PATH_MAX + 512], kb[RP_PATH_MAX + 512];
	int c;

	base_key(a, ka, sizeof(ka));
	base_key(b, kb, sizeof(kb));
	if ((c = strcmp(ka, kb)))
		return c;
	if (a->l2 != b->l2)
		return a->l2 > b->l2 ? -1 : 1;
	if (a->lr != b->lr)
		return a->lr < b->lr ? -1 : 1;
	if (a->seed != b->seed)
		return a->seed < b->seed ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir's subdirectories that hold a summary.json, sorted. */
static int list_run_dirs(const char *dir, char ***names, size_t *n, tr_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return tr_fail(err, TR_ERR_INPUT, "%s: cannot read the experiment directory: %s",
			       dir, strerror(errno));
	while ((e = readdir(d))) {
		char path[RP_PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		rp_path(path, sizeof(path), "%s/%s/summary.json", dir, e->d_name);
		if (!is_file(path))
			continue;
		if (*n == cap) {
			char **grown = realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof(char *));

			if (!grown)
				goto out_oom;
			*names = grown;
		}
		if (!((*names)[*n] = strdup(e->d_name)))
			goto out_oom;
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof(char *), cmp_names);
	return TR_OK;

out_oom:
	closedir(d);
	return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
}

int rp_load_runs(rp_report *r, tr_error *err)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	r->runs = NULL;
	r->n_runs = 0;
	if ((rc = list_run_dirs(r->dir, &names, &n, err)))
		goto out_free;
	if (n == 0) {
		rc = tr_fail(err, TR_ERR_INPUT,
			     "%s: no run directories (subdirectories with a summary.json) to report on",
			     r->dir);
		goto out_free;
	}
	r->runs = calloc(n, sizeof(rp_run));
	if (!r->runs) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		rp_run *run = &r->runs[r->n_runs];
		char dir[RP_PATH_MAX];
		tr_error e2;

		join(dir, sizeof(dir), r->dir, names[i]);
		if (load_run(run, dir, names[i], &e2) != TR_OK) {
			free(run->rows);
			r->out->n_skipped++;
			snprintf(r->out->skipped, sizeof(r->out->skipped), "%.400s", e2.msg);
			continue;
		}
		analyse_run(run, &r->peak_params);
		if (run->weights_problem[0]) {
			r->out->n_bad_weights++;
			snprintf(r->out->bad_weights, sizeof(r->out->bad_weights), "%.48s: %.450s",
				 run->name, run->weights_problem);
		}
		r->n_runs++;
	}
	if (r->n_runs == 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: no readable run directory (%s)", r->dir,
			     r->out->skipped);
		goto out_free;
	}
	qsort(r->runs, r->n_runs, sizeof(rp_run), cmp_runs);
	rc = rp_group_runs(r, err);

out_free:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

void rp_free_runs(rp_report *r)
{
	size_t i;

	for (i = 0; i < r->n_runs; i++)
		free(r->runs[i].rows);
	free(r->runs);
	free(r->configs);
	r->runs = NULL;
	r->configs = NULL;
	r->n_runs = r->n_configs = 0;
}
