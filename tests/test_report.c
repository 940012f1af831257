/*
 * test_report.c - the experiment's figures on known inputs: presets, seeds and run
 * names, smoothing (whose ends are never one raw point), peak detection on synthetic
 * curves (a clear peak then decline, a monotone rise, a noisy plateau, a small dip),
 * declines anywhere in a run (a rise-dip-recovery curve), convergence statistics,
 * statistics over seeds, sparsity and movement from the initial values, histograms,
 * the W1 tile mosaic, shell quoting, the keep/resume/rerun decision, and whole reports
 * built from synthetic run directories (one of them diverged; one with three seeds per
 * configuration) without gnuplot.
 */
#include "testutil.h"
#include "trainer/experiment.h"
#include "trainer/fs.h"
#include "trainer/report.h"
#include "trainer/trainer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

/* ---- presets and names ---- */

static void test_presets(void)
{
	const tr_exp_preset *seed = tr_exp_preset_find("seed"), *full = tr_exp_preset_find("full");
	const tr_exp_preset *quick = tr_exp_preset_find("quick");
	tr_exp_run runs[TR_EXP_MAX_RUNS];
	tr_error err;
	char buf[64];
	size_t n;

	CHECK(seed && full && quick, "the three presets exist");
	CHECK(!tr_exp_preset_find("fast"), "no preset 'fast'");
	CHECK(tr_exp_preset_check("fast", &err) == TR_ERR_USAGE && strstr(err.msg, "quick"),
	      "an unknown preset is a usage error naming the presets: %s", err.msg);
	if (!seed || !full || !quick)
		return;
	CHECK(seed->iters == 30000 && seed->eval_every == 100, "seed: 30000 iterations, every 100");
	CHECK(quick->iters < seed->iters && quick->iters >= 1000, "quick is shorter (%ld)",
	      quick->iters);

	n = tr_exp_preset_runs(seed, 0, TR_EXP_LAMBDA, runs);
	CHECK(n == 3, "seed has 3 runs (%zu)", n);
	CHECK(n == 3 && !strcmp(runs[0].name, "lr0.0001-l2") && runs[0].l2 == 0.0005 &&
	      !strcmp(runs[1].name, "lr0.005-l2") && runs[1].lr == 0.005 &&
	      !strcmp(runs[2].name, "lr0.005-nol2") && runs[2].l2 == 0,
	      "seed's runs: %s %s %s", runs[0].name, runs[1].name, runs[2].name);
	n = tr_exp_preset_runs(full, 0, TR_EXP_LAMBDA, runs);
	CHECK(n == 5 && !strcmp(runs[3].name, "lr0.05-l2") && !strcmp(runs[4].name, "lr0.00005-l2"),
	      "full adds lr0.05-l2 and lr0.00005-l2 (%zu runs)", n);
	n = tr_exp_preset_runs(quick, 0, TR_EXP_LAMBDA, runs);
	CHECK(n == 3, "quick has seed's 3 runs");

	/* --lr X: every run at X, duplicates merged: the L2 pair at X remains. */
	n = tr_exp_preset_runs(full, 0.001, TR_EXP_LAMBDA, runs);
	CHECK(n == 2 && !strcmp(runs[0].name, "lr0.001-l2") && !strcmp(runs[1].name, "lr0.001-nol2"),
	      "--lr 0.001 leaves the L2 pair (%zu runs)", n);
	/* --l2 0: every run without L2. */
	n = tr_exp_preset_runs(seed, 0, 0, runs);
	CHECK(n == 2 && !strcmp(runs[0].name, "lr0.0001-nol2") && !strcmp(runs[1].name, "lr0.005-nol2"),
	      "--l2 0 leaves the runs without L2 (%zu runs)", n);
	n = tr_exp_preset_runs(seed, 0, 0.001, runs);
	CHECK(n == 3 && runs[1].l2 == 0.001 && runs[2].l2 == 0, "--l2 0.001 sets the L2 runs' lambda");

	tr_exp_format_decimal(0.00005, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.00005"), "0.00005 in plain decimal: %s", buf);
	tr_exp_format_decimal(30, buf, sizeof(buf));
	CHECK(!strcmp(buf, "30"), "30: %s", buf);
	tr_exp_format_decimal(0.1, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.1"), "0.1: %s", buf);
	tr_exp_run_name(0.05, 0.0005, buf, sizeof(buf));
	CHECK(!strcmp(buf, "lr0.05-l2"), "run name %s", buf);
}

/* ---- synthetic curves ---- */

/* n rows every 100 iterations with the given accuracy and loss functions of i. */
static tr_metric_row *curve(size_t n, double (*acc)(size_t, size_t), double (*loss)(size_t, size_t))
{
	tr_metric_row *rows = calloc(n, sizeof(*rows));
	size_t i;

	for (i = 0; i < n; i++) {
		rows[i].iter = (long)(i + 1) * 100;
		rows[i].val_acc = acc(i, n);
		rows[i].val_loss = loss(i, n);
		rows[i].train_acc = rows[i].val_acc;
		rows[i].train_loss = rows[i].val_loss;
	}
	return rows;
}

/* A deterministic noise in [-1, 1]. */
static double noise(size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u + 12345u;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (double)(x % 20001) / 10000.0 - 1.0;
}

static double falling_loss(size_t i, size_t n)
{
	return 20.0 * exp(-5.0 * (double)i / (double)n) + 0.5;
}

/* Up to 0.955 by point 60, held to 100, then down to 0.85 by the end (300 points). */
static double peak_decline(size_t i, size_t n)
{
	if (i < 60)
		return 0.1 + 0.855 * (double)i / 60.0;
	if (i < 100)
		return 0.955;
	return 0.955 - 0.105 * (double)(i - 100) / (double)(n - 100);
}

static double monotone_rise(size_t i, size_t n)
{
	return 0.95 * (1.0 - exp(-3.0 * (double)(i + 1) / (double)n));
}

static double noisy_plateau(size_t i, size_t n)
{
	return i < 10 ? 0.1 + 0.085 * (double)i : 0.95 + 0.01 * noise(i);
}

/* A plateau with a late dip of 0.01: below the decline margin. */
static double small_dip(size_t i, size_t n)
{
	return i < 10 ? 0.1 + 0.085 * (double)i : i < n / 2 ? 0.95 : 0.94;
}

static double flat_chance(size_t i, size_t n)
{
	return 0.1 + 0.002 * noise(i);
}

/* Up to 0.934 by point 79, down to 0.845 at 166 (while the loss keeps falling), back
 * up to 0.955 by the end: the lab's run with L2 at lr 0.005 as the issue describes it. */
static double rise_dip_recover(size_t i, size_t n)
{
	if (i < 79)
		return 0.1 + (0.934 - 0.1) * (double)i / 79.0;
	if (i < 166)
		return 0.934 - (0.934 - 0.845) * (double)(i - 79) / 87.0;
	return 0.845 + (0.955 - 0.845) * (double)(i - 166) / (double)(n - 1 - 166);
}

/* A steady rise whose last raw point jumps up by 0.04. */
static double rise_with_last_spike(size_t i, size_t n)
{
	return 0.5 + 0.4 * (double)i / (double)n + (i == n - 1 ? 0.04 : 0.0);
}

static double rising_loss(size_t i, size_t n)
{
	return 1.0 + (double)i / (double)n;
}

static void test_smooth(void)
{
	double x[5] = { 1, 2, 6, 2, 1 }, y[5];
	tr_metric_row *rows;
	tr_peak_result p;

	tr_smooth(x, 5, 3, y);
	CHECK(NEAR(y[0], 3, 1e-12) && NEAR(y[1], 3, 1e-12) && NEAR(y[2], 10.0 / 3, 1e-12) &&
	      NEAR(y[3], 3, 1e-12) && NEAR(y[4], 3, 1e-12), "3-point moving average, the ends "
	      "averaged over 3 points too: %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4]);
	tr_smooth(x, 5, 5, y);
	CHECK(NEAR(y[0], 12.0 / 5, 1e-12) && NEAR(y[2], 12.0 / 5, 1e-12) &&
	      NEAR(y[4], 12.0 / 5, 1e-12), "a 5-point window keeps its 5 points at the ends");
	tr_smooth(x, 2, 5, y);
	CHECK(y[0] == 1 && y[1] == 2, "a window longer than the curve shrinks to what fits (odd)");
	CHECK(tr_peak_default_window(300) == 11 && tr_peak_default_window(40) == 3 &&
	      tr_peak_default_window(150) == 5, "default windows: %zu %zu %zu",
	      tr_peak_default_window(300), tr_peak_default_window(40), tr_peak_default_window(150));
	CHECK(tr_last_third_start(300) == 200 && tr_last_third_start(10) == 6 &&
	      tr_last_third_start(9) == 6, "last third starts at %zu, %zu, %zu",
	      tr_last_third_start(300), tr_last_third_start(10), tr_last_third_start(9));

	/* A still-rising run: its smoothed peak is the mean of its last 11 points, not its
	 * raw last point (which the old shrinking window returned). */
	rows = curve(300, rise_with_last_spike, falling_loss);
	tr_peak_detect(rows, 300, NULL, &p);
	CHECK(p.peak_acc < rows[299].val_acc - 0.03, "the smoothed peak %.4f is not the raw last "
	      "point %.4f", p.peak_acc, rows[299].val_acc);
	CHECK(NEAR(p.peak_acc, (0.5 * 11 + 0.4 * (289 + 290 + 291 + 292 + 293 + 294 + 295 +
						296 + 297 + 298 + 299) / 300.0 + 0.04) / 11,
		   1e-9), "it is the mean of the last 11 points: %.6f", p.peak_acc);
	CHECK(p.shape == TR_SHAPE_STILL_RISING, "still rising (%s)", tr_curve_shape_name(p.shape));
	free(rows);
}

static void test_declines(void)
{
	tr_decline d[TR_MAX_DECLINES];
	tr_metric_row *rows;
	size_t n;

	rows = curve(300, rise_dip_recover, falling_loss);
	n = tr_find_declines(rows, 300, NULL, d, TR_MAX_DECLINES);
	CHECK(n == 1, "a rise, a dip and a recovery: one decline (%zu)", n);
	if (n >= 1) {
		/* (the smoothed apex lies a little right of the raw one: the fall is slower) */
		CHECK(d[0].from_iter >= 7800 && d[0].from_iter <= 8600, "from the peak at %ld",
		      d[0].from_iter);
		CHECK(NEAR(d[0].from_acc, 0.934, 0.006), "of %.4f", d[0].from_acc);
		CHECK(d[0].bottom_iter >= 16400 && d[0].bottom_iter <= 16800, "to the bottom at %ld",
		      d[0].bottom_iter);
		CHECK(NEAR(d[0].drop, 0.934 - 0.845, 0.01), "a drop of %.4f", d[0].drop);
		CHECK(d[0].val_loss_fell && d[0].val_loss_bottom < d[0].val_loss_from,
		      "while the validation loss fell (%.4g to %.4g)", d[0].val_loss_from,
		      d[0].val_loss_bottom);
		CHECK(d[0].recovered && d[0].recovered_iter > d[0].bottom_iter &&
		      d[0].recovered_iter < 30000, "recovered: true, at %ld", d[0].recovered_iter);
	}
	free(rows);

	rows = curve(300, peak_decline, rising_loss);
	n = tr_find_declines(rows, 300, NULL, d, TR_MAX_DECLINES);
	CHECK(n == 1 && !d[0].recovered && d[0].recovered_iter == -1 && !d[0].val_loss_fell,
	      "a decline to the end, the loss rising: not recovered, the loss did not fall");
	free(rows);

	rows = curve(300, monotone_rise, falling_loss);
	CHECK(tr_find_declines(rows, 300, NULL, d, TR_MAX_DECLINES) == 0, "a monotone rise: none");
	free(rows);
	rows = curve(300, small_dip, falling_loss);
	CHECK(tr_find_declines(rows, 300, NULL, d, TR_MAX_DECLINES) == 0,
	      "a dip of 0.01 is below the margin");
	free(rows);
}

static void test_stats(void)
{
	double x[5] = { 0.9, NAN, 0.8, 1.0, INFINITY };
	float w0[4] = { 1, -1, 2, -2 }, w[4] = { 1.1f, -0.9f, 2, -2.3f };
	tr_stats s;

	tr_stats_compute(x, 5, &s);
	CHECK(s.n == 3 && NEAR(s.mean, 0.9, 1e-12) && NEAR(s.sd, 0.1, 1e-12) && s.min == 0.8 &&
	      s.max == 1.0, "mean, sample sd, range of the finite values: %zu %g %g", s.n, s.mean,
	      s.sd);
	tr_stats_compute(x, 1, &s);
	CHECK(s.n == 1 && s.sd == 0, "one value: sd 0");
	tr_stats_compute(x + 1, 1, &s);
	CHECK(s.n == 0 && isnan(s.mean), "none: NaN");
	CHECK(NEAR(tr_weight_movement(w, w0, 4), 0.5 / 6, 1e-6), "moved %.6f of the initial "
	      "mean |w0|", tr_weight_movement(w, w0, 4));
}

static void test_peak(void)
{
	tr_metric_row *rows;
	tr_peak_result p;

	rows = curve(300, peak_decline, falling_loss);
	tr_peak_detect(rows, 300, NULL, &p);
	CHECK(p.shape == TR_SHAPE_PEAK_DECLINE && p.declined, "peak then decline found (%s)",
	      tr_curve_shape_name(p.shape));
	CHECK(p.peak_iter >= 6000 && p.peak_iter <= 10000, "peak inside the plateau: %ld", p.peak_iter);
	CHECK(NEAR(p.peak_acc, 0.955, 1e-9), "peak value 0.955: %.6f", p.peak_acc);
	CHECK(p.hold_from_iter <= 6500 && p.hold_from_iter >= 5000 && p.hold_to_iter >= 10000 &&
	      p.hold_to_iter <= 13000, "held from %ld to %ld", p.hold_from_iter, p.hold_to_iter);
	/* The last third is points 200..299: 0.955 - 0.105 * (100..199)/200, mean at 149.5. */
	CHECK(NEAR(p.late_mean_acc, 0.955 - 0.105 * 149.5 / 200, 1e-9), "late mean %.6f",
	      p.late_mean_acc);
	CHECK(NEAR(p.drop, 0.105 * 149.5 / 200, 1e-9), "drop %.6f", p.drop);
	CHECK(p.late_from_iter == 20100, "last third from iteration %ld", p.late_from_iter);
	CHECK(p.loss_kept_falling && p.val_loss_end < p.val_loss_at_peak,
	      "the loss kept falling (%g -> %g)", p.val_loss_at_peak, p.val_loss_end);
	free(rows);

	rows = curve(300, monotone_rise, falling_loss);
	tr_peak_detect(rows, 300, NULL, &p);
	CHECK(!p.declined && p.shape != TR_SHAPE_PEAK_DECLINE, "a monotone rise has no decline (%s)",
	      tr_curve_shape_name(p.shape));
	CHECK(p.peak_iter >= 29000, "its peak is at the end: %ld", p.peak_iter);
	CHECK(p.shape == TR_SHAPE_STILL_RISING, "and it is still rising (%s)",
	      tr_curve_shape_name(p.shape));
	free(rows);

	rows = curve(300, noisy_plateau, falling_loss);
	tr_peak_detect(rows, 300, NULL, &p);
	CHECK(p.shape == TR_SHAPE_RISE_HOLD, "a noisy plateau rises and holds (%s, drop %.4f)",
	      tr_curve_shape_name(p.shape), p.drop);
	CHECK(p.drop < 0.02 && p.best_raw_acc <= 0.96 + 1e-12, "its drop %.4f is below the margin",
	      p.drop);
	free(rows);

	rows = curve(300, small_dip, falling_loss);
	tr_peak_detect(rows, 300, NULL, &p);
	CHECK(!p.declined && NEAR(p.drop, 0.01, 1e-9), "a dip of 0.01 is not a decline (drop %.4f)",
	      p.drop);
	{
		tr_peak_params strict;

		tr_peak_params_default(&strict);
		strict.decline_margin = 0.005;
		tr_peak_detect(rows, 300, &strict, &p);
		CHECK(p.declined, "... but is one with a margin of 0.005");
	}
	free(rows);

	rows = curve(100, flat_chance, falling_loss);
	tr_peak_detect(rows, 100, NULL, &p);
	CHECK(p.shape == TR_SHAPE_NO_LEARNING, "accuracy at chance: no learning (%s)",
	      tr_curve_shape_name(p.shape));
	free(rows);

	/* A diverged run: only the finite prefix counts. */
	rows = curve(300, peak_decline, falling_loss);
	rows[4].val_loss = NAN;
	tr_peak_detect(rows, 300, NULL, &p);
	CHECK(p.n == 4 && p.shape == TR_SHAPE_TOO_SHORT, "4 finite points are too few (%zu, %s)",
	      p.n, tr_curve_shape_name(p.shape));
	CHECK(p.best_raw_iter == 400 && NEAR(p.best_raw_acc, 0.1 + 0.855 * 3 / 60.0, 1e-12),
	      "... but the best of them is known (%.4f at %ld)", p.best_raw_acc, p.best_raw_iter);
	free(rows);
}

static void test_convergence(void)
{
	static const double acc[9] = { 0.1, 0.5, 0.8, 0.85, 0.9, 0.91, 0.90, 0.92, 0.94 };
	static const double loss[9] = { 9, 5, 3, 2, 1.5, 1.2, 1.0, 1.1, 0.9 };
	tr_metric_row rows[9];
	tr_convergence c;
	size_t i;

	memset(rows, 0, sizeof(rows));
	for (i = 0; i < 9; i++) {
		rows[i].iter = (long)(i + 1) * 50;
		rows[i].val_acc = acc[i];
		rows[i].val_loss = loss[i];
		rows[i].train_loss = loss[i] * 1.1;
	}
	tr_convergence_compute(rows, 9, 3, &c);
	CHECK(c.n == 9 && c.late_start == 6 && c.late_from_iter == 350, "last third from %zu (%ld)",
	      c.late_start, c.late_from_iter);
	CHECK(NEAR(c.late_mean_acc, 0.92, 1e-12), "mean val acc of the last third %.6f", c.late_mean_acc);
	CHECK(NEAR(c.late_std_acc, sqrt(0.0008 / 3), 1e-12), "population std %.6f", c.late_std_acc);
	CHECK(NEAR(c.late_mean_loss, 1.0, 1e-12), "mean val loss %.6f", c.late_mean_loss);
	CHECK(NEAR(c.late_std_loss, sqrt(0.02 / 3), 1e-12), "std val loss %.6f", c.late_std_loss);
	CHECK(c.final_val_acc == 0.94 && c.final_val_loss == 0.9 && NEAR(c.final_train_loss, 0.99, 1e-12),
	      "final values");
	CHECK(c.first_iter_acc90 == 250, "first >= 0.9 at %ld", c.first_iter_acc90);
	/* Smoothed (3, the ends over 3 points too): 0.8867 (i=4), 0.9033, 0.91, 0.92, 0.92:
	 * within 0.01 of 0.92 from i=6 on. */
	CHECK(c.settled_iter == 350, "settled from iteration %ld", c.settled_iter);
	/* A last point of 0.99: mean 0.9367; smoothed 0.91 (i=6), 0.9367, 0.9367. */
	rows[8].val_acc = 0.99;
	tr_convergence_compute(rows, 9, 3, &c);
	CHECK(c.settled_iter == 400, "settled from iteration %ld", c.settled_iter);
	/* Last third 0.90, 0.92, 0.915: mean 0.911667; smoothed from i=5: 0.9033, 0.91,
	 * 0.9117, 0.915 are within 0.01, i=4 (0.8867) is not. */
	rows[8].val_acc = 0.915;
	tr_convergence_compute(rows, 9, 3, &c);
	CHECK(c.settled_iter == 300, "settled from iteration %ld", c.settled_iter);
}

static void test_sparsity(void)
{
	static const float w[8] = { 0.0f, 0.005f, -0.5f, 1.0f, -2.0f, 0.2f, 0.019f, -0.01f };
	float bad[3] = { 1.0f, NAN, -1.0f };
	size_t counts[4];
	tr_sparsity s;

	tr_sparsity_compute(w, 8, 0.01, &s);
	/* max |w| = 2: the threshold is 0.02; 0, 0.005, 0.019, -0.01 are below. */
	CHECK(s.frac_small == 0.5, "near-zero fraction %.4f", s.frac_small);
	CHECK(s.max_abs == 2.0 && s.min == -2.0 && s.max == 1.0, "extremes");
	CHECK(NEAR(s.mean_abs, (0.005 + 0.5 + 1 + 2 + 0.2 + 0.019 + 0.01) / 8, 1e-7), "mean |w| %.6f",
	      s.mean_abs);
	CHECK(NEAR(s.l2_norm, sqrt(0.000025 + 0.25 + 1 + 4 + 0.04 + 0.000361 + 0.0001), 1e-6),
	      "L2 norm %.6f", s.l2_norm);
	tr_sparsity_compute(bad, 3, 0.01, &s);
	CHECK(s.n_nonfinite == 1 && s.frac_small == 0 && s.mean_abs == 1.0, "NaN is left out");

	tr_histogram(w, 8, -2.0, 2.0, 4, counts);
	/* bins [-2,-1) [-1,0) [0,1) [1,2]: -2 | -0.5, -0.01 | 0, .005, .2, .019 | 1 */
	CHECK(counts[0] == 1 && counts[1] == 2 && counts[2] == 4 && counts[3] == 1,
	      "histogram %zu %zu %zu %zu", counts[0], counts[1], counts[2], counts[3]);
}

static void test_tiles(void)
{
	size_t rows = 16, cols = 3, i, j, mw, mh;
	float w[48], out[(2 * 5 - 1) * (2 * 5 - 1)];

	/* 4x4 tiles; column j holds j*100 + (0..15). */
	for (i = 0; i < rows; i++)
		for (j = 0; j < cols; j++)
			w[i * cols + j] = (float)(j * 100 + i);
	tr_weight_tiles(w, rows, cols, 4, 64, 2, out, &mw, &mh);
	CHECK(mw == 9 && mh == 9, "mosaic of 2x2 tiles of 4x4 with gaps: %zux%zu", mw, mh);
	CHECK(out[0] == 0.0f && out[3 * 9 + 3] == 15.0f, "tile 0 holds the weights themselves "
	      "(one scale for all tiles)");
	CHECK(isnan(out[4]) && isnan(out[4 * 9]), "NaN gaps between tiles");
	CHECK(out[5] == 100.0f && out[5 + 1] == 101.0f, "tile 1 starts right of the gap");
	CHECK(out[5 * 9] == 200.0f && out[8 * 9 + 3] == 215.0f, "tile 2 below");
	CHECK(isnan(out[5 * 9 + 5]), "no fourth tile: left blank");
}

static void test_shell_quote(void)
{
	char buf[128];
	tr_error err;

	CHECK(tr_shell_quote("--lr", buf, sizeof(buf), &err) == 0 && !strcmp(buf, "--lr"), "plain");
	CHECK(tr_shell_quote("/a/b-c_d.e,f:g=h+i@j%k", buf, sizeof(buf), &err) == 0 &&
	      !strcmp(buf, "/a/b-c_d.e,f:g=h+i@j%k"), "safe characters stay: %s", buf);
	CHECK(tr_shell_quote("a b", buf, sizeof(buf), &err) == 0 && !strcmp(buf, "'a b'"), "%s", buf);
	CHECK(tr_shell_quote("it's", buf, sizeof(buf), &err) == 0 && !strcmp(buf, "'it'\\''s'"),
	      "%s", buf);
	CHECK(tr_shell_quote("", buf, sizeof(buf), &err) == 0 && !strcmp(buf, "''"), "empty: %s", buf);
	CHECK(tr_shell_quote("$(rm -rf ~)", buf, sizeof(buf), &err) == 0 &&
	      !strcmp(buf, "'$(rm -rf ~)'"), "%s", buf);
	CHECK(tr_shell_quote("0123456789", buf, 5, &err) == TR_ERR_USAGE, "too long");
}

static void test_decide(void)
{
	tr_exp_run_state st;

	memset(&st, 0, sizeof(st));
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_NEW, "nothing there: new");
	CHECK(tr_exp_decide(&st, 100, true) == TR_EXP_NEW, "nothing there, --force: new");
	st.exists = true;
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_RERUN, "leftovers only: rerun");
	st.has_summary = true;
	snprintf(st.status, sizeof(st.status), "completed");
	st.iterations_done = 100;
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_KEEP, "completed: keep");
	CHECK(tr_exp_decide(&st, 100, true) == TR_EXP_RERUN, "completed, --force: rerun");
	CHECK(tr_exp_decide(&st, 200, false) == TR_EXP_CONFLICT, "completed, more wanted, no checkpoint");
	st.has_checkpoint = true;
	CHECK(tr_exp_decide(&st, 200, false) == TR_EXP_RESUME, "completed, more wanted: continue");
	CHECK(tr_exp_decide(&st, 50, false) == TR_EXP_CONFLICT, "completed with more than wanted");
	snprintf(st.status, sizeof(st.status), "interrupted");
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_RESUME, "interrupted with a checkpoint: resume");
	snprintf(st.mismatch, sizeof(st.mismatch), "lr 0.1, here 0.005");
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_CONFLICT, "other settings: conflict");
	st.mismatch[0] = '\0';
	snprintf(st.status, sizeof(st.status), "diverged");
	st.diverged_at = 300;
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_KEEP, "diverged: a result, kept");
	snprintf(st.status, sizeof(st.status), "failed");
	st.diverged_at = 0;
	st.has_checkpoint = false;
	CHECK(tr_exp_decide(&st, 100, false) == TR_EXP_RERUN, "failed without checkpoint: rerun");
}

