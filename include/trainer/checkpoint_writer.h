/*
 * checkpoint_writer.h - checkpoints written in the background, off the training thread.
 *
 * The training thread takes a snapshot between two steps (tr_checkpoint_snapshot: one
 * read of the device's state into host memory and copies of the trainer's host state)
 * and hands it to a writer thread, which serialises, writes, fsyncs and renames the
 * file (atomically, as every output) while training continues. At most one write is in
 * flight: a snapshot due while the previous write is still running waits for it. The
 * writer never touches the live trainer, only its own snapshot.
 *
 * The library never prints: a write that failed is kept as a status (with its message,
 * "checkpoint at iteration N: ...") that the caller polls; the file on disk is then
 * still the previous checkpoint.
 *
 * Ownership: the writer owns its thread, its snapshot buffers (3 x the parameters, kept
 * between checkpoints) and its copy of the path. All functions are called from one
 * thread (the training thread).
 */
#ifndef TRAINER_CHECKPOINT_WRITER_H
#define TRAINER_CHECKPOINT_WRITER_H

#include "trainer/checkpoint.h"

typedef struct tr_ckpt_writer tr_ckpt_writer;

/* Start a writer (and its thread) for the checkpoint file at path. Where no thread can
 * be started (out of memory), the writer writes on the calling thread, in submit. */
int tr_ckpt_writer_create(const char *path, tr_ckpt_writer **out, tr_error *err);

/* Stop the writer after the write in flight, if any, is done. NULL-safe. */
void tr_ckpt_writer_free(tr_ckpt_writer *w);

/* Snapshot t now and write it in the background. Waits for the write in flight first;
 * if that one (or any earlier one) failed, returns its error instead and takes no
 * snapshot. A snapshot with non-finite parameters is TR_ERR_DIVERGED (nothing is
 * written: the previous checkpoint stays). */
int tr_ckpt_writer_submit(tr_ckpt_writer *w, tr_trainer *t, size_t val_size,
			  tr_error *err);

/* Without waiting: the error of a write that failed since the last call, or TR_OK
 * (also while a write is still in flight). An error is returned once. */
int tr_ckpt_writer_poll(tr_ckpt_writer *w, tr_error *err);

/* Wait until no write is in flight, then poll. */
int tr_ckpt_writer_wait(tr_ckpt_writer *w, tr_error *err);

/* A write is in flight now (a submit would wait for it). */
bool tr_ckpt_writer_busy(tr_ckpt_writer *w);

/* The iteration of the latest snapshot handed over (-1 before the first): a checkpoint
 * of that iteration is written, being written, or failed (see poll). */
long tr_ckpt_writer_submitted_step(const tr_ckpt_writer *w);

#endif /* TRAINER_CHECKPOINT_WRITER_H */
