/*
 * report.h - the experiment's report, built from whatever run directories an experiment
 * directory holds (run_output.h describes one), answering the lab's four questions.
 *
 * tr_report_build writes into DIR:
 *   report.md     the runs' table, the four answers with their numbers, every figure
 *   report.json   the same figures, for scripts
 *   figures/      PNG (and SVG for the curves), drawn by gnuplot from the scripts in
 *                 plots/, plus the small data files the scripts read; gnuplot.log
 * It never prints: what went wrong with the plots is in the outcome (and in the report).
 */
#ifndef TRAINER_REPORT_H
#define TRAINER_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "trainer/error.h"

typedef struct tr_report_options {
	const char *plots_dir; /* the gnuplot scripts (plots/); NULL: draw nothing */
	const char *gnuplot;   /* the program, found in $PATH when it has no '/';
				  NULL: "gnuplot" */
	const char *title;     /* a line under the heading (the command), or NULL */
} tr_report_options;

typedef struct tr_report_outcome {
	size_t n_runs;         /* run directories found (with a summary.json) */
	size_t n_completed, n_diverged, n_other; /* by status */
	size_t n_skipped;      /* directories that looked like runs but could not be read */
	char skipped[512];     /* the last one skipped, and why */
	size_t n_bad_weights;  /* runs whose weight files are there but cannot be read */
	char bad_weights[512]; /* the last of them, and why */
	size_t n_figures;      /* figures drawn */
	size_t n_figures_failed;
	bool plots_missing;    /* no gnuplot, or no plots directory: nothing was drawn */
	char note[512];        /* one line on what was not drawn and why, or "" */
	char report_md[1100];  /* the path of report.md */
} tr_report_outcome;

/* Build the report of the experiment in dir. TR_ERR_INPUT when dir is not a readable
 * directory or holds no run; TR_ERR_OUTPUT when report.md or report.json cannot be
 * written. Missing or failing plots are not an error here: see out->plots_missing,
 * out->n_figures_failed and out->note. */
int tr_report_build(const char *dir, const tr_report_options *opts, tr_report_outcome *out,
		    tr_error *err);

#endif /* TRAINER_REPORT_H */