/* ---- a whole report from synthetic run directories ---- */

static void write_summary(const char *dir, const char *status, double lr, double l2,
			  long iters, double test_acc, long diverged_at, long seed,
			  double best_test_acc)
{
	cJSON *root = cJSON_CreateObject(), *cfg = cJSON_AddObjectToObject(root, "config");
	cJSON *layers = cJSON_AddArrayToObject(cfg, "layers");
	char path[1200];
	tr_error err;

	cJSON_AddItemToArray(layers, cJSON_CreateNumber(784));
	cJSON_AddItemToArray(layers, cJSON_CreateNumber(10));
	cJSON_AddStringToObject(cfg, "init", "uniform01");
	cJSON_AddNumberToObject(cfg, "seed", (double)seed);
	cJSON_AddNumberToObject(cfg, "lr", lr);
	cJSON_AddNumberToObject(cfg, "l2", l2);
	cJSON_AddStringToObject(cfg, "l2_scope", "all");
	cJSON_AddNumberToObject(cfg, "batch", 64);
	cJSON_AddNumberToObject(cfg, "iters", (double)iters);
	cJSON_AddNumberToObject(cfg, "eval_every", 100);
	cJSON_AddBoolToObject(cfg, "shuffle", true);
	cJSON_AddNumberToObject(cfg, "val_size", 5000);
	cJSON_AddStringToObject(root, "status", status);
	cJSON_AddStringToObject(root, "backend", "cpu-ref");
	cJSON_AddStringToObject(root, "device_name", "test");
	cJSON_AddNumberToObject(root, "iterations_done", diverged_at ? (double)diverged_at : (double)iters);
	if (test_acc >= 0)
		cJSON_AddNumberToObject(root, "test_acc", test_acc);
	else
		cJSON_AddNullToObject(root, "test_acc");
	cJSON_AddNumberToObject(root, "wall_seconds", 12.5);
	cJSON_AddBoolToObject(root, "diverged", diverged_at != 0);
	cJSON_AddNumberToObject(root, "diverged_at", (double)diverged_at);
	if (best_test_acc >= 0) {
		cJSON *best = cJSON_AddObjectToObject(root, "best");

		cJSON_AddNumberToObject(best, "iter", 5000);
		cJSON_AddNumberToObject(best, "val_acc", 0.96);
		cJSON_AddNumberToObject(best, "test_acc", best_test_acc);
	}
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	CHECK(tr_json_write(path, root, &err) == 0, "write %s: %s", path, err.msg);
	cJSON_Delete(root);
}

