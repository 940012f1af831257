/*
 * experiment_runner.c - running an experiment's jobs: each an independent `trainer
 * train` process started from this very executable, N at a time, with its output in
 * its log (experiment_impl.h).
 *
 * The children run in their own process groups: a Ctrl-C or SIGTERM reaches this
 * process, which passes it on once per signal, so that the first one lets every run
 * save a checkpoint and the second stops them at once (as for `trainer train`).
 */
#include "experiment_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "progress.h"

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
}

double exp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
	j->t0 = exp_now();
	return TR_OK;
}

void exp_run_jobs(struct exp_plan *p, const cli_options *o)
{
	size_t next = 0, active = 0, i;

	install_signals();
	while (next < p->n_jobs || active > 0) {
		while (!stop_signal && next < p->n_jobs && active < (size_t)o->jobs) {
			struct exp_job *j = &p->jobs[next];
			tr_error err;

			if (j->action == TR_EXP_KEEP) {
				if (!o->quiet)
					exp_show_kept(p, j, next);
				next++;
				continue;
			}
			for (i = 0; i < TR_EXP_MAX_RUNS && running[i] > 0; i++)
				;
			if (!o->quiet)
				exp_show_start(p, j, next);
			if (start_job(j, i, &err) != TR_OK) {
				j->code = err.status;
				fprintf(stderr, "trainer: %s: %s\n", j->run.name, err.msg);
			} else {
				active++;
			}
			next++;
		}
		if (active == 0)
			break;
		{
			int status;
			pid_t pid = waitpid(-1, &status, 0);

			if (pid < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			for (i = 0; i < p->n_jobs; i++) {
				struct exp_job *j = &p->jobs[i];

				if (j->pid != pid || j->code >= 0)
					continue;
				j->code = tr_exit_code(status);
				j->seconds = exp_now() - j->t0;
				active--;
				if (!o->quiet)
					exp_show_finish(p, j, i);
			}
			for (i = 0; i < TR_EXP_MAX_RUNS; i++)
				if (running[i] == pid)
					running[i] = 0;
		}
	}
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
