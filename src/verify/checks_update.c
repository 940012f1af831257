/*
 * checks_update.c - the parameter update (Adam with the L2 gradient folded in) and
 * the sum of squares behind the L2 term.
 *
 * Adam: three steps on n parameters (odd sizes, 1500, 100003, and every parameter of
 * the network; --quick: to 1500), with and without L2; compared are the update (new -
 * old parameter, so that it cannot hide in the parameter's magnitude) and both
 * moments, NMSE 1e-10.
 * Sum of squares: the same sizes and 3M + 5 (every work-group of the OpenCL reduction
 * strides; --quick: to 1500, 6 work-groups of 256), with and without accumulating into
 * the result slot, relative 1e-5; and the same sum twice on the device must give the
 * same bits (no float atomics).
 */
#include "verify_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_SUM (3 * 1024 * 1024 + 5)

static const size_t sizes[] = { 1, 3, 17, 65, 257, 1500, 100003 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* ---- Adam + L2 ---- */

/* The moments after three steps and the update, on both; the worst NMSE of the three
 * into *e and its name into *which. */
static int adam_compare(tr_vctx *v, tr_verify_check *c, const vpair *w, const float *w0,
			const vpair *m, const vpair *s, size_t n, double *e,
			const char **which)
{
	float *r = malloc(2 * n * sizeof(float)), *d = r + n;
	const vpair *moments[2] = { m, s };
	static const char *const names[3] = { "update", "m", "v" };
	size_t i, j;
	int rc;

	if (!r)
		return vfail_oom(v, c);
	rc = vpair_download(v, c, w, 0, n, r, d);
	for (j = 0; rc == TR_OK && j < n; j++) {
		r[j] -= w0[j];
		d[j] -= w0[j];
	}
	*e = tr_verify_nmse(r, d, n);
	*which = names[0];
	for (i = 0; rc == TR_OK && i < 2; i++) {
		double x;

		rc = vpair_download(v, c, moments[i], 0, n, r, d);
		x = tr_verify_nmse(r, d, n);
		if (rc == TR_OK && !(x <= *e)) {
			*e = x;
			*which = names[i + 1];
		}
	}
	free(r);
	return rc;
}

static int adam_case(tr_vctx *v, tr_verify_check *c, size_t n, float l2)
{
	tr_adam_params p = { .lr_t = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f,
			     .epsilon = 1e-8f, .l2 = l2 };
	float *w0 = malloc(n * sizeof(float));
	vpair w = { 0 }, g = { 0 }, m = { 0 }, s = { 0 };
	const char *which = "";
	char what[64];
	double e = 0.0;
	int step, rc;

	if (!w0)
		return vfail_oom(v, c);
	snprintf(what, sizeof(what), "n=%zu l2=%g", n, l2);
	vfill_uniform(v, w0, n, -1, 1);
	rc = vpair_new(v, c, w0, n, &w);
	if (rc == TR_OK)
		rc = vpair_random(v, c, n, -0.1f, 0.1f, &g);
	if (rc == TR_OK) {
		/* moments start at zero, as in training */
		float *zeros = calloc(n, sizeof(float));

		rc = zeros ? vpair_new(v, c, zeros, n, &m) : vfail_oom(v, c);
		if (rc == TR_OK)
			rc = vpair_new(v, c, zeros, n, &s);
		free(zeros);
	}
	for (step = 0; rc == TR_OK && step < 3; step++)
		rc = vcall(v, c, what,
			   tr_backend_adam_l2(v->ref, tr_at(w.r, 0), tr_at(g.r, 0), tr_at(m.r, 0),
					      tr_at(s.r, 0), n, &p),
			   tr_backend_adam_l2(v->dut, tr_at(w.d, 0), tr_at(g.d, 0), tr_at(m.d, 0),
					      tr_at(s.d, 0), n, &p));
	if (rc == TR_OK)
		rc = adam_compare(v, c, &w, w0, &m, &s, n, &e, &which);
	if (rc == TR_OK)
		vcheck_case(c, e, "%s, %s", what, which);
	vpair_free(v, &w);
	vpair_free(v, &g);
	vpair_free(v, &m);
	vpair_free(v, &s);
	free(w0);
	return rc;
}

int vcheck_adam_l2(tr_vctx *v)
{
	tr_verify_check c;
	size_t i, n = v->o->quick ? N_SIZES - 1 : N_SIZES;
	int rc = TR_OK;

	vcheck_begin(&c, "adam_l2", v->o->quick ? "3 steps, n = 1..1500" :
		     "3 steps, n = 1..100003", "NMSE", TR_VERIFY_NMSE_ADAM);
	for (i = 0; rc == TR_OK && i < n; i++)
		rc = adam_case(v, &c, sizes[i], 0.0005f);
	if (rc == TR_OK)
		rc = adam_case(v, &c, 257, 0.0f);
	rc = vcheck_end(v, &c, rc);
	if (rc != TR_OK || v->o->quick)
		return rc;
	vcheck_begin(&c, "adam_l2", "network: every parameter", "NMSE", TR_VERIFY_NMSE_ADAM);
	rc = adam_case(v, &c, v->o->layout.n_params, 0.0005f);
	return vcheck_end(v, &c, rc);
}

/* ---- sum of squares ---- */

static int sum_squares_case(tr_vctx *v, tr_verify_check *c, size_t n)
{
	vpair x = { 0 }, out = { 0 };
	char what[64];
	double r, d;
	int acc, rc;

	snprintf(what, sizeof(what), "n=%zu", n);
	rc = vpair_random(v, c, n, -1, 1, &x);
	if (rc == TR_OK)
		rc = vpair_random(v, c, 2, 1, 2, &out);
	for (acc = 0; rc == TR_OK && acc < 2; acc++) {
		rc = vcall(v, c, what,
			   tr_backend_sum_squares(v->ref, tr_at(x.r, 0), n, tr_at(out.r, 1), acc),
			   tr_backend_sum_squares(v->dut, tr_at(x.d, 0), n, tr_at(out.d, 1), acc));
		if (rc == TR_OK)
			rc = vpair_read1(v, c, &out, 1, &r, &d);
		if (rc == TR_OK)
			vcheck_case(c, vrel(r, d), "%s%s: ref %.9g got %.9g", what,
				    acc ? " accumulated" : "", r, d);
	}
	vpair_free(v, &x);
	vpair_free(v, &out);
	return rc;
}

/* The device gives the same bits for the same input, call after call: sums formed in
 * a fixed order (no float atomics), so that runs are reproducible. */
static int sum_squares_repeat(tr_vctx *v, tr_verify_check *c, size_t n)
{
	vpair x = { 0 }, out = { 0 };
	float first = NAN, again = NAN;
	char what[64];
	int i, rc;

	snprintf(what, sizeof(what), "n=%zu", n);
	rc = vpair_random(v, c, n, -1, 1, &x);
	if (rc == TR_OK)
		rc = vpair_new(v, c, NULL, 1, &out);
	for (i = 0; rc == TR_OK && i < 2; i++) {
		rc = vcall(v, c, what, TR_OK,
			   tr_backend_sum_squares(v->dut, tr_at(x.d, 0), n, tr_at(out.d, 0),
						  false));
		if (rc == TR_OK)
			rc = vcall(v, c, "download", TR_OK,
				   tr_backend_download(v->dut, tr_at(out.d, 0),
						       i ? &again : &first, 1));
	}
	if (rc == TR_OK)
		vcheck_case(c, memcmp(&first, &again, sizeof(float)) ? INFINITY : 0.0,
			    "%s: %.9g then %.9g", what, first, again);
	vpair_free(v, &x);
	vpair_free(v, &out);
	return rc;
}

int vcheck_sum_squares(tr_vctx *v)
{
	const tr_layout *lay = &v->o->layout;
	tr_verify_check c;
	size_t i;
	int rc = TR_OK;

	vcheck_begin(&c, "sum_squares", v->o->quick ? "n = 1..1500" : "n = 1..3145733",
		     "relative", TR_VERIFY_REL_SCALAR);
	for (i = 0; rc == TR_OK && i < (v->o->quick ? N_SIZES - 1 : N_SIZES); i++)
		rc = sum_squares_case(v, &c, sizes[i]);
	if (rc == TR_OK && !v->o->quick)
		rc = sum_squares_case(v, &c, BIG_SUM);
	rc = vcheck_end(v, &c, rc);
	if (rc != TR_OK)
		return rc;
	vcheck_begin(&c, "sum_squares", "twice on the device: the same bits", "difference",
		     0.0);
	rc = vcheck_end(v, &c, sum_squares_repeat(v, &c, v->o->quick ? 1500 : 100003));
	if (rc != TR_OK || v->o->quick)
		return rc;
	vcheck_begin(&c, "sum_squares", "network: all parameters, weights only", "relative",
		     TR_VERIFY_REL_SCALAR);
	rc = sum_squares_case(v, &c, lay->n_params);
	if (rc == TR_OK)
		rc = sum_squares_case(v, &c, lay->n_weights);
	return vcheck_end(v, &c, rc);
}
