/*
 * backend.h - the compute backend interface as the rest of the program sees it.
 *
 * A backend owns device memory (tr_buf, opaque) and runs the handful of operations one
 * training step needs. The trainer only ever holds tr_buf handles and calls the
 * tr_backend_* wrappers below; it never touches a backend's memory directly. Every
 * buffer holds float32 values; sizes and offsets are counted in floats. Labels live in
 * float buffers as class indices (0.0f, 1.0f, ...), exact for any sane class count.
 *
 * Operations are queued in order: on an asynchronous device (OpenCL) they may still be
 * running when the call returns. tr_backend_download() waits for everything queued
 * before it, so the trainer reads back only the figures it logs.
 *
 * Reductions (loss sum, correct count, sum of squares) write their result into a
 * one-float slot of a device buffer, or add to it when `accumulate` is true, so that
 * results of several calls are summed on the device and read back once.
 *
 * The interface struct every backend fills in is private: src/backend/backend_impl.h.
 * Backends are listed in one place: src/backend/registry.c.
 */
#ifndef TRAINER_BACKEND_H
#define TRAINER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trainer/error.h"

typedef struct tr_backend tr_backend; /* an opened backend on one device */
typedef struct tr_buf tr_buf;         /* a device buffer of floats, backend-defined */

/* A position inside a buffer: the buffer and an offset in floats. */
typedef struct tr_view {
	tr_buf *buf;
	size_t off;
} tr_view;

static inline tr_view tr_at(tr_buf *buf, size_t off)
{
	tr_view v = { buf, off };
	return v;
}

/* Options for opening a backend. Zero-initialise, then set what you need. */
typedef struct tr_backend_options {
	int threads;          /* CPU threads for `cpu` (0 = all cores); ignored by others */
	bool no_tuning_cache; /* opencl: do not apply cached tuned parameters (tuning) */
} tr_backend_options;

/* One Adam (TensorFlow 1 formula) + L2 step, see adam_l2 in backend_impl.h. */
typedef struct tr_adam_params {
	float lr_t;   /* lr * sqrt(1 - beta2^t) / (1 - beta1^t), computed by the caller */
	float beta1;
	float beta2;
	float epsilon;
	float l2;     /* lambda: the gradient used is grad + l2 * param */
} tr_adam_params;

/* ---- opening and describing backends (registry.c) ---- */

/* Open the backend a device string names: "auto", "cpu", "cpu-ref", and, when built
 * with OpenCL, "gpu:N" and "cl:N". On failure *out is NULL and err says why. */
int tr_backend_open(const char *device, const tr_backend_options *opts,
		    tr_backend **out, tr_error *err);

/* Free a backend and everything it owns. NULL is a no-op. Buffers must be freed first. */
void tr_backend_free(tr_backend *be);

/* Write a human-readable list of every device this build can use (--list-devices) into
 * buf (NUL-terminated, truncated to cap). Returns TR_OK; a backend that cannot list its
 * devices (no OpenCL driver) says so in the text rather than failing. */
int tr_backend_list_devices(char *buf, size_t cap);

/* Longest device string tr_backend_devices writes, NUL included. */
#define TR_DEVICE_STR_MAX 64

/* What kind of device a device string names. A simulator (Oclgrind) is never taken for
 * a GPU: `auto` and gpu:N skip it, although it may report every device type. */
typedef enum tr_device_kind {
	TR_DEVICE_GPU,
	TR_DEVICE_CPU,         /* an OpenCL CPU device (PoCL), or the cpu / cpu-ref backends */
	TR_DEVICE_ACCELERATOR,
	TR_DEVICE_SIMULATOR,
	TR_DEVICE_OTHER,
} tr_device_kind;

/* "gpu", "cpu", "accelerator", "simulator", "other". */
const char *tr_device_kind_name(tr_device_kind kind);

/* The device strings of every device this build can open, in the registry's order
 * (OpenCL devices "cl:N" in --list-devices order first, then "cpu", then "cpu-ref"),
 * at most cap of them into names, and their kinds into kinds (may be NULL). Returns how
 * many there are (which may exceed cap). Devices that cannot be listed (no OpenCL
 * driver) are left out quietly. */
size_t tr_backend_devices(char (*names)[TR_DEVICE_STR_MAX], tr_device_kind *kinds,
			  size_t cap);

/* Comma-separated names of the backends compiled in, e.g. "cpu-ref,cpu". */
const char *tr_backend_compiled(void);

