/*
 * test_opencl.c - what is particular to the OpenCL backend: opening the device, device
 * strings and their errors, kernel build failures, allocation limits, the no-driver
 * message, and a quick check of every op against cpu-ref on small inputs (the full
 * cross-backend suite is test_parity.c).
 *
 * The device is $TRAINER_TEST_DEVICE, default cl:0 (the first OpenCL device).
 * Without any OpenCL device the test is skipped (exit 77), unless
 * TRAINER_REQUIRE_OPENCL=1 asks for it to fail instead.
 */
#include "testutil.h"

#include "backend/opencl/cl_sources.h"
#include "backend/opencl/clblast_defaults.h"
#include "trainer/backend.h"
#include "trainer/model.h"

#include <clblast_c.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tr_backend *ocl; /* test_device(): $TRAINER_TEST_DEVICE or cl:0 */
static tr_backend *ref; /* cpu-ref */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float uniform(float lo, float hi)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + (hi - lo) * (float)((rng >> 40) / 16777216.0);
}

static float *random_array(size_t n, float lo, float hi)
{
	float *a = malloc(n * sizeof(float));
	size_t i;

	if (!a) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++)
		a[i] = uniform(lo, hi);
	return a;
}

/* The same n floats in a buffer of each backend. */
struct pair {
	tr_buf *r; /* cpu-ref */
	tr_buf *c; /* OpenCL */
	size_t n;
};

static struct pair pair_new(const float *init, size_t n)
{
	struct pair p = { NULL, NULL, n };
	int rc;

	rc = tr_backend_alloc(ref, n, "test (ref)", &p.r);
	CHECK(rc == TR_OK, "alloc ref: %s", tr_backend_last_error(ref)->msg);
	rc = tr_backend_alloc(ocl, n, "test (cl)", &p.c);
	CHECK(rc == TR_OK, "alloc cl: %s", tr_backend_last_error(ocl)->msg);
	if (!p.r || !p.c)
		exit(test_finish());
	tr_backend_upload(ref, tr_at(p.r, 0), init, n);
	rc = tr_backend_upload(ocl, tr_at(p.c, 0), init, n);
	CHECK(rc == TR_OK, "upload: %s", tr_backend_last_error(ocl)->msg);
	return p;
}

static void pair_free(struct pair *p)
{
	tr_backend_buf_free(ref, p->r);
	tr_backend_buf_free(ocl, p->c);
}

/* Compare [off, off + n) of both; return the NMSE (reporting it when above tol). */
static double pair_compare(const char *what, struct pair *p, size_t off, size_t n,
			   double tol)
{
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
	double e;
	int rc;

	tr_backend_download(ref, tr_at(p->r, off), a, n);
	rc = tr_backend_download(ocl, tr_at(p->c, off), b, n);
	CHECK(rc == TR_OK, "%s: download: %s", what, tr_backend_last_error(ocl)->msg);
	e = test_nmse(a, b, n);
	CHECK(e <= tol, "%s: NMSE %.3g > %.3g (first: ref %.9g, cl %.9g)", what, e, tol,
	      a[0], b[0]);
	free(a);
	free(b);
	return e;
}

static void check_ok(int rc, const char *what)
{
	CHECK(rc == TR_OK, "%s: %s", what, tr_backend_last_error(ocl)->msg);
}

