/*
 * opencl_ops.c - the operations: GEMM through CLBlast, the rest as cl/ kernels.
 *
 * Everything is enqueued on the backend's in-order queue and nothing here waits for
 * the device (but with TRAINER_CL_SYNC=1, tr_cl_after_op). Reductions are
 * deterministic: over rows of logits (loss, correct count) one work-group sums in a
 * fixed order in local memory; over the parameters (sum of squares) a first kernel
 * writes partial sums into the backend's scratch buffer and a second (one work-group)
 * sums them in a fixed order into the one-float result, adding to it when asked to.
 * Kernels take each buffer with its offset in floats; the views were checked to lie
 * inside their buffers, which hold at most 2^32 - 1 floats, so offsets fit a cl_uint.
 */
#include "opencl_impl.h"

#include <clblast_c.h>
#include <stdio.h>

#define ARG TR_CL_ARG
#define LOCAL_FLOATS TR_CL_LOCAL_FLOATS
#define N_ARGS TR_CL_N_ARGS

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

int tr_cl_launch(tr_backend *be, int id, const struct tr_cl_karg *args, cl_uint nargs,
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
	return tr_cl_after_op(be, k->name);
}

int tr_cl_after_op(tr_backend *be, const char *what)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc;

	if (!cl->sync_each)
		return TR_OK;
	rc = clFinish(cl->queue);
	if (rc != CL_SUCCESS)
		return tr_fail(&be->err, TR_ERR_DEVICE, "OpenCL: %s failed on the device: %s (%d) "
			       "(TRAINER_CL_SYNC=1: every operation is waited for, so it is this "
			       "one)", what, tr_cl_errname(rc), (int)rc);
	tr_cl_ring_drain(cl);
	return TR_OK;
}

int tr_cl_launch_1d(tr_backend *be, int id, const struct tr_cl_karg *args, cl_uint nargs,
		     size_t items)
{
	size_t local = tr_cl_of(be)->kernels[id].wg;
	size_t global = round_up(items, local);

	return tr_cl_launch(be, id, args, nargs, 1, &global, &local);
}

/* out[0] (+)= the sum of scratch[0 .. n), in one work-group. */
static int reduce_into(tr_backend *be, size_t n, tr_view out, bool accumulate)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t wg = cl->kernels[TR_K_REDUCE_SUM].wg;
	cl_uint n_ = (cl_uint)n, off = (cl_uint)out.off, acc = accumulate;
	struct tr_cl_karg args[] = {
		ARG(cl->scratch.mem), ARG(n_), ARG(out.buf->mem), ARG(off), ARG(acc),
		LOCAL_FLOATS(wg),
	};

	return tr_cl_launch(be, TR_K_REDUCE_SUM, args, N_ARGS(args), 1, &wg, &wg);
}

/* The temporary buffer CLBlast's indirect GEMM needs for this call, in bytes (0 for the
 * direct kernel), asked once per distinct call and remembered: the network makes the
 * same few calls over and over. */
static int temp_size(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
		     tr_view a, size_t lda, tr_view b, size_t ldb, tr_view c, size_t ldc,
		     size_t *bytes)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct tr_cl_temp_size *t;
	CLBlastStatusCode st;
	size_t i;

	for (i = 0; i < cl->n_temp_sizes; i++) {
		t = &cl->temp_sizes[i];
		if (t->ta == ta && t->tb == tb && t->m == m && t->n == n && t->k == k &&
		    t->a_off == a.off && t->b_off == b.off && t->c_off == c.off &&
		    t->lda == lda && t->ldb == ldb && t->ldc == ldc) {
			*bytes = t->bytes;
			return TR_OK;
		}
	}
	st = CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor,
					ta ? CLBlastTransposeYes : CLBlastTransposeNo,
					tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k,
					a.off, lda, b.off, ldb, c.off, ldc, &cl->queue, bytes);
	if (st != CLBlastSuccess)
		return tr_fail(&be->err, TR_ERR_DEVICE, "OpenCL: CLBlastSGemmTempBufferSize(m=%zu "
			       "n=%zu k=%zu) failed: %s (%d)", m, n, k, tr_clblast_errname(st),
			       (int)st);
	if (cl->n_temp_sizes == sizeof(cl->temp_sizes) / sizeof(cl->temp_sizes[0]))
		cl->n_temp_sizes = 0; /* a network this varied: start the cache over */
	t = &cl->temp_sizes[cl->n_temp_sizes++];
	t->ta = ta;
	t->tb = tb;
	t->m = m;
	t->n = n;
	t->k = k;
	t->a_off = a.off;
	t->b_off = b.off;
	t->c_off = c.off;
	t->lda = lda;
	t->ldb = ldb;
	t->ldc = ldc;
	t->bytes = *bytes;
	return TR_OK;
}