const char *tr_backend_name(const tr_backend *be);           /* "cpu", "cpu-ref", "opencl" */
const char *tr_backend_device_name(const tr_backend *be);    /* e.g. "pthread-Intel(R) Xeon..." */
const char *tr_backend_device_version(const tr_backend *be); /* driver / library versions */
/* How the backend's kernels are tuned for the device, one line, e.g. "CLBlast: tuned
 * parameters (cache <path>)" or "CLBlast: defaults (no tuning cache; run trainer
 * tune)"; "" for backends without tuning. */
const char *tr_backend_tuning(const tr_backend *be);
/* A warning from opening the backend that the caller should show (a tuning cache that
 * was corrupt or stale and so ignored), one line; "" when there is none. The library
 * never prints it itself. */
const char *tr_backend_warning(const tr_backend *be);
/* The error of the last failed call on this backend. */
const tr_error *tr_backend_last_error(const tr_backend *be);

/* ---- tuning (OpenCL: CLBlast's GEMM kernels; see docs/PERFORMANCE.md) ---- */

/* One GEMM shape to tune for: row-major, dense operands (lda = trans_a ? m : k,
 * ldb = trans_b ? k : n, ldc = n). */
typedef struct tr_tune_shape {
	bool trans_a, trans_b;
	size_t m, n, k;
	double weight;  /* how often it runs per training step (validation: a fraction) */
	char what[40];  /* a label for messages, e.g. "forward 1" */
} tr_tune_shape;

typedef struct tr_tune_options {
	const tr_tune_shape *shapes;
	size_t n_shapes;
	int max_candidates; /* parameter sets tried per kernel; 0 = the default */
	/* Called with each line of progress and of the final summary; may be NULL. */
	void (*progress)(void *user, const char *line);
	void *user;
} tr_tune_options;

/* Search the backend's kernel parameters for these shapes, checking every candidate's
 * result against a reference product, then apply the best and save them in the
 * device's tuning cache (tr_backend_tuning says where). Open the backend with
 * no_tuning_cache so that the defaults are measured as such. When the library's own
 * defaults win, the cache records that, but this backend keeps the last candidate
 * tried (CLBlast cannot restore its defaults in a process): reopen it before use.
 * TR_ERR_USAGE for a backend that has nothing to tune (cpu, cpu-ref). */
int tr_backend_tune(tr_backend *be, const tr_tune_options *o, tr_error *err);

/* Tell the backend the GEMM shapes of one training step (weights ignored), once, before
 * the first step: it may prepare for them. The OpenCL backend, when no tuning cache is
 * in force, routes them to CLBlast's direct kernel where CLBlast's own switch-over would
 * send them to the indirect one (which adds pad and transpose copies: up to four
 * launches per GEMM); `trainer tune` decides otherwise when it finds better. A no-op
 * elsewhere. */
int tr_backend_expect_gemms(tr_backend *be, const tr_tune_shape *shapes, size_t n);

/* ---- buffers ---- */

/* Allocate n floats (contents undefined). `what` names the buffer in error messages. */
int tr_backend_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out);
void tr_backend_buf_free(tr_backend *be, tr_buf *buf); /* NULL is a no-op */
/* Copy n floats host -> device; src may be reused as soon as the call returns. */
int tr_backend_upload(tr_backend *be, tr_view dst, const float *src, size_t n);
/* Copy n floats device -> host; waits for all queued work. */
int tr_backend_download(tr_backend *be, tr_view src, float *dst, size_t n);
/* Wait for all queued work (a no-op on synchronous backends). */
int tr_backend_synchronize(tr_backend *be);

/* ---- examples: a data set kept where the backend computes ---- */

typedef struct tr_examples tr_examples; /* images (bytes) and labels, backend-defined */

/* What tr_backend_examples_create did with the examples. */
typedef struct tr_examples_info {
	bool on_device;  /* false: left in host memory, each gather stages its batch */
	char why[384];   /* when !on_device and the backend has a device: why not */
	size_t bytes;    /* bytes the images and labels take */
} tr_examples_info;

/* Hand the backend `count` examples: images (count x image_size bytes, pixels 0..255)
 * and labels (count bytes, class indices). A device backend copies them into device
 * memory once, as bytes; where they do not fit (the device's largest buffer or its free
 * memory; or TRAINER_CL_DATA=host), it keeps reading the host arrays and stages each
 * batch through pinned memory, and info says so. CPU backends read the host arrays in
 * place. Either way the host arrays must stay alive and unchanged until
 * tr_backend_examples_free. `what` names the set in messages. info may be NULL. */
