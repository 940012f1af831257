/*
 * experiment_runner.c - running an experiment's jobs: each an independent `trainer
 * train` process started from this very executable, N at a time, with its output in
 * its log (experiment_impl.h).
 *
 * The children run in their own process groups: a Ctrl-C, SIGTERM or SIGHUP (a closed
 * terminal) reaches this process, which passes it on once per signal, so that the first
 * one lets every run save a checkpoint and the second stops them at once (as for
 * `trainer train`). If this process dies without passing anything on (SIGKILL), the
 * children get SIGTERM from the kernel (tr_spawn), save and stop.
 *
 * Each child reports its progress on one pipe shared by all of them (its descriptor in
 * TRAINER_PROGRESS_FD, progress.h); this process waits on that pipe, a quarter of a
 * second at most, between looks at which children have ended.
 */
#include "experiment_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define POLL_MS 250

/* ---- signals: stop starting runs, pass the signal on to the running ones ---- */

static volatile sig_atomic_t stop_signal;
static volatile pid_t running[TR_EXP_MAX_RUNS];

static void on_signal(int sig)
{
	int saved = errno;
	size_t i;

	stop_signal = sig;
	for (i = 0; i < TR_EXP_MAX_RUNS; i++)
		if (running[i] > 0)
			kill(running[i], sig);
	errno = saved;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);  /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int start_job(struct exp_job *j, size_t slot, tr_error *err)
{
	FILE *log = fopen(j->log, "a");
	char line[EXP_ARG_MEM * 2];
	int rc;

	if (log) {
		time_t now = time(NULL);
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
		if (exp_shell_line(&j->args, line, sizeof(line), err) == TR_OK)
			fprintf(log, "== %s: %s\n", when, line);
		fclose(log);
	}
	/* Run this very executable (still the same one if the file was replaced since). */
	j->args.v[0] = EXP_SELF_EXE;
	rc = tr_spawn(j->args.v, NULL, j->log, true, &j->pid, err);
	if (rc)
		return rc;
	running[slot] = j->pid;
	/* A signal that came while it was being started has not reached it: pass it on. */
	if (stop_signal)
		kill(j->pid, stop_signal);
	j->t0 = tr_now_seconds();
	return TR_OK;
}

/* ---- the progress pipe ---- */

struct progress_pipe {
	int rd, wr;             /* -1 when there is none (then only the ends are shown) */
	char buf[8192];         /* a partial line carried over between reads */
	size_t len;
};

/* A pipe whose write end the children inherit; both ends non-blocking, so that a
 * child never waits for this process. Without one the experiment runs all the same. */
static void progress_pipe_open(struct progress_pipe *pp)
{
	char fd[16];
	int fds[2];

	pp->rd = pp->wr = -1;
	pp->len = 0;
	if (pipe(fds) != 0)
		return;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	pp->rd = fds[0];
	pp->wr = fds[1];
	snprintf(fd, sizeof(fd), "%d", pp->wr);
	setenv(CLI_PROGRESS_FD_ENV, fd, 1);
}

static void progress_pipe_close(struct progress_pipe *pp)
{
	unsetenv(CLI_PROGRESS_FD_ENV);
	if (pp->rd >= 0)
		close(pp->rd);
	if (pp->wr >= 0)
		close(pp->wr);
	pp->rd = pp->wr = -1;
}

static void handle_line(struct exp_plan *p, const char *line)
{
	cli_progress_report r;
	size_t i;

	if (!cli_progress_parse(line, &r))
		return;
	for (i = 0; i < p->n_jobs; i++) {
		struct exp_job *j = &p->jobs[i];

		if (j->pid == r.pid && j->code < 0) {
			exp_display_report(p, j, i, &r);
			return;
		}
	}
}

/* Read whatever the children have written, line by line. */
static void progress_pipe_drain(struct exp_plan *p, struct progress_pipe *pp)
{
	ssize_t got;

	if (pp->rd < 0)
		return;
	while ((got = read(pp->rd, pp->buf + pp->len, sizeof(pp->buf) - 1 - pp->len)) > 0) {
		char *start = pp->buf, *nl;

		pp->len += (size_t)got;
		pp->buf[pp->len] = '\0';
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			handle_line(p, start);
			start = nl + 1;
		}
		pp->len -= (size_t)(start - pp->buf);
		memmove(pp->buf, start, pp->len);
		if (pp->len == sizeof(pp->buf) - 1)
			pp->len = 0; /* no line is that long: not a report, drop it */
	}
}

