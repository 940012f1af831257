/*
 * registry.c - the one place that knows which backends were built, and how a
 * --device string picks one. The only file with backend #ifdefs.
 *
 * Device strings: "cpu-ref", "cpu", "auto" (an OpenCL GPU if there is one, else cpu),
 * and with OpenCL: "gpu:N" (N-th GPU across all platforms), "cl:N" (N-th OpenCL device
 * of any type, as --list-devices numbers them).
 */
#include "backend_impl.h"

#include <stdio.h>
#include <string.h>

static const struct tr_backend_reg *const registry[] = {
#ifdef TR_HAVE_OPENCL
	&tr_opencl_reg,
#endif
#ifdef TR_HAVE_CBLAS
	&tr_cpu_reg,
#endif
	&tr_cpu_ref_reg, /* the reference: always built, listed last */
};

#define N_REG (sizeof(registry) / sizeof(registry[0]))

const char *tr_backend_compiled(void)
{
	return "cpu-ref"
#ifdef TR_HAVE_CBLAS
	       ",cpu"
#endif
#ifdef TR_HAVE_OPENCL
	       ",opencl"
#endif
		;
}

/* auto: the first family that has a real GPU (a simulator such as Oclgrind is not
 * one), else the fastest CPU backend built: `cpu` beats an OpenCL CPU device. */
static int open_auto(const tr_backend_options *opts, tr_backend **out, tr_error *err)
{
	size_t i;

	for (i = 0; i < N_REG; i++)
		if (registry[i]->has_gpu && registry[i]->has_gpu())
			return registry[i]->open("gpu:0", opts, out, err);
	for (i = 0; i < N_REG; i++)
		if (!strcmp(registry[i]->name, "cpu"))
			return registry[i]->open("cpu", opts, out, err);
	return tr_cpu_ref_reg.open("cpu-ref", opts, out, err);
}

int tr_backend_open(const char *device, const tr_backend_options *opts,
		    tr_backend **out, tr_error *err)
{
	tr_backend_options none = { 0 };
	size_t i;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &none;
	if (!device || !strcmp(device, "auto"))
		return open_auto(opts, out, err);
	for (i = 0; i < N_REG; i++) {
		rc = registry[i]->open(device, opts, out, err);
		if (rc != TR_BACKEND_NOT_MINE)
			return rc;
	}
	if (!strcmp(device, "cpu") || !strncmp(device, "gpu:", 4) ||
	    !strncmp(device, "cl:", 3))
		return tr_fail(err, TR_ERR_USAGE,
			       "--device %s: this build has no backend for it (built: %s); "
			       "install the missing libraries (see README) and rebuild",
			       device, tr_backend_compiled());
	return tr_fail(err, TR_ERR_USAGE,
		       "--device %s: unknown device; use auto, cpu, cpu-ref, gpu:N or cl:N "
		       "(see --list-devices)", device);
}

int tr_backend_list_devices(char *buf, size_t cap)
{
	size_t i;

	if (cap == 0)
		return TR_OK;
	buf[0] = '\0';
	for (i = 0; i < N_REG; i++)
		if (registry[i]->list)
			registry[i]->list(buf, cap);
	return TR_OK;
}

const char *tr_device_kind_name(tr_device_kind kind)
{
	switch (kind) {
	case TR_DEVICE_GPU: return "gpu";
	case TR_DEVICE_CPU: return "cpu";
	case TR_DEVICE_ACCELERATOR: return "accelerator";
	case TR_DEVICE_SIMULATOR: return "simulator";
	default: return "other";
	}
}

size_t tr_backend_devices(char (*names)[TR_DEVICE_STR_MAX], tr_device_kind *kinds,
			  size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < N_REG; i++) {
		if (registry[i]->devices) {
			n += registry[i]->devices(n < cap ? names + n : NULL,
						  kinds && n < cap ? kinds + n : NULL,
						  n < cap ? cap - n : 0);
			continue;
		}
		if (n < cap) {
			snprintf(names[n], TR_DEVICE_STR_MAX, "%s", registry[i]->name);
			if (kinds)
				kinds[n] = TR_DEVICE_CPU;
		}
		n++;
	}
	return n;
}
