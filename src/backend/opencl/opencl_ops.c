/*
 * opencl_ops.c - the operations: GEMM through CLBlast, the rest as cl/ kernels.
 *
 * Everything is enqueued on the backend's in-order queue and nothing here waits for
 * the device. Reductions are two-level and deterministic: the first kernel writes
 * partial sums into the backend's scratch buffer, the second (one work-group) sums
 * them in a fixed order into the one-float result, adding to it when asked to.
 * Kernels take each buffer with its offset in floats; the views were checked to lie
 * inside their buffers, which hold at most 2^32 - 1 floats, so offsets fit a cl_uint.
 */
#include "opencl_impl.h"

#include <clblast_c.h>
#include <stdio.h>

/* One kernel argument: its size and where its value is (NULL for local memory). */
struct karg {
	size_t size;
	const void *value;
};

#define ARG(x) { sizeof(x), &(x) }
#define LOCAL_FLOATS(n) { (n) * sizeof(float), NULL }
#define N_ARGS(a) ((cl_uint)(sizeof(a) / sizeof((a)[0])))

/* Sizes of the two-level reductions. */
#define MAX_GROUPS 1024     /* sum_squares: first-level work-groups at most */
#define ROWS_PER_CHUNK 256  /* bias_grad: rows one work-item sums */

static size_t round_up(size_t n, size_t m)
{
	return (n + m - 1) / m * m;
}

static size_t ceil_div(size_t n, size_t m)
{
	return (n + m - 1) / m;
}

/* Set the arguments of kernel id and enqueue it over `dims` dimensions. */
static int launch(tr_backend *be, int id, const struct karg *args, cl_uint nargs,
		  cl_uint dims, const size_t *global, const size_t *local)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct tr_cl_kernel *k = &cl->kernels[id];
	char what[96];
	cl_uint i;
	cl_int rc;

	for (i = 0; i < nargs; i++) {
		rc = clSetKernelArg(k->kernel, i, args[i].size, args[i].value);
		if (rc != CL_SUCCESS) {
			snprintf(what, sizeof(what), "%s, argument %u", k->name, (unsigned)i);
			return tr_cl_fail(&be->err, "clSetKernelArg", what, rc);
		}
	}
	rc = clEnqueueNDRangeKernel(cl->queue, k->kernel, dims, NULL, global, local, 0, NULL,
				    NULL);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clEnqueueNDRangeKernel", k->name, rc);
	return TR_OK;
}

/* One work-item per item, in work-groups of the kernel's size. */
static int launch_1d(tr_backend *be, int id, const struct karg *args, cl_uint nargs,
		     size_t items)
{
	size_t local = tr_cl_of(be)->kernels[id].wg;
	size_t global = round_up(items, local);

	return launch(be, id, args, nargs, 1, &global, &local);
}

/* out[0] (+)= the sum of scratch[0 .. n), in one work-group. */
static int reduce_into(tr_backend *be, size_t n, tr_view out, bool accumulate)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t wg = cl->kernels[TR_K_REDUCE_SUM].wg;
	cl_uint n_ = (cl_uint)n, off = (cl_uint)out.off, acc = accumulate;
	struct karg args[] = {
		ARG(cl->scratch), ARG(n_), ARG(out.buf->mem), ARG(off), ARG(acc),
		LOCAL_FLOATS(wg),
	};

	return launch(be, TR_K_REDUCE_SUM, args, N_ARGS(args), 1, &wg, &wg);
}

int tr_cl_gemm(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
	       float alpha, tr_view a, size_t lda, tr_view b, size_t ldb,
	       float beta, tr_view c, size_t ldc)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_event event = NULL;
	CLBlastStatusCode st;

	st = tr_cl_gemm_select(cl, ta, tb);
	if (st != CLBlastSuccess)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: CLBlastOverrideParameters(XgemmDirect) failed: %s (%d)",
			       tr_clblast_errname(st), (int)st);
	st = CLBlastSgemm(CLBlastLayoutRowMajor,
			  ta ? CLBlastTransposeYes : CLBlastTransposeNo,
			  tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
			  a.buf->mem, a.off, lda, b.buf->mem, b.off, ldb, beta,
			  c.buf->mem, c.off, ldc, &cl->queue, &event);
	if (event)
		clReleaseEvent(event);
	if (st != CLBlastSuccess)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: CLBlastSgemm(m=%zu n=%zu k=%zu%s%s) failed: %s (%d)",
			       m, n, k, ta ? ", A^T" : "", tb ? ", B^T" : "",
			       tr_clblast_errname(st), (int)st);
	return TR_OK;
}

