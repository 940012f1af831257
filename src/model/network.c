/*
 * network.c - forward, loss, backward and update of the MLP, as backend operations.
 *
 * Forward, layer i (0-based, L layers, input a_{-1} = x):
 *   z_i = a_{i-1} W_i + b_i;  a_i = relu(z_i) for i < L-1, logits = z_{L-1}.
 * Backward from d = dLoss/dlogits (softmax - onehot) / rows:
 *   dW_i = a_{i-1}^T d;  db_i = column sums of d;
 *   d <- (d W_i^T) * [a_{i-1} > 0]   (for i > 0; db_{i-1} in the same pass)
 * Update: Adam (TF1) with the L2 gradient lambda * w folded in, over the flat array.
 */
#include "trainer/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy the backend's last error into err, with the step that failed as context. */
static int be_fail(tr_net *net, tr_error *err, const char *what)
{
	const tr_error *e = tr_backend_last_error(net->be);

	tr_fail(err, e->status ? e->status : TR_ERR_DEVICE, "%s", e->msg);
	return tr_error_prefix(err, "%s", what);
}

#define TRY(net, err, what, call) \
	do { if ((call) != TR_OK) return be_fail(net, err, what); } while (0)

static int alloc(tr_net *net, size_t n, const char *what, tr_buf **out, tr_error *err)
{
	if (tr_backend_alloc(net->be, n, what, out) != TR_OK)
		return be_fail(net, err, "allocating the network");
	return TR_OK;
}

/* The GEMMs of one training step (see the top of this file), told to the backend. */
static int expect_step_gemms(tr_net *net, tr_error *err)
{
	const tr_layout *lay = &net->lay;
	tr_tune_shape shapes[3 * TR_MAX_LAYERS];
	size_t i, n = 0, B = net->batch;

	memset(shapes, 0, sizeof(shapes));
	for (i = 0; i < lay->n_layers; i++) {
		size_t in = lay->sizes[i], out = lay->sizes[i + 1];
		tr_tune_shape fwd = { false, false, B, out, in, 1.0, "forward" };
		tr_tune_shape wgrad = { true, false, in, out, B, 1.0, "weight gradient" };
		tr_tune_shape igrad = { false, true, B, in, out, 1.0, "input gradient" };

		shapes[n++] = fwd;
		shapes[n++] = wgrad;
		if (i > 0)
			shapes[n++] = igrad;
	}
	TRY(net, err, "preparing the GEMMs", tr_backend_expect_gemms(net->be, shapes, n));
	return TR_OK;
}

int tr_net_create(tr_backend *be, const tr_layout *lay, size_t batch, size_t eval_rows,
		  tr_net **out, tr_error *err)
{
	tr_net *net = calloc(1, sizeof(*net));
	size_t i, p = lay->n_params;
	char name[48];
	int rc;

	*out = NULL;
	if (!net)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	net->be = be;
	net->lay = *lay;
	net->batch = batch;
	net->max_rows = eval_rows > batch ? eval_rows : batch;
	if ((rc = alloc(net, p, "parameters", &net->params, err)) ||
	    (rc = alloc(net, p, "gradients", &net->grads, err)) ||
	    (rc = alloc(net, p, "Adam m", &net->adam_m, err)) ||
	    (rc = alloc(net, p, "Adam v", &net->adam_v, err)) ||
	    (rc = alloc(net, net->max_rows * lay->sizes[0], "input batch", &net->x, err)) ||
	    (rc = alloc(net, net->max_rows, "labels", &net->labels, err)) ||
	    (rc = alloc(net, batch * lay->max_width, "gradient scratch 0", &net->delta[0], err)) ||
	    (rc = alloc(net, batch * lay->max_width, "gradient scratch 1", &net->delta[1], err)) ||
	    (rc = alloc(net, TR_N_SLOTS, "scalars", &net->scalars, err)))
		goto out_free_net;
	for (i = 0; i < lay->n_layers; i++) {
		snprintf(name, sizeof(name), "activations %zu", i + 1);
		rc = alloc(net, net->max_rows * lay->sizes[i + 1], name, &net->act[i], err);
		if (rc)
			goto out_free_net;
	}
	if ((rc = expect_step_gemms(net, err)))
		goto out_free_net;
	*out = net;
	return TR_OK;

out_free_net:
	tr_net_free(net);
	return rc;
}

void tr_net_free(tr_net *net)
{
	size_t i;

	if (!net)
		return;
	tr_backend_buf_free(net->be, net->params);
	tr_backend_buf_free(net->be, net->grads);
	tr_backend_buf_free(net->be, net->adam_m);
	tr_backend_buf_free(net->be, net->adam_v);
	tr_backend_buf_free(net->be, net->x);
	tr_backend_buf_free(net->be, net->labels);
	tr_backend_buf_free(net->be, net->delta[0]);
	tr_backend_buf_free(net->be, net->delta[1]);
	tr_backend_buf_free(net->be, net->scalars);
	for (i = 0; i < TR_MAX_LAYERS; i++)
		tr_backend_buf_free(net->be, net->act[i]);
	free(net);
}

