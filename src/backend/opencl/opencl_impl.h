/*
 * opencl_impl.h - what the files of the OpenCL backend share (private to this folder).
 *
 *   opencl_backend.c  open/free, buffers, downloads, the registration
 *   opencl_staging.c  the pinned staging ring every host-to-device write goes through
 *   opencl_data.c     the data set on the device and the gather op
 *   opencl_ops.c      the operations: CLBlast GEMM and the launches of cl/ kernels
 *   opencl_counters.c counting launches, transfers and waits (CLBlast's included)
 *   opencl_program.c  building cl/ programs (embedded, or from $TRAINER_CL_DIR)
 *   opencl_devices.c  device enumeration, device strings, --list-devices text
 *   opencl_errors.c   every OpenCL and CLBlast status code to its name
 *
 * Kernels index with 32-bit unsigned integers, so no buffer holds more than
 * TR_CL_MAX_FLOATS floats (checked at allocation); offsets and sizes passed to kernels
 * therefore always fit a cl_uint.
 */
#ifndef TRAINER_OPENCL_IMPL_H
#define TRAINER_OPENCL_IMPL_H

#include <CL/cl.h>
#include <stdint.h>

#include "backend/backend_impl.h"

#define TR_CL_MAX_FLOATS ((size_t)UINT32_MAX)

#define TR_CL_STR_(x) #x
#define TR_CL_STR(x) TR_CL_STR_(x)
/* "1.5.3": the CLBlast this program was built with. */
#define CLBLAST_VERSION_TEXT                                                          \
	TR_CL_STR(CLBLAST_VERSION_MAJOR) "." TR_CL_STR(CLBLAST_VERSION_MINOR) "."      \
		TR_CL_STR(CLBLAST_VERSION_PATCH)

/* Build option of our programs and, through $CLBLAST_BUILD_OPTIONS (set at open when
 * the user has not set it), of CLBlast's: subnormal floats may be flushed to zero. Late
 * in the lab's run Adam's moments and many gradients go subnormal, and CPU devices
 * (PoCL) that keep them pay a microcode assist per operation: the step became ~4x
 * slower. GPUs flush or handle them at full speed either way. */
#define TR_CL_DENORMS_OPTION "-cl-denorms-are-zero"
/* The same for $CLBLAST_BUILD_OPTIONS: CLBlast 1.5 appends its own options to it with
 * no separator, so it must end in a space (else clBuildProgram: CL_INVALID_BUILD_OPTIONS). */
#define TR_CL_CLBLAST_OPTIONS TR_CL_DENORMS_OPTION " "

/* The kernels of the cl/ files; opencl_program.c says which file holds which. */
enum tr_cl_kernel_id {
	TR_K_BIAS_ACT,
	TR_K_RELU_BACKWARD,
	TR_K_ADAM_L2,
	TR_K_SOFTMAX_XENT,
	TR_K_COUNT_CORRECT,
	TR_K_SUM_SQUARES,
	TR_K_REDUCE_SUM,
	TR_K_BIAS_GRAD_PARTIAL,
	TR_K_BIAS_GRAD_FINAL,
	TR_K_GATHER_EXAMPLES,
	TR_CL_N_KERNELS
};

#define TR_CL_N_PROGRAMS 2 /* .cl files */

struct tr_cl_kernel {
	const char *name; /* the __kernel function's name */
	cl_kernel kernel;
	size_t wg;        /* work-group size used for it: a power of two */
};

struct tr_cl_ring; /* opencl_staging.c */

/* A device buffer that grows on demand (tr_cl_grow), never shrinks. */
struct tr_cl_growable {
	cl_mem mem;
	size_t bytes;
};

/* The backend's context (tr_backend.context). */
struct tr_cl {
	cl_platform_id platform;
	cl_device_id device;
	cl_context context;
	cl_command_queue queue; /* in order: every op runs after the ones before it */
	cl_program programs[TR_CL_N_PROGRAMS];
	struct tr_cl_kernel kernels[TR_CL_N_KERNELS];

