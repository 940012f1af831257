/*
 * experiment_display.c - what `trainer experiment` shows while its runs go: a line
 * when a run starts, is kept or ends (with the last line of its log when it failed),
 * and between those the runs' own progress, from the reports each child writes to the
 * progress pipe (progress.h): on a terminal one live line per running run (iteration,
 * rate, last validation accuracy, ETA of the run and of the whole experiment), redrawn
 * in place under the permanent lines; otherwise one line per evaluation
 * (experiment_impl.h).
 */
#include "experiment_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress.h"

#define REDRAW_INTERVAL 0.25 /* seconds between redraws of the live lines */
#define LINE_MAX_CHARS 400

static struct {
	bool on;             /* not --quiet */
	bool tty;            /* stdout is a terminal: live lines */
	int live_lines;      /* live lines drawn under the permanent ones */
	double last_draw;
} disp;

/* ---- the figures of a live line ---- */

/* Iterations the experiment has still to run, and the iterations per second of the
 * running runs together (0 when none has reported yet). */
static void experiment_left(const struct exp_plan *p, double *iters, double *rate)
{
	size_t i;

	*iters = *rate = 0;
	for (i = 0; i < p->n_jobs; i++) {
		const struct exp_job *j = &p->jobs[i];
		long done = j->action == TR_EXP_RESUME ? j->before.iterations_done : 0;

		if (j->action == TR_EXP_KEEP || j->code >= 0)
			continue;
		if (j->pid > 0 && j->reported) {
			*iters += (double)(j->total - j->step);
			*rate += j->rate;
		} else {
			*iters += (double)(p->cfg.iters - done);
		}
	}
}

/* The ETA of job j's run (which has reported) and of the whole experiment. */
static void etas(const struct exp_plan *p, const struct exp_job *j, char *run, char *all,
		 size_t cap)
{
	double left, rate;

	snprintf(run, cap, "?");
	snprintf(all, cap, "?");
	if (j->rate > 0)
		cli_format_duration((double)(j->total - j->step) / j->rate, run, cap);
	experiment_left(p, &left, &rate);
	if (rate > 0)
		cli_format_duration(left / rate, all, cap);
}

/* Job k's progress as one line: compact on a terminal (it must fit 80 columns),
 * spelled out otherwise. */
static void progress_text(const struct exp_plan *p, const struct exp_job *j, size_t k,
			  bool compact, char *buf, size_t cap)
{
	char acc[32] = "-", run[32], all[32], rate[32];

	if (!j->reported) {
		snprintf(buf, cap, "[%zu/%zu] %s: starting", k + 1, p->n_jobs, j->run.name);
		return;
	}
	if (isfinite(j->val_acc))
		snprintf(acc, sizeof(acc), "%.4f", j->val_acc);
	snprintf(rate, sizeof(rate), j->rate >= 100 ? "%.0f" : "%.1f", j->rate);
	etas(p, j, run, all, sizeof(run));
	if (compact)
		snprintf(buf, cap, "[%zu/%zu] %s %ld/%ld %sit/s val %s ETA %s, all %s", k + 1,
			 p->n_jobs, j->run.name, j->step, j->total, rate, acc, run, all);
	else
		snprintf(buf, cap, "[%zu/%zu] %s: iter %ld/%ld, val acc %s, %s it/s, ETA run %s, "
			 "experiment %s", k + 1, p->n_jobs, j->run.name, j->step, j->total, acc,
			 rate, run, all);
}

/* ---- the live lines on a terminal ---- */

static int terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

static void clear_live(void)
{
	if (disp.live_lines > 0)
		printf("\r\033[%dA\033[J", disp.live_lines);
	disp.live_lines = 0;
}

static void draw_live(const struct exp_plan *p)
{
	int width = terminal_width();
	char line[LINE_MAX_CHARS];
	size_t i;

	clear_live();
	for (i = 0; i < p->n_jobs; i++) {
		const struct exp_job *j = &p->jobs[i];

		if (j->pid <= 0 || j->code >= 0)
			continue;
		progress_text(p, j, i, true, line, sizeof(line));
		/* One screen line each (a wrapped line would break the redraw). */
		printf("%.*s\n", width - 1, line);
		disp.live_lines++;
	}
	fflush(stdout);
	disp.last_draw = tr_now_seconds();
}

void exp_display_begin(const struct exp_plan *p, const cli_options *o)
{
	memset(&disp, 0, sizeof(disp));
	disp.on = !o->quiet;
	disp.tty = disp.on && isatty(STDOUT_FILENO);
}

void exp_display_report(const struct exp_plan *p, struct exp_job *j, size_t k,
			const struct cli_progress_report *r)
{
	char line[LINE_MAX_CHARS];

	j->reported = true;
	j->step = r->step;
	j->total = r->total;
	j->rate = r->rate;
	j->val_acc = r->val_acc;
	if (!disp.on)
		return;
	if (disp.tty) {
		if (r->eval || tr_now_seconds() - disp.last_draw >= REDRAW_INTERVAL)
			draw_live(p);
	} else if (r->eval) {
		progress_text(p, j, k, false, line, sizeof(line));
		printf("%s\n", line);
		fflush(stdout);
	}
}

