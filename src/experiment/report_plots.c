/*
 * report_plots.c - the report's figures: gnuplot runs the scripts in plots/ (no drawing
 * happens here), with its working directory in the experiment directory and every path
 * relative to it (report_gnuplot.c runs it). This file draws each run's own figures and
 * writes the small data files the scripts read (histograms against the initial values,
 * the W1 tile mosaic, the confusion matrix, the misclassified digits); the figures
 * across runs are in report_compare_plots.c.
 */
#include "report_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trainer/fs.h"

#define MIS_PER_ROW 8 /* misclassified digits per row of their grid */

static const char *const fig_names[RP_N_FIGS] = {
	"loss", "acc", "loss-late", "acc-late", "weights", "w1-tiles", "weights-hist",
	"confusion", "misclassified",
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

/* ---- each run's curves ---- */

bool rp_loss_spans_decades(const tr_metric_row *rows, size_t n, size_t first,
			   bool val_only, bool ce, double *lo, double *hi)
{
	size_t i;

	for (i = first; i < n; i++) {
		double v[3] = { ce ? rows[i].val_ce : rows[i].val_loss,
				ce ? rows[i].train_ce : rows[i].train_loss,
				ce ? rows[i].l2_term : NAN };
		int k;

		for (k = 0; k < (val_only ? 1 : 3); k++) {
			if (!isfinite(v[k]) || v[k] <= 0)
				continue;
			*lo = v[k] < *lo ? v[k] : *lo;
			*hi = v[k] > *hi ? v[k] : *hi;
		}
	}
	return *hi > 0 && *hi / *lo > RP_LOGY_SPAN;
}

static void draw_curves(rp_plotter *pl, rp_run *run)
{
	static const enum rp_fig figs[4] = { RP_FIG_LOSS, RP_FIG_ACC, RP_FIG_LOSS_LATE,
					     RP_FIG_ACC_LATE };
	size_t k;

	for (k = 0; k < 4; k++) {
		bool late = k >= 2, loss = k % 2 == 0;
		size_t first = late ? RP_LATE_SKIP : 0;
		double lo = INFINITY, hi = 0;
		char out[RP_PATH_MAX], csv[RP_PATH_MAX], title[RP_PATH_MAX];
		rp_vars v = { .len = 0 };

		if (run->peak.n < first + 3)
			continue;
		rp_fig_path(run, figs[k], out, sizeof(out));
		rp_path(csv, sizeof(csv), "%s/metrics.csv", run->name);
		snprintf(title, sizeof(title), "%s: %s%s", run->name,
			 !loss ? "accuracy" : run->has_parts ? "cross-entropy and L2 term" : "loss",
			 late ? " (without the first 20 evaluations)" : "");
		rp_var_str(&v, "csv", csv);
		rp_var_str(&v, "out", out);
		rp_var_str(&v, "title", title);
		rp_var_str(&v, "what", loss ? "loss" : "acc");
		rp_var_num(&v, "first", (double)first);
		rp_var_num(&v, "parts", run->has_parts && run->l2 > 0 ? 2 : run->has_parts);
		rp_var_num(&v, "logy", loss && rp_loss_spans_decades(run->rows, run->n_rows, first,
								     false, run->has_parts, &lo,
								     &hi));
		rp_gnuplot(pl, "run_curves.gp", &v, out, &run->fig[figs[k]]);
	}
}

/* ---- each run's weights ---- */

/* The matrices' lists for weights.gp: one word per matrix. */
static void weights_vars(rp_vars *v, const rp_run *run)
{
	static const char *const keys[] = { "files", "rows", "cols", "skips", "scales" };
	size_t k, i;

	rp_var_num(v, "n", (double)run->n_mats);
	rp_var_num(v, "ncols", run->n_mats > 1 ? 2 : 1);
	for (k = 0; k < 5; k++) {
		rp_var_add(v, "%s='", keys[k]);
		for (i = 0; i < run->n_mats; i++) {
			const rp_matrix *m = &run->mats[i];

			switch (k) {
			case 0: rp_var_add(v, "%s/w%zu.npy ", run->name, i + 1); break;
			case 1: rp_var_add(v, "%zu ", m->rows); break;
			case 2: rp_var_add(v, "%zu ", m->cols); break;
			case 3: rp_var_add(v, "%zu ", m->header_len); break;
			default: rp_var_add(v, "%.9g ", m->sp.max_abs > 0 ? m->sp.max_abs : 1); break;
			}
		}
		rp_var_add(v, "'; ");
	}
	rp_var_add(v, "titles='");
	for (i = 0; i < run->n_mats; i++)
		rp_var_add(v, "W%zu ", i + 1);
	rp_var_add(v, "'; ");
}

static void draw_matrices(rp_plotter *pl, rp_run *run)
{
	char out[RP_PATH_MAX], title[RP_PATH_MAX];
	rp_vars v = { .len = 0 };

	rp_fig_path(run, RP_FIG_WEIGHTS, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: weight matrices, each on a symmetric scale around 0 "
		 "(white: 0)", run->name);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	weights_vars(&v, run);
	rp_gnuplot(pl, "weights.gp", &v, out, &run->fig[RP_FIG_WEIGHTS]);
}

int rp_write_tiles(const char *path, const char *run_dir, size_t *w, size_t *h,
		   double *max_abs, tr_error *err)
{
	size_t shape[TR_NPY_MAX_DIMS], tile_rows = (RP_TILES + RP_TILES_PER_ROW - 1) / RP_TILES_PER_ROW;
	size_t cap = (RP_TILES_PER_ROW * (RP_TILE_SIDE + 1)) * (tile_rows * (RP_TILE_SIDE + 1));
	char npy[RP_PATH_MAX];
	float *w1 = NULL, *mosaic = NULL;
	size_t i;
	int ndim, rc;

	rp_path(npy, sizeof(npy), "%s/w1.npy", run_dir);
	if ((rc = tr_npy_read(npy, &w1, shape, &ndim, err)))
		return rc;
	mosaic = malloc(cap * sizeof(float));
	if (!mosaic || ndim != 2) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
		goto out_free;
	}
	tr_weight_tiles(w1, shape[0], shape[1], RP_TILE_SIDE, RP_TILES, RP_TILES_PER_ROW,
			mosaic, w, h);
	*max_abs = 0;
	for (i = 0; i < *w * *h; i++)
		if (isfinite(mosaic[i]) && fabs(mosaic[i]) > *max_abs)
			*max_abs = fabs(mosaic[i]);
	rc = tr_write_file_atomic(path, mosaic, *w * *h * sizeof(float), err);
out_free:
	free(w1);
	free(mosaic);
	return rc;
}

