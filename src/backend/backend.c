/*
 * backend.c - the public tr_backend_* wrappers: check the caller's arguments, then
 * dispatch through the backend's interface struct.
 */
#include "backend_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

tr_backend *tr_backend_new(const struct tr_backend_i *iface, const char *name,
			   void *context)
{
	tr_backend *be = calloc(1, sizeof(*be));

	if (!be)
		return NULL;
	be->iface = iface;
	be->name = name;
	be->context = context;
	tr_error_clear(&be->err);
	return be;
}

void tr_backend_free(tr_backend *be)
{
	if (be)
		be->iface->free(be);
}

const char *tr_backend_name(const tr_backend *be) { return be->name; }
const char *tr_backend_device_name(const tr_backend *be) { return be->device_name; }
const char *tr_backend_device_version(const tr_backend *be) { return be->device_version; }
const tr_error *tr_backend_last_error(const tr_backend *be) { return &be->err; }
const char *tr_backend_tuning(const tr_backend *be) { return be->tuning; }
const char *tr_backend_warning(const tr_backend *be) { return be->warning; }

/* A caller's mistake: record it on the backend like any other failure. */
static int bad_arg(tr_backend *be, const char *op, const char *what)
{
	return tr_fail(&be->err, TR_ERR_INTERNAL, "%s (%s backend): %s", op, be->name, what);
}

#define CHECK_VIEW(op, v) \
	do { if (!(v).buf) return bad_arg(be, op, #v " is a NULL buffer"); } while (0)

int tr_backend_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out)
{
	*out = NULL;
	if (n == 0)
		return bad_arg(be, "alloc", "zero-sized buffer");
	return be->iface->buf_alloc(be, n, what ? what : "buffer", out);
}

void tr_backend_buf_free(tr_backend *be, tr_buf *buf)
{
	if (be && buf)
		be->iface->buf_free(be, buf);
}

int tr_backend_upload(tr_backend *be, tr_view dst, const float *src, size_t n)
{
	CHECK_VIEW("upload", dst);
	if (n == 0)
		return TR_OK;
	return be->iface->upload(be, dst, src, n);
}

int tr_backend_download(tr_backend *be, tr_view src, float *dst, size_t n)
{
	CHECK_VIEW("download", src);
	if (n == 0)
		return tr_backend_synchronize(be);
	return be->iface->download(be, src, dst, n);
}

int tr_backend_synchronize(tr_backend *be)
{
	return be->iface->synchronize ? be->iface->synchronize(be) : TR_OK;
}

int tr_backend_gemm(tr_backend *be, bool trans_a, bool trans_b,
		    size_t m, size_t n, size_t k, float alpha,
		    tr_view a, size_t lda, tr_view b, size_t ldb,
		    float beta, tr_view c, size_t ldc)
{
	CHECK_VIEW("gemm", a);
	CHECK_VIEW("gemm", b);
	CHECK_VIEW("gemm", c);
	if (m == 0 || n == 0 || k == 0)
		return bad_arg(be, "gemm", "zero dimension");
	if (lda < (trans_a ? m : k) || ldb < (trans_b ? k : n) || ldc < n)
		return bad_arg(be, "gemm", "leading dimension smaller than the matrix width");
	return be->iface->gemm(be, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
			       beta, c, ldc);
}

int tr_backend_bias_act(tr_backend *be, tr_view y, tr_view bias,
			size_t rows, size_t cols, bool relu)
{
	CHECK_VIEW("bias_act", y);
	CHECK_VIEW("bias_act", bias);
	if (rows == 0 || cols == 0)
		return TR_OK;
	return be->iface->bias_act(be, y, bias, rows, cols, relu);
}

int tr_backend_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n)
{
	CHECK_VIEW("relu_backward", dy);
	CHECK_VIEW("relu_backward", y);
	if (n == 0)
		return TR_OK;
	return be->iface->relu_backward(be, dy, y, n);
}

int tr_backend_softmax_xent(tr_backend *be, tr_view logits, tr_view labels,
			    size_t rows, size_t cols, float grad_scale,
			    tr_view dlogits, tr_view loss, bool accumulate)
{
	CHECK_VIEW("softmax_xent", logits);
	CHECK_VIEW("softmax_xent", labels);
	if (rows == 0 || cols == 0)
		return bad_arg(be, "softmax_xent", "empty logits");
	return be->iface->softmax_xent(be, logits, labels, rows, cols, grad_scale,
				       dlogits, loss, accumulate);
}

int tr_backend_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols,
			 tr_view db)
{
	CHECK_VIEW("bias_grad", dy);
	CHECK_VIEW("bias_grad", db);
	if (rows == 0 || cols == 0)
		return bad_arg(be, "bias_grad", "empty matrix");
	return be->iface->bias_grad(be, dy, rows, cols, db);
}

int tr_backend_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m,
		       tr_view v, size_t n, const tr_adam_params *p)
{
	CHECK_VIEW("adam_l2", param);
	CHECK_VIEW("adam_l2", grad);
	CHECK_VIEW("adam_l2", m);
	CHECK_VIEW("adam_l2", v);
	if (n == 0)
		return TR_OK;
	return be->iface->adam_l2(be, param, grad, m, v, n, p);
}

int tr_backend_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out,
			   bool accumulate)
{
	CHECK_VIEW("sum_squares", x);
	CHECK_VIEW("sum_squares", out);
	return be->iface->sum_squares(be, x, n, out, accumulate);
}

