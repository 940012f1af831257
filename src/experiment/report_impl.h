/*
 * report_impl.h - what the parts of the report share: the runs as loaded from their
 * directories, and how they are grouped for the comparisons. Private to src/experiment.
 *
 *   report_load.c   run directories -> rp_run (summary.json, metrics.csv, w*.npy)
 *   report_plots.c  gnuplot: data files and figures under figures/
 *   report_write.c  report.md and report.json, and tr_report_build itself
 */
#ifndef TRAINER_REPORT_IMPL_H
#define TRAINER_REPORT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "trainer/experiment.h"
#include "trainer/formats.h"
#include "trainer/model.h"
#include "trainer/report.h"

#define RP_NAME_MAX 256
#define RP_PATH_MAX 1400
#define RP_HIST_BINS 100
#define RP_TILES 64        /* W1 columns drawn as tiles */
#define RP_TILES_PER_ROW 8
#define RP_TILE_SIDE 28
#define RP_LATE_SKIP 20    /* the "late" plots leave out this many first points */
#define RP_LOGY_SPAN 100.0 /* log-scale loss axes when max/min exceeds this */
#define RP_SPARSER_MARGIN 0.005 /* "sparser": a near-zero fraction higher by this much */
#define RP_SMALLER_RATIO 0.99   /* "smaller": a mean |w| below this times the other's */

/* Is matrix a sparser than b (near-zero fraction higher by RP_SPARSER_MARGIN)? */
#define RP_SPARSER(a, b) ((a)->frac_small > (b)->frac_small + RP_SPARSER_MARGIN)

/* One weight matrix of a run. */
typedef struct rp_matrix {
	size_t rows, cols;
	size_t header_len;          /* bytes before the data in wK.npy (gnuplot's skip=) */
	tr_sparsity sp;
	size_t hist[RP_HIST_BINS];  /* over [sp.min, sp.max] */
} rp_matrix;

/* Which figures of a run were drawn (paths: figures/<name>/<figure>.png). */
enum rp_fig { RP_FIG_LOSS, RP_FIG_ACC, RP_FIG_LOSS_LATE, RP_FIG_ACC_LATE, RP_FIG_WEIGHTS,
	      RP_FIG_TILES, RP_FIG_HIST, RP_N_FIGS };

typedef struct rp_run {
	char name[RP_NAME_MAX];     /* the directory's name */
	char status[32];            /* summary.json's status */
	char backend[32], device[160];
	char layers[160], init[32], l2_scope[16];
	double lr, l2;
	long seed, batch, iters, eval_every, val_size;
	bool shuffle;
	long iterations_done;
	double wall_seconds, test_acc;  /* test_acc NaN when there is none */
	bool diverged;
	long diverged_at;
	char message[600];
	tr_metric_row *rows;        /* metrics.csv, owned */
	size_t n_rows;
	tr_peak_result peak;
	tr_convergence conv;
	size_t n_mats;              /* weight matrices found (0 when the weights are absent) */
	rp_matrix mats[TR_MAX_LAYERS];
	bool drawable;              /* the name is safe inside gnuplot strings */
	bool fig[RP_N_FIGS];
} rp_run;

/* Runs that differ only in the learning rate (same lambda > 0 and other settings). */
typedef struct rp_lr_group {
	size_t idx[TR_EXP_MAX_RUNS * 4]; /* into runs, by increasing lr */
	size_t n;
	bool fig_loss, fig_acc;
	char tag[32];               /* figure name part: "lr" or "lr-2", ... */
} rp_lr_group;

/* A run with L2 and the run that differs from it only by having none. */
typedef struct rp_l2_pair {
	size_t with, without;
	bool fig_loss, fig_acc, fig_acc_late;
	char tag[64];               /* figure name part: "l2-lr0.005" */
} rp_l2_pair;

#define RP_MAX_GROUPS 32

typedef struct rp_report {
	const char *dir;
	rp_run *runs;               /* sorted: by the base settings, then lambda, then lr */
	size_t n_runs;
	rp_lr_group groups[RP_MAX_GROUPS];
	size_t n_groups;
	rp_l2_pair pairs[RP_MAX_GROUPS];
	size_t n_pairs;
	tr_peak_params peak_params;
	tr_report_outcome *out;
} rp_report;

/* Read a run's summary.json into run (the settings, status, device and results). */
int rp_read_summary(rp_run *run, const char *path, tr_error *err);

/* Load every run directory under r->dir into r->runs (and count the skipped ones in
 * r->out), analyse them, and group them. TR_ERR_INPUT when dir cannot be read or holds
 * no run. */
int rp_load_runs(rp_report *r, tr_error *err);
void rp_free_runs(rp_report *r);

/* True when runs a and b have the same settings apart from lr and lambda. */
bool rp_same_base(const rp_run *a, const rp_run *b);

/* Draw every figure with gnuplot; what was drawn is recorded in the runs, groups and
 * pairs, and in r->out. Fails only when figures/ cannot be created or written. */
int rp_draw_figures(rp_report *r, const tr_report_options *opts, tr_error *err);

/* Write report.md and report.json. */
int rp_write_markdown(const rp_report *r, const tr_report_options *opts, tr_error *err);
int rp_write_json(const rp_report *r, tr_error *err);

/* snprintf for paths (a path that does not fit is cut short, and then not found). */
void rp_path(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "figures/<run>/<fig>" (no extension) for figure f of run. */
void rp_fig_path(const rp_run *run, enum rp_fig f, char *buf, size_t cap);

#endif /* TRAINER_REPORT_IMPL_H */