static void draw_tiles(rp_plotter *pl, rp_run *run)
{
	char out[RP_PATH_MAX], data[RP_PATH_MAX], title[RP_PATH_MAX];
	char path[RP_PATH_MAX * 2], run_dir[RP_PATH_MAX * 2];
	rp_vars v = { .len = 0 };
	size_t w, h, n = run->mats[0].cols < RP_TILES ? run->mats[0].cols : RP_TILES;
	double scale;
	tr_error err;

	if (run->mats[0].rows != RP_TILE_SIDE * RP_TILE_SIDE)
		return;
	rp_path(data, sizeof(data), "figures/%s/w1-tiles.f32", run->name);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	rp_path(run_dir, sizeof(run_dir), "%s/%s", pl->dir, run->name);
	if (rp_write_tiles(path, run_dir, &w, &h, &scale, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	rp_fig_path(run, RP_FIG_TILES, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: the first %zu columns of W1 as 28x28 images, one "
		 "scale for all", run->name, n);
	rp_var_add(&v, "files='%s'; names='%s'; ", data, "_");
	rp_var_num(&v, "w", (double)w);
	rp_var_num(&v, "h", (double)h);
	rp_var_num(&v, "scale", scale > 0 ? scale : 1);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "tiles.gp", &v, out, &run->fig[RP_FIG_TILES]);
}

/* ---- histograms against the initial values ---- */

/* Weight matrix k of run into *w (malloc'ed), with its size. */
static bool load_matrix(const char *dir, const rp_run *run, size_t k, float **w, size_t *n)
{
	size_t shape[TR_NPY_MAX_DIMS];
	char path[RP_PATH_MAX];
	tr_error err;
	int ndim;

	rp_path(path, sizeof(path), "%s/%s/w%zu.npy", dir, run->name, k + 1);
	if (tr_npy_read(path, w, shape, &ndim, &err) != TR_OK)
		return false;
	*n = ndim == 2 ? shape[0] * shape[1] : 0;
	return true;
}

int rp_write_hists(const char *dir, const char *path, const rp_run *const *runs,
		   size_t n_runs, bool *with_init_out, tr_error *err)
{
	size_t counts[RP_HIST_SETS + 1][RP_HIST_BINS], k, i, b, n_mats = TR_MAX_LAYERS;
	tr_atomic_file af;
	tr_layout lay;
	float *init = NULL;
	bool with_init;
	int rc;

	if (n_runs > RP_HIST_SETS)
		n_runs = RP_HIST_SETS;
	for (i = 0; i < n_runs; i++)
		n_mats = runs[i]->n_mats < n_mats ? runs[i]->n_mats : n_mats;
	with_init = rp_initial_params(runs[0], &lay, &init) && lay.n_layers >= n_mats;
	*with_init_out = with_init;
	if ((rc = tr_atomic_open(&af, path, err)))
		goto out_free;
	for (k = 0; k < n_mats; k++) {
		float *w[RP_HIST_SETS + 1] = { NULL };
		size_t n[RP_HIST_SETS + 1] = { 0 }, sets = n_runs + with_init;
		double lo = INFINITY, hi = -INFINITY;

		for (i = 0; i < n_runs; i++) {
			const tr_sparsity *sp = &runs[i]->mats[k].sp;

			load_matrix(dir, runs[i], k, &w[i], &n[i]);
			lo = sp->min < lo ? sp->min : lo;
			hi = sp->max > hi ? sp->max : hi;
		}
		if (with_init) {
			w[n_runs] = init + lay.w_off[k];
			n[n_runs] = lay.sizes[k] * lay.sizes[k + 1];
			for (b = 0; b < n[n_runs]; b++) {
				lo = w[n_runs][b] < lo ? w[n_runs][b] : lo;
				hi = w[n_runs][b] > hi ? w[n_runs][b] : hi;
			}
		}
		if (!(hi > lo))
			hi = lo + 1;
		for (i = 0; i < sets; i++)
			tr_histogram(w[i], n[i], lo, hi, RP_HIST_BINS, counts[i]);
		fprintf(af.fp, "# W%zu: bin centre, entries of each run%s\n", k + 1,
			with_init ? ", then of the initial values" : "");
		for (b = 0; b < RP_HIST_BINS; b++) {
			fprintf(af.fp, "%.9g", lo + ((double)b + 0.5) * (hi - lo) / RP_HIST_BINS);
			for (i = 0; i < sets; i++)
				fprintf(af.fp, ",%zu", counts[i][b]);
			fprintf(af.fp, "\n");
		}
		fprintf(af.fp, "\n\n");
		for (i = 0; i < n_runs; i++)
			free(w[i]);
	}
	rc = tr_atomic_commit(&af, err);
out_free:
	free(init);
	return rc;
}

static void draw_hist(rp_plotter *pl, rp_run *run)
{
	char out[RP_PATH_MAX], data[RP_PATH_MAX], title[RP_PATH_MAX], path[RP_PATH_MAX * 2];
	const rp_run *runs[1] = { run };
	rp_vars v = { .len = 0 };
	bool with_init;
	tr_error err;
	size_t i;

	rp_path(data, sizeof(data), "figures/%s/weights-hist.csv", run->name);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	if (rp_write_hists(pl->dir, path, runs, 1, &with_init, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	rp_var_add(&v, "titles='");
	for (i = 0; i < run->n_mats; i++)
		rp_var_add(&v, "\"W%zu (%zu x %zu)\" ", i + 1, run->mats[i].rows, run->mats[i].cols);
	rp_var_add(&v, "'; sets='\"%s\"'; ", run->name);
	rp_fig_path(run, RP_FIG_HIST, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: histograms of the weights%s", run->name,
		 with_init ? ", and of their initial values" : "");
	rp_var_str(&v, "file", data);
	rp_var_num(&v, "n", (double)run->n_mats);
	rp_var_num(&v, "with_init", with_init);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "hist.gp", &v, out, &run->fig[RP_FIG_HIST]);
}

/* ---- confusion matrix and misclassified digits ---- */

static bool read_confusion(const char *path, size_t m[TR_N_CLASSES][TR_N_CLASSES])
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t i, j;
	bool ok = f != NULL;

	if (!f)
		return false;
	ok = fgets(line, sizeof(line), f) != NULL;
	for (i = 0; ok && i < TR_N_CLASSES; i++) {
		char *p = fgets(line, sizeof(line), f) ? line : NULL;

		ok = p != NULL;
		for (j = 0; ok && j < TR_N_CLASSES; j++) {
			p = strchr(p, ',');
			ok = p && sscanf(++p, "%zu", &m[i][j]) == 1;
		}
	}
	fclose(f);
	return ok;
}

static void draw_confusion(rp_plotter *pl, rp_run *run)
{
	size_t m[TR_N_CLASSES][TR_N_CLASSES], i, j;
	char in[RP_PATH_MAX], data[RP_PATH_MAX], path[RP_PATH_MAX * 2], out[RP_PATH_MAX];
	char title[RP_PATH_MAX];
	rp_vars v = { .len = 0 };
	tr_atomic_file af;
	tr_error err;

	rp_path(in, sizeof(in), "%s/%s/confusion.csv", pl->dir, run->name);
	if (!read_confusion(in, m))
		return;
	rp_path(data, sizeof(data), "figures/%s/confusion.dat", run->name);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, data);
	if (tr_atomic_open(&af, path, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	fprintf(af.fp, "# predicted,true,images,share of the true class\n");
	for (i = 0; i < TR_N_CLASSES; i++) {
		size_t row = 0;

		for (j = 0; j < TR_N_CLASSES; j++)
			row += m[i][j];
		for (j = 0; j < TR_N_CLASSES; j++)
			fprintf(af.fp, "%zu,%zu,%zu,%.6f\n", j, i, m[i][j],
				row ? (double)m[i][j] / (double)row : 0.0);
	}
	if (tr_atomic_commit(&af, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	rp_fig_path(run, RP_FIG_CONFUSION, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: test confusion matrix (final parameters)", run->name);
	rp_var_str(&v, "file", data);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "confusion.gp", &v, out, &run->fig[RP_FIG_CONFUSION]);
}

/* The misclassified digits as one mosaic (raw float32, NaN between tiles) and their
 * labels ("true -> predicted") as x,y,text lines for gnuplot. */
static int write_misclassified(const rp_plotter *pl, const rp_run *run, const char *mosaic,
			       const char *labels, size_t *w, size_t *h, tr_error *err)
{
	size_t shape[TR_NPY_MAX_DIMS], side, n, rows, i, p;
	char path[RP_PATH_MAX], line[256];
	float *img = NULL, *out = NULL;
	tr_atomic_file af;
	FILE *csv;
	int ndim, rc;

	rp_path(path, sizeof(path), "%s/%s/misclassified.npy", pl->dir, run->name);
	if ((rc = tr_npy_read(path, &img, shape, &ndim, err)))
		return rc;
	n = ndim == 2 ? shape[0] : 0;
	side = (size_t)(sqrt((double)(ndim == 2 ? shape[1] : 0)) + 0.5);
	if (!n || side * side != shape[1]) {
		free(img);
		return tr_fail(err, TR_ERR_INPUT, "%s: not square images", path);
	}
	rows = (n + MIS_PER_ROW - 1) / MIS_PER_ROW;
	*w = MIS_PER_ROW * (side + 2);
	*h = rows * (side + 10);
	out = malloc(*w * *h * sizeof(float));
	rp_path(path, sizeof(path), "%s/%s/misclassified.csv", pl->dir, run->name);
	csv = fopen(path, "r");
	if (!out || !csv || (rc = tr_atomic_open(&af, labels, err))) {
		rc = rc ? rc : tr_fail(err, TR_ERR_INPUT, "%s: cannot read", path);
		goto out_free;
	}
	for (i = 0; i < *w * *h; i++)
		out[i] = NAN;
	if (!fgets(line, sizeof(line), csv))
		line[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t x0 = (i % MIS_PER_ROW) * (side + 2) + 1, y0 = (i / MIS_PER_ROW) * (side + 10) + 9;
		size_t index;
		int t, pr;
		double prob;

		for (p = 0; p < side * side; p++)
			out[(y0 + p / side) * *w + x0 + p % side] = img[i * side * side + p];
		if (fgets(line, sizeof(line), csv) &&
		    sscanf(line, "%zu,%d,%d,%lf", &index, &t, &pr, &prob) == 4)
			fprintf(af.fp, "%zu,%zu,%d→%d\n", x0 + side / 2, y0 - 5, t, pr);
	}
	rc = tr_atomic_commit(&af, err);
	if (!rc)
		rc = tr_write_file_atomic(mosaic, out, *w * *h * sizeof(float), err);
out_free:
	if (csv)
		fclose(csv);
	free(out);
	free(img);
	return rc;
}

static void draw_misclassified(rp_plotter *pl, rp_run *run)
{
	char mosaic[RP_PATH_MAX], labels[RP_PATH_MAX], path[RP_PATH_MAX * 2];
	char lpath[RP_PATH_MAX * 2], out[RP_PATH_MAX], title[RP_PATH_MAX];
	rp_vars v = { .len = 0 };
	size_t w = 0, h = 0;
	tr_error err;

	rp_path(mosaic, sizeof(mosaic), "figures/%s/misclassified.f32", run->name);
	rp_path(labels, sizeof(labels), "figures/%s/misclassified-labels.csv", run->name);
	rp_path(path, sizeof(path), "%s/%s", pl->dir, mosaic);
	rp_path(lpath, sizeof(lpath), "%s/%s", pl->dir, labels);
	if (write_misclassified(pl, run, path, lpath, &w, &h, &err) != TR_OK) {
		pl->out->n_figures_failed++;
		return;
	}
	rp_fig_path(run, RP_FIG_MISCLASSIFIED, out, sizeof(out));
	snprintf(title, sizeof(title), "%s: the first %zu of %zu misclassified test digits "
		 "(true -> predicted class)", run->name, run->an.n_shown, run->an.n_wrong);
	rp_var_str(&v, "file", mosaic);
	rp_var_str(&v, "labels", labels);
	rp_var_num(&v, "w", (double)w);
	rp_var_num(&v, "h", (double)h);
	rp_var_str(&v, "out", out);
	rp_var_str(&v, "title", title);
	rp_gnuplot(pl, "misclassified.gp", &v, out, &run->fig[RP_FIG_MISCLASSIFIED]);
}

/* ---- all figures ---- */

int rp_draw_figures(rp_report *r, const tr_report_options *opts, tr_error *err)
{
	rp_plotter pl = { .dir = r->dir, .out = r->out };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char path[RP_PATH_MAX * 2];
	size_t i;
	int rc;

	if (!rp_plotter_open(&pl, opts)) {
		r->out->plots_missing = true;
		return TR_OK;
	}
	rp_path(path, sizeof(path), "%s/figures", r->dir);
	if ((rc = tr_mkdir_p(path, err)))
		return rc;
	rp_path(pl.log, sizeof(pl.log), "%s/figures/gnuplot.log", r->dir);
	unlink(pl.log);
	pl.max_jobs = cores < 1 ? 1 : cores > RP_MAX_GNUPLOTS ? RP_MAX_GNUPLOTS : (size_t)cores;
	for (i = 0; i < r->n_runs; i++) {
		rp_run *run = &r->runs[i];

		if (!run->drawable)
			continue;
		rp_path(path, sizeof(path), "%s/figures/%s", r->dir, run->name);
		if ((rc = tr_mkdir_p(path, err))) {
			rp_gnuplot_wait(&pl);
			return rc;
		}
		draw_curves(&pl, run);
		if (run->an.confusion_file)
			draw_confusion(&pl, run);
		if (run->an.misclassified_files)
			draw_misclassified(&pl, run);
		/* The weight pictures of a configuration's first seed only: the others look
		 * alike (their figures are in the tables), and each picture is 1-2 MB. */
		if (run->n_mats == 0 || r->configs[run->config].idx[0] != i)
			continue;
		draw_matrices(&pl, run);
		draw_tiles(&pl, run);
		draw_hist(&pl, run);
	}
	rp_draw_comparisons(&pl, r);
	rp_gnuplot_wait(&pl);
	if (r->out->n_figures_failed)
		snprintf(r->out->note, sizeof(r->out->note),
			 "%zu figure(s) could not be drawn: see figures/gnuplot.log",
			 r->out->n_figures_failed);
	return TR_OK;
}
