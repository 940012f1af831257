/*
 * train_resume.h - `trainer --resume RUN_DIR`: what a resumed run takes from where.
 *
 * Training settings come from RUN_DIR/checkpoint.bin and cannot be given again (only
 * --iters, to extend the run). The run's other settings (--data, --threads, --device,
 * --checkpoint-every) come from RUN_DIR/summary.json unless given again, so that
 * `trainer --resume RUN_DIR` works from any directory in a new shell; the data given or
 * recorded must still be the data the checkpoint was made with (its CRC is checked).
 */
#ifndef TRAINER_CLI_TRAIN_RESUME_H
#define TRAINER_CLI_TRAIN_RESUME_H

#include "options.h"
#include "trainer/checkpoint.h"

/* Load RUN_DIR's checkpoint into ck and set o from it and from the recorded settings;
 * *completed: the run's summary says it completed (a run at its last iteration that
 * does not say so still has its end to do). TR_ERR_USAGE for options a resumed run
 * cannot take; TR_ERR_INPUT for a missing or bad checkpoint. */
int cli_prepare_resume(cli_options *o, tr_checkpoint *ck, bool *completed, tr_error *err);

/* The resumed network must fit the data's images (said in terms of --resume, --data). */
int cli_check_resume_data(const cli_options *o, const tr_dataset *data, tr_error *err);

#endif /* TRAINER_CLI_TRAIN_RESUME_H */
