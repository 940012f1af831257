/*
 * report_md.c - report.md: the configurations' table (the seeds aggregated, beside the
 * lab handout's own figures), the runs' table with links to each run's files, the lab's
 * four questions (report_questions.c), what a notebook would add (per-class accuracy,
 * accuracy against the learning rate), and every figure that was drawn. Relative links
 * only, so that it renders on GitHub and in any Markdown viewer.
 */
#include "report_impl.h"

#include <math.h>

#include "trainer/run_analysis.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static const tr_metric_row *last_row(const rp_run *run)
{
	return run->n_rows ? &run->rows[run->n_rows - 1] : NULL;
}

/* "0.9512 ± 0.0040 (0.9471-0.9550)" over several seeds, "0.9512" for one. */
static void stats_cell(char *buf, size_t cap, const tr_stats *s)
{
	rp_fmt_stats(buf, cap, s, 4);
	if (s->n > 1)
		snprintf(buf + strlen(buf), cap - strlen(buf), " (%.4f-%.4f)", s->min, s->max);
}

/* ---- the configurations' table ---- */

static void configs_table(FILE *f, const rp_report *r)
{
	bool any_seed = false;
	size_t i;

	fprintf(f, "## Results by configuration\n\n");
	if (r->max_seeds > 1)
		fprintf(f, "Each configuration was trained with several seeds (initialisation and "
			"batch order); each figure is the mean ± the sample standard deviation "
			"over its seeds, with the range in parentheses. ");
	fprintf(f, "*Test acc, final*: the parameters at the end of the run; *test acc, best "
		"val*: the parameters at the run's best validation accuracy (`best/`, early "
		"stopping without stopping).\n\n"
		"| configuration | lr | lambda | seeds | test acc, final | test acc, best val "
		"| best val acc | final val acc | the handout's test acc |\n"
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];
		char lr[48], l2[48], ta[96], tb[96], bv[96], fv[96], seed[64];
		double handout = rp_seed_reported(r, c);

		rp_dec(c->lr, lr, sizeof(lr));
		rp_dec(c->l2, l2, sizeof(l2));
		stats_cell(ta, sizeof(ta), &c->test_acc);
		stats_cell(tb, sizeof(tb), &c->best_test_acc);
		stats_cell(bv, sizeof(bv), &c->best_val_acc);
		stats_cell(fv, sizeof(fv), &c->final_val_acc);
		rp_fmt(seed, sizeof(seed), "%.2f (the handout's)", handout);
		any_seed |= isfinite(handout);
		fprintf(f, "| %s | %s | %s | %zu | %s | %s | %s | %s | %s |\n", c->name, lr, l2,
			c->n, ta, tb, bv, fv, seed);
	}
	fprintf(f, "\n");
	if (any_seed)
		fprintf(f, "The last column is the lab handout's own result (0.92 with L2, 0.88 "
			"without, at lr 0.005 after 30,000 iterations, one run each), not a "
			"measurement of this experiment%s.\n\n",
			r->n_runs && r->runs[0].iters != 30000 ? "; these runs are shorter" : "");
}

/* ---- the runs' table ---- */

