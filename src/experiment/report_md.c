/*
 * report_md.c - report.md: the runs' table, the lab's four questions answered from the
 * figures (with the numbers and the criteria), and every figure that was drawn.
 * Relative links only, so that it renders on GitHub and in any Markdown viewer.
 */
#include "report_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Two binomial standard errors of a difference of accuracies on this many images. */
#define TEST_IMAGES 10000.0

static void dec(double x, char *buf, size_t cap)
{
	tr_exp_format_decimal(x, buf, cap);
}

static void duration(double s, char *buf, size_t cap)
{
	long t = isfinite(s) && s >= 0 ? (long)(s + 0.5) : -1;

	if (t < 0)
		snprintf(buf, cap, "-");
	else if (t < 60)
		snprintf(buf, cap, "%lds", t);
	else if (t < 3600)
		snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
}

/* A figure or "-" for NaN. */
static void fmt(char *buf, size_t cap, const char *f, double x)
{
	if (isfinite(x))
		snprintf(buf, cap, f, x);
	else
		snprintf(buf, cap, "-");
}

static const tr_metric_row *last_row(const rp_run *run)
{
	return run->n_rows ? &run->rows[run->n_rows - 1] : NULL;
}

static bool is_diverged(const rp_run *run)
{
	return run->diverged || !strcmp(run->status, "diverged");
}

/* ---- the runs' table ---- */

static void status_cell(FILE *f, const rp_run *run)
{
	if (is_diverged(run)) {
		fprintf(f, "**diverged**");
		if (run->diverged_at > 0)
			fprintf(f, " at iteration %ld", run->diverged_at);
	} else if (!strcmp(run->status, "completed")) {
		fprintf(f, "completed");
	} else {
		fprintf(f, "**%s** after %ld of %ld iterations", run->status[0] ? run->status : "?",
			run->iterations_done, run->iters);
	}
}

