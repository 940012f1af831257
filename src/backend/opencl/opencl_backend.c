/*
 * opencl_backend.c - the OpenCL backend: opening a device, buffers, transfers, and the
 * registration the registry sees (tr_opencl_reg).
 *
 * One context and one in-order command queue per backend: every operation is
 * enqueued behind the ones before it and nothing waits for the device except
 * download, synchronize and free. Uploads go through the pinned staging ring
 * (opencl_staging.c): the caller may reuse its array at once and the host does not wait.
 * TRAINER_CL_SYNC=1 makes every operation wait for the device instead, so that an
 * error names the operation that failed (tr_cl_after_op).
 */
#include "opencl_impl.h"
#include "clblast_params.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backends open now; CLBlast's program cache is cleared when the last one closes. */
static int n_open;

static double mib(cl_ulong bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

int tr_cl_check_view(tr_backend *be, const char *op, const char *arg, tr_view v, size_t n)
{
	if (v.off > v.buf->n || n > v.buf->n - v.off)
		return tr_fail(&be->err, TR_ERR_INTERNAL,
			       "%s (opencl backend): %s [%zu, +%zu) lies outside its buffer "
			       "of %zu floats", op, arg, v.off, n, v.buf->n);
	return TR_OK;
}

/* Is there room on the device for `bytes` more? Errors name the buffer and its size
 * ("parameters (795000010 floats, 3032.7 MiB)"). */
static int check_room(tr_backend *be, cl_ulong bytes, const char *what, bool floats)
{
	struct tr_cl *cl = tr_cl_of(be);
	char size[64];

	if (floats)
		snprintf(size, sizeof(size), "%llu floats, %.1f MiB",
			 (unsigned long long)(bytes / sizeof(float)), mib(bytes));
	else
		snprintf(size, sizeof(size), "%.1f MiB", mib(bytes));
	if (bytes > cl->max_alloc)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: cannot allocate %s (%s): larger than the largest single "
			       "buffer %s allows (CL_DEVICE_MAX_MEM_ALLOC_SIZE = %.1f MiB)", what,
			       size, be->device_name, mib(cl->max_alloc));
	if (bytes > cl->global_mem - cl->allocated)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: cannot allocate %s (%s): %s has %.1f MiB of global memory "
			       "and this program's buffers already take %.1f MiB", what, size,
			       be->device_name, mib(cl->global_mem), mib(cl->allocated));
	if (bytes / sizeof(float) > TR_CL_MAX_FLOATS)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: cannot allocate %s (%s): the kernels index buffers with 32 "
			       "bits, so a buffer holds at most %zu floats", what, size,
			       TR_CL_MAX_FLOATS);
	return TR_OK;
}

/* tr_cl_create_buffer, for a buffer of floats when `floats` (said in messages). */
static int create_buffer(tr_backend *be, size_t bytes, cl_mem_flags flags,
			 const char *what, bool floats, cl_mem *out)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc;
	int status;

	status = check_room(be, bytes, what, floats);
	if (status != TR_OK)
		return status;
	*out = clCreateBuffer(cl->context, flags, bytes, NULL, &rc);
	if (rc != CL_SUCCESS) {
		char label[256];

		*out = NULL;
		snprintf(label, sizeof(label), "%s, %.1f MiB", what, mib(bytes));
		return tr_cl_fail(&be->err, "clCreateBuffer", label, rc);
	}
	cl->allocated += bytes;
	return TR_OK;
}

int tr_cl_create_buffer(tr_backend *be, size_t bytes, cl_mem_flags flags,
			const char *what, cl_mem *out)
{
	return create_buffer(be, bytes, flags, what, false, out);
}

void tr_cl_release_buffer(tr_backend *be, cl_mem mem, size_t bytes)
{
	struct tr_cl *cl = tr_cl_of(be);

	if (!mem)
		return;
	clReleaseMemObject(mem);
	cl->allocated -= bytes;
}

static int cl_buf_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out)
{
	tr_buf *b = malloc(sizeof(*b));
	int rc;

	if (!b)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	if (n > SIZE_MAX / sizeof(float))
		rc = check_room(be, (cl_ulong)-1, what, false);
	else
		rc = create_buffer(be, n * sizeof(float), CL_MEM_READ_WRITE, what, true,
				   &b->mem);
	if (rc != TR_OK) {
		free(b);
		return rc;
	}
	b->n = n;
	*out = b;
	return TR_OK;
}

static void cl_buf_free(tr_backend *be, tr_buf *buf)
{
	tr_cl_release_buffer(be, buf->mem, buf->n * sizeof(float));
	free(buf);
}

