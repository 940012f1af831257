/*
 * best_params.h - the parameters at the best validation accuracy so far, kept in the
 * run directory as the run goes (early stopping's parameters, without stopping):
 *   best/w1.npy..wL.npy, b1.npy..bL.npy   as the final ones (run_output.h)
 *   best/best.json                        {"iter": ..., "val_acc": ...}
 * A new best/ replaces the old one in one step (it is written under a temporary name,
 * then exchanged with the old one): a reader finds the old set or the new one, never a
 * mix of both.
 */
#ifndef TRAINER_BEST_PARAMS_H
#define TRAINER_BEST_PARAMS_H

#include "trainer/trainer.h"

#define TR_BEST_DIR "best"

/* After an evaluation row (appended to t->metrics already): when its validation
 * accuracy is finite and higher than every earlier row's, download the parameters and
 * write them to dir/best/. Otherwise nothing. TR_ERR_OUTPUT naming the path when it
 * cannot be written (the previous best/ is then kept). */
int tr_best_update(const char *dir, tr_trainer *t, const tr_metric_row *row, tr_error *err);

/* Read dir/best/ into flat (lay->n_params floats) with the iteration and validation
 * accuracy it was taken at. TR_ERR_INPUT naming the file when it is absent or damaged. */
int tr_best_read(const char *dir, const tr_layout *lay, float *flat, long *iter,
		 double *val_acc, tr_error *err);

#endif /* TRAINER_BEST_PARAMS_H */
