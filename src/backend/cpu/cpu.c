/*
 * cpu.c - the fast CPU backend: GEMMs through CBLAS (OpenBLAS), everything else in
 * simple loops the compiler vectorises, split across threads with OpenMP where the
 * arrays are big enough for it to pay.
 *
 * Buffers are 64-byte aligned host arrays. --threads N sets both OpenBLAS's and
 * OpenMP's thread counts (0 = all cores).
 */
#include "backend/backend_impl.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this many elements a loop runs on one thread: fork/join costs more. */
#define PAR_MIN 32768

struct tr_buf {
	float *data;
	size_t n;
};

struct cpu_ctx {
	int threads;
};

static float *at(tr_view v)
{
	return v.buf->data + v.off;
}

static int cpu_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out)
{
	tr_buf *b = malloc(sizeof(*b));
	size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;

	if (!b || n > SIZE_MAX / sizeof(float) - 64 ||
	    !(b->data = aligned_alloc(64, bytes))) {
		free(b);
		return tr_fail(&be->err, TR_ERR_INTERNAL,
			       "cpu: out of host memory allocating %s (%zu MiB)", what,
			       n * sizeof(float) >> 20);
	}
	b->n = n;
	*out = b;
	return TR_OK;
}

static void cpu_buf_free(tr_backend *be, tr_buf *buf)
{
	free(buf->data);
	free(buf);
}

static int cpu_upload(tr_backend *be, tr_view dst, const float *src, size_t n)
{
	memcpy(at(dst), src, n * sizeof(float));
	return TR_OK;
}

static int cpu_download(tr_backend *be, tr_view src, float *dst, size_t n)
{
	memcpy(dst, at(src), n * sizeof(float));
	return TR_OK;
}

static int cpu_gemm(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
		    float alpha, tr_view a, size_t lda, tr_view b, size_t ldb,
		    float beta, tr_view c, size_t ldc)
{
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
		    tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k,
		    alpha, at(a), (blasint)lda, at(b), (blasint)ldb, beta, at(c),
		    (blasint)ldc);
	return TR_OK;
}

static int cpu_bias_act(tr_backend *be, tr_view y, tr_view bias, size_t rows,
			size_t cols, bool relu)
{
	float *Y = at(y);
	const float *b = at(bias);
	long r;

#pragma omp parallel for if (rows * cols >= PAR_MIN) schedule(static)
	for (r = 0; r < (long)rows; r++) {
		float *row = Y + (size_t)r * cols;
		size_t c;

		if (relu) {
			for (c = 0; c < cols; c++) {
				float z = row[c] + b[c];

				row[c] = z > 0.0f ? z : 0.0f;
			}
		} else {
			for (c = 0; c < cols; c++)
				row[c] += b[c];
		}
	}
	return TR_OK;
}

static int cpu_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n)
{
	float *d = at(dy);
	const float *Y = at(y);
	long i;

#pragma omp parallel for simd if (n >= PAR_MIN) schedule(static)
	for (i = 0; i < (long)n; i++)
		d[i] = Y[i] > 0.0f ? d[i] : 0.0f;
	return TR_OK;
}

static void store(tr_view out, double value, bool accumulate)
{
	float *o = at(out);

	*o = accumulate ? (float)(*o + value) : (float)value;
}

static int cpu_softmax_xent(tr_backend *be, tr_view logits, tr_view labels,
			    size_t rows, size_t cols, float grad_scale,
			    tr_view dlogits, tr_view loss, bool accumulate)
{
	const float *Z = at(logits), *L = at(labels);
	float *D = dlogits.buf ? at(dlogits) : NULL;
	double total = 0.0;
	long r;

#pragma omp parallel for reduction(+ : total) if (rows * cols >= PAR_MIN)
	for (r = 0; r < (long)rows; r++) {
		const float *z = Z + (size_t)r * cols;
		size_t label = (size_t)L[r], c;
		float max = z[0];
		double sum = 0.0;

		for (c = 1; c < cols; c++)
			max = z[c] > max ? z[c] : max;
		for (c = 0; c < cols; c++)
			sum += expf(z[c] - max);
		total += log(sum) - ((double)z[label] - max);
		if (!D)
			continue;
		for (c = 0; c < cols; c++) {
			float p = (float)(expf(z[c] - max) / sum);

			D[(size_t)r * cols + c] =
				grad_scale * (p - (c == label ? 1.0f : 0.0f));
		}
	}
	store(loss, total, accumulate);
	return TR_OK;
}

