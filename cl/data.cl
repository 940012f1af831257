/*
 * data.cl - the data set on the device: gathering a batch of examples, kept as bytes,
 * into the network's float input. Built with kernels.cl (see its header for the
 * conventions: float offsets for float buffers, uint indexing, bounds checks).
 */

/*
 * Examples e_i = base + (use_idx ? idx[i] : first + i), i < n:
 *   x[x_off + i * size + k] = scale[images[e_i * size + k]]   (k < size)
 *   y[y_off + i] = labels[e_i]                                  (a class index)
 * scale[v] holds v / 255.0f as the host computed it, so every device gives the host's
 * floats bit for bit (a device's own division may round differently). It is read as
 * __global, not __constant: each work-item looks up its own pixel, and constant memory
 * serialises the different addresses of a warp. One work-item per pixel of the batch;
 * the host checked every index against the set's size, and n * size fits the x buffer,
 * which the backend keeps under 2^32 floats, so 32-bit arithmetic is exact.
 */
__kernel void gather_examples(__global const uchar *images, __global const uchar *labels,
			      __global const uint *idx, uint use_idx,
			      uint base, uint first, uint n, uint size,
			      __global const float *restrict scale,
			      __global float *x, uint x_off, __global float *y, uint y_off)
{
	uint g = (uint)get_global_id(0), i, k, e;

	if (g >= n * size)
		return;
	i = g / size;
	k = g - i * size;
	e = base + (use_idx ? idx[i] : first + i);
	x[x_off + g] = scale[images[(size_t)e * size + k]];
	if (k == 0)
		y[y_off + i] = (float)labels[e];
}
