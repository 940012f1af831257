/*
 * backend_impl.h - what a backend implements (private to src/backend/).
 *
 * In the manner of ggml's ggml_backend_i: a struct of function pointers, one per
 * operation, documented in include/trainer/backend.h next to its public wrapper.
 * Every member returns TR_OK or a tr_status and, on failure, records the reason in
 * be->err with tr_fail(&be->err, ...). The wrappers in backend.c check arguments
 * that are the caller's fault (NULL buffers, zero sizes) before calling in, so
 * implementations may assume well-formed arguments.
 *
 * Members marked optional may be NULL.
 */
#ifndef TRAINER_BACKEND_IMPL_H
#define TRAINER_BACKEND_IMPL_H

#include "trainer/backend.h"

struct tr_backend_i {
	void (*free)(tr_backend *be); /* free context and be itself */

	int (*buf_alloc)(tr_backend *be, size_t n, const char *what, tr_buf **out);
	void (*buf_free)(tr_backend *be, tr_buf *buf);
	int (*upload)(tr_backend *be, tr_view dst, const float *src, size_t n);
	int (*download)(tr_backend *be, tr_view src, float *dst, size_t n);
	int (*synchronize)(tr_backend *be); /* optional */

	int (*gemm)(tr_backend *be, bool trans_a, bool trans_b, size_t m, size_t n,
		    size_t k, float alpha, tr_view a, size_t lda, tr_view b,
		    size_t ldb, float beta, tr_view c, size_t ldc);
	int (*bias_act)(tr_backend *be, tr_view y, tr_view bias, size_t rows,
			size_t cols, bool relu);
	int (*relu_backward)(tr_backend *be, tr_view dy, tr_view y, size_t n);
	int (*softmax_xent)(tr_backend *be, tr_view logits, tr_view labels,
			    size_t rows, size_t cols, float grad_scale,
			    tr_view dlogits, tr_view loss, bool accumulate);
	int (*bias_grad)(tr_backend *be, tr_view dy, size_t rows, size_t cols,
			 tr_view db);
	/* Optional: NULL runs relu_backward, then bias_grad. */
	int (*relu_bias_grad)(tr_backend *be, tr_view dy, tr_view y, size_t rows,
			      size_t cols, tr_view db);
	int (*adam_l2)(tr_backend *be, tr_view param, tr_view grad, tr_view m,
		       tr_view v, size_t n, const tr_adam_params *p);
	int (*sum_squares)(tr_backend *be, tr_view x, size_t n, tr_view out,
			   bool accumulate);
	int (*count_correct)(tr_backend *be, tr_view logits, tr_view labels,
			     size_t rows, size_t cols, tr_view out, bool accumulate);
	/* Optional: put ex (host arrays and sizes filled in) on the device, setting
	 * ex->device, or say in info why not. NULL: the host arrays serve as they are. */
	int (*examples_to_device)(tr_backend *be, tr_examples *ex, const char *what,
				  tr_examples_info *info);
	/* Optional: free ex->device. */
	void (*examples_free_device)(tr_backend *be, tr_examples *ex);
	int (*gather)(tr_backend *be, const tr_examples *ex, size_t base,
		      const uint32_t *idx, size_t first, size_t n, tr_view x,
		      tr_view labels);
	/* Optional: NULL = the backend keeps no counters. */
	bool (*counters)(const tr_backend *be, tr_backend_counters *out);
	/* Prepare for a step's GEMM shapes (tr_backend_expect_gemms). Optional. */
	int (*expect_gemms)(tr_backend *be, const tr_tune_shape *shapes, size_t n);
	/* Tune the backend's kernels (tr_backend_tune). Optional: NULL = nothing to tune. */
	int (*tune)(tr_backend *be, const tr_tune_options *o, tr_error *err);
};

/* A set of examples (tr_backend_examples_create). Every backend keeps the caller's host
 * arrays; a device backend adds its own copy in `device` (NULL: staged from the host). */
struct tr_examples {
	const uint8_t *images;  /* count x image_size bytes, the caller's */
	const uint8_t *labels;  /* count bytes, the caller's */
	size_t count;
	size_t image_size;
	void *device;           /* the backend's device copy, or NULL */
};

struct tr_backend {
	const struct tr_backend_i *iface;
	const char *name;          /* backend name: "cpu-ref", "cpu", "opencl" */
	char device_name[256];     /* the device, as its driver names it */
	char device_version[256];  /* driver and library versions */
	char tuning[256];          /* how its kernels are tuned (tr_backend_tuning); may be "" */
	char warning[512];         /* a warning from opening, for the CLI to show; may be "" */
	tr_error err;              /* reason for the last failure */
	void *context;             /* the backend's own state */
};

/* Returned by tr_backend_reg.open for a device string of another family. */
#define TR_BACKEND_NOT_MINE (-1)

/* One entry of the registry: a backend family and how to open it. */
struct tr_backend_reg {
	const char *name; /* "cpu-ref", "cpu", "opencl" */
	/* Open the device `spec` names ("cpu", "gpu:1", "cl:0", ...); return TR_OK,
	 * TR_BACKEND_NOT_MINE for a spec this family does not handle (err untouched),
	 * or a tr_status with err filled in. */
	int (*open)(const char *spec, const tr_backend_options *opts, tr_backend **out,
		    tr_error *err);
	/* Append a description of the family's devices to buf; optional. */
	void (*list)(char *buf, size_t cap);
	/* Does the family have a real GPU (not a simulator) to offer `auto` as "gpu:0"?
	 * Optional (NULL = no). */
	int (*has_gpu)(void);
	/* Write the device strings of the family's devices and their kinds (at most cap;
	 * kinds may be NULL) and return how many there are. Optional: NULL means the one
	 * CPU device named like the family. */
	size_t (*devices)(char (*names)[TR_DEVICE_STR_MAX], tr_device_kind *kinds,
			  size_t cap);
};

/* Each backend folder provides its registration (declared here, defined there). */
extern const struct tr_backend_reg tr_cpu_ref_reg;
extern const struct tr_backend_reg tr_cpu_reg;
extern const struct tr_backend_reg tr_opencl_reg;

/* The floats of examples base + idx[i] (or base + first + i), i < n, on the host:
 * x (n x image_size) = tr_pixel_scale[pixel], labels (n) = the class index. Shared by
 * the CPU backends and a device backend's host-staged path. */
void tr_examples_convert(const tr_examples *ex, size_t base, const uint32_t *idx,
			 size_t first, size_t n, float *x, float *labels);

/* Allocate a tr_backend with iface, name and context set, errors cleared. */
tr_backend *tr_backend_new(const struct tr_backend_i *iface, const char *name,
			   void *context);

#endif /* TRAINER_BACKEND_IMPL_H */
