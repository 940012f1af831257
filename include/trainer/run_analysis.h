/*
 * run_analysis.h - what a notebook would look at once a run has ended, computed by the
 * trainer from the network's final parameters and written into the run directory:
 *   confusion.csv     the test set's confusion matrix (rows: true class, columns:
 *                     predicted class)
 *   misclassified.csv the first TR_MISCLASSIFIED_MAX misclassified test images, in
 *                     test-file order (an unbiased sample): index, true and predicted
 *                     class, the predicted class's softmax probability
 *   misclassified.npy those images, float32 (k, pixels), values in [0, 1]
 *   analysis.json     per-class test accuracy; dead ReLU units per hidden layer (units
 *                     whose output is 0 on every validation image); the test accuracy
 *                     of the best parameters (best/, best_params.h) beside the final one
 * The forward passes go through the public tr_net_* API and download each evaluation
 * chunk's logits or activations; nothing here is a new backend operation.
 */
#ifndef TRAINER_RUN_ANALYSIS_H
#define TRAINER_RUN_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include "trainer/trainer.h"

#define TR_MISCLASSIFIED_MAX 48

typedef struct tr_misclassified {
	size_t index;        /* in the test split */
	int true_class, predicted;
	double prob;         /* softmax probability of the predicted class */
} tr_misclassified;

typedef struct tr_run_analysis {
	/* test split, final parameters */
	size_t n_test;
	size_t confusion[TR_N_CLASSES][TR_N_CLASSES]; /* [true][predicted] */
	size_t n_wrong;                                /* all misclassified test images */
	tr_misclassified wrong[TR_MISCLASSIFIED_MAX];  /* the first n_shown of them */
	size_t n_shown;
	float *wrong_images;  /* n_shown x pixels, owned (tr_run_analysis_free) */
	size_t pixels;
	/* validation split, final parameters */
	size_t n_val;
	size_t n_hidden;                     /* hidden layers (L - 1) */
	size_t units[TR_MAX_LAYERS];         /* units of hidden layer i + 1 */
	size_t dead[TR_MAX_LAYERS];          /* of them never active on the validation set */
	/* best parameters (best/), when there are */
	bool have_best;
	long best_iter;
	double best_val_acc, best_test_acc, best_test_loss;
} tr_run_analysis;

/* Confusion matrix and misclassified images on the test split, dead units on the
 * validation split, with the network's current parameters. */
int tr_run_analyse(tr_trainer *t, tr_run_analysis *a, tr_error *err);

/* The test accuracy and loss of the parameters in dir/best/ (loads them into the
 * network: call it last). When there is no usable best/ (none written, or it does not
 * match the run's best evaluation), a->have_best stays false and this is no error. */
int tr_run_analyse_best(tr_trainer *t, const char *dir, tr_run_analysis *a, tr_error *err);

/* Write confusion.csv, misclassified.csv, misclassified.npy and analysis.json. */
int tr_run_write_analysis(const char *dir, const tr_run_analysis *a, tr_error *err);

void tr_run_analysis_free(tr_run_analysis *a); /* NULL-safe */

#endif /* TRAINER_RUN_ANALYSIS_H */
