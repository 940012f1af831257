/*
 * experiment_display.c - what `trainer experiment` shows while its runs go: a line
 * when a run starts, is kept or ends (with the last line of its log when it failed)
 * (experiment_impl.h).
 */
#include "experiment_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"

/* The last non-empty line of a log file (the child's error message), or "". */
static void last_line(const char *path, char *buf, size_t cap)
{
	char tail[2048];
	FILE *f = fopen(path, "r");
	size_t n = 0;
	char *start, *end;

	buf[0] = '\0';
	if (!f)
		return;
	if (fseek(f, -(long)(sizeof(tail) - 1), SEEK_END) != 0)
		rewind(f);
	n = fread(tail, 1, sizeof(tail) - 1, f);
	fclose(f);
	tail[n] = '\0';
	end = tail + n;
	while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(tail, '\n');
	snprintf(buf, cap, "%.400s", start ? start + 1 : tail);
}

void exp_show_start(const struct exp_plan *p, const struct exp_job *j, size_t k)
{
	char lr[48], l2[48];

	tr_exp_format_decimal(j->run.lr, lr, sizeof(lr));
	tr_exp_format_decimal(j->run.l2, l2, sizeof(l2));
	if (j->action == TR_EXP_RESUME)
		printf("[%zu/%zu] %s: resuming from its checkpoint (summary at iteration %ld), "
		       "log %s\n", k + 1, p->n_jobs, j->run.name, j->before.iterations_done, j->log);
	else
		printf("[%zu/%zu] %s: started%s (lr %s, lambda %s, %ld iterations), log %s\n",
		       k + 1, p->n_jobs, j->run.name, j->action == TR_EXP_RERUN ? " again" : "",
		       lr, l2, p->cfg.iters, j->log);
	fflush(stdout);
}

void exp_show_kept(const struct exp_plan *p, const struct exp_job *j, size_t k)
{
	printf("[%zu/%zu] %s: kept (%s earlier", k + 1, p->n_jobs, j->run.name,
	       j->before.diverged_at ? "diverged" : "completed");
	if (isfinite(j->before.test_acc))
		printf(", test accuracy %.4f", j->before.test_acc);
	printf(")\n");
}

void exp_show_finish(const struct exp_plan *p, const struct exp_job *j, size_t k)
{
	tr_exp_run_state after;
	char dur[32], msg[512];
	tr_error err;

	cli_format_duration(j->seconds, dur, sizeof(dur));
	tr_exp_run_state_read(j->dir, NULL, 0, &after, &err);
	printf("[%zu/%zu] %s: ", k + 1, p->n_jobs, j->run.name);
	if (j->code == TR_OK) {
		printf("completed in %s", dur);
		if (isfinite(after.test_acc))
			printf(", test accuracy %.4f", after.test_acc);
		printf("\n");
		return;
	}
	if (j->code == TR_ERR_DIVERGED) {
		printf("DIVERGED after %s (at iteration %ld); it is reported as such\n", dur,
		       after.diverged_at);
		return;
	}
	last_line(j->log, msg, sizeof(msg));
	if (j->code == TR_ERR_INTERRUPTED)
		printf("interrupted after %s (exit 7): %s\n", dur, msg);
	else
		printf("FAILED after %s (exit %d, %s): %s\n", dur, j->code,
		       j->code > 0 && j->code <= TR_ERR_INTERRUPTED ? tr_status_name(j->code) :
		       "killed or crashed", msg[0] ? msg : "see the log");
}
