/*
 * checks_loss.c - softmax cross-entropy (the loss and its gradient) and the count of
 * correct predictions, on logits of several scales.
 *
 * Groups of cases: odd shapes (rows 1..257, 3..257 classes, and 1000 classes) with
 * logits in [-5, 5) (30 for 1000 classes);
 * logits around +-1e10 and +-3e10 (the seed's initialisation makes the first logits
 * that large: only a stable log-sum-exp survives them); all-zero logits (every class
 * ties: the loss is log(classes), the first maximum is class 0); then the network's
 * batch and evaluation chunk. Every case runs with and without accumulating into the
 * result slot, the loss once without a gradient buffer, and the gradient once without
 * the loss (as a training step runs it: the loss slot must stay as it was).
 * Bounds: the loss (a sum over rows) relative 1e-5, the gradient NMSE 1e-9, the count
 * exactly.
 */
#include "verify_impl.h"

#include <math.h>
#include <stdio.h>

struct logits_case {
	size_t rows, cols;
	float scale; /* logits uniform in [-scale, scale); 0: all zero */
};

struct logits_group {
	const char *what;
	struct logits_case cases[32];
	size_t n;
};

enum { GROUP_ODD, GROUP_HUGE, GROUP_ZERO, GROUP_NETWORK, N_GROUPS };

/* The groups of cases to run (quick: no network group). */
static size_t logits_groups(const tr_vctx *v, struct logits_group *g)
{
	size_t i, j, classes = v->o->layout.sizes[v->o->layout.n_layers];
	struct logits_group *odd = &g[GROUP_ODD];

	odd->what = "odd shapes, logits in [-5, 5)";
	odd->n = 0;
	for (i = 0; i < v->n_odd; i++)
		for (j = 1; j < v->n_odd; j++) {
			struct logits_case c = { v->odd[i], v->odd[j], 5.0f };

			odd->cases[odd->n++] = c;
		}
	odd->cases[odd->n++] = (struct logits_case){ 5, 1000, 30.0f }; /* many classes */
	g[GROUP_HUGE] = (struct logits_group){ "logits around 1e10 (the seed's first steps)",
					       { { 64, 10, 1e10f }, { 257, 10, 3e10f } }, 2 };
	g[GROUP_ZERO] = (struct logits_group){ "all-zero logits (ties)", { { 17, 10, 0.0f } },
					       1 };
	if (v->o->quick)
		return GROUP_NETWORK;
	g[GROUP_NETWORK] = (struct logits_group){
		"network: batch and evaluation chunk",
		{ { v->o->batch, classes, 20.0f }, { v->o->eval_rows, classes, 20.0f } }, 2
	};
	return N_GROUPS;
}

/* Logits (rows x cols) and labels for one case, on both backends. */
static int logits_new(tr_vctx *v, tr_verify_check *c, const struct logits_case *k,
		      vpair *z, vpair *labels)
{
	int rc = vpair_random(v, c, k->rows * k->cols, -k->scale, k->scale, z);

	if (rc == TR_OK)
		rc = vpair_labels(v, c, k->rows, k->cols, labels);
	return rc;
}

/* ---- softmax cross-entropy ---- */

/* One call on both: with a gradient into dz (NULL: none) and the loss into slot 1 of
 * out (NULL: none, the gradient alone, as a training step runs it). */
static int softmax_run(tr_vctx *v, tr_verify_check *c, const char *what,
		       const struct logits_case *k, const vpair *z, const vpair *lab,
		       const vpair *dz, const vpair *out, bool accumulate)
{
	float scale = 0.5f;

	return vcall(v, c, what,
		     tr_backend_softmax_xent(v->ref, tr_at(z->r, 0), tr_at(lab->r, 0), k->rows,
					     k->cols, scale, tr_at(dz ? dz->r : NULL, 0),
					     tr_at(out ? out->r : NULL, 1), accumulate),
		     tr_backend_softmax_xent(v->dut, tr_at(z->d, 0), tr_at(lab->d, 0), k->rows,
					     k->cols, scale, tr_at(dz ? dz->d : NULL, 0),
					     tr_at(out ? out->d : NULL, 1), accumulate));
}

/* The gradient alone (no loss buffer): the gradient compared, and the loss slot left
 * as it was (+inf in the loss row if the device wrote it). */
static int softmax_grad_only(tr_vctx *v, tr_verify_check *loss, tr_verify_check *grad,
			     const char *what, const struct logits_case *k, const vpair *z,
			     const vpair *lab, const vpair *out)
{
	vpair dz = { 0 };
	double r0, d0, r1, d1, e;
	int rc = vpair_read1(v, loss, out, 1, &r0, &d0);

	if (rc == TR_OK)
		rc = vpair_random(v, grad, k->rows * k->cols, -1, 1, &dz);
	if (rc == TR_OK)
		rc = softmax_run(v, grad, what, k, z, lab, &dz, NULL, false);
	if (rc == TR_OK)
		rc = vpair_nmse(v, grad, &dz, 0, dz.n, &e);
	if (rc == TR_OK) {
		vcheck_case(grad, e, "%s gradient only", what);
		rc = vpair_read1(v, loss, out, 1, &r1, &d1);
	}
	if (rc == TR_OK)
		vcheck_case(loss, r1 == r0 && d1 == d0 ? 0.0 : INFINITY,
			    "%s gradient only: the loss slot was %.9g, now %.9g", what, d0, d1);
	vpair_free(v, &dz);
	return rc;
}