	cl_ulong global_mem;  /* CL_DEVICE_GLOBAL_MEM_SIZE */
	cl_ulong max_alloc;   /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
	cl_ulong local_mem;   /* CL_DEVICE_LOCAL_MEM_SIZE */
	size_t max_wg;        /* CL_DEVICE_MAX_WORK_GROUP_SIZE, capped by item size [0] */
	cl_ulong allocated;   /* bytes in our live buffers, scratch included */
	bool sync_each;       /* TRAINER_CL_SYNC=1: wait after every operation */

	struct tr_cl_growable scratch; /* partial sums of the reductions (floats) */

	struct tr_cl_ring *ring; /* pinned staging for every host-to-device write */

	/* The gather op (opencl_data.c). */
	cl_mem pixel_scale;   /* tr_pixel_scale: 256 floats */
	struct tr_cl_growable gather_idx; /* a batch's example indices (uint) */
	float *host_batch;    /* host-staged gathers: one batch or chunk, converted */
	size_t host_batch_n;

	/* CLBlast's indirect GEMM needs a temporary buffer; given one, it does not
	 * allocate one per call (opencl_ops.c). */
	struct tr_cl_growable gemm_temp;
	struct tr_cl_temp_size {
		bool ta, tb;
		size_t m, n, k, a_off, b_off, c_off, lda, ldb, ldc;
		size_t bytes;
	} temp_sizes[64];     /* CLBlastSGemmTempBufferSize per call seen, a small cache */
	size_t n_temp_sizes;

	/* Tuned XgemmDirect parameters per transposition (opencl_tune.c): when set,
	 * tr_cl_gemm has CLBlast switch sets before a GEMM whose transposition differs
	 * from the previous one's. */
	bool tuned;                /* a tuning cache is in force */
	bool gemm_by_trans;
	size_t gemm_direct[4][10]; /* [trans_a + 2 trans_b], CLBlast's XgemmDirect order */
	int gemm_trans_now;        /* the class whose set is in force */
};

struct tr_buf {
	cl_mem mem;
	size_t n;    /* floats */
};

/* The device copy of a set of examples (tr_examples.device). */
struct tr_cl_examples {
	cl_mem images;  /* uchar, count x image_size */
	cl_mem labels;  /* uchar, count */
	size_t bytes;   /* both together */
};

static inline struct tr_cl *tr_cl_of(tr_backend *be)
{
	return be->context;
}

/* ---- opencl_errors.c ---- */

/* "CL_OUT_OF_RESOURCES" for -5; "unknown OpenCL status" for a code it does not know. */
const char *tr_cl_errname(cl_int code);
/* The same for a CLBlastStatusCode: CLBlast's own names below -1000, else the CL name. */
const char *tr_clblast_errname(int code);
/* Record "OpenCL: <call>(<what>) failed: <NAME> (<code>)[; hint]" as TR_ERR_DEVICE. */
int tr_cl_fail(tr_error *err, const char *call, const char *what, cl_int code);
/* The same for a call that waited for the device (a blocking read, clFinish): the
 * error may belong to any operation queued since the last wait, and the message says
 * so, and how to find which (TRAINER_CL_SYNC=1), unless every operation is waited for
 * already. Records it in be->err. */
int tr_cl_fail_async(tr_backend *be, const char *call, const char *what, cl_int code);
/* Is the environment variable `name` set to 1 (or yes/true/on)? */
bool tr_cl_env_flag(const char *name);
/* The message for "no OpenCL platform": no ICD installed, and how to get one. */
const char *tr_cl_no_driver_text(void);

/* ---- opencl_devices.c ---- */