int tr_backend_count_correct(tr_backend *be, tr_view logits, tr_view labels,
			     size_t rows, size_t cols, tr_view out, bool accumulate)
{
	CHECK_VIEW("count_correct", logits);
	CHECK_VIEW("count_correct", labels);
	CHECK_VIEW("count_correct", out);
	if (rows == 0 || cols == 0)
		return bad_arg(be, "count_correct", "empty logits");
	return be->iface->count_correct(be, logits, labels, rows, cols, out, accumulate);
}

int tr_backend_tune(tr_backend *be, const tr_tune_options *o, tr_error *err)
{
	if (!be->iface->tune)
		return tr_fail(err, TR_ERR_USAGE, "the %s backend has no kernel parameters to "
			       "tune; tuning is for OpenCL devices (--device cl:N)", be->name);
	if (!o->shapes || o->n_shapes == 0)
		return tr_fail(err, TR_ERR_INTERNAL, "tune: no shapes given");
	return be->iface->tune(be, o, err);
}

/* v / 255.0f for every byte, folded by the compiler with IEEE single-precision
 * division, as the host's own division rounds (tests/test_data.c checks it). */
#define PX(v) ((float)(v) / 255.0f)
#define PX4(b) PX(b), PX((b) + 1), PX((b) + 2), PX((b) + 3)
#define PX16(b) PX4(b), PX4((b) + 4), PX4((b) + 8), PX4((b) + 12)
#define PX64(b) PX16(b), PX16((b) + 16), PX16((b) + 32), PX16((b) + 48)
const float tr_pixel_scale[256] = { PX64(0), PX64(64), PX64(128), PX64(192) };

void tr_examples_convert(const tr_examples *ex, size_t base, const uint32_t *idx,
			 size_t first, size_t n, float *x, float *labels)
{
	size_t size = ex->image_size, i, k;

	for (i = 0; i < n; i++) {
		size_t e = base + (idx ? idx[i] : first + i);
		const uint8_t *src = ex->images + e * size;
		float *dst = x + i * size;

		for (k = 0; k < size; k++)
			dst[k] = tr_pixel_scale[src[k]];
		labels[i] = (float)ex->labels[e];
	}
}

int tr_backend_examples_create(tr_backend *be, const uint8_t *images,
			       const uint8_t *labels, size_t count, size_t image_size,
			       const char *what, tr_examples **out, tr_examples_info *info)
{
	tr_examples_info none;
	tr_examples *ex;
	int rc;

	*out = NULL;
	if (!info)
		info = &none;
	memset(info, 0, sizeof(*info));
	if (!images || !labels || count == 0 || image_size == 0)
		return bad_arg(be, "examples_create", "no examples");
	if (count > SIZE_MAX / image_size)
		return bad_arg(be, "examples_create", "examples too large");
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "%s: out of host memory", be->name);
	ex->images = images;
	ex->labels = labels;
	ex->count = count;
	ex->image_size = image_size;
	info->bytes = count * image_size + count;
	info->on_device = true; /* CPU backends: host memory is where they compute */
	if (be->iface->examples_to_device) {
		rc = be->iface->examples_to_device(be, ex, what ? what : "examples", info);
		if (rc != TR_OK) {
			free(ex);
			return rc;
		}
	}
	*out = ex;
	return TR_OK;
}

void tr_backend_examples_free(tr_backend *be, tr_examples *ex)
{
	if (!be || !ex)
		return;
	if (ex->device && be->iface->examples_free_device)
		be->iface->examples_free_device(be, ex);
	free(ex);
}

int tr_backend_gather(tr_backend *be, const tr_examples *ex, size_t base,
		      const uint32_t *idx, size_t first, size_t n, tr_view x,
		      tr_view labels)
{
	size_t i;

	CHECK_VIEW("gather", x);
	CHECK_VIEW("gather", labels);
	if (!ex)
		return bad_arg(be, "gather", "no examples");
	if (n == 0)
		return TR_OK;
	/* Every index inside the set: a device kernel must never read past it. */
	if (base > ex->count)
		return bad_arg(be, "gather", "base beyond the examples");
	if (idx) {
		for (i = 0; i < n; i++)
			if (idx[i] >= ex->count - base)
				return bad_arg(be, "gather", "example index out of range");
	} else if (first > ex->count - base || n > ex->count - base - first) {
		return bad_arg(be, "gather", "examples out of range");
	}
	return be->iface->gather(be, ex, base, idx, first, n, x, labels);
}

bool tr_backend_counters_read(const tr_backend *be, tr_backend_counters *out)
{
	memset(out, 0, sizeof(*out));
	return be->iface->counters ? be->iface->counters(be, out) : false;
}

int tr_backend_relu_bias_grad(tr_backend *be, tr_view dy, tr_view y, size_t rows,
			      size_t cols, tr_view db)
{
	int rc;

	CHECK_VIEW("relu_bias_grad", dy);
	CHECK_VIEW("relu_bias_grad", y);
	CHECK_VIEW("relu_bias_grad", db);
	if (rows == 0 || cols == 0)
		return bad_arg(be, "relu_bias_grad", "empty matrix");
	if (be->iface->relu_bias_grad)
		return be->iface->relu_bias_grad(be, dy, y, rows, cols, db);
	rc = be->iface->relu_backward(be, dy, y, rows * cols);
	if (rc == TR_OK)
		rc = be->iface->bias_grad(be, dy, rows, cols, db);
	return rc;
}

int tr_backend_expect_gemms(tr_backend *be, const tr_tune_shape *shapes, size_t n)
{
	if (!be->iface->expect_gemms || n == 0)
		return TR_OK;
	return be->iface->expect_gemms(be, shapes, n);
}
