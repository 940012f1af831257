/*
 * trainer.h - the shared training loop: any backend, the semantics of SPEC.md.
 *
 * The trainer draws batches (TF next_batch order), runs one Adam + L2 step per
 * iteration on the backend, and every eval_every iterations measures the batch just
 * trained on (after the update) and the whole validation split. The images live with
 * the backend (on the device for OpenCL, uploaded once): a step sends only its batch's
 * example indices, and the host reads back only the figures it logs. It knows the
 * backend interface only.
 */
#ifndef TRAINER_TRAINER_H
#define TRAINER_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trainer/backend.h"
#include "trainer/data.h"
#include "trainer/error.h"
#include "trainer/formats.h"
#include "trainer/model.h"

typedef struct tr_train_config {
	tr_layout layout;
	enum tr_init init;
	uint64_t seed;
	double lr;                 /* Adam learning rate */
	double l2;                 /* lambda; 0 turns the L2 term off */
	enum tr_l2_scope l2_scope;
	size_t batch;
	long iters;                /* iterations to run in all */
	long eval_every;           /* evaluate after every this many iterations */
	bool shuffle;
	size_t eval_chunk;         /* rows per forward pass when evaluating */
} tr_train_config;

/* The lab's settings: 784-1500-1000-500-10, uniform01, seed 1, lr 0.005, l2 0.0005
 * on all variables, batch 64, 30000 iterations, evaluation every 100, shuffled. */
void tr_train_config_default(tr_train_config *cfg);

typedef struct tr_trainer {
	tr_train_config cfg;
	const tr_dataset *data;
	tr_backend *be;            /* not owned */
	tr_net *net;
	tr_batcher batcher;
	long step;                 /* iterations done */
	tr_metric_row *metrics;    /* one row per evaluation so far */
	size_t n_metrics, cap_metrics;
	tr_examples *ex_train_file; /* the training file's images (validation included) */
	tr_examples *ex_test_file;  /* the test file's, both held by the backend */
	tr_examples_info data_info; /* where they are: on the device, or staged per batch */
	uint32_t *idx;             /* indices of the current batch */
	double seconds_before;     /* training time of earlier sessions (resume) */
	double t_start;            /* monotonic clock when this session started */
	long diverged_at;          /* 0, or the evaluation that saw a non-finite loss */
} tr_trainer;

/* Create a trainer: allocate the network on be, hand it the data set's images (data
 * must outlive the trainer) and set its parameters to init_params (lay.n_params floats,
 * flat layout; NULL: initialise from cfg->seed). */
int tr_trainer_create(const tr_train_config *cfg, const tr_dataset *data, tr_backend *be,
		      const float *init_params, tr_trainer **out, tr_error *err);
void tr_trainer_free(tr_trainer *t); /* NULL-safe */

/* Where split s (one of t->data's) lives on the backend: which example set, and the
 * index of its first example there (for tr_net_gather). */
void tr_trainer_split_source(const tr_trainer *t, const tr_split *s, const tr_examples **ex,
			     size_t *base);

/* One training iteration: next batch, forward, backward, update. */
int tr_trainer_step(tr_trainer *t, tr_error *err);

/* Measure the figures of one metrics row now (train batch after the update, and the
 * validation split) and append it. */
int tr_trainer_log_point(tr_trainer *t, tr_metric_row *row, tr_error *err);

/* Mean cross-entropy + L2 term, and accuracy, over a whole split. */
int tr_trainer_evaluate(tr_trainer *t, const tr_split *s, double *loss, double *acc,
			tr_error *err);

/* A note for the user about where the data set lives when it is not on the device
 * (it did not fit, so each batch is staged from host memory): one line into buf, or ""
 * when there is nothing to say. */
void tr_trainer_data_note(const tr_trainer *t, char *buf, size_t cap);

/* Seconds of training so far, earlier sessions included. */
double tr_trainer_seconds(const tr_trainer *t);

/* Called by tr_trainer_run. Either may be NULL. */
typedef struct tr_train_hooks {
	void *user;
	/* After every iteration (and its evaluation, if any). A non-OK return ends the
	 * run with that status: TR_ERR_INTERRUPTED to stop on a signal, or an error with
	 * err filled (a checkpoint that could not be written). */
	int (*after_step)(void *user, tr_trainer *t, tr_error *err);
	/* After every evaluation row (already appended to t->metrics); may save files.
	 * A non-OK return (with err filled) ends the run with that status. */
	int (*on_eval)(void *user, tr_trainer *t, const tr_metric_row *row, tr_error *err);
} tr_train_hooks;

/* Run iterations until cfg.iters, evaluating every cfg.eval_every. Returns TR_OK,
 * TR_ERR_DIVERGED (a non-finite loss: err names the iterations), or whatever status
 * a hook returned (t->step says where the run stopped). */
int tr_trainer_run(tr_trainer *t, const tr_train_hooks *hooks, tr_error *err);

#endif /* TRAINER_TRAINER_H */
