/*
 * checkpoint.h - the whole state of a training run in one file, so that a run can be
 * stopped and continued with results identical to an uninterrupted run (same backend,
 * same thread count).
 *
 * File layout (little-endian): the magic "TRCKPT01", the version (3; versions 1 and 2
 * are still read), the configuration, the data set's sizes and a CRC-32 of the data
 * (version 3: every image and label of the training and test files, tr_dataset.crc;
 * versions 1 and 2: the training split's labels only), the numbers per metrics row
 * (version 3; 6 in version 1, 9 in version 2), the step, elapsed seconds, the batcher
 * (position, epoch, PRNG and the epoch's permutation), the metrics rows so far (9
 * numbers: iter, train_loss, train_acc, val_loss, val_acc, seconds, train_ce, val_ce,
 * l2_term; version 1 rows lack the last three, which load as NaN), then parameters and
 * both Adam moments as float32, and a CRC-32 (zlib) of everything before it. The file
 * is written atomically (formats.h): a crash leaves the previous checkpoint or the new
 * one.
 *
 * Writing is split in two so that it can leave the training thread: a snapshot (one
 * read of the device's state into host memory, plus copies of the trainer's host
 * state) taken between two steps, then the file written from the snapshot alone, on
 * any thread (checkpoint_writer.h does that in the background).
 */
#ifndef TRAINER_CHECKPOINT_H
#define TRAINER_CHECKPOINT_H

#include <stddef.h>

#include "trainer/trainer.h"

#define TR_CHECKPOINT_FILE "checkpoint.bin"
#define TR_CHECKPOINT_VERSION 3

typedef struct tr_checkpoint {
	uint32_t version;        /* of the file it was read from (TR_CHECKPOINT_VERSION) */
	tr_train_config cfg;
	size_t val_size;         /* --val-size of the run */
	size_t train_count;      /* training examples (must match the data on resume) */
	uint32_t data_crc;       /* version 3: tr_dataset.crc; 1, 2: tr_checkpoint_labels_crc */
	long step;
	double seconds;
	long diverged_at;
	tr_batcher batcher;      /* owns its perm */
	tr_metric_row *metrics;  /* n_metrics rows, owned */
	size_t n_metrics;
	float *params;           /* 3 * cfg.layout.n_params floats, owned: the parameters, */
	float *adam_m, *adam_v;  /* then Adam's m and v (pointers into the same block) */
} tr_checkpoint;

/* Copy t's whole state into c, between two steps: parameters and Adam moments from the
 * device (one read), batcher, metrics, step and training time. c's arrays are
 * allocated on first use and reused by later snapshots of the same trainer (start from
 * a zeroed c; free with tr_checkpoint_free). A parameter that is not finite is
 * TR_ERR_DIVERGED (a checkpoint must never replace a good one with a diverged state);
 * `path` names the file the snapshot is for, in that message. */
int tr_checkpoint_snapshot(tr_trainer *t, size_t val_size, const char *path,
			   tr_checkpoint *c, tr_error *err);

/* Write c to path atomically. Reads nothing but c: may run on another thread while
 * training goes on. TR_ERR_OUTPUT naming the file when it cannot be written (the
 * previous file is kept). */
int tr_checkpoint_write(const char *path, const tr_checkpoint *c, tr_error *err);

/* Snapshot and write, on the calling thread. */
int tr_checkpoint_save(const char *path, tr_trainer *t, size_t val_size, tr_error *err);

/* Read and validate a checkpoint file. TR_ERR_INPUT naming the file on any problem. The
 * file's size is checked against what its header declares before the file is read. */
int tr_checkpoint_load(const char *path, tr_checkpoint *out, tr_error *err);

/* Parse a checkpoint from memory (`name` is used in messages). For the loader and the
 * fuzzer: never reads outside buf, never trusts a size it has not checked. */
int tr_checkpoint_parse(const void *buf, size_t len, const char *name, tr_checkpoint *out,
			tr_error *err);

/* CRC-32 of the training split's labels: the data check of version 1 and 2
 * checkpoints. */
uint32_t tr_checkpoint_labels_crc(const tr_split *train);

void tr_checkpoint_free(tr_checkpoint *c); /* NULL-safe; leaves *c zeroed */

/* Put a loaded checkpoint's state into a trainer created with c->cfg and c->params:
 * Adam moments, step, batcher, metrics, elapsed time. Refuses (TR_ERR_INPUT) data
 * other than the checkpoint's. Takes ownership of c->batcher and c->metrics (c is left
 * without them). */
int tr_trainer_restore(tr_trainer *t, tr_checkpoint *c, tr_error *err);

#endif /* TRAINER_CHECKPOINT_H */
