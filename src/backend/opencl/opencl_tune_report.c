/*
 * opencl_tune_report.c - what the search leaves: the tuning cache (the applied sets,
 * CLBlast's own, and the per-shape table of every time measured) and the summary lines
 * `trainer tune` prints.
 */
#include "opencl_tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/formats.h"
#include "trainer/fs.h"

static cJSON *set_json(const struct tuner *t, const struct gemm_set *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "XgemmDirect", tr_tune_params_json(tr_tune_direct_names,
								     s->direct, N_DIRECT));
	cJSON_AddItemToObject(o, "Xgemm", tr_tune_params_json(tr_tune_indirect_names,
							       s->indirect, N_INDIRECT));
	cJSON_AddNumberToObject(o, "XGEMM_MIN_INDIRECT_SIZE", (double)s->min_indirect);
	return o;
}

static cJSON *cache_json(const struct tuner *t, const struct cache_key *k,
			 const struct gemm_set *s, const struct gemm_set *defs,
			 const struct tr_tune_choice *ch, double w_def, double w_tuned)
{
	cJSON *root = cJSON_CreateObject(), *key, *shapes;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, c;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(root, "format", TR_TUNE_CACHE_FORMAT);
	key = cJSON_AddObjectToObject(root, "key");
	cJSON_AddStringToObject(key, "platform", k->platform);
	cJSON_AddStringToObject(key, "device", k->device);
	cJSON_AddStringToObject(key, "driver", k->driver);
	cJSON_AddStringToObject(key, "clblast", k->clblast);
	cJSON_AddStringToObject(root, "created", stamp);
	cJSON_AddStringToObject(root, "applies",
				"one XgemmDirect set per transposition, one Xgemm set and the "
				"switch-over size, the fastest for the weighted sum over the shapes "
				"among those that leave no shape slower than CLBlast's own sets "
				"(docs/PERFORMANCE.md)");
	cJSON_AddItemToObject(root, "XgemmDirect", tr_tune_params_json(tr_tune_direct_names,
									s->direct, N_DIRECT));
	cJSON_AddItemToObject(root, "Xgemm", tr_tune_params_json(tr_tune_indirect_names,
								  s->indirect, N_INDIRECT));
	if (s->by_trans) {
		cJSON *bt = cJSON_AddObjectToObject(root, "XgemmDirect_by_transpose");
		int tc;

		for (tc = 0; tc < 3; tc++)
			cJSON_AddItemToObject(bt, tr_tune_trans_names[tc], tr_tune_params_json(
				tr_tune_direct_names, s->direct_t[tc], N_DIRECT));
	}
	cJSON_AddNumberToObject(root, "XGEMM_MIN_INDIRECT_SIZE", (double)s->min_indirect);
	cJSON_AddItemToObject(root, "clblast_defaults", set_json(t, defs));
	cJSON_AddNumberToObject(root, "step_gemm_ms_default", w_def);
	cJSON_AddNumberToObject(root, "step_gemm_ms_tuned", w_tuned);
	shapes = cJSON_AddArrayToObject(root, "shapes");
	for (i = 0; i < t->o->n_shapes; i++) {
		const tr_tune_shape *x = &t->o->shapes[i];
		const struct shape_result *r = &t->res[i];
		int kc = tr_tune_trans_class(x->trans_a, x->trans_b);
		cJSON *o = cJSON_CreateObject(), *arr;

		cJSON_AddStringToObject(o, "what", x->what);
		cJSON_AddBoolToObject(o, "trans_a", x->trans_a);
		cJSON_AddBoolToObject(o, "trans_b", x->trans_b);
		cJSON_AddNumberToObject(o, "m", (double)x->m);
		cJSON_AddNumberToObject(o, "n", (double)x->n);
		cJSON_AddNumberToObject(o, "k", (double)x->k);
		cJSON_AddNumberToObject(o, "weight", x->weight);
		cJSON_AddNumberToObject(o, "default_ms", r->check_def_ms);
		cJSON_AddNumberToObject(o, "tuned_ms", r->tuned_ms);
		cJSON_AddStringToObject(o, "tuned_kernel", r->tuned_direct ? "direct" : "indirect");
		cJSON_AddNumberToObject(o, "tuned_set", r->tuned_direct ? (double)ch->d[kc] :
					(double)ch->i);
		arr = cJSON_AddArrayToObject(o, "direct_ms"); /* [0] = CLBlast's set */
		for (c = 0; c < t->n_direct; c++)
			cJSON_AddItemToArray(arr, isfinite(r->direct_ms[c]) ?
					     cJSON_CreateNumber(r->direct_ms[c]) : cJSON_CreateNull());
		arr = cJSON_AddArrayToObject(o, "indirect_ms");
		for (c = 0; c < t->n_indirect; c++)
			cJSON_AddItemToArray(arr, isfinite(r->indirect_ms[c]) ?
					     cJSON_CreateNumber(r->indirect_ms[c]) :
					     cJSON_CreateNull());
		cJSON_AddItemToArray(shapes, o);
	}
	return root;
}

