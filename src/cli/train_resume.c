/* train_resume.c - see train_resume.h. */
#include "train_resume.h"

#include <stdio.h>
#include <string.h>

#include "trainer/fs.h"
#include "trainer/run_output.h"

/* Options a resumed run takes from its checkpoint, not from the command line. */
static const char *const fixed_on_resume[] = {
	"val-size", "layers", "init", "seed", "lr", "l2", "l2-scope", "batch",
	"eval-every", "no-shuffle", "out", "init-weights", "force",
};

/* The run's own settings that are not in the checkpoint, where not given again. */
static void apply_recorded_settings(cli_options *o, const tr_run_settings *rs)
{
	tr_error ignored;

	/* Summaries of older versions recorded the path as given: a relative one is used
	 * only if it names a directory from here. */
	if (!cli_given(o, "data") && rs->data_dir[0] &&
	    strlen(rs->data_dir) < sizeof(o->data_dir) &&
	    (rs->data_dir[0] == '/' || tr_path_exists(rs->data_dir)))
		strcpy(o->data_dir, rs->data_dir);
	if (!cli_given(o, "threads") && rs->threads >= 0)
		o->threads = rs->threads;
	if (!cli_given(o, "device") && rs->device[0] && strlen(rs->device) < sizeof(o->device))
		strcpy(o->device, rs->device);
	if (!cli_given(o, "checkpoint-every") && rs->checkpoint_every[0])
		cli_parse_checkpoint_every(rs->checkpoint_every, &o->checkpoint_every, &ignored);
}

int cli_prepare_resume(cli_options *o, tr_checkpoint *ck, bool *completed, tr_error *err)
{
	char path[CLI_PATH_MAX + 32];
	tr_run_settings rs;
	tr_error ignored;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fixed_on_resume) / sizeof(fixed_on_resume[0]); i++)
		if (cli_given(o, fixed_on_resume[i]))
			return tr_fail(err, TR_ERR_USAGE,
				       "--%s cannot be combined with --resume: a resumed run keeps "
				       "the settings of its checkpoint", fixed_on_resume[i]);
	/* A summary that is missing or damaged only costs the recorded settings. */
	if (tr_run_read_settings(o->resume, &rs, &ignored) == TR_OK)
		apply_recorded_settings(o, &rs);
	else
		memset(&rs, 0, sizeof(rs));
	*completed = !strcmp(rs.status, "completed");
	snprintf(path, sizeof(path), "%s/%s", o->resume, TR_CHECKPOINT_FILE);
	if (!strcmp(rs.checkpoint_every, "off") && !tr_path_exists(path))
		return tr_fail(err, TR_ERR_INPUT, "--resume %s: the run has no checkpoint: it ran "
			       "with --checkpoint-every off, so it cannot be continued; train it "
			       "again", o->resume);
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

int cli_check_resume_data(const cli_options *o, const tr_dataset *data, tr_error *err)
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