static void test_gemm(size_t m, size_t n, size_t k, bool ta, bool tb, float beta)
{
	/* Leading dimensions wider than the matrices, and offsets into the buffers. */
	size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
	size_t na = (ta ? k : m) * lda + 5, nb = (tb ? n : k) * ldb + 4, nc = m * ldc + 2;
	float *a = random_array(na, -1, 1), *b = random_array(nb, -1, 1);
	float *c = random_array(nc, -1, 1);
	struct pair pa, pb, pc;
	char what[96];
	size_t i;

	if (beta == 0.0f)
		for (i = 0; i < nc; i++)
			c[i] = NAN; /* beta == 0 must ignore C's old contents */
	pa = pair_new(a, na);
	pb = pair_new(b, nb);
	pc = pair_new(c, nc);
	if (beta == 0.0f)
		for (i = 0; i < nc; i++)
			c[i] = 0.0f;
	/* the gaps between rows of C hold NaN for beta == 0: compare rows only */
	tr_backend_gemm(ref, ta, tb, m, n, k, 0.75f, tr_at(pa.r, 5), lda, tr_at(pb.r, 4),
			ldb, beta, tr_at(pc.r, 2), ldc);
	check_ok(tr_backend_gemm(ocl, ta, tb, m, n, k, 0.75f, tr_at(pa.c, 5), lda,
				 tr_at(pb.c, 4), ldb, beta, tr_at(pc.c, 2), ldc), "gemm");
	for (i = 0; i < m; i++) {
		snprintf(what, sizeof(what), "gemm %zux%zux%zu%s%s beta %g row %zu", m, n, k,
			 ta ? " A^T" : "", tb ? " B^T" : "", beta, i);
		pair_compare(what, &pc, 2 + i * ldc, n, 1e-10);
	}
	pair_free(&pa);
	pair_free(&pb);
	pair_free(&pc);
	free(a);
	free(b);
	free(c);
}

static void test_bias_act(size_t rows, size_t cols, bool relu)
{
	float *y = random_array(rows * cols + 3, -1, 1), *b = random_array(cols + 1, -1, 1);
	struct pair py = pair_new(y, rows * cols + 3), pb = pair_new(b, cols + 1);

	tr_backend_bias_act(ref, tr_at(py.r, 3), tr_at(pb.r, 1), rows, cols, relu);
	check_ok(tr_backend_bias_act(ocl, tr_at(py.c, 3), tr_at(pb.c, 1), rows, cols, relu),
		 "bias_act");
	pair_compare(relu ? "bias_act relu" : "bias_act", &py, 0, py.n, 0.0);
	pair_free(&py);
	pair_free(&pb);
	free(y);
	free(b);
}

static void test_relu_backward(size_t n)
{
	float *dy = random_array(n, -1, 1), *y = random_array(n, -1, 1);
	struct pair pd = pair_new(dy, n), py = pair_new(y, n);

	tr_backend_relu_backward(ref, tr_at(pd.r, 0), tr_at(py.r, 0), n);
	check_ok(tr_backend_relu_backward(ocl, tr_at(pd.c, 0), tr_at(py.c, 0), n),
		 "relu_backward");
	pair_compare("relu_backward", &pd, 0, n, 0.0);
	pair_free(&pd);
	pair_free(&py);
	free(dy);
	free(y);
}

static void test_softmax(size_t rows, size_t cols, float scale, bool grad, bool acc)
{
	float *z = random_array(rows * cols, -scale, scale), *lab = malloc(rows * sizeof(float));
	float loss0[2] = { 1.5f, 1.5f };
	struct pair pz, pl, pd, ploss;
	tr_view dr = { NULL, 0 }, dc = { NULL, 0 };
	char what[96];
	size_t r;

	for (r = 0; r < rows; r++)
		lab[r] = (float)((size_t)uniform(0, (float)cols) % cols);
	pz = pair_new(z, rows * cols);
	pl = pair_new(lab, rows);
	pd = pair_new(z, rows * cols);
	ploss = pair_new(loss0, 2);
	if (grad) {
		dr = tr_at(pd.r, 0);
		dc = tr_at(pd.c, 0);
	}
	tr_backend_softmax_xent(ref, tr_at(pz.r, 0), tr_at(pl.r, 0), rows, cols,
				1.0f / (float)rows, dr, tr_at(ploss.r, 1), acc);
	check_ok(tr_backend_softmax_xent(ocl, tr_at(pz.c, 0), tr_at(pl.c, 0), rows, cols,
					 1.0f / (float)rows, dc, tr_at(ploss.c, 1), acc),
		 "softmax_xent");
	snprintf(what, sizeof(what), "softmax_xent %zux%zu |z|<%g%s%s loss", rows, cols,
		 scale, grad ? " grad" : "", acc ? " accumulate" : "");
	pair_compare(what, &ploss, 0, 2, 1e-12);
	if (grad) {
		snprintf(what, sizeof(what), "softmax_xent %zux%zu |z|<%g dlogits", rows, cols,
			 scale);
		pair_compare(what, &pd, 0, rows * cols, 1e-12);
	}
	pair_free(&pz);
	pair_free(&pl);
	pair_free(&pd);
	pair_free(&ploss);
	free(z);
	free(lab);
}

