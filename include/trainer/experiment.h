/*
 * experiment.h - the lab experiment as data: presets (which runs), run names, and the
 * pure figures the report is built from (peak detection, convergence, sparsity,
 * histograms), plus two helpers for running runs as separate processes.
 *
 * Everything here is pure computation on caller-owned arrays, except tr_spawn, which
 * starts a process. Nothing prints or exits. report.h builds the report from these.
 */
#ifndef TRAINER_EXPERIMENT_H
#define TRAINER_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trainer/error.h"
#include "trainer/formats.h"

/* ---- presets ---- */

#define TR_EXP_MAX_CONFIGS 8  /* configurations (lr and lambda) of one experiment */
#define TR_EXP_MAX_SEEDS 20
#define TR_EXP_MAX_RUNS (TR_EXP_MAX_CONFIGS * TR_EXP_MAX_SEEDS)
#define TR_EXP_NAME_MAX 64

/* One run of the experiment matrix: a configuration and a seed. */
typedef struct tr_exp_run {
	char name[TR_EXP_NAME_MAX]; /* the run directory's name, e.g. "lr0.005-l2" or, with
				       several seeds, "lr0.005-l2-s2" */
	double lr;                  /* Adam learning rate */
	double l2;                  /* lambda; 0 = without L2 */
	uint64_t seed;              /* initialisation and batch order */
} tr_exp_run;

/* A preset: the runs and the settings every run shares. */
typedef struct tr_exp_preset {
	const char *name;     /* "seed", "full", "quick" */
	long iters;           /* iterations per run */
	long eval_every;      /* evaluation interval */
	const char *summary;  /* one line for --help and the docs */
} tr_exp_preset;

/* The lab's settings every preset shares: batch 64, uniform01 initialisation, and
 * lambda 0.0005 for the runs with L2. */
#define TR_EXP_LAMBDA 0.0005

/* Look a preset up by name; NULL when there is none of that name. */
const tr_exp_preset *tr_exp_preset_find(const char *name);

/* TR_OK when name is a preset, else TR_ERR_USAGE naming the presets there are. */
int tr_exp_preset_check(const char *name, tr_error *err);

/* The configurations of a preset, in order, with lambda `l2` for the runs with L2 (the
 * preset's TR_EXP_LAMBDA unless the user chose another). When lr_override > 0 every
 * configuration uses that learning rate instead of the preset's. Configurations that
 * become equal (same lr and lambda) are merged, so `--lr X` leaves the L2 pair at X and
 * `--l2 0` the runs without L2. Returns the number written to configs (at most
 * TR_EXP_MAX_CONFIGS); their seed is 0 and their name has no seed. */
size_t tr_exp_preset_runs(const tr_exp_preset *p, double lr_override, double l2,
			  tr_exp_run *configs);

/* Every configuration with every seed, configuration by configuration: runs gets
 * n_configs * n_seeds entries (at most TR_EXP_MAX_RUNS; returns the number). With one
 * seed the names stay the configurations' ("lr0.005-l2"); with more each gets its
 * seed: "lr0.005-l2-s1", "lr0.005-l2-s2", ... */
size_t tr_exp_with_seeds(const tr_exp_run *configs, size_t n_configs,
			 const uint64_t *seeds, size_t n_seeds, tr_exp_run *runs);

/* The configuration's name of a run directory's name: "lr0.005-l2-s2" -> "lr0.005-l2"
 * (a trailing -s<digits> is dropped), anything else unchanged. */
void tr_exp_config_name(const char *run_name, char *buf, size_t cap);

/* "lr0.005-l2" / "lr0.00005-nol2": the learning rate in plain decimal, no exponent. */
void tr_exp_run_name(double lr, double l2, char *buf, size_t cap);

/* Format a number in plain decimal with up to 10 decimals and no trailing zeros
 * ("0.00005", "30", "0.1"). */
void tr_exp_format_decimal(double x, char *buf, size_t cap);

/* ---- re-running an experiment in the same directory ---- */

/* What a run directory holds now, compared with the run that is wanted there. */
typedef struct tr_exp_run_state {
	bool exists;            /* the directory exists and is not empty */
	bool has_summary;       /* summary.json was read */
	bool has_checkpoint;    /* checkpoint.bin is there */
	char status[32];        /* summary.json's status ("completed", ...), or "" */
	long iterations_done;
	long iters;             /* the iterations it was asked for */
	double test_acc;        /* NaN when there is none */
	double wall_seconds;    /* NaN when unknown */
	long diverged_at;       /* 0 when it did not diverge */
	char mismatch[200];     /* "" or the first setting that differs from the wanted one */
} tr_exp_run_state;

/* Read run_dir's state. want (may be NULL) and want_val_size are the settings the
 * experiment wants there; every setting but the number of iterations is compared
 * (layers, init, seed, lr, l2, l2 scope, batch, evaluation interval, validation size,
 * shuffling). A missing directory is no error; an unreadable summary.json is
 * TR_ERR_INPUT naming it. */
