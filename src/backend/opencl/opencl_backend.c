/*
 * opencl_backend.c - the OpenCL backend: opening a device, buffers, transfers, and the
 * registration the registry sees (tr_opencl_reg).
 *
 * One context and one in-order command queue per backend: every operation is
 * enqueued behind the ones before it and nothing waits for the device except
 * download, synchronize and free. Uploads copy the caller's data into a host staging
 * block and enqueue a non-blocking write from it, so the caller may reuse its array at
 * once and the host does not wait; a staging block is freed when its write completes.
 */
#include "opencl_impl.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define CLBLAST_VERSION_TEXT                                                      \
	STR(CLBLAST_VERSION_MAJOR) "." STR(CLBLAST_VERSION_MINOR) "." STR(         \
		CLBLAST_VERSION_PATCH)

/* Uploads in flight before an upload waits for the oldest to finish. */
#define MAX_STAGING 64

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

/* Is there room on the device for `bytes` more? Errors name the buffer. */
static int check_room(tr_backend *be, size_t n, const char *what)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_ulong bytes = (cl_ulong)n * sizeof(float);

	if (n > cl->max_alloc / sizeof(float))
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: cannot allocate %s (%zu floats, %.1f MiB): larger than "
			       "the largest single buffer %s allows (CL_DEVICE_MAX_MEM_ALLOC_SIZE "
			       "= %.1f MiB)", what, n, mib(bytes), be->device_name,
			       mib(cl->max_alloc));
	if (bytes > cl->global_mem - cl->allocated)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: cannot allocate %s (%zu floats, %.1f MiB): %s has "
			       "%.1f MiB of global memory and this program's buffers already "
			       "take %.1f MiB", what, n, mib(bytes), be->device_name,
			       mib(cl->global_mem), mib(cl->allocated));
	if (n > TR_CL_MAX_FLOATS)
		return tr_fail(&be->err, TR_ERR_DEVICE,
			       "OpenCL: cannot allocate %s (%zu floats, %.1f MiB): the kernels "
			       "index buffers with 32 bits, so a buffer holds at most %zu floats",
			       what, n, mib(bytes), TR_CL_MAX_FLOATS);
	return TR_OK;
}

static int create_buffer(tr_backend *be, size_t n, const char *what, cl_mem *out)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc;
	int status;

	status = check_room(be, n, what);
	if (status != TR_OK)
		return status;
	*out = clCreateBuffer(cl->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &rc);
	if (rc != CL_SUCCESS) {
		char label[256];

		*out = NULL;
		snprintf(label, sizeof(label), "%s, %.1f MiB", what,
			 mib((cl_ulong)n * sizeof(float)));
		return tr_cl_fail(&be->err, "clCreateBuffer", label, rc);
	}
	cl->allocated += (cl_ulong)n * sizeof(float);
	return TR_OK;
}

static void release_buffer(tr_backend *be, cl_mem mem, size_t n)
{
	struct tr_cl *cl = tr_cl_of(be);

	clReleaseMemObject(mem);
	cl->allocated -= (cl_ulong)n * sizeof(float);
}

static int cl_buf_alloc(tr_backend *be, size_t n, const char *what, tr_buf **out)
{
	tr_buf *b = malloc(sizeof(*b));
	int rc;

	if (!b)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	rc = create_buffer(be, n, what, &b->mem);
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
	release_buffer(be, buf->mem, buf->n);
	free(buf);
}

int tr_cl_scratch(tr_backend *be, size_t n)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t want = n < 4096 ? 4096 : n;
	cl_mem mem;
	int rc;

	if (n <= cl->scratch_n)
		return TR_OK;
	if (want < 2 * cl->scratch_n)
		want = 2 * cl->scratch_n;
	rc = create_buffer(be, want, "scratch buffer for partial sums", &mem);
	if (rc != TR_OK)
		return rc;
	/* Commands already queued that use the old one keep it alive until they end. */
	if (cl->scratch)
		release_buffer(be, cl->scratch, cl->scratch_n);
	cl->scratch = mem;
	cl->scratch_n = want;
	return TR_OK;
}

/* Free the staging blocks whose writes have completed (all of them when `all`,
 * which the caller may ask for only once the queue is finished). */