/* One run directory: summary, metrics from acc(), and (unless diverged) weights with a
 * given fraction of exact zeros in W1. */
static void make_run_seed(const char *exp, const char *name, const char *status, double lr,
			  double l2, double (*acc)(size_t, size_t), double test_acc, double zeros,
			  long seed, double best_test_acc)
{
	char dir[1100], path[1200];
	size_t shape[2] = { 784, 10 }, i;
	tr_metric_row *rows = curve(300, acc, falling_loss);
	long diverged_at = strcmp(status, "diverged") ? 0 : 3000;
	tr_error err;

	snprintf(dir, sizeof(dir), "%s/%s", exp, name);
	CHECK(tr_mkdir_p(dir, &err) == 0, "mkdir %s", dir);
	if (diverged_at)
		for (i = 29; i < 300; i++)
			rows[i].val_loss = rows[i].train_loss = NAN;
	snprintf(path, sizeof(path), "%s/metrics.csv", dir);
	CHECK(tr_metrics_write(path, rows, diverged_at ? 30 : 300, &err) == 0, "metrics: %s", err.msg);
	write_summary(dir, status, lr, l2, 30000, test_acc, diverged_at, seed, best_test_acc);
	if (!diverged_at) {
		float *w = malloc(784 * 10 * sizeof(float)), b[10] = { 0 };

		for (i = 0; i < 7840; i++)
			w[i] = (double)i / 7840 < zeros ? 0.0f : 0.5f + 0.4f * (float)noise(i);
		snprintf(path, sizeof(path), "%s/w1.npy", dir);
		CHECK(tr_npy_write(path, w, shape, 2, &err) == 0, "w1: %s", err.msg);
		snprintf(path, sizeof(path), "%s/b1.npy", dir);
		CHECK(tr_npy_write(path, b, &shape[1], 1, &err) == 0, "b1: %s", err.msg);
		free(w);
	}
	free(rows);
}