static void test_bias_grad(size_t rows, size_t cols)
{
	float *dy = random_array(rows * cols + 7, -1, 1), *db = random_array(cols + 2, -1, 1);
	struct pair pdy = pair_new(dy, rows * cols + 7), pdb = pair_new(db, cols + 2);
	char what[64];

	tr_backend_bias_grad(ref, tr_at(pdy.r, 7), rows, cols, tr_at(pdb.r, 1));
	check_ok(tr_backend_bias_grad(ocl, tr_at(pdy.c, 7), rows, cols, tr_at(pdb.c, 1)),
		 "bias_grad");
	snprintf(what, sizeof(what), "bias_grad %zux%zu", rows, cols);
	pair_compare(what, &pdb, 0, cols + 2, 1e-12);
	pair_free(&pdy);
	pair_free(&pdb);
	free(dy);
	free(db);
}

/* ReLU backward fused with the bias gradient: the masked dy and db both match. */
static void test_relu_bias_grad(size_t rows, size_t cols)
{
	size_t n = rows * cols;
	float *dy = random_array(n + 7, -1, 1), *y = random_array(n + 2, -1, 1);
	float *db = random_array(cols + 2, -1, 1);
	struct pair pdy = pair_new(dy, n + 7), py = pair_new(y, n + 2);
	struct pair pdb = pair_new(db, cols + 2);
	char what[64];

	tr_backend_relu_bias_grad(ref, tr_at(pdy.r, 7), tr_at(py.r, 2), rows, cols,
				  tr_at(pdb.r, 1));
	check_ok(tr_backend_relu_bias_grad(ocl, tr_at(pdy.c, 7), tr_at(py.c, 2), rows, cols,
					   tr_at(pdb.c, 1)), "relu_bias_grad");
	snprintf(what, sizeof(what), "relu_bias_grad %zux%zu dy", rows, cols);
	pair_compare(what, &pdy, 0, n + 7, 0.0);
	snprintf(what, sizeof(what), "relu_bias_grad %zux%zu db", rows, cols);
	pair_compare(what, &pdb, 0, cols + 2, 1e-12);
	pair_free(&pdy);
	pair_free(&py);
	pair_free(&pdb);
	free(dy);
	free(y);
	free(db);
}

/* The gradient alone (a training step): the loss slot is left as it was. */
static void test_softmax_no_loss(size_t rows, size_t cols)
{
	float *z = random_array(rows * cols, -3, 3), *lab = malloc(rows * sizeof(float));
	float slot[1] = { 42.0f }, got[1];
	struct pair pz, pl, pd, ps;
	size_t r;

	for (r = 0; r < rows; r++)
		lab[r] = (float)(r % cols);
	pz = pair_new(z, rows * cols);
	pl = pair_new(lab, rows);
	pd = pair_new(z, rows * cols);
	ps = pair_new(slot, 1);
	tr_backend_softmax_xent(ref, tr_at(pz.r, 0), tr_at(pl.r, 0), rows, cols,
				1.0f / (float)rows, tr_at(pd.r, 0), tr_at(NULL, 0), false);
	check_ok(tr_backend_softmax_xent(ocl, tr_at(pz.c, 0), tr_at(pl.c, 0), rows, cols,
					 1.0f / (float)rows, tr_at(pd.c, 0), tr_at(NULL, 0),
					 false), "softmax_xent without loss");
	pair_compare("softmax_xent without loss: dlogits", &pd, 0, rows * cols, 1e-12);
	tr_backend_download(ocl, tr_at(ps.c, 0), got, 1);
	CHECK(got[0] == 42.0f, "softmax_xent without loss wrote a loss: %g", got[0]);
	pair_free(&pz);
	pair_free(&pl);
	pair_free(&pd);
	pair_free(&ps);
	free(z);
	free(lab);
}

