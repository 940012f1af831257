/*
 * analysis.c - the figures behind the lab's questions: smoothing, peak detection,
 * convergence statistics, sparsity, histograms and the W1 tile mosaic.
 */
#include "trainer/experiment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_POINTS 6
#define NO_LEARNING_ACC 0.2
#define SETTLED_TOL 0.01

void tr_peak_params_default(tr_peak_params *p)
{
	p->smooth_window = 0;
	p->hold_tol = 0.01;
	p->decline_margin = 0.02;
}

size_t tr_peak_default_window(size_t n)
{
	size_t w = n / 30;

	if (w < 3)
		w = 3;
	if (w > 11)
		w = 11;
	return w | 1;
}

const char *tr_curve_shape_name(enum tr_curve_shape s)
{
	switch (s) {
	case TR_SHAPE_NO_LEARNING: return "no-learning";
	case TR_SHAPE_PEAK_DECLINE: return "peak-then-decline";
	case TR_SHAPE_RISE_HOLD: return "rise-and-hold";
	case TR_SHAPE_STILL_RISING: return "still-rising";
	case TR_SHAPE_TOO_SHORT: break;
	}
	return "too-short";
}

void tr_smooth(const double *x, size_t n, size_t window, double *out)
{
	size_t half = window / 2, i, j;

	for (i = 0; i < n; i++) {
		size_t h = half;
		double sum = 0;

		if (h > i)
			h = i;
		if (h > n - 1 - i)
			h = n - 1 - i;
		for (j = i - h; j <= i + h; j++)
			sum += x[j];
		out[i] = sum / (double)(2 * h + 1);
	}
}

/* Rows before the first one with a non-finite loss or accuracy. */
static size_t finite_prefix(const tr_metric_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isfinite(rows[i].val_acc) || !isfinite(rows[i].val_loss) ||
		    !isfinite(rows[i].train_loss))
			break;
	return i;
}

size_t tr_last_third_start(size_t n)
{
	return n - (n + 2) / 3;
}

static void mean_std(const double *x, size_t n, double *mean, double *std)
{
	double s = 0, ss = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += x[i];
	*mean = n ? s / (double)n : NAN;
	for (i = 0; i < n; i++)
		ss += (x[i] - *mean) * (x[i] - *mean);
	*std = n ? sqrt(ss / (double)n) : NAN;
}

/* Validation accuracy and loss of rows[0..n) as two arrays (one allocation). */
static double *columns(const tr_metric_row *rows, size_t n, double **loss)
{
	double *acc = malloc(2 * (n ? n : 1) * sizeof(double));
	size_t i;

	if (!acc)
		return NULL;
	*loss = acc + n;
	for (i = 0; i < n; i++) {
		acc[i] = rows[i].val_acc;
		(*loss)[i] = rows[i].val_loss;
	}
	return acc;
}

/* Classify a curve from its smoothed accuracy sa[0..n) and the figures found so far. */
static enum tr_curve_shape classify(const double *sa, tr_peak_result *r,
				    const tr_peak_params *p)
{
	if (r->best_raw_acc < NO_LEARNING_ACC)
		return TR_SHAPE_NO_LEARNING;
	if (r->declined)
		return TR_SHAPE_PEAK_DECLINE;
	if (r->peak_index >= r->late_start && sa[r->late_start] < r->peak_acc - p->hold_tol)
		return TR_SHAPE_STILL_RISING;
	return TR_SHAPE_RISE_HOLD;
}

void tr_peak_detect(const tr_metric_row *rows, size_t n, const tr_peak_params *params,
		    tr_peak_result *out)
{
	tr_peak_params p;
	double *acc, *loss, *sa, *sl, std;
	size_t i, lo, hi;

	memset(out, 0, sizeof(*out));
	if (params)
		p = *params;
	else
		tr_peak_params_default(&p);
	n = finite_prefix(rows, n);
	out->n = n;
	out->best_raw_acc = -1;
	for (i = 0; i < n; i++) {
		if (rows[i].val_acc > out->best_raw_acc) {
			out->best_raw_acc = rows[i].val_acc;
			out->best_raw_iter = rows[i].iter;
		}
	}
	if (n < MIN_POINTS)
		return;
	out->window = p.smooth_window ? (p.smooth_window | 1) : tr_peak_default_window(n);
	acc = columns(rows, n, &loss);
	sa = malloc(2 * n * sizeof(double));
	if (!acc || !sa)
		goto out_free; /* out of memory: reported as too short, nothing else */
	sl = sa + n;
	tr_smooth(acc, n, out->window, sa);
	tr_smooth(loss, n, out->window, sl);

	for (i = 0; i < n; i++)
		if (sa[i] > sa[out->peak_index])
			out->peak_index = i;
	out->peak_iter = rows[out->peak_index].iter;
	out->peak_acc = sa[out->peak_index];
	for (lo = out->peak_index; lo > 0 && sa[lo - 1] >= out->peak_acc - p.hold_tol; lo--)
		;
	for (hi = out->peak_index; hi + 1 < n && sa[hi + 1] >= out->peak_acc - p.hold_tol; hi++)
		;
	out->hold_from_iter = rows[lo].iter;
	out->hold_to_iter = rows[hi].iter;

	out->late_start = tr_last_third_start(n);
	out->late_from_iter = rows[out->late_start].iter;
	mean_std(acc + out->late_start, n - out->late_start, &out->late_mean_acc, &std);
	out->drop = out->peak_acc - out->late_mean_acc;
	out->declined = out->peak_index < out->late_start && out->drop >= p.decline_margin;
	out->val_loss_at_peak = sl[out->peak_index];
	out->val_loss_end = sl[n - 1];
	out->loss_kept_falling = out->val_loss_end < out->val_loss_at_peak;
	out->shape = classify(sa, out, &p);

out_free:
	free(acc);
	free(sa);
}