static void make_run(const char *exp, const char *name, const char *status, double lr,
		     double l2, double (*acc)(size_t, size_t), double test_acc, double zeros)
{
	make_run_seed(exp, name, status, lr, l2, acc, test_acc, zeros, 1, -1);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* Question 1 when every run declines: "yes: ..." and no empty "No:". */
static void test_report_all_decline(void)
{
	const char *exp = test_tmpdir("report-all");
	tr_report_options opts = { .plots_dir = TRAINER_SOURCE_DIR "/plots",
				   .gnuplot = "/nonexistent/gnuplot" };
	tr_report_outcome out;
	char path[1200], line[1024] = "", *md, *answer;
	size_t len = 0;
	tr_error err;

	make_run(exp, "lr0.005-l2", "completed", 0.005, 0.0005, peak_decline, 0.95, 0.4);
	make_run(exp, "lr0.005-nol2", "completed", 0.005, 0, peak_decline, 0.90, 0.1);
	CHECK(tr_report_build(exp, &opts, &out, &err) == 0, "report built: %s", err.msg);
	snprintf(path, sizeof(path), "%s/report.md", exp);
	md = slurp(path);
	answer = md ? strstr(md, "**Answer:** yes: ") : NULL;
	if (answer) {
		len = strcspn(answer, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)len, answer);
		len = strlen(line);
	}
	CHECK(len > 0 && line[len - 1] == '.' && !strstr(line, "No:"),
	      "every run declines: question 1's answer has no \"No:\" and ends with a full stop "
	      "(%s)", line);
	free(md);
}

