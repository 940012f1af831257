/*
 * report_plots.c - the report's figures: gnuplot runs the scripts in plots/ (no drawing
 * happens here), with its working directory in the experiment directory and every path
 * relative to it. This file writes the small data files the scripts read (histograms,
 * the W1 tile mosaic) and checks what each gnuplot run produced.
 */
#include "report_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trainer/fs.h"

#define VARS_MAX 8192

static const char *const fig_names[RP_N_FIGS] = {
	"loss", "acc", "loss-late", "acc-late", "weights", "w1-tiles", "weights-hist",
};

void rp_path(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

void rp_fig_path(const rp_run *run, enum rp_fig f, char *buf, size_t cap)
{
	rp_path(buf, cap, "figures/%s/%s", run->name, fig_names[f]);
}

/* Where gnuplot is, the scripts, and the log; set once per report. */
struct plotter {
	const char *dir;          /* the experiment directory (gnuplot's cwd) */
	char gnuplot[1024];
	const char *plots_dir;
	char log[RP_PATH_MAX];
	tr_report_outcome *out;
};

/* ---- gnuplot's -e string: name='value' with ' doubled, numbers with %.9g ---- */

struct vars {
	char s[VARS_MAX];
	size_t len;
	bool overflow;
};

static void vadd(struct vars *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void vadd(struct vars *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v->s + v->len, sizeof(v->s) - v->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(v->s) - v->len)
		v->overflow = true;
	else
		v->len += (size_t)n;
}

static void var_str(struct vars *v, const char *name, const char *value)
{
	const char *p;

	vadd(v, "%s='", name);
	for (p = value; *p; p++)
		vadd(v, *p == '\'' ? "''" : "%c", *p);
	vadd(v, "'; ");
}

static void var_num(struct vars *v, const char *name, double x)
{
	vadd(v, "%s=%.9g; ", name, x);
}

/* Run one script with the variables; true when it exited 0 and made out.png. */
static bool gnuplot(struct plotter *pl, const char *script, struct vars *v, const char *out)
{
	char path[RP_PATH_MAX], png[RP_PATH_MAX];
	char *argv[5];
	struct stat st;
	tr_error err;
	pid_t pid;
	int status;
	FILE *log;

	var_str(v, "plotdir", pl->plots_dir);
	rp_path(path, sizeof(path), "%s/%s", pl->plots_dir, script);
	rp_path(png, sizeof(png), "%s/%s.png", pl->dir, out);
	if (v->overflow)
		goto out_failed;
	if ((log = fopen(pl->log, "a"))) {
		fprintf(log, "== %s: gnuplot -e \"%s\" %s\n", out, v->s, path);
		fclose(log);
	}
	argv[0] = pl->gnuplot;
	argv[1] = "-e";
	argv[2] = v->s;
	argv[3] = path;
	argv[4] = NULL;
	if (tr_spawn(argv, pl->dir, pl->log, false, &pid, &err) != TR_OK)
		goto out_failed;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (tr_exit_code(status) == 0 && stat(png, &st) == 0 && st.st_size > 0) {
		pl->out->n_figures++;
		return true;
	}
out_failed:
	pl->out->n_figures_failed++;
	return false;
}

/* ---- the runs' figures ---- */

/* Should the loss axis be logarithmic: do the finite positive losses of rows[first..)
 * span more than RP_LOGY_SPAN? With `val_only` the training loss is left out. */
static bool loss_spans_decades(const tr_metric_row *rows, size_t n, size_t first,
			       bool val_only, double *lo, double *hi)
{
	size_t i;

	for (i = first; i < n; i++) {
		double v[2] = { rows[i].val_loss, rows[i].train_loss };
		int k;

		for (k = 0; k < (val_only ? 1 : 2); k++) {
			if (!isfinite(v[k]) || v[k] <= 0)
				continue;
			*lo = v[k] < *lo ? v[k] : *lo;
			*hi = v[k] > *hi ? v[k] : *hi;
		}
	}
	return *hi > 0 && *hi / *lo > RP_LOGY_SPAN;
}

static void draw_curves(struct plotter *pl, rp_run *run)
{
	static const enum rp_fig figs[4] = { RP_FIG_LOSS, RP_FIG_ACC, RP_FIG_LOSS_LATE,
					     RP_FIG_ACC_LATE };
	size_t k;

	for (k = 0; k < 4; k++) {
		bool late = k >= 2, loss = k % 2 == 0;
		size_t first = late ? RP_LATE_SKIP : 0;
		double lo = INFINITY, hi = 0;
		char out[RP_PATH_MAX], csv[RP_PATH_MAX], title[RP_PATH_MAX];
		struct vars v = { .len = 0 };

		if (run->peak.n < first + 3)
			continue;
		rp_fig_path(run, figs[k], out, sizeof(out));
		rp_path(csv, sizeof(csv), "%s/metrics.csv", run->name);
		snprintf(title, sizeof(title), "%s: %s%s", run->name,
			 loss ? "loss" : "accuracy",
			 late ? " (without the first 20 evaluations)" : "");
		var_str(&v, "csv", csv);
		var_str(&v, "out", out);
		var_str(&v, "title", title);
		var_str(&v, "what", loss ? "loss" : "acc");
		var_num(&v, "first", (double)first);
		var_num(&v, "logy", loss && loss_spans_decades(run->rows, run->n_rows, first,
							       false, &lo, &hi));
		run->fig[figs[k]] = gnuplot(pl, "run_curves.gp", &v, out);
	}
}

/* The matrices' lists for weights.gp: one word per matrix. */
static void weights_vars(struct vars *v, const rp_run *run)
{
	static const char *const keys[] = { "files", "rows", "cols", "skips", "mins", "maxs" };
	size_t k, i;

	var_num(v, "n", (double)run->n_mats);
	for (k = 0; k < 6; k++) {
		vadd(v, "%s='", keys[k]);
		for (i = 0; i < run->n_mats; i++) {
			const rp_matrix *m = &run->mats[i];
			double hi = m->sp.max > m->sp.min ? m->sp.max : m->sp.min + 1;

			switch (k) {
			case 0: vadd(v, "%s/w%zu.npy ", run->name, i + 1); break;
			case 1: vadd(v, "%zu ", m->rows); break;
			case 2: vadd(v, "%zu ", m->cols); break;
			case 3: vadd(v, "%zu ", m->header_len); break;
			case 4: vadd(v, "%.9g ", m->sp.min); break;
			default: vadd(v, "%.9g ", hi); break;
			}
		}
		vadd(v, "'; ");
	}
}

static int write_hist(const char *path, const rp_run *run, tr_error *err)
{
	tr_atomic_file af;
	size_t i, b;
	int rc;

	if ((rc = tr_atomic_open(&af, path, err)))
		return rc;
	for (i = 0; i < run->n_mats; i++) {
		const rp_matrix *m = &run->mats[i];
		double width = (m->sp.max - m->sp.min) / RP_HIST_BINS;

		fprintf(af.fp, "# W%zu (%zu x %zu): bin centre, entries\n", i + 1, m->rows, m->cols);
		for (b = 0; b < RP_HIST_BINS; b++)
			fprintf(af.fp, "%.9g,%zu\n", m->sp.min + (b + 0.5) * width, m->hist[b]);
		fprintf(af.fp, "\n\n");
	}
	return tr_atomic_commit(&af, err);
}

/* The first 64 columns of W1 as a mosaic of 28x28 tiles, as raw float32. */
static int write_tiles(const char *path, const char *run_dir, size_t *w, size_t *h,
		       tr_error *err)
{
	size_t shape[TR_NPY_MAX_DIMS], tile_rows = (RP_TILES + RP_TILES_PER_ROW - 1) / RP_TILES_PER_ROW;
	size_t cap = (RP_TILES_PER_ROW * (RP_TILE_SIDE + 1)) * (tile_rows * (RP_TILE_SIDE + 1));
	char npy[RP_PATH_MAX];
	float *w1 = NULL, *mosaic = NULL;
	int ndim, rc;

	rp_path(npy, sizeof(npy), "%s/w1.npy", run_dir);
	if ((rc = tr_npy_read(npy, &w1, shape, &ndim, err)))
		return rc;
	mosaic = malloc(cap * sizeof(float));
	if (!mosaic) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
		goto out_free;
	}
	tr_weight_tiles(w1, shape[0], shape[1], RP_TILE_SIDE, RP_TILES, RP_TILES_PER_ROW,
			mosaic, w, h);
	rc = tr_write_file_atomic(path, mosaic, *w * *h * sizeof(float), err);
out_free:
	free(w1);
	free(mosaic);
	return rc;
}

