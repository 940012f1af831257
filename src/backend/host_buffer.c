/* host_buffer.c - buffers in host memory for the CPU backends (see host_buffer.h). */
#include "host_buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int tr_host_buf_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out)
{
	tr_buf *b = malloc(sizeof(*b));
	size_t bytes;

	if (!b || n > (SIZE_MAX - 63) / sizeof(float)) {
		free(b);
		return tr_fail(&be->err, TR_ERR_INTERNAL,
			       "%s: cannot allocate %s: %zu floats is too many", be->name, what, n);
	}
	bytes = (n * sizeof(float) + 63) & ~(size_t)63;
	b->data = aligned_alloc(64, bytes);
	if (!b->data) {
		free(b);
		return tr_fail(&be->err, TR_ERR_INTERNAL,
			       "%s: out of host memory allocating %s (%zu MiB)", be->name, what,
			       bytes >> 20);
	}
	b->n = n;
	*out = b;
	return TR_OK;
}

void tr_host_buf_free(tr_backend *be, tr_buf *buf)
{
	free(buf->data);
	free(buf);
}

int tr_host_upload(tr_backend *be, tr_view dst, const float *src, size_t n)
{
	memcpy(tr_host_at(dst), src, n * sizeof(float));
	return TR_OK;
}

int tr_host_download(tr_backend *be, tr_view src, float *dst, size_t n)
{
	memcpy(dst, tr_host_at(src), n * sizeof(float));
	return TR_OK;
}

int tr_host_gather(tr_backend *be, const tr_examples *ex, size_t base,
		   const uint32_t *idx, size_t first, size_t n, tr_view x, tr_view labels)
{
	if (x.off > x.buf->n || n * ex->image_size > x.buf->n - x.off ||
	    labels.off > labels.buf->n || n > labels.buf->n - labels.off)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "gather (%s backend): %zu examples "
			       "do not fit the input buffers", be->name, n);
	tr_examples_convert(ex, base, idx, first, n, tr_host_at(x), tr_host_at(labels));
	return TR_OK;
}
