/*
 * progress.h - progress output of a training run on stderr: on a terminal one line
 * that updates in place (iteration, rate, ETA, last validation accuracy); otherwise
 * one plain line per evaluation. A write to stderr that fails (a closed pipe or
 * terminal; SIGPIPE is ignored) turns the progress output off; the run goes on.
 *
 * A run started by `trainer experiment` also reports to its parent, quiet or not:
 * when the environment has TRAINER_PROGRESS_FD=N, it writes one line per report to
 * file descriptor N (a pipe the parent reads; a line is one atomic write, dropped
 * when the pipe is full or gone), formatted as
 *     P <pid> <s|e> <step> <total> <iterations per second> <last val_acc>
 * 's' at most twice a second, 'e' after each evaluation.
 */
#ifndef TRAINER_CLI_PROGRESS_H
#define TRAINER_CLI_PROGRESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "trainer/formats.h"

#define CLI_PROGRESS_FD_ENV "TRAINER_PROGRESS_FD"

typedef struct cli_progress {
	bool enabled;
	bool tty;
	long total;          /* iterations of the whole run */
	long first_step;     /* iteration this session started from (resume) */
	double t0;           /* monotonic seconds when this session started */
	double last_draw;
	double last_val_acc;
	const char *label;   /* prefix, e.g. the run's name in an experiment */
	int report_fd;       /* TRAINER_PROGRESS_FD, or -1 */
	double last_report;
} cli_progress;

/* One line of the progress pipe, as the parent reads it. */
typedef struct cli_progress_report {
	pid_t pid;
	bool eval;           /* after an evaluation (else a step report) */
	long step, total;
	double rate;         /* iterations per second in this session, evaluations included */
	double val_acc;      /* the last evaluation's, NaN before the first */
} cli_progress_report;

/* Parse one line (without its newline); false when it is not a report. */
bool cli_progress_parse(const char *line, cli_progress_report *r);

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