int tr_net_set_state(tr_net *net, const float *params, const float *m, const float *v,
		     tr_error *err)
{
	size_t n = net->lay.n_params;
	float *zeros = NULL;

	if (!m || !v) {
		zeros = calloc(n, sizeof(float));
		if (!zeros)
			return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	}
	if (tr_backend_upload(net->be, tr_at(net->params, 0), params, n) ||
	    tr_backend_upload(net->be, tr_at(net->adam_m, 0), m ? m : zeros, n) ||
	    tr_backend_upload(net->be, tr_at(net->adam_v, 0), v ? v : zeros, n)) {
		free(zeros);
		return be_fail(net, err, "uploading parameters");
	}
	free(zeros);
	return TR_OK;
}

int tr_net_get_state(tr_net *net, float *params, float *m, float *v, tr_error *err)
{
	size_t n = net->lay.n_params;

	TRY(net, err, "reading parameters",
	    tr_backend_download(net->be, tr_at(net->params, 0), params, n));
	if (m)
		TRY(net, err, "reading Adam moments",
		    tr_backend_download(net->be, tr_at(net->adam_m, 0), m, n));
	if (v)
		TRY(net, err, "reading Adam moments",
		    tr_backend_download(net->be, tr_at(net->adam_v, 0), v, n));
	return TR_OK;
}

int tr_net_load_batch(tr_net *net, const float *x, const float *labels, size_t rows,
		      tr_error *err)
{
	if (rows > net->max_rows)
		return tr_fail(err, TR_ERR_INTERNAL, "batch of %zu rows exceeds %zu",
			       rows, net->max_rows);
	TRY(net, err, "uploading a batch",
	    tr_backend_upload(net->be, tr_at(net->x, 0), x, rows * net->lay.sizes[0]));
	TRY(net, err, "uploading a batch",
	    tr_backend_upload(net->be, tr_at(net->labels, 0), labels, rows));
	return TR_OK;
}

int tr_net_gather(tr_net *net, const tr_examples *ex, size_t base, const uint32_t *idx,
		  size_t first, size_t rows, tr_error *err)
{
	if (rows > net->max_rows)
		return tr_fail(err, TR_ERR_INTERNAL, "batch of %zu rows exceeds %zu",
			       rows, net->max_rows);
	TRY(net, err, "loading a batch",
	    tr_backend_gather(net->be, ex, base, idx, first, rows, tr_at(net->x, 0),
			      tr_at(net->labels, 0)));
	return TR_OK;
}

int tr_net_forward(tr_net *net, size_t rows, tr_error *err)
{
	const tr_layout *lay = &net->lay;
	tr_buf *in = net->x;
	size_t i;

	for (i = 0; i < lay->n_layers; i++) {
		size_t n_in = lay->sizes[i], n_out = lay->sizes[i + 1];

		TRY(net, err, "forward pass",
		    tr_backend_gemm(net->be, false, false, rows, n_out, n_in, 1.0f,
				    tr_at(in, 0), n_in, tr_at(net->params, lay->w_off[i]),
				    n_out, 0.0f, tr_at(net->act[i], 0), n_out));
		TRY(net, err, "forward pass",
		    tr_backend_bias_act(net->be, tr_at(net->act[i], 0),
					tr_at(net->params, lay->b_off[i]), rows, n_out,
					i + 1 < lay->n_layers));
		in = net->act[i];
	}
	return TR_OK;
}

static tr_view slot(tr_net *net, int which)
{
	return tr_at(net->scalars, (size_t)which);
}

int tr_net_loss(tr_net *net, size_t rows, bool with_grad, bool accumulate,
		tr_error *err)
{
	size_t L = net->lay.n_layers, classes = net->lay.sizes[L];
	tr_view logits = tr_at(net->act[L - 1], 0);
	tr_view labels = tr_at(net->labels, 0);
	tr_view grad = { NULL, 0 };

	if (with_grad) {
		if (rows > net->batch)
			return tr_fail(err, TR_ERR_INTERNAL, "gradient of %zu rows exceeds batch %zu",
				       rows, net->batch);
		grad = tr_at(net->delta[0], 0);
	}
	TRY(net, err, "loss",
	    tr_backend_softmax_xent(net->be, logits, labels, rows, classes,
				    1.0f / (float)rows, grad, slot(net, TR_SLOT_LOSS),
				    accumulate));
	TRY(net, err, "accuracy",
	    tr_backend_count_correct(net->be, logits, labels, rows, classes,
				     slot(net, TR_SLOT_CORRECT), accumulate));
	return TR_OK;
}