static void runs_table(FILE *f, const rp_report *r)
{
	size_t i;

	fprintf(f, "## Runs\n\n"
		"| run | lr | lambda (L2) | device | iterations | final train loss | final val loss "
		"| best val acc (iteration) | final val acc | test acc | wall time | status |\n"
		"|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *run = &r->runs[i];
		const tr_metric_row *last = last_row(run);
		char lr[48], l2[48], tl[32], vl[32], va[32], ta[32], wall[32], best[64];

		dec(run->lr, lr, sizeof(lr));
		dec(run->l2, l2, sizeof(l2));
		fmt(tl, sizeof(tl), "%.4g", last ? last->train_loss : NAN);
		fmt(vl, sizeof(vl), "%.4g", last ? last->val_loss : NAN);
		fmt(va, sizeof(va), "%.4f", last ? last->val_acc : NAN);
		fmt(ta, sizeof(ta), "%.4f", run->test_acc);
		duration(run->wall_seconds, wall, sizeof(wall));
		if (run->peak.best_raw_acc >= 0)
			snprintf(best, sizeof(best), "%.4f (%ld)", run->peak.best_raw_acc,
				 run->peak.best_raw_iter);
		else
			snprintf(best, sizeof(best), "-");
		fprintf(f, "| %s | %s | %s | %s (%s) | %ld | %s | %s | %s | %s | %s | %s | ",
			run->name, lr, l2, run->backend, run->device, run->iterations_done, tl, vl,
			best, va, ta, wall);
		status_cell(f, run);
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static void settings_lines(FILE *f, const rp_report *r)
{
	size_t i, j;

	fprintf(f, "Settings of the runs (apart from lr and lambda):\n\n");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *a = &r->runs[i];

		for (j = 0; j < i && !rp_same_base(&r->runs[j], a); j++)
			;
		if (j < i)
			continue;
		fprintf(f, "- layers %s, init %s, seed %ld, batch %ld, %ld iterations, evaluation "
			"every %ld, L2 on %s, %ld validation images%s", a->layers, a->init, a->seed,
			a->batch, a->iters, a->eval_every,
			strcmp(a->l2_scope, "weights") ? "weights and biases" : "weights only",
			a->val_size, a->shuffle ? "" : ", no shuffling");
		fprintf(f, " (");
		for (j = i; j < r->n_runs; j++)
			if (rp_same_base(&r->runs[j], a))
				fprintf(f, "%s%s", j == i ? "" : ", ", r->runs[j].name);
		fprintf(f, ")\n");
	}
	fprintf(f, "\n");
}

/* ---- question 1 ---- */

static void q1_run(FILE *f, const rp_run *run, const tr_peak_params *pp)
{
	const tr_peak_result *p = &run->peak;

	fprintf(f, "- **%s**: ", run->name);
	if (is_diverged(run))
		fprintf(f, "diverged (iteration %ld); ", run->diverged_at);
	switch (p->shape) {
	case TR_SHAPE_TOO_SHORT:
		fprintf(f, "too few finite evaluations (%zu) to tell.\n", p->n);
		return;
	case TR_SHAPE_NO_LEARNING:
		fprintf(f, "no: it did not learn (best validation accuracy %.4f; chance is 0.1).\n",
			p->best_raw_acc);
		return;
	case TR_SHAPE_PEAK_DECLINE:
		fprintf(f, "**yes**: the validation accuracy rose to %.4f at iteration %ld "
			"(smoothed; best single value %.4f at %ld), held within %.2f of it from "
			"iteration %ld to %ld, then fell to a mean of %.4f over the last third "
			"(from iteration %ld), %.4f below the peak (margin %.2f), ",
			p->peak_acc, p->peak_iter, p->best_raw_acc, p->best_raw_iter, pp->hold_tol,
			p->hold_from_iter, p->hold_to_iter, p->late_mean_acc, p->late_from_iter,
			p->drop, pp->decline_margin);
		if (p->loss_kept_falling)
			fprintf(f, "while the validation loss kept falling (%.4g at the peak, %.4g "
				"at the end).\n", p->val_loss_at_peak, p->val_loss_end);
		else
			fprintf(f, "but the validation loss did not keep falling (%.4g at the peak, "
				"%.4g at the end).\n", p->val_loss_at_peak, p->val_loss_end);
		return;
	case TR_SHAPE_STILL_RISING:
		fprintf(f, "no: still rising at the end (smoothed peak %.4f at iteration %ld, "
			"in the last third; the last third's mean is %.4f).\n", p->peak_acc,
			p->peak_iter, p->late_mean_acc);
		return;
	case TR_SHAPE_RISE_HOLD:
		fprintf(f, "no: rose to %.4f at iteration %ld (smoothed) and held within %.2f "
			"from iteration %ld to %ld; the last third's mean %.4f is %.4f below the "
			"peak (less than the margin %.2f).\n", p->peak_acc, p->peak_iter,
			pp->hold_tol, p->hold_from_iter, p->hold_to_iter, p->late_mean_acc, p->drop,
			pp->decline_margin);
		return;
	}
}

static void question1(FILE *f, const rp_report *r)
{
	const tr_peak_params *pp = &r->peak_params;
	size_t i, n_yes = 0;
	bool first = true;

	fprintf(f, "### 1. Does the validation accuracy rise, hold, then fall while the loss "
		"keeps falling?\n\n"
		"Criterion: the validation accuracy is smoothed by a centred moving average (3 %% "
		"of the evaluations, 3 to 11 points); its maximum is the peak. It *held* while it "
		"stayed within %.2f of the peak, and it *fell* when the mean of the raw accuracy "
		"over the last third of the run is at least %.2f below the peak and the peak came "
		"before that last third. *The loss kept falling* when the smoothed validation "
		"loss at the end is below its value at the peak.\n\n", pp->hold_tol,
		pp->decline_margin);
	for (i = 0; i < r->n_runs; i++) {
		q1_run(f, &r->runs[i], pp);
		n_yes += r->runs[i].peak.shape == TR_SHAPE_PEAK_DECLINE;
	}
	fprintf(f, "\n**Answer:** ");
	if (!n_yes)
		fprintf(f, "no run shows a peak followed by a decline of at least %.2f here.",
			pp->decline_margin);
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *run = &r->runs[i];
		char lr[48];

		if (run->peak.shape != TR_SHAPE_PEAK_DECLINE)
			continue;
		dec(run->lr, lr, sizeof(lr));
		fprintf(f, "%s%s (lr %s, %s): peak %.4f at iteration %ld, then %.4f lower on "
			"average over the last third%s", first ? "yes: " : "; ", run->name, lr,
			run->l2 > 0 ? "with L2" : "without L2", run->peak.peak_acc,
			run->peak.peak_iter, run->peak.drop,
			run->peak.loss_kept_falling ? ", while the validation loss kept falling" : "");
		first = false;
	}
	fprintf(f, "%s\n\n", n_yes ? "." : "");
	fprintf(f, "Other regularities: speed of learning, as the first iteration with a "
		"validation accuracy of at least 0.9:");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *run = &r->runs[i];

		if (run->conv.first_iter_acc90 >= 0)
			fprintf(f, "%s %s at %ld", i ? ";" : "", run->name, run->conv.first_iter_acc90);
		else
			fprintf(f, "%s %s never", i ? ";" : "", run->name);
	}
	fprintf(f, ".\n\n");
}