static int save_cache(cJSON *root, const char *path, tr_error *err)
{
	char *text = root ? cJSON_Print(root) : NULL;
	char dir[1024], *slash;
	int rc;

	if (!text)
		return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	rc = TR_OK;
	if (slash && slash != dir) {
		*slash = '\0';
		rc = tr_mkdir_p(dir, err);
	}
	if (rc == TR_OK)
		rc = tr_write_file_atomic(path, text, strlen(text), err);
	free(text);
	if (rc)
		tr_error_prefix(err, "writing the tuning cache");
	return rc;
}

/* The per-shape table and the summary lines. */
void tr_tune_report(const struct tuner *t, double w_def, double w_tuned, const double *def,
		   const double *tuned)
{
	struct tr_tune_table tab = tr_tune_table_of(t);
	size_t s;
	int k;

	for (s = 0; s < t->o->n_shapes; s++) {
		const tr_tune_shape *x = &t->o->shapes[s];
		const struct shape_result *r = &t->res[s];

		tr_tune_say(t, "%-20s %5zux%-5zux%-5zu %s%s  %9.3f ms -> %9.3f ms  (%5.1f -> %5.1f "
		    "GFLOP/s, %s)", x->what, x->m, x->n, x->k, x->trans_a ? "T" : "N",
		    x->trans_b ? "T" : "N", r->check_def_ms, r->tuned_ms,
		    tr_tune_flop(x) / (r->check_def_ms * 1e6), tr_tune_flop(x) / (r->tuned_ms * 1e6),
		    r->tuned_direct ? "direct" : "indirect");
	}
	tr_tune_say(t, "GEMMs per training step (weighted): %.2f ms with CLBlast's defaults, %.2f ms "
	    "tuned (%.2fx)", w_def, w_tuned, w_def / w_tuned);
	for (k = 0; k < 4; k++)
		if (tr_tune_class_used(&tab, k))
			tr_tune_say(t, "  %s GEMMs: %.2f ms -> %.2f ms per step", tr_tune_trans_names[k],
			    tr_tune_class_sum(&tab, k, def), tr_tune_class_sum(&tab, k, tuned));
	for (s = 0; s < t->o->n_shapes; s++)
		if (!tr_tune_within(t->res[s].tuned_ms, t->res[s].check_def_ms))
			tr_tune_say(t, "  note: %s alone is slower tuned (%.3f -> %.3f ms); its "
			    "transposition's set is one for all its shapes, and it gains overall",
			    t->o->shapes[s].what, t->res[s].check_def_ms, t->res[s].tuned_ms);
}

int tr_tune_save(const struct tuner *t, const struct cache_key *k, const struct gemm_set *s,
		 const struct gemm_set *defs, const struct tr_tune_choice *ch, double w_def,
		 double w_tuned, const char *path, tr_error *err)
{
	cJSON *root = cache_json(t, k, s, defs, ch, w_def, w_tuned);
	int rc = save_cache(root, path, err);

	cJSON_Delete(root);
	return rc;
}
