/*
 * report_questions.c - report.md's answers to the lab's four questions, each with its
 * criterion and the numbers behind it, configuration by configuration: with several
 * seeds an answer says how many seeds agree and how far they spread.
 */
#include "report_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TEST_IMAGES 10000.0
#define DECLINES_LISTED 4 /* per run in report.md; report.json has them all */

static const rp_run *run_of(const rp_report *r, const rp_config *c, size_t k)
{
	return &r->runs[c->idx[k]];
}

/* ---- question 1 ---- */

static void decline_text(FILE *f, const tr_decline *d)
{
	fprintf(f, "%.3f at iteration %ld down to %.3f at %ld (-%.3f)", d->from_acc,
		d->from_iter, d->bottom_acc, d->bottom_iter, d->drop);
	if (d->val_loss_fell)
		fprintf(f, " while the validation loss fell (%.4g to %.4g", d->val_loss_from,
			d->val_loss_bottom);
	else
		fprintf(f, " but the validation loss did not fall (%.4g to %.4g", d->val_loss_from,
			d->val_loss_bottom);
	if (isfinite(d->val_ce_from))
		fprintf(f, "; cross-entropy %.4g to %.4g", d->val_ce_from, d->val_ce_bottom);
	fprintf(f, ")");
	if (d->recovered)
		fprintf(f, ", recovered by %ld", d->recovered_iter);
	else
		fprintf(f, ", not recovered by the end");
}

static void q1_run(FILE *f, const rp_config *c, const rp_run *run)
{
	size_t i;

	/* Several seeds: one line each under the configuration's. */
	if (c->n > 1)
		fprintf(f, "  - seed %ld: ", run->seed);
	if (rp_is_diverged(run))
		fprintf(f, "diverged (iteration %ld); ", run->diverged_at);
	if (run->peak.shape == TR_SHAPE_TOO_SHORT) {
		fprintf(f, "too few finite evaluations (%zu) to tell.\n", run->peak.n);
		return;
	}
	if (!run->n_declines) {
		fprintf(f, "no decline of the smoothed accuracy (peak %.4f at %ld", run->peak.peak_acc,
			run->peak.peak_iter);
		if (run->peak.shape == TR_SHAPE_STILL_RISING)
			fprintf(f, ", still rising at the end");
		else if (run->peak.shape == TR_SHAPE_NO_LEARNING)
			fprintf(f, "; it did not learn: best %.4f, chance is 0.1",
				run->peak.best_raw_acc);
		fprintf(f, ").\n");
		return;
	}
	fprintf(f, "%s: %zu decline%s", run->n_declines_loss_fell ? "**yes**" : "no",
		run->n_declines, run->n_declines == 1 ? "" : "s");
	if (run->n_declines_loss_fell != run->n_declines)
		fprintf(f, " (%zu while the validation loss fell)", run->n_declines_loss_fell);
	fprintf(f, ": ");
	for (i = 0; i < run->n_declines && i < DECLINES_LISTED && i < TR_MAX_DECLINES; i++) {
		fprintf(f, "%s", i ? "; " : "");
		decline_text(f, &run->declines[i]);
	}
	if (run->n_declines > DECLINES_LISTED)
		fprintf(f, "; and %zu more (report.json)", run->n_declines - DECLINES_LISTED);
	fprintf(f, ".\n");
}