static int cpu_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols,
			 tr_view db)
{
	const float *D = at(dy);
	float *out = at(db);
	size_t r, c;

	/* Row by row so the inner loop is contiguous and vectorises. */
	for (c = 0; c < cols; c++)
		out[c] = 0.0f;
	for (r = 0; r < rows; r++)
		for (c = 0; c < cols; c++)
			out[c] += D[r * cols + c];
	return TR_OK;
}

static int cpu_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m,
		       tr_view v, size_t n, const tr_adam_params *p)
{
	float *restrict w = at(param), *restrict M = at(m), *restrict V = at(v);
	const float *restrict G = at(grad);
	const float b1 = p->beta1, b2 = p->beta2, lr = p->lr_t, eps = p->epsilon;
	const float l2 = p->l2;
	long i;

#pragma omp parallel for simd if (n >= PAR_MIN) schedule(static)
	for (i = 0; i < (long)n; i++) {
		float g = G[i] + l2 * w[i];
		float mi = b1 * M[i] + (1.0f - b1) * g;
		float vi = b2 * V[i] + (1.0f - b2) * g * g;

		M[i] = mi;
		V[i] = vi;
		w[i] -= lr * mi / (sqrtf(vi) + eps);
	}
	return TR_OK;
}

static int cpu_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out,
			   bool accumulate)
{
	const float *X = at(x);
	double total = 0.0;
	long i;

#pragma omp parallel for simd reduction(+ : total) if (n >= PAR_MIN)
	for (i = 0; i < (long)n; i++)
		total += (double)X[i] * X[i];
	store(out, total, accumulate);
	return TR_OK;
}

static int cpu_count_correct(tr_backend *be, tr_view logits, tr_view labels,
			     size_t rows, size_t cols, tr_view out, bool accumulate)
{
	const float *Z = at(logits), *L = at(labels);
	size_t r, c, correct = 0;

	for (r = 0; r < rows; r++) {
		const float *z = Z + r * cols;
		size_t best = 0;

		for (c = 1; c < cols; c++)
			if (z[c] > z[best])
				best = c;
		correct += best == (size_t)L[r];
	}
	store(out, (double)correct, accumulate);
	return TR_OK;
}

static void cpu_free(tr_backend *be)
{
	free(be->context);
	free(be);
}

static const struct tr_backend_i cpu_iface = {
	.free = cpu_free,
	.buf_alloc = cpu_alloc,
	.buf_free = cpu_buf_free,
	.upload = cpu_upload,
	.download = cpu_download,
	.synchronize = NULL,
	.gemm = cpu_gemm,
	.bias_act = cpu_bias_act,
	.relu_backward = cpu_relu_backward,
	.softmax_xent = cpu_softmax_xent,
	.bias_grad = cpu_bias_grad,
	.adam_l2 = cpu_adam_l2,
	.sum_squares = cpu_sum_squares,
	.count_correct = cpu_count_correct,
};

static int cpu_open(const char *spec, const tr_backend_options *opts, tr_backend **out,
		    tr_error *err)
{
	struct cpu_ctx *ctx;
	tr_backend *be;
	int threads;

	if (strcmp(spec, "cpu") != 0)
		return TR_BACKEND_NOT_MINE;
	threads = opts->threads > 0 ? opts->threads : omp_get_num_procs();
	ctx = calloc(1, sizeof(*ctx));
	be = ctx ? tr_backend_new(&cpu_iface, "cpu", ctx) : NULL;
	if (!be) {
		free(ctx);
		return tr_fail(err, TR_ERR_INTERNAL, "cpu: out of host memory");
	}
	ctx->threads = threads;
	openblas_set_num_threads(threads);
	omp_set_num_threads(threads);
	snprintf(be->device_name, sizeof(be->device_name), "host CPU, %d thread%s (%s)",
		 threads, threads == 1 ? "" : "s", openblas_get_corename());
	snprintf(be->device_version, sizeof(be->device_version), "%s",
		 openblas_get_config());
	*out = be;
	return TR_OK;
}

static void cpu_list(char *buf, size_t cap)
{
	size_t len = strlen(buf);

	snprintf(buf + len, cap - len,
		 "cpu       host CPU through OpenBLAS (%s), %d cores\n",
		 openblas_get_corename(), omp_get_num_procs());
}

const struct tr_backend_reg tr_cpu_reg = {
	.name = "cpu",
	.open = cpu_open,
	.list = cpu_list,
	.has_gpu = NULL,
};
