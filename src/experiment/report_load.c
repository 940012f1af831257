/*
 * report_load.c - the run directories of an experiment as rp_run records: summary.json,
 * metrics.csv and the weight matrices, with the figures of the four questions.
 */
#include "report_impl.h"

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

static void str(const cJSON *obj, const char *key, char *buf, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	snprintf(buf, cap, "%s", cJSON_IsString(v) && v->valuestring ? v->valuestring : "");
}

static void read_config(rp_run *run, const cJSON *cfg)
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
	run->seed = (long)num(cfg, "seed", -1);
	run->batch = (long)num(cfg, "batch", 0);
	run->iters = (long)num(cfg, "iters", 0);
	run->eval_every = (long)num(cfg, "eval_every", 0);
	run->val_size = (long)num(cfg, "val_size", -1);
	run->shuffle = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "shuffle"));
}

int rp_read_summary(rp_run *run, const char *path, tr_error *err)
{
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
	read_config(run, cfg);
	str(root, "status", run->status, sizeof(run->status));
	str(root, "backend", run->backend, sizeof(run->backend));
	str(root, "device_name", run->device, sizeof(run->device));
	str(root, "message", run->message, sizeof(run->message));
	run->iterations_done = (long)num(root, "iterations_done", 0);
	run->wall_seconds = num(root, "wall_seconds", NAN);
	run->test_acc = num(root, "test_acc", NAN);
	run->diverged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "diverged")) ||
			!strcmp(run->status, "diverged");
	run->diverged_at = (long)num(root, "diverged_at", 0);
	cJSON_Delete(root);
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

/* Read wK.npy for every layer; on any problem the run simply has no weight figures. */
static void read_weights(rp_run *run, const char *dir)
{
	size_t k, n = n_matrices(run->layers);

	run->n_mats = 0;
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
		if (stat(path, &st) != 0 || tr_npy_read(path, &w, shape, &ndim, &err) != TR_OK)
			return;
		if (ndim != 2) {
			free(w);
			return;
		}
		m->rows = shape[0];
		m->cols = shape[1];
		m->header_len = (size_t)st.st_size - m->rows * m->cols * sizeof(float);
		tr_sparsity_compute(w, m->rows * m->cols, TR_SPARSITY_REL, &m->sp);
		tr_histogram(w, m->rows * m->cols, m->sp.min, m->sp.max, RP_HIST_BINS, m->hist);
		free(w);
		run->n_mats = k + 1;
	}
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
	read_weights(run, dir);
	run->drawable = drawable_name(name);
	return TR_OK;
}

/* The settings apart from lr and lambda, as one comparable string. */
static void base_key(const rp_run *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s|%s|%ld|%ld|%ld|%ld|%s|%ld|%d", r->layers, r->init, r->seed,
		 r->batch, r->iters, r->eval_every, r->l2_scope, r->val_size, r->shuffle);
}

bool rp_same_base(const rp_run *a, const rp_run *b)
{
	char ka[512], kb[512];

	base_key(a, ka, sizeof(ka));
	base_key(b, kb, sizeof(kb));
	return !strcmp(ka, kb);
}

/* Runs with L2 first, then by lambda, then by learning rate; the base settings group. */
static int cmp_runs(const void *pa, const void *pb)
{
	const rp_run *a = pa, *b = pb;
	char ka[512], kb[512];
	int c;

	base_key(a, ka, sizeof(ka));
	base_key(b, kb, sizeof(kb));
	if ((c = strcmp(ka, kb)))
		return c;
	if (a->l2 != b->l2)
		return a->l2 > b->l2 ? -1 : 1;
	if (a->lr != b->lr)
		return a->lr < b->lr ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void group_runs(rp_report *r)
{
	size_t i, j;

	r->n_groups = r->n_pairs = 0;
	for (i = 0; i < r->n_runs; i = j) {
		rp_lr_group *g = &r->groups[r->n_groups];

		for (j = i + 1; j < r->n_runs && rp_same_base(&r->runs[i], &r->runs[j]) &&
			     r->runs[j].l2 == r->runs[i].l2; j++)
			;
		if (r->runs[i].l2 > 0 && j - i >= 2 && r->n_groups < RP_MAX_GROUPS) {
			memset(g, 0, sizeof(*g));
			for (g->n = 0; g->n < j - i && g->n < sizeof(g->idx) / sizeof(g->idx[0]); g->n++)
				g->idx[g->n] = i + g->n;
			r->n_groups++;
			snprintf(g->tag, sizeof(g->tag), r->n_groups == 1 ? "lr" : "lr-%zu",
				 r->n_groups);
		}
	}
	for (i = 0; i < r->n_runs; i++) {
		if (!(r->runs[i].l2 > 0))
			continue;
		for (j = 0; j < r->n_runs; j++) {
			rp_l2_pair *p = &r->pairs[r->n_pairs];
			char lr[48];

			if (r->runs[j].l2 != 0 || r->runs[j].lr != r->runs[i].lr ||
			    !rp_same_base(&r->runs[i], &r->runs[j]) || r->n_pairs >= RP_MAX_GROUPS)
				continue;
			memset(p, 0, sizeof(*p));
			p->with = i;
			p->without = j;
			tr_exp_format_decimal(r->runs[i].lr, lr, sizeof(lr));
			snprintf(p->tag, sizeof(p->tag), "l2-lr%s", lr);
			if (r->n_pairs > 0)
				snprintf(p->tag + strlen(p->tag), sizeof(p->tag) - strlen(p->tag),
					 "-%zu", r->n_pairs + 1);
			r->n_pairs++;
			break;
		}
	}
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
		tr_peak_detect(run->rows, run->n_rows, &r->peak_params, &run->peak);
		tr_convergence_compute(run->rows, run->n_rows, r->peak_params.smooth_window,
				       &run->conv);
		r->n_runs++;
	}
	if (r->n_runs == 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: no readable run directory (%s)", r->dir,
			     r->out->skipped);
		goto out_free;
	}
	qsort(r->runs, r->n_runs, sizeof(rp_run), cmp_runs);
	group_runs(r);

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
	r->runs = NULL;
	r->n_runs = 0;
}
