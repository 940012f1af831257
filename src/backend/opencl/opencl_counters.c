/*
 * opencl_counters.c - what the OpenCL backend costs, counted where it happens: kernel
 * launches, bytes written from the host, blocking waits and buffer creations, CLBlast's
 * own calls included.
 *
 * CLBlast enqueues its kernels (one for a direct GEMM, up to five for an indirect one,
 * with pad and transpose copies) on our queue and tells us of none but the last. So the
 * few OpenCL entry points that matter are wrapped here: this program defines
 * clEnqueueNDRangeKernel and the others itself, counts the call, and forwards it to
 * the OpenCL loader's function, found with dlsym(RTLD_NEXT). A definition in the
 * executable comes first in the dynamic linker's search order, so libclblast's calls
 * reach it as ours do (the linker exports these definitions from every executable,
 * because libclblast, a shared library it links, refers to them). Whether that holds
 * in this process is checked, not assumed: tr_backend_counters.libraries_counted says
 * so.
 *
 * The counters are process-wide atomics: they count every backend and thread, and a
 * caller measures a span by subtracting two readings. Under a tool that preloads its
 * own OpenCL library (Oclgrind), that library's internal calls through these entry
 * points are counted too, so its waits may read higher than the program's own.
 *
 * Where the loader's functions cannot be found (a fully static build), every OpenCL
 * call would fail: the backend refuses to open instead, saying why
 * (tr_cl_counters_forward_ok).
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "opencl_impl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_uint_fast64_t n_launches, n_h2d_bytes, n_syncs, n_allocs;

typedef cl_int (*ndrange_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *,
			     const size_t *, const size_t *, cl_uint, const cl_event *,
			     cl_event *);
typedef cl_int (*write_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
			   const void *, cl_uint, const cl_event *, cl_event *);
typedef cl_int (*read_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *,
			  cl_uint, const cl_event *, cl_event *);
typedef cl_int (*finish_fn)(cl_command_queue);
typedef cl_int (*wait_fn)(cl_uint, const cl_event *);
typedef cl_mem (*create_fn)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
typedef void *(*map_fn)(cl_command_queue, cl_mem, cl_bool, cl_map_flags, size_t, size_t,
			cl_uint, const cl_event *, cl_event *, cl_int *);

/* The loader's entry points, looked up once for every thread. */
static struct {
	ndrange_fn ndrange;
	write_fn write;
	read_fn read;
	map_fn map;
	finish_fn finish;
	wait_fn wait;
	create_fn create;
} real;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void resolve(void)
{
	*(void **)&real.ndrange = next("clEnqueueNDRangeKernel");
	*(void **)&real.write = next("clEnqueueWriteBuffer");
	*(void **)&real.read = next("clEnqueueReadBuffer");
	*(void **)&real.map = next("clEnqueueMapBuffer");
	*(void **)&real.finish = next("clFinish");
	*(void **)&real.wait = next("clWaitForEvents");
	*(void **)&real.create = next("clCreateBuffer");
}

#define REAL(member) (pthread_once(&resolved, resolve), real.member)

bool tr_cl_counters_forward_ok(void)
{
	pthread_once(&resolved, resolve);
	return real.ndrange && real.write && real.read && real.map && real.finish &&
	       real.wait && real.create;
}

CL_API_ENTRY cl_int CL_API_CALL
clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *off,
		       const size_t *global, const size_t *local, cl_uint n_wait,
		       const cl_event *wait, cl_event *ev)
{
	ndrange_fn f = REAL(ndrange);

	if (!f)
		return CL_INVALID_OPERATION;
	atomic_fetch_add(&n_launches, 1);
	return f(q, k, dims, off, global, local, n_wait, wait, ev);
}

CL_API_ENTRY cl_int CL_API_CALL
clEnqueueWriteBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t off,
		     size_t size, const void *src, cl_uint n_wait, const cl_event *wait,
		     cl_event *ev)
{
	write_fn f = REAL(write);

	if (!f)
		return CL_INVALID_OPERATION;
	atomic_fetch_add(&n_h2d_bytes, size);
	if (blocking)
		atomic_fetch_add(&n_syncs, 1);
	return f(q, buf, blocking, off, size, src, n_wait, wait, ev);
}

CL_API_ENTRY cl_int CL_API_CALL
clEnqueueReadBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t off,
		    size_t size, void *dst, cl_uint n_wait, const cl_event *wait,
		    cl_event *ev)
{
	read_fn f = REAL(read);

	if (!f)
		return CL_INVALID_OPERATION;
	if (blocking)
		atomic_fetch_add(&n_syncs, 1);
	return f(q, buf, blocking, off, size, dst, n_wait, wait, ev);
}

CL_API_ENTRY void *CL_API_CALL
clEnqueueMapBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, cl_map_flags flags,
		   size_t off, size_t size, cl_uint n_wait, const cl_event *wait,
		   cl_event *ev, cl_int *rc)
{
	map_fn f = REAL(map);

	if (!f) {
		if (rc)
			*rc = CL_INVALID_OPERATION;
		return NULL;
	}
	if (blocking)
		atomic_fetch_add(&n_syncs, 1);
	return f(q, buf, blocking, flags, off, size, n_wait, wait, ev, rc);
}

CL_API_ENTRY cl_int CL_API_CALL clFinish(cl_command_queue q)
{
	finish_fn f = REAL(finish);

	if (!f)
		return CL_INVALID_OPERATION;
	atomic_fetch_add(&n_syncs, 1);
	return f(q);
}

CL_API_ENTRY cl_int CL_API_CALL clWaitForEvents(cl_uint n, const cl_event *events)
{
	wait_fn f = REAL(wait);

	if (!f)
		return CL_INVALID_OPERATION;
	atomic_fetch_add(&n_syncs, 1);
	return f(n, events);
}

CL_API_ENTRY cl_mem CL_API_CALL
clCreateBuffer(cl_context ctx, cl_mem_flags flags, size_t size, void *host, cl_int *rc)
{
	create_fn f = REAL(create);

	if (!f) {
		if (rc)
			*rc = CL_INVALID_OPERATION;
		return NULL;
	}
	atomic_fetch_add(&n_allocs, 1);
	return f(ctx, flags, size, host, rc);
}

/* Do other libraries' calls reach the wrappers? They do when the dynamic linker's
 * global search finds this definition first. */
static bool wrappers_global(void)
{
	void *global = dlsym(RTLD_DEFAULT, "clEnqueueNDRangeKernel");

	return global == (void *)clEnqueueNDRangeKernel;
}

bool tr_cl_counters(const tr_backend *be, tr_backend_counters *out)
{
	out->launches = atomic_load(&n_launches);
	out->host_to_device_bytes = atomic_load(&n_h2d_bytes);
	out->blocking_syncs = atomic_load(&n_syncs);
	out->allocations = atomic_load(&n_allocs);
	out->libraries_counted = wrappers_global();
	return true;
}
