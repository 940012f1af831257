/* progress.c - see progress.h. */
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trainer/clock.h"

#define REPORT_INTERVAL 0.5 /* seconds between step reports to the parent */

void cli_format_duration(double s, char *buf, size_t cap)
{
	long t = (long)(s + 0.5);

	if (!isfinite(s) || s < 0)
		snprintf(buf, cap, "?");
	else if (t >= 3600)
		snprintf(buf, cap, "%ldh%02ldm", t / 3600, (t / 60) % 60);
	else if (t >= 60)
		snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, cap, "%lds", t);
}

/* The parent's pipe, when TRAINER_PROGRESS_FD names an open descriptor above stderr.
 * A parent that is gone must not kill the run: SIGPIPE is ignored, EPIPE dropped. */
static int report_fd_from_env(void)
{
	const char *env = getenv(CLI_PROGRESS_FD_ENV);
	char *end;
	long fd;

	if (!env || !*env)
		return -1;
	fd = strtol(env, &end, 10);
	if (*end || fd <= STDERR_FILENO || fd > 65535 || fcntl((int)fd, F_GETFD) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return (int)fd;
}

static void report(cli_progress *p, char kind, long step, double rate)
{
	char line[160];
	int len;

	len = snprintf(line, sizeof(line), "P %ld %c %ld %ld %.3f %.6f\n", (long)getpid(), kind,
		       step, p->total, rate, p->last_val_acc);
	if (len > 0 && (size_t)len < sizeof(line) && write(p->report_fd, line, (size_t)len) < 0 &&
	    errno != EAGAIN && errno != EINTR)
		p->report_fd = -1; /* the parent is gone: stop reporting */
}

bool cli_progress_parse(const char *line, cli_progress_report *r)
{
	char kind, rest;
	long pid;

	if (sscanf(line, "P %ld %c %ld %ld %lf %lf %c", &pid, &kind, &r->step, &r->total,
		   &r->rate, &r->val_acc, &rest) != 6 || (kind != 's' && kind != 'e') ||
	    pid <= 0 || r->step < 0 || r->total <= 0)
		return false;
	r->pid = (pid_t)pid;
	r->eval = kind == 'e';
	return true;
}

void cli_progress_init(cli_progress *p, bool enabled, long first_step, long total,
		       const char *label)
{
	p->enabled = enabled;
	p->tty = enabled && isatty(STDERR_FILENO);
	p->total = total;
	p->first_step = first_step;
	p->t0 = tr_now_seconds();
	p->last_draw = 0.0;
	p->last_val_acc = NAN;
	p->label = label ? label : "";
	p->report_fd = report_fd_from_env();
	p->last_report = 0.0;
}

/* Iterations per second and the time left, from this session's average rate (the
 * average includes the evaluations, so the ETA accounts for them). */
static void rate_eta(const cli_progress *p, long step, double *rate, char *eta, size_t cap)
{
	double dt = tr_now_seconds() - p->t0;
	long done = step - p->first_step;

	*rate = dt > 0 && done > 0 ? (double)done / dt : 0.0;
	if (*rate > 0)
		cli_format_duration((double)(p->total - step) / *rate, eta, cap);
	else
		snprintf(eta, cap, "?");
}

/* A write to stderr failed (a closed pipe or terminal): no more progress output; the
 * run goes on. */
static void check_written(cli_progress *p, int printed)
{
	if (printed < 0 || fflush(stderr) != 0 || ferror(stderr)) {
		p->enabled = false;
		p->tty = false;
		clearerr(stderr);
	}
}

void cli_progress_step(cli_progress *p, long step)
{
	char eta[32];
	double rate, t;

	if (p->report_fd >= 0 && (t = tr_now_seconds()) - p->last_report >= REPORT_INTERVAL) {
		p->last_report = t;
		rate_eta(p, step, &rate, eta, sizeof(eta));
		report(p, 's', step, rate);
	}
	if (!p->tty)
		return;
	t = tr_now_seconds();
	if (t - p->last_draw < 0.25 && step != p->total)
		return;
	p->last_draw = t;
	rate_eta(p, step, &rate, eta, sizeof(eta));
	check_written(p, fprintf(stderr, "\r%siter %ld/%ld  %.1f it/s  ETA %s  val_acc %.4f "
				 "\033[K", p->label, step, p->total, rate, eta,
				 p->last_val_acc));
}

void cli_progress_eval(cli_progress *p, const tr_metric_row *row)
{
	char eta[32];
	double rate;

	p->last_val_acc = row->val_acc;
	if (p->report_fd >= 0) {
		rate_eta(p, row->iter, &rate, eta, sizeof(eta));
		report(p, 'e', row->iter, rate);
	}
	if (!p->enabled || p->tty)
		return;
	rate_eta(p, row->iter, &rate, eta, sizeof(eta));
	check_written(p, fprintf(stderr, "%siter %ld/%ld train_loss %.6g train_acc %.4f "
				 "val_loss %.6g val_acc %.4f (%.1f it/s, ETA %s)\n", p->label,
				 row->iter, p->total, row->train_loss, row->train_acc,
				 row->val_loss, row->val_acc, rate, eta));
}

void cli_progress_done(cli_progress *p)
{
	if (p->tty)
		fputc('\n', stderr);
}