static void question1(FILE *f, const rp_report *r)
{
	const tr_peak_params *pp = &r->peak_params;
	size_t i, k, n_yes = 0;

	fprintf(f, "### 1. Does the validation accuracy rise, hold, then fall while the loss "
		"keeps falling?\n\n"
		"Criterion: the validation accuracy is smoothed by a moving average (3 %% of the "
		"evaluations, 3 to 11 points; near the ends the window keeps its size and moves "
		"inwards, so a smoothed value is never one raw point). A *decline* is a fall of "
		"the smoothed accuracy at least %.2f below its running peak, anywhere in the "
		"run; it ends at its lowest point (*bottom*), and it *recovered* when the "
		"smoothed accuracy came back within %.2f of the peak. The answer is *yes* for a "
		"run with a decline during which the validation loss (cross-entropy + L2 term, "
		"the seed's loss, smoothed the same way) fell from the peak to the bottom.\n\n",
		pp->decline_margin, pp->hold_tol);
	for (i = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];

		fprintf(f, "- **%s**: ", c->name);
		if (c->n > 1)
			fprintf(f, "%zu of %zu seeds: %s\n", c->n_decline, c->n_judged,
				c->n_decline ? "yes" : "no");
		for (k = 0; k < c->n; k++)
			q1_run(f, c, run_of(r, c, k));
		n_yes += c->n_decline > 0;
	}
	fprintf(f, "\n**Answer:** ");
	if (!n_yes)
		fprintf(f, "no run shows a decline of at least %.2f while the validation loss "
			"fell.", pp->decline_margin);
	for (i = 0, k = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];
		char lr[48];

		if (!c->n_decline)
			continue;
		rp_dec(c->lr, lr, sizeof(lr));
		fprintf(f, "%s%s (lr %s, %s)", k++ ? "; " : "yes: ", c->name, lr,
			c->l2 > 0 ? "with L2" : "without L2");
		if (c->n > 1)
			fprintf(f, " in %zu of %zu seeds", c->n_decline, c->n_judged);
	}
	/* "No:" lists the configurations without one, if any (not after a no-run answer) */
	for (i = 0, k = 0; n_yes && i < r->n_configs; i++)
		if (!r->configs[i].n_decline)
			fprintf(f, "%s%s", k++ ? ", " : ". No: ", r->configs[i].name);
	fprintf(f, "%s\n\n", n_yes ? "." : "");
	fprintf(f, "Other regularities: speed of learning, as the first iteration with a "
		"validation accuracy of at least 0.9:");
	for (i = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];

		fprintf(f, "%s %s", i ? ";" : "", c->name);
		for (k = 0; k < c->n; k++) {
			long it = run_of(r, c, k)->conv.first_iter_acc90;

			if (it >= 0)
				fprintf(f, "%s %ld", k ? "," : "", it);
			else
				fprintf(f, "%s never", k ? "," : "");
		}
	}
	fprintf(f, "%s.\n\n", r->max_seeds > 1 ? " (one figure per seed)" : "");
}

/* ---- question 2 ---- */

