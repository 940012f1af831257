/*
 * report_json.c - report.json (the report's figures for scripts: the configurations
 * with their figures over the seeds, every run, the comparisons, the criteria) and
 * tr_report_build, which loads the runs, draws the figures and writes both files.
 */
#include "report_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* JSON has no NaN: non-finite numbers become null. */
static void add_num(cJSON *obj, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(obj, key, v);
	else
		cJSON_AddNullToObject(obj, key);
}

/* A seed as exact digits (cJSON would round one above about 1e15); null if unknown. */
static void add_seed(cJSON *o, const char *key, long seed)
{
	if (seed >= 0)
		tr_json_add_integer(o, key, (uint64_t)seed);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_iter(cJSON *obj, const char *key, long it)
{
	if (it >= 0)
		cJSON_AddNumberToObject(obj, key, (double)it);
	else
		cJSON_AddNullToObject(obj, key);
}

static cJSON *peak_json(const tr_peak_result *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "shape", tr_curve_shape_name(p->shape));
	cJSON_AddBoolToObject(o, "peak_then_decline", p->shape == TR_SHAPE_PEAK_DECLINE);
	cJSON_AddNumberToObject(o, "points", (double)p->n);
	add_num(o, "best_val_acc", p->best_raw_acc >= 0 ? p->best_raw_acc : NAN);
	add_iter(o, "best_val_iter", p->best_raw_acc >= 0 ? p->best_raw_iter : -1);
	if (p->shape == TR_SHAPE_TOO_SHORT)
		return o;
	cJSON_AddNumberToObject(o, "smoothing_window", (double)p->window);
	add_num(o, "peak_val_acc_smoothed", p->peak_acc);
	cJSON_AddNumberToObject(o, "peak_iter", (double)p->peak_iter);
	cJSON_AddNumberToObject(o, "held_from_iter", (double)p->hold_from_iter);
	cJSON_AddNumberToObject(o, "held_to_iter", (double)p->hold_to_iter);
	cJSON_AddNumberToObject(o, "last_third_from_iter", (double)p->late_from_iter);
	add_num(o, "last_third_mean_val_acc", p->late_mean_acc);
	add_num(o, "drop", p->drop);
	cJSON_AddBoolToObject(o, "declined", p->declined);
	add_num(o, "val_loss_at_peak", p->val_loss_at_peak);
	add_num(o, "val_loss_end", p->val_loss_end);
	cJSON_AddBoolToObject(o, "loss_kept_falling", p->loss_kept_falling);
	return o;
}

static cJSON *convergence_json(const tr_convergence *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "points", (double)c->n);
	add_num(o, "final_val_acc", c->final_val_acc);
	add_num(o, "final_val_loss", c->final_val_loss);
	add_num(o, "final_train_loss", c->final_train_loss);
	if (c->n)
		cJSON_AddNumberToObject(o, "last_third_from_iter", (double)c->late_from_iter);
	add_num(o, "last_third_mean_val_acc", c->late_mean_acc);
	add_num(o, "last_third_std_val_acc", c->late_std_acc);
	add_num(o, "last_third_mean_val_loss", c->late_mean_loss);
	add_num(o, "last_third_std_val_loss", c->late_std_loss);
	add_iter(o, "settled_from_iter", c->settled_iter);
	add_iter(o, "first_iter_val_acc_0.9", c->first_iter_acc90);
	return o;
}