static void test_adam(size_t n)
{
	float *w = random_array(n, -1, 1), *g = random_array(n, -1, 1);
	float *m = random_array(n, -0.1f, 0.1f), *v = random_array(n, 0, 0.01f);
	struct pair pw = pair_new(w, n), pg = pair_new(g, n), pm = pair_new(m, n);
	struct pair pv = pair_new(v, n);
	tr_adam_params p = { 0.001f * 0.3f, 0.9f, 0.999f, 1e-8f, 1e-4f };
	int step;

	for (step = 0; step < 3; step++) {
		tr_backend_adam_l2(ref, tr_at(pw.r, 0), tr_at(pg.r, 0), tr_at(pm.r, 0),
				   tr_at(pv.r, 0), n, &p);
		check_ok(tr_backend_adam_l2(ocl, tr_at(pw.c, 0), tr_at(pg.c, 0),
					    tr_at(pm.c, 0), tr_at(pv.c, 0), n, &p),
			 "adam_l2");
	}
	pair_compare("adam_l2 param", &pw, 0, n, 1e-12);
	pair_compare("adam_l2 m", &pm, 0, n, 1e-12);
	pair_compare("adam_l2 v", &pv, 0, n, 1e-12);
	pair_free(&pw);
	pair_free(&pg);
	pair_free(&pm);
	pair_free(&pv);
	free(w);
	free(g);
	free(m);
	free(v);
}

static void test_sum_squares(size_t n)
{
	float *x = random_array(n + 1, -2, 2), init[2] = { 3.0f, 3.0f }, again[2];
	struct pair px = pair_new(x, n + 1), po = pair_new(init, 2);
	char what[64];

	tr_backend_sum_squares(ref, tr_at(px.r, 1), n, tr_at(po.r, 0), false);
	tr_backend_sum_squares(ref, tr_at(px.r, 1), n, tr_at(po.r, 1), true);
	check_ok(tr_backend_sum_squares(ocl, tr_at(px.c, 1), n, tr_at(po.c, 0), false),
		 "sum_squares");
	check_ok(tr_backend_sum_squares(ocl, tr_at(px.c, 1), n, tr_at(po.c, 1), true),
		 "sum_squares accumulate");
	snprintf(what, sizeof(what), "sum_squares n=%zu", n);
	pair_compare(what, &po, 0, 2, 1e-12);
	/* deterministic: the same input gives the same bits */
	tr_backend_download(ocl, tr_at(po.c, 0), init, 1);
	check_ok(tr_backend_sum_squares(ocl, tr_at(px.c, 1), n, tr_at(po.c, 0), false),
		 "sum_squares again");
	tr_backend_download(ocl, tr_at(po.c, 0), again, 1);
	CHECK(memcmp(init, again, sizeof(float)) == 0, "sum_squares n=%zu not deterministic: "
	      "%.9g then %.9g", n, init[0], again[0]);
	pair_free(&px);
	pair_free(&po);
	free(x);
}

static void test_count_correct(size_t rows, size_t cols)
{
	float *z = random_array(rows * cols, -1, 1), *lab = malloc(rows * sizeof(float));
	float out[2] = { 5.0f, 5.0f }, got[2], want[2];
	struct pair pz, pl, po;
	size_t r, c;

	for (r = 0; r < rows; r++) {
		lab[r] = (float)(r % cols);
		if (r % 3 == 0) /* ties: the first maximum wins */
			for (c = 0; c < cols; c++)
				z[r * cols + c] = (c % 2) ? 0.5f : 0.25f;
		if (r % 5 == 0) /* a sure hit */
			z[r * cols + (r % cols)] = 2.0f;
	}
	pz = pair_new(z, rows * cols);
	pl = pair_new(lab, rows);
	po = pair_new(out, 2);
	tr_backend_count_correct(ref, tr_at(pz.r, 0), tr_at(pl.r, 0), rows, cols,
				 tr_at(po.r, 0), false);
	tr_backend_count_correct(ref, tr_at(pz.r, 0), tr_at(pl.r, 0), rows, cols,
				 tr_at(po.r, 1), true);
	check_ok(tr_backend_count_correct(ocl, tr_at(pz.c, 0), tr_at(pl.c, 0), rows, cols,
					  tr_at(po.c, 0), false), "count_correct");
	check_ok(tr_backend_count_correct(ocl, tr_at(pz.c, 0), tr_at(pl.c, 0), rows, cols,
					  tr_at(po.c, 1), true), "count_correct accumulate");
	tr_backend_download(ref, tr_at(po.r, 0), want, 2);
	tr_backend_download(ocl, tr_at(po.c, 0), got, 2);
	CHECK(got[0] == want[0] && got[1] == want[1], "count_correct %zux%zu: cl %g %g, "
	      "cpu-ref %g %g", rows, cols, got[0], got[1], want[0], want[1]);
	CHECK(want[0] > 0, "count_correct test data has no hits");
	pair_free(&pz);
	pair_free(&pl);
	pair_free(&po);
	free(z);
	free(lab);
}

