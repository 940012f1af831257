/*
 * opencl_data.c - the data set on the device, and the gather op that builds a batch.
 *
 * A set of examples is copied to the device once, as bytes (MNIST's training and test
 * files: 55 MB, against 220 MB as floats). A training step then sends only its batch's
 * example indices (64 x 4 bytes, through the pinned ring) and the gather_examples
 * kernel (cl/data.cl) writes the float input and the labels; an evaluation chunk sends
 * nothing at all. Pixels become floats through a 256-entry table computed on the host
 * (tr_pixel_scale), so the device's values are the host's bit for bit.
 *
 * When the set does not fit (larger than the device's largest buffer, or than its free
 * memory), or TRAINER_CL_DATA=host asks for it, the examples stay in host memory: each
 * gather converts its batch on the host and writes it through the pinned ring, which is
 * the data path of a CPU, and the caller is told why (tr_examples_info).
 */
#include "opencl_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TRAINER_CL_DATA=host keeps the examples in host memory, to compare the two paths. */
static bool forced_host(void)
{
	const char *v = getenv("TRAINER_CL_DATA");

	return v && !strcmp(v, "host");
}

/* The pixel table, uploaded at the first set of examples. */
static int pixel_table(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);
	int rc;

	if (cl->pixel_scale)
		return TR_OK;
	rc = tr_cl_create_buffer(be, sizeof(tr_pixel_scale), CL_MEM_READ_ONLY,
				 "pixel conversion table", &cl->pixel_scale);
	if (rc == TR_OK)
		rc = tr_cl_write(be, cl->pixel_scale, 0, tr_pixel_scale, sizeof(tr_pixel_scale));
	if (rc != TR_OK && cl->pixel_scale) { /* never gather through an unwritten table */
		tr_cl_release_buffer(be, cl->pixel_scale, sizeof(tr_pixel_scale));
		cl->pixel_scale = NULL;
	}
	return rc;
}

int tr_cl_examples_to_device(tr_backend *be, tr_examples *ex, const char *what,
			     tr_examples_info *info)
{
	struct tr_cl_examples *d;
	size_t img_bytes = ex->count * ex->image_size;
	char label[128];
	int rc;

	if (forced_host()) {
		snprintf(info->why, sizeof(info->why), "TRAINER_CL_DATA=host asks for it");
		info->on_device = false;
		return TR_OK;
	}
	if (ex->count > UINT32_MAX) { /* the kernel indexes examples with 32 bits */
		snprintf(info->why, sizeof(info->why), "%zu examples: the kernel indexes at "
			 "most 2^32 - 1", ex->count);
		info->on_device = false;
		return TR_OK;
	}
	if ((rc = pixel_table(be)) != TR_OK)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	snprintf(label, sizeof(label), "%s (%zu x %zu bytes)", what, ex->count, ex->image_size);
	rc = tr_cl_create_buffer(be, img_bytes, CL_MEM_READ_ONLY, label, &d->images);
	if (rc == TR_OK) {
		snprintf(label, sizeof(label), "%s: labels", what);
		rc = tr_cl_create_buffer(be, ex->count, CL_MEM_READ_ONLY, label, &d->labels);
	}
	if (rc == TR_ERR_DEVICE) {
		/* It does not fit: stay on the host, and say why. */
		snprintf(info->why, sizeof(info->why), "%.380s", be->err.msg);
		info->on_device = false;
		tr_cl_release_buffer(be, d->images, img_bytes);
		free(d);
		tr_error_clear(&be->err);
		return TR_OK;
	}
	if (rc == TR_OK)
		rc = tr_cl_write(be, d->images, 0, ex->images, img_bytes);
	if (rc == TR_OK)
		rc = tr_cl_write(be, d->labels, 0, ex->labels, ex->count);
	if (rc != TR_OK) {
		tr_cl_release_buffer(be, d->images, img_bytes);
		tr_cl_release_buffer(be, d->labels, ex->count);
		free(d);
		return rc;
	}
	d->bytes = img_bytes + ex->count;
	ex->device = d;
	info->on_device = true;
	return TR_OK;
}