static void question2(FILE *f, const rp_report *r)
{
	const rp_config *best = NULL, *calm = NULL;
	size_t i, k;

	fprintf(f, "### 2. How well does each learning rate converge?\n\n"
		"The level and the noise over the last third of each run: the mean validation "
		"accuracy there, its standard deviation within the run (the noise), and the "
		"lowest and highest evaluation there. *Settled from* is the first iteration "
		"after which the smoothed validation accuracy stays within 0.01 of the last "
		"third's mean.%s\n\n"
		"| configuration | lr | lambda | final val acc | last third: mean | noise (std) | "
		"range | settled from iteration |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
		r->max_seeds > 1 ? " Over several seeds: mean ± standard deviation of each "
		"figure over the seeds, the range over all of them." : "");
	for (i = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];
		char lr[48], l2[48], fv[64], lm[64], ls[64];
		bool usable = false;

		rp_dec(c->lr, lr, sizeof(lr));
		rp_dec(c->l2, l2, sizeof(l2));
		rp_fmt_stats(fv, sizeof(fv), &c->final_val_acc, 4);
		rp_fmt_stats(lm, sizeof(lm), &c->late_mean_acc, 4);
		rp_fmt_stats(ls, sizeof(ls), &c->late_std_acc, 4);
		fprintf(f, "| %s | %s | %s | %s | %s | %s | ", c->name, lr, l2, fv, lm, ls);
		if (isfinite(c->late_min_acc.mean))
			fprintf(f, "%.4f-%.4f", c->late_min_acc.mean, c->late_max_acc.mean);
		else
			fprintf(f, "-");
		fprintf(f, " | ");
		for (k = 0; k < c->n; k++) {
			const rp_run *run = run_of(r, c, k);

			if (k)
				fprintf(f, ", ");
			if (rp_is_diverged(run))
				fprintf(f, "diverged");
			else if (run->conv.settled_iter >= 0)
				fprintf(f, "%ld", run->conv.settled_iter);
			else
				fprintf(f, "not settled");
			usable |= run->conv.n >= 3 && !rp_is_diverged(run) &&
				  run->peak.shape != TR_SHAPE_NO_LEARNING;
		}
		fprintf(f, " |\n");
		if (usable && isfinite(c->late_mean_acc.mean)) {
			if (!best || c->late_mean_acc.mean > best->late_mean_acc.mean)
				best = c;
			if (!calm || c->late_std_acc.mean < calm->late_std_acc.mean)
				calm = c;
		}
	}
	fprintf(f, "\n**Answer:** ");
	if (!best) {
		fprintf(f, "no configuration both learned and has enough finite evaluations to "
			"judge; see the table.\n\n");
		return;
	}
	fprintf(f, "the highest level over the last third is %s's (mean validation accuracy "
		"%.4f); the least noisy is %s's (std %.4f within a run).", best->name,
		best->late_mean_acc.mean, calm->name, calm->late_std_acc.mean);
	for (i = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];
		size_t div = 0, chance = 0, unsettled = 0;

		for (k = 0; k < c->n; k++) {
			const rp_run *run = run_of(r, c, k);

			div += rp_is_diverged(run);
			chance += !rp_is_diverged(run) && run->peak.shape == TR_SHAPE_NO_LEARNING;
			unsettled += !rp_is_diverged(run) && run->conv.n >= 3 &&
				     run->conv.settled_iter < 0;
		}
		if (div)
			fprintf(f, " %s: %zu of %zu diverged.", c->name, div, c->n);
		if (chance)
			fprintf(f, " %s: %zu of %zu did not learn (accuracy at chance).", c->name,
				chance, c->n);
		if (unsettled)
			fprintf(f, " %s: %zu of %zu had not settled by the end.", c->name,
				unsettled, c->n);
	}
	fprintf(f, "\n\n");
}

/* ---- question 3 ---- */

/* Per seed (the same seed = the same initialisation and batch order): in how many of
 * the seeds both configurations share is `with` higher, of how many compared. */
static void seeds_higher(const rp_report *r, const rp_config *w, const rp_config *o,
			 bool best, size_t *higher, size_t *compared)
{
	size_t i, j;

	*higher = *compared = 0;
	for (i = 0; i < w->n; i++) {
		const rp_run *a = run_of(r, w, i);

		for (j = 0; j < o->n; j++) {
			const rp_run *b = run_of(r, o, j);
			double x = best ? a->best_test_acc : a->test_acc;
			double y = best ? b->best_test_acc : b->test_acc;

			if (b->seed != a->seed || !isfinite(x) || !isfinite(y))
				continue;
			(*compared)++;
			*higher += x > y;
		}
	}
}

/* The judgement of a difference of two means over seeds (or of two single runs). */
static void judge(FILE *f, const tr_stats *a, const tr_stats *b)
{
	double d = a->mean - b->mean;
	double bin = 2 * sqrt(a->mean * (1 - a->mean) / TEST_IMAGES +
			      b->mean * (1 - b->mean) / TEST_IMAGES);

	if (a->n >= 2 && b->n >= 2) {
		double se = 2 * sqrt(a->sd * a->sd / (double)a->n + b->sd * b->sd / (double)b->n);

		fprintf(f, "%s (two standard errors of the difference of the means over the "
			"seeds: %.4f; of one test set's binomial noise: %.4f)",
			fabs(d) <= se ? "within the spread of the seeds" :
			d > 0 ? "an improvement beyond the spread of the seeds" :
			"a loss beyond the spread of the seeds", se, bin);
		return;
	}
	fprintf(f, "%s (two binomial standard errors on 10,000 test images: %.4f; with one "
		"seed the run-to-run spread is not measured, see below)",
		fabs(d) <= bin ? "within the noise of a single test set" :
		d > 0 ? "larger than a single test set's noise" :
		"smaller than minus a single test set's noise", bin);
}