static cJSON *declines_json(const rp_run *run)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < run->n_declines && i < TR_MAX_DECLINES; i++) {
		const tr_decline *d = &run->declines[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "from_iter", (double)d->from_iter);
		add_num(o, "from_val_acc", d->from_acc);
		cJSON_AddNumberToObject(o, "bottom_iter", (double)d->bottom_iter);
		add_num(o, "bottom_val_acc", d->bottom_acc);
		add_num(o, "drop", d->drop);
		add_num(o, "val_loss_from", d->val_loss_from);
		add_num(o, "val_loss_bottom", d->val_loss_bottom);
		cJSON_AddBoolToObject(o, "val_loss_fell", d->val_loss_fell);
		add_num(o, "val_ce_from", d->val_ce_from);
		add_num(o, "val_ce_bottom", d->val_ce_bottom);
		cJSON_AddBoolToObject(o, "recovered", d->recovered);
		add_iter(o, "recovered_iter", d->recovered_iter);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *weights_json(const rp_run *run)
{
	cJSON *arr = cJSON_CreateArray();
	size_t k;

	for (k = 0; k < run->n_mats; k++) {
		const rp_matrix *m = &run->mats[k];
		cJSON *o = cJSON_CreateObject();
		char name[24];

		snprintf(name, sizeof(name), "W%zu", k + 1);
		cJSON_AddStringToObject(o, "matrix", name);
		cJSON_AddNumberToObject(o, "rows", (double)m->rows);
		cJSON_AddNumberToObject(o, "cols", (double)m->cols);
		add_num(o, "near_zero_fraction", m->sp.frac_small);
		add_num(o, "mean_abs", m->sp.mean_abs);
		add_num(o, "l2_norm", m->sp.l2_norm);
		add_num(o, "max_abs", m->sp.max_abs);
		add_num(o, "min", m->sp.min);
		add_num(o, "max", m->sp.max);
		add_num(o, "moved_from_init", m->moved);
		cJSON_AddNumberToObject(o, "non_finite", (double)m->sp.n_nonfinite);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *analysis_json(const rp_analysis *a)
{
	cJSON *o, *cls, *dead;
	size_t k;

	if (!a->have)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cls = cJSON_AddArrayToObject(o, "per_class_test_acc");
	for (k = 0; k < TR_N_CLASSES; k++)
		cJSON_AddItemToArray(cls, isfinite(a->class_acc[k]) ?
				     cJSON_CreateNumber(a->class_acc[k]) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "misclassified", (double)a->n_wrong);
	dead = cJSON_AddArrayToObject(o, "dead_units");
	for (k = 0; k < a->n_hidden; k++) {
		cJSON *l = cJSON_CreateObject();

		cJSON_AddNumberToObject(l, "layer", (double)(k + 1));
		cJSON_AddNumberToObject(l, "units", (double)a->units[k]);
		cJSON_AddNumberToObject(l, "dead", (double)a->dead[k]);
		cJSON_AddItemToArray(dead, l);
	}
	return o;
}

static void add_figure(cJSON *figs, const char *key, bool drawn, const char *path)
{
	char png[RP_PATH_MAX];

	if (!drawn)
		return;
	rp_path(png, sizeof(png), "%s.png", path);
	cJSON_AddStringToObject(figs, key, png);
}

static cJSON *run_json(const rp_report *r, const rp_run *run)
{
	static const char *const keys[RP_N_FIGS] = {
		"loss", "acc", "loss_late", "acc_late", "weights", "w1_tiles", "weights_hist",
		"confusion", "misclassified",
	};
	cJSON *o = cJSON_CreateObject(), *s, *figs, *files;
	char path[RP_PATH_MAX];
	int k;

	cJSON_AddStringToObject(o, "name", run->name);
	cJSON_AddStringToObject(o, "config", r->configs[run->config].name);
	add_seed(o, "seed", run->seed);
	cJSON_AddStringToObject(o, "status", run->status);
	cJSON_AddBoolToObject(o, "diverged", run->diverged);
	add_iter(o, "diverged_at", run->diverged ? run->diverged_at : -1);
	add_num(o, "lr", run->lr);
	add_num(o, "l2", run->l2);
	cJSON_AddStringToObject(o, "backend", run->backend);
	cJSON_AddStringToObject(o, "device_name", run->device);
	s = cJSON_AddObjectToObject(o, "settings");
	cJSON_AddStringToObject(s, "layers", run->layers);
	cJSON_AddStringToObject(s, "init", run->init);
	add_seed(s, "seed", run->seed);
	cJSON_AddNumberToObject(s, "batch", (double)run->batch);
	cJSON_AddNumberToObject(s, "iters", (double)run->iters);
	cJSON_AddNumberToObject(s, "eval_every", (double)run->eval_every);
	cJSON_AddStringToObject(s, "l2_scope", run->l2_scope);
	cJSON_AddNumberToObject(s, "val_size", (double)run->val_size);
	cJSON_AddNumberToObject(o, "iterations_done", (double)run->iterations_done);
	add_num(o, "wall_seconds", run->wall_seconds);
	add_num(o, "test_acc", run->test_acc);
	add_num(o, "best_params_test_acc", run->best_test_acc);
	add_iter(o, "best_params_iter", run->best_iter);
	cJSON_AddBoolToObject(o, "loss_parts", run->has_parts);
	cJSON_AddItemToObject(o, "peak", peak_json(&run->peak));
	cJSON_AddItemToObject(o, "declines", declines_json(run));
	cJSON_AddNumberToObject(o, "declines_total", (double)run->n_declines);
	cJSON_AddItemToObject(o, "convergence", convergence_json(&run->conv));
	cJSON_AddItemToObject(o, "weights", weights_json(run));
	cJSON_AddItemToObject(o, "analysis", analysis_json(&run->an));
	files = cJSON_AddObjectToObject(o, "files");
	rp_path(path, sizeof(path), "%s/metrics.csv", run->name);
	cJSON_AddStringToObject(files, "metrics_csv", path);
	rp_path(path, sizeof(path), "%s/summary.json", run->name);
	cJSON_AddStringToObject(files, "summary_json", path);
	figs = cJSON_AddObjectToObject(o, "figures");
	for (k = 0; k < RP_N_FIGS; k++) {
		rp_fig_path(run, (enum rp_fig)k, path, sizeof(path));
		add_figure(figs, keys[k], run->fig[k], path);
	}
	return o;
}

static void add_stats(cJSON *o, const char *key, const tr_stats *st)
{
	char name[96];

	snprintf(name, sizeof(name), "%s_mean", key);
	add_num(o, name, st->mean);
	snprintf(name, sizeof(name), "%s_sd", key);
	add_num(o, name, st->sd);
	snprintf(name, sizeof(name), "%s_min", key);
	add_num(o, name, st->min);
	snprintf(name, sizeof(name), "%s_max", key);
	add_num(o, name, st->max);
}

static cJSON *config_json(const rp_report *r, const rp_config *c)
{
	cJSON *o = cJSON_CreateObject(), *runs, *seeds;
	size_t i;

	cJSON_AddStringToObject(o, "name", c->name);
	add_num(o, "lr", c->lr);
	add_num(o, "l2", c->l2);
	cJSON_AddNumberToObject(o, "n_seeds", (double)c->n);
	seeds = cJSON_AddArrayToObject(o, "seeds");
	runs = cJSON_AddArrayToObject(o, "runs");
	for (i = 0; i < c->n; i++) {
		cJSON_AddItemToArray(seeds, r->runs[c->idx[i]].seed >= 0 ?
				     tr_json_integer((uint64_t)r->runs[c->idx[i]].seed) :
				     cJSON_CreateNull());
		cJSON_AddItemToArray(runs, cJSON_CreateString(r->runs[c->idx[i]].name));
	}
	add_stats(o, "test_acc", &c->test_acc);
	add_stats(o, "best_params_test_acc", &c->best_test_acc);
	add_stats(o, "best_val_acc", &c->best_val_acc);
	add_stats(o, "final_val_acc", &c->final_val_acc);
	add_stats(o, "last_third_mean_val_acc", &c->late_mean_acc);
	add_stats(o, "last_third_std_val_acc", &c->late_std_acc);
	add_num(o, "last_third_lowest_val_acc", c->late_min_acc.mean);
	add_num(o, "last_third_highest_val_acc", c->late_max_acc.mean);
	cJSON_AddNumberToObject(o, "seeds_with_decline", (double)c->n_decline);
	cJSON_AddNumberToObject(o, "seeds_judged", (double)c->n_judged);
	add_num(o, "handout_test_acc", rp_seed_reported(r, c));
	return o;
}

static cJSON *lr_group_json(const rp_report *r, const rp_lr_group *g)
{
	cJSON *o = cJSON_CreateObject(), *cfgs = cJSON_AddArrayToObject(o, "configs"), *figs;
	char path[RP_PATH_MAX];
	size_t i;

	add_num(o, "l2", r->configs[g->idx[0]].l2);
	for (i = 0; i < g->n; i++)
		cJSON_AddItemToArray(cfgs, cJSON_CreateString(r->configs[g->idx[i]].name));
	figs = cJSON_AddObjectToObject(o, "figures");
	rp_path(path, sizeof(path), "figures/compare-%s-loss", g->tag);
	add_figure(figs, "val_ce", g->fig_loss, path);
	rp_path(path, sizeof(path), "figures/compare-%s-loss-late", g->tag);
	add_figure(figs, "val_ce_late", g->fig_loss_late, path);
	rp_path(path, sizeof(path), "figures/compare-%s-acc", g->tag);
	add_figure(figs, "val_acc", g->fig_acc, path);
	rp_path(path, sizeof(path), "figures/compare-%s-acc-late", g->tag);
	add_figure(figs, "val_acc_late", g->fig_acc_late, path);
	rp_path(path, sizeof(path), "figures/compare-%s-test-acc", g->tag);
	add_figure(figs, "test_acc_by_lr", g->fig_lr, path);
	return o;
}

/* The mean over a configuration's seeds of a sparsity figure of matrix k. */
static double seeds_mean(const rp_report *r, const rp_config *c, size_t k, bool frac)
{
	double v[RP_MAX_SEEDS];
	tr_stats st;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const rp_run *run = &r->runs[c->idx[i]];

		v[i] = k >= run->n_mats ? NAN : frac ? run->mats[k].sp.frac_small :
		       run->mats[k].moved;
	}
	tr_stats_compute(v, c->n, &st);
	return st.mean;
}

static cJSON *l2_pair_json(const rp_report *r, const rp_l2_pair *p)
{
	const rp_config *w = &r->configs[p->with], *n = &r->configs[p->without];
	const rp_run *w0 = &r->runs[w->idx[0]], *n0 = &r->runs[n->idx[0]];
	cJSON *o = cJSON_CreateObject(), *mats, *figs;
	static const struct { const char *key, *suffix; } fig_names[] = {
		{ "val_ce", "loss" }, { "val_ce_late", "loss-late" }, { "val_acc", "acc" },
		{ "val_acc_late", "acc-late" }, { "weights", "weights" }, { "w1_tiles", "tiles" },
		{ "weights_hist", "hist" },
	};
	const bool drawn[] = { p->fig_loss, p->fig_loss_late, p->fig_acc, p->fig_acc_late,
			       p->fig_weights, p->fig_tiles, p->fig_hist };
	char path[RP_PATH_MAX];
	size_t k, nm = w0->n_mats < n0->n_mats ? w0->n_mats : n0->n_mats;

	add_num(o, "lr", w->lr);
	add_num(o, "l2", w->l2);
	cJSON_AddStringToObject(o, "with", w->name);
	cJSON_AddStringToObject(o, "without", n->name);
	add_num(o, "test_acc_with", w->test_acc.mean);
	add_num(o, "test_acc_without", n->test_acc.mean);
	add_num(o, "test_acc_change", w->test_acc.mean - n->test_acc.mean);
	add_num(o, "best_params_test_acc_with", w->best_test_acc.mean);
	add_num(o, "best_params_test_acc_without", n->best_test_acc.mean);
	add_num(o, "best_params_test_acc_change", w->best_test_acc.mean - n->best_test_acc.mean);
	mats = cJSON_AddArrayToObject(o, "sparsity");
	for (k = 0; k < nm; k++) {
		cJSON *m = cJSON_CreateObject();
		double fw = seeds_mean(r, w, k, true), fn = seeds_mean(r, n, k, true);
		double mw = seeds_mean(r, w, k, false), mn = seeds_mean(r, n, k, false);
		char name[24];

		snprintf(name, sizeof(name), "W%zu", k + 1);
		cJSON_AddStringToObject(m, "matrix", name);
		add_num(m, "near_zero_fraction_with", fw);
		add_num(m, "near_zero_fraction_without", fn);
		add_num(m, "moved_from_init_with", mw);
		add_num(m, "moved_from_init_without", mn);
		cJSON_AddBoolToObject(m, "hardly_moved", isfinite(mw) && isfinite(mn) &&
				      mw < RP_HARDLY_MOVED && mn < RP_HARDLY_MOVED);
		cJSON_AddBoolToObject(m, "sparser_with_l2", fw > fn + RP_SPARSER_MARGIN);
		cJSON_AddItemToArray(mats, m);
	}
	figs = cJSON_AddObjectToObject(o, "figures");
	for (k = 0; k < sizeof(fig_names) / sizeof(fig_names[0]); k++) {
		rp_path(path, sizeof(path), "figures/compare-%s-%s", p->tag, fig_names[k].suffix);
		add_figure(figs, fig_names[k].key, drawn[k], path);
	}
	return o;
}

int rp_write_json(const rp_report *r, tr_error *err)
{
	cJSON *root = cJSON_CreateObject(), *c, *arr;
	char path[RP_PATH_MAX];
	size_t i;
	int rc;

	if (!root)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	cJSON_AddStringToObject(root, "trainer_version", TRAINER_VERSION);
	cJSON_AddBoolToObject(root, "figures_drawn", !r->out->plots_missing);
	cJSON_AddStringToObject(root, "note", r->out->note);
	c = cJSON_AddObjectToObject(root, "criteria");
	cJSON_AddNumberToObject(c, "hold_tolerance", r->peak_params.hold_tol);
	cJSON_AddNumberToObject(c, "decline_margin", r->peak_params.decline_margin);
	cJSON_AddStringToObject(c, "smoothing", "moving average of max(3, n/30) points rounded "
				"up to odd, at most 11; centred, moved inwards at the ends");
	cJSON_AddStringToObject(c, "late_part", "the last third of the evaluations");
	cJSON_AddNumberToObject(c, "near_zero_relative_threshold", TR_SPARSITY_REL);
	cJSON_AddNumberToObject(c, "sparser_margin", RP_SPARSER_MARGIN);
	cJSON_AddNumberToObject(c, "hardly_moved_below", RP_HARDLY_MOVED);
	cJSON_AddStringToObject(c, "decline", "the smoothed validation accuracy at least "
				"decline_margin below its running peak; recovered when back within "
				"hold_tolerance of that peak");
	arr = cJSON_AddArrayToObject(root, "configs");
	for (i = 0; i < r->n_configs; i++)
		cJSON_AddItemToArray(arr, config_json(r, &r->configs[i]));
	arr = cJSON_AddArrayToObject(root, "runs");
	for (i = 0; i < r->n_runs; i++)
		cJSON_AddItemToArray(arr, run_json(r, &r->runs[i]));
	arr = cJSON_AddArrayToObject(root, "lr_comparisons");
	for (i = 0; i < r->n_groups; i++)
		cJSON_AddItemToArray(arr, lr_group_json(r, &r->groups[i]));
	arr = cJSON_AddArrayToObject(root, "l2_comparisons");
	for (i = 0; i < r->n_pairs; i++)
		cJSON_AddItemToArray(arr, l2_pair_json(r, &r->pairs[i]));
	rp_path(path, sizeof(path), "%s/report.json", r->dir);
	rc = tr_json_write(path, root, err);
	cJSON_Delete(root);
	return rc;
}

int tr_report_build(const char *dir, const tr_report_options *opts, tr_report_outcome *out,
		    tr_error *err)
{
	tr_report_options none = { 0 };
	rp_report r;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if (!opts)
		opts = &none;
	r.dir = dir;
	r.out = out;
	tr_peak_params_default(&r.peak_params);
	snprintf(out->report_md, sizeof(out->report_md), "%s/report.md", dir);
	if ((rc = rp_load_runs(&r, err)))
		goto out_free;
	out->n_runs = r.n_runs;
	for (i = 0; i < r.n_runs; i++) {
		if (r.runs[i].diverged)
			out->n_diverged++;
		else if (!strcmp(r.runs[i].status, "completed"))
			out->n_completed++;
		else
			out->n_other++;
	}
	if (!(rc = rp_draw_figures(&r, opts, err)) && !(rc = rp_write_markdown(&r, opts, err)))
		rc = rp_write_json(&r, err);
out_free:
	rp_free_runs(&r);
	return rc;
}