void tr_cl_forget_temp_sizes(struct tr_cl *cl)
{
	cl->n_temp_sizes = 0;
}

int tr_cl_gemm(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
	       float alpha, tr_view a, size_t lda, tr_view b, size_t ldb,
	       float beta, tr_view c, size_t ldc)
{
	struct tr_cl *cl = tr_cl_of(be);
	CLBlastStatusCode st;
	size_t bytes = 0;
	int rc;

	st = tr_cl_gemm_select(cl, ta, tb);
	if (st != CLBlastSuccess)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: CLBlastOverrideParameters(XgemmDirect) failed: %s (%d)",
			       tr_clblast_errname(st), (int)st);
	rc = temp_size(be, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, &bytes);
	if (rc == TR_OK)
		rc = tr_cl_grow(be, &cl->gemm_temp, bytes, 0,
				"temporary buffer of CLBlast's indirect GEMM");
	if (rc != TR_OK)
		return rc;
	/* With a temporary buffer of ours, the indirect kernel allocates nothing per call
	 * (CLBlast's own would be created and released at every GEMM); the direct kernel
	 * ignores it. No event: the in-order queue orders everything. */
	st = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor,
					ta ? CLBlastTransposeYes : CLBlastTransposeNo,
					tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k,
					alpha, a.buf->mem, a.off, lda, b.buf->mem, b.off, ldb,
					beta, c.buf->mem, c.off, ldc, &cl->queue, NULL,
					bytes ? cl->gemm_temp.mem : NULL);
	if (st != CLBlastSuccess)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: CLBlastSgemm(m=%zu n=%zu k=%zu%s%s) failed: %s (%d)",
			       m, n, k, ta ? ", A^T" : "", tb ? ", B^T" : "",
			       tr_clblast_errname(st), (int)st);
	return tr_cl_after_op(be, "CLBlastSgemm");
}

int tr_cl_bias_act(tr_backend *be, tr_view y, tr_view bias, size_t rows, size_t cols,
		   bool relu)
{
	cl_uint y_off = (cl_uint)y.off, b_off = (cl_uint)bias.off;
	cl_uint n_ = (cl_uint)(rows * cols), cols_ = (cl_uint)cols, relu_ = relu;
	struct tr_cl_karg args[] = {
		ARG(y.buf->mem), ARG(y_off), ARG(bias.buf->mem), ARG(b_off), ARG(n_),
		ARG(cols_), ARG(relu_),
	};
	int rc;

	rc = tr_cl_check_view(be, "bias_act", "y", y, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "bias_act", "bias", bias, cols);
	if (rc != TR_OK)
		return rc;
	return tr_cl_launch_1d(be, TR_K_BIAS_ACT, args, N_ARGS(args), rows * cols);
}

int tr_cl_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n)
{
	cl_uint dy_off = (cl_uint)dy.off, y_off = (cl_uint)y.off, n_ = (cl_uint)n;
	struct tr_cl_karg args[] = {
		ARG(dy.buf->mem), ARG(dy_off), ARG(y.buf->mem), ARG(y_off), ARG(n_),
	};
	int rc;

	rc = tr_cl_check_view(be, "relu_backward", "dy", dy, n);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "relu_backward", "y", y, n);
	if (rc != TR_OK)
		return rc;
	return tr_cl_launch_1d(be, TR_K_RELU_BACKWARD, args, N_ARGS(args), n);
}