static int softmax_case(tr_vctx *v, tr_verify_check *loss, tr_verify_check *grad,
			const struct logits_case *k)
{
	static const char *const mode[3] = { "", " accumulated", " without gradient" };
	vpair z = { 0 }, lab = { 0 }, dz = { 0 }, out = { 0 };
	char what[64];
	double r, d, e;
	int m, rc;

	snprintf(what, sizeof(what), "%zux%zu scale %g", k->rows, k->cols, k->scale);
	rc = logits_new(v, loss, k, &z, &lab);
	if (rc == TR_OK)
		rc = vpair_new(v, loss, NULL, k->rows * k->cols, &dz);
	if (rc == TR_OK)
		rc = vpair_random(v, loss, 2, 1, 2, &out); /* slot 1; 0 is a guard */
	for (m = 0; rc == TR_OK && m < 3; m++) {
		rc = softmax_run(v, loss, what, k, &z, &lab, m < 2 ? &dz : NULL, &out, m == 1);
		if (rc == TR_OK)
			rc = vpair_read1(v, loss, &out, 1, &r, &d);
		if (rc == TR_OK)
			vcheck_case(loss, vrel(r, d), "%s%s: ref %.9g got %.9g", what, mode[m], r,
				    d);
		if (rc == TR_OK && m == 0) {
			rc = vpair_nmse(v, grad, &dz, 0, dz.n, &e);
			if (rc == TR_OK)
				vcheck_case(grad, e, "%s", what);
		}
	}
	if (rc == TR_OK)
		rc = softmax_grad_only(v, loss, grad, what, k, &z, &lab, &out);
	vpair_free(v, &z);
	vpair_free(v, &lab);
	vpair_free(v, &dz);
	vpair_free(v, &out);
	return rc;
}

int vcheck_softmax_xent(tr_vctx *v)
{
	struct logits_group g[N_GROUPS];
	size_t i, j, n = logits_groups(v, g);
	int rc = TR_OK;

	for (i = 0; rc == TR_OK && i < n; i++) {
		char what[96];
		tr_verify_check loss, grad;

		snprintf(what, sizeof(what), "loss, %s", g[i].what);
		vcheck_begin(&loss, "softmax_xent", what, "relative", TR_VERIFY_REL_SCALAR);
		snprintf(what, sizeof(what), "gradient, %s", g[i].what);
		vcheck_begin(&grad, "softmax_xent", what, "NMSE", TR_VERIFY_NMSE_REDUCE);
		for (j = 0; rc == TR_OK && j < g[i].n; j++)
			rc = softmax_case(v, &loss, &grad, &g[i].cases[j]);
		rc = vcheck_end(v, &loss, rc);
		rc = vcheck_end(v, &grad, rc);
	}
	return rc;
}

/* ---- count of correct predictions ---- */

static int count_case(tr_vctx *v, tr_verify_check *c, const struct logits_case *k)
{
	vpair z = { 0 }, lab = { 0 }, out = { 0 };
	char what[64];
	double r, d;
	int acc, rc;

	snprintf(what, sizeof(what), "%zux%zu scale %g", k->rows, k->cols, k->scale);
	rc = logits_new(v, c, k, &z, &lab);
	if (rc == TR_OK)
		rc = vpair_random(v, c, 2, 1, 2, &out);
	for (acc = 0; rc == TR_OK && acc < 2; acc++) {
		rc = vcall(v, c, what,
			   tr_backend_count_correct(v->ref, tr_at(z.r, 0), tr_at(lab.r, 0),
						    k->rows, k->cols, tr_at(out.r, 1), acc),
			   tr_backend_count_correct(v->dut, tr_at(z.d, 0), tr_at(lab.d, 0),
						    k->rows, k->cols, tr_at(out.d, 1), acc));
		if (rc == TR_OK)
			rc = vpair_read1(v, c, &out, 1, &r, &d);
		if (rc == TR_OK)
			vcheck_case(c, isfinite(d) ? fabs(r - d) : INFINITY,
				    "%s%s: ref %g got %g", what, acc ? " accumulated" : "", r, d);
	}
	vpair_free(v, &z);
	vpair_free(v, &lab);
	vpair_free(v, &out);
	return rc;
}

int vcheck_count_correct(tr_vctx *v)
{
	struct logits_group g[N_GROUPS];
	size_t i, j, n = logits_groups(v, g);
	int rc = TR_OK;

	for (i = 0; rc == TR_OK && i < n; i++) {
		tr_verify_check c;

		vcheck_begin(&c, "count_correct", g[i].what, "difference", 0.0);
		for (j = 0; rc == TR_OK && j < g[i].n; j++)
			rc = count_case(v, &c, &g[i].cases[j]);
		rc = vcheck_end(v, &c, rc);
	}
	return rc;
}