void exp_display_tick(const struct exp_plan *p)
{
	if (disp.tty && tr_now_seconds() - disp.last_draw >= 1.0)
		draw_live(p);
}

void exp_display_end(const struct exp_plan *p)
{
	if (disp.tty)
		clear_live();
	fflush(stdout);
}

/* ---- the permanent lines ---- */

/* The child's error in its log: the last line "trainer: <message>" that is not a
 * warning, a note or an "also:" (the error is printed before the hint "(run 'trainer
 * --help' ...)"), else the last non-empty line; "" when there is none. */
static void error_line(const char *path, char *buf, size_t cap)
{
	static const char *const not_errors[] = { "trainer: warning:", "trainer: note:",
						  "trainer: also:" };
	char tail[4096], *line, *save = NULL, *last = NULL, *error = NULL;
	FILE *f = fopen(path, "r");
	size_t n, i;

	buf[0] = '\0';
	if (!f)
		return;
	if (fseek(f, -(long)(sizeof(tail) - 1), SEEK_END) != 0)
		rewind(f);
	n = fread(tail, 1, sizeof(tail) - 1, f);
	fclose(f);
	tail[n] = '\0';
	for (line = strtok_r(tail, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		bool other = false;

		if (!*line)
			continue;
		last = line;
		for (i = 0; i < sizeof(not_errors) / sizeof(not_errors[0]); i++)
			other = other || !strncmp(line, not_errors[i], strlen(not_errors[i]));
		if (!other && !strncmp(line, "trainer: ", 9))
			error = line;
	}
	if (error)
		snprintf(buf, cap, "%.400s", error + 9);
	else if (last)
		snprintf(buf, cap, "%.400s", last);
}

void exp_show_start(const struct exp_plan *p, const struct exp_job *j, size_t k)
{
	char lr[48], l2[48];

	if (!disp.on)
		return;
	if (disp.tty)
		clear_live();
	tr_exp_format_decimal(j->run.lr, lr, sizeof(lr));
	tr_exp_format_decimal(j->run.l2, l2, sizeof(l2));
	if (j->action == TR_EXP_RESUME)
		printf("[%zu/%zu] %s: resuming from its checkpoint (summary at iteration %ld), "
		       "log %s\n", k + 1, p->n_jobs, j->run.name, j->before.iterations_done, j->log);
	else
		printf("[%zu/%zu] %s: started%s (lr %s, lambda %s, seed %llu, %ld iterations), "
		       "log %s\n", k + 1, p->n_jobs, j->run.name,
		       j->action == TR_EXP_RERUN ? " again" : "", lr, l2,
		       (unsigned long long)j->run.seed, p->cfg.iters, j->log);
	fflush(stdout);
}

void exp_display_refresh(const struct exp_plan *p)
{
	if (disp.tty)
		draw_live(p);
}

void exp_show_kept(const struct exp_plan *p, const struct exp_job *j, size_t k)
{
	if (!disp.on)
		return;
	if (disp.tty)
		clear_live();
	printf("[%zu/%zu] %s: kept (%s earlier", k + 1, p->n_jobs, j->run.name,
	       j->before.diverged_at ? "diverged" : "completed");
	if (isfinite(j->before.test_acc))
		printf(", test accuracy %.4f", j->before.test_acc);
	printf(")\n");
	exp_display_refresh(p);
}

void exp_show_finish(const struct exp_plan *p, const struct exp_job *j, size_t k)
{
	tr_exp_run_state after;
	char dur[32], msg[512];
	tr_error err;

	if (!disp.on)
		return;
	if (disp.tty)
		clear_live();
	cli_format_duration(j->seconds, dur, sizeof(dur));
	tr_exp_run_state_read(j->dir, NULL, 0, &after, &err);
	printf("[%zu/%zu] %s: ", k + 1, p->n_jobs, j->run.name);
	if (j->code == TR_OK) {
		printf("completed in %s", dur);
		if (isfinite(after.test_acc))
			printf(", test accuracy %.4f", after.test_acc);
		printf("\n");
	} else if (j->code == TR_ERR_DIVERGED) {
		printf("DIVERGED after %s (at iteration %ld); it is reported as such\n", dur,
		       after.diverged_at);
	} else {
		error_line(j->log, msg, sizeof(msg));
		if (j->code == TR_ERR_INTERRUPTED)
			printf("interrupted after %s (exit 7): %s\n", dur, msg);
		else
			printf("FAILED after %s (exit %d, %s): %s\n", dur, j->code,
			       j->code > 0 && j->code <= TR_ERR_INTERRUPTED ?
			       tr_status_name(j->code) : "killed or crashed",
			       msg[0] ? msg : "see the log");
	}
	exp_display_refresh(p);
}