void tr_cl_examples_free_device(tr_backend *be, tr_examples *ex)
{
	struct tr_cl_examples *d = ex->device;

	tr_cl_release_buffer(be, d->images, ex->count * ex->image_size);
	tr_cl_release_buffer(be, d->labels, ex->count);
	free(d);
	ex->device = NULL;
}

void tr_cl_data_release(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);

	tr_cl_release_buffer(be, cl->pixel_scale, sizeof(tr_pixel_scale));
	tr_cl_release_buffer(be, cl->gather_idx.mem, cl->gather_idx.bytes);
	free(cl->host_batch);
	cl->pixel_scale = cl->gather_idx.mem = NULL;
	cl->host_batch = NULL;
}

/* The examples are on the host: convert the batch there, write it through the ring. */
static int gather_from_host(tr_backend *be, const tr_examples *ex, size_t base,
			    const uint32_t *idx, size_t first, size_t n, tr_view x,
			    tr_view labels)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t size = ex->image_size, need = n * size + n;
	float *X, *Y;
	int rc;

	if (need > cl->host_batch_n) {
		float *grown = realloc(cl->host_batch, need * sizeof(float));

		if (!grown)
			return tr_fail(&be->err, TR_ERR_INTERNAL, "OpenCL: out of host memory "
				       "staging a batch of %zu examples", n);
		cl->host_batch = grown;
		cl->host_batch_n = need;
	}
	X = cl->host_batch;
	Y = X + n * size;
	tr_examples_convert(ex, base, idx, first, n, X, Y);
	rc = tr_cl_write(be, x.buf->mem, x.off * sizeof(float), X, n * size * sizeof(float));
	if (rc == TR_OK)
		rc = tr_cl_write(be, labels.buf->mem, labels.off * sizeof(float), Y,
				 n * sizeof(float));
	return rc;
}

int tr_cl_gather(tr_backend *be, const tr_examples *ex, size_t base, const uint32_t *idx,
		 size_t first, size_t n, tr_view x, tr_view labels)
{
	struct tr_cl *cl = tr_cl_of(be);
	const struct tr_cl_examples *d = ex->device;
	cl_uint use_idx = idx != NULL, base_ = (cl_uint)base;
	cl_uint first_ = (cl_uint)first, n_ = (cl_uint)n, size = (cl_uint)ex->image_size;
	cl_uint x_off = (cl_uint)x.off, y_off = (cl_uint)labels.off;
	cl_mem idx_mem;
	int rc;

	rc = tr_cl_check_view(be, "gather", "x", x, n * ex->image_size);
	if (rc == TR_OK)
		rc = tr_cl_check_view(be, "gather", "labels", labels, n);
	if (rc != TR_OK)
		return rc;
	if (!d)
		return gather_from_host(be, ex, base, idx, first, n, x, labels);
	if (idx) {
		_Static_assert(sizeof(cl_uint) == sizeof(uint32_t), "indices are 32-bit");
		rc = tr_cl_grow(be, &cl->gather_idx, n * sizeof(cl_uint), 256 * sizeof(cl_uint),
				"batch indices");
		if (rc == TR_OK)
			rc = tr_cl_write(be, cl->gather_idx.mem, 0, idx, n * sizeof(uint32_t));
		if (rc != TR_OK)
			return rc;
	}
	idx_mem = idx ? cl->gather_idx.mem : d->labels; /* not read without indices */
	{
		struct tr_cl_karg args[] = {
			TR_CL_ARG(d->images), TR_CL_ARG(d->labels), TR_CL_ARG(idx_mem),
			TR_CL_ARG(use_idx), TR_CL_ARG(base_),
			TR_CL_ARG(first_), TR_CL_ARG(n_), TR_CL_ARG(size),
			TR_CL_ARG(cl->pixel_scale), TR_CL_ARG(x.buf->mem), TR_CL_ARG(x_off),
			TR_CL_ARG(labels.buf->mem), TR_CL_ARG(y_off),
		};

		return tr_cl_launch_1d(be, TR_K_GATHER_EXAMPLES, args, TR_CL_N_ARGS(args),
				       n * ex->image_size);
	}
}
