/*
 * checkpoint.h - the whole state of a training run in one file, so that a run can be
 * stopped and continued with results identical to an uninterrupted run (same backend,
 * same thread count).
 *
 * File layout (little-endian, version 2): the magic "TRCKPT01", the version, the
 * configuration, the data set's sizes and a CRC of its training labels, the step,
 * elapsed seconds, the batcher (position, epoch, PRNG and the epoch's permutation), the
 * metrics rows so far (9 numbers each; version 1 had 6, without the loss's parts, and
 * still loads), then parameters and both Adam
 * moments as float32, and a CRC-32 (zlib) of everything before it. The file is written
 * atomically (formats.h): a crash leaves the previous checkpoint or the new one.
 */
#ifndef TRAINER_CHECKPOINT_H
#define TRAINER_CHECKPOINT_H

#include <stddef.h>

#include "trainer/trainer.h"

#define TR_CHECKPOINT_FILE "checkpoint.bin"

typedef struct tr_checkpoint {
	tr_train_config cfg;
	size_t val_size;         /* --val-size of the run */
	size_t train_count;      /* training examples (must match the data on resume) */
	uint32_t data_crc;       /* tr_checkpoint_data_crc of the training split */
	long step;
	double seconds;
	long diverged_at;
	tr_batcher batcher;      /* owns its perm */
	tr_metric_row *metrics;  /* n_metrics rows, owned */
	size_t n_metrics;
	float *params, *adam_m, *adam_v; /* cfg.layout.n_params each, owned */
} tr_checkpoint;

/* Write t's whole state to path (downloads parameters and moments from the device). */
int tr_checkpoint_save(const char *path, tr_trainer *t, size_t val_size, tr_error *err);

/* Read and validate a checkpoint file. TR_ERR_INPUT naming the file on any problem. */
int tr_checkpoint_load(const char *path, tr_checkpoint *out, tr_error *err);

/* Parse a checkpoint from memory (`name` is used in messages). For the loader and the
 * fuzzer: never reads outside buf, never trusts a size it has not checked. */
int tr_checkpoint_parse(const void *buf, size_t len, const char *name, tr_checkpoint *out,
			tr_error *err);

/* CRC-32 of the training split's labels: tells data sets of equal size apart. */
uint32_t tr_checkpoint_data_crc(const tr_split *train);

void tr_checkpoint_free(tr_checkpoint *c); /* NULL-safe; leaves *c zeroed */

/* Put a loaded checkpoint's state into a trainer created with c->cfg and c->params:
 * Adam moments, step, batcher, metrics, elapsed time. Takes ownership of c->batcher
 * and c->metrics (c is left without them). */
int tr_trainer_restore(tr_trainer *t, tr_checkpoint *c, tr_error *err);

#endif /* TRAINER_CHECKPOINT_H */
