/*
 * opencl_tune_measure.c - timing CLBlast's GEMMs for the search (opencl_tune_search.c):
 * test matrices on the device, a double-precision reference product per shape, and
 * each shape run once to check its result (a candidate that computes wrongly is out),
 * then timed (the best of TIMED_RUNS, each closed by clFinish).
 */
#include "opencl_tune.h"

#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/clock.h"
#include "trainer/prng.h"

#define TIMED_RUNS 3
/* A candidate's result must match the reference product to this NMSE. float32 sums
 * of k <= a few thousand products of numbers in [-1, 1] are off by ~1e-6 relative. */
#define MAX_NMSE 1e-8

void tr_tune_say(const struct tuner *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!t->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->o->progress(t->o->user, line);
}

double tr_tune_now_ms(void)
{
	return 1e3 * tr_now_seconds();
}

double tr_tune_flop(const tr_tune_shape *s)
{
	return 2.0 * (double)s->m * (double)s->n * (double)s->k;
}

/* ref = op(A) op(B) in double, rounded to float. */
static void reference(const tr_tune_shape *s, const float *A, const float *B, float *C,
		      double *acc)
{
	size_t i, j, p, m = s->m, n = s->n, k = s->k;

	for (i = 0; i < m; i++) {
		if (s->trans_b) {
			for (j = 0; j < n; j++) {
				double sum = 0.0;

				for (p = 0; p < k; p++)
					sum += (double)(s->trans_a ? A[p * m + i] : A[i * k + p]) *
					       B[j * k + p];
				acc[j] = sum;
			}
		} else {
			for (j = 0; j < n; j++)
				acc[j] = 0.0;
			for (p = 0; p < k; p++) {
				double a = s->trans_a ? A[p * m + i] : A[i * k + p];
				const float *row = B + p * n;

				for (j = 0; j < n; j++)
					acc[j] += a * row[j];
			}
		}
		for (j = 0; j < n; j++)
			C[i * n + j] = (float)acc[j];
	}
}

static int run_gemm(struct tuner *t, const tr_tune_shape *s, int *clblast_status)
{
	cl_event ev = NULL;
	int st;

	st = CLBlastSgemm(CLBlastLayoutRowMajor,
			  s->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
			  s->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k,
			  1.0f, t->a, 0, s->trans_a ? s->m : s->k, t->b, 0,
			  s->trans_b ? s->k : s->n, 0.0f, t->c, 0, s->n, &t->cl->queue, &ev);
	if (ev)
		clReleaseEvent(ev);
	*clblast_status = st;
	if (st != CLBlastSuccess)
		return TR_ERR_DEVICE;
	return clFinish(t->cl->queue) == CL_SUCCESS ? TR_OK : TR_ERR_DEVICE;
}

/* Run shape si once on a C filled with NaN, compare with the reference, then time it.
 * Returns the best of TIMED_RUNS in ms, or INFINITY when it fails or is wrong (*why). */
static double measure(struct tuner *t, size_t si, const char **why)
{
	const tr_tune_shape *s = &t->o->shapes[si];
	size_t i, n = s->m * s->n;
	float nan_ = NAN;
	double num = 0.0, den = 0.0, best = INFINITY;
	int st = 0, r;

	*why = NULL;
	if (t->chosen && (st = tr_cl_gemm_select(t->cl, s->trans_a, s->trans_b)) != 0) {
		*why = tr_clblast_errname(st);
		return INFINITY;
	}
	if (clEnqueueFillBuffer(t->cl->queue, t->c, &nan_, sizeof(nan_), 0, n * sizeof(float),
				0, NULL, NULL) != CL_SUCCESS ||
	    run_gemm(t, s, &st) != TR_OK) {
		*why = st ? tr_clblast_errname(st) : "OpenCL error";
		return INFINITY;
	}
	if (clEnqueueReadBuffer(t->cl->queue, t->c, CL_TRUE, 0, n * sizeof(float), t->host_c,
				0, NULL, NULL) != CL_SUCCESS) {
		*why = "cannot read the result";
		return INFINITY;
	}
	for (i = 0; i < n; i++) {
		double d = (double)t->host_c[i] - t->ref[si][i];

		num += d * d;
		den += (double)t->ref[si][i] * t->ref[si][i];
	}
	if (!(num <= MAX_NMSE * den)) { /* NaN included */
		*why = "wrong result";
		return INFINITY;
	}
	for (r = 0; r < TIMED_RUNS; r++) {
		double t0 = tr_tune_now_ms(), ms;

		if (run_gemm(t, s, &st) != TR_OK) {
			*why = st ? tr_clblast_errname(st) : "OpenCL error";
			return INFINITY;
		}
		ms = tr_tune_now_ms() - t0;
		if (ms < best)
			best = ms;
	}
	return best;
}

/* Weighted GEMM time per step of the shapes, with ms[s] each. */
double tr_tune_weighted(const struct tuner *t, const double *ms)
{
	double sum = 0.0;
	size_t s;

	for (s = 0; s < t->o->n_shapes; s++)
		sum += t->o->shapes[s].weight * ms[s];
	return sum;
}

/* Measure every shape with the parameters now in force into ms[]; returns the
 * weighted sum (INFINITY if any shape failed) and the seconds it took in *secs. */
