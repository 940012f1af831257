/*
 * progress.h - progress output of a training run on stderr: on a terminal one line
 * that updates in place (iteration, rate, ETA, last validation accuracy); otherwise
 * one plain line per evaluation.
 */
#ifndef TRAINER_CLI_PROGRESS_H
#define TRAINER_CLI_PROGRESS_H

#include <stdbool.h>

#include "trainer/formats.h"

typedef struct cli_progress {
	bool enabled;
	bool tty;
	long total;          /* iterations of the whole run */
	long first_step;     /* iteration this session started from (resume) */
	double t0;           /* monotonic seconds when this session started */
	double last_draw;
	double last_val_acc;
	const char *label;   /* prefix, e.g. the run's name in an experiment */
} cli_progress;

void cli_progress_init(cli_progress *p, bool enabled, long first_step, long total,
		       const char *label);
/* After each iteration (cheap: redraws at most 4 times a second). */
void cli_progress_step(cli_progress *p, long step);
/* After each evaluation. */
void cli_progress_eval(cli_progress *p, const tr_metric_row *row);
/* End the in-place line. */
void cli_progress_done(cli_progress *p);

/* "1h02m", "4m05s", "12s" */
void cli_format_duration(double seconds, char *buf, size_t cap);

#endif /* TRAINER_CLI_PROGRESS_H */
