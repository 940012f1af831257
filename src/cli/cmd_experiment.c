/*
 * cmd_experiment.c - `trainer experiment`: the lab's runs (a preset, experiment.h), each
 * an independent `trainer train` process started from this very executable, N at a
 * time, then the report (cmd_report.c). With --emit-jobs the same runs become a file of
 * shell commands, one per line, for GNU parallel or a Slurm job array.
 *
 * Running again in the same directory keeps what is done: completed (and diverged)
 * runs are kept, runs with a checkpoint are continued with --resume, the rest are
 * trained again over whatever they left.
 *
 * The children run in their own process groups: a Ctrl-C or SIGTERM reaches this
 * process, which passes it on once per signal, so that the first one lets every run
 * save a checkpoint and the second stops them at once (as for `trainer train`).
 */
#include "commands.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "trainer/experiment.h"
#include "trainer/fs.h"

#define MAX_ARGS 48
#define ARG_MEM 8192
#define SELF_EXE "/proc/self/exe"

/* One child's command line, in one block of memory. */
struct args {
	char *v[MAX_ARGS + 1];
	int n;
	char mem[ARG_MEM];
	size_t used;
	bool overflow;
};

struct job {
	tr_exp_run run;
	char dir[PATH_MAX + TR_EXP_NAME_MAX + 8];
	char log[PATH_MAX + TR_EXP_NAME_MAX + 16];
	enum tr_exp_action action;
	tr_exp_run_state before;
	struct args args;
	pid_t pid;
	double t0, seconds;
	int code;               /* exit code of the child; -1 while not run */
};

struct plan {
	const tr_exp_preset *preset;
	tr_train_config cfg;    /* the preset with the user's options; lr and l2 per job */
	char out[PATH_MAX];     /* absolute */
	char data[PATH_MAX];    /* absolute */
	char exe[PATH_MAX];     /* this executable, absolute, for job files and logs */
	int threads;
	struct job jobs[TR_EXP_MAX_RUNS];
	size_t n_jobs;
};

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

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- command lines ---- */

static void arg(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct args *a, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (a->n >= MAX_ARGS) {
		a->overflow = true;
		return;
	}
	va_start(ap, fmt);
	len = vsnprintf(a->mem + a->used, sizeof(a->mem) - a->used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(a->mem) - a->used) {
		a->overflow = true;
		return;
	}
	a->v[a->n++] = a->mem + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)len + 1;
}

/* An option and its value: "--name" "value". */
static void opt(struct args *a, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void opt(struct args *a, const char *name, const char *fmt, ...)
{
	char value[PATH_MAX + TR_EXP_NAME_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(value, sizeof(value), fmt, ap) >= (int)sizeof(value))
		a->overflow = true;
	va_end(ap);
	arg(a, "--%s", name);
	arg(a, "%s", value);
}

/* The shortest decimal that reads back as exactly x. */
static void opt_num(struct args *a, const char *name, double x)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.15g", x);
	if (strtod(buf, NULL) != x)
		snprintf(buf, sizeof(buf), "%.17g", x);
	opt(a, name, "%s", buf);
}

/* Where the run goes and how: options a resumed run may take, then the rest. */
static void job_args(const struct plan *p, const cli_options *o, struct job *j)
{
	const tr_train_config *c = &p->cfg;
	struct args *a = &j->args;
	char layers[256];

	memset(a, 0, sizeof(*a));
	arg(a, "%s", p->exe);
	arg(a, "train");
	if (j->action == TR_EXP_RESUME)
		opt(a, "resume", "%s", j->dir);
	opt(a, "device", "%s", o->device);
	opt(a, "threads", "%d", p->threads);
	opt(a, "data", "%s", p->data);
	opt(a, "iters", "%ld", c->iters);
	if (cli_given(o, "checkpoint-every"))
		opt(a, "checkpoint-every", "%ld", o->checkpoint_every);
	if (j->action != TR_EXP_RESUME) {
		tr_layout_format(&c->layout, layers, sizeof(layers));
		opt(a, "val-size", "%zu", o->val_size);
		opt(a, "layers", "%s", layers);
		opt(a, "init", "%s", tr_init_name(c->init));
		opt(a, "seed", "%llu", (unsigned long long)c->seed);
		opt_num(a, "lr", j->run.lr);
		opt_num(a, "l2", j->run.l2);
		opt(a, "l2-scope", "%s", c->l2_scope == TR_L2_ALL ? "all" : "weights");
		opt(a, "batch", "%zu", c->batch);
		opt(a, "eval-every", "%ld", c->eval_every);
		if (!c->shuffle)
			arg(a, "--no-shuffle");
		opt(a, "out", "%s", j->dir);
		if (j->action == TR_EXP_RERUN)
			arg(a, "--force");
	}
	arg(a, "--quiet");
}

