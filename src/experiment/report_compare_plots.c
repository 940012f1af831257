/*
 * report_compare_plots.c - the figures across runs: configurations on shared axes, each
 * the mean over its seeds with a band from the lowest to the highest seed (data in
 * figures/<config>/band.csv); with vs without L2 (cross-entropy beside the L2 term,
 * accuracy, the weight matrices on one symmetric scale per matrix, W1's tiles on one
 * scale, histograms overlaid with the initial values); test accuracy against the
 * learning rate.
 */
#include "report_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/fs.h"

/* ---- the configurations' curves over their seeds ---- */

static bool all_have_parts(const rp_report *r, const rp_config *c)
{
	size_t i;
	bool parts = true;

	for (i = 0; i < c->n; i++)
		parts &= r->runs[c->idx[i]].has_parts;
	return parts;
}

/* The finite rows the seeds have at evaluation i (the runs share their evaluation
 * iterations), as mean, lowest and highest of each column. */
static void band_row(FILE *f, const rp_report *r, const rp_config *c, size_t i)
{
	double v[5][RP_MAX_SEEDS];
	tr_stats st[5];
	size_t k, n = 0, j;
	long iter = -1;

	for (k = 0; k < c->n; k++) {
		const rp_run *run = &r->runs[c->idx[k]];
		const tr_metric_row *row;

		if (i >= run->peak.n)
			continue;
		row = &run->rows[i];
		iter = row->iter;
		v[0][n] = row->val_acc;
		v[1][n] = row->val_ce;
		v[2][n] = row->l2_term;
		v[3][n] = row->val_loss;
		v[4][n] = row->train_ce;
		n++;
	}
	if (!n)
		return;
	for (j = 0; j < 5; j++)
		tr_stats_compute(v[j], n, &st[j]);
	fprintf(f, "%ld,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", iter, n,
		st[0].mean, st[0].min, st[0].max, st[1].mean, st[1].min, st[1].max, st[2].mean,
		st[3].mean, st[3].min, st[3].max, st[4].mean);
}

static void write_band(rp_plotter *pl, const rp_report *r, rp_config *c)
{
	char path[RP_PATH_MAX * 2];
	size_t i, n = 0;
	tr_atomic_file af;
	tr_error err;

	c->band = false;
	if (!c->drawable)
		return;
	for (i = 0; i < c->n; i++)
		n = r->runs[c->idx[i]].peak.n > n ? r->runs[c->idx[i]].peak.n : n;
	rp_path(path, sizeof(path), "%s/figures/%s", pl->dir, c->name);
	if (tr_mkdir_p(path, &err) != TR_OK)
		return;
	rp_path(path, sizeof(path), "%s/figures/%s/band.csv", pl->dir, c->name);
	if (tr_atomic_open(&af, path, &err) != TR_OK)
		return;
	fprintf(af.fp, "iter,seeds,acc_mean,acc_min,acc_max,ce_mean,ce_min,ce_max,l2_mean,"
		"loss_mean,loss_min,loss_max,train_ce_mean\n");
	for (i = 0; i < n; i++)
		band_row(af.fp, r, c, i);
	c->band = tr_atomic_commit(&af, &err) == TR_OK;
}

/* compare.gp over the configurations idx[0..n) that have enough points. what: "acc",
 * "ce" (cross-entropy) or "loss"; l2_of: the position (1-based, among those drawn) of
 * the configuration whose L2 term is drawn too, or 0. */
static void draw_compare(rp_plotter *pl, const rp_report *r, const size_t *idx,
			 const char *const *titles, size_t n, const char *out,
			 const char *title, const char *what, size_t first, size_t l2_of,
			 bool *drawn)
{
	rp_vars v = { .len = 0 };
	double lo = INFINITY, hi = 0;
	bool logy = false, loss = strcmp(what, "acc") != 0;
	size_t i, k, used = 0, l2_pos = 0;
	char names[2048] = "";

	rp_var_add(&v, "files='");
	for (i = 0; i < n; i++) {
		const rp_config *c = &r->configs[idx[i]];
		size_t pts = 0;

		for (k = 0; k < c->n; k++)
			pts = r->runs[c->idx[k]].peak.n > pts ? r->runs[c->idx[k]].peak.n : pts;
		if (!c->band || pts < first + 3)
			continue;
		rp_var_add(&v, "\"figures/%s/band.csv\" ", c->name);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "\"%s\" ", titles[i]);
		for (k = 0; loss && k < c->n; k++) {
			const rp_run *run = &r->runs[c->idx[k]];

			logy |= rp_loss_spans_decades(run->rows, run->n_rows, first, true,
						      !strcmp(what, "ce"), &lo, &hi);
		}
		used++;
		if (i + 1 == l2_of)
			l2_pos = used;
	}
	rp_var_add(&v, "'; ");
	*drawn = false;
	if (used < 2)
		return;
	rp_var_str(&v, "titles", names);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_var_str(&v, "what", what);
	rp_var_num(&v, "first", (double)first);
	rp_var_num(&v, "logy", logy);
	rp_var_num(&v, "l2_of", (double)l2_pos);
	rp_gnuplot(pl, "compare.gp", &v, out, drawn);
}

