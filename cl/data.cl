/*
 * data.cl - the data set on the device: gathering a batch of examples, kept as bytes,
 * into the network's float input. Built with kernels.cl (see its header for the
 * conventions: float offsets for float buffers, uint indexing, bounds checks).
 */

/*
 * Examples e_i = base + (use_idx ? idx[idx_off + i] : first + i), i < n:
 *   x[x_off + i * size + k] = scale[images[e_i * size + k]]   (k < size)
 *   y[y_off + i] = labels[e_i]                                  (a class index)
 * scale[v] holds v / 255.0f as the host computed it, so every device gives the host's
 * floats bit for bit (a device's own division may round differently). One work-item per
 * pixel of the batch; the host checked every index against the set's size.
 */
__kernel void gather_examples(__global const uchar *images, __global const uchar *labels,
			      __global const uint *idx, uint idx_off, uint use_idx,
			      uint base, uint first, uint n, uint size,
			      __constant float *scale,
			      __global float *x, uint x_off, __global float *y, uint y_off)
{
	size_t g = get_global_id(0);
	uint i, k, e;

	if (g >= (size_t)n * size)
		return;
	i = (uint)(g / size);
	k = (uint)(g - (size_t)i * size);
	e = base + (use_idx ? idx[idx_off + i] : first + i);
	x[x_off + g] = scale[images[(size_t)e * size + k]];
	if (k == 0)
		y[y_off + i] = (float)labels[e];
}