static void question3_pair(FILE *f, const rp_report *r, const rp_l2_pair *p)
{
	const rp_config *w = &r->configs[p->with], *o = &r->configs[p->without];
	char lr[48], l2[48], a[96], b[96];
	size_t higher, compared;

	rp_dec(w->lr, lr, sizeof(lr));
	rp_dec(w->l2, l2, sizeof(l2));
	fprintf(f, "- At lr %s (%s vs %s, all other settings equal", lr, w->name, o->name);
	if (w->n > 1 || o->n > 1)
		fprintf(f, "; %zu and %zu seeds", w->n, o->n);
	fprintf(f, "):\n");
	if (!w->test_acc.n || !o->test_acc.n) {
		fprintf(f, "  no comparison: %s has no test accuracy.\n",
			w->test_acc.n ? o->name : w->name);
		return;
	}
	rp_fmt_stats(a, sizeof(a), &w->test_acc, 4);
	rp_fmt_stats(b, sizeof(b), &o->test_acc, 4);
	fprintf(f, "  - final parameters: test accuracy **%s with L2** (lambda %s) vs **%s "
		"without**: L2 changed it by **%+.4f** (%+.2f percentage points); ", a, l2, b,
		w->test_acc.mean - o->test_acc.mean, 100 * (w->test_acc.mean - o->test_acc.mean));
	judge(f, &w->test_acc, &o->test_acc);
	seeds_higher(r, w, o, false, &higher, &compared);
	if (compared > 1)
		fprintf(f, "; with L2 higher in **%zu of %zu seeds**", higher, compared);
	fprintf(f, ".\n");
	if (w->best_test_acc.n && o->best_test_acc.n) {
		rp_fmt_stats(a, sizeof(a), &w->best_test_acc, 4);
		rp_fmt_stats(b, sizeof(b), &o->best_test_acc, 4);
		fprintf(f, "  - parameters at the best validation accuracy (early stopping): "
			"**%s with L2** vs **%s without** (%+.4f); ", a, b,
			w->best_test_acc.mean - o->best_test_acc.mean);
		judge(f, &w->best_test_acc, &o->best_test_acc);
		seeds_higher(r, w, o, true, &higher, &compared);
		if (compared > 1)
			fprintf(f, "; with L2 higher in %zu of %zu seeds", higher, compared);
		fprintf(f, ".\n");
	}
	fprintf(f, "  - for context: over the last third of the runs the validation accuracy "
		"ranged over %.4f-%.4f with L2 and %.4f-%.4f without", w->late_min_acc.mean,
		w->late_max_acc.mean, o->late_min_acc.mean, o->late_max_acc.mean);
	if (w->n == 1 && o->n == 1)
		fprintf(f, ": a single run's final test accuracy depends on where in that range "
			"it stopped. Run with `--seeds 3` (or more) to measure the spread");
	fprintf(f, ".\n");
}

static void question3(FILE *f, const rp_report *r)
{
	size_t i;

	fprintf(f, "### 3. Does L2 regularisation improve the result (test accuracy)?\n\n");
	if (!r->n_pairs) {
		fprintf(f, "This directory has no pair of runs that differ only in L2 (the seed, "
			"full and quick presets include one at lr 0.005).\n\n");
		return;
	}
	fprintf(f, "Both the final parameters and those at the best validation accuracy "
		"(`best/`: what early stopping would keep) are tested. A difference counts when it "
		"exceeds two standard errors: of the spread over the seeds when there are "
		"several, else of one test set's binomial noise.\n\n");
	for (i = 0; i < r->n_pairs; i++)
		question3_pair(f, r, &r->pairs[i]);
	fprintf(f, "\n");
}

/* ---- question 4 ---- */

/* The mean over the configuration's seeds of a figure of matrix k (NaN when none). */
static double mean_over_seeds(const rp_report *r, const rp_config *c, size_t k, int what)
{
	double v[RP_MAX_SEEDS];
	tr_stats s;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const rp_run *run = run_of(r, c, i);
		const rp_matrix *m = &run->mats[k];

		v[i] = NAN;
		if (k < run->n_mats)
			v[i] = what == 0 ? m->sp.frac_small : what == 1 ? m->sp.mean_abs :
			       what == 2 ? m->sp.l2_norm : m->moved;
	}
	tr_stats_compute(v, c->n, &s);
	return s.mean;
}

