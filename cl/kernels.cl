/*
 * kernels.cl - the OpenCL C kernels of the trainer (OpenCL C 1.1/1.2, float only, no
 * extensions), built once per backend open. The backend's ops live in
 * src/backend/opencl/opencl_ops.c.
 *
 * Every buffer argument comes with an offset in floats (the backend's views are
 * (buffer, offset) pairs, not sub-buffers). Global sizes are rounded up to a multiple
 * of the work-group size, so each kernel checks its index against its item count.
 * Kernels index with uint: the backend keeps buffers below 2^32 floats.
 */

/* ======== elementwise: one work-item per element ======== */

/* y[r][c] = y[r][c] + bias[c], then max(0, .) when relu; n = rows * cols. */
__kernel void bias_act(__global float *y, uint y_off,
		       __global const float *bias, uint bias_off,
		       uint n, uint cols, uint relu)
{
	size_t i = get_global_id(0);
	float z;

	if (i >= n)
		return;
	z = y[y_off + i] + bias[bias_off + (uint)i % cols];
	/* !(z > 0) rather than z <= 0: a NaN becomes 0 too, as in cpu-ref */
	y[y_off + i] = (relu && !(z > 0.0f)) ? 0.0f : z;
}

/* dy[i] = y[i] > 0 ? dy[i] : 0, y being the ReLU's output. */
__kernel void relu_backward(__global float *dy, uint dy_off,
			    __global const float *y, uint y_off, uint n)
{
	size_t i = get_global_id(0);

	if (i >= n)
		return;
	if (!(y[y_off + i] > 0.0f))
		dy[dy_off + i] = 0.0f;
}

/*
 * TensorFlow 1's Adam with L2 folded into the gradient, as cpu-ref computes it:
 *   g = grad + l2 * w
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   w = w - lr_t * m / (sqrt(v) + epsilon)
 * In float throughout; sqrt, not native_sqrt, for a correctly rounded root.
 */
__kernel void adam_l2(__global float *w, uint w_off,
		      __global const float *grad, uint grad_off,
		      __global float *m, uint m_off,
		      __global float *v, uint v_off, uint n,
		      float lr_t, float beta1, float beta2, float epsilon, float l2)
{
	size_t i = get_global_id(0);
	float wi, g, mi, vi;

	if (i >= n)
		return;
	wi = w[w_off + i];
	g = grad[grad_off + i] + l2 * wi;
	mi = beta1 * m[m_off + i] + (1.0f - beta1) * g;
	vi = beta2 * v[v_off + i] + (1.0f - beta2) * g * g;
	m[m_off + i] = mi;
	v[v_off + i] = vi;
	w[w_off + i] = wi - lr_t * mi / (sqrt(vi) + epsilon);
}

/* ======== rows of logits: one work-group, one work-item per row in turn ========
 *
 * softmax_xent and count_correct run as ONE work-group: work-item i takes rows i,
 * i + wg, i + 2 wg, ..., keeps its sum, and the group adds the sums in a tree in local
 * memory (group_sum, below), so each is one launch, deterministic, with no second
 * reduction pass. A batch (64 rows) or an evaluation chunk (1,000 rows of 10 classes)
 * is far too little work to need more than one group.
 * Labels are class indices stored as floats; a label that is not in [0, cols) gives
 * a NaN loss (and never counts as correct) instead of a read out of bounds.
 */

/* Is the float label a valid class index for `cols` classes? Then *out = it. */
bool class_index(float label, uint cols, uint *out)
{
	if (!(label >= 0.0f) || !(label < (float)cols))
		return false;
	*out = convert_uint_rtz(label);
	return *out < cols;
}

void group_sum(__local float *tmp, float mine);

/* out[out_off] = the group's total of `mine`, or += it when accumulate (item 0 writes). */
void group_store(__local float *tmp, float mine, __global float *out, uint out_off,
		 uint accumulate)
{
	group_sum(tmp, mine);
	if (get_local_id(0) == 0)
		out[out_off] = accumulate ? out[out_off] + tmp[0] : tmp[0];
}

/*
 * For each row r: loss_r = logsumexp(z_r) - z_r[label], computed as
 * log(sum_j exp(z_j - max)) - (z_label - max), exact for logits of any size;
 * when want_loss, loss[loss_off] (+)= the sum of loss_r over the rows.
 * When want_grad: dz_r = grad_scale * (softmax(z_r) - onehot(label)).
 */
