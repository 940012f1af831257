/*
 * checks_elementwise.c - the per-element and per-column operations of a layer:
 * bias + ReLU (forward), ReLU backward, the bias gradient (column sums), and ReLU
 * backward fused with the bias gradient (what back-propagation runs).
 *
 * Each on every rows x cols of the odd sizes 1, 3, 17, 65, 257 (--quick: to 65, and
 * 300 x 5 for the bias gradient: over 256 rows, the OpenCL column sum takes two
 * chunks), then at the network's own shapes. Bounds: NMSE 1e-12 for
 * the element-wise ops (one rounding per element), 1e-9 for the column sums.
 */
#include "verify_impl.h"

#include <stdio.h>
#include <stdlib.h>

/* A layer's shape as an op sees it. */
struct shape {
	size_t rows, cols;
	bool relu; /* bias_act: a hidden layer */
};

#define MAX_SHAPES (26 + 2 * TR_MAX_LAYERS)

/* The odd shapes: every rows x cols of the odd sizes; with `chunks` under --quick also
 * 300 x 5 (over 256 rows: the OpenCL column sum's two-level path). */
static size_t odd_shapes(const tr_vctx *v, bool chunks, struct shape *s)
{
	size_t i, j, n = 0;

	for (i = 0; i < v->n_odd; i++)
		for (j = 0; j < v->n_odd; j++) {
			s[n].rows = v->odd[i];
			s[n].cols = v->odd[j];
			s[n].relu = true;
			n++;
		}
	if (chunks && v->o->quick) {
		struct shape two_chunks = { 300, 5, false };

		s[n++] = two_chunks;
	}
	return n;
}

/* The network's shapes an op sees: each layer's output at the batch (and, with
 * `eval`, at the evaluation chunk), relu set for hidden layers; or with `hidden` each
 * hidden layer's activations at the batch (what the backward pass masks). */
static size_t network_shapes(const tr_vctx *v, bool eval, bool hidden, struct shape *s)
{
	const tr_layout *lay = &v->o->layout;
	size_t i, n = 0;

	for (i = hidden ? 1 : 0; i < lay->n_layers; i++) {
		size_t cols = lay->sizes[hidden ? i : i + 1];
		bool relu = hidden || i + 1 < lay->n_layers;
		struct shape train = { v->o->batch, cols, relu };
		struct shape chunk = { v->o->eval_rows, cols, relu };

		s[n++] = train;
		if (eval)
			s[n++] = chunk;
	}
	return n;
}

/* ---- bias + ReLU ---- */

static int bias_act_case(tr_vctx *v, tr_verify_check *c, size_t rows, size_t cols,
			 bool relu)
{
	size_t n = rows * cols;
	vpair y = { 0 }, b = { 0 };
	char what[64];
	double e = 0.0;
	int rc;

	snprintf(what, sizeof(what), "%zux%zu%s", rows, cols, relu ? " ReLU" : "");
	rc = vpair_random(v, c, n, -1, 1, &y);
	if (rc == TR_OK)
		rc = vpair_random(v, c, cols, -0.5f, 0.5f, &b);
	if (rc == TR_OK)
		rc = vcall(v, c, what,
			   tr_backend_bias_act(v->ref, tr_at(y.r, 0), tr_at(b.r, 0), rows, cols,
					       relu),
			   tr_backend_bias_act(v->dut, tr_at(y.d, 0), tr_at(b.d, 0), rows, cols,
					       relu));
	if (rc == TR_OK)
		rc = vpair_nmse(v, c, &y, 0, n, &e);
	if (rc == TR_OK)
		vcheck_case(c, e, "%s", what);
	vpair_free(v, &y);
	vpair_free(v, &b);
	return rc;
}

static int bias_act_rows(tr_vctx *v, const char *what, const struct shape *s, size_t n,
			 bool both)
{
	tr_verify_check c;
	size_t i;
	int rc = TR_OK;

	vcheck_begin(&c, "bias_act", what, "NMSE", TR_VERIFY_NMSE_ELEMENTWISE);
	for (i = 0; rc == TR_OK && i < n; i++) {
		rc = bias_act_case(v, &c, s[i].rows, s[i].cols, s[i].relu);
		if (rc == TR_OK && both)
			rc = bias_act_case(v, &c, s[i].rows, s[i].cols, !s[i].relu);
	}
	return vcheck_end(v, &c, rc);
}