int tr_cl_grow(tr_backend *be, struct tr_cl_growable *g, size_t need, size_t least,
	       const char *what)
{
	size_t want = need < least ? least : need;
	cl_mem mem;
	int rc;

	if (need <= g->bytes)
		return TR_OK;
	if (want < 2 * g->bytes)
		want = 2 * g->bytes;
	rc = tr_cl_create_buffer(be, want, CL_MEM_READ_WRITE, what, &mem);
	if (rc != TR_OK)
		return rc;
	tr_cl_release_buffer(be, g->mem, g->bytes);
	g->mem = mem;
	g->bytes = want;
	return TR_OK;
}

int tr_cl_scratch(tr_backend *be, size_t n)
{
	return tr_cl_grow(be, &tr_cl_of(be)->scratch, n * sizeof(float), 4096 * sizeof(float),
			  "scratch buffer for partial sums");
}

static int cl_upload(tr_backend *be, tr_view dst, const float *src, size_t n)
{
	int status = tr_cl_check_view(be, "upload", "dst", dst, n);

	if (status != TR_OK)
		return status;
	return tr_cl_write(be, dst.buf->mem, dst.off * sizeof(float), src, n * sizeof(float));
}

static int cl_download(tr_backend *be, tr_view src, float *dst, size_t n)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc;
	int status;

	status = tr_cl_check_view(be, "download", "src", src, n);
	if (status != TR_OK)
		return status;
	/* Blocking, on the in-order queue: it waits for everything queued before it, so
	 * an error of any of those can surface here. */
	rc = clEnqueueReadBuffer(cl->queue, src.buf->mem, CL_TRUE, src.off * sizeof(float),
				 n * sizeof(float), dst, 0, NULL, NULL);
	if (rc != CL_SUCCESS)
		return tr_cl_fail_async(be, "clEnqueueReadBuffer", "download", rc);
	return TR_OK;
}

static int cl_synchronize(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc = clFinish(cl->queue);

	if (rc != CL_SUCCESS)
		return tr_cl_fail_async(be, "clFinish", NULL, rc);
	tr_cl_ring_drain(cl);
	return TR_OK;
}

static void cl_free(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);

	if (cl) {
		if (cl->queue)
			clFinish(cl->queue);
		tr_cl_ring_free(cl);
		tr_cl_data_release(be);
		tr_cl_release_buffer(be, cl->scratch.mem, cl->scratch.bytes);
		tr_cl_release_buffer(be, cl->gemm_temp.mem, cl->gemm_temp.bytes);
		tr_cl_release_programs(cl);
		if (cl->queue)
			clReleaseCommandQueue(cl->queue);
		if (cl->context)
			clReleaseContext(cl->context);
		free(cl);
	}
	free(be);
	/* CLBlast caches its compiled programs per context, which keeps our context
	 * alive: let them go with the last backend, and put back CLBlast's own parameters
	 * wherever a backend overrode them (they would outlive it otherwise). */
	if (--n_open == 0) {
		tr_clblast_restore_all();
		CLBlastClearCache();
	}
}

static const struct tr_backend_i cl_iface = {
	.free = cl_free,
	.buf_alloc = cl_buf_alloc,
	.buf_free = cl_buf_free,
	.upload = cl_upload,
	.download = cl_download,
	.synchronize = cl_synchronize,
	.gemm = tr_cl_gemm,
	.bias_act = tr_cl_bias_act,
	.relu_backward = tr_cl_relu_backward,
	.softmax_xent = tr_cl_softmax_xent,
	.bias_grad = tr_cl_bias_grad,
	.adam_l2 = tr_cl_adam_l2,
	.sum_squares = tr_cl_sum_squares,
	.count_correct = tr_cl_count_correct,
	.relu_bias_grad = tr_cl_relu_bias_grad,
	.examples_to_device = tr_cl_examples_to_device,
	.examples_free_device = tr_cl_examples_free_device,
	.gather = tr_cl_gather,
	.counters = tr_cl_counters,
	.expect_gemms = tr_cl_expect_gemms,
	.tune = tr_cl_tune,
};