/* ---- question 2 ---- */

static void question2(FILE *f, const rp_report *r)
{
	const rp_run *best = NULL, *calm = NULL;
	size_t i;

	fprintf(f, "### 2. How well does each learning rate converge?\n\n"
		"The final level and the noise over the last third of each run (population "
		"standard deviation of the evaluations there). *Settled from* is the first "
		"iteration after which the smoothed validation accuracy stays within 0.01 of "
		"the last third's mean.\n\n"
		"| run | lr | lambda | final val acc | last third: val acc mean | std | val loss "
		"mean | std | settled from iteration | evaluations |\n"
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *run = &r->runs[i];
		const tr_convergence *c = &run->conv;
		char lr[48], l2[48], a[32], am[32], as[32], lm[32], ls[32], settled[32];

		dec(run->lr, lr, sizeof(lr));
		dec(run->l2, l2, sizeof(l2));
		fmt(a, sizeof(a), "%.4f", c->final_val_acc);
		fmt(am, sizeof(am), "%.4f", c->late_mean_acc);
		fmt(as, sizeof(as), "%.4f", c->late_std_acc);
		fmt(lm, sizeof(lm), "%.4g", c->late_mean_loss);
		fmt(ls, sizeof(ls), "%.3g", c->late_std_loss);
		if (c->settled_iter >= 0)
			snprintf(settled, sizeof(settled), "%ld", c->settled_iter);
		else
			snprintf(settled, sizeof(settled), "not settled");
		fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %zu%s |\n", run->name,
			lr, l2, a, am, as, lm, ls, settled, c->n,
			is_diverged(run) ? " (diverged)" : "");
		if (c->n >= 3 && !is_diverged(run) && run->peak.shape != TR_SHAPE_NO_LEARNING) {
			if (!best || c->late_mean_acc > best->conv.late_mean_acc)
				best = run;
			if (!calm || c->late_std_acc < calm->conv.late_std_acc)
				calm = run;
		}
	}
	fprintf(f, "\n**Answer:** ");
	if (!best) {
		fprintf(f, "no run both learned and has enough finite evaluations to judge; see the table.\n\n");
		return;
	}
	fprintf(f, "the highest level over the last third is %s's (mean validation accuracy "
		"%.4f, std %.4f); the least noisy is %s's (std %.4f).", best->name,
		best->conv.late_mean_acc, best->conv.late_std_acc, calm->name,
		calm->conv.late_std_acc);
	for (i = 0; i < r->n_runs; i++)
		if (is_diverged(&r->runs[i]))
			fprintf(f, " %s diverged and did not converge.", r->runs[i].name);
		else if (r->runs[i].peak.shape == TR_SHAPE_NO_LEARNING)
			fprintf(f, " %s did not learn (validation accuracy at chance).",
				r->runs[i].name);
	for (i = 0; i < r->n_runs; i++)
		if (r->runs[i].conv.settled_iter < 0 && !is_diverged(&r->runs[i]) &&
		    r->runs[i].conv.n >= 3)
			fprintf(f, " %s had not settled by the end.", r->runs[i].name);
	fprintf(f, "\n\n");
}