double tr_tune_measure_all(struct tuner *t, double *ms, const char *label, double *secs)
{
	const char *why = NULL;
	double t0 = tr_tune_now_ms(), w;
	size_t s;

	for (s = 0; s < t->o->n_shapes; s++) {
		ms[s] = measure(t, s, &why);
		if (!isfinite(ms[s])) {
			tr_tune_say(t, "  %s: %s on %s (%zux%zux%zu): skipped", label, why,
			    t->o->shapes[s].what, t->o->shapes[s].m, t->o->shapes[s].n,
			    t->o->shapes[s].k);
			for (; s < t->o->n_shapes; s++)
				ms[s] = INFINITY;
			*secs = (tr_tune_now_ms() - t0) * 1e-3;
			return INFINITY;
		}
	}
	w = tr_tune_weighted(t, ms);
	*secs = (tr_tune_now_ms() - t0) * 1e-3;
	tr_tune_say(t, "  %s: %.2f ms of GEMMs per step (%.0f s with program builds)", label, w,
	    *secs);
	return w;
}

static int alloc_buf(struct tuner *t, size_t n, cl_mem *out, tr_error *err)
{
	cl_int rc;

	*out = clCreateBuffer(t->cl->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &rc);
	if (rc != CL_SUCCESS) {
		*out = NULL;
		return tr_cl_fail(err, "clCreateBuffer", "tuning buffers", rc);
	}
	return TR_OK;
}

int tr_tune_setup(struct tuner *t, tr_error *err)
{
	const tr_tune_options *o = t->o;
	size_t na = 1, nb = 1, nc = 1, s, i, maxn = 1;
	double *acc;
	tr_prng rng;
	int rc;

	for (s = 0; s < o->n_shapes; s++) {
		const tr_tune_shape *x = &o->shapes[s];

		if (x->m * x->k > na)
			na = x->m * x->k;
		if (x->k * x->n > nb)
			nb = x->k * x->n;
		if (x->m * x->n > nc)
			nc = x->m * x->n;
		if (x->n > maxn)
			maxn = x->n;
	}
	t->host_a = malloc(na * sizeof(float));
	t->host_b = malloc(nb * sizeof(float));
	t->host_c = malloc(nc * sizeof(float));
	t->ref = calloc(o->n_shapes, sizeof(*t->ref));
	t->res = calloc(o->n_shapes, sizeof(*t->res));
	acc = malloc(maxn * sizeof(double));
	if (!t->host_a || !t->host_b || !t->host_c || !t->ref || !t->res || !acc) {
		free(acc);
		return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
	}
	tr_prng_seed(&rng, 12345);
	for (i = 0; i < na; i++)
		t->host_a[i] = 2.0f * tr_prng_uniform(&rng) - 1.0f;
	for (i = 0; i < nb; i++)
		t->host_b[i] = 2.0f * tr_prng_uniform(&rng) - 1.0f;
	for (s = 0; s < o->n_shapes; s++) {
		const tr_tune_shape *x = &o->shapes[s];

		t->ref[s] = malloc(x->m * x->n * sizeof(float));
		t->res[s].direct_ms = malloc(t->n_direct * sizeof(double));
		t->res[s].indirect_ms = malloc(t->n_indirect * sizeof(double));
		if (!t->ref[s] || !t->res[s].direct_ms || !t->res[s].indirect_ms) {
			free(acc);
			return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
		}
		for (i = 0; i < t->n_direct; i++)
			t->res[s].direct_ms[i] = INFINITY;
		for (i = 0; i < t->n_indirect; i++)
			t->res[s].indirect_ms[i] = INFINITY;
		reference(x, t->host_a, t->host_b, t->ref[s], acc);
	}
	free(acc);
	if ((rc = alloc_buf(t, na, &t->a, err)) || (rc = alloc_buf(t, nb, &t->b, err)) ||
	    (rc = alloc_buf(t, nc, &t->c, err)))
		return rc;
	if (clEnqueueWriteBuffer(t->cl->queue, t->a, CL_TRUE, 0, na * sizeof(float), t->host_a,
				 0, NULL, NULL) != CL_SUCCESS ||
	    clEnqueueWriteBuffer(t->cl->queue, t->b, CL_TRUE, 0, nb * sizeof(float), t->host_b,
				 0, NULL, NULL) != CL_SUCCESS)
		return tr_fail(err, TR_ERR_DEVICE, "tune: cannot upload the test matrices");
	return TR_OK;
}

void tr_tune_free(struct tuner *t)
{
	size_t s;

	if (t->a)
		clReleaseMemObject(t->a);
	if (t->b)
		clReleaseMemObject(t->b);
	if (t->c)
		clReleaseMemObject(t->c);
	for (s = 0; t->ref && s < t->o->n_shapes; s++)
		free(t->ref[s]);
	for (s = 0; t->res && s < t->o->n_shapes; s++) {
		free(t->res[s].direct_ms);
		free(t->res[s].indirect_ms);
	}
	free(t->ref);
	free(t->res);
	free(t->host_a);
	free(t->host_b);
	free(t->host_c);
	free(t->direct);
	free(t->indirect);
}

/* The measurements as the choice sees them. */
struct tr_tune_table tr_tune_table_of(const struct tuner *t)
{
	struct tr_tune_table tab = {
		t->o->shapes, t->o->n_shapes, t->res, t->n_direct, t->n_indirect,
		t->def_threshold, t->cheap_builds,
	};

	return tab;
}
