/*
 * opencl_staging.c - every host-to-device write goes through one pinned staging ring.
 *
 * The ring is one buffer created with CL_MEM_ALLOC_HOST_PTR and mapped for the life of
 * the backend: page-locked memory the device can read by DMA, so a write from it is a
 * real asynchronous transfer (from malloc'ed memory a driver copies into its own pinned
 * buffer first, or blocks). tr_cl_write copies the caller's bytes into the ring and
 * enqueues a non-blocking clEnqueueWriteBuffer from there, so the caller may reuse its
 * array at once and the host does not wait for the device.
 *
 * The ring is used in order. Each write keeps its region until the write's event
 * completes; a new write takes the bytes after the newest region, wrapping to the
 * start, and waits for the oldest writes only when the ring (or its table of pending
 * writes) is full: after RING_BYTES of writes the device has not yet consumed, or
 * MAX_PENDING writes. A training step writes 256 bytes (its batch's indices) and the
 * host syncs at every evaluation, so in training the ring never fills; uploading the
 * initial parameters (three arrays of 16 MB for the lab's network) goes through it in
 * pieces and waits as it must.
 */
#include "opencl_impl.h"

#include <stdlib.h>
#include <string.h>

#define RING_BYTES ((size_t)8 << 20)
#define MAX_PENDING 1024
#define ALIGN 64 /* each region starts on a cache line */

struct pending {
	size_t off, len;
	cl_event done;
};

struct tr_cl_ring {
	cl_mem mem;             /* CL_MEM_ALLOC_HOST_PTR */
	unsigned char *host;    /* mem mapped for writing */
	size_t cap;             /* bytes */
	size_t head;            /* where the next region starts (before wrapping) */
	struct pending *fifo;   /* MAX_PENDING, a circular queue, oldest at `first` */
	size_t first, n;
};

int tr_cl_ring_create(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct tr_cl_ring *r = calloc(1, sizeof(*r));
	cl_int rc;

	if (!r || !(r->fifo = calloc(MAX_PENDING, sizeof(*r->fifo)))) {
		free(r);
		return tr_fail(&be->err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	}
	r->cap = RING_BYTES;
	r->mem = clCreateBuffer(cl->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
				r->cap, NULL, &rc);
	if (rc != CL_SUCCESS) {
		free(r->fifo);
		free(r);
		return tr_cl_fail(&be->err, "clCreateBuffer", "pinned staging memory, 8 MiB", rc);
	}
	r->host = clEnqueueMapBuffer(cl->queue, r->mem, CL_TRUE, CL_MAP_WRITE, 0, r->cap, 0,
				     NULL, NULL, &rc);
	if (rc != CL_SUCCESS) {
		clReleaseMemObject(r->mem);
		free(r->fifo);
		free(r);
		return tr_cl_fail(&be->err, "clEnqueueMapBuffer", "pinned staging memory", rc);
	}
	cl->ring = r;
	return TR_OK;
}

void tr_cl_ring_free(struct tr_cl *cl)
{
	struct tr_cl_ring *r = cl->ring;
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		clReleaseEvent(r->fifo[(r->first + i) % MAX_PENDING].done);
	if (cl->queue) {
		clEnqueueUnmapMemObject(cl->queue, r->mem, r->host, 0, NULL, NULL);
		clFinish(cl->queue);
	}
	clReleaseMemObject(r->mem);
	free(r->fifo);
	free(r);
	cl->ring = NULL;
}

/* Drop the oldest pending write. */
static void pop(struct tr_cl_ring *r)
{
	clReleaseEvent(r->fifo[r->first].done);
	r->first = (r->first + 1) % MAX_PENDING;
	r->n--;
	if (r->n == 0)
		r->head = 0; /* empty: start over at the beginning */
}

/* Drop the writes that have completed, oldest first; stop at the first still running. */
static void reap(struct tr_cl_ring *r)
{
	while (r->n > 0) {
		cl_int status = CL_QUEUED;

		if (clGetEventInfo(r->fifo[r->first].done, CL_EVENT_COMMAND_EXECUTION_STATUS,
				   sizeof(status), &status, NULL) != CL_SUCCESS)
			status = CL_COMPLETE; /* an invalid event: nothing left to wait for */
		if (status != CL_COMPLETE && status >= 0)
			return;
		pop(r);
	}
}

/* Where a region of len bytes can start without touching a pending one, or false. The
 * pending regions form one arc from the oldest's start (tail) to head, each region
 * rounded up to ALIGN; a new region never reaches the tail, so that head == tail means
 * "empty" only. */
static bool find_room(const struct tr_cl_ring *r, size_t len, size_t *start)
{
	size_t tail, alen = (len + ALIGN - 1) / ALIGN * ALIGN;

	if (r->n == 0) {
		*start = 0;
		return true;
	}
	if (r->n == MAX_PENDING)
		return false;
	tail = r->fifo[r->first].off;
	if (r->head > tail) { /* free: [head, cap) and [0, tail) */
		if (r->cap - r->head >= len) {
			*start = r->head;
			return true;
		}
		if (tail > alen) {
			*start = 0;
			return true;
		}
		return false;
	}
	if (tail - r->head > alen) { /* free: [head, tail) */
		*start = r->head;
		return true;
	}
	return false;
}

/* One write of at most the ring's size. */
static int write_piece(tr_backend *be, cl_mem dst, size_t dst_off, const void *src,
		       size_t len)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct tr_cl_ring *r = cl->ring;
	struct pending *p;
	size_t start = 0;
	cl_int rc;

	reap(r);
	while (!find_room(r, len, &start)) {
		/* Full: wait for the oldest write (a blocking synchronisation). */
		rc = clWaitForEvents(1, &r->fifo[r->first].done);
		if (rc != CL_SUCCESS)
			return tr_cl_fail(&be->err, "clWaitForEvents", "staged upload", rc);
		pop(r);
		reap(r);
	}
	memcpy(r->host + start, src, len);
	p = &r->fifo[(r->first + r->n) % MAX_PENDING];
	rc = clEnqueueWriteBuffer(cl->queue, dst, CL_FALSE, dst_off, len, r->host + start, 0,
				  NULL, &p->done);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clEnqueueWriteBuffer", "staged upload", rc);
	p->off = start;
	p->len = len;
	r->n++;
	r->head = (start + len + ALIGN - 1) / ALIGN * ALIGN;
	if (r->head > r->cap)
		r->head = r->cap;
	return TR_OK;
}

int tr_cl_write(tr_backend *be, cl_mem dst, size_t dst_off, const void *src, size_t len)
{
	struct tr_cl *cl = tr_cl_of(be);
	const unsigned char *s = src;
	size_t piece = cl->ring->cap / 4; /* leaves room for the pieces before to finish */
	int rc;

	while (len > 0) {
		size_t k = len < piece ? len : piece;

		rc = write_piece(be, dst, dst_off, s, k);
		if (rc != TR_OK)
			return rc;
		s += k;
		dst_off += k;
		len -= k;
	}
	/* Start the transfers now rather than at the next wait. */
	rc = clFlush(cl->queue);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clFlush", "staged upload", rc);
	return tr_cl_after_op(be, "upload");
}

void tr_cl_ring_drain(struct tr_cl *cl)
{
	struct tr_cl_ring *r = cl->ring;

	if (!r)
		return;
	while (r->n > 0)
		pop(r); /* the caller finished the queue: every write is complete */
}