/* An upload larger than the pinned staging ring (8 MiB) goes through it in pieces,
 * waiting for the pieces before; twice, so that the ring wraps. */
static void test_big_upload(void)
{
	enum { N = 3 << 20 }; /* 12 MiB */
	float *src = random_array(N, -1, 1), *back = malloc(N * sizeof(float));
	tr_buf *b = NULL;
	int round;

	check_ok(tr_backend_alloc(ocl, N, "big upload test", &b), "alloc");
	for (round = 0; b && round < 2; round++) {
		src[round] = 7.0f;
		check_ok(tr_backend_upload(ocl, tr_at(b, 0), src, N), "big upload");
		check_ok(tr_backend_download(ocl, tr_at(b, 0), back, N), "download");
		CHECK(memcmp(src, back, N * sizeof(float)) == 0,
		      "a 12 MiB upload came back different (round %d)", round);
	}
	tr_backend_buf_free(ocl, b);
	free(src);
	free(back);
}

/* The caller's array may be reused as soon as upload returns; many uploads in a row. */
static void test_uploads(void)
{
	enum { N = 1000, ROUNDS = 150 };
	float *src = random_array(N, -1, 1), *keep = malloc(N * sizeof(float));
	float *back = malloc(N * sizeof(float));
	tr_buf *b = NULL;
	int i, bad = 0;

	memcpy(keep, src, N * sizeof(float));
	check_ok(tr_backend_alloc(ocl, (size_t)N * ROUNDS, "upload test", &b), "alloc");
	for (i = 0; b && i < ROUNDS; i++) {
		src[0] = (float)i;
		check_ok(tr_backend_upload(ocl, tr_at(b, (size_t)i * N), src, N), "upload");
		memset(src, 0xff, N * sizeof(float)); /* clobber at once */
		memcpy(src, keep, N * sizeof(float));
	}
	check_ok(tr_backend_synchronize(ocl), "synchronize");
	for (i = 0; b && i < ROUNDS; i++) {
		check_ok(tr_backend_download(ocl, tr_at(b, (size_t)i * N), back, N), "download");
		keep[0] = (float)i;
		bad += memcmp(back, keep, N * sizeof(float)) != 0;
	}
	CHECK(bad == 0, "%d of %d uploads came back different", bad, ROUNDS);
	tr_backend_buf_free(ocl, b);
	free(src);
	free(keep);
	free(back);
}

static void test_ops(void)
{
	int ta, tb;

	for (ta = 0; ta < 2; ta++) {
		for (tb = 0; tb < 2; tb++) {
			test_gemm(7, 5, 9, ta, tb, 0.0f);
			test_gemm(7, 5, 9, ta, tb, 0.5f);
		}
	}
	test_gemm(100, 130, 300, false, true, 0.0f); /* big enough for CLBlast's tiled path */
	test_gemm(64, 300, 100, true, false, 1.0f);
	test_bias_act(13, 17, false);
	test_bias_act(13, 17, true);
	test_bias_act(100, 1000, true);
	test_relu_backward(12345);
	test_softmax(37, 10, 5.0f, true, false);
	test_softmax(37, 10, 5.0f, false, true);
	test_softmax(300, 10, 1e10f, true, false); /* the row max must be subtracted */
	test_softmax(5, 1000, 30.0f, true, true);
	test_bias_grad(5, 13);
	test_bias_grad(1000, 33); /* several row chunks: the two-level path */
	test_bias_grad(257, 300);
	test_relu_bias_grad(64, 13);
	test_relu_bias_grad(300, 77); /* several row chunks: the two-level path */
	test_softmax_no_loss(64, 10);
	test_softmax_no_loss(1000, 10); /* more rows than a work-group */
	test_adam(5000);
	test_sum_squares(0);
	test_sum_squares(3);
	test_sum_squares(100003); /* more than one work-group, grid-stride loop */
	test_sum_squares(1000000);
	test_count_correct(101, 10);
	test_count_correct(10000, 10);
	test_uploads();
	test_big_upload();
}

