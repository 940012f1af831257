/*
 * report_impl.h - what the parts of the report share: the runs as loaded from their
 * directories, their configurations (the runs that differ only in the seed), and how
 * the configurations are grouped for the comparisons. Private to src/experiment.
 *
 *   report_load.c      run directories -> rp_run (summary.json, metrics.csv, w*.npy,
 *                      analysis.json), with each run's own figures
 *   report_configs.c   runs -> configurations (seeds aggregated), lr groups, L2 pairs
 *   report_gnuplot.c   running gnuplot (one per core at most)
 *   report_plots.c     each run's figures
 *   report_compare_plots.c  figures across runs: configurations on shared axes (mean
 *                      and band over the seeds), with vs without L2, accuracy vs lr
 *   report_md.c        report.md: tables, figures
 *   report_questions.c report.md: the lab's four questions answered
 *   report_json.c      report.json, and tr_report_build itself
 */
#ifndef TRAINER_REPORT_IMPL_H
#define TRAINER_REPORT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "trainer/data.h"
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
#define RP_HARDLY_MOVED 0.05    /* a matrix that moved less than this (mean |w - w0| over
				   mean |w0|) has "hardly moved from its initialisation" */
#define RP_MAX_SEEDS 64         /* runs of one configuration */
#define RP_MAX_GROUPS 32

/* Is matrix a sparser than b (near-zero fraction higher by RP_SPARSER_MARGIN)? */
#define RP_SPARSER(a, b) ((a)->frac_small > (b)->frac_small + RP_SPARSER_MARGIN)

/* One weight matrix of a run. */
typedef struct rp_matrix {
	size_t rows, cols;
	size_t header_len;          /* bytes before the data in wK.npy (gnuplot's skip=) */
	tr_sparsity sp;
	double moved;               /* tr_weight_movement from the initial values; NaN when
				       they are not known */
} rp_matrix;

/* analysis.json and its files (run_analysis.h), when the run wrote them. */
typedef struct rp_analysis {
	bool have;
	size_t class_images[TR_N_CLASSES];
	double class_acc[TR_N_CLASSES];
	size_t n_wrong, n_shown;
	size_t n_hidden;
	size_t units[TR_MAX_LAYERS], dead[TR_MAX_LAYERS];
	size_t val_images;
	bool confusion_file, misclassified_files;
} rp_analysis;

/* Which figures of a run were drawn (paths: figures/<name>/<figure>.png). */
enum rp_fig { RP_FIG_LOSS, RP_FIG_ACC, RP_FIG_LOSS_LATE, RP_FIG_ACC_LATE, RP_FIG_WEIGHTS,
	      RP_FIG_TILES, RP_FIG_HIST, RP_FIG_CONFUSION, RP_FIG_MISCLASSIFIED, RP_N_FIGS };

typedef struct rp_run {
	char name[RP_NAME_MAX];     /* the directory's name */
	char status[32];            /* summary.json's status */
	char backend[32], device[160];
	char layers[160], init[32], l2_scope[16];
	char init_weights[RP_PATH_MAX]; /* --init-weights, or "" */
	double lr, l2;
	long seed, batch, iters, eval_every, val_size;
	bool shuffle;
	long iterations_done;
	double wall_seconds, test_acc;  /* test_acc NaN when there is none */
	long best_iter;             /* summary.json's best: the best parameters (best/) */
	double best_val_acc, best_test_acc; /* NaN when there are none */
	bool diverged;
	long diverged_at;
	char message[600];
	tr_metric_row *rows;        /* metrics.csv, owned */
	size_t n_rows;
	bool has_parts;             /* metrics.csv has the loss's parts (val_ce, l2_term) */
	tr_peak_result peak;
	tr_convergence conv;
	tr_decline declines[TR_MAX_DECLINES];
	size_t n_declines;          /* all of them (declines[] holds the first ones) */
	size_t n_declines_loss_fell;/* of them, those while the validation loss fell */
	size_t n_mats;              /* weight matrices found (0 when the weights are absent) */
	char weights_problem[480];  /* why the weights could not be read ("" when they were
				     * read, or the run left none) */
	rp_matrix mats[TR_MAX_LAYERS];
	rp_analysis an;
	bool drawable;              /* the name is safe inside gnuplot strings */
	bool fig[RP_N_FIGS];
	size_t config;              /* index into rp_report.configs */
} rp_run;

