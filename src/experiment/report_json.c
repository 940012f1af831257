/*
 * report_json.c - report.json (the report's figures for scripts) and tr_report_build,
 * which loads the runs, draws the figures and writes both files.
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
		cJSON_AddNumberToObject(o, "non_finite", (double)m->sp.n_nonfinite);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void add_figure(cJSON *figs, const char *key, bool drawn, const char *path)
{
	char png[RP_PATH_MAX];

	if (!drawn)
		return;
	rp_path(png, sizeof(png), "%s.png", path);
	cJSON_AddStringToObject(figs, key, png);
}

static cJSON *run_json(const rp_run *run)
{
	static const char *const keys[RP_N_FIGS] = {
		"loss", "acc", "loss_late", "acc_late", "weights", "w1_tiles", "weights_hist",
	};
	cJSON *o = cJSON_CreateObject(), *s, *figs;
	char path[RP_PATH_MAX];
	int k;

	cJSON_AddStringToObject(o, "name", run->name);
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
	cJSON_AddNumberToObject(s, "seed", (double)run->seed);
	cJSON_AddNumberToObject(s, "batch", (double)run->batch);
	cJSON_AddNumberToObject(s, "iters", (double)run->iters);
	cJSON_AddNumberToObject(s, "eval_every", (double)run->eval_every);
	cJSON_AddStringToObject(s, "l2_scope", run->l2_scope);
	cJSON_AddNumberToObject(s, "val_size", (double)run->val_size);
	cJSON_AddNumberToObject(o, "iterations_done", (double)run->iterations_done);
	add_num(o, "wall_seconds", run->wall_seconds);
	add_num(o, "test_acc", run->test_acc);
	cJSON_AddItemToObject(o, "peak", peak_json(&run->peak));
	cJSON_AddItemToObject(o, "convergence", convergence_json(&run->conv));
	cJSON_AddItemToObject(o, "weights", weights_json(run));
	figs = cJSON_AddObjectToObject(o, "figures");
	for (k = 0; k < RP_N_FIGS; k++) {
		rp_fig_path(run, (enum rp_fig)k, path, sizeof(path));
		add_figure(figs, keys[k], run->fig[k], path);
	}
	return o;
}

static cJSON *lr_group_json(const rp_report *r, const rp_lr_group *g)
{
	cJSON *o = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(o, "runs"), *figs;
	char path[RP_PATH_MAX];
	size_t i;

	add_num(o, "l2", r->runs[g->idx[0]].l2);
	for (i = 0; i < g->n; i++)
		cJSON_AddItemToArray(runs, cJSON_CreateString(r->runs[g->idx[i]].name));
	figs = cJSON_AddObjectToObject(o, "figures");
	rp_path(path, sizeof(path), "figures/compare-%s-loss", g->tag);
	add_figure(figs, "val_loss", g->fig_loss, path);
	rp_path(path, sizeof(path), "figures/compare-%s-acc", g->tag);
	add_figure(figs, "val_acc", g->fig_acc, path);
	return o;
}

static cJSON *l2_pair_json(const rp_report *r, const rp_l2_pair *p)
{
	const rp_run *w = &r->runs[p->with], *n = &r->runs[p->without];
	cJSON *o = cJSON_CreateObject(), *mats, *figs;
	char path[RP_PATH_MAX];
	size_t k, nm = w->n_mats < n->n_mats ? w->n_mats : n->n_mats;

	add_num(o, "lr", w->lr);
	add_num(o, "l2", w->l2);
	cJSON_AddStringToObject(o, "with", w->name);
	cJSON_AddStringToObject(o, "without", n->name);
	add_num(o, "test_acc_with", w->test_acc);
	add_num(o, "test_acc_without", n->test_acc);
	add_num(o, "test_acc_change", w->test_acc - n->test_acc);
	mats = cJSON_AddArrayToObject(o, "sparsity");
	for (k = 0; k < nm; k++) {
		cJSON *m = cJSON_CreateObject();
		char name[24];

		snprintf(name, sizeof(name), "W%zu", k + 1);
		cJSON_AddStringToObject(m, "matrix", name);
		add_num(m, "near_zero_fraction_with", w->mats[k].sp.frac_small);
		add_num(m, "near_zero_fraction_without", n->mats[k].sp.frac_small);
		add_num(m, "mean_abs_with", w->mats[k].sp.mean_abs);
		add_num(m, "mean_abs_without", n->mats[k].sp.mean_abs);
		add_num(m, "l2_norm_with", w->mats[k].sp.l2_norm);
		add_num(m, "l2_norm_without", n->mats[k].sp.l2_norm);
		cJSON_AddBoolToObject(m, "sparser_with_l2", RP_SPARSER(&w->mats[k].sp, &n->mats[k].sp));
		cJSON_AddItemToArray(mats, m);
	}
	figs = cJSON_AddObjectToObject(o, "figures");
	rp_path(path, sizeof(path), "figures/compare-%s-loss", p->tag);
	add_figure(figs, "val_loss", p->fig_loss, path);
	rp_path(path, sizeof(path), "figures/compare-%s-acc", p->tag);
	add_figure(figs, "val_acc", p->fig_acc, path);
	rp_path(path, sizeof(path), "figures/compare-%s-acc-late", p->tag);
	add_figure(figs, "val_acc_late", p->fig_acc_late, path);
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
	cJSON_AddStringToObject(c, "smoothing", "centred moving average, max(3, n/30) points "
				"rounded up to odd, at most 11");
	cJSON_AddStringToObject(c, "late_part", "the last third of the evaluations");
	cJSON_AddNumberToObject(c, "near_zero_relative_threshold", TR_SPARSITY_REL);
	cJSON_AddNumberToObject(c, "sparser_margin", RP_SPARSER_MARGIN);
	arr = cJSON_AddArrayToObject(root, "runs");
	for (i = 0; i < r->n_runs; i++)
		cJSON_AddItemToArray(arr, run_json(&r->runs[i]));
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
