/*
 * opencl_program.c - building the cl/ programs and creating their kernels.
 *
 * Sources come from the copies embedded at build time (cl_sources.h), or, when the
 * environment variable TRAINER_CL_DIR names a directory, from <dir>/<file>.cl, so that
 * kernels can be edited without rebuilding the program. Every program is built once,
 * when the backend is opened.
 */
#include "opencl_impl.h"
#include "trainer/formats.h"
#include "cl_sources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which kernels each file holds: kernel ids [first, first + count). */
static const struct {
	const char *file;
	int first;
	int count;
} program_files[TR_CL_N_PROGRAMS] = {
	{ "kernels.cl", 0, TR_K_GATHER_EXAMPLES },
	{ "data.cl", TR_K_GATHER_EXAMPLES, 1 },
};

static const char *const kernel_names[TR_CL_N_KERNELS] = {
	[TR_K_BIAS_ACT] = "bias_act",
	[TR_K_RELU_BACKWARD] = "relu_backward",
	[TR_K_ADAM_L2] = "adam_l2",
	[TR_K_SOFTMAX_XENT] = "softmax_xent",
	[TR_K_COUNT_CORRECT] = "count_correct",
	[TR_K_SUM_SQUARES] = "sum_squares",
	[TR_K_REDUCE_SUM] = "reduce_sum",
	[TR_K_BIAS_GRAD_PARTIAL] = "bias_grad_partial",
	[TR_K_BIAS_GRAD_FINAL] = "bias_grad_final",
	[TR_K_GATHER_EXAMPLES] = "gather_examples",
};

/* Kernels that keep one float per work-item in local memory. */
static bool uses_local_tmp(int id)
{
	return id == TR_K_SUM_SQUARES || id == TR_K_REDUCE_SUM || id == TR_K_SOFTMAX_XENT ||
	       id == TR_K_COUNT_CORRECT;
}

/* A work-group size we prefer when the device allows it: a common sweet spot on GPUs,
 * and plenty for a CPU. The device and kernel limits below always take precedence. */
#define PREFERRED_WG 256

/* The contents of path, NUL-terminated, in *out (caller frees). */
static int read_file(const char *path, char **out, tr_error *err)
{
	size_t len;
	int rc;

	rc = tr_input_read_all(path, "an OpenCL kernel file", (size_t)64 << 20, out, &len,
			       err);
	if (rc)
		return tr_error_prefix(err, "OpenCL (TRAINER_CL_DIR is set)");
	return TR_OK;
}

/* The source of `file`: *owned is set when it was read from disk (caller frees);
 * origin says where it came from, for messages. */
static int find_source(const char *file, const char **src, char **owned,
		       char *origin, size_t cap, tr_error *err)
{
	const char *dir = getenv("TRAINER_CL_DIR");
	size_t i;
	int rc;

	*owned = NULL;
	if (dir && *dir) {
		snprintf(origin, cap, "%s/%s", dir, file);
		rc = read_file(origin, owned, err);
		*src = *owned;
		return rc;
	}
	snprintf(origin, cap, "cl/%s, embedded", file);
	for (i = 0; i < tr_cl_n_sources; i++) {
		if (!strcmp(tr_cl_sources[i].name, file)) {
			*src = tr_cl_sources[i].source;
			return TR_OK;
		}
	}
	return tr_fail(err, TR_ERR_INTERNAL, "OpenCL: kernel file cl/%s is not embedded in "
		       "this build (re-run cmake so that it finds cl/*.cl)", file);
}

/* The build failed: say which file, for which device, and quote the build log. */
static int build_failure(cl_program prog, cl_device_id dev, const char *file,
			 const char *origin, const char *device_name, cl_int code,
			 tr_error *err)
{
	enum { LOG_SHOWN = 1400 }; /* what fits in a tr_error beside the rest */
	size_t size = 0, len;
	char *log = NULL, *start;
	int rc;

	if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) ==
	    CL_SUCCESS && size > 0 && (log = calloc(1, size + 1)) != NULL &&
	    clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, size, log, NULL) !=
	    CL_SUCCESS)
		log[0] = '\0';
	start = log ? log : "";
	while (*start == '\n' || *start == '\r' || *start == ' ')
		start++;
	len = strlen(start);
	while (len > 0 && (start[len - 1] == '\n' || start[len - 1] == '\r' ||
			   start[len - 1] == ' '))
		start[--len] = '\0';
	if (len == 0)
		start = "(the driver gave no build log)";
	if (len > LOG_SHOWN)
		rc = tr_fail(err, TR_ERR_DEVICE, "OpenCL: building kernel file %s (%s) for %s "
			     "failed: %s; build log (first %d of %zu bytes):\n%.*s\n[...]",
			     file, origin, device_name, tr_cl_errname(code), LOG_SHOWN, len,
			     LOG_SHOWN, start);
	else
		rc = tr_fail(err, TR_ERR_DEVICE, "OpenCL: building kernel file %s (%s) for %s "
			     "failed: %s; build log:\n%s", file, origin, device_name,
			     tr_cl_errname(code), start);
	free(log);
	return rc;
}