/* The runs that differ only in the seed, with their figures over the seeds. */
typedef struct rp_config {
	char name[RP_NAME_MAX];     /* the run directories' name without -s<seed> */
	size_t idx[RP_MAX_SEEDS];   /* into runs, by seed */
	size_t n;
	double lr, l2;
	tr_stats test_acc;          /* final parameters */
	tr_stats best_test_acc;     /* the best parameters (early stopping) */
	tr_stats best_val_acc;      /* best raw validation accuracy */
	tr_stats final_val_acc;
	tr_stats late_mean_acc;     /* mean validation accuracy over the last third */
	tr_stats late_std_acc;      /* its noise within each run */
	tr_stats late_min_acc, late_max_acc; /* the range over the last third (all seeds) */
	size_t n_decline;           /* seeds with a decline while the validation loss fell */
	size_t n_judged;            /* seeds with enough finite evaluations to tell */
	bool drawable;
	bool band;                  /* figures/<name>/band.csv written (mean, min, max) */
} rp_config;

/* Configurations that differ only in the learning rate (same lambda > 0). */
typedef struct rp_lr_group {
	size_t idx[TR_EXP_MAX_CONFIGS * 4]; /* into configs, by increasing lr */
	size_t n;
	bool fig_loss, fig_loss_late, fig_acc, fig_acc_late, fig_lr;
	char tag[32];               /* figure name part: "lr" or "lr-2", ... */
} rp_lr_group;

/* A configuration with L2 and the one that differs from it only by having none. */
typedef struct rp_l2_pair {
	size_t with, without;       /* into configs */
	bool fig_loss, fig_loss_late, fig_acc, fig_acc_late, fig_weights, fig_tiles, fig_hist;
	char tag[64];               /* figure name part: "l2-lr0.005" */
} rp_l2_pair;

typedef struct rp_report {
	const char *dir;
	rp_run *runs;               /* sorted: by the base settings, lambda, lr, then seed */
	size_t n_runs;
	rp_config *configs;         /* in the runs' order */
	size_t n_configs;
	size_t max_seeds;           /* the most runs any configuration has */
	rp_lr_group groups[RP_MAX_GROUPS];
	size_t n_groups;
	rp_l2_pair pairs[RP_MAX_GROUPS];
	size_t n_pairs;
	tr_peak_params peak_params;
	tr_report_outcome *out;
} rp_report;

/* ---- report_load.c ---- */

/* Read a run's summary.json into run (the settings, status, device and results). */
int rp_read_summary(rp_run *run, const char *path, tr_error *err);

/* Load every run directory under r->dir into r->runs (and count the skipped ones in
 * r->out) with each run's figures, sorted. TR_ERR_INPUT when dir cannot be read or
 * holds no run. */
int rp_load_runs(rp_report *r, tr_error *err);
void rp_free_runs(rp_report *r);

/* The initial parameters of a run (from its seed and init, or its --init-weights),
 * malloc'ed into *params (caller frees), with their layout. False when unknown. */
bool rp_initial_params(const rp_run *run, tr_layout *lay, float **params);

/* ---- report_configs.c ---- */

/* True when runs a and b have the same settings apart from seed, lr and lambda. */
bool rp_same_base(const rp_run *a, const rp_run *b);

/* Group the sorted runs into configurations with their figures over the seeds, and the
 * configurations into lr groups and L2 pairs. */
int rp_group_runs(rp_report *r, tr_error *err);

/* The lab handout's own test accuracy for this configuration (0.92 with L2 and 0.88
 * without, at lr 0.005 and lambda 0.0005 on the lab's network, initialisation and
 * batch, after 30,000 iterations), or NaN. */
double rp_seed_reported(const rp_report *r, const rp_config *c);

/* ---- report_plots.c, report_compare_plots.c ---- */

#define RP_MAX_GNUPLOTS 8 /* gnuplot processes at once (at most one per core) */