struct tr_train_config;
int tr_exp_run_state_read(const char *run_dir, const struct tr_train_config *want,
			  size_t want_val_size, tr_exp_run_state *st, tr_error *err);

enum tr_exp_action {
	TR_EXP_NEW,     /* nothing there: train */
	TR_EXP_KEEP,    /* completed (or diverged) with these settings: keep it */
	TR_EXP_RESUME,  /* a checkpoint is there: continue it (trainer train --resume) */
	TR_EXP_RERUN,   /* something else is there: train again over it (--force) */
	TR_EXP_CONFLICT,/* a run with other settings is there: refuse (st->mismatch says) */
};

/* What to do with a run directory in this state when want_iters iterations are wanted.
 * force: start every run again (RERUN, or NEW when the directory is empty). A completed
 * run with fewer iterations than wanted is continued when it has a checkpoint; one with
 * more is a conflict. A diverged run is a result, and is kept. */
enum tr_exp_action tr_exp_decide(const tr_exp_run_state *st, long want_iters, bool force);

const char *tr_exp_action_name(enum tr_exp_action a); /* "new", "keep", ... */

/* ---- the figures behind the lab's questions ---- */

/* Peak detection on the validation accuracy (question 1). */
typedef struct tr_peak_params {
	size_t smooth_window;  /* centred moving average over this many points (odd);
				  0 = tr_peak_default_window(n) */
	double hold_tol;       /* "held": smoothed accuracy within this of the peak */
	double decline_margin; /* "fell": the last third's mean at least this below the peak */
} tr_peak_params;

/* hold_tol 0.01, decline_margin 0.02, window chosen from the curve's length. */
void tr_peak_params_default(tr_peak_params *p);

/* max(3, n / 30) rounded up to odd, at most 11: about 3 % of the run. */
size_t tr_peak_default_window(size_t n);

enum tr_curve_shape {
	TR_SHAPE_TOO_SHORT = 0,   /* fewer than 6 finite points */
	TR_SHAPE_NO_LEARNING,     /* best validation accuracy below 0.2 (chance is 0.1) */
	TR_SHAPE_PEAK_DECLINE,    /* rose to a peak, then fell by >= decline_margin */
	TR_SHAPE_RISE_HOLD,       /* rose and held (within the margin) to the end */
	TR_SHAPE_STILL_RISING,    /* the peak is in the last third, after a rise in it */
};

typedef struct tr_peak_result {
	enum tr_curve_shape shape;
	size_t n;               /* points used (the finite prefix of the curve) */
	size_t window;          /* smoothing window used */
	size_t peak_index;      /* index of the smoothed maximum */
	long peak_iter;
	double peak_acc;        /* smoothed validation accuracy at the peak */
	double best_raw_acc;    /* largest raw validation accuracy (-1 when n is 0), and its
				   iteration; set even when the curve is too short */
	long best_raw_iter;
	long hold_from_iter;    /* the smoothed curve stays within hold_tol of the peak */
	long hold_to_iter;      /*   from hold_from_iter to hold_to_iter (contiguous) */
	size_t late_start;      /* first index of the last third */
	long late_from_iter;
	double late_mean_acc;   /* mean raw validation accuracy over the last third */
	double drop;            /* peak_acc - late_mean_acc */
	bool declined;          /* drop >= decline_margin and the peak is before the last third */
	double val_loss_at_peak;/* smoothed validation loss at the peak ... */
	double val_loss_end;    /* ... and at the last point */
	bool loss_kept_falling; /* val_loss_end < val_loss_at_peak */
} tr_peak_result;

/* Analyse rows[0..n) (only the finite prefix counts: a diverged run's last rows are not
 * finite). params may be NULL for the defaults. Never fails; out->shape says what was
 * found. */
void tr_peak_detect(const tr_metric_row *rows, size_t n, const tr_peak_params *params,
		    tr_peak_result *out);

/* A decline of the validation accuracy anywhere in a run (question 1): the smoothed
 * accuracy fell at least decline_margin below its running peak, whether or not it came
 * back. */
typedef struct tr_decline {
	long from_iter;         /* the running peak it fell from ... */
	double from_acc;        /* ... and its smoothed accuracy */
	long bottom_iter;       /* the lowest smoothed point before it recovered (or the end) */
	double bottom_acc;
	double drop;            /* from_acc - bottom_acc (>= decline_margin) */
	double val_loss_from, val_loss_bottom; /* smoothed validation loss (with the L2 term,
						  as the seed's) at the peak and the bottom */
	bool val_loss_fell;     /* val_loss_bottom < val_loss_from */
	double val_ce_from, val_ce_bottom;     /* the cross-entropy alone; NaN when the
						  metrics have no val_ce column */
	bool recovered;         /* came back within hold_tol of from_acc ... */
	long recovered_iter;    /* ... first at this iteration; -1 when it did not */
} tr_decline;

#define TR_MAX_DECLINES 32

/* Every decline in rows[0..n) (finite prefix), in order. After a recovery the search
 * goes on from there, with the running peak starting again at the recovery point. The
 * first `cap` go to out; returns how many there are. params may be NULL. */