struct tr_cl_device {
	cl_platform_id platform;
	cl_device_id id;
	cl_device_type type;
	tr_device_kind kind; /* a simulator is never a GPU, whatever type it reports */
	size_t cl_index;  /* N of cl:N */
	long gpu_index;   /* M of gpu:M, -1 when not a (real) GPU */
};

struct tr_cl_devlist {
	struct tr_cl_device *dev; /* every device, platform order then device order */
	size_t n;
	size_t n_gpu;
};

/* Enumerate every OpenCL device. No platform at all is TR_ERR_DEVICE with the
 * no-driver text. A platform whose devices cannot be listed is skipped. */
int tr_cl_enumerate(struct tr_cl_devlist *list, tr_error *err);
void tr_cl_devlist_free(struct tr_cl_devlist *list);

/* Resolve a device string: "gpu:N" or "cl:N". TR_BACKEND_NOT_MINE for any other. */
int tr_cl_find_device(const char *spec, struct tr_cl_device *out, tr_error *err);

/* A string property of a device or platform into buf (always NUL-terminated). */
void tr_cl_device_str(cl_device_id dev, cl_device_info what, char *buf, size_t cap);
void tr_cl_platform_str(cl_platform_id p, cl_platform_info what, char *buf, size_t cap);

void tr_cl_list(char *buf, size_t cap);
int tr_cl_has_gpu(void);
/* "cl:0", "cl:1", ... for every device (see tr_backend_reg.devices). */
size_t tr_cl_devices(char (*names)[TR_DEVICE_STR_MAX], tr_device_kind *kinds, size_t cap);

/* ---- opencl_program.c ---- */

/* Build every program of cl/ for the backend's device and create its kernels,
 * choosing each kernel's work-group size. Failure: TR_ERR_DEVICE naming the file and
 * quoting the build log. What was created is left in cl for tr_cl_release_programs. */
int tr_cl_build_programs(struct tr_cl *cl, const char *device_name, tr_error *err);
void tr_cl_release_programs(struct tr_cl *cl);

/* ---- opencl_ops.c ---- */

/* One kernel argument: its size and where its value is (NULL for local memory). */
struct tr_cl_karg {
	size_t size;
	const void *value;
};

#define TR_CL_ARG(x) { sizeof(x), &(x) }
#define TR_CL_LOCAL_FLOATS(n) { (n) * sizeof(float), NULL }
#define TR_CL_N_ARGS(a) ((cl_uint)(sizeof(a) / sizeof((a)[0])))

/* Set the arguments of kernel id and enqueue it over `dims` dimensions. */
int tr_cl_launch(tr_backend *be, int id, const struct tr_cl_karg *args, cl_uint nargs,
		 cl_uint dims, const size_t *global, const size_t *local);
/* One work-item per item, in work-groups of the kernel's size. */
int tr_cl_launch_1d(tr_backend *be, int id, const struct tr_cl_karg *args, cl_uint nargs,
		    size_t items);
/* Forget the GEMM temporary sizes asked so far (after CLBlast's parameters change). */
void tr_cl_forget_temp_sizes(struct tr_cl *cl);

int tr_cl_gemm(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
	       float alpha, tr_view a, size_t lda, tr_view b, size_t ldb,
	       float beta, tr_view c, size_t ldc);
int tr_cl_bias_act(tr_backend *be, tr_view y, tr_view bias, size_t rows, size_t cols,
		   bool relu);
int tr_cl_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n);
int tr_cl_softmax_xent(tr_backend *be, tr_view logits, tr_view labels, size_t rows,
		       size_t cols, float grad_scale, tr_view dlogits, tr_view loss,
		       bool accumulate);
int tr_cl_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols, tr_view db);
int tr_cl_relu_bias_grad(tr_backend *be, tr_view dy, tr_view y, size_t rows, size_t cols,
			 tr_view db);
int tr_cl_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m, tr_view v,
		  size_t n, const tr_adam_params *p);
int tr_cl_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out, bool accumulate);
int tr_cl_count_correct(tr_backend *be, tr_view logits, tr_view labels, size_t rows,
			size_t cols, tr_view out, bool accumulate);