/* A gnuplot run in progress: what it should draw, and the flag to set when it did. */
typedef struct rp_plot_job {
	pid_t pid;
	char png[RP_PATH_MAX];
	bool *drawn;
} rp_plot_job;

/* Where gnuplot is, the scripts, the log, and the runs in progress; set once per
 * report. */
typedef struct rp_plotter {
	const char *dir;          /* the experiment directory (gnuplot's cwd) */
	char gnuplot[1024];
	const char *plots_dir;
	char log[RP_PATH_MAX];
	tr_report_outcome *out;
	rp_plot_job jobs[RP_MAX_GNUPLOTS];
	size_t n_jobs, max_jobs;
} rp_plotter;

/* gnuplot's -e string: name='value' with ' doubled, numbers with %.9g. */
typedef struct rp_vars {
	char s[8192];
	size_t len;
	bool overflow;
} rp_vars;

/* Is everything there to draw, gnuplot and the scripts (opts)? Sets up pl, or says
 * why not in pl->out->note. */
bool rp_plotter_open(rp_plotter *pl, const tr_report_options *opts);

void rp_var_add(rp_vars *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_var_str(rp_vars *v, const char *name, const char *value);
void rp_var_num(rp_vars *v, const char *name, double x);

/* Start one script with the variables (up to pl->max_jobs run at once; this waits
 * for the oldest when all are busy). *drawn is false until it has exited 0 and made
 * out.png; the data files it reads must stay as they are until rp_gnuplot_wait. */
void rp_gnuplot(rp_plotter *pl, const char *script, rp_vars *v, const char *out,
		bool *drawn);
/* Wait for every gnuplot still running. */
void rp_gnuplot_wait(rp_plotter *pl);

/* Should a loss axis be logarithmic: do the finite positive values of the chosen
 * columns of rows[first..) span more than RP_LOGY_SPAN? Widens [*lo, *hi]. */
bool rp_loss_spans_decades(const tr_metric_row *rows, size_t n, size_t first,
			   bool val_only, bool ce, double *lo, double *hi);

/* Draw every figure with gnuplot; what was drawn is recorded in the runs, groups and
 * pairs, and in r->out. Fails only when figures/ cannot be created or written. */
int rp_draw_figures(rp_report *r, const tr_report_options *opts, tr_error *err);
/* The figures across runs (called by rp_draw_figures). */
void rp_draw_comparisons(rp_plotter *pl, rp_report *r);

/* The first RP_TILES columns of run_dir/w1.npy as a raw float32 mosaic at path
 * (tr_weight_tiles), its size, and the largest |w| in it. */
int rp_write_tiles(const char *path, const char *run_dir, size_t *w, size_t *h,
		   double *max_abs, tr_error *err);

#define RP_HIST_SETS 4 /* runs in one histogram file */
/* Histograms of each weight matrix of runs[0..n_runs) (their directories under dir),
 * on common bins per matrix, and of the first run's initial values when they are known
 * (*with_init): blocks of "centre,count,...,count" lines, one per matrix. */
int rp_write_hists(const char *dir, const char *path, const rp_run *const *runs,
		   size_t n_runs, bool *with_init, tr_error *err);

/* ---- report_md.c, report_questions.c, report_json.c ---- */

int rp_write_markdown(const rp_report *r, const tr_report_options *opts, tr_error *err);
void rp_write_questions(FILE *f, const rp_report *r);
int rp_write_json(const rp_report *r, tr_error *err);

/* ---- small shared helpers ---- */

/* snprintf for paths (a path that does not fit is cut short, and then not found). */
void rp_path(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "figures/<run>/<fig>" (no extension) for figure f of run. */
void rp_fig_path(const rp_run *run, enum rp_fig f, char *buf, size_t cap);

/* Plain decimal ("0.005"), a figure or "-" for NaN, "0.9123 +- 0.0040" over seeds. */
void rp_dec(double x, char *buf, size_t cap);
void rp_fmt(char *buf, size_t cap, const char *f, double x);
void rp_fmt_stats(char *buf, size_t cap, const tr_stats *s, int decimals);

bool rp_is_diverged(const rp_run *run);

#endif /* TRAINER_REPORT_IMPL_H */
