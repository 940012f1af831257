/*
 * cmd_train.c - `trainer [train]`: one training run from options to output files.
 *
 * Order: every check that can fail on the user's input (output directory, data,
 * device, initial weights) happens before training starts; then the run directory is
 * created and locked (dir_lock.h: one trainer per directory); outputs are written as
 * the run goes (metrics.csv and summary.json at every evaluation), checkpoints in the
 * background (checkpoint_writer.h) on the --checkpoint-every schedule, at the end and
 * on a signal; weights at the end. --resume: train_resume.c.
 */
#include "commands.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "train_resume.h"
#include "trainer/best_params.h"
#include "trainer/checkpoint_writer.h"
#include "trainer/clock.h"
#include "trainer/dir_lock.h"
#include "trainer/fs.h"
#include "trainer/run_analysis.h"
#include "trainer/run_output.h"

/* ---- signals ---- */

static volatile sig_atomic_t stop_signal;

/* First SIGINT, SIGTERM or SIGHUP (a closed terminal): finish the step, save, exit 7.
 * Second: leave at once; every file is written atomically, so nothing is torn. */
static void on_signal(int sig)
{
	if (stop_signal)
		_exit(TR_ERR_INTERRUPTED);
	stop_signal = sig;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* The flag is looked at between steps: no call in progress need fail with EINTR. */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
	       sig == SIGHUP ? "SIGHUP" : "a signal";
}

/* ---- the run ---- */

struct run_ctx {
	const cli_options *o;
	const char *out;
	tr_run_info info;
	cli_progress progress;
	tr_ckpt_writer *writer;  /* NULL with --checkpoint-every off */
	double last_ckpt;        /* monotonic seconds of the last checkpoint (or the start) */
};

/* Checkpoint t now unless that was done at this iteration already; with `wait`, return
 * once the file is written (and its error if it failed). */
static int checkpoint(struct run_ctx *ctx, tr_trainer *t, bool wait, tr_error *err)
{
	int rc = TR_OK;

	if (!ctx->writer)
		return TR_OK;
	if (tr_ckpt_writer_submitted_step(ctx->writer) != t->step) {
		rc = tr_ckpt_writer_submit(ctx->writer, t, ctx->info.val_size, err);
		if (rc == TR_ERR_DIVERGED)
			t->diverged_at = t->step; /* non-finite parameters: record it */
		ctx->last_ckpt = tr_now_seconds();
	}
	if (!rc && wait)
		rc = tr_ckpt_writer_wait(ctx->writer, err);
	return rc;
}

static bool checkpoint_due(const struct run_ctx *ctx, const tr_trainer *t)
{
	const cli_checkpoint_every *every = &ctx->o->checkpoint_every;

	if (every->kind == CLI_CKPT_ITERS)
		return t->step % every->every == 0;
	/* A time-based one waits for a step where the previous write is done, rather than
	 * have training wait for it (a slow disk, a short interval). */
	return every->kind == CLI_CKPT_SECONDS &&
	       tr_now_seconds() - ctx->last_ckpt >= (double)every->every &&
	       !tr_ckpt_writer_busy(ctx->writer);
}

/* After each iteration: progress, a failed background write, the periodic checkpoint,
 * and the reaction to a signal. */
static int after_step(void *user, tr_trainer *t, tr_error *err)
{
	struct run_ctx *ctx = user;
	int rc;

	cli_progress_step(&ctx->progress, t->step);
	if (ctx->writer && (rc = tr_ckpt_writer_poll(ctx->writer, err)))
		return rc;
	if (t->diverged_at)
		return TR_OK; /* never overwrite a good checkpoint with a diverged state */
	/* A signal during the last iteration: training is done, the run finishes. */
	if (stop_signal && t->step < t->cfg.iters) {
		if ((rc = checkpoint(ctx, t, true, err)))
			return rc;
		if (!ctx->writer)
			return tr_fail(err, TR_ERR_INTERRUPTED, "interrupted by %s after iteration "
				       "%ld; no checkpoint was written (--checkpoint-every off), so "
				       "the run cannot be continued", signal_name(stop_signal),
				       t->step);
		return tr_fail(err, TR_ERR_INTERRUPTED,
			       "interrupted by %s after iteration %ld; the checkpoint is saved: "
			       "continue with  trainer --resume %s", signal_name(stop_signal),
			       t->step, ctx->out);
	}
	if (ctx->writer && checkpoint_due(ctx, t))
		return checkpoint(ctx, t, false, err);
	return TR_OK;
}