static void draw_matrices(struct plotter *pl, rp_run *run)
{
	char out[RP_PATH_MAX], title[RP_PATH_MAX];
	struct vars v = { .len = 0 };

	rp_fig_path(run, RP_FIG_WEIGHTS, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: weight matrices, each min-max normalised", run->name);
	var_str(&v, "out", out);
	var_str(&v, "title", title);
	weights_vars(&v, run);
	run->fig[RP_FIG_WEIGHTS] = gnuplot(pl, "weights.gp", &v, out);
}

static void draw_tiles(struct plotter *pl, rp_run *run)
{
	char out[RP_PATH_MAX], data[RP_PATH_MAX], title[RP_PATH_MAX];
	char path[RP_PATH_MAX * 2], run_dir[RP_PATH_MAX * 2];
	struct vars v = { .len = 0 };
	size_t w, h, n = run->mats[0].cols < RP_TILES ? run->mats[0].cols : RP_TILES;
	tr_error err;

	if (run->mats[0].rows != RP_TILE_SIDE * RP_TILE_SIDE)
		return;
	rp_path(data, sizeof(data), "figures/%s/w1-tiles.f32", run->name);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	rp_path(run_dir, sizeof(run_dir), "%s/%s", pl->dir, run->name);
	if (write_tiles(path, run_dir, &w, &h, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	rp_fig_path(run, RP_FIG_TILES, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: the first %zu columns of W1 as 28x28 images",
		 run->name, n);
	var_str(&v, "file", data);
	var_num(&v, "w", (double)w);
	var_num(&v, "h", (double)h);
	var_str(&v, "out", out);
	var_str(&v, "title", title);
	run->fig[RP_FIG_TILES] = gnuplot(pl, "tiles.gp", &v, out);
}

static void draw_hist(struct plotter *pl, rp_run *run)
{
	char out[RP_PATH_MAX], data[RP_PATH_MAX], title[RP_PATH_MAX], path[RP_PATH_MAX * 2];
	char titles[1024] = "";
	struct vars v = { .len = 0 };
	tr_error err;
	size_t i;

	rp_path(data, sizeof(data), "figures/%s/weights-hist.csv", run->name);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	if (write_hist(path, run, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	for (i = 0; i < run->n_mats; i++)
		snprintf(titles + strlen(titles), sizeof(titles) - strlen(titles),
			 "\"W%zu (%zu x %zu)\" ", i + 1, run->mats[i].rows, run->mats[i].cols);
	rp_fig_path(run, RP_FIG_HIST, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: histograms of the weights", run->name);
	var_str(&v, "file", data);
	var_num(&v, "n", (double)run->n_mats);
	var_str(&v, "titles", titles);
	var_str(&v, "out", out);
	var_str(&v, "title", title);
	run->fig[RP_FIG_HIST] = gnuplot(pl, "hist.gp", &v, out);
}

/* ---- comparisons on shared axes ---- */

/* compare.gp on the runs idx[0..n) that have enough points, titled titles[i]; false
 * when fewer than two have. */
static bool draw_compare(struct plotter *pl, const rp_report *r, const size_t *idx,
			 const char *const *titles, size_t n, const char *out,
			 const char *title, bool loss, size_t first)
{
	struct vars v = { .len = 0 };
	double lo = INFINITY, hi = 0;
	bool logy = false;
	size_t i, used = 0;
	char names[2048] = "";

	vadd(&v, "files='");
	for (i = 0; i < n; i++) {
		const rp_run *run = &r->runs[idx[i]];

		if (!run->drawable || run->peak.n < first + 3)
			continue;
		vadd(&v, "\"%s/metrics.csv\" ", run->name);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "\"%s\" ", titles[i]);
		logy |= loss && loss_spans_decades(run->rows, run->n_rows, first, true, &lo, &hi);
		used++;
	}
	vadd(&v, "'; ");
	if (used < 2)
		return false;
	var_str(&v, "titles", names);
	var_str(&v, "out", out);
	var_str(&v, "title", title);
	var_str(&v, "what", loss ? "loss" : "acc");
	var_num(&v, "first", (double)first);
	var_num(&v, "logy", logy);
	return gnuplot(pl, "compare.gp", &v, out);
}

static void draw_lr_group(struct plotter *pl, const rp_report *r, rp_lr_group *g)
{
	char names[sizeof(g->idx) / sizeof(g->idx[0])][64], num[48];
	const char *titles[sizeof(g->idx) / sizeof(g->idx[0])];
	char out[RP_PATH_MAX], title[256];
	size_t i;

	for (i = 0; i < g->n; i++) {
		tr_exp_format_decimal(r->runs[g->idx[i]].lr, num, sizeof(num));
		snprintf(names[i], sizeof(names[i]), "lr %s", num);
		titles[i] = names[i];
	}
	tr_exp_format_decimal(r->runs[g->idx[0]].l2, num, sizeof(num));
	snprintf(title, sizeof(title), "learning rates compared (L2 lambda %s): validation loss", num);
	rp_path(out, sizeof(out), "figures/compare-%s-loss", g->tag);
	g->fig_loss = draw_compare(pl, r, g->idx, titles, g->n, out, title, true, 0);
	snprintf(title, sizeof(title), "learning rates compared (L2 lambda %s): validation accuracy", num);
	rp_path(out, sizeof(out), "figures/compare-%s-acc", g->tag);
	g->fig_acc = draw_compare(pl, r, g->idx, titles, g->n, out, title, false, 0);
}

static void draw_l2_pair(struct plotter *pl, const rp_report *r, rp_l2_pair *p)
{
	size_t idx[2] = { p->with, p->without };
	char with[96], out[RP_PATH_MAX], title[256], lr[48], l2[48];
	const char *titles[2] = { with, "without L2" };

	tr_exp_format_decimal(r->runs[p->with].lr, lr, sizeof(lr));
	tr_exp_format_decimal(r->runs[p->with].l2, l2, sizeof(l2));
	snprintf(with, sizeof(with), "with L2 (lambda %s)", l2);
	snprintf(title, sizeof(title), "with vs without L2 at lr %s: validation loss", lr);
	rp_path(out, sizeof(out), "figures/compare-%s-loss", p->tag);
	p->fig_loss = draw_compare(pl, r, idx, titles, 2, out, title, true, 0);
	snprintf(title, sizeof(title), "with vs without L2 at lr %s: validation accuracy", lr);
	rp_path(out, sizeof(out), "figures/compare-%s-acc", p->tag);
	p->fig_acc = draw_compare(pl, r, idx, titles, 2, out, title, false, 0);
	snprintf(title, sizeof(title),
		 "with vs without L2 at lr %s: validation accuracy without the first 20 evaluations", lr);
	rp_path(out, sizeof(out), "figures/compare-%s-acc-late", p->tag);
	p->fig_acc_late = draw_compare(pl, r, idx, titles, 2, out, title, false, RP_LATE_SKIP);
}

/* Is everything there to draw: gnuplot and the scripts? Says why not in out->note. */
static bool can_draw(struct plotter *pl, const tr_report_options *opts)
{
	char script[RP_PATH_MAX];
	const char *prog = opts->gnuplot ? opts->gnuplot : "gnuplot";

	pl->plots_dir = opts->plots_dir;
	if (!tr_find_program(prog, pl->gnuplot, sizeof(pl->gnuplot))) {
		snprintf(pl->out->note, sizeof(pl->out->note),
			 "gnuplot was not found (%s): no plots or weight pictures were drawn. "
			 "Install it (Debian: apt-get install gnuplot-nox) and run "
			 "'trainer report DIR' again", prog);
		return false;
	}
	rp_path(script, sizeof(script), "%s/run_curves.gp", pl->plots_dir ? pl->plots_dir : ".");
	if (!pl->plots_dir || access(script, R_OK) != 0) {
		snprintf(pl->out->note, sizeof(pl->out->note),
			 "the gnuplot scripts were not found (%.300s): no plots were drawn. Set "
			 "TRAINER_PLOTS_DIR to the trainer's plots/ directory and run "
			 "'trainer report DIR' again", pl->plots_dir ? script : "no plots directory");
		return false;
	}
	return true;
}

int rp_draw_figures(rp_report *r, const tr_report_options *opts, tr_error *err)
{
	struct plotter pl = { .dir = r->dir, .out = r->out };
	char path[RP_PATH_MAX * 2];
	size_t i;
	int rc;

	if (!can_draw(&pl, opts)) {
		r->out->plots_missing = true;
		return TR_OK;
	}
	rp_path(path, sizeof(path), "%s/figures", r->dir);
	if ((rc = tr_mkdir_p(path, err)))
		return rc;
	rp_path(pl.log, sizeof(pl.log), "%s/figures/gnuplot.log", r->dir);
	unlink(pl.log);
	for (i = 0; i < r->n_runs; i++) {
		rp_run *run = &r->runs[i];

		if (!run->drawable)
			continue;
		rp_path(path, sizeof(path), "%s/figures/%s", r->dir, run->name);
		if ((rc = tr_mkdir_p(path, err)))
			return rc;
		draw_curves(&pl, run);
		if (run->n_mats == 0)
			continue;
		draw_matrices(&pl, run);
		draw_tiles(&pl, run);
		draw_hist(&pl, run);
	}
	for (i = 0; i < r->n_groups; i++)
		draw_lr_group(&pl, r, &r->groups[i]);
	for (i = 0; i < r->n_pairs; i++)
		draw_l2_pair(&pl, r, &r->pairs[i]);
	if (r->out->n_figures_failed)
		snprintf(r->out->note, sizeof(r->out->note),
			 "%zu figure(s) could not be drawn: see figures/gnuplot.log",
			 r->out->n_figures_failed);
	return TR_OK;
}