static void status_cell(FILE *f, const rp_run *run)
{
	if (rp_is_diverged(run)) {
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
		"*CE*: mean cross-entropy; *L2 term*: lambda * sum(w^2) / 2, so that the loss "
		"is CE + L2 term (the seed's loss). Files: each run's curve (`metrics.csv`) and "
		"summary (`summary.json`).\n\n"
		"| run | seed | lr | lambda | device | iterations | final val CE | final L2 term "
		"| best val acc (iteration) | final val acc | test acc, final | test acc, best "
		"val | wall time | status | files |\n"
		"|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *run = &r->runs[i];
		const tr_metric_row *last = last_row(run);
		char lr[48], l2[48], vc[32], lt[32], va[32], ta[32], tb[64], wall[32], best[64];

		rp_dec(run->lr, lr, sizeof(lr));
		rp_dec(run->l2, l2, sizeof(l2));
		rp_fmt(vc, sizeof(vc), "%.4g", last ? last->val_ce : NAN);
		rp_fmt(lt, sizeof(lt), "%.4g", last ? last->l2_term : NAN);
		rp_fmt(va, sizeof(va), "%.4f", last ? last->val_acc : NAN);
		rp_fmt(ta, sizeof(ta), "%.4f", run->test_acc);
		if (isfinite(run->best_test_acc))
			snprintf(tb, sizeof(tb), "%.4f (%ld)", run->best_test_acc, run->best_iter);
		else
			snprintf(tb, sizeof(tb), "-");
		duration(run->wall_seconds, wall, sizeof(wall));
		if (run->peak.best_raw_acc >= 0)
			snprintf(best, sizeof(best), "%.4f (%ld)", run->peak.best_raw_acc,
				 run->peak.best_raw_iter);
		else
			snprintf(best, sizeof(best), "-");
		fprintf(f, "| %s | %ld | %s | %s | %s (%s) | %ld | %s | %s | %s | %s | %s | %s | %s | ",
			run->name, run->seed, lr, l2, run->backend, run->device,
			run->iterations_done, vc, lt, best, va, ta, tb, wall);
		status_cell(f, run);
		if (run->drawable)
			fprintf(f, " | [metrics.csv](%s/metrics.csv), [summary.json](%s/summary.json) |\n",
				run->name, run->name);
		else
			fprintf(f, " | - |\n");
	}
	fprintf(f, "\n");
}