void tr_convergence_compute(const tr_metric_row *rows, size_t n, size_t window,
			    tr_convergence *out)
{
	double *acc, *loss, *sa;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->settled_iter = -1;
	out->first_iter_acc90 = -1;
	n = finite_prefix(rows, n);
	out->n = n;
	out->final_val_acc = out->final_val_loss = out->final_train_loss = NAN;
	out->late_mean_acc = out->late_std_acc = out->late_mean_loss = out->late_std_loss = NAN;
	if (n == 0)
		return;
	out->final_val_acc = rows[n - 1].val_acc;
	out->final_val_loss = rows[n - 1].val_loss;
	out->final_train_loss = rows[n - 1].train_loss;
	out->late_start = tr_last_third_start(n);
	out->late_from_iter = rows[out->late_start].iter;
	for (i = 0; i < n; i++) {
		if (rows[i].val_acc >= 0.9) {
			out->first_iter_acc90 = rows[i].iter;
			break;
		}
	}
	acc = columns(rows, n, &loss);
	sa = malloc(n * sizeof(double));
	if (!acc || !sa)
		goto out_free;
	mean_std(acc + out->late_start, n - out->late_start, &out->late_mean_acc,
		 &out->late_std_acc);
	mean_std(loss + out->late_start, n - out->late_start, &out->late_mean_loss,
		 &out->late_std_loss);
	tr_smooth(acc, n, window ? (window | 1) : tr_peak_default_window(n), sa);
	for (i = n; i > 0 && fabs(sa[i - 1] - out->late_mean_acc) <= SETTLED_TOL; i--)
		;
	if (i < n)
		out->settled_iter = rows[i].iter;

out_free:
	free(acc);
	free(sa);
}

void tr_sparsity_compute(const float *w, size_t n, double rel_threshold, tr_sparsity *out)
{
	double sum_abs = 0, sum_sq = 0, thr;
	size_t i, small = 0, finite = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->min = INFINITY;
	out->max = -INFINITY;
	for (i = 0; i < n; i++) {
		double v = w[i];

		if (!isfinite(v)) {
			out->n_nonfinite++;
			continue;
		}
		finite++;
		if (v < out->min)
			out->min = v;
		if (v > out->max)
			out->max = v;
		if (fabs(v) > out->max_abs)
			out->max_abs = fabs(v);
		sum_abs += fabs(v);
		sum_sq += v * v;
	}
	if (finite == 0) {
		out->min = out->max = out->max_abs = NAN;
		out->frac_small = out->mean_abs = out->l2_norm = NAN;
		return;
	}
	thr = rel_threshold * out->max_abs;
	for (i = 0; i < n; i++)
		if (isfinite(w[i]) && fabs((double)w[i]) < thr)
			small++;
	/* All zero: every entry is "small" (below any positive threshold). */
	if (out->max_abs == 0)
		small = finite;
	out->frac_small = (double)small / (double)finite;
	out->mean_abs = sum_abs / (double)finite;
	out->l2_norm = sqrt(sum_sq);
}

void tr_histogram(const float *w, size_t n, double lo, double hi, size_t bins,
		  size_t *counts)
{
	double width = (hi - lo) / (double)bins;
	size_t i;

	memset(counts, 0, bins * sizeof(*counts));
	if (bins == 0 || !(hi >= lo))
		return;
	for (i = 0; i < n; i++) {
		double v = w[i];
		size_t b;

		if (!isfinite(v) || v < lo || v > hi)
			continue;
		b = width > 0 ? (size_t)((v - lo) / width) : 0;
		if (b >= bins)
			b = bins - 1;
		counts[b]++;
	}
}

void tr_weight_tiles(const float *w, size_t rows, size_t cols, size_t side, size_t tiles,
		     size_t per_row, float *out, size_t *mosaic_w, size_t *mosaic_h)
{
	size_t tile_rows, mw, mh, t, i;

	if (tiles > cols)
		tiles = cols;
	tile_rows = (tiles + per_row - 1) / per_row;
	mw = per_row * (side + 1) - 1;
	mh = tile_rows * (side + 1) - 1;
	*mosaic_w = mw;
	*mosaic_h = mh;
	for (i = 0; i < mw * mh; i++)
		out[i] = NAN;
	if (rows != side * side)
		return;
	for (t = 0; t < tiles; t++) {
		size_t x0 = (t % per_row) * (side + 1), y0 = (t / per_row) * (side + 1);
		double lo = INFINITY, hi = -INFINITY;

		for (i = 0; i < rows; i++) {
			double v = w[i * cols + t];

			if (isfinite(v)) {
				lo = v < lo ? v : lo;
				hi = v > hi ? v : hi;
			}
		}
		for (i = 0; i < rows; i++) {
			double v = w[i * cols + t];
			float px = NAN;

			if (isfinite(v))
				px = hi > lo ? (float)((v - lo) / (hi - lo)) : 0.5f;
			out[(y0 + i / side) * mw + x0 + i % side] = px;
		}
	}
}