/* ---- learning rates ---- */

static void draw_test_acc_by_lr(rp_plotter *pl, const rp_report *r, const rp_lr_group *g,
				const char *out, bool *drawn)
{
	char data[RP_PATH_MAX], path[RP_PATH_MAX * 2], title[256], l2[48];
	rp_vars v = { .len = 0 };
	tr_atomic_file af;
	tr_error err;
	size_t i;

	*drawn = false;
	rp_path(data, sizeof(data), "%s.csv", out);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	if (tr_atomic_open(&af, path, &err) != TR_OK)
		return;
	fprintf(af.fp, "lr,final_mean,final_min,final_max,best_mean,best_min,best_max\n");
	for (i = 0; i < g->n; i++) {
		const rp_config *c = &r->configs[g->idx[i]];

		fprintf(af.fp, "%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", c->lr, c->test_acc.mean,
			c->test_acc.min, c->test_acc.max, c->best_test_acc.mean,
			c->best_test_acc.min, c->best_test_acc.max);
	}
	if (tr_atomic_commit(&af, &err) != TR_OK)
		return;
	rp_dec(r->configs[g->idx[0]].l2, l2, sizeof(l2));
	snprintf(title, sizeof(title), "test accuracy against the learning rate (L2 lambda %s)", l2);
	rp_var_str(&v, "file", data);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "lr_acc.gp", &v, out, drawn);
}

static void draw_lr_group(rp_plotter *pl, const rp_report *r, rp_lr_group *g)
{
	char names[sizeof(g->idx) / sizeof(g->idx[0])][64], num[48];
	const char *titles[sizeof(g->idx) / sizeof(g->idx[0])];
	char out[RP_PATH_MAX], title[256];
	bool ce = true;
	size_t i;

	for (i = 0; i < g->n; i++) {
		tr_exp_format_decimal(r->configs[g->idx[i]].lr, num, sizeof(num));
		snprintf(names[i], sizeof(names[i]), "lr %s", num);
		titles[i] = names[i];
		ce &= all_have_parts(r, &r->configs[g->idx[i]]);
	}
	tr_exp_format_decimal(r->configs[g->idx[0]].l2, num, sizeof(num));
	snprintf(title, sizeof(title), "learning rates compared (L2 lambda %s): validation %s",
		 num, ce ? "cross-entropy" : "loss");
	rp_path(out, sizeof(out), "figures/compare-%s-loss", g->tag);
	draw_compare(pl, r, g->idx, titles, g->n, out, title, ce ? "ce" : "loss", 0, 0,
		     &g->fig_loss);
	snprintf(title, sizeof(title), "learning rates compared (L2 lambda %s): validation %s "
		 "without the first 20 evaluations", num, ce ? "cross-entropy" : "loss");
	rp_path(out, sizeof(out), "figures/compare-%s-loss-late", g->tag);
	draw_compare(pl, r, g->idx, titles, g->n, out, title, ce ? "ce" : "loss", RP_LATE_SKIP,
		     0, &g->fig_loss_late);
	snprintf(title, sizeof(title), "learning rates compared (L2 lambda %s): validation accuracy", num);
	rp_path(out, sizeof(out), "figures/compare-%s-acc", g->tag);
	draw_compare(pl, r, g->idx, titles, g->n, out, title, "acc", 0, 0, &g->fig_acc);
	snprintf(title, sizeof(title), "learning rates compared (L2 lambda %s): validation "
		 "accuracy without the first 20 evaluations", num);
	rp_path(out, sizeof(out), "figures/compare-%s-acc-late", g->tag);
	draw_compare(pl, r, g->idx, titles, g->n, out, title, "acc", RP_LATE_SKIP, 0,
		     &g->fig_acc_late);
	if (g->n > 2) {
		rp_path(out, sizeof(out), "figures/compare-%s-test-acc", g->tag);
		draw_test_acc_by_lr(pl, r, g, out, &g->fig_lr);
	}
}