/* The command line as one shell-quoted line. */
static int shell_line(const struct args *a, char *buf, size_t cap, tr_error *err)
{
	char q[CLI_PATH_MAX * 2];
	size_t len = 0;
	int i, rc;

	buf[0] = '\0';
	for (i = 0; i < a->n; i++) {
		if ((rc = tr_shell_quote(a->v[i], q, sizeof(q), err)))
			return rc;
		if (len + strlen(q) + 2 > cap)
			return tr_fail(err, TR_ERR_USAGE, "command line too long for a job file");
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " " : "", q);
	}
	return TR_OK;
}

/* ---- the plan: preset, the user's options, paths ---- */

static int absolute(const char *path, char *buf, size_t cap, const char *flag, tr_error *err)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		snprintf(buf, cap, "%s", path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return tr_fail(err, TR_ERR_OUTPUT, "cannot tell the current directory: %s",
				       strerror(errno));
		if ((size_t)snprintf(buf, cap, "%s/%s", cwd, path) >= cap)
			return tr_fail(err, TR_ERR_USAGE, "%s: path too long", flag);
	}
	return TR_OK;
}

static void default_out(char *buf, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, cap, "runs/experiment-%s", stamp);
}

static int make_plan(const cli_options *o, struct plan *p, tr_error *err)
{
	tr_exp_run runs[TR_EXP_MAX_RUNS];
	char out[CLI_PATH_MAX], data[CLI_PATH_MAX];
	double l2 = cli_given(o, "l2") ? o->cfg.l2 : TR_EXP_LAMBDA;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	ssize_t len;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->preset = tr_exp_preset_find(o->preset);
	if (!p->preset)
		return tr_exp_preset_check(o->preset, err);
	p->cfg = o->cfg;
	if (!cli_given(o, "iters"))
		p->cfg.iters = p->preset->iters;
	if (!cli_given(o, "eval-every"))
		p->cfg.eval_every = p->preset->eval_every;
	p->threads = o->threads;
	if (!cli_given(o, "threads") && o->jobs > 1)
		p->threads = cores > o->jobs ? (int)(cores / o->jobs) : 1;
	if (o->out_dir[0])
		snprintf(out, sizeof(out), "%s", o->out_dir);
	else
		default_out(out, sizeof(out));
	cli_default_data_dir(o, data, sizeof(data));
	if ((rc = absolute(out, p->out, sizeof(p->out), "--out", err)) ||
	    (rc = absolute(data, p->data, sizeof(p->data), "--data", err)))
		return rc;
	len = readlink(SELF_EXE, p->exe, sizeof(p->exe) - 1);
	if (len <= 0)
		return tr_fail(err, TR_ERR_INTERNAL, "cannot find this executable (%s): %s",
			       SELF_EXE, strerror(errno));
	p->exe[len] = '\0';
	p->n_jobs = tr_exp_preset_runs(p->preset, cli_given(o, "lr") ? o->cfg.lr : 0, l2, runs);
	for (i = 0; i < p->n_jobs; i++) {
		struct job *j = &p->jobs[i];

		j->run = runs[i];
		j->code = -1;
		if (snprintf(j->dir, sizeof(j->dir), "%s/%s", p->out, runs[i].name) >=
		    (int)sizeof(j->dir) ||
		    snprintf(j->log, sizeof(j->log), "%s/logs/%s.log", p->out, runs[i].name) >=
		    (int)sizeof(j->log))
			return tr_fail(err, TR_ERR_USAGE, "--out %s: path too long", p->out);
	}
	return TR_OK;
}

/* ---- --emit-jobs FILE ---- */