/* ---- question 3 ---- */

static void question3(FILE *f, const rp_report *r)
{
	size_t i;

	fprintf(f, "### 3. Does L2 regularisation improve the result (test accuracy)?\n\n");
	if (!r->n_pairs) {
		fprintf(f, "This directory has no pair of runs that differ only in L2 (the seed, "
			"full and quick presets include one at lr 0.005).\n\n");
		return;
	}
	for (i = 0; i < r->n_pairs; i++) {
		const rp_run *w = &r->runs[r->pairs[i].with], *o = &r->runs[r->pairs[i].without];
		double d = w->test_acc - o->test_acc;
		double se = 2 * sqrt(w->test_acc * (1 - w->test_acc) / TEST_IMAGES +
				     o->test_acc * (1 - o->test_acc) / TEST_IMAGES);
		char lr[48], l2[48];

		dec(w->lr, lr, sizeof(lr));
		dec(w->l2, l2, sizeof(l2));
		fprintf(f, "- At lr %s (%s vs %s, all other settings equal): ", lr, w->name, o->name);
		if (!isfinite(d)) {
			fprintf(f, "no comparison: %s has no test accuracy (%s).\n",
				isfinite(w->test_acc) ? o->name : w->name,
				isfinite(w->test_acc) ? o->status : w->status);
			continue;
		}
		fprintf(f, "test accuracy **%.4f with L2** (lambda %s) vs **%.4f without**: L2 "
			"changed it by **%+.4f** (%+.2f percentage points); %s (two binomial "
			"standard errors of the difference on 10,000 test images: %.4f). For "
			"context: best validation accuracy %.4f vs %.4f, mean over the last third "
			"%.4f vs %.4f.\n", w->test_acc, l2, o->test_acc, d, 100 * d,
			fabs(d) <= se ? "within the noise of a single test set" :
			d > 0 ? "an improvement beyond that noise" : "a loss beyond that noise", se,
			w->peak.best_raw_acc, o->peak.best_raw_acc, w->conv.late_mean_acc,
			o->conv.late_mean_acc);
	}
	fprintf(f, "\n");
}

/* ---- question 4 ---- */

static void sparsity_rows(FILE *f, const rp_run *run)
{
	size_t k;

	for (k = 0; k < run->n_mats; k++) {
		const rp_matrix *m = &run->mats[k];

		fprintf(f, "| %s | W%zu | %zu x %zu | %.4f | %.4g | %.4g | %.4g |\n", run->name,
			k + 1, m->rows, m->cols, m->sp.frac_small, m->sp.mean_abs, m->sp.l2_norm,
			m->sp.max_abs);
	}
}

