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
	size_t half, i, j;

	if (n == 0)
		return;
	if (window == 0)
		window = 1;
	if (window > n)
		window = n % 2 ? n : n - 1; /* odd, so that a centred window fits */
	half = window / 2;
	for (i = 0; i < n; i++) {
		/* window points around i, moved inwards at the ends (never fewer). */
		size_t lo = i > half ? i - half : 0;
		double sum = 0;

		if (lo + window > n)
			lo = n - window;
		for (j = lo; j < lo + window; j++)
			sum += x[j];
		out[i] = sum / (double)window;
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

/* Smoothed validation accuracy, loss and cross-entropy of rows[0..n) in one block
 * (3n doubles; caller frees), or NULL. */
static double *smoothed(const tr_metric_row *rows, size_t n, size_t window)
{
	double *raw = malloc(3 * n * sizeof(double)), *out = malloc(3 * n * sizeof(double));
	size_t i, k;

	if (!raw || !out) {
		free(raw);
		free(out);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		raw[i] = rows[i].val_acc;
		raw[n + i] = rows[i].val_loss;
		raw[2 * n + i] = rows[i].val_ce;
	}
	for (k = 0; k < 3; k++)
		tr_smooth(raw + k * n, n, window, out + k * n);
	free(raw);
	return out;
}

static void record_decline(const tr_metric_row *rows, const double *s, size_t n, size_t p,
			   size_t b, size_t j, tr_decline *d)
{
	const double *sa = s, *sl = s + n, *sc = s + 2 * n;

	d->from_iter = rows[p].iter;
	d->from_acc = sa[p];
	d->bottom_iter = rows[b].iter;
	d->bottom_acc = sa[b];
	d->drop = sa[p] - sa[b];
	d->val_loss_from = sl[p];
	d->val_loss_bottom = sl[b];
	d->val_loss_fell = sl[b] < sl[p];
	d->val_ce_from = sc[p];
	d->val_ce_bottom = sc[b];
	d->recovered = j < n;
	d->recovered_iter = j < n ? rows[j].iter : -1;
}

size_t tr_find_declines(const tr_metric_row *rows, size_t n, const tr_peak_params *params,
			tr_decline *out, size_t cap)
{
	tr_peak_params pp;
	size_t count = 0, p = 0, i, b, j;
	double *s;

	if (params)
		pp = *params;
	else
		tr_peak_params_default(&pp);
	n = finite_prefix(rows, n);
	if (n < MIN_POINTS)
		return 0;
	s = smoothed(rows, n, pp.smooth_window ? (pp.smooth_window | 1) :
		     tr_peak_default_window(n));
	if (!s)
		return 0;
	for (i = 1; i < n; i++) {
		if (s[i] > s[p]) {
			p = i;
			continue;
		}
		if (s[p] - s[i] < pp.decline_margin)
			continue;
		/* Fell from p: down to the bottom, until it is back within hold_tol. */
		for (b = j = i; j < n && s[j] < s[p] - pp.hold_tol; j++)
			if (s[j] < s[b])
				b = j;
		if (count < cap)
			record_decline(rows, s, n, p, b, j, &out[count]);
		count++;
		if (j >= n)
			break;
		p = i = j;
	}
	free(s);
	return count;
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

		for (i = 0; i < rows; i++)
			out[(y0 + i / side) * mw + x0 + i % side] = w[i * cols + t];
	}
}

double tr_weight_movement(const float *w, const float *w0, size_t n)
{
	double moved = 0, init = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isfinite(w[i]) || !isfinite(w0[i]))
			continue;
		moved += fabs((double)w[i] - (double)w0[i]);
		init += fabs((double)w0[i]);
	}
	return init > 0 ? moved / init : NAN;
}

void tr_stats_compute(const double *x, size_t n, tr_stats *out)
{
	double s = 0, ss = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->min = INFINITY;
	out->max = -INFINITY;
	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		out->n++;
		s += x[i];
		out->min = x[i] < out->min ? x[i] : out->min;
		out->max = x[i] > out->max ? x[i] : out->max;
	}
	if (out->n == 0) {
		out->mean = out->sd = out->min = out->max = NAN;
		return;
	}
	out->mean = s / (double)out->n;
	for (i = 0; i < n; i++)
		if (isfinite(x[i]))
			ss += (x[i] - out->mean) * (x[i] - out->mean);
	out->sd = out->n > 1 ? sqrt(ss / (double)(out->n - 1)) : 0.0;
}