static void expect_open_fails(const char *spec, int status, const char *needle)
{
	tr_backend *be = NULL;
	tr_error err;
	int rc;

	tr_error_clear(&err);
	rc = tr_backend_open(spec, NULL, &be, &err);
	CHECK(rc == status, "open %s: status %d (%s), expected %d", spec, rc, err.msg, status);
	CHECK(be == NULL, "open %s: a backend despite the error", spec);
	CHECK(!needle || strstr(err.msg, needle), "open %s: message lacks \"%s\": %s", spec,
	      needle, err.msg);
	if (rc != TR_OK)
		printf("  %s -> %s\n", spec, err.msg);
	tr_backend_free(be);
}

static void test_device_strings(void)
{
	tr_backend *be = NULL;
	tr_error err;
	char list[8192];

	expect_open_fails("gpu:x", TR_ERR_USAGE, "gpu:x");
	expect_open_fails("gpu:-1", TR_ERR_USAGE, "device number");
	expect_open_fails("cl:", TR_ERR_USAGE, "device number");
	expect_open_fails("cl:1x", TR_ERR_USAGE, "device number");
	expect_open_fails("cl:999", TR_ERR_DEVICE, "no such device");
	expect_open_fails("cl:998", TR_ERR_DEVICE, "cl:0");
	expect_open_fails("gpu:999", TR_ERR_DEVICE, "cl:0");
	/* other families' strings are not taken for OpenCL ones */
	CHECK(tr_backend_open("cpu-ref", NULL, &be, &err) == TR_OK && be &&
	      !strcmp(tr_backend_name(be), "cpu-ref"), "cpu-ref does not open cpu-ref");
	tr_backend_free(be);

	tr_backend_list_devices(list, sizeof(list));
	CHECK(strstr(list, "cl:0") && strstr(list, tr_backend_device_name(ocl)),
	      "--list-devices lacks cl:0 and the device:\n%s", list);
	printf("%s", list);
}

static void test_huge_alloc(void)
{
	tr_buf *b = NULL;
	int rc;

	rc = tr_backend_alloc(ocl, (size_t)1 << 40, "huge test buffer", &b);
	CHECK(rc == TR_ERR_DEVICE && b == NULL, "2^40 floats: status %d", rc);
	CHECK(strstr(tr_backend_last_error(ocl)->msg, "huge test buffer") &&
	      strstr(tr_backend_last_error(ocl)->msg, "MiB"),
	      "2^40 floats: message lacks the buffer or its size: %s",
	      tr_backend_last_error(ocl)->msg);
	printf("  2^40 floats -> %s\n", tr_backend_last_error(ocl)->msg);
	/* still usable afterwards */
	rc = tr_backend_alloc(ocl, 16, "small", &b);
	CHECK(rc == TR_OK, "small alloc after a failed one: %s",
	      tr_backend_last_error(ocl)->msg);
	tr_backend_buf_free(ocl, b);
}