static void test_report_without_gnuplot(void)
{
	const char *exp = test_tmpdir("report");
	tr_report_options opts = { .plots_dir = TRAINER_SOURCE_DIR "/plots",
				   .gnuplot = "/nonexistent/gnuplot" };
	tr_report_outcome out;
	tr_exp_run_state st;
	tr_train_config want;
	char path[1200], *md, *json;
	tr_error err;
	cJSON *doc;
	int rc;

	make_run(exp, "lr0.005-l2", "completed", 0.005, 0.0005, noisy_plateau, 0.957, 0.4);
	make_run(exp, "lr0.005-nol2", "completed", 0.005, 0, peak_decline, 0.897, 0.1);
	make_run(exp, "lr0.0001-l2", "completed", 0.0001, 0.0005, monotone_rise, 0.93, 0.3);
	make_run(exp, "lr0.05-l2", "diverged", 0.05, 0.0005, peak_decline, -1, 0);
	snprintf(path, sizeof(path), "%s/not-a-run", exp);
	tr_mkdir_p(path, &err);

	rc = tr_report_build(exp, &opts, &out, &err);
	CHECK(rc == 0, "report built: %s", err.msg);
	CHECK(out.n_runs == 4 && out.n_completed == 3 && out.n_diverged == 1, "4 runs, 1 diverged "
	      "(%zu, %zu, %zu)", out.n_runs, out.n_completed, out.n_diverged);
	CHECK(out.plots_missing && strstr(out.note, "gnuplot"), "no gnuplot: said so (%s)", out.note);
	snprintf(path, sizeof(path), "%s/report.md", exp);
	md = slurp(path);
	CHECK(md != NULL, "report.md written");
	if (md) {
		CHECK(strstr(md, "| lr0.05-l2 |") && strstr(md, "**diverged** at iteration 3000"),
		      "the diverged run is in the table as diverged");
		CHECK(strstr(md, "- **lr0.005-nol2**: **yes**: 1 decline: 0.955 at iteration"),
		      "question 1: the decline is found");
		CHECK(strstr(md, "**Answer:** yes: lr0.005-nol2 (lr 0.005, without L2). No: "),
		      "question 1: the answer names the run with a decline, then the others");
		CHECK(strstr(md, "**0.9570 with L2**") && strstr(md, "**0.8970 without**") &&
		      strstr(md, "**+0.0600**"), "question 3: +0.06 with L2");
		CHECK(strstr(md, "| W1 | 0.4000 / 0.1000 |"), "question 4: near-zero fractions");
		CHECK(strstr(md, "gnuplot was not found"), "the note is in the report");
		CHECK(!strstr(md, "!["), "no image links without figures");
	}
	snprintf(path, sizeof(path), "%s/report.json", exp);
	json = slurp(path);
	doc = json ? cJSON_Parse(json) : NULL;
	CHECK(doc != NULL, "report.json parses");
	if (doc) {
		cJSON *runs = cJSON_GetObjectItem(doc, "runs");
		cJSON *pairs = cJSON_GetObjectItem(doc, "l2_comparisons");
		cJSON *p0 = cJSON_GetArrayItem(pairs, 0);

		CHECK(cJSON_GetArraySize(runs) == 4, "4 runs in report.json");
		CHECK(cJSON_GetArraySize(pairs) == 1, "one L2 pair");
		CHECK(p0 && NEAR(cJSON_GetObjectItem(p0, "test_acc_change")->valuedouble, 0.06, 1e-9),
		      "the test accuracy change is in report.json");
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "lr_comparisons")) == 1,
		      "one learning-rate comparison (0.0001, 0.005, 0.05 with L2)");
		cJSON_Delete(doc);
	}
	free(md);
	free(json);

	/* The state of a run directory, as `trainer experiment` sees it again. */
	tr_train_config_default(&want);
	tr_layout_parse("784,10", &want.layout, &err);
	want.lr = 0.005;
	want.l2 = 0;
	want.eval_every = 100;
	snprintf(path, sizeof(path), "%s/lr0.005-nol2", exp);
	CHECK(tr_exp_run_state_read(path, &want, 5000, &st, &err) == 0, "state read: %s", err.msg);
	CHECK(st.exists && st.has_summary && !strcmp(st.status, "completed") && !st.mismatch[0] &&
	      st.iterations_done == 30000, "completed, same settings (%s)", st.mismatch);
	want.seed = 2;
	tr_exp_run_state_read(path, &want, 5000, &st, &err);
	CHECK(strstr(st.mismatch, "seed 1, here 2") != NULL, "other seed: %s", st.mismatch);
	snprintf(path, sizeof(path), "%s/nowhere", exp);
	CHECK(tr_exp_run_state_read(path, &want, 5000, &st, &err) == 0 && !st.exists,
	      "a missing directory is no error");

	snprintf(path, sizeof(path), "%s/not-a-run", exp);
	CHECK(tr_report_build(path, &opts, &out, &err) == TR_ERR_INPUT && strstr(err.msg, "no run"),
	      "a directory without runs: %s", err.msg);
}