int tr_net_backward(tr_net *net, size_t rows, tr_error *err)
{
	const tr_layout *lay = &net->lay;
	int cur = 0; /* delta[cur] holds dLoss/dz of the layer being processed */
	size_t i;

	for (i = lay->n_layers; i-- > 0;) {
		size_t n_in = lay->sizes[i], n_out = lay->sizes[i + 1];
		tr_buf *in = i ? net->act[i - 1] : net->x;
		tr_view d = tr_at(net->delta[cur], 0);

		TRY(net, err, "backward pass",
		    tr_backend_gemm(net->be, true, false, n_in, n_out, rows, 1.0f,
				    tr_at(in, 0), n_in, d, n_out, 0.0f,
				    tr_at(net->grads, lay->w_off[i]), n_out));
		if (i == lay->n_layers - 1)
			TRY(net, err, "backward pass",
			    tr_backend_bias_grad(net->be, d, rows, n_out,
						 tr_at(net->grads, lay->b_off[i])));
		if (i == 0)
			break;
		TRY(net, err, "backward pass",
		    tr_backend_gemm(net->be, false, true, rows, n_in, n_out, 1.0f, d, n_out,
				    tr_at(net->params, lay->w_off[i]), n_out, 0.0f,
				    tr_at(net->delta[1 - cur], 0), n_in));
		/* the ReLU of layer i-1 and that layer's bias gradient, in one pass */
		TRY(net, err, "backward pass",
		    tr_backend_relu_bias_grad(net->be, tr_at(net->delta[1 - cur], 0),
					      tr_at(in, 0), rows, n_in,
					      tr_at(net->grads, lay->b_off[i - 1])));
		cur = 1 - cur;
	}
	return TR_OK;
}

int tr_net_update(tr_net *net, long t, double lr, double l2, enum tr_l2_scope scope,
		  tr_error *err)
{
	const double beta1 = 0.9, beta2 = 0.999;
	const tr_layout *lay = &net->lay;
	tr_adam_params p;
	size_t split = scope == TR_L2_ALL ? lay->n_params : lay->n_weights;

	p.beta1 = (float)beta1;
	p.beta2 = (float)beta2;
	p.epsilon = 1e-8f;
	p.lr_t = (float)(lr * sqrt(1.0 - pow(beta2, (double)t)) / (1.0 - pow(beta1, (double)t)));
	p.l2 = (float)l2;
	TRY(net, err, "Adam update",
	    tr_backend_adam_l2(net->be, tr_at(net->params, 0), tr_at(net->grads, 0),
			       tr_at(net->adam_m, 0), tr_at(net->adam_v, 0), split, &p));
	if (split == lay->n_params)
		return TR_OK;
	p.l2 = 0.0f;
	TRY(net, err, "Adam update",
	    tr_backend_adam_l2(net->be, tr_at(net->params, split), tr_at(net->grads, split),
			       tr_at(net->adam_m, split), tr_at(net->adam_v, split),
			       lay->n_params - split, &p));
	return TR_OK;
}

int tr_net_train_step(tr_net *net, long t, double lr, double l2,
		      enum tr_l2_scope scope, tr_error *err)
{
	size_t L = net->lay.n_layers, rows = net->batch;
	int rc;

	if ((rc = tr_net_forward(net, rows, err)))
		return rc;
	TRY(net, err, "loss",
	    tr_backend_softmax_xent(net->be, tr_at(net->act[L - 1], 0),
				    tr_at(net->labels, 0), rows, net->lay.sizes[L],
				    1.0f / (float)rows, tr_at(net->delta[0], 0),
				    tr_at(NULL, 0), false));
	if ((rc = tr_net_backward(net, rows, err)))
		return rc;
	return tr_net_update(net, t, lr, l2, scope, err);
}

int tr_net_l2_sumsq(tr_net *net, enum tr_l2_scope scope, tr_error *err)
{
	size_t n = scope == TR_L2_ALL ? net->lay.n_params : net->lay.n_weights;

	TRY(net, err, "L2 term",
	    tr_backend_sum_squares(net->be, tr_at(net->params, 0), n,
				   slot(net, TR_SLOT_SUMSQ), false));
	return TR_OK;
}

int tr_net_read_slots(tr_net *net, double slots[TR_N_SLOTS], tr_error *err)
{
	float host[TR_N_SLOTS];
	int i;

	TRY(net, err, "reading results",
	    tr_backend_download(net->be, tr_at(net->scalars, 0), host, TR_N_SLOTS));
	for (i = 0; i < TR_N_SLOTS; i++)
		slots[i] = host[i];
	return TR_OK;
}