int tr_cl_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m, tr_view v,
		  size_t n, const tr_adam_params *p)
{
	cl_uint w_off = (cl_uint)param.off, g_off = (cl_uint)grad.off;
	cl_uint m_off = (cl_uint)m.off, v_off = (cl_uint)v.off, n_ = (cl_uint)n;
	struct tr_cl_karg args[] = {
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
	return tr_cl_launch_1d(be, TR_K_ADAM_L2, args, N_ARGS(args), n);
}

/* The one-work-group kernels over rows of logits: the group size and its local memory. */
static size_t row_group(tr_backend *be, int id)
{
	return tr_cl_of(be)->kernels[id].wg;
}

int tr_cl_softmax_xent(tr_backend *be, tr_view logits, tr_view labels, size_t rows,
		       size_t cols, float grad_scale, tr_view dlogits, tr_view loss,
		       bool accumulate)
{
	bool want_grad = dlogits.buf != NULL, want_loss = loss.buf != NULL;
	/* An output the caller does not want is never written: any valid buffer will do. */
	cl_mem dz = want_grad ? dlogits.buf->mem : logits.buf->mem;
	cl_mem out = want_loss ? loss.buf->mem : logits.buf->mem;
	cl_uint z_off = (cl_uint)logits.off, l_off = (cl_uint)labels.off;
	cl_uint dz_off = want_grad ? (cl_uint)dlogits.off : 0, grad_ = want_grad;
	cl_uint out_off = want_loss ? (cl_uint)loss.off : 0, loss_ = want_loss;
	cl_uint rows_ = (cl_uint)rows, cols_ = (cl_uint)cols, acc = accumulate;
	size_t wg = row_group(be, TR_K_SOFTMAX_XENT);
	struct tr_cl_karg args[] = {
		ARG(logits.buf->mem), ARG(z_off), ARG(labels.buf->mem), ARG(l_off),
		ARG(rows_), ARG(cols_), ARG(grad_scale), ARG(dz), ARG(dz_off), ARG(grad_),
		ARG(out), ARG(out_off), ARG(loss_), ARG(acc), LOCAL_FLOATS(wg),
	};
	int rc;

	rc = tr_cl_check_view(be, "softmax_xent", "logits", logits, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "softmax_xent", "labels", labels, rows);
	if (rc == TR_OK && want_grad)
		rc = tr_cl_check_view(be, "softmax_xent", "dlogits", dlogits, rows * cols);
	if (rc == TR_OK && want_loss)
		rc = tr_cl_check_view(be, "softmax_xent", "loss", loss, 1);
	if (rc != TR_OK)
		return rc;
	return tr_cl_launch(be, TR_K_SOFTMAX_XENT, args, N_ARGS(args), 1, &wg, &wg);
}

int tr_cl_count_correct(tr_backend *be, tr_view logits, tr_view labels, size_t rows,
			size_t cols, tr_view out, bool accumulate)
{
	cl_uint z_off = (cl_uint)logits.off, l_off = (cl_uint)labels.off;
	cl_uint rows_ = (cl_uint)rows, cols_ = (cl_uint)cols;
	cl_uint out_off = (cl_uint)out.off, acc = accumulate;
	size_t wg = row_group(be, TR_K_COUNT_CORRECT);
	struct tr_cl_karg args[] = {
		ARG(logits.buf->mem), ARG(z_off), ARG(labels.buf->mem), ARG(l_off),
		ARG(rows_), ARG(cols_), ARG(out.buf->mem), ARG(out_off), ARG(acc),
		LOCAL_FLOATS(wg),
	};
	int rc;

	rc = tr_cl_check_view(be, "count_correct", "logits", logits, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "count_correct", "labels", labels, rows);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "count_correct", "out", out, 1);
	if (rc != TR_OK)
		return rc;
	return tr_cl_launch(be, TR_K_COUNT_CORRECT, args, N_ARGS(args), 1, &wg, &wg);
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
		struct tr_cl_karg args[] = {
			ARG(x.buf->mem), ARG(x_off), ARG(n_), ARG(cl->scratch.mem),
			LOCAL_FLOATS(wg),
		};

		rc = tr_cl_launch(be, TR_K_SUM_SQUARES, args, N_ARGS(args), 1, &global, &wg);
	}
	if (rc != TR_OK)
		return rc;
	return reduce_into(be, groups, out, accumulate);
}

