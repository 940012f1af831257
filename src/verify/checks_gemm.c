/*
 * checks_gemm.c - C = alpha op(A) op(B) + beta C on the device against cpu-ref.
 *
 * Rows: odd shapes (every m, n, k in 1, 3, 17, 65, 257 up to a size limit) in all four
 * transpositions, with padded leading dimensions and offsets into every buffer;
 * alpha and beta other than 1 and 0, and beta = 0 over a C full of NaN (which must be
 * ignored); n = 1500 (the lab's widest layer); then each GEMM
 * the network runs, at its exact shape (forward, weight and input gradients of every
 * layer for one batch, and the forward pass of one evaluation chunk), announced to the
 * backend first as a network announces them, so they take the kernels training takes.
 * Inputs are uniform in [-1, 1), so terms cancel as in training. Bound: NMSE 1e-7.
 */
#include "verify_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/bench.h"

/* Largest m * n * k of the odd shapes (full run; --quick, where sizes stop at 65). */
#define ODD_VOLUME (257 * 65 * 65)
#define ODD_VOLUME_QUICK (65 * 17 * 17)

static const char *const transposition[2][2] = {
	{ "A B", "A B^T" },
	{ "A^T B", "A^T B^T" },
};

/* NMSE of the m x n result inside C (leading dimension ldc, from offset off); the rest
 * of the buffer (padding, the part before the offset) must be unchanged: a write
 * outside the result is an error (+inf) however small. */
static int compare_c(tr_vctx *v, tr_verify_check *c, const vpair *cc, size_t off,
		     size_t m, size_t n, size_t ldc, double *e)
{
	float *r = malloc(2 * cc->n * sizeof(float)), *d = r + cc->n;
	size_t i, used = 0;
	bool outside = false;
	int rc;

	if (!r)
		return vfail_oom(v, c);
	rc = vpair_download(v, c, cc, 0, cc->n, r, d);
	for (i = 0; rc == TR_OK && i < cc->n; i++) {
		size_t row = (i - off) / ldc, col = (i - off) % ldc;

		if (i >= off && row < m && col < n) {
			r[used] = r[i];  /* pack the result to the front */
			d[used] = d[i];
			used++;
		} else if (memcmp(&r[i], &d[i], sizeof(float)) != 0) {
			outside = true;
		}
	}
	if (rc == TR_OK)
		*e = outside ? INFINITY : tr_verify_nmse(r, d, used);
	free(r);
	return rc;
}

/* C filled with NaN: with beta == 0 its old contents must be ignored, not multiplied
 * by zero (0 * NaN is NaN). */
static int nan_pair(tr_vctx *v, tr_verify_check *c, size_t n, vpair *p)
{
	float *h = malloc(n * sizeof(float));
	size_t i;
	int rc;

	if (!h)
		return vfail_oom(v, c);
	for (i = 0; i < n; i++)
		h[i] = NAN;
	rc = vpair_new(v, c, h, n, p);
	free(h);
	return rc;
}

/* One GEMM. padded: leading dimensions wider than the matrices and offsets into
 * every buffer (as views into bigger buffers); else dense, as the network calls it.
 * nan_c: C starts as NaN (use with beta == 0). */
static int gemm_case(tr_vctx *v, tr_verify_check *c, bool ta, bool tb, size_t m,
		     size_t n, size_t k, float alpha, float beta, bool padded, bool nan_c)
{
	size_t pad = padded ? 1 : 0;
	size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + 2 * pad, ldc = n + 3 * pad;
	size_t rows_a = ta ? k : m, rows_b = tb ? n : k;
	size_t oa = 3 * pad, ob = 5 * pad, oc = 7 * pad;
	vpair a = { 0 }, b = { 0 }, cc = { 0 };
	char what[96];
	double e = 0.0;
	int rc;

	snprintf(what, sizeof(what), "m=%zu n=%zu k=%zu %s", m, n, k, transposition[ta][tb]);
	rc = vpair_random(v, c, oa + rows_a * lda, -1, 1, &a);
	if (rc == TR_OK)
		rc = vpair_random(v, c, ob + rows_b * ldb, -1, 1, &b);
	if (rc == TR_OK && nan_c)
		rc = nan_pair(v, c, oc + m * ldc, &cc);
	else if (rc == TR_OK)
		rc = vpair_random(v, c, oc + m * ldc, -1, 1, &cc);
	if (rc == TR_OK)
		rc = vcall(v, c, what,
			   tr_backend_gemm(v->ref, ta, tb, m, n, k, alpha, tr_at(a.r, oa), lda,
					   tr_at(b.r, ob), ldb, beta, tr_at(cc.r, oc), ldc),
			   tr_backend_gemm(v->dut, ta, tb, m, n, k, alpha, tr_at(a.d, oa), lda,
					   tr_at(b.d, ob), ldb, beta, tr_at(cc.d, oc), ldc));
	if (rc == TR_OK)
		rc = compare_c(v, c, &cc, oc, m, n, ldc, &e);
	if (rc == TR_OK) {
		if (alpha != 1.0f || beta != 0.0f || nan_c)
			vcheck_case(c, e, "%s alpha=%g beta=%g%s", what, alpha, beta,
				    nan_c ? " (C was NaN)" : "");
		else
			vcheck_case(c, e, "%s", what);
	}
	vpair_free(v, &a);
	vpair_free(v, &b);
	vpair_free(v, &cc);
	return rc;
}