/* ---- starting and reaping ---- */

/* Start the next jobs while there is room; returns the number started. */
static size_t start_more(struct exp_plan *p, const cli_options *o, size_t *next,
			 size_t active)
{
	size_t started = 0, i;

	while (!stop_signal && *next < p->n_jobs && active + started < (size_t)o->jobs) {
		struct exp_job *j = &p->jobs[*next];
		tr_error err;

		if (j->action == TR_EXP_KEEP) {
			exp_show_kept(p, j, *next);
			(*next)++;
			continue;
		}
		for (i = 0; i < TR_EXP_MAX_RUNS && running[i] > 0; i++)
			;
		exp_show_start(p, j, *next);
		if (start_job(j, i, &err) != TR_OK) {
			j->code = err.status;
			fprintf(stderr, "trainer: %s: %s\n", j->run.name, err.msg);
		} else {
			started++;
		}
		(*next)++;
		exp_display_refresh(p);
	}
	return started;
}

/* Collect the children that have ended; returns how many, or -1 when there are none
 * left to wait for although some were thought running. */
static long reap(struct exp_plan *p)
{
	long ended = 0;
	size_t i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) != 0) {
		if (pid < 0)
			return errno == EINTR ? ended : (ended ? ended : -1);
		for (i = 0; i < p->n_jobs; i++) {
			struct exp_job *j = &p->jobs[i];

			if (j->pid != pid || j->code >= 0)
				continue;
			j->code = tr_exit_code(status);
			/* Killed by the signal passed on (a second Ctrl-C, or one that came
			 * before it could catch signals): stopped, not failed. */
			if (stop_signal && WIFSIGNALED(status) &&
			    (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM ||
			     WTERMSIG(status) == SIGHUP))
				j->code = TR_ERR_INTERRUPTED;
			j->seconds = tr_now_seconds() - j->t0;
			ended++;
			exp_show_finish(p, j, i);
		}
		for (i = 0; i < TR_EXP_MAX_RUNS; i++)
			if (running[i] == pid)
				running[i] = 0;
	}
	return ended;
}

void exp_run_jobs(struct exp_plan *p, const cli_options *o)
{
	struct progress_pipe pp;
	size_t next = 0, active = 0;

	install_signals();
	exp_display_begin(p, o);
	progress_pipe_open(&pp);
	while (next < p->n_jobs || active > 0) {
		struct pollfd pfd = { .fd = pp.rd, .events = POLLIN };
		long ended;

		active += start_more(p, o, &next, active);
		if (active == 0)
			break;
		if (poll(&pfd, 1, POLL_MS) > 0)
			progress_pipe_drain(p, &pp);
		if ((ended = reap(p)) < 0)
			break;
		active -= (size_t)ended;
		exp_display_tick(p);
	}
	progress_pipe_close(&pp);
	exp_display_end(p);
}

int exp_summarise(const struct exp_plan *p, const cli_options *o, double seconds)
{
	size_t i, done = 0, kept = 0, diverged = 0, failed = 0, stopped = 0;
	char dur[32];
	int code = TR_OK;

	for (i = 0; i < p->n_jobs; i++) {
		const struct exp_job *j = &p->jobs[i];

		if (j->action == TR_EXP_KEEP)
			kept++;
		else if (j->code == TR_OK)
			done++;
		else if (j->code == TR_ERR_DIVERGED)
			diverged++;
		else if (j->code == TR_ERR_INTERRUPTED || j->code < 0)
			stopped++;
		else {
			failed++;
			if (code == TR_OK)
				code = j->code > 0 && j->code < 8 ? j->code : TR_ERR_INTERNAL;
		}
	}
	if (stop_signal)
		code = TR_ERR_INTERRUPTED;
	cli_format_duration(seconds, dur, sizeof(dur));
	if (!o->quiet)
		printf("experiment: %zu run%s in %s: %zu completed, %zu kept, %zu diverged, "
		       "%zu failed, %zu not finished\n", p->n_jobs, p->n_jobs == 1 ? "" : "s", dur,
		       done, kept, diverged, failed, stopped);
	if (stop_signal)
		fprintf(stderr, "trainer: experiment interrupted; the runs saved checkpoints: "
			"run the same command again to continue (%s)\n", p->out);
	return code;
}