static int write_text(const char *dir, const char *name, const char *a, const char *b)
{
	char path[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(a, f);
	fputs(b, f);
	return fclose(f);
}

/* TRAINER_CL_DIR: good copies open; a broken kernel gives the file and the log. */
static void test_cl_dir(void)
{
	const char *dir = test_tmpdir("opencl");
	const char *broken = "\n__kernel void broken(__global float *x)\n"
			     "{\n\tx[0] = this_is_not_declared;\n}\n";
	tr_backend *be = NULL;
	tr_error err;
	size_t i;
	int rc;

	for (i = 0; i < tr_cl_n_sources; i++)
		CHECK(write_text(dir, tr_cl_sources[i].name, tr_cl_sources[i].source, "") == 0,
		      "cannot write %s/%s", dir, tr_cl_sources[i].name);
	setenv("TRAINER_CL_DIR", dir, 1);
	rc = tr_backend_open(test_device(), NULL, &be, &err);
	CHECK(rc == TR_OK, "%s from TRAINER_CL_DIR copies: %s", test_device(), err.msg);
	tr_backend_free(be);
	be = NULL;

	CHECK(tr_cl_n_sources > 0, "no embedded kernel sources");
	write_text(dir, tr_cl_sources[0].name, tr_cl_sources[0].source, broken);
	rc = tr_backend_open(test_device(), NULL, &be, &err);
	CHECK(rc == TR_ERR_DEVICE && !be, "broken kernel: status %d", rc);
	CHECK(strstr(err.msg, tr_cl_sources[0].name) != NULL,
	      "broken kernel: message lacks the file name %s: %s", tr_cl_sources[0].name,
	      err.msg);
	CHECK(strstr(err.msg, "this_is_not_declared") != NULL,
	      "broken kernel: message lacks the build log: %s", err.msg);
	printf("  broken kernel -> %s\n", err.msg);
	tr_backend_free(be);
	be = NULL;

	setenv("TRAINER_CL_DIR", "/nonexistent-trainer-cl-dir", 1);
	rc = tr_backend_open(test_device(), NULL, &be, &err);
	CHECK(rc == TR_ERR_INPUT && strstr(err.msg, "/nonexistent-trainer-cl-dir"),
	      "missing TRAINER_CL_DIR: status %d: %s", rc, err.msg);
	tr_backend_free(be);
	unsetenv("TRAINER_CL_DIR");
}

/* Run in a child whose OpenCL loader finds no driver (OCL_ICD_VENDORS=/nonexistent). */
static int child_no_icd(void)
{
	tr_backend *be = NULL;
	tr_error err;
	char list[4096];
	int rc;

	expect_open_fails("cl:0", TR_ERR_DEVICE, "pocl-opencl-icd");
	expect_open_fails("gpu:0", TR_ERR_DEVICE, "--device cpu");
	expect_open_fails("gpu:x", TR_ERR_USAGE, NULL);
	tr_backend_list_devices(list, sizeof(list));
	CHECK(strstr(list, "no OpenCL driver") != NULL, "list without a driver:\n%s", list);
	rc = tr_backend_open("auto", NULL, &be, &err);
	CHECK(rc == TR_OK && be && strcmp(tr_backend_name(be), "opencl") != 0,
	      "auto without a driver: %d %s", rc, err.msg);
	tr_backend_free(be);
	return test_finish();
}

static void test_no_icd(void)
{
	char self[4096];
	ssize_t len;
	pid_t pid;
	int status = 0;

	/* readlink rather than exec of /proc/self/exe itself: under valgrind that would
	 * be valgrind's own executable */
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(len > 0, "cannot find this test's executable");
	if (len <= 0)
		return;
	self[len] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setenv("OCL_ICD_VENDORS", "/nonexistent", 1);
		execl(self, "test_opencl", "--no-icd", (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the no-driver child failed (status %d)", status);
}

/* The first OpenCL device in the loader's order: cl:0. */
static cl_device_id first_device(void)
{
	cl_platform_id plats[16];
	cl_device_id dev = NULL;
	cl_uint np = 0, i, nd;

	if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
		return NULL;
	for (i = 0; i < np && i < 16 && !dev; i++)
		if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 1, &dev, &nd) != CL_SUCCESS)
			dev = NULL;
	return dev;
}

/*
 * Where CLBlast's own switch-over sends a training step's GEMMs to its indirect kernel
 * (AMD's and Intel's GPUs: XGEMM_MIN_INDIRECT_SIZE 128 to 448), each GEMM adds up to
 * four pad and transpose launches. Without a tuning cache the backend routes the
 * step's GEMMs direct. Simulated here by setting CLBlast's switch-over to 1 (everything
 * indirect) before the network is created: a step of 784-64-10 must then still be its
 * 5L + 1 = 11 launches (no gather here), and the backend must say what it did.
 */
static void test_step_gemms_direct(void)
{
	const char *name = "XGEMM_MIN_INDIRECT_SIZE";
	size_t all_indirect = 1, original = 0;
	cl_device_id dev = first_device();
	tr_backend_counters c0, c1;
	tr_backend *be = NULL;
	tr_layout lay;
	tr_net *net = NULL;
	tr_error err;
	float *x, *y, *params;
	size_t i;
	int rc;

	if (!dev || tr_clblast_retrieve(dev, "GemmRoutine", 1, &name, &original) != 0) {
		CHECK(0, "cannot read CLBlast's switch-over for cl:0");
		return;
	}
	setenv("TRAINER_CLBLAST_CACHE", "off", 1);
	rc = tr_backend_open("cl:0", NULL, &be, &err);
	unsetenv("TRAINER_CLBLAST_CACHE");
	CHECK(rc == TR_OK, "cl:0 without a cache: %s", err.msg);
	if (rc != TR_OK)
		return;
	CHECK(CLBlastOverrideParameters(dev, "GemmRoutine", CLBlastPrecisionSingle, 1, &name,
					&all_indirect) == CLBlastSuccess, "override");
	tr_layout_parse("784,64,10", &lay, &err);
	x = random_array(16 * 784, 0, 1);
	y = calloc(16, sizeof(float));
	params = random_array(lay.n_params, -0.05f, 0.05f);
	rc = tr_net_create(be, &lay, 16, 16, &net, &err);
	CHECK(rc == TR_OK, "net: %s", err.msg);
	CHECK(strstr(tr_backend_tuning(be), "direct kernel (switch-over 1 -> ") != NULL,
	      "the backend does not say it routed the step direct: %s", tr_backend_tuning(be));
	for (i = 0; rc == TR_OK && i < 3; i++) {
		tr_backend_counters_read(be, &c0);
		if ((rc = tr_net_set_state(net, params, NULL, NULL, &err)) ||
		    (rc = tr_net_load_batch(net, x, y, 16, &err)))
			break;
		tr_backend_counters_read(be, &c0);
		rc = tr_net_train_step(net, (long)i + 1, 0.001, 0.0, TR_L2_ALL, &err);
		tr_backend_counters_read(be, &c1);
		tr_backend_synchronize(be);
	}
	CHECK(rc == TR_OK, "train step: %s", err.msg);
	CHECK(c1.launches - c0.launches == 11, "a step of 784-64-10 with CLBlast routing "
	      "everything indirect: %llu launches, expected 11 (all direct)",
	      (unsigned long long)(c1.launches - c0.launches));
	tr_net_free(net);
	tr_backend_free(be);
	free(x);
	free(y);
	free(params);
	CLBlastOverrideParameters(dev, "GemmRoutine", CLBlastPrecisionSingle, 1, &name,
				  &original);
}

int main(int argc, char **argv)
{
	const char *require = getenv("TRAINER_REQUIRE_OPENCL");
	tr_error err;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "--no-icd"))
		return child_no_icd();
	rc = tr_backend_open(test_device(), NULL, &ocl, &err);
	if (rc != TR_OK) {
		fprintf(stderr, "cannot open %s: %s\n", test_device(), err.msg);
		if (require && !strcmp(require, "1")) {
			CHECK(0, "TRAINER_REQUIRE_OPENCL=1 but no OpenCL device opens");
			return test_finish();
		}
		return TEST_SKIP;
	}
	rc = tr_backend_open("cpu-ref", NULL, &ref, &err);
	CHECK(rc == TR_OK, "cpu-ref: %s", err.msg);
	if (rc != TR_OK)
		return test_finish();
	printf("OpenCL device: %s (%s)\n", tr_backend_device_name(ocl),
	       tr_backend_device_version(ocl));
	CHECK(!strcmp(tr_backend_name(ocl), "opencl"), "%s opened %s", test_device(),
	      tr_backend_name(ocl));
	CHECK(tr_backend_device_name(ocl)[0] != '\0', "empty device name");
	CHECK(strstr(tr_backend_device_version(ocl), "CLBlast") != NULL,
	      "device version lacks CLBlast: %s", tr_backend_device_version(ocl));

	test_ops();
	test_device_strings();
	test_huge_alloc();
	test_cl_dir();
	test_no_icd();

	printf("ran on OpenCL device: %s\n", tr_backend_device_name(ocl));
	tr_backend_free(ocl);
	tr_backend_free(ref);
	/* With no other backend open: one opened with a tuning cache (ocl, where one
	 * exists) keeps CLBlast's own values on record until the last backend closes, and
	 * the switch-over simulated here must be taken for CLBlast's own. */
	test_step_gemms_direct();
	return test_finish();
}