static size_t common_mats(const rp_report *r, const rp_config *c)
{
	size_t i, n = TR_MAX_LAYERS;

	for (i = 0; i < c->n; i++)
		n = run_of(r, c, i)->n_mats < n ? run_of(r, c, i)->n_mats : n;
	return n;
}

static bool hardly_moved(double a, double b)
{
	return isfinite(a) && isfinite(b) && a < RP_HARDLY_MOVED && b < RP_HARDLY_MOVED;
}

static void dead_units(FILE *f, const rp_report *r, const rp_config *w, const rp_config *o)
{
	const rp_run *a = run_of(r, w, 0), *b = run_of(r, o, 0);
	size_t k, i;

	if (!a->an.have || !b->an.have || a->an.n_hidden != b->an.n_hidden || !a->an.n_hidden)
		return;
	fprintf(f, "Dead ReLU units (output 0 on every one of the %zu validation images, with "
		"the final parameters)%s:\n\n| hidden layer | units | dead with L2 | dead "
		"without |\n|---|---:|---:|---:|\n", a->an.val_images,
		w->n > 1 || o->n > 1 ? ", the mean over the seeds" : "");
	for (k = 0; k < a->an.n_hidden; k++) {
		double dw[RP_MAX_SEEDS], dn[RP_MAX_SEEDS];
		tr_stats sw, sn;

		for (i = 0; i < w->n; i++)
			dw[i] = run_of(r, w, i)->an.have ? (double)run_of(r, w, i)->an.dead[k] : NAN;
		for (i = 0; i < o->n; i++)
			dn[i] = run_of(r, o, i)->an.have ? (double)run_of(r, o, i)->an.dead[k] : NAN;
		tr_stats_compute(dw, w->n, &sw);
		tr_stats_compute(dn, o->n, &sn);
		fprintf(f, "| %zu | %zu | %.1f | %.1f |\n", k + 1, a->an.units[k], sw.mean, sn.mean);
	}
	fprintf(f, "\n");
}

static void question4_pair(FILE *f, const rp_report *r, const rp_l2_pair *p)
{
	const rp_config *w = &r->configs[p->with], *o = &r->configs[p->without];
	size_t nw = common_mats(r, w), no = common_mats(r, o), n = nw < no ? nw : no, k;
	size_t sparser = 0, smaller = 0, moved = 0;
	char lr[48], hardly[512] = "";

	rp_dec(w->lr, lr, sizeof(lr));
	if (!n) {
		fprintf(f, "- At lr %s: no comparison, the weights of %s are missing.\n\n", lr,
			nw ? o->name : w->name);
		return;
	}
	fprintf(f, "At lr %s, %s vs %s%s:\n\n"
		"| matrix | near-zero fraction with / without | mean abs w with / without | L2 "
		"norm with / without | moved from its initial values with / without | sparser "
		"with L2? |\n|---|---:|---:|---:|---:|---|\n", lr, w->name, o->name,
		w->n > 1 || o->n > 1 ? " (each figure the mean over the seeds)" : "");
	for (k = 0; k < n; k++) {
		double fw = mean_over_seeds(r, w, k, 0), fo = mean_over_seeds(r, o, k, 0);
		double aw = mean_over_seeds(r, w, k, 1), ao = mean_over_seeds(r, o, k, 1);
		double mw = mean_over_seeds(r, w, k, 3), mo = mean_over_seeds(r, o, k, 3);
		bool still = hardly_moved(mw, mo);
		bool sp = fw > fo + RP_SPARSER_MARGIN, less = fo > fw + RP_SPARSER_MARGIN;
		char mvw[32], mvo[32];

		rp_fmt(mvw, sizeof(mvw), "%.1f %%", 100 * mw);
		rp_fmt(mvo, sizeof(mvo), "%.1f %%", 100 * mo);
		fprintf(f, "| W%zu | %.4f / %.4f | %.4g / %.4g | %.4g / %.4g | %s / %s | %s |\n",
			k + 1, fw, fo, aw, ao, mean_over_seeds(r, w, k, 2),
			mean_over_seeds(r, o, k, 2), mvw, mvo,
			still ? "hardly moved: not counted" : sp ? "yes" : less ? "no, less sparse" :
			"no clear difference");
		if (still) {
			snprintf(hardly + strlen(hardly), sizeof(hardly) - strlen(hardly),
				 "%sW%zu moved %.1f %% with L2 and %.1f %% without", hardly[0] ? "; " : "",
				 k + 1, 100 * mw, 100 * mo);
			continue;
		}
		moved++;
		sparser += sp;
		smaller += aw < RP_SMALLER_RATIO * ao;
	}
	fprintf(f, "\n");
	if (hardly[0])
		fprintf(f, "Hardly moved from the initialisation (mean |w - w0| below %.0f %% of "
			"the initial mean |w0|, in both runs): %s. Such a matrix still holds its "
			"initial values, with or without L2, and says nothing about L2.\n\n",
			100 * RP_HARDLY_MOVED, hardly);
	dead_units(f, r, w, o);
	fprintf(f, "**Answer (lr %s):** L2 made %zu of the %zu matrices that moved sparser by "
		"this measure, and %zu of %zu smaller in mean |w|", lr, sparser, moved, smaller,
		moved);
	if (mean_over_seeds(r, o, 0, 1) > 0)
		fprintf(f, " (W1's mean |w| is %.3g times the unregularised one's)",
			mean_over_seeds(r, w, 0, 1) / mean_over_seeds(r, o, 0, 1));
	fprintf(f, ".\n\n");
}