/* ---- with vs without L2 ---- */

/* Both configurations' first runs' weight matrices side by side, each row on one
 * symmetric scale: the larger |w| of the two. */
static void draw_weights_pair(rp_plotter *pl, const rp_report *r, const rp_l2_pair *p,
			      const char *out, bool *drawn)
{
	const rp_run *a = &r->runs[r->configs[p->with].idx[0]];
	const rp_run *b = &r->runs[r->configs[p->without].idx[0]];
	const rp_run *both[2] = { a, b };
	size_t n = a->n_mats < b->n_mats ? a->n_mats : b->n_mats, k, i, f;
	static const char *const keys[] = { "files", "rows", "cols", "skips", "scales", "titles" };
	char title[RP_NAME_MAX * 2 + 96];
	rp_vars v = { .len = 0 };

	*drawn = false;
	if (!n || !a->drawable || !b->drawable)
		return;
	rp_var_num(&v, "n", (double)(2 * n));
	rp_var_num(&v, "ncols", 2);
	for (f = 0; f < 6; f++) {
		rp_var_add(&v, "%s='", keys[f]);
		for (k = 0; k < n; k++) {
			double s = fmax(a->mats[k].sp.max_abs, b->mats[k].sp.max_abs);

			for (i = 0; i < 2; i++) {
				const rp_matrix *m = &both[i]->mats[k];

				switch (f) {
				case 0: rp_var_add(&v, "%s/w%zu.npy ", both[i]->name, k + 1); break;
				case 1: rp_var_add(&v, "%zu ", m->rows); break;
				case 2: rp_var_add(&v, "%zu ", m->cols); break;
				case 3: rp_var_add(&v, "%zu ", m->header_len); break;
				case 4: rp_var_add(&v, "%.9g ", s > 0 ? s : 1); break;
				default: rp_var_add(&v, "\"W%zu, %s\" ", k + 1, both[i]->name); break;
				}
			}
		}
		rp_var_add(&v, "'; ");
	}
	snprintf(title, sizeof(title), "%s vs %s: weight matrices, each row on one symmetric "
		 "scale (white: 0)", a->name, b->name);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "weights.gp", &v, out, drawn);
}

static void draw_tiles_pair(rp_plotter *pl, const rp_report *r, const rp_l2_pair *p,
			    const char *out, bool *drawn)
{
	const rp_run *run[2] = { &r->runs[r->configs[p->with].idx[0]],
				 &r->runs[r->configs[p->without].idx[0]] };
	char data[2][RP_PATH_MAX], path[RP_PATH_MAX * 2], dir[RP_PATH_MAX * 2], title[256];
	rp_vars v = { .len = 0 };
	double scale = 0, s;
	size_t w = 0, h = 0, i;
	tr_error err;

	*drawn = false;
	for (i = 0; i < 2; i++) {
		if (!run[i]->n_mats || run[i]->mats[0].rows != RP_TILE_SIDE * RP_TILE_SIDE ||
		    !run[i]->drawable)
			return;
		rp_path(data[i], sizeof(data[i]), "%s-%zu.f32", out, i);
		rp_path(path, sizeof(path), "%s/%s", pl->dir, data[i]);
		rp_path(dir, sizeof(dir), "%s/%s", pl->dir, run[i]->name);
		if (rp_write_tiles(path, dir, &w, &h, &s, &err) != TR_OK)
			return;
		scale = s > scale ? s : scale;
	}
	rp_var_add(&v, "files='%s %s'; names='\"%s\" \"%s\"'; ", data[0], data[1], run[0]->name,
		   run[1]->name);
	rp_var_num(&v, "w", (double)w);
	rp_var_num(&v, "h", (double)h);
	rp_var_num(&v, "scale", scale > 0 ? scale : 1);
	snprintf(title, sizeof(title), "the first %d columns of W1 as 28x28 images, both on one "
		 "scale", RP_TILES);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "tiles.gp", &v, out, drawn);
}