size_t tr_find_declines(const tr_metric_row *rows, size_t n, const tr_peak_params *params,
			tr_decline *out, size_t cap);

/* Short name of a shape ("peak-then-decline", ...). */
const char *tr_curve_shape_name(enum tr_curve_shape s);

/* Moving average of x[0..n) into out[0..n) over an odd window of points, centred where
 * it fits and moved inwards near the ends, so that every value averages `window` points
 * (min(window, n), made odd): the end of a still-rising curve is the mean of its last
 * points, never a raw last point. */
void tr_smooth(const double *x, size_t n, size_t window, double *out);

/* How a run converged (question 2): the last third of the evaluations. */
typedef struct tr_convergence {
	size_t n;               /* finite points */
	size_t late_start;      /* first index of the last third */
	long late_from_iter;
	double final_val_acc, final_val_loss, final_train_loss; /* the last finite row */
	double late_mean_acc, late_std_acc;   /* mean and population std of val acc */
	double late_mean_loss, late_std_loss; /* the same of val loss */
	long settled_iter;      /* first iteration from which the smoothed val acc stays
				   within 0.01 of late_mean_acc; -1 when it never does */
	long first_iter_acc90;  /* first iteration with val acc >= 0.9; -1 when none */
} tr_convergence;

/* Index of the first row of the last third of n rows: n - ceil(n / 3). */
size_t tr_last_third_start(size_t n);

/* Convergence figures of rows[0..n) (finite prefix). window as for tr_smooth (0: default). */
void tr_convergence_compute(const tr_metric_row *rows, size_t n, size_t window,
			    tr_convergence *out);

/* Sparsity and size of one weight matrix (question 4). */
typedef struct tr_sparsity {
	size_t n;          /* entries */
	double min, max;   /* for min-max normalisation */
	double max_abs;
	double frac_small; /* fraction with |w| < rel_threshold * max_abs */
	double mean_abs;
	double l2_norm;    /* sqrt(sum w^2) */
	size_t n_nonfinite;/* NaN or Inf entries (ignored by the figures above) */
} tr_sparsity;

/* The lab's threshold: 1 % of the largest magnitude. */
#define TR_SPARSITY_REL 0.01

void tr_sparsity_compute(const float *w, size_t n, double rel_threshold, tr_sparsity *out);

/* Count finite w[0..n) into bins equal-width bins over [lo, hi] (the top edge belongs to
 * the last bin; values outside are not counted). counts has `bins` entries. */
void tr_histogram(const float *w, size_t n, double lo, double hi, size_t bins,
		  size_t *counts);

/* How far a matrix moved from its initial values: mean |w - w0| / mean |w0| over the
 * finite pairs (NaN when w0 is all zero or nothing is finite). */
double tr_weight_movement(const float *w, const float *w0, size_t n);

/* Mean, sample standard deviation (n - 1; 0 for one value), minimum and maximum of
 * the finite x[0..n); n counts those. All NaN when there is none. */
typedef struct tr_stats {
	size_t n;
	double mean, sd, min, max;
} tr_stats;

void tr_stats_compute(const double *x, size_t n, tr_stats *out);

/* The first `tiles` columns of W (rows x cols, row-major, rows == side * side) as a
 * mosaic of side x side tiles, `per_row` tiles per row, one pixel of NaN between tiles
 * (gnuplot leaves NaN blank). The values are the weights themselves, so that every
 * tile is drawn on one scale.
 * out has mosaic_w * mosaic_h floats, row-major, with
 * mosaic_w = per_row * (side + 1) - 1 and mosaic_h = rows_of_tiles * (side + 1) - 1. */
void tr_weight_tiles(const float *w, size_t rows, size_t cols, size_t side, size_t tiles,
		     size_t per_row, float *out, size_t *mosaic_w, size_t *mosaic_h);

/* ---- separate processes ---- */

/* Quote s for a POSIX shell: unchanged when it has only [A-Za-z0-9_./,:=+@%-] (and is
 * not empty), else in single quotes with ' written as '\''. TR_ERR_USAGE if it does not
 * fit in cap. */
int tr_shell_quote(const char *s, char *buf, size_t cap, tr_error *err);

/* Start argv[0] (a path, not searched in PATH unless it has no '/') with argv, in
 * directory cwd (NULL: the current one), stdout and stderr appended to log_path (NULL:
 * inherited), stdin from /dev/null, in a new process group when new_group (so that a
 * terminal's Ctrl-C reaches only the parent, which passes it on). The child gets
 * SIGTERM when this process dies (Linux), and starts with default signal handlers.
 * *pid is the child. */
int tr_spawn(char *const argv[], const char *cwd, const char *log_path, bool new_group,
	     pid_t *pid, tr_error *err);

/* A waitpid status as an exit code: the exit status, or 128 + the signal. */
int tr_exit_code(int wait_status);

/* Is there an executable `name` in $PATH (or at name, when it has a '/')? */
bool tr_find_program(const char *name, char *buf, size_t cap);

#endif /* TRAINER_EXPERIMENT_H */