__kernel void softmax_xent(__global const float *z, uint z_off,
			   __global const float *labels, uint labels_off,
			   uint rows, uint cols, float grad_scale,
			   __global float *dz, uint dz_off, uint want_grad,
			   __global float *loss, uint loss_off, uint want_loss,
			   uint accumulate, __local float *tmp)
{
	float mine = 0.0f;
	uint r;

	for (r = get_local_id(0); r < rows; r += get_local_size(0)) {
		__global const float *zr = z + z_off + r * cols;
		float mx = zr[0], sum = 0.0f;
		uint c, label = 0;
		bool valid = class_index(labels[labels_off + r], cols, &label);

		for (c = 1; c < cols; c++)
			if (zr[c] > mx)
				mx = zr[c];
		for (c = 0; c < cols; c++)
			sum += exp(zr[c] - mx);
		mine += valid ? log(sum) - (zr[label] - mx) : NAN;
		if (!want_grad)
			continue;
		for (c = 0; c < cols; c++) {
			float p = exp(zr[c] - mx) / sum;

			dz[dz_off + r * cols + c] =
				grad_scale * (p - ((valid && c == label) ? 1.0f : 0.0f));
		}
	}
	if (want_loss)
		group_store(tmp, mine, loss, loss_off, accumulate);
}

/* out[out_off] (+)= the number of rows whose first maximum is at the label. */
__kernel void count_correct(__global const float *z, uint z_off,
			    __global const float *labels, uint labels_off,
			    uint rows, uint cols, __global float *out, uint out_off,
			    uint accumulate, __local float *tmp)
{
	float mine = 0.0f;
	uint r;

	for (r = get_local_id(0); r < rows; r += get_local_size(0)) {
		__global const float *zr = z + z_off + r * cols;
		uint c, best = 0, label = 0;

		for (c = 1; c < cols; c++)
			if (zr[c] > zr[best])
				best = c;
		if (class_index(labels[labels_off + r], cols, &label) && best == label)
			mine += 1.0f;
	}
	group_store(tmp, mine, out, out_off, accumulate);
}

/* ======== reductions ========
 *
 * Sums are deterministic: every partial sum is formed in a fixed order (a grid-stride
 * loop, then a tree in local memory), and no float atomics are used. The work-group
 * size of sum_squares and reduce_sum is a power of two (the backend sees to it), and
 * `tmp` holds one float per work-item.
 */

/* Tree-sum every work-item's `mine` into tmp[0]. */
void group_sum(__local float *tmp, float mine)
{
	uint lid = get_local_id(0);
	uint k;

	tmp[lid] = mine;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (k = get_local_size(0) / 2; k > 0; k /= 2) {
		if (lid < k)
			tmp[lid] += tmp[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
}

/* partial[group] = sum of x[i]^2 over the i this work-group strides over. */
__kernel void sum_squares(__global const float *x, uint x_off, uint n,
			  __global float *partial, __local float *tmp)
{
	size_t i, step = get_global_size(0);
	float s = 0.0f;

	for (i = get_global_id(0); i < n; i += step) {
		float v = x[x_off + i];

		s += v * v;
	}
	group_sum(tmp, s);
	if (get_local_id(0) == 0)
		partial[get_group_id(0)] = tmp[0];
}

/* Run as ONE work-group: out[0] = sum of in[0 .. n), or out[0] += it when accumulate. */
__kernel void reduce_sum(__global const float *in, uint n,
			 __global float *out, uint out_off, uint accumulate,
			 __local float *tmp)
{
	uint i;
	float s = 0.0f;

	for (i = get_local_id(0); i < n; i += get_local_size(0))
		s += in[i];
	group_store(tmp, s, out, out_off, accumulate);
}

/*
 * Column sums of the rows x cols matrix dy, first level: work-item (c, chunk) sums
 * rows [chunk * rows_per_chunk, +rows_per_chunk) of column c into
 * out[out_off + chunk * cols + c]. With one chunk that is the bias gradient itself.
 * When relu, each element is first masked by the ReLU's output y, in place:
 * dy = y > 0 ? dy : 0 (ReLU backward fused with the bias gradient of its result).
 */
__kernel void bias_grad_partial(__global float *dy, uint dy_off,
				__global const float *y, uint y_off, uint relu,
				uint rows, uint cols, uint rows_per_chunk,
				__global float *out, uint out_off)
{
	size_t c = get_global_id(0);
	uint chunk = get_global_id(1);
	uint r, r0 = chunk * rows_per_chunk;
	uint r1 = rows - r0 < rows_per_chunk ? rows : r0 + rows_per_chunk;
	float s = 0.0f;

	if (c >= cols)
		return;
	for (r = r0; r < r1; r++) {
		size_t i = r * cols + c;
		float d = dy[dy_off + i];

		if (relu && !(y[y_off + i] > 0.0f)) {
			d = 0.0f;
			dy[dy_off + i] = 0.0f;
		}
		s += d;
	}
	out[out_off + chunk * cols + c] = s;
}

/* Second level: db[c] = sum over chunks of partial[chunk * cols + c], in chunk order. */
__kernel void bias_grad_final(__global const float *partial, uint chunks, uint cols,
			      __global float *db, uint db_off)
{
	size_t c = get_global_id(0);
	uint k;
	float s = 0.0f;

	if (c >= cols)
		return;
	for (k = 0; k < chunks; k++)
		s += partial[k * cols + c];
	db[db_off + c] = s;
}