/* Column sums of dy into db, dy first masked by the ReLU's output y when y.buf is set
 * (in place): a first level over chunks of rows, and a second summing the chunks in
 * order when there is more than one (a batch of 64 rows is one). */
static int column_sums(tr_backend *be, const char *op, tr_view dy, tr_view y,
		       size_t rows, size_t cols, tr_view db)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t chunks = ceil_div(rows, ROWS_PER_CHUNK);
	size_t lx = cl->kernels[TR_K_BIAS_GRAD_PARTIAL].wg;
	size_t global[2], local[2];
	bool relu = y.buf != NULL;
	cl_mem ymem = relu ? y.buf->mem : dy.buf->mem; /* not read without relu */
	cl_uint dy_off = (cl_uint)dy.off, y_off = relu ? (cl_uint)y.off : 0, relu_ = relu;
	cl_uint rows_ = (cl_uint)rows, cols_ = (cl_uint)cols;
	cl_uint rpc = ROWS_PER_CHUNK, chunks_ = (cl_uint)chunks, out_off;
	cl_mem out;
	int rc;

	rc = tr_cl_check_view(be, op, "dy", dy, rows * cols);
	if (rc == TR_OK && relu)
		rc = tr_cl_check_view(be, op, "y", y, rows * cols);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, op, "db", db, cols);
	if (rc == TR_OK && chunks > 1)
		rc = tr_cl_scratch(be, chunks * cols);
	if (rc != TR_OK)
		return rc;
	/* One chunk: the first level writes db itself. */
	out = chunks > 1 ? cl->scratch.mem : db.buf->mem;
	out_off = chunks > 1 ? 0 : (cl_uint)db.off;
	while (lx > 1 && lx / 2 >= cols)
		lx /= 2; /* no wider than the matrix needs */
	global[0] = round_up(cols, lx);
	global[1] = chunks;
	local[0] = lx;
	local[1] = 1;
	{
		struct tr_cl_karg args[] = {
			ARG(dy.buf->mem), ARG(dy_off), ARG(ymem), ARG(y_off), ARG(relu_),
			ARG(rows_), ARG(cols_), ARG(rpc), ARG(out), ARG(out_off),
		};

		rc = tr_cl_launch(be, TR_K_BIAS_GRAD_PARTIAL, args, N_ARGS(args), 2, global, local);
	}
	if (rc != TR_OK || chunks == 1)
		return rc;
	{
		cl_uint db_off = (cl_uint)db.off;
		struct tr_cl_karg args[] = {
			ARG(cl->scratch.mem), ARG(chunks_), ARG(cols_), ARG(db.buf->mem),
			ARG(db_off),
		};

		return tr_cl_launch_1d(be, TR_K_BIAS_GRAD_FINAL, args, N_ARGS(args), cols);
	}
}

int tr_cl_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols, tr_view db)
{
	return column_sums(be, "bias_grad", dy, tr_at(NULL, 0), rows, cols, db);
}

int tr_cl_relu_bias_grad(tr_backend *be, tr_view dy, tr_view y, size_t rows, size_t cols,
			 tr_view db)
{
	return column_sums(be, "relu_bias_grad", dy, y, rows, cols, db);
}
