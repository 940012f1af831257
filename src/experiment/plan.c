/*
 * plan.c - running an experiment again in the same directory: what each run directory
 * holds, and whether to keep, continue, or redo it.
 */
#include "report_impl.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "trainer/checkpoint.h"
#include "trainer/trainer.h"

static bool dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool any = false;

	if (!d)
		return false;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

/* The first setting of `have` that differs from `want`, into buf ("" when none). */
static void compare(const rp_run *have, const tr_train_config *want, size_t val_size,
		    char *buf, size_t cap)
{
	const char *scope = want->l2_scope == TR_L2_ALL ? "all" : "weights";
	char layers[256];

	tr_layout_format(&want->layout, layers, sizeof(layers));
	buf[0] = '\0';
	if (strcmp(have->layers, layers))
		snprintf(buf, cap, "layers %.80s, here %.80s", have->layers, layers);
	else if (strcmp(have->init, tr_init_name(want->init)))
		snprintf(buf, cap, "init %s, here %s", have->init, tr_init_name(want->init));
	else if (have->seed != (long)want->seed)
		snprintf(buf, cap, "seed %ld, here %lu", have->seed, (unsigned long)want->seed);
	else if (have->lr != want->lr)
		snprintf(buf, cap, "lr %g, here %g", have->lr, want->lr);
	else if (have->l2 != want->l2)
		snprintf(buf, cap, "l2 %g, here %g", have->l2, want->l2);
	else if (strcmp(have->l2_scope, scope))
		snprintf(buf, cap, "l2-scope %s, here %s", have->l2_scope, scope);
	else if (have->batch != (long)want->batch)
		snprintf(buf, cap, "batch %ld, here %zu", have->batch, want->batch);
	else if (have->eval_every != want->eval_every)
		snprintf(buf, cap, "eval-every %ld, here %ld", have->eval_every, want->eval_every);
	else if (have->val_size != (long)val_size)
		snprintf(buf, cap, "val-size %ld, here %zu", have->val_size, val_size);
	else if (have->shuffle != want->shuffle)
		snprintf(buf, cap, "%s, here %s", have->shuffle ? "shuffled" : "no-shuffle",
			 want->shuffle ? "shuffled" : "no-shuffle");
}

int tr_exp_run_state_read(const char *run_dir, const struct tr_train_config *want,
			  size_t want_val_size, tr_exp_run_state *st, tr_error *err)
{
	char path[RP_PATH_MAX];
	struct stat sb;
	rp_run run;
	int rc;

	memset(st, 0, sizeof(*st));
	st->test_acc = st->wall_seconds = NAN;
	st->exists = dir_has_entries(run_dir);
	rp_path(path, sizeof(path), "%s/%s", run_dir, TR_CHECKPOINT_FILE);
	st->has_checkpoint = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
	rp_path(path, sizeof(path), "%s/summary.json", run_dir);
	if (stat(path, &sb) != 0)
		return TR_OK;
	memset(&run, 0, sizeof(run));
	if ((rc = rp_read_summary(&run, path, err)))
		return rc;
	st->has_summary = true;
	snprintf(st->status, sizeof(st->status), "%s", run.status);
	st->iterations_done = run.iterations_done;
	st->iters = run.iters;
	st->test_acc = run.test_acc;
	st->wall_seconds = run.wall_seconds;
	st->diverged_at = run.diverged ? (run.diverged_at > 0 ? run.diverged_at : 1) : 0;
	if (want)
		compare(&run, want, want_val_size, st->mismatch, sizeof(st->mismatch));
	return TR_OK;
}

enum tr_exp_action tr_exp_decide(const tr_exp_run_state *st, long want_iters, bool force)
{
	if (!st->exists)
		return TR_EXP_NEW;
	if (force)
		return TR_EXP_RERUN;
	if (st->has_summary && st->mismatch[0])
		return TR_EXP_CONFLICT;
	if (st->diverged_at || !strcmp(st->status, "diverged"))
		return TR_EXP_KEEP;
	if (!strcmp(st->status, "completed")) {
		if (st->iterations_done == want_iters)
			return TR_EXP_KEEP;
		if (st->iterations_done < want_iters && st->has_checkpoint)
			return TR_EXP_RESUME;
		return TR_EXP_CONFLICT;
	}
	if (st->has_checkpoint)
		return TR_EXP_RESUME;
	return TR_EXP_RERUN;
}

const char *tr_exp_action_name(enum tr_exp_action a)
{
	static const char *const names[] = { "new", "keep", "resume", "rerun", "conflict" };

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