int vcheck_bias_act(tr_vctx *v)
{
	struct shape s[MAX_SHAPES];
	int rc = bias_act_rows(v, "odd shapes, with and without ReLU", s,
			       odd_shapes(v, false, s), true);

	if (rc != TR_OK || v->o->quick)
		return rc;
	return bias_act_rows(v, "network: every layer, batch and evaluation chunk", s,
			     network_shapes(v, true, false, s), false);
}

/* ---- ReLU backward ---- */

/* A ReLU's output (about half exact zeros), n floats on both. */
static int relu_output(tr_vctx *v, tr_verify_check *c, size_t n, vpair *y)
{
	float *h = malloc(n * sizeof(float));
	size_t i;
	int rc;

	y->r = y->d = NULL;
	if (!h)
		return vfail_oom(v, c);
	vfill_uniform(v, h, n, -1, 1);
	for (i = 0; i < n; i++)
		h[i] = h[i] > 0.0f ? h[i] : 0.0f;
	rc = vpair_new(v, c, h, n, y);
	free(h);
	return rc;
}

static int relu_backward_case(tr_vctx *v, tr_verify_check *c, size_t n)
{
	vpair y = { 0 }, dy = { 0 };
	char what[64];
	double e = 0.0;
	int rc;

	snprintf(what, sizeof(what), "n=%zu", n);
	rc = relu_output(v, c, n, &y);
	if (rc == TR_OK)
		rc = vpair_random(v, c, n, -1, 1, &dy);
	if (rc == TR_OK)
		rc = vcall(v, c, what,
			   tr_backend_relu_backward(v->ref, tr_at(dy.r, 0), tr_at(y.r, 0), n),
			   tr_backend_relu_backward(v->dut, tr_at(dy.d, 0), tr_at(y.d, 0), n));
	if (rc == TR_OK)
		rc = vpair_nmse(v, c, &dy, 0, n, &e);
	if (rc == TR_OK)
		vcheck_case(c, e, "%s", what);
	vpair_free(v, &y);
	vpair_free(v, &dy);
	return rc;
}

static int relu_backward_rows(tr_vctx *v, const char *what, const struct shape *s,
			      size_t n)
{
	tr_verify_check c;
	size_t i;
	int rc = TR_OK;

	vcheck_begin(&c, "relu_backward", what, "NMSE", TR_VERIFY_NMSE_ELEMENTWISE);
	for (i = 0; rc == TR_OK && i < n; i++)
		rc = relu_backward_case(v, &c, s[i].rows * s[i].cols);
	return vcheck_end(v, &c, rc);
}

int vcheck_relu_backward(tr_vctx *v)
{
	struct shape s[MAX_SHAPES];
	int rc = relu_backward_rows(v, "odd shapes", s, odd_shapes(v, false, s));

	if (rc != TR_OK || v->o->quick || v->o->layout.n_layers < 2)
		return rc;
	return relu_backward_rows(v, "network: every hidden layer", s,
				  network_shapes(v, false, true, s));
}

/* ---- bias gradient ---- */

static int bias_grad_case(tr_vctx *v, tr_verify_check *c, size_t rows, size_t cols)
{
	vpair dy = { 0 }, db = { 0 };
	char what[64];
	double e = 0.0;
	int rc;

	snprintf(what, sizeof(what), "%zux%zu", rows, cols);
	rc = vpair_random(v, c, rows * cols, -1, 1, &dy);
	if (rc == TR_OK)
		rc = vpair_random(v, c, cols, -1, 1, &db);
	if (rc == TR_OK)
		rc = vcall(v, c, what,
			   tr_backend_bias_grad(v->ref, tr_at(dy.r, 0), rows, cols, tr_at(db.r, 0)),
			   tr_backend_bias_grad(v->dut, tr_at(dy.d, 0), rows, cols, tr_at(db.d, 0)));
	if (rc == TR_OK)
		rc = vpair_nmse(v, c, &db, 0, cols, &e);
	if (rc == TR_OK)
		vcheck_case(c, e, "%s", what);
	vpair_free(v, &dy);
	vpair_free(v, &db);
	return rc;
}