static void reap_staging(struct tr_cl *cl, bool all)
{
	size_t i, kept = 0;

	for (i = 0; i < cl->n_staging; i++) {
		struct tr_cl_staging *s = &cl->staging[i];
		cl_int status = CL_QUEUED;

		if (!all && clGetEventInfo(s->done, CL_EVENT_COMMAND_EXECUTION_STATUS,
					   sizeof(status), &status, NULL) != CL_SUCCESS)
			status = CL_COMPLETE; /* an invalid event: nothing left to wait for */
		if (all || status == CL_COMPLETE || status < 0) {
			clReleaseEvent(s->done);
			free(s->host);
		} else {
			cl->staging[kept++] = *s;
		}
	}
	cl->n_staging = kept;
}

/* Room for one more staging entry: wait for the oldest write when there are many. */
static int staging_slot(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct tr_cl_staging *grown;
	cl_int rc;

	reap_staging(cl, false);
	if (cl->n_staging >= MAX_STAGING) {
		rc = clWaitForEvents(1, &cl->staging[0].done);
		if (rc != CL_SUCCESS)
			return tr_cl_fail(&be->err, "clWaitForEvents", "upload", rc);
		reap_staging(cl, false);
	}
	if (cl->n_staging < cl->cap_staging)
		return TR_OK;
	grown = realloc(cl->staging, (cl->cap_staging + 8) * sizeof(*grown));
	if (!grown)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	cl->staging = grown;
	cl->cap_staging += 8;
	return TR_OK;
}

static int cl_upload(tr_backend *be, tr_view dst, const float *src, size_t n)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct tr_cl_staging *s;
	cl_int rc;
	int status;

	status = tr_cl_check_view(be, "upload", "dst", dst, n);
	if (status == TR_OK)
		status = staging_slot(be);
	if (status != TR_OK)
		return status;
	s = &cl->staging[cl->n_staging];
	s->host = malloc(n * sizeof(float));
	if (!s->host)
		return tr_fail(&be->err, TR_ERR_INTERNAL,
			       "OpenCL: out of host memory staging an upload of %zu floats", n);
	memcpy(s->host, src, n * sizeof(float));
	rc = clEnqueueWriteBuffer(cl->queue, dst.buf->mem, CL_FALSE, dst.off * sizeof(float),
				  n * sizeof(float), s->host, 0, NULL, &s->done);
	if (rc != CL_SUCCESS) {
		free(s->host);
		return tr_cl_fail(&be->err, "clEnqueueWriteBuffer", "upload", rc);
	}
	cl->n_staging++;
	/* Start the transfer now rather than at the next wait. */
	rc = clFlush(cl->queue);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clFlush", "upload", rc);
	return TR_OK;
}

static int cl_download(tr_backend *be, tr_view src, float *dst, size_t n)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc;
	int status;

	status = tr_cl_check_view(be, "download", "src", src, n);
	if (status != TR_OK)
		return status;
	/* Blocking, on the in-order queue: it waits for everything queued before it. */
	rc = clEnqueueReadBuffer(cl->queue, src.buf->mem, CL_TRUE, src.off * sizeof(float),
				 n * sizeof(float), dst, 0, NULL, NULL);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clEnqueueReadBuffer", "download", rc);
	reap_staging(cl, false);
	return TR_OK;
}

static int cl_synchronize(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);
	cl_int rc = clFinish(cl->queue);

	if (rc != CL_SUCCESS)
		return tr_cl_fail(&be->err, "clFinish", NULL, rc);
	reap_staging(cl, true);
	return TR_OK;
}

static void cl_free(tr_backend *be)
{
	struct tr_cl *cl = tr_cl_of(be);

	if (cl) {
		if (cl->queue)
			clFinish(cl->queue);
		reap_staging(cl, true);
		free(cl->staging);
		if (cl->scratch)
			clReleaseMemObject(cl->scratch);
		tr_cl_release_programs(cl);
		if (cl->queue)
			clReleaseCommandQueue(cl->queue);
		if (cl->context)
			clReleaseContext(cl->context);
		free(cl);
	}
	free(be);
	/* CLBlast caches its compiled programs per context, which keeps our context
	 * alive: let them go with the last backend. */
	if (--n_open == 0)
		CLBlastClearCache();
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

	rc = tr_cl_find_device(spec, &dev, err);
	if (rc != TR_OK)
		return rc; /* TR_BACKEND_NOT_MINE included */
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