/* The device's limits that the backend works within. */
static int query_limits(tr_backend *be, const char *spec)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t items[16] = { 0 }, size = 0;
	cl_int rc;

	rc = clGetDeviceInfo(cl->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(cl->global_mem),
			     &cl->global_mem, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetDeviceInfo(cl->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
				     sizeof(cl->max_alloc), &cl->max_alloc, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetDeviceInfo(cl->device, CL_DEVICE_LOCAL_MEM_SIZE,
				     sizeof(cl->local_mem), &cl->local_mem, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
				     sizeof(cl->max_wg), &cl->max_wg, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, 0, NULL,
				     &size);
	if (rc == CL_SUCCESS && size <= sizeof(items))
		rc = clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, size, items,
				     NULL);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clGetDeviceInfo", spec, rc);
	if (items[0] > 0 && items[0] < cl->max_wg)
		cl->max_wg = items[0];
	if (cl->max_wg == 0)
		cl->max_wg = 1;
	return TR_OK;
}

static void describe(tr_backend *be, const struct tr_cl_device *dev)
{
	char version[128], driver[128], platform[128];

	tr_cl_device_str(dev->id, CL_DEVICE_NAME, be->device_name, sizeof(be->device_name));
	tr_cl_device_str(dev->id, CL_DEVICE_VERSION, version, sizeof(version));
	tr_cl_device_str(dev->id, CL_DRIVER_VERSION, driver, sizeof(driver));
	tr_cl_platform_str(dev->platform, CL_PLATFORM_NAME, platform, sizeof(platform));
	snprintf(be->device_version, sizeof(be->device_version),
		 "%.100s, driver %.50s, platform %.60s, CLBlast " CLBLAST_VERSION_TEXT,
		 version, driver, platform);
}

/* Context, queue, programs and tuned CLBlast parameters for the device; on failure
 * be->err says why. */
static int setup(tr_backend *be, const struct tr_cl_device *dev, const char *spec,
		 const tr_backend_options *opts)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_context_properties props[3] = {
		CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0
	};
	cl_int rc;
	int status;

	cl->platform = dev->platform;
	cl->device = dev->id;
	describe(be, dev);
	/* CLBlast reads its build options from the environment when it builds a program
	 * (lazily, at its first use); see TR_CL_DENORMS_OPTION. */
	setenv("CLBLAST_BUILD_OPTIONS", TR_CL_CLBLAST_OPTIONS, 0);
	status = query_limits(be, spec);
	if (status != TR_OK)
		return status;
	cl->context = clCreateContext(props, 1, &cl->device, NULL, NULL, &rc);
	if (rc != CL_SUCCESS) {
		cl->context = NULL;
		return tr_cl_fail(&be->err, "clCreateContext", be->device_name, rc);
	}
	cl->queue = clCreateCommandQueue(cl->context, cl->device, 0, &rc);
	if (rc != CL_SUCCESS) {
		cl->queue = NULL;
		return tr_cl_fail(&be->err, "clCreateCommandQueue", be->device_name, rc);
	}
	cl->sync_each = tr_cl_env_flag("TRAINER_CL_SYNC");
	status = tr_cl_ring_create(be);
	if (status == TR_OK)
		status = tr_cl_build_programs(cl, be->device_name, &be->err);
	if (status == TR_OK)
		tr_cl_tuning_at_open(be, opts->no_tuning_cache);
	return status;
}

static int cl_open(const char *spec, const tr_backend_options *opts, tr_backend **out,
		   tr_error *err)
{
	struct tr_cl_device dev;
	struct tr_cl *cl;
	tr_backend *be;
	int rc;

	if (strncmp(spec, "gpu:", 4) && strncmp(spec, "cl:", 3))
		return TR_BACKEND_NOT_MINE;
	if (!tr_cl_counters_forward_ok())
		return tr_fail(err, TR_ERR_DEVICE, "--device %s: the OpenCL loader's functions "
			       "cannot be found behind this program's counting wrappers (a "
			       "static build?); build with the shared OpenCL loader "
			       "(ocl-icd-opencl-dev)", spec);
	rc = tr_cl_find_device(spec, &dev, err);
	if (rc != TR_OK)
		return rc;
	cl = calloc(1, sizeof(*cl));
	be = cl ? tr_backend_new(&cl_iface, "opencl", cl) : NULL;
	if (!be) {
		free(cl);
		return tr_fail(err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	}
	n_open++;
	rc = setup(be, &dev, spec, opts);
	if (rc != TR_OK) {
		*err = be->err;
		tr_error_prefix(err, "--device %s", spec);
		cl_free(be);
		return rc;
	}
	*out = be;
	return TR_OK;
}

const struct tr_backend_reg tr_opencl_reg = {
	.name = "opencl",
	.open = cl_open,
	.list = tr_cl_list,
	.has_gpu = tr_cl_has_gpu,
	.devices = tr_cl_devices,
};