static void settings_lines(FILE *f, const rp_report *r)
{
	size_t i, j;

	fprintf(f, "Settings of the runs (apart from seed, lr and lambda):\n\n");
	for (i = 0; i < r->n_runs; i++) {
		const rp_run *a = &r->runs[i];

		for (j = 0; j < i && !rp_same_base(&r->runs[j], a); j++)
			;
		if (j < i)
			continue;
		fprintf(f, "- layers %s, init %s%s%s, batch %ld, %ld iterations, evaluation every "
			"%ld, L2 on %s, %ld validation images%s", a->layers, a->init,
			a->init_weights[0] ? " from " : "", a->init_weights, a->batch, a->iters,
			a->eval_every, strcmp(a->l2_scope, "weights") ? "weights and biases" :
			"weights only", a->val_size, a->shuffle ? "" : ", no shuffling");
		fprintf(f, "; seeds");
		for (j = i; j < r->n_runs; j++) {
			size_t k;

			if (!rp_same_base(&r->runs[j], a))
				continue;
			for (k = i; k < j && !(rp_same_base(&r->runs[k], a) &&
					       r->runs[k].seed == r->runs[j].seed); k++)
				;
			if (k == j)
				fprintf(f, "%s %ld", j == i ? "" : ",", r->runs[j].seed);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
}

/* ---- what a notebook would add ---- */

static void per_class_table(FILE *f, const rp_report *r)
{
	size_t i, k, j, shown = 0;

	for (i = 0; i < r->n_configs; i++)
		for (j = 0; j < r->configs[i].n; j++)
			shown += r->runs[r->configs[i].idx[j]].an.have;
	if (!shown)
		return;
	fprintf(f, "### Per-class test accuracy\n\n"
		"From each run's confusion matrix (final parameters; `confusion.csv` in the run "
		"directory), the mean over the seeds of a configuration. The lowest of each row "
		"is in bold.\n\n| configuration |");
	for (k = 0; k < TR_N_CLASSES; k++)
		fprintf(f, " %zu |", k);
	fprintf(f, "\n|---|");
	for (k = 0; k < TR_N_CLASSES; k++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (i = 0; i < r->n_configs; i++) {
		const rp_config *c = &r->configs[i];
		double acc[TR_N_CLASSES], lo = INFINITY;

		for (k = 0; k < TR_N_CLASSES; k++) {
			double v[RP_MAX_SEEDS];
			tr_stats s;

			for (j = 0; j < c->n; j++) {
				const rp_run *run = &r->runs[c->idx[j]];

				v[j] = run->an.have ? run->an.class_acc[k] : NAN;
			}
			tr_stats_compute(v, c->n, &s);
			acc[k] = s.mean;
			lo = isfinite(s.mean) && s.mean < lo ? s.mean : lo;
		}
		fprintf(f, "| %s |", c->name);
		for (k = 0; k < TR_N_CLASSES; k++) {
			if (!isfinite(acc[k]))
				fprintf(f, " - |");
			else
				fprintf(f, acc[k] == lo ? " **%.3f** |" : " %.3f |", acc[k]);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
}

static void image(FILE *f, const char *alt, const char *path, bool svg)
{
	fprintf(f, "![%s](%s.png)", alt, path);
	if (svg)
		fprintf(f, " ([SVG](%s.svg))", path);
	fprintf(f, "\n\n");
}

static void notebook(FILE *f, const rp_report *r)
{
	char path[RP_PATH_MAX];
	size_t i;

	fprintf(f, "## What a notebook would add\n\n");
	for (i = 0; i < r->n_groups; i++) {
		if (!r->groups[i].fig_lr)
			continue;
		fprintf(f, "### Test accuracy against the learning rate\n\n"
			"Final parameters and the parameters at the best validation accuracy, each "
			"the mean over the seeds with error bars from the lowest to the highest seed.\n\n");
		rp_path(path, sizeof(path), "figures/compare-%s-test-acc", r->groups[i].tag);
		image(f, "test accuracy against the learning rate", path, true);
	}
	per_class_table(f, r);
	fprintf(f, "Each run's confusion matrix and a grid of its misclassified test digits "
		"(true and predicted class above each) are with its figures below; the "
		"misclassified digits are the first %d in the test file's order, not the worst "
		"ones.\n\n", TR_MISCLASSIFIED_MAX);
}

/* ---- figures ---- */

static void comparisons(FILE *f, const rp_report *r)
{
	char path[RP_PATH_MAX];
	size_t i;

	if (!r->n_groups && !r->n_pairs)
		return;
	fprintf(f, "### Comparisons\n\n");
	if (r->max_seeds > 1)
		fprintf(f, "Each configuration is drawn as the mean over its seeds, with a band "
			"from the lowest to the highest seed at each evaluation.\n\n");
	for (i = 0; i < r->n_groups; i++) {
		const rp_lr_group *g = &r->groups[i];

		fprintf(f, "Learning rates on shared axes:\n\n");
		rp_path(path, sizeof(path), "figures/compare-%s-loss", g->tag);
		if (g->fig_loss)
			image(f, "validation cross-entropy by learning rate", path, true);
		rp_path(path, sizeof(path), "figures/compare-%s-loss-late", g->tag);
		if (g->fig_loss_late)
			image(f, "validation cross-entropy by learning rate, without the first 20 "
			      "evaluations", path, true);
		rp_path(path, sizeof(path), "figures/compare-%s-acc", g->tag);
		if (g->fig_acc)
			image(f, "validation accuracy by learning rate", path, true);
		rp_path(path, sizeof(path), "figures/compare-%s-acc-late", g->tag);
		if (g->fig_acc_late)
			image(f, "validation accuracy by learning rate, without the first 20 "
			      "evaluations", path, true);
	}
	for (i = 0; i < r->n_pairs; i++) {
		const rp_l2_pair *p = &r->pairs[i];
		static const struct { const char *suffix, *alt; bool svg; } figs[] = {
			{ "loss", "validation cross-entropy with and without L2, and the L2 term", true },
			{ "loss-late", "the same without the first 20 evaluations", true },
			{ "acc", "validation accuracy with and without L2", true },
			{ "acc-late", "validation accuracy without the first 20 evaluations", true },
			{ "weights", "weight matrices with and without L2 on one symmetric scale", false },
			{ "tiles", "the first columns of W1 with and without L2 on one scale", false },
			{ "hist", "weight histograms with and without L2, and the initial values", false },
		};
		const bool drawn[] = { p->fig_loss, p->fig_loss_late, p->fig_acc, p->fig_acc_late,
				       p->fig_weights, p->fig_tiles, p->fig_hist };
		size_t k;

		fprintf(f, "With vs without L2 (%s vs %s):\n\n", r->configs[p->with].name,
			r->configs[p->without].name);
		for (k = 0; k < sizeof(figs) / sizeof(figs[0]); k++) {
			if (!drawn[k])
				continue;
			rp_path(path, sizeof(path), "figures/compare-%s-%s", p->tag, figs[k].suffix);
			image(f, figs[k].alt, path, figs[k].svg);
		}
	}
}

static void run_figures(FILE *f, const rp_run *run, bool folded)
{
	static const char *const alt[RP_N_FIGS] = {
		"cross-entropy, L2 term and loss", "accuracy",
		"cross-entropy and L2 term without the first 20 evaluations",
		"accuracy without the first 20 evaluations", "weight matrices",
		"first 64 columns of W1 as images", "weight histograms", "confusion matrix",
		"misclassified test digits",
	};
	char path[RP_PATH_MAX];
	int k;

	if (folded)
		fprintf(f, "<details><summary><b>%s</b> (click to open)</summary>\n\n", run->name);
	else
		fprintf(f, "### %s\n\n", run->name);
	if (!run->drawable) {
		fprintf(f, "No figures: the directory name has characters that gnuplot paths or "
			"Markdown links cannot carry as they are.\n\n");
	} else {
		for (k = 0; k < RP_N_FIGS; k++) {
			if (!run->fig[k])
				continue;
			rp_fig_path(run, (enum rp_fig)k, path, sizeof(path));
			image(f, alt[k], path, k <= RP_FIG_ACC_LATE);
		}
		if (run->weights_problem[0])
			fprintf(f, "%s: the weights cannot be read: %s.\n\n", run->n_mats ?
				"Weight pictures of the first matrices only" : "No weight pictures",
				run->weights_problem);
		else if (run->n_mats == 0)
			fprintf(f, "No weight pictures: the run left no weights (%s).\n\n", run->status);
		else if (folded)
			fprintf(f, "Weight pictures are drawn for the first seed of each "
				"configuration; this run's matrices are in the tables of question "
				"4.\n\n");
	}
	if (folded)
		fprintf(f, "</details>\n\n");
}

int rp_write_markdown(const rp_report *r, const tr_report_options *opts, tr_error *err)
{
	tr_atomic_file af;
	char path[RP_PATH_MAX], when[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, j;
	FILE *f;
	int rc;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	rp_path(path, sizeof(path), "%s/report.md", r->dir);
	if ((rc = tr_atomic_open(&af, path, err)))
		return rc;
	f = af.fp;
	fprintf(f, "# Experiment report: learning rates and L2 on MNIST\n\n"
		"%zu run%s (%zu configuration%s", r->n_runs, r->n_runs == 1 ? "" : "s",
		r->n_configs, r->n_configs == 1 ? "" : "s");
	if (r->max_seeds > 1)
		fprintf(f, ", up to %zu seeds each", r->max_seeds);
	fprintf(f, ") in this directory; report written by trainer %s on %s (report.json "
		"holds the same figures).\n\n", TRAINER_VERSION, when);
	if (opts->title)
		fprintf(f, "%s\n\n", opts->title);
	if (r->out->note[0])
		fprintf(f, "> **Note:** %s.\n\n", r->out->note);
	if (r->out->n_skipped)
		fprintf(f, "> **Note:** %zu director%s could not be read: %s\n\n", r->out->n_skipped,
			r->out->n_skipped == 1 ? "y" : "ies", r->out->skipped);
	configs_table(f, r);
	runs_table(f, r);
	settings_lines(f, r);
	fprintf(f, "## The lab's questions\n\n");
	rp_write_questions(f, r);
	notebook(f, r);
	fprintf(f, "## Figures\n\n");
	if (r->out->plots_missing)
		fprintf(f, "None were drawn: %s.\n\n", r->out->note);
	comparisons(f, r);
	if (r->max_seeds > 1)
		fprintf(f, "### Each run\n\nThe first seed of each configuration is shown; the "
			"other seeds' figures are folded (click to open).\n\n");
	for (i = 0; i < r->n_configs; i++)
		for (j = 0; j < r->configs[i].n; j++)
			run_figures(f, &r->runs[r->configs[i].idx[j]], j > 0);
	if (ferror(f)) {
		tr_atomic_abort(&af);
		return tr_fail(err, TR_ERR_OUTPUT, "%s: write failed", path);
	}
	return tr_atomic_commit(&af, err);
}