/* The largest power of two <= n (n >= 1). */
static size_t pow2_floor(size_t n)
{
	size_t p = 1;

	while (p <= n / 2)
		p *= 2;
	return p;
}

/* The work-group size for kernel id: within what the device and the compiled kernel
 * allow (and local memory, for the reductions), a power of two, at most PREFERRED_WG. */
static int choose_wg(struct tr_cl *cl, int id, tr_error *err)
{
	struct tr_cl_kernel *k = &cl->kernels[id];
	size_t kernel_max = 0, wg;
	cl_ulong kernel_local = 0;
	cl_int rc;

	rc = clGetKernelWorkGroupInfo(k->kernel, cl->device, CL_KERNEL_WORK_GROUP_SIZE,
				      sizeof(kernel_max), &kernel_max, NULL);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(err, "clGetKernelWorkGroupInfo", k->name, rc);
	wg = PREFERRED_WG;
	if (wg > cl->max_wg)
		wg = cl->max_wg;
	if (kernel_max > 0 && wg > kernel_max)
		wg = kernel_max;
	if (uses_local_tmp(id)) {
		rc = clGetKernelWorkGroupInfo(k->kernel, cl->device, CL_KERNEL_LOCAL_MEM_SIZE,
					      sizeof(kernel_local), &kernel_local, NULL);
		if (rc != CL_SUCCESS)
			return tr_cl_fail(err, "clGetKernelWorkGroupInfo", k->name, rc);
		if (cl->local_mem > kernel_local &&
		    wg > (cl->local_mem - kernel_local) / sizeof(float))
			wg = (size_t)((cl->local_mem - kernel_local) / sizeof(float));
	}
	k->wg = pow2_floor(wg > 0 ? wg : 1);
	return TR_OK;
}

/* Correctly rounded division and sqrt where the device offers them (an OpenCL 1.2
 * option): without it OpenCL allows 2.5 ulp for x / y and 3 ulp for sqrt, and Adam's
 * update strays further from cpu-ref's. Subnormals may be flushed to zero
 * (TR_CL_DENORMS_OPTION, see opencl_impl.h). */
static const char *build_options(cl_device_id dev)
{
	cl_device_fp_config fp = 0;

	if (clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof(fp), &fp, NULL) ==
	    CL_SUCCESS && (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT))
		return "-cl-fp32-correctly-rounded-divide-sqrt " TR_CL_DENORMS_OPTION;
	return TR_CL_DENORMS_OPTION;
}

static int build_program(struct tr_cl *cl, int p, const char *device_name,
			 tr_error *err)
{
	const char *file = program_files[p].file;
	const char *src = NULL;
	char origin[1024], *owned;
	cl_program prog;
	cl_int rc;
	int i, status;

	status = find_source(file, &src, &owned, origin, sizeof(origin), err);
	if (status != TR_OK)
		return status;
	prog = clCreateProgramWithSource(cl->context, 1, &src, NULL, &rc);
	free(owned);
	if (rc != CL_SUCCESS)
		return tr_cl_fail(err, "clCreateProgramWithSource", file, rc);
	cl->programs[p] = prog;
	rc = clBuildProgram(prog, 1, &cl->device, build_options(cl->device), NULL, NULL);
	if (rc != CL_SUCCESS)
		return build_failure(prog, cl->device, file, origin, device_name, rc, err);
	for (i = program_files[p].first; i < program_files[p].first + program_files[p].count;
	     i++) {
		struct tr_cl_kernel *k = &cl->kernels[i];

		k->name = kernel_names[i];
		k->kernel = clCreateKernel(prog, k->name, &rc);
		if (rc != CL_SUCCESS) {
			k->kernel = NULL;
			return tr_fail(err, TR_ERR_DEVICE, "OpenCL: clCreateKernel(%s) from %s "
				       "failed: %s", k->name, origin, tr_cl_errname(rc));
		}
		status = choose_wg(cl, i, err);
		if (status != TR_OK)
			return status;
	}
	return TR_OK;
}

int tr_cl_build_programs(struct tr_cl *cl, const char *device_name, tr_error *err)
{
	int p, rc;

	for (p = 0; p < TR_CL_N_PROGRAMS; p++) {
		rc = build_program(cl, p, device_name, err);
		if (rc != TR_OK)
			return rc;
	}
	return TR_OK;
}

void tr_cl_release_programs(struct tr_cl *cl)
{
	int i;

	for (i = 0; i < TR_CL_N_KERNELS; i++) {
		if (cl->kernels[i].kernel)
			clReleaseKernel(cl->kernels[i].kernel);
		cl->kernels[i].kernel = NULL;
	}
	for (i = 0; i < TR_CL_N_PROGRAMS; i++) {
		if (cl->programs[i])
			clReleaseProgram(cl->programs[i]);
		cl->programs[i] = NULL;
	}
}