int tr_backend_examples_create(tr_backend *be, const uint8_t *images,
			       const uint8_t *labels, size_t count, size_t image_size,
			       const char *what, tr_examples **out, tr_examples_info *info);
void tr_backend_examples_free(tr_backend *be, tr_examples *ex); /* NULL is a no-op */

/* Gather n examples into the network's input: example e_i = base + idx[i] (idx: host
 * array of n indices; NULL: e_i = base + first + i). x[i][k] = pixel / 255.0f, the
 * same float the host computes; labels[i] = the class index as a float. On a device
 * only the n indices cross the bus (none when idx is NULL). */
int tr_backend_gather(tr_backend *be, const tr_examples *ex, size_t base,
		      const uint32_t *idx, size_t first, size_t n, tr_view x,
		      tr_view labels);

/* The float every backend makes of a pixel byte v: tr_pixel_scale[v] = v / 255.0f,
 * computed once on the host, so that a device's division cannot round differently. */
extern const float tr_pixel_scale[256];

/* ---- counters (OpenCL: what a step costs in launches, transfers and waits) ---- */

typedef struct tr_backend_counters {
	uint64_t launches;             /* kernels enqueued, CLBlast's included */
	uint64_t host_to_device_bytes; /* bytes written from host memory to the device */
	uint64_t blocking_syncs;       /* times the host waited for the device */
	uint64_t allocations;          /* device buffers created */
	bool libraries_counted;        /* CLBlast's own calls are in the counts */
} tr_backend_counters;

/* The counts since the process started, for backends that keep them (OpenCL):
 * returns false, with *out zeroed, for the others. Subtract two readings to count
 * what the calls between them cost. */
bool tr_backend_counters_read(const tr_backend *be, tr_backend_counters *out);

/* ---- operations (all matrices row-major, leading dimensions in floats) ---- */

/* C = alpha * op(A) * op(B) + beta * C, op(A) m x k, op(B) k x n, C m x n.
 * op(X) = X^T when the trans flag is set. beta == 0 ignores C's old contents. */
int tr_backend_gemm(tr_backend *be, bool trans_a, bool trans_b,
		    size_t m, size_t n, size_t k, float alpha,
		    tr_view a, size_t lda, tr_view b, size_t ldb,
		    float beta, tr_view c, size_t ldc);

/* y[r][c] = y[r][c] + bias[c], then max(0, .) when relu. y is rows x cols, dense. */
int tr_backend_bias_act(tr_backend *be, tr_view y, tr_view bias,
			size_t rows, size_t cols, bool relu);

/* dy[i] = y[i] > 0 ? dy[i] : 0 for i < n (y is the ReLU's output). */
int tr_backend_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n);

/* Softmax cross-entropy of rows x cols logits against class-index labels (rows floats).
 * If loss.buf is not NULL: loss[0] (+)= sum over rows of (logsumexp(z) - z[label]),
 * stable for |z| ~ 1e10 (a training step that logs nothing leaves it out).
 * If dlogits.buf is not NULL: dlogits = grad_scale * (softmax(z) - onehot(label)). */
int tr_backend_softmax_xent(tr_backend *be, tr_view logits, tr_view labels,
			    size_t rows, size_t cols, float grad_scale,
			    tr_view dlogits, tr_view loss, bool accumulate);

/* db[c] = sum over r of dy[r][c]; dy is rows x cols. */
int tr_backend_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols,
			 tr_view db);

/* ReLU backward and the bias gradient of its result in one pass (they run back to back
 * in back-propagation): dy[r][c] = y[r][c] > 0 ? dy[r][c] : 0, then db[c] = sum over r
 * of dy[r][c]. The same as tr_backend_relu_backward then tr_backend_bias_grad. */
int tr_backend_relu_bias_grad(tr_backend *be, tr_view dy, tr_view y, size_t rows,
			      size_t cols, tr_view db);

/* For i < n: g = grad[i] + l2 * param[i];
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 *   param -= lr_t * m / (sqrt(v) + epsilon). */
int tr_backend_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m,
		       tr_view v, size_t n, const tr_adam_params *p);

/* out[0] (+)= sum of x[i]^2 for i < n. */
int tr_backend_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out,
			   bool accumulate);

/* out[0] (+)= number of rows whose argmax (first maximum) equals the label. */
int tr_backend_count_correct(tr_backend *be, tr_view logits, tr_view labels,
			     size_t rows, size_t cols, tr_view out, bool accumulate);

#endif /* TRAINER_BACKEND_H */