/* ---- opencl_tune.c ---- */

/* Apply the device's tuning cache, if any and valid, unless skip; fills be->tuning and,
 * for a cache that is ignored, be->warning. */
void tr_cl_tuning_at_open(tr_backend *be, bool skip);
/* One line for --list-devices: whether the device has a valid tuning cache. */
void tr_cl_tuning_status(cl_platform_id platform, cl_device_id device, char *buf,
			 size_t cap);
/* Before a GEMM: put in force the tuned XgemmDirect set for its transposition, if the
 * cache has sets per transposition. Returns a CLBlastStatusCode. */
int tr_cl_gemm_select(struct tr_cl *cl, bool ta, bool tb);
/* tr_backend_expect_gemms for OpenCL (opencl_tune_cache.c). */
int tr_cl_expect_gemms(tr_backend *be, const tr_tune_shape *shapes, size_t n);
/* tr_backend_tune for OpenCL: search, apply, save. */
int tr_cl_tune(tr_backend *be, const tr_tune_options *o, tr_error *err);

/* After an operation was enqueued: with TRAINER_CL_SYNC=1, wait for it and report its
 * failure as that operation's (`what`); otherwise nothing. */
int tr_cl_after_op(tr_backend *be, const char *what);

/* ---- opencl_staging.c ---- */

int tr_cl_ring_create(tr_backend *be);
void tr_cl_ring_free(struct tr_cl *cl);
/* Write len bytes from host memory src into dst at byte offset dst_off, through the
 * pinned ring: returns once src has been copied; the transfer runs asynchronously. */
int tr_cl_write(tr_backend *be, cl_mem dst, size_t dst_off, const void *src, size_t len);
/* Forget every pending write, after the queue has been finished. */
void tr_cl_ring_drain(struct tr_cl *cl);

/* ---- opencl_data.c ---- */

int tr_cl_examples_to_device(tr_backend *be, tr_examples *ex, const char *what,
			     tr_examples_info *info);
void tr_cl_examples_free_device(tr_backend *be, tr_examples *ex);
int tr_cl_gather(tr_backend *be, const tr_examples *ex, size_t base, const uint32_t *idx,
		 size_t first, size_t n, tr_view x, tr_view labels);
/* Free the gather op's buffers (at close). */
void tr_cl_data_release(tr_backend *be);

/* ---- opencl_counters.c ---- */

bool tr_cl_counters(const tr_backend *be, tr_backend_counters *out);
/* Are the OpenCL loader's functions, behind the counting wrappers, found? */
bool tr_cl_counters_forward_ok(void);

/* ---- opencl_backend.c ---- */

/* Create a device buffer of `bytes` after checking it fits (the device's largest
 * buffer, its memory less what this backend holds); errors name `what`. */
int tr_cl_create_buffer(tr_backend *be, size_t bytes, cl_mem_flags flags,
			const char *what, cl_mem *out);
/* Release a buffer tr_cl_create_buffer made (NULL is a no-op). */
void tr_cl_release_buffer(tr_backend *be, cl_mem mem, size_t bytes);

/* Make the scratch buffer hold at least n floats (contents undefined). */
int tr_cl_scratch(tr_backend *be, size_t n);
/* Make g hold at least `need` bytes: a new buffer of at least `least` bytes and twice
 * the old size, the old one released (commands already queued with it keep it alive
 * until they end); contents undefined. Errors name `what`. */
int tr_cl_grow(tr_backend *be, struct tr_cl_growable *g, size_t need, size_t least,
	       const char *what);
/* Fail with TR_ERR_INTERNAL unless [v.off, v.off + n) lies inside v's buffer. */
int tr_cl_check_view(tr_backend *be, const char *op, const char *arg, tr_view v, size_t n);

#endif /* TRAINER_OPENCL_IMPL_H */
