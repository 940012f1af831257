/*
 * cpu_ref.c - the reference backend: plain scalar C that a reader can check by eye.
 *
 * It is the oracle every other backend is tested against, so clarity wins over speed:
 * one loop per formula, every sum (GEMM, reductions, softmax) accumulated in double,
 * results rounded to float once. Buffers are plain malloc'ed float arrays.
 */
#include "backend/host_buffer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Element (i, j) of op(X) for a row-major X with leading dimension ld. */
static double elem(const float *x, size_t ld, bool trans, size_t i, size_t j)
{
	return trans ? x[j * ld + i] : x[i * ld + j];
}

static int ref_gemm(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
		    float alpha, tr_view a, size_t lda, tr_view b, size_t ldb,
		    float beta, tr_view c, size_t ldc)
{
	const float *A = tr_host_at(a), *B = tr_host_at(b);
	float *C = tr_host_at(c);
	size_t i, j, p;

	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			double sum = 0.0;

			for (p = 0; p < k; p++)
				sum += elem(A, lda, ta, i, p) * elem(B, ldb, tb, p, j);
			sum *= alpha;
			if (beta != 0.0f)
				sum += (double)beta * C[i * ldc + j];
			C[i * ldc + j] = (float)sum;
		}
	}
	return TR_OK;
}

static int ref_bias_act(tr_backend *be, tr_view y, tr_view bias, size_t rows,
			size_t cols, bool relu)
{
	float *Y = tr_host_at(y);
	const float *b = tr_host_at(bias);
	size_t r, c;

	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++) {
			float z = Y[r * cols + c] + b[c];

			Y[r * cols + c] = (relu && !(z > 0.0f)) ? 0.0f : z;
		}
	}
	return TR_OK;
}

static int ref_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n)
{
	float *d = tr_host_at(dy);
	const float *Y = tr_host_at(y);
	size_t i;

	for (i = 0; i < n; i++)
		if (!(Y[i] > 0.0f))
			d[i] = 0.0f;
	return TR_OK;
}

/* loss_r = log(sum_j exp(z_j - max)) - (z_label - max): exact for any finite z. */
static int ref_softmax_xent(tr_backend *be, tr_view logits, tr_view labels,
			    size_t rows, size_t cols, float grad_scale,
			    tr_view dlogits, tr_view loss, bool accumulate)
{
	const float *Z = tr_host_at(logits), *L = tr_host_at(labels);
	double total = 0.0;
	size_t r, c;

	for (r = 0; r < rows; r++) {
		const float *z = Z + r * cols;
		size_t label = (size_t)L[r];
		double max = z[0], sum = 0.0;

		for (c = 1; c < cols; c++)
			if (z[c] > max)
				max = z[c];
		for (c = 0; c < cols; c++)
			sum += exp((double)z[c] - max);
		total += log(sum) - ((double)z[label] - max);
		if (!dlogits.buf)
			continue;
		for (c = 0; c < cols; c++) {
			double p = exp((double)z[c] - max) / sum;

			tr_host_at(dlogits)[r * cols + c] =
				(float)(grad_scale * (p - (c == label ? 1.0 : 0.0)));
		}
	}
	tr_host_store(loss, total, accumulate);
	return TR_OK;
}

static int ref_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols,
			 tr_view db)
{
	const float *D = tr_host_at(dy);
	size_t r, c;

	for (c = 0; c < cols; c++) {
		double sum = 0.0;

		for (r = 0; r < rows; r++)
			sum += D[r * cols + c];
		tr_host_at(db)[c] = (float)sum;
	}
	return TR_OK;
}

/* TensorFlow 1's Adam with the L2 gradient folded in (SPEC.md). */
static int ref_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m,
		       tr_view v, size_t n, const tr_adam_params *p)
{
	float *w = tr_host_at(param), *M = tr_host_at(m), *V = tr_host_at(v);
	const float *G = tr_host_at(grad);
	size_t i;

	for (i = 0; i < n; i++) {
		double g = (double)G[i] + (double)p->l2 * w[i];
		double mi = (double)p->beta1 * M[i] + (1.0 - (double)p->beta1) * g;
		double vi = (double)p->beta2 * V[i] + (1.0 - (double)p->beta2) * g * g;

		M[i] = (float)mi;
		V[i] = (float)vi;
		w[i] = (float)(w[i] - (double)p->lr_t * mi / (sqrt(vi) + p->epsilon));
	}
	return TR_OK;
}

static int ref_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out,
			   bool accumulate)
{
	const float *X = tr_host_at(x);
	double sum = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (double)X[i] * X[i];
	tr_host_store(out, sum, accumulate);
	return TR_OK;
}

static int ref_count_correct(tr_backend *be, tr_view logits, tr_view labels,
			     size_t rows, size_t cols, tr_view out, bool accumulate)
{
	const float *Z = tr_host_at(logits), *L = tr_host_at(labels);
	size_t r, c, correct = 0;

	for (r = 0; r < rows; r++) {
		size_t best = 0;

		for (c = 1; c < cols; c++)
			if (Z[r * cols + c] > Z[r * cols + best])
				best = c;
		if (best == (size_t)L[r])
			correct++;
	}
	tr_host_store(out, (double)correct, accumulate);
	return TR_OK;
}

static void ref_free(tr_backend *be)
{
	free(be);
}

static const struct tr_backend_i ref_iface = {
	.free = ref_free,
	.buf_alloc = tr_host_buf_alloc,
	.buf_free = tr_host_buf_free,
	.upload = tr_host_upload,
	.download = tr_host_download,
	.gather = tr_host_gather,
	.synchronize = NULL,
	.gemm = ref_gemm,
	.bias_act = ref_bias_act,
	.relu_backward = ref_relu_backward,
	.softmax_xent = ref_softmax_xent,
	.bias_grad = ref_bias_grad,
	.adam_l2 = ref_adam_l2,
	.sum_squares = ref_sum_squares,
	.count_correct = ref_count_correct,
};

static int ref_open(const char *spec, const tr_backend_options *opts, tr_backend **out,
		    tr_error *err)
{
	tr_backend *be;

	if (strcmp(spec, "cpu-ref") != 0)
		return TR_BACKEND_NOT_MINE;
	be = tr_backend_new(&ref_iface, "cpu-ref", NULL);
	if (!be)
		return tr_fail(err, TR_ERR_INTERNAL, "cpu-ref: out of host memory");
	snprintf(be->device_name, sizeof(be->device_name), "host CPU (scalar reference)");
	snprintf(be->device_version, sizeof(be->device_version), "plain C, double accumulation");
	*out = be;
	return TR_OK;
}

static void ref_list(char *buf, size_t cap)
{
	size_t len = strlen(buf);

	snprintf(buf + len, cap - len,
		 "cpu-ref   scalar C reference backend (the oracle; slow)\n");
}

const struct tr_backend_reg tr_cpu_ref_reg = {
	.name = "cpu-ref",
	.open = ref_open,
	.list = ref_list,
	.has_gpu = NULL,
};
