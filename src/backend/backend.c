/*
 * backend.c - the public tr_backend_* wrappers: check the caller's arguments, then
 * dispatch through the backend's interface struct.
 */
#include "backend_impl.h"

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
	CHECK_VIEW("softmax_xent", loss);
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
