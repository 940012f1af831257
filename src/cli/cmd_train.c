/*
 * cmd_train.c - `trainer [train]`: one training run from options to output files.
 *
 * Order: every check that can fail on the user's input (output directory, data,
 * device, initial weights) happens before training starts; outputs are written as
 * the run goes (metrics.csv and summary.json at every evaluation), weights at the end.
 */
#include "commands.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "trainer/best_params.h"
#include "trainer/checkpoint.h"
#include "trainer/fs.h"
#include "trainer/run_analysis.h"
#include "trainer/run_output.h"

static volatile sig_atomic_t stop_requested;

/* First SIGINT/SIGTERM: finish the step and save. Second: leave at once; every file
 * is written atomically, so nothing is torn. */
static void on_signal(int sig)
{
	if (stop_requested)
		_exit(TR_ERR_INTERRUPTED);
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

struct run_ctx {
	const cli_options *o;
	const char *out;
	char ckpt_path[CLI_PATH_MAX + 32];
	long ckpt_every;
	tr_run_info info;
	cli_progress progress;
};

static int save_checkpoint(struct run_ctx *ctx, tr_trainer *t, tr_error *err)
{
	return tr_checkpoint_save(ctx->ckpt_path, t, ctx->info.val_size, err);
}

/* After each iteration: progress, periodic checkpoint, and the reaction to a signal. */
static int after_step(void *user, tr_trainer *t, tr_error *err)
{
	struct run_ctx *ctx = user;
	int rc;

	cli_progress_step(&ctx->progress, t->step);
	if (t->diverged_at)
		return TR_OK; /* never overwrite a good checkpoint with a diverged state */
	if (stop_requested || t->step % ctx->ckpt_every == 0) {
		rc = save_checkpoint(ctx, t, err);
		if (rc == TR_ERR_DIVERGED)
			t->diverged_at = t->step; /* non-finite parameters: record it */
		if (rc)
			return tr_error_prefix(err, "checkpoint at iteration %ld", t->step);
	}
	if (stop_requested)
		return tr_fail(err, TR_ERR_INTERRUPTED,
			       "interrupted after iteration %ld; the checkpoint is saved: continue "
			       "with  trainer --resume %s", t->step, ctx->out);
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

/* Final test evaluation, weights and summary after training ended with `status`. */
static int finish(struct run_ctx *ctx, tr_trainer *t, int status, tr_error *err)
{
	tr_error e2;
	float *params = NULL;
	int rc;

	tr_error_clear(&e2);
	ctx->info.status = status == TR_OK ? "completed" :
			   status == TR_ERR_DIVERGED ? "diverged" :
			   status == TR_ERR_INTERRUPTED ? "interrupted" : "failed";
	ctx->info.message = status == TR_OK ? NULL : err->msg;
	if (status == TR_OK) {
		rc = tr_trainer_evaluate(t, &t->data->test, &ctx->info.test_loss,
					 &ctx->info.test_acc, &e2);
		if (rc)
			goto out_fail;
		ctx->info.have_test = true;
	}
	/* A diverged network's weights are not finite: keep whatever was there. */
	if (status == TR_OK || status == TR_ERR_INTERRUPTED) {
		params = malloc(t->cfg.layout.n_params * sizeof(float));
		if (!params) {
			rc = tr_fail(&e2, TR_ERR_INTERNAL, "out of host memory");
			goto out_fail;
		}
		if ((rc = tr_net_get_state(t->net, params, NULL, NULL, &e2)) ||
		    (rc = tr_run_write_weights(ctx->out, &t->cfg.layout, params, &e2)))
			goto out_fail;
	}
	if (status == TR_OK && (rc = end_of_run_analyses(ctx, t, &e2)))
		goto out_fail;
	if ((rc = tr_run_write_metrics(ctx->out, t, &e2)) ||
	    (rc = tr_run_write_summary(ctx->out, t, &ctx->info, &e2)))
		goto out_fail;
	free(params);
	return status;

out_fail:
	free(params);
	if (status == TR_OK) {
		*err = e2;
		return rc;
	}
	/* Keep the first error; mention the second. */
	fprintf(stderr, "trainer: also: %s\n", e2.msg);
	return status;
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

/* Options a resumed run takes from its checkpoint, not from the command line. */
static const char *const fixed_on_resume[] = {
	"val-size", "layers", "init", "seed", "lr", "l2", "l2-scope", "batch",
	"eval-every", "no-shuffle", "out", "init-weights",
};

/* --resume DIR: the checkpoint's settings replace the options; --iters may extend. */
static int prepare_resume(cli_options *o, tr_checkpoint *ck, tr_error *err)
{
	char path[CLI_PATH_MAX + 32];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fixed_on_resume) / sizeof(fixed_on_resume[0]); i++)
		if (cli_given(o, fixed_on_resume[i]))
			return tr_fail(err, TR_ERR_USAGE,
				       "--%s cannot be combined with --resume: a resumed run keeps "
				       "the settings of its checkpoint", fixed_on_resume[i]);
	snprintf(path, sizeof(path), "%s/%s", o->resume, TR_CHECKPOINT_FILE);
	rc = tr_checkpoint_load(path, ck, err);
	if (rc)
		return tr_error_prefix(err, "--resume");
	if (cli_given(o, "iters")) {
		if (o->cfg.iters < ck->step)
			return tr_fail(err, TR_ERR_USAGE,
				       "--iters %ld: the checkpoint in %s is already at iteration %ld",
				       o->cfg.iters, o->resume, ck->step);
		ck->cfg.iters = o->cfg.iters;
	}
	o->cfg = ck->cfg;
	o->val_size = ck->val_size;
	snprintf(o->out_dir, sizeof(o->out_dir), "%s", o->resume);
	return TR_OK;
}

/* A run killed with SIGKILL (or a power cut) may leave the temporary files of its
 * atomic writes, `.<name>.tmp.XXXXXX` (see formats.h), in its directory; resuming it
 * removes them. The finished files themselves are always whole. */
static void remove_stale_temps(const char *dir)
{
	char path[CLI_PATH_MAX + 300];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *tmp = strstr(e->d_name, ".tmp.");

		if (e->d_name[0] != '.' || !tmp || tmp == e->d_name || strlen(tmp) != 11)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* A resumed network must fit the data: say so in terms of --resume and --data, since
 * --layers cannot be given with --resume. */
static int check_resume_data(const cli_options *o, const tr_dataset *data, tr_error *err)
{
	const tr_layout *lay = &o->cfg.layout;
	char layers[256];

	if (lay->sizes[0] == data->train.image_size)
		return TR_OK;
	tr_layout_format(lay, layers, sizeof(layers));
	return tr_fail(err, TR_ERR_INPUT,
		       "--resume %s: the checkpoint's network (%s) takes %zu inputs, but the "
		       "images in %s have %zu pixels: resume with the --data the run was "
		       "trained on", o->resume, layers, lay->sizes[0], data->dir,
		       data->train.image_size);
}

int cli_cmd_train(cli_options *o)
{
	tr_backend_options bopts = { .threads = o->threads };
	struct run_ctx ctx;
	tr_train_hooks hooks;
	tr_checkpoint ck;
	tr_dataset data;
	tr_backend *be = NULL;
	tr_trainer *t = NULL;
	float *init = NULL;
	bool resume = o->resume[0] != '\0';
	char out[CLI_PATH_MAX], data_dir[CLI_PATH_MAX], started[32];
	tr_error err;
	int rc;

	tr_error_clear(&err);
	memset(&data, 0, sizeof(data));
	memset(&ctx, 0, sizeof(ctx));
	memset(&ck, 0, sizeof(ck));
	if (resume && (rc = prepare_resume(o, &ck, &err)))
		goto out_free;
	if (o->out_dir[0])
		snprintf(out, sizeof(out), "%s", o->out_dir);
	else
		cli_default_out_dir("run", out, sizeof(out));
	cli_default_data_dir(o, data_dir, sizeof(data_dir));
	iso_now(started, sizeof(started));

	if ((!resume && (rc = tr_check_output_dir(out, o->force, "--out", &err))) ||
	    (rc = tr_dataset_load(data_dir, o->val_size, &data, &err)) ||
	    (resume && (rc = check_resume_data(o, &data, &err))) ||
	    (!resume && (rc = load_initial_weights(o, &init, &err))) ||
	    (rc = tr_backend_open(o->device, &bopts, &be, &err)) ||
	    (rc = tr_trainer_create(&o->cfg, &data, be, resume ? ck.params : init, &t, &err)) ||
	    (resume && (rc = tr_trainer_restore(t, &ck, &err))) ||
	    (rc = tr_mkdir_p(out, &err)))
		goto out_free;
	if (resume)
		remove_stale_temps(out);
	if (tr_backend_warning(be)[0])
		fprintf(stderr, "trainer: warning: %s\n", tr_backend_warning(be));
	{
		char note[600];

		tr_trainer_data_note(t, note, sizeof(note));
		if (note[0])
			fprintf(stderr, "trainer: note: %s\n", note);
	}
	if (resume && t->step == o->cfg.iters) {
		if (!o->quiet)
			printf("%s: already completed %ld iterations; nothing to do "
			       "(pass --iters N to continue further)\n", out, t->step);
		goto out_free;
	}

	ctx.o = o;
	ctx.out = out;
	snprintf(ctx.ckpt_path, sizeof(ctx.ckpt_path), "%s/%s", out, TR_CHECKPOINT_FILE);
	ctx.ckpt_every = o->checkpoint_every ? o->checkpoint_every : o->cfg.eval_every;
	ctx.info.status = "running";
	ctx.info.data_dir = data_dir;
	ctx.info.val_size = o->val_size;
	ctx.info.threads = o->threads;
	ctx.info.started_at = started;
	ctx.info.init_weights = o->init_weights[0] ? o->init_weights : NULL;
	if ((rc = tr_run_write_summary(out, t, &ctx.info, &err)))
		goto out_free;
	if (!o->quiet) {
		char layers[256];

		tr_layout_format(&o->cfg.layout, layers, sizeof(layers));
		fprintf(stderr, "%s %s on %s (%s), iterations %ld..%ld -> %s/\n",
			resume ? "resuming" : "training", layers, tr_backend_name(be),
			tr_backend_device_name(be), t->step + 1, o->cfg.iters, out);
		if (tr_backend_tuning(be)[0])
			fprintf(stderr, "%s\n", tr_backend_tuning(be));
	}
	cli_progress_init(&ctx.progress, !o->quiet, t->step, o->cfg.iters, NULL);
	install_signals();
	hooks.user = &ctx;
	hooks.after_step = after_step;
	hooks.on_eval = on_eval;
	rc = tr_trainer_run(t, &hooks, &err);
	cli_progress_done(&ctx.progress);
	rc = finish(&ctx, t, rc, &err);
	if (rc == TR_OK || rc == TR_ERR_DIVERGED || rc == TR_ERR_INTERRUPTED)
		print_result(&ctx, t);

out_free:
	tr_trainer_free(t);
	tr_backend_free(be);
	tr_dataset_free(&data);
	tr_checkpoint_free(&ck);
	free(init);
	if (rc)
		cli_report_error(&err);
	return rc;
}
