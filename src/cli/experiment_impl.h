/*
 * experiment_impl.h - what the parts of `trainer experiment` share: the plan (the
 * preset with the user's options, one job per run) and each job's child command line.
 * Private to src/cli.
 *
 *   cmd_experiment.c     the command: plan, emit or run, summary, report
 *   experiment_plan.c    the plan, the experiment directory, experiment.json, --emit-jobs
 *   experiment_cmdline.c each run's `trainer train` command line, shell quoting
 *   experiment_runner.c  starting the runs N at a time, signals, the exit code
 *   experiment_display.c what the terminal shows while the runs go
 */
#ifndef TRAINER_CLI_EXPERIMENT_IMPL_H
#define TRAINER_CLI_EXPERIMENT_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "options.h"
#include "trainer/clock.h"
#include "trainer/experiment.h"

#define EXP_MAX_ARGS 48
#define EXP_ARG_MEM 8192
#define EXP_SELF_EXE "/proc/self/exe"

/* One child's command line, in one block of memory. */
struct exp_args {
	char *v[EXP_MAX_ARGS + 1];
	int n;
	char mem[EXP_ARG_MEM];
	size_t used;
	bool overflow;
};

struct exp_job {
	tr_exp_run run;
	char dir[PATH_MAX + TR_EXP_NAME_MAX + 8];
	char log[PATH_MAX + TR_EXP_NAME_MAX + 16];
	enum tr_exp_action action;
	tr_exp_run_state before;
	struct exp_args args;
	pid_t pid;
	double t0, seconds;
	int code;               /* exit code of the child; -1 while not run */
	/* its progress, as it last reported it (progress.h) */
	bool reported;
	long step, total;
	double rate, val_acc;
};

struct exp_plan {
	const tr_exp_preset *preset;
	tr_train_config cfg;    /* the preset with the user's options; lr and l2 per job */
	char out[PATH_MAX];     /* absolute */
	char data[PATH_MAX];    /* absolute */
	char exe[PATH_MAX];     /* this executable, absolute, for job files and logs */
	int threads;
	size_t n_configs;       /* configurations (lr, lambda) of the preset */
	uint64_t seeds[TR_EXP_MAX_SEEDS];
	size_t n_seeds;         /* each configuration is trained with each seed */
	struct exp_job jobs[TR_EXP_MAX_RUNS]; /* configuration by configuration, seed by seed */
	size_t n_jobs;
};

/* ---- experiment_plan.c ---- */

/* The preset with the user's options, the paths, and one job per run. */
int exp_make_plan(const cli_options *o, struct exp_plan *p, tr_error *err);
/* --emit-jobs FILE: one shell command per run, nothing is run. */
int exp_emit_jobs(struct exp_plan *p, const cli_options *o, tr_error *err);
/* May the experiment write into p->out (new, empty, or an experiment's)? */
int exp_check_out_dir(const struct exp_plan *p, const cli_options *o, tr_error *err);
/* Read every run directory and decide what to do with it; refuse before anything
 * starts on a conflict. Fills each job's command line. */
int exp_decide_actions(struct exp_plan *p, const cli_options *o, tr_error *err);
/* experiment.json: the preset, the runs and their commands (also marks the directory
 * as an experiment's, so that running again there is allowed). */
int exp_write_marker(const struct exp_plan *p, const cli_options *o, tr_error *err);

/* ---- experiment_cmdline.c ---- */

/* The job's `trainer train` command line into j->args (j->args.overflow when it does
 * not fit). */
void exp_job_args(const struct exp_plan *p, const cli_options *o, struct exp_job *j);
/* The command line as one shell-quoted line. */
int exp_shell_line(const struct exp_args *a, char *buf, size_t cap, tr_error *err);

/* ---- experiment_runner.c ---- */

/* Run every job, at most o->jobs at a time; returns when all are done or, after a
 * signal, when the running ones have stopped. */
void exp_run_jobs(struct exp_plan *p, const cli_options *o);
/* Summary line; returns the exit code of the runs: 0 when each completed or diverged,
 * 7 when stopped by a signal, else the first failure's code. */
int exp_summarise(const struct exp_plan *p, const cli_options *o, double seconds);

/* ---- experiment_display.c ----
 * Permanent lines for runs that start, are kept, or end; in between, live progress of
 * the running runs from their reports: on a terminal one line per running run, redrawn
 * in place under the permanent lines; otherwise one line per evaluation. */

struct cli_progress_report;

/* Start showing (nothing at all when o->quiet). */
void exp_display_begin(const struct exp_plan *p, const cli_options *o);
/* Job k reported its progress. */
void exp_display_report(const struct exp_plan *p, struct exp_job *j, size_t k,
			const struct cli_progress_report *r);
/* Redraw the live lines when they are due (the clock moves the ETAs). */
void exp_display_tick(const struct exp_plan *p);
/* Redraw the live lines now (after a run started). */
void exp_display_refresh(const struct exp_plan *p);
/* Remove the live lines (before the summary). */
void exp_display_end(const struct exp_plan *p);

/* "[k/N] run: started ..." (k is 0-based here). */
void exp_show_start(const struct exp_plan *p, const struct exp_job *j, size_t k);
/* "[k/N] run: kept (completed earlier, test accuracy ...)". */
void exp_show_kept(const struct exp_plan *p, const struct exp_job *j, size_t k);
/* "[k/N] run: completed in ..." / DIVERGED / FAILED with the log's last line. */
void exp_show_finish(const struct exp_plan *p, const struct exp_job *j, size_t k);

#endif /* TRAINER_CLI_EXPERIMENT_IMPL_H */