static void question4_pair(FILE *f, const rp_report *r, const rp_l2_pair *p)
{
	const rp_run *w = &r->runs[p->with], *o = &r->runs[p->without];
	size_t k, n = w->n_mats < o->n_mats ? w->n_mats : o->n_mats, sparser = 0, smaller = 0;
	char lr[48];

	dec(w->lr, lr, sizeof(lr));
	if (!n) {
		fprintf(f, "- At lr %s: no comparison, the weights of %s are missing (%s).\n\n", lr,
			w->n_mats ? o->name : w->name, w->n_mats ? o->status : w->status);
		return;
	}
	fprintf(f, "At lr %s, %s vs %s:\n\n"
		"| matrix | near-zero fraction with / without | mean abs w with / without | L2 "
		"norm with / without | sparser with L2? |\n|---|---:|---:|---:|---|\n", lr,
		w->name, o->name);
	for (k = 0; k < n; k++) {
		const tr_sparsity *a = &w->mats[k].sp, *b = &o->mats[k].sp;
		bool sp = RP_SPARSER(a, b);

		sparser += sp;
		smaller += a->mean_abs < RP_SMALLER_RATIO * b->mean_abs;
		fprintf(f, "| W%zu | %.4f / %.4f | %.4g / %.4g | %.4g / %.4g | %s |\n", k + 1,
			a->frac_small, b->frac_small, a->mean_abs, b->mean_abs, a->l2_norm,
			b->l2_norm, sp ? "yes" : RP_SPARSER(b, a) ? "no, less sparse" :
			"no clear difference");
	}
	fprintf(f, "\n**Answer (lr %s):** L2 made %zu of %zu weight matrices sparser by this "
		"measure, and %zu of %zu smaller in mean |w|", lr, sparser, n, smaller, n);
	if (n && o->mats[0].sp.mean_abs > 0)
		fprintf(f, " (W1's mean |w| is %.3g times the unregularised one's)",
			w->mats[0].sp.mean_abs / o->mats[0].sp.mean_abs);
	fprintf(f, ".\n\n");
}

static void question4(FILE *f, const rp_report *r)
{
	size_t i;

	fprintf(f, "### 4. Are the weight matrices sparser with L2?\n\n"
		"Sparsity here is the fraction of a matrix's entries whose magnitude is below "
		"%.0f %% of that matrix's largest magnitude (*near-zero fraction*); mean |w| and "
		"the L2 norm sqrt(sum w^2) show the overall shrinkage. A matrix counts as sparser "
		"when its near-zero fraction is higher by at least %.3f, and as smaller in mean "
		"|w| when that is below %.2f times the other's.\n\n", 100 * TR_SPARSITY_REL,
		RP_SPARSER_MARGIN, RP_SMALLER_RATIO);
	if (!r->n_pairs)
		fprintf(f, "This directory has no pair of runs that differ only in L2; the "
			"figures of every run follow.\n\n");
	for (i = 0; i < r->n_pairs; i++)
		question4_pair(f, r, &r->pairs[i]);
	fprintf(f, "All runs:\n\n| run | matrix | shape | near-zero fraction | mean abs w | L2 "
		"norm | max abs w |\n|---|---|---|---:|---:|---:|---:|\n");
	for (i = 0; i < r->n_runs; i++) {
		if (r->runs[i].n_mats)
			sparsity_rows(f, &r->runs[i]);
		else
			fprintf(f, "| %s | - | - | - | - | - | - |\n", r->runs[i].name);
	}
	fprintf(f, "\n");
}

/* ---- figures ---- */

static void image(FILE *f, const char *alt, const char *path, bool svg)
{
	fprintf(f, "![%s](%s.png)", alt, path);
	if (svg)
		fprintf(f, " ([SVG](%s.svg))", path);
	fprintf(f, "\n\n");
}