int tr_cl_bias_act(tr_backend *be, tr_view y, tr_view bias, size_t rows, size_t cols,
		   bool relu)
{
	cl_uint y_off = (cl_uint)y.off, b_off = (cl_uint)bias.off;
	cl_uint n_ = (cl_uint)(rows * cols), cols_ = (cl_uint)cols, relu_ = relu;
	struct karg args[] = {
		ARG(y.buf->mem), ARG(y_off), ARG(bias.buf->mem), ARG(b_off), ARG(n_),
		ARG(cols_), ARG(relu_),
	};
	int rc;

	rc = tr_cl_check_view(be, "bias_act", "y", y, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "bias_act", "bias", bias, cols);
	if (rc != TR_OK)
		return rc;
	return launch_1d(be, TR_K_BIAS_ACT, args, N_ARGS(args), rows * cols);
}

int tr_cl_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n)
{
	cl_uint dy_off = (cl_uint)dy.off, y_off = (cl_uint)y.off, n_ = (cl_uint)n;
	struct karg args[] = {
		ARG(dy.buf->mem), ARG(dy_off), ARG(y.buf->mem), ARG(y_off), ARG(n_),
	};
	int rc;

	rc = tr_cl_check_view(be, "relu_backward", "dy", dy, n);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "relu_backward", "y", y, n);
	if (rc != TR_OK)
		return rc;
	return launch_1d(be, TR_K_RELU_BACKWARD, args, N_ARGS(args), n);
}

int tr_cl_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m, tr_view v,
		  size_t n, const tr_adam_params *p)
{
	cl_uint w_off = (cl_uint)param.off, g_off = (cl_uint)grad.off;
	cl_uint m_off = (cl_uint)m.off, v_off = (cl_uint)v.off, n_ = (cl_uint)n;
	struct karg args[] = {
		ARG(param.buf->mem), ARG(w_off), ARG(grad.buf->mem), ARG(g_off),
		ARG(m.buf->mem), ARG(m_off), ARG(v.buf->mem), ARG(v_off), ARG(n_),
		ARG(p->lr_t), ARG(p->beta1), ARG(p->beta2), ARG(p->epsilon), ARG(p->l2),
	};
	int rc;

	rc = tr_cl_check_view(be, "adam_l2", "param", param, n);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "adam_l2", "grad", grad, n);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "adam_l2", "m", m, n);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "adam_l2", "v", v, n);
	if (rc != TR_OK)
		return rc;
	return launch_1d(be, TR_K_ADAM_L2, args, N_ARGS(args), n);
}

int tr_cl_softmax_xent(tr_backend *be, tr_view logits, tr_view labels, size_t rows,
		       size_t cols, float grad_scale, tr_view dlogits, tr_view loss,
		       bool accumulate)
{
	struct tr_cl *cl = tr_cl_of(be);
	bool want_grad = dlogits.buf != NULL;
	/* Without a gradient the kernel never writes dz: any valid buffer will do. */
	cl_mem dz = want_grad ? dlogits.buf->mem : logits.buf->mem;
	cl_uint z_off = (cl_uint)logits.off, l_off = (cl_uint)labels.off;
	cl_uint dz_off = want_grad ? (cl_uint)dlogits.off : 0, grad_ = want_grad;
	cl_uint rows_ = (cl_uint)rows, cols_ = (cl_uint)cols;
	int rc;

	rc = tr_cl_check_view(be, "softmax_xent", "logits", logits, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "softmax_xent", "labels", labels, rows);
	if (rc == TR_OK && want_grad)
		rc = tr_cl_check_view(be, "softmax_xent", "dlogits", dlogits, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "softmax_xent", "loss", loss, 1);
	if (rc == TR_OK)
		rc = tr_cl_scratch(be, rows);
	if (rc != TR_OK)
		return rc;
	{
		struct karg args[] = {
			ARG(logits.buf->mem), ARG(z_off), ARG(labels.buf->mem), ARG(l_off),
			ARG(rows_), ARG(cols_), ARG(grad_scale), ARG(dz), ARG(dz_off),
			ARG(grad_), ARG(cl->scratch),
		};

		rc = launch_1d(be, TR_K_SOFTMAX_XENT, args, N_ARGS(args), rows);
	}
	if (rc != TR_OK)
		return rc;
	return reduce_into(be, rows, loss, accumulate);
}