static int bias_grad_rows(tr_vctx *v, const char *what, const struct shape *s, size_t n)
{
	tr_verify_check c;
	size_t i;
	int rc = TR_OK;

	vcheck_begin(&c, "bias_grad", what, "NMSE", TR_VERIFY_NMSE_REDUCE);
	for (i = 0; rc == TR_OK && i < n; i++)
		rc = bias_grad_case(v, &c, s[i].rows, s[i].cols);
	return vcheck_end(v, &c, rc);
}

int vcheck_bias_grad(tr_vctx *v)
{
	struct shape s[MAX_SHAPES];
	int rc = bias_grad_rows(v, "odd shapes", s, odd_shapes(v, true, s));

	if (rc != TR_OK || v->o->quick)
		return rc;
	return bias_grad_rows(v, "network: every layer", s, network_shapes(v, false, false, s));
}

/* ---- ReLU backward fused with the bias gradient ---- */

/* The masked gradient into row cd, the column sums into row cb. */
static int relu_bias_grad_case(tr_vctx *v, tr_verify_check *cd, tr_verify_check *cb,
			       size_t rows, size_t cols)
{
	vpair y = { 0 }, dy = { 0 }, db = { 0 };
	size_t n = rows * cols;
	char what[64];
	double e = 0.0;
	int rc;

	snprintf(what, sizeof(what), "%zux%zu", rows, cols);
	rc = relu_output(v, cd, n, &y);
	if (rc == TR_OK)
		rc = vpair_random(v, cd, n, -1, 1, &dy);
	if (rc == TR_OK)
		rc = vpair_random(v, cd, cols, -1, 1, &db);
	if (rc == TR_OK)
		rc = vcall(v, cd, what,
			   tr_backend_relu_bias_grad(v->ref, tr_at(dy.r, 0), tr_at(y.r, 0), rows,
						     cols, tr_at(db.r, 0)),
			   tr_backend_relu_bias_grad(v->dut, tr_at(dy.d, 0), tr_at(y.d, 0), rows,
						     cols, tr_at(db.d, 0)));
	if (rc == TR_OK)
		rc = vpair_nmse(v, cd, &dy, 0, n, &e);
	if (rc == TR_OK) {
		vcheck_case(cd, e, "%s", what);
		rc = vpair_nmse(v, cb, &db, 0, cols, &e);
	}
	if (rc == TR_OK)
		vcheck_case(cb, e, "%s", what);
	vpair_free(v, &y);
	vpair_free(v, &dy);
	vpair_free(v, &db);
	return rc;
}

static int relu_bias_grad_rows(tr_vctx *v, const char *what, const struct shape *s,
			       size_t n)
{
	tr_verify_check cd, cb;
	char label[192];
	size_t i;
	int rc = TR_OK;

	snprintf(label, sizeof(label), "masked gradient, %s", what);
	vcheck_begin(&cd, "relu_bias_grad", label, "NMSE", TR_VERIFY_NMSE_ELEMENTWISE);
	snprintf(label, sizeof(label), "bias gradient, %s", what);
	vcheck_begin(&cb, "relu_bias_grad", label, "NMSE", TR_VERIFY_NMSE_REDUCE);
	for (i = 0; rc == TR_OK && i < n; i++)
		rc = relu_bias_grad_case(v, &cd, &cb, s[i].rows, s[i].cols);
	rc = vcheck_end(v, &cd, rc);
	return vcheck_end(v, &cb, rc);
}

int vcheck_relu_bias_grad(tr_vctx *v)
{
	struct shape s[MAX_SHAPES];
	int rc = relu_bias_grad_rows(v, "odd shapes", s, odd_shapes(v, true, s));

	if (rc != TR_OK || v->o->quick || v->o->layout.n_layers < 2)
		return rc;
	return relu_bias_grad_rows(v, "network: every hidden layer", s,
				   network_shapes(v, false, true, s));
}