static void comparisons(FILE *f, const rp_report *r)
{
	size_t i;
	char path[RP_PATH_MAX];

	if (!r->n_groups && !r->n_pairs)
		return;
	fprintf(f, "### Comparisons\n\n");
	for (i = 0; i < r->n_groups; i++) {
		const rp_lr_group *g = &r->groups[i];

		fprintf(f, "Learning rates on shared axes:\n\n");
		rp_path(path, sizeof(path), "figures/compare-%s-loss", g->tag);
		if (g->fig_loss)
			image(f, "validation loss by learning rate", path, true);
		rp_path(path, sizeof(path), "figures/compare-%s-acc", g->tag);
		if (g->fig_acc)
			image(f, "validation accuracy by learning rate", path, true);
	}
	for (i = 0; i < r->n_pairs; i++) {
		const rp_l2_pair *p = &r->pairs[i];

		fprintf(f, "With vs without L2 (%s vs %s):\n\n", r->runs[p->with].name,
			r->runs[p->without].name);
		rp_path(path, sizeof(path), "figures/compare-%s-loss", p->tag);
		if (p->fig_loss)
			image(f, "validation loss with and without L2", path, true);
		rp_path(path, sizeof(path), "figures/compare-%s-acc", p->tag);
		if (p->fig_acc)
			image(f, "validation accuracy with and without L2", path, true);
		rp_path(path, sizeof(path), "figures/compare-%s-acc-late", p->tag);
		if (p->fig_acc_late)
			image(f, "validation accuracy with and without L2, late part", path, true);
	}
}

static void run_figures(FILE *f, const rp_run *run)
{
	static const char *const alt[RP_N_FIGS] = {
		"loss", "accuracy", "loss without the first 20 evaluations",
		"accuracy without the first 20 evaluations", "weight matrices",
		"first 64 columns of W1 as images", "weight histograms",
	};
	char path[RP_PATH_MAX];
	int k;

	fprintf(f, "### %s\n\n", run->name);
	if (!run->drawable) {
		fprintf(f, "No figures: the directory name has characters that gnuplot paths or "
			"Markdown links cannot carry as they are.\n\n");
		return;
	}
	for (k = 0; k < RP_N_FIGS; k++) {
		if (!run->fig[k])
			continue;
		rp_fig_path(run, (enum rp_fig)k, path, sizeof(path));
		image(f, alt[k], path, k <= RP_FIG_ACC_LATE);
	}
	if (run->n_mats == 0)
		fprintf(f, "No weight pictures: the run left no weights (%s).\n\n", run->status);
}

int rp_write_markdown(const rp_report *r, const tr_report_options *opts, tr_error *err)
{
	tr_atomic_file af;
	char path[RP_PATH_MAX], when[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	FILE *f;
	int rc;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	rp_path(path, sizeof(path), "%s/report.md", r->dir);
	if ((rc = tr_atomic_open(&af, path, err)))
		return rc;
	f = af.fp;
	fprintf(f, "# Experiment report: learning rates and L2 on MNIST\n\n"
		"%zu run%s in this directory; report written by trainer %s on %s (report.json "
		"holds the same figures).\n\n", r->n_runs, r->n_runs == 1 ? "" : "s",
		TRAINER_VERSION, when);
	if (opts->title)
		fprintf(f, "%s\n\n", opts->title);
	if (r->out->note[0])
		fprintf(f, "> **Note:** %s.\n\n", r->out->note);
	if (r->out->n_skipped)
		fprintf(f, "> **Note:** %zu director%s could not be read: %s\n\n", r->out->n_skipped,
			r->out->n_skipped == 1 ? "y" : "ies", r->out->skipped);
	runs_table(f, r);
	settings_lines(f, r);
	fprintf(f, "## The lab's questions\n\n");
	question1(f, r);
	question2(f, r);
	question3(f, r);
	question4(f, r);
	fprintf(f, "## Figures\n\n");
	if (r->out->plots_missing)
		fprintf(f, "None were drawn: %s.\n\n", r->out->note);
	comparisons(f, r);
	for (i = 0; i < r->n_runs; i++)
		run_figures(f, &r->runs[i]);
	if (ferror(f)) {
		tr_atomic_abort(&af);
		return tr_fail(err, TR_ERR_OUTPUT, "%s: write failed", path);
	}
	return tr_atomic_commit(&af, err);
}
