/*
 * host_buffer.h - device buffers that are plain host memory, shared by the two CPU
 * backends (cpu-ref and cpu): a 64-byte aligned float array, and the buffer members
 * of the interface (alloc, free, upload, download, gather) for it.
 */
#ifndef TRAINER_HOST_BUFFER_H
#define TRAINER_HOST_BUFFER_H

#include "backend_impl.h"

struct tr_buf {
	float *data; /* 64-byte aligned, n floats */
	size_t n;
};

/* The address a view points at. */
static inline float *tr_host_at(tr_view v)
{
	return v.buf->data + v.off;
}

/* A reduction's result into its one-float slot: written, or added when accumulate;
 * nothing when out has no buffer (an optional result the caller does not want). */
static inline void tr_host_store(tr_view out, double value, bool accumulate)
{
	float *o;

	if (!out.buf)
		return;
	o = tr_host_at(out);

	*o = accumulate ? (float)(*o + value) : (float)value;
}

int tr_host_buf_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out);
void tr_host_buf_free(tr_backend *be, tr_buf *buf);
int tr_host_upload(tr_backend *be, tr_view dst, const float *src, size_t n);
int tr_host_download(tr_backend *be, tr_view src, float *dst, size_t n);
/* tr_backend_gather from the examples' host arrays, for both CPU backends. */
int tr_host_gather(tr_backend *be, const tr_examples *ex, size_t base,
		   const uint32_t *idx, size_t first, size_t n, tr_view x, tr_view labels);

#endif /* TRAINER_HOST_BUFFER_H */