static int on_eval(void *user, tr_trainer *t, const tr_metric_row *row, tr_error *err)
{
	struct run_ctx *ctx = user;
	int rc;

	cli_progress_eval(&ctx->progress, row);
	rc = tr_run_write_metrics(ctx->out, t, err);
	if (!rc)
		rc = tr_best_update(ctx->out, t, row, err);
	if (!rc)
		rc = tr_run_write_summary(ctx->out, t, &ctx->info, err);
	return rc;
}

static void iso_now(char *buf, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Confusion matrix, misclassified digits and dead units with the final parameters,
 * then the test accuracy of the best ones (run_analysis.h); the last thing a completed
 * run does with its network. */
static int end_of_run_analyses(struct run_ctx *ctx, tr_trainer *t, tr_error *err)
{
	tr_run_analysis a;
	int rc;

	if (!(rc = tr_run_analyse(t, &a, err)) &&
	    !(rc = tr_run_analyse_best(t, ctx->out, &a, err)) &&
	    !(rc = tr_run_write_analysis(ctx->out, &a, err)) && a.have_best) {
		ctx->info.have_best = true;
		ctx->info.best_iter = a.best_iter;
		ctx->info.best_val_acc = a.best_val_acc;
		ctx->info.best_test_acc = a.best_test_acc;
	}
	tr_run_analysis_free(&a);
	return rc;
}

/* A later step of finish() ended with rc (message in e2): the first error is the one
 * reported (and the exit code); a later one is mentioned. */
static int keep_first(int status, int rc, tr_error *err, const tr_error *e2)
{
	if (rc == TR_OK)
		return status;
	if (status == TR_OK) {
		*err = *e2;
		return rc;
	}
	fprintf(stderr, "trainer: also: %s\n", e2->msg);
	return status;
}

static int write_final_weights(tr_trainer *t, const char *out, tr_error *err)
{
	float *params = malloc(t->cfg.layout.n_params * sizeof(float));
	int rc;

	if (!params)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	rc = tr_net_get_state(t->net, params, NULL, NULL, err);
	if (!rc)
		rc = tr_run_write_weights(out, &t->cfg.layout, params, err);
	free(params);
	return rc;
}

/* After training ended with `status`: the final checkpoint (written in the background
 * meanwhile), the test evaluation, weights, the end-of-run analyses, metrics and the
 * summary with the status. */
static int finish(struct run_ctx *ctx, tr_trainer *t, int status, tr_error *err)
{
	tr_error e2;
	int rc;

	tr_error_clear(&e2);
	if (status == TR_OK)
		status = checkpoint(ctx, t, false, err);
	if (status == TR_OK) {
		status = tr_trainer_evaluate(t, &t->data->test, &ctx->info.test_loss,
					     &ctx->info.test_acc, err);
		ctx->info.have_test = status == TR_OK;
	}
	/* A diverged network's weights are not finite: they are not written. */
	if (status == TR_OK || status == TR_ERR_INTERRUPTED)
		status = keep_first(status, write_final_weights(t, ctx->out, &e2), err, &e2);
	if (status == TR_OK)
		status = keep_first(status, end_of_run_analyses(ctx, t, &e2), err, &e2);
	if (ctx->writer)
		status = keep_first(status, tr_ckpt_writer_wait(ctx->writer, &e2), err, &e2);
	ctx->info.status = status == TR_OK ? "completed" :
			   status == TR_ERR_DIVERGED ? "diverged" :
			   status == TR_ERR_INTERRUPTED ? "interrupted" : "failed";
	ctx->info.message = status == TR_OK ? NULL : err->msg;
	if ((rc = tr_run_write_metrics(ctx->out, t, &e2)) == TR_OK)
		rc = tr_run_write_summary(ctx->out, t, &ctx->info, &e2);
	return keep_first(status, rc, err, &e2);
}

/* --init-weights names a directory (a run's output directory); say so when it names a
 * file, before anything is loaded. */
static int check_init_weights(const char *dir, tr_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return tr_fail(err, TR_ERR_INPUT, "--init-weights: %s %s: pass the directory that "
			       "holds w1.npy..wL.npy and b1.npy..bL.npy (a run's output "
			       "directory)", dir, errno == ENOENT ? "does not exist" :
			       strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		const char *slash = strrchr(dir, '/');

		return tr_fail(err, TR_ERR_USAGE, "--init-weights %s: is a file, not a directory: "
			       "pass the directory that holds w1.npy..wL.npy and b1.npy..bL.npy "
			       "(%.*s)", dir, slash ? (int)(slash - dir) : 1, slash ? dir : ".");
	}
	return TR_OK;
}

static int load_initial_weights(const cli_options *o, float **out, tr_error *err)
{
	const tr_layout *lay = &o->cfg.layout;
	float *p;
	int rc;

	*out = NULL;
	if (!o->init_weights[0])
		return TR_OK;
	p = malloc(lay->n_params * sizeof(float));
	if (!p)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	rc = tr_run_read_weights(o->init_weights, lay, p, err);
	if (rc) {
		free(p);
		return tr_error_prefix(err, "--init-weights");
	}
	*out = p;
	return TR_OK;
}

static void print_result(const struct run_ctx *ctx, const tr_trainer *t)
{
	char dur[32];

	cli_format_duration(tr_trainer_seconds(t), dur, sizeof(dur));
	if (ctx->o->quiet)
		return;
	printf("%s: %ld iterations on %s (%s) in %s", ctx->info.status, t->step,
	       tr_backend_name(t->be), tr_backend_device_name(t->be), dur);
	if (ctx->info.have_test)
		printf("; test loss %.6g, test accuracy %.4f", ctx->info.test_loss,
		       ctx->info.test_acc);
	printf("\noutputs in %s/\n", ctx->out);
}

/* Lock the run directory (created by now) for this process; a new run also checks
 * again that nobody wrote there meanwhile, and --force clears the earlier run's files. */
static int claim_out_dir(const cli_options *o, const char *out, bool resume,
			 tr_dir_lock *lock, tr_error *err)
{
	const char *flag = resume ? "--resume" : "--out";
	int rc = tr_dir_lock_take(lock, out, flag, err);

	if (rc || resume)
		return rc;
	if ((rc = tr_check_output_dir(out, o->force, "--out", err)))
		return rc;
	return o->force ? tr_run_remove_outputs(out, err) : TR_OK;
}

static void print_start(const cli_options *o, const tr_trainer *t, bool resume,
			const char *out)
{
	char layers[256];

	if (o->quiet)
		return;
	tr_layout_format(&o->cfg.layout, layers, sizeof(layers));
	fprintf(stderr, "%s %s on %s (%s), iterations %ld..%ld -> %s/\n",
		resume ? "resuming" : "training", layers, tr_backend_name(t->be),
		tr_backend_device_name(t->be), t->step + 1, o->cfg.iters, out);
	if (tr_backend_tuning(t->be)[0])
		fprintf(stderr, "%s\n", tr_backend_tuning(t->be));
}

int cli_cmd_train(cli_options *o)
{
	tr_backend_options bopts;
	struct run_ctx ctx;
	tr_train_hooks hooks;
	tr_checkpoint ck;
	tr_dataset data;
	tr_dir_lock lock;
	tr_backend *be = NULL;
	tr_trainer *t = NULL;
	float *init = NULL;
	bool resume = o->resume[0] != '\0', resumed_completed = false;
	char out[CLI_PATH_MAX], data_dir[CLI_PATH_MAX], data_abs[CLI_PATH_MAX], started[32];
	char ckpt_path[CLI_PATH_MAX + 32];
	tr_error err;
	int rc;

	tr_error_clear(&err);
	memset(&data, 0, sizeof(data));
	memset(&ctx, 0, sizeof(ctx));
	memset(&ck, 0, sizeof(ck));
	tr_dir_lock_init(&lock);
	/* From here on a signal stops the run in order (before training: exit 7 with
	 * nothing written; while training: a checkpoint first) instead of killing it. */
	install_signals();
	/* A run directory in use by another trainer is refused before anything else. */
	if (resume && ((rc = tr_dir_lock_probe(&lock, o->resume, "--resume", &err)) ||
		       (rc = cli_prepare_resume(o, &ck, &resumed_completed, &err))))
		goto out_free;
	if (o->out_dir[0])
		snprintf(out, sizeof(out), "%s", o->out_dir);
	else
		cli_default_out_dir("run", out, sizeof(out));
	cli_default_data_dir(o, data_dir, sizeof(data_dir));
	iso_now(started, sizeof(started));
	bopts = (tr_backend_options){ .threads = o->threads };

	if ((!resume && (rc = tr_dir_lock_probe(&lock, out, "--out", &err))) ||
	    (!resume && (rc = tr_check_output_dir(out, o->force, "--out", &err))) ||
	    (o->init_weights[0] && (rc = check_init_weights(o->init_weights, &err))) ||
	    (rc = tr_dataset_load(data_dir, o->val_size, &data, &err)) ||
	    (resume && (rc = cli_check_resume_data(o, &data, &err))) ||
	    (!resume && (rc = load_initial_weights(o, &init, &err))) ||
	    (rc = tr_backend_open(o->device, &bopts, &be, &err)) ||
	    (rc = tr_trainer_create(&o->cfg, &data, be, resume ? ck.params : init, &t, &err)) ||
	    (resume && (rc = tr_trainer_restore(t, &ck, &err))))
		goto out_free;
	if (tr_backend_warning(be)[0])
		fprintf(stderr, "trainer: warning: %s\n", tr_backend_warning(be));
	{
		char note[600];

		tr_trainer_data_note(t, note, sizeof(note));
		if (note[0])
			fprintf(stderr, "trainer: note: %s\n", note);
	}
	/* A run killed after its last iteration but before its summary said "completed"
	 * (in the test evaluation, say) goes on to finish: no iterations, the rest. */
	if (resume && t->step == o->cfg.iters && resumed_completed) {
		if (!o->quiet)
			printf("%s: already completed %ld iterations; nothing to do "
			       "(pass --iters N to continue further)\n", out, t->step);
		goto out_free;
	}
	/* A signal while loading: stop before anything is written. */
	if (stop_signal) {
		rc = tr_fail(&err, TR_ERR_INTERRUPTED, "interrupted by %s before training "
			     "started; nothing was written in %s", signal_name(stop_signal), out);
		goto out_free;
	}
	snprintf(ckpt_path, sizeof(ckpt_path), "%s/%s", out, TR_CHECKPOINT_FILE);
	if ((rc = tr_mkdir_p(out, &err)) ||
	    (rc = claim_out_dir(o, out, resume, &lock, &err)) ||
	    (o->checkpoint_every.kind != CLI_CKPT_OFF &&
	     (rc = tr_ckpt_writer_create(ckpt_path, &ctx.writer, &err))))
		goto out_free;
	if (resume)
		tr_run_remove_stale_temps(out);

	ctx.o = o;
	ctx.out = out;
	ctx.info.status = "running";
	tr_path_absolute(data_dir, data_abs, sizeof(data_abs));
	ctx.info.data_dir = data_abs;
	ctx.info.val_size = o->val_size;
	ctx.info.threads = o->threads;
	ctx.info.device = o->device;
	ctx.info.checkpoint_every = o->checkpoint_every.text;
	ctx.info.started_at = started;
	ctx.info.init_weights = o->init_weights[0] ? o->init_weights : NULL;
	if ((rc = tr_run_write_summary(out, t, &ctx.info, &err)))
		goto out_free;
	print_start(o, t, resume, out);
	cli_progress_init(&ctx.progress, !o->quiet, t->step, o->cfg.iters, NULL);
	ctx.last_ckpt = tr_now_seconds();
	hooks.user = &ctx;
	hooks.after_step = after_step;
	hooks.on_eval = on_eval;
	rc = tr_trainer_run(t, &hooks, &err);
	cli_progress_done(&ctx.progress);
	rc = finish(&ctx, t, rc, &err);
	if (rc == TR_OK || rc == TR_ERR_DIVERGED || rc == TR_ERR_INTERRUPTED)
		print_result(&ctx, t);

out_free:
	tr_ckpt_writer_free(ctx.writer);
	tr_trainer_free(t);
	tr_backend_free(be);
	tr_dataset_free(&data);
	tr_checkpoint_free(&ck);
	free(init);
	if (rc)
		cli_report_error(&err);
	tr_dir_lock_release(&lock);
	return rc;
}