static void draw_hist_pair(rp_plotter *pl, const rp_report *r, const rp_l2_pair *p,
			   const char *out, bool *drawn)
{
	const rp_run *runs[2] = { &r->runs[r->configs[p->with].idx[0]],
				  &r->runs[r->configs[p->without].idx[0]] };
	char data[RP_PATH_MAX], path[RP_PATH_MAX * 2], title[RP_NAME_MAX * 2 + 96];
	size_t n = runs[0]->n_mats < runs[1]->n_mats ? runs[0]->n_mats : runs[1]->n_mats, k;
	rp_vars v = { .len = 0 };
	bool with_init;
	tr_error err;

	*drawn = false;
	if (!n || !runs[0]->drawable || !runs[1]->drawable)
		return;
	rp_path(data, sizeof(data), "%s.csv", out);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	if (rp_write_hists(pl->dir, path, runs, 2, &with_init, &err) != TR_OK)
		return;
	rp_var_add(&v, "titles='");
	for (k = 0; k < n; k++)
		rp_var_add(&v, "\"W%zu (%zu x %zu)\" ", k + 1, runs[0]->mats[k].rows,
			   runs[0]->mats[k].cols);
	rp_var_add(&v, "'; sets='\"%s\" \"%s\"'; ", runs[0]->name, runs[1]->name);
	snprintf(title, sizeof(title), "%s vs %s: histograms of the weights on shared axes%s",
		 runs[0]->name, runs[1]->name, with_init ? ", with the initial values" : "");
	rp_var_str(&v, "file", data);
	rp_var_num(&v, "n", (double)n);
	rp_var_num(&v, "with_init", with_init);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "hist.gp", &v, out, drawn);
}

static void draw_l2_pair(rp_plotter *pl, const rp_report *r, rp_l2_pair *p)
{
	size_t idx[2] = { p->with, p->without };
	char with[96], out[RP_PATH_MAX], title[256], lr[48], l2[48];
	const char *titles[2] = { with, "without L2" };
	bool ce = all_have_parts(r, &r->configs[p->with]) &&
		  all_have_parts(r, &r->configs[p->without]);
	const char *what = ce ? "ce" : "loss";

	tr_exp_format_decimal(r->configs[p->with].lr, lr, sizeof(lr));
	tr_exp_format_decimal(r->configs[p->with].l2, l2, sizeof(l2));
	snprintf(with, sizeof(with), "with L2 (lambda %s)", l2);
	snprintf(title, sizeof(title), "with vs without L2 at lr %s: validation %s", lr,
		 ce ? "cross-entropy, and the L2 term" : "loss");
	rp_path(out, sizeof(out), "figures/compare-%s-loss", p->tag);
	draw_compare(pl, r, idx, titles, 2, out, title, what, 0, ce ? 1 : 0, &p->fig_loss);
	snprintf(title, sizeof(title), "with vs without L2 at lr %s: validation %s without the "
		 "first 20 evaluations", lr, ce ? "cross-entropy and L2 term" : "loss");
	rp_path(out, sizeof(out), "figures/compare-%s-loss-late", p->tag);
	draw_compare(pl, r, idx, titles, 2, out, title, what, RP_LATE_SKIP, ce ? 1 : 0,
		     &p->fig_loss_late);
	snprintf(title, sizeof(title), "with vs without L2 at lr %s: validation accuracy", lr);
	rp_path(out, sizeof(out), "figures/compare-%s-acc", p->tag);
	draw_compare(pl, r, idx, titles, 2, out, title, "acc", 0, 0, &p->fig_acc);
	snprintf(title, sizeof(title),
		 "with vs without L2 at lr %s: validation accuracy without the first 20 evaluations", lr);
	rp_path(out, sizeof(out), "figures/compare-%s-acc-late", p->tag);
	draw_compare(pl, r, idx, titles, 2, out, title, "acc", RP_LATE_SKIP, 0, &p->fig_acc_late);
	rp_path(out, sizeof(out), "figures/compare-%s-weights", p->tag);
	draw_weights_pair(pl, r, p, out, &p->fig_weights);
	rp_path(out, sizeof(out), "figures/compare-%s-tiles", p->tag);
	draw_tiles_pair(pl, r, p, out, &p->fig_tiles);
	rp_path(out, sizeof(out), "figures/compare-%s-hist", p->tag);
	draw_hist_pair(pl, r, p, out, &p->fig_hist);
}

void rp_draw_comparisons(rp_plotter *pl, rp_report *r)
{
	size_t i;

	for (i = 0; i < r->n_configs; i++)
		write_band(pl, r, &r->configs[i]);
	for (i = 0; i < r->n_groups; i++)
		draw_lr_group(pl, r, &r->groups[i]);
	for (i = 0; i < r->n_pairs; i++)
		draw_l2_pair(pl, r, &r->pairs[i]);
}
