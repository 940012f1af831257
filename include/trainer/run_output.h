/*
 * run_output.h - what one training run leaves in its directory:
 *   metrics.csv   one row per evaluation (formats.h)
 *   summary.json  configuration, device, results (written at start and at the end)
 *   w1.npy..wL.npy, b1.npy..bL.npy  the final parameters, float32, W as (in, out)
 * Every file is written atomically (formats.h).
 */
#ifndef TRAINER_RUN_OUTPUT_H
#define TRAINER_RUN_OUTPUT_H

#include "trainer/trainer.h"

/* Facts about a run that the trainer does not know itself. */
typedef struct tr_run_info {
	const char *status;      /* "running", "completed", "diverged", "interrupted", "failed" */
	const char *data_dir;    /* absolute, so that --resume finds it from anywhere */
	size_t val_size;
	int threads;             /* --threads as given (0 = all cores) */
	const char *device;      /* --device as given ("auto", "cpu", "cl:0", ...) */
	const char *checkpoint_every; /* --checkpoint-every as given ("5m", "500", "off") */
	const char *started_at;  /* ISO 8601 UTC */
	const char *init_weights;/* --init-weights directory, or NULL */
	const char *message;     /* the error that ended the run, or NULL */
	bool have_test;          /* test_loss and test_acc are valid */
	double test_loss, test_acc;
	bool have_best;          /* the best parameters' figures are valid (best_params.h) */
	long best_iter;
	double best_val_acc, best_test_acc;
} tr_run_info;

/* The settings of a run that are not training settings (those are in its checkpoint),
 * as its summary.json recorded them: what --resume uses when they are not given again.
 * Empty strings and threads = -1 for what the summary lacks. */
typedef struct tr_run_settings {
	char data_dir[1024];
	char device[64];
	char checkpoint_every[24];
	int threads;
	char status[16];         /* "completed", "interrupted", ... */
} tr_run_settings;

/* Read dir/summary.json's settings. A missing or damaged summary is TR_ERR_INPUT (the
 * caller may go on with defaults). */
int tr_run_read_settings(const char *dir, tr_run_settings *out, tr_error *err);

/* Remove what a run writes in dir (metrics.csv, summary.json, checkpoint.bin, w*.npy,
 * b*.npy, analysis.json, confusion.csv, misclassified.csv and .npy, the best/ set,
 * and temporary files of interrupted writes of those), and nothing else: for --force,
 * so that no file of an earlier run is left beside the new run's. A new kind of output
 * file goes into is_run_output's list. */
int tr_run_remove_outputs(const char *dir, tr_error *err);

/* Remove the temporary files of interrupted atomic writes of the run's outputs
 * (`.<output>.tmp.XXXXXX`) that a killed run left in dir; nothing else. */
void tr_run_remove_stale_temps(const char *dir);

/* Write summary.json into dir. */
int tr_run_write_summary(const char *dir, const tr_trainer *t, const tr_run_info *info,
			 tr_error *err);

/* Write w1..wL.npy and b1..bL.npy from the flat parameter array. */
int tr_run_write_weights(const char *dir, const tr_layout *lay, const float *flat,
			 tr_error *err);

/* Read w1..wL.npy and b1..bL.npy from dir into flat (lay->n_params floats), checking
 * every shape against lay. Errors are TR_ERR_INPUT naming the file. */
int tr_run_read_weights(const char *dir, const tr_layout *lay, float *flat,
			tr_error *err);

/* Write metrics.csv from the trainer's rows. */
int tr_run_write_metrics(const char *dir, const tr_trainer *t, tr_error *err);

#endif /* TRAINER_RUN_OUTPUT_H */