/* Three seeds per configuration: the report aggregates them. */
static void test_report_with_seeds(void)
{
	const char *exp = test_tmpdir("report-seeds");
	tr_report_options opts = { .plots_dir = NULL };
	static const double with[3] = { 0.95, 0.96, 0.94 }, without[3] = { 0.90, 0.85, 0.89 };
	tr_report_outcome out;
	char path[1200], name[64], *md, *json;
	tr_error err;
	cJSON *doc;
	long k;

	for (k = 1; k <= 3; k++) {
		snprintf(name, sizeof(name), "lr0.005-l2-s%ld", k);
		make_run_seed(exp, name, "completed", 0.005, 0.0005, noisy_plateau, with[k - 1],
			      0.4, k, with[k - 1] + 0.005);
		snprintf(name, sizeof(name), "lr0.005-nol2-s%ld", k);
		make_run_seed(exp, name, "completed", 0.005, 0, rise_dip_recover, without[k - 1],
			      0.1, k, without[k - 1] + 0.03);
	}
	CHECK(tr_report_build(exp, &opts, &out, &err) == 0, "report built: %s", err.msg);
	snprintf(path, sizeof(path), "%s/report.md", exp);
	md = slurp(path);
	CHECK(md != NULL, "report.md written");
	if (md) {
		CHECK(strstr(md, "| lr0.005-l2 | 0.005 | 0.0005 | 3 | 0.9500 ± 0.0100 (0.9400-0.9600) |"),
		      "the configurations' table: mean ± sd (range) over 3 seeds");
		CHECK(strstr(md, "**lr0.005-nol2**: 3 of 3 seeds: yes"), "question 1: 3 of 3 seeds");
		CHECK(strstr(md, "recovered by"), "question 1 names the recovery");
		CHECK(strstr(md, "with L2 higher in **3 of 3 seeds**"), "question 3: seed by seed");
		CHECK(strstr(md, "an improvement beyond the spread of the seeds"),
		      "question 3: judged against the spread of the seeds");
		CHECK(strstr(md, "parameters at the best validation accuracy (early stopping): "
			     "**0.9550 ± 0.0100 with L2** vs **0.9100 ± 0.0265 without**"),
		      "question 3: the best parameters beside the final ones");
		CHECK(strstr(md, "](lr0.005-nol2-s2/metrics.csv)") &&
		      strstr(md, "](lr0.005-nol2-s2/summary.json)"), "links to each run's files");
	}
	snprintf(path, sizeof(path), "%s/report.json", exp);
	json = slurp(path);
	doc = json ? cJSON_Parse(json) : NULL;
	CHECK(doc != NULL, "report.json parses");
	if (doc) {
		cJSON *cfgs = cJSON_GetObjectItem(doc, "configs"), *c0 = cJSON_GetArrayItem(cfgs, 0);
		cJSON *c1 = cJSON_GetArrayItem(cfgs, 1), *runs = cJSON_GetObjectItem(doc, "runs");
		cJSON *r3 = cJSON_GetArrayItem(runs, 3), *d0;

		CHECK(cJSON_GetArraySize(cfgs) == 2, "two configurations in report.json");
		CHECK(c0 && !strcmp(cJSON_GetObjectItem(c0, "name")->valuestring, "lr0.005-l2") &&
		      cJSON_GetObjectItem(c0, "n_seeds")->valuedouble == 3 &&
		      NEAR(cJSON_GetObjectItem(c0, "test_acc_mean")->valuedouble, 0.95, 1e-9) &&
		      NEAR(cJSON_GetObjectItem(c0, "test_acc_sd")->valuedouble, 0.01, 1e-9),
		      "configs[0]: name, n_seeds, test_acc_mean, test_acc_sd");
		CHECK(c1 && NEAR(cJSON_GetObjectItem(c1, "test_acc_sd")->valuedouble,
				 sqrt((0.02 * 0.02 + 0.03 * 0.03 + 0.01 * 0.01) / 2), 1e-9),
		      "configs[1]: the sample sd");
		CHECK(c1 && NEAR(cJSON_GetObjectItem(c1, "handout_test_acc")->valuedouble, 0.88, 1e-12) == 0,
		      "no handout figure for another network");
		d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(r3, "declines"), 0);
		CHECK(r3 && !strcmp(cJSON_GetObjectItem(r3, "name")->valuestring, "lr0.005-nol2-s1") &&
		      d0 && cJSON_IsTrue(cJSON_GetObjectItem(d0, "recovered")) &&
		      cJSON_IsTrue(cJSON_GetObjectItem(d0, "val_loss_fell")) &&
		      cJSON_GetObjectItem(d0, "recovered_iter")->valuedouble > 16600,
		      "runs[3].declines[0]: recovered: true, with its iteration");
		cJSON_Delete(doc);
	}
	free(md);
	free(json);
}

int main(void)
{
	test_presets();
	test_smooth();
	test_declines();
	test_stats();
	test_peak();
	test_convergence();
	test_sparsity();
	test_tiles();
	test_shell_quote();
	test_decide();
	test_report_without_gnuplot();
	test_report_all_decline();
	test_report_with_seeds();
	return test_finish();
}