static void question4(FILE *f, const rp_report *r)
{
	size_t i, k;

	fprintf(f, "### 4. Are the weight matrices sparser with L2?\n\n"
		"*Sparser* here means more entries *near zero*: an entry is near zero when its "
		"magnitude is below %.0f %% of the largest magnitude in its matrix, and the "
		"*near-zero fraction* is the share of such entries. A matrix counts as sparser "
		"when that fraction is higher by at least %.3f, and as smaller when its mean |w| "
		"is below %.2f times the other's. L2 (weight decay, lambda * sum(w^2) / 2) "
		"pulls every weight towards zero in proportion to its size, so weights get small "
		"but rarely exactly zero; exact zeros are what L1 regularisation (lambda * sum "
		"|w|, whose pull does not fade near zero) produces. *Moved*: mean |w - w0| over "
		"the initial mean |w0| (w0 regenerated from the run's seed and "
		"initialisation).\n\n", 100 * TR_SPARSITY_REL, RP_SPARSER_MARGIN, RP_SMALLER_RATIO);
	if (!r->n_pairs)
		fprintf(f, "This directory has no pair of runs that differ only in L2; the "
			"figures of every run follow.\n\n");
	for (i = 0; i < r->n_pairs; i++)
		question4_pair(f, r, &r->pairs[i]);
	fprintf(f, "All runs:\n\n| run | matrix | shape | near-zero fraction | mean abs w | L2 "
		"norm | max abs w | moved |\n|---|---|---|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *run = &r->runs[i];

		if (!run->n_mats)
			fprintf(f, "| %s | - | - | - | - | - | - | - |\n", run->name);
		for (k = 0; k < run->n_mats; k++) {
			const rp_matrix *m = &run->mats[k];
			char mv[32];

			rp_fmt(mv, sizeof(mv), "%.1f %%", 100 * m->moved);
			fprintf(f, "| %s | W%zu | %zu x %zu | %.4f | %.4g | %.4g | %.4g | %s |\n",
				run->name, k + 1, m->rows, m->cols, m->sp.frac_small, m->sp.mean_abs,
				m->sp.l2_norm, m->sp.max_abs, mv);
		}
	}
	fprintf(f, "\n");
}

void rp_write_questions(FILE *f, const rp_report *r)
{
	question1(f, r);
	question2(f, r);
	question3(f, r);
	question4(f, r);
}