int tr_cl_count_correct(tr_backend *be, tr_view logits, tr_view labels, size_t rows,
			size_t cols, tr_view out, bool accumulate)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_uint z_off = (cl_uint)logits.off, l_off = (cl_uint)labels.off;
	cl_uint rows_ = (cl_uint)rows, cols_ = (cl_uint)cols;
	int rc;

	rc = tr_cl_check_view(be, "count_correct", "logits", logits, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "count_correct", "labels", labels, rows);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "count_correct", "out", out, 1);
	if (rc == TR_OK)
		rc = tr_cl_scratch(be, rows);
	if (rc != TR_OK)
		return rc;
	{
		struct karg args[] = {
			ARG(logits.buf->mem), ARG(z_off), ARG(labels.buf->mem), ARG(l_off),
			ARG(rows_), ARG(cols_), ARG(cl->scratch),
		};

		rc = launch_1d(be, TR_K_COUNT_CORRECT, args, N_ARGS(args), rows);
	}
	if (rc != TR_OK)
		return rc;
	return reduce_into(be, rows, out, accumulate);
}

int tr_cl_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out, bool accumulate)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t wg = cl->kernels[TR_K_SUM_SQUARES].wg;
	size_t groups = n ? ceil_div(n, wg) : 1, global;
	cl_uint x_off = (cl_uint)x.off, n_ = (cl_uint)n;
	int rc;

	if (groups > MAX_GROUPS)
		groups = MAX_GROUPS;
	global = groups * wg;
	rc = tr_cl_check_view(be, "sum_squares", "x", x, n);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "sum_squares", "out", out, 1);
	if (rc == TR_OK)
		rc = tr_cl_scratch(be, groups);
	if (rc != TR_OK)
		return rc;
	{
		struct karg args[] = {
			ARG(x.buf->mem), ARG(x_off), ARG(n_), ARG(cl->scratch),
			LOCAL_FLOATS(wg),
		};

		rc = launch(be, TR_K_SUM_SQUARES, args, N_ARGS(args), 1, &global, &wg);
	}
	if (rc != TR_OK)
		return rc;
	return reduce_into(be, groups, out, accumulate);
}

int tr_cl_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols, tr_view db)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t chunks = ceil_div(rows, ROWS_PER_CHUNK);
	size_t lx = cl->kernels[TR_K_BIAS_GRAD_PARTIAL].wg;
	size_t global[2], local[2];
	cl_uint dy_off = (cl_uint)dy.off, rows_ = (cl_uint)rows, cols_ = (cl_uint)cols;
	cl_uint rpc = ROWS_PER_CHUNK, chunks_ = (cl_uint)chunks, out_off;
	cl_mem out;
	int rc;

	rc = tr_cl_check_view(be, "bias_grad", "dy", dy, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "bias_grad", "db", db, cols);
	if (rc == TR_OK && chunks > 1)
		rc = tr_cl_scratch(be, chunks * cols);
	if (rc != TR_OK)
		return rc;
	/* One chunk: the first level writes db itself. */
	out = chunks > 1 ? cl->scratch : db.buf->mem;
	out_off = chunks > 1 ? 0 : (cl_uint)db.off;
	while (lx > 1 && lx / 2 >= cols)
		lx /= 2; /* no wider than the matrix needs */
	global[0] = round_up(cols, lx);
	global[1] = chunks;
	local[0] = lx;
	local[1] = 1;
	{
		struct karg args[] = {
			ARG(dy.buf->mem), ARG(dy_off), ARG(rows_), ARG(cols_), ARG(rpc),
			ARG(out), ARG(out_off),
		};

		rc = launch(be, TR_K_BIAS_GRAD_PARTIAL, args, N_ARGS(args), 2, global, local);
	}
	if (rc != TR_OK || chunks == 1)
		return rc;
	{
		cl_uint db_off = (cl_uint)db.off;
		struct karg args[] = {
			ARG(cl->scratch), ARG(chunks_), ARG(cols_), ARG(db.buf->mem),
			ARG(db_off),
		};

		return launch_1d(be, TR_K_BIAS_GRAD_FINAL, args, N_ARGS(args), cols);
	}
}