static int odd_shapes(tr_vctx *v)
{
	size_t volume = v->o->quick ? ODD_VOLUME_QUICK : ODD_VOLUME;
	size_t i, j, l;
	tr_verify_check c;
	int ta, tb, rc = TR_OK;

	vcheck_begin(&c, "gemm", "odd shapes, 4 transpositions, padded", "NMSE",
			 TR_VERIFY_NMSE_GEMM);
	for (ta = 0; ta < 2; ta++)
		for (tb = 0; tb < 2; tb++)
			for (i = 0; i < v->n_odd; i++)
				for (j = 0; j < v->n_odd; j++)
					for (l = 0; rc == TR_OK && l < v->n_odd; l++) {
						size_t m = v->odd[i], n = v->odd[j], k = v->odd[l];

						if (m * n * k > volume)
							continue;
						rc = gemm_case(v, &c, ta, tb, m, n, k, 1.0f,
							       0.0f, true, false);
					}
	return vcheck_end(v, &c, rc);
}

static int alpha_beta(tr_vctx *v)
{
	tr_verify_check c;
	int rc;

	vcheck_begin(&c, "gemm", "alpha and beta; beta 0 over NaN, padded", "NMSE",
		     TR_VERIFY_NMSE_GEMM);
	rc = gemm_case(v, &c, false, false, 17, 65, 3, 0.5f, 1.5f, true, false);
	if (rc == TR_OK)
		rc = gemm_case(v, &c, true, true, 65, 17, v->o->quick ? 65 : 257, -2.0f,
			       0.25f, true, false);
	if (rc == TR_OK)
		rc = gemm_case(v, &c, false, true, 65, 17, 3, 0.75f, 0.0f, true, true);
	if (rc == TR_OK)
		rc = gemm_case(v, &c, true, false, 3, 65, 17, 1.0f, 0.0f, true, true);
	return vcheck_end(v, &c, rc);
}

static int wide(tr_vctx *v)
{
	tr_verify_check c;
	int ta, tb, rc = TR_OK;

	vcheck_begin(&c, "gemm", "n = 1500, 4 transpositions, padded", "NMSE",
		     TR_VERIFY_NMSE_GEMM);
	for (ta = 0; ta < 2; ta++)
		for (tb = 0; rc == TR_OK && tb < 2; tb++)
			rc = gemm_case(v, &c, ta, tb, 65, 1500, 257, 1.0f, 0.0f, true, false);
	return vcheck_end(v, &c, rc);
}

/* Tell the device the training step's GEMMs, as creating a network does, so that the
 * rows below run the kernels training runs (without a tuning cache the OpenCL backend
 * routes them to CLBlast's direct kernel where CLBlast would not). */
static int expect_step(tr_vctx *v, const tr_bench_gemm *g, size_t n)
{
	tr_tune_shape shapes[4 * TR_MAX_LAYERS];
	tr_verify_check c;
	size_t i, k = 0;
	int rc;

	memset(shapes, 0, sizeof(shapes));
	for (i = 0; i < n; i++) {
		if (g[i].kind == TR_GEMM_VALIDATION)
			continue;
		shapes[k].trans_a = g[i].trans_a;
		shapes[k].trans_b = g[i].trans_b;
		shapes[k].m = g[i].m;
		shapes[k].n = g[i].n;
		shapes[k].k = g[i].k;
		shapes[k].weight = 1.0;
		k++;
	}
	rc = tr_backend_expect_gemms(v->dut, shapes, k);
	if (rc == TR_OK)
		return TR_OK;
	vcheck_begin(&c, "gemm", "network: the training step's GEMMs announced", "name", 0.0);
	rc = vcall(v, &c, "tr_backend_expect_gemms", TR_OK, rc);
	return vcheck_end(v, &c, rc);
}

/* Each GEMM of the network (tr_bench_gemm_shapes lists them as network.c calls
 * them), one row each. */
static int network_shapes(tr_vctx *v)
{
	tr_bench_gemm g[4 * TR_MAX_LAYERS];
	size_t i, n = tr_bench_gemm_shapes(&v->o->layout, v->o->batch, v->o->eval_rows, g,
					   4 * TR_MAX_LAYERS);
	int rc;

	if (n > 4 * TR_MAX_LAYERS)
		n = 4 * TR_MAX_LAYERS;
	rc = expect_step(v, g, n);

	for (i = 0; rc == TR_OK && i < n; i++) {
		char what[96];
		tr_verify_check c;

		snprintf(what, sizeof(what), "network: %s, layer %zu",
			 tr_bench_gemm_kind_name(g[i].kind), g[i].layer + 1);
		vcheck_begin(&c, "gemm", what, "NMSE", TR_VERIFY_NMSE_GEMM);
		rc = gemm_case(v, &c, g[i].trans_a, g[i].trans_b, g[i].m, g[i].n, g[i].k, 1.0f,
			       0.0f, false, false);
		rc = vcheck_end(v, &c, rc);
	}
	return rc;
}

int vcheck_gemm(tr_vctx *v)
{
	int rc = odd_shapes(v);

	if (rc == TR_OK)
		rc = alpha_beta(v);
	if (rc == TR_OK && !v->o->quick)
		rc = wide(v);
	if (rc == TR_OK && !v->o->quick)
		rc = network_shapes(v);
	return rc;
}