static int emit_jobs(struct plan *p, const cli_options *o, tr_error *err)
{
	tr_atomic_file af;
	char line[ARG_MEM * 2];
	size_t i;
	int rc;

	if ((rc = tr_atomic_open(&af, o->emit_jobs, err)))
		return tr_error_prefix(err, "--emit-jobs");
	for (i = 0; i < p->n_jobs; i++) {
		struct job *j = &p->jobs[i];

		j->action = o->force ? TR_EXP_RERUN : TR_EXP_NEW;
		job_args(p, o, j);
		if (j->args.overflow) {
			tr_atomic_abort(&af);
			return tr_fail(err, TR_ERR_USAGE, "command line too long for a job file");
		}
		if ((rc = shell_line(&j->args, line, sizeof(line), err))) {
			tr_atomic_abort(&af);
			return rc;
		}
		fprintf(af.fp, "%s\n", line);
	}
	if ((rc = tr_atomic_commit(&af, err)))
		return rc;
	if (!o->quiet) {
		printf("wrote %zu command%s to %s (one run each; run them in any order, e.g. "
		       "with GNU parallel or a Slurm array)\n", p->n_jobs, p->n_jobs == 1 ? "" : "s",
		       o->emit_jobs);
		printf("then: %s report %s\n", p->exe, p->out);
	}
	return TR_OK;
}

/* ---- the experiment directory ---- */

static int check_out_dir(const struct plan *p, const cli_options *o, tr_error *err)
{
	char marker[PATH_MAX + 32];
	struct stat st;

	if (stat(p->out, &st) != 0)
		return TR_OK;
	if (!S_ISDIR(st.st_mode))
		return tr_fail(err, TR_ERR_USAGE, "--out %s: exists and is not a directory", p->out);
	snprintf(marker, sizeof(marker), "%s/experiment.json", p->out);
	if (o->force || stat(marker, &st) == 0)
		return TR_OK;
	/* Not ours: the output-directory check of `trainer train` says what to do. */
	return tr_check_output_dir(p->out, false, "--out", err);
}

/* Read every run directory and decide; refuse before anything starts on a conflict. */
static int decide_actions(struct plan *p, const cli_options *o, tr_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < p->n_jobs; i++) {
		struct job *j = &p->jobs[i];
		tr_train_config want = p->cfg;

		want.lr = j->run.lr;
		want.l2 = j->run.l2;
		rc = tr_exp_run_state_read(j->dir, &want, o->val_size, &j->before, err);
		if (rc && !o->force)
			return tr_error_prefix(err, "%s (use --force to train it again)", j->run.name);
		tr_error_clear(err);
		j->action = tr_exp_decide(&j->before, p->cfg.iters, o->force);
		if (j->action == TR_EXP_CONFLICT) {
			char why[256];

			if (j->before.mismatch[0])
				snprintf(why, sizeof(why), "%s", j->before.mismatch);
			else
				snprintf(why, sizeof(why), "%ld iterations done, here %ld",
					 j->before.iterations_done, p->cfg.iters);
			return tr_fail(err, TR_ERR_USAGE,
				       "%s holds a run with other settings (%s): choose another "
				       "--out, or pass --force to train every run again", j->dir, why);
		}
		job_args(p, o, j);
		if (j->args.overflow)
			return tr_fail(err, TR_ERR_USAGE, "%s: command line too long", j->run.name);
	}
	return TR_OK;
}

/* experiment.json: the preset, the runs and their commands (also marks the directory
 * as an experiment's, so that running again there is allowed). */
static int write_marker(const struct plan *p, const cli_options *o, tr_error *err)
{
	cJSON *root = cJSON_CreateObject(), *runs;
	char path[PATH_MAX + 32], line[ARG_MEM * 2];
	size_t i;
	int rc = TR_OK;

	if (!root)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	cJSON_AddStringToObject(root, "trainer_version", TRAINER_VERSION);
	cJSON_AddStringToObject(root, "preset", p->preset->name);
	cJSON_AddNumberToObject(root, "jobs", o->jobs);
	runs = cJSON_AddArrayToObject(root, "runs");
	for (i = 0; i < p->n_jobs && !rc; i++) {
		const struct job *j = &p->jobs[i];
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "name", j->run.name);
		cJSON_AddNumberToObject(r, "lr", j->run.lr);
		cJSON_AddNumberToObject(r, "l2", j->run.l2);
		cJSON_AddStringToObject(r, "action", tr_exp_action_name(j->action));
		if (!(rc = shell_line(&j->args, line, sizeof(line), err)))
			cJSON_AddStringToObject(r, "command", line);
		cJSON_AddItemToArray(runs, r);
	}
	snprintf(path, sizeof(path), "%s/experiment.json", p->out);
	if (!rc)
		rc = tr_json_write(path, root, err);
	cJSON_Delete(root);
	return rc;
}

/* ---- running the jobs ---- */

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

static void print_start(const struct plan *p, const struct job *j, size_t k)
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

static void print_kept(const struct plan *p, const struct job *j, size_t k)
{
	printf("[%zu/%zu] %s: kept (%s earlier", k + 1, p->n_jobs, j->run.name,
	       j->before.diverged_at ? "diverged" : "completed");
	if (isfinite(j->before.test_acc))
		printf(", test accuracy %.4f", j->before.test_acc);
	printf(")\n");
}

