/*
 * model.h - the fully connected ReLU network: its parameter layout, initialisation,
 * and the forward/backward/update passes expressed in backend operations.
 *
 * Parameters live in ONE flat buffer, weights first then biases:
 *   [ W1 | W2 | ... | WL | b1 | b2 | ... | bL ]
 * W_i is (in_i x out_i) row-major, b_i has out_i entries. Gradients and the two Adam
 * moments use the same layout, so the update of every parameter is one call (or two
 * when L2 applies to the weights only), and the L2 term is one sum of squares.
 */
#ifndef TRAINER_MODEL_H
#define TRAINER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trainer/backend.h"
#include "trainer/error.h"

#define TR_MAX_LAYERS 16 /* weight matrices; sizes has one entry more */

typedef struct tr_layout {
	size_t n_layers;                 /* L: number of weight matrices */
	size_t sizes[TR_MAX_LAYERS + 1]; /* layer widths, input first, classes last */
	size_t w_off[TR_MAX_LAYERS];     /* offset of W_i in the flat array */
	size_t b_off[TR_MAX_LAYERS];     /* offset of b_i */
	size_t n_weights;                /* entries of all W_i (= b_off[0]) */
	size_t n_params;                 /* all entries */
	size_t max_width;                /* the widest layer */
} tr_layout;

/* Parse "784,1500,1000,500,10" (2..TR_MAX_LAYERS+1 positive sizes, each at most
 * 1,000,000). Errors are TR_ERR_USAGE naming --layers. */
int tr_layout_parse(const char *spec, tr_layout *out, tr_error *err);
/* Build the layout from explicit sizes. */
int tr_layout_init(tr_layout *lay, const size_t *sizes, size_t n_sizes, tr_error *err);
/* "784,1500,1000,500,10" into buf. */
void tr_layout_format(const tr_layout *lay, char *buf, size_t cap);

enum tr_init {
	TR_INIT_UNIFORM01, /* the seed's: every weight and bias uniform in [0, 1) */
	TR_INIT_HE,        /* W ~ N(0, 2/in), b = 0 */
	TR_INIT_XAVIER,    /* W ~ U(-a, a), a = sqrt(6/(in+out)), b = 0 */
};

/* Parse "uniform01", "he", "xavier"; TR_ERR_USAGE otherwise. */
int tr_init_parse(const char *name, enum tr_init *out, tr_error *err);
const char *tr_init_name(enum tr_init init);

/* Fill flat (lay->n_params floats) from the documented PRNG seeded with `seed`:
 * entries drawn in flat order (W1 row-major, ..., WL, then b1, ..., bL). */
void tr_init_params(const tr_layout *lay, enum tr_init init, uint64_t seed, float *flat);

/* Which parameters the L2 term covers: all (the seed's: weights and biases) or the
 * weights only. */
enum tr_l2_scope { TR_L2_ALL, TR_L2_WEIGHTS };

/* A network on a backend: parameters, gradients, Adam moments, activations. */
typedef struct tr_net {
	tr_backend *be;
	tr_layout lay;
	size_t batch;                  /* rows of a training batch */
	size_t max_rows;               /* max(batch, evaluation chunk) */
	tr_buf *params, *grads, *adam_m, *adam_v; /* n_params each */
	tr_buf *x;                     /* max_rows x sizes[0] inputs */
	tr_buf *labels;                /* max_rows class indices */
	tr_buf *act[TR_MAX_LAYERS];    /* act[i]: max_rows x sizes[i+1]; last = logits */
	tr_buf *delta[2];              /* batch x max_width, back-propagated gradients */
	tr_buf *scalars;               /* TR_SLOT_* below */
} tr_net;

/* Slots of net->scalars: sums the device accumulates and the host reads at once. */
enum { TR_SLOT_LOSS, TR_SLOT_CORRECT, TR_SLOT_SUMSQ, TR_N_SLOTS };

/* Allocate every buffer on be (which the net does not own). Moments start at zero. */
int tr_net_create(tr_backend *be, const tr_layout *lay, size_t batch, size_t eval_rows,
		  tr_net **out, tr_error *err);
void tr_net_free(tr_net *net); /* NULL-safe */

/* Parameters (and optionally the Adam moments) host <-> device, flat layout.
 * m and v may be NULL: on upload they are then set to zero, on download skipped. */
int tr_net_set_state(tr_net *net, const float *params, const float *m, const float *v,
		     tr_error *err);
int tr_net_get_state(tr_net *net, float *params, float *m, float *v, tr_error *err);

/* Upload `rows` examples: x (rows x sizes[0]) and labels (rows class indices). */
int tr_net_load_batch(tr_net *net, const float *x, const float *labels, size_t rows,
		      tr_error *err);

/* Load `rows` examples of ex (held by the network's backend) as the input: example
 * base + idx[i], or base + first + i when idx is NULL (tr_backend_gather). */
int tr_net_gather(tr_net *net, const tr_examples *ex, size_t base, const uint32_t *idx,
		  size_t first, size_t rows, tr_error *err);

/* Forward pass over the loaded rows: act[L-1] holds the logits. */
int tr_net_forward(tr_net *net, size_t rows, tr_error *err);

/* Cross-entropy of the loaded rows into the LOSS slot (sum over rows, added when
 * accumulate) and, when with_grad, the mean's gradient into delta; also the number of
 * correct predictions into the CORRECT slot. Needs tr_net_forward first. */
int tr_net_loss(tr_net *net, size_t rows, bool with_grad, bool accumulate,
		tr_error *err);

/* Back-propagate the gradient tr_net_loss left (rows <= batch) into net->grads:
 * the gradient of the MEAN cross-entropy, without the L2 term. */
int tr_net_backward(tr_net *net, size_t rows, tr_error *err);

/* One Adam + L2 update of every parameter at step t (1-based). */
int tr_net_update(tr_net *net, long t, double lr, double l2, enum tr_l2_scope scope,
		  tr_error *err);

/* forward + loss gradient + backward + update on the loaded batch. The loss itself is
 * not computed (a step that is logged measures it after the update, tr_net_loss). */
int tr_net_train_step(tr_net *net, long t, double lr, double l2,
		      enum tr_l2_scope scope, tr_error *err);

/* Sum of squares of the parameters the L2 term covers, into the SUMSQ slot. */
int tr_net_l2_sumsq(tr_net *net, enum tr_l2_scope scope, tr_error *err);

/* Read the three slots back (waits for the device). */
int tr_net_read_slots(tr_net *net, double slots[TR_N_SLOTS], tr_error *err);

#endif /* TRAINER_MODEL_H */