static void print_finish(const struct plan *p, const struct job *j, size_t k)
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

static int start_job(struct job *j, size_t slot, tr_error *err)
{
	FILE *log = fopen(j->log, "a");
	char line[ARG_MEM * 2];
	int rc;

	if (log) {
		time_t now = time(NULL);
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
		if (shell_line(&j->args, line, sizeof(line), err) == TR_OK)
			fprintf(log, "== %s: %s\n", when, line);
		fclose(log);
	}
	/* Run this very executable (still the same one if the file was replaced since). */
	j->args.v[0] = SELF_EXE;
	rc = tr_spawn(j->args.v, NULL, j->log, true, &j->pid, err);
	if (rc)
		return rc;
	running[slot] = j->pid;
	j->t0 = now_seconds();
	return TR_OK;
}

/* Run every job, at most `jobs` at a time; returns when all are done or, after a
 * signal, when the running ones have stopped. */
static void run_jobs(struct plan *p, const cli_options *o)
{
	size_t next = 0, active = 0, i;

	while (next < p->n_jobs || active > 0) {
		while (!stop_signal && next < p->n_jobs && active < (size_t)o->jobs) {
			struct job *j = &p->jobs[next];
			tr_error err;

			if (j->action == TR_EXP_KEEP) {
				if (!o->quiet)
					print_kept(p, j, next);
				next++;
				continue;
			}
			for (i = 0; i < TR_EXP_MAX_RUNS && running[i] > 0; i++)
				;
			if (!o->quiet)
				print_start(p, j, next);
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
				struct job *j = &p->jobs[i];

				if (j->pid != pid || j->code >= 0)
					continue;
				j->code = tr_exit_code(status);
				j->seconds = now_seconds() - j->t0;
				active--;
				if (!o->quiet)
					print_finish(p, j, i);
			}
			for (i = 0; i < TR_EXP_MAX_RUNS; i++)
				if (running[i] == pid)
					running[i] = 0;
		}
	}
}

/* Summary line; returns the exit code of the runs: 0 when each completed or diverged,
 * 7 when stopped by a signal, else the first failure's code. */
static int summarise(const struct plan *p, const cli_options *o, double seconds)
{
	size_t i, done = 0, kept = 0, diverged = 0, failed = 0, stopped = 0;
	char dur[32];
	int code = TR_OK;

	for (i = 0; i < p->n_jobs; i++) {
		const struct job *j = &p->jobs[i];

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

int cli_cmd_experiment(cli_options *o)
{
	struct plan *p = calloc(1, sizeof(*p));
	char logs[PATH_MAX + 8], title[256];
	double t0 = now_seconds();
	tr_error err;
	int rc, code;

	tr_error_clear(&err);
	if (!p) {
		tr_fail(&err, TR_ERR_INTERNAL, "out of host memory");
		return cli_report_error(&err);
	}
	if ((rc = make_plan(o, p, &err)))
		goto out_error;
	if (o->emit_jobs[0]) {
		rc = emit_jobs(p, o, &err);
		goto out_error;
	}
	snprintf(logs, sizeof(logs), "%s/logs", p->out);
	if ((rc = check_out_dir(p, o, &err)) || (rc = decide_actions(p, o, &err)) ||
	    (rc = tr_mkdir_p(logs, &err)) || (rc = write_marker(p, o, &err)))
		goto out_error;
	if (!o->quiet) {
		char threads[32];

		if (p->threads)
			snprintf(threads, sizeof(threads), "%d", p->threads);
		printf("experiment: preset %s, %zu runs of %ld iterations, %d at a time on %s "
		       "(threads per run: %s) -> %s/\n", p->preset->name, p->n_jobs, p->cfg.iters,
		       o->jobs, o->device, p->threads ? threads : "all cores", p->out);
		fflush(stdout);
	}
	install_signals();
	run_jobs(p, o);
	code = summarise(p, o, now_seconds() - t0);
	if (code == TR_ERR_INTERRUPTED) {
		free(p);
		return code;
	}
	snprintf(title, sizeof(title), "Preset %s: %zu runs of %ld iterations.", p->preset->name,
		 p->n_jobs, p->cfg.iters);
	rc = cli_build_report(p->out, title, o->quiet);
	free(p);
	return code ? code : rc;

out_error:
	free(p);
	return rc ? cli_report_error(&err) : TR_OK;
}
