/*
 * opencl_devices.c - which OpenCL devices there are, and which one a device string names.
 *
 * Numbering, the same for --list-devices and --device: cl:N counts every device of
 * every platform, platforms in the loader's order and devices in each platform's order
 * (what `clinfo -l` shows; ocl-icd reads /etc/OpenCL/vendors/ in name order, so the
 * numbers stay put from run to run while the same drivers are installed); gpu:M counts
 * only the real GPUs among them, in the same order.
 *
 * A simulator is not a GPU. Oclgrind reports its one device as GPU, CPU, accelerator
 * and default at once; taking it for gpu:0 would make `auto` train on a simulator that
 * is thousands of times slower than any real device. Simulators are recognised by
 * platform name.
 */
#include "opencl_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLATFORM_NOT_FOUND_KHR (-1001) /* cl_khr_icd: no ICD installed */

/* Copy a string property into buf, truncating it when it is longer than cap - 1
 * (clGet*Info itself refuses a buffer that is too small). */
static void info_str(cl_int (*get)(void *, cl_uint, size_t, void *, size_t *),
		     void *obj, cl_uint what, char *buf, size_t cap)
{
	size_t size = 0;
	char *tmp;

	snprintf(buf, cap, "?");
	if (get(obj, what, 0, NULL, &size) != CL_SUCCESS || size == 0)
		return;
	tmp = malloc(size + 1);
	if (!tmp)
		return;
	if (get(obj, what, size, tmp, NULL) == CL_SUCCESS) {
		tmp[size] = '\0';
		snprintf(buf, cap, "%s", tmp);
	}
	free(tmp);
}

static cl_int get_device_info(void *obj, cl_uint what, size_t size, void *value,
			      size_t *ret)
{
	return clGetDeviceInfo(obj, what, size, value, ret);
}

static cl_int get_platform_info(void *obj, cl_uint what, size_t size, void *value,
				size_t *ret)
{
	return clGetPlatformInfo(obj, what, size, value, ret);
}

void tr_cl_device_str(cl_device_id dev, cl_device_info what, char *buf, size_t cap)
{
	info_str(get_device_info, dev, what, buf, cap);
}

void tr_cl_platform_str(cl_platform_id p, cl_platform_info what, char *buf, size_t cap)
{
	info_str(get_platform_info, p, what, buf, cap);
}

/* Platform names of OpenCL device simulators (compared case-insensitively). */
static const char *const simulators[] = { "Oclgrind" };

static bool is_simulator(cl_platform_id p)
{
	char name[128];
	size_t i;

	tr_cl_platform_str(p, CL_PLATFORM_NAME, name, sizeof(name));
	for (i = 0; i < sizeof(simulators) / sizeof(simulators[0]); i++)
		if (!strncasecmp(name, simulators[i], strlen(simulators[i])))
			return true;
	return false;
}

static tr_device_kind kind_of(cl_device_type type, bool simulator)
{
	if (simulator)
		return TR_DEVICE_SIMULATOR;
	if (type & CL_DEVICE_TYPE_GPU)
		return TR_DEVICE_GPU;
	if (type & CL_DEVICE_TYPE_CPU)
		return TR_DEVICE_CPU;
	if (type & CL_DEVICE_TYPE_ACCELERATOR)
		return TR_DEVICE_ACCELERATOR;
	return TR_DEVICE_OTHER;
}

/* Append to the devices of list; returns 0 or -1 when out of memory. */
static int add_platform(struct tr_cl_devlist *list, cl_platform_id p)
{
	struct tr_cl_device *grown;
	cl_device_id *ids;
	cl_uint nd = 0, i;
	bool simulator = is_simulator(p);

	/* A platform with no devices (CL_DEVICE_NOT_FOUND) or a broken one is skipped. */
	if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
		return 0;
	ids = calloc(nd, sizeof(*ids));
	grown = realloc(list->dev, (list->n + nd) * sizeof(*grown));
	if (!ids || !grown) {
		free(ids);
		if (grown)
			list->dev = grown;
		return -1;
	}
	list->dev = grown;
	if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, ids, NULL) != CL_SUCCESS)
		goto out_free_ids;
	for (i = 0; i < nd; i++) {
		struct tr_cl_device *d = &list->dev[list->n];

		d->platform = p;
		d->id = ids[i];
		d->type = 0;
		clGetDeviceInfo(ids[i], CL_DEVICE_TYPE, sizeof(d->type), &d->type, NULL);
		d->kind = kind_of(d->type, simulator);
		d->cl_index = list->n;
		d->gpu_index = d->kind == TR_DEVICE_GPU ? (long)list->n_gpu++ : -1;
		list->n++;
	}
out_free_ids:
	free(ids);
	return 0;
}

int tr_cl_enumerate(struct tr_cl_devlist *list, tr_error *err)
{
	cl_platform_id *plats;
	cl_uint np = 0, i;
	cl_int rc;

	memset(list, 0, sizeof(*list));
	rc = clGetPlatformIDs(0, NULL, &np);
	if (rc == PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && np == 0))
		return tr_fail(err, TR_ERR_DEVICE, "%s", tr_cl_no_driver_text());
	if (rc != CL_SUCCESS)
		return tr_cl_fail(err, "clGetPlatformIDs", NULL, rc);
	plats = calloc(np, sizeof(*plats));
	if (!plats)
		return tr_fail(err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
	rc = clGetPlatformIDs(np, plats, NULL);
	if (rc != CL_SUCCESS) {
		free(plats);
		return tr_cl_fail(err, "clGetPlatformIDs", NULL, rc);
	}
	for (i = 0; i < np; i++) {
		if (add_platform(list, plats[i]) != 0) {
			free(plats);
			tr_cl_devlist_free(list);
			return tr_fail(err, TR_ERR_INTERNAL, "OpenCL: out of host memory");
		}
	}
	free(plats);
	return TR_OK;
}

void tr_cl_devlist_free(struct tr_cl_devlist *list)
{
	free(list->dev);
	memset(list, 0, sizeof(*list));
}

/* The device's kind as --list-devices and messages show it. */
static const char *type_name(const struct tr_cl_device *d)
{
	switch (d->kind) {
	case TR_DEVICE_GPU: return "GPU";
	case TR_DEVICE_CPU: return "CPU";
	case TR_DEVICE_ACCELERATOR: return "accel";
	case TR_DEVICE_SIMULATOR: return "sim";
	default: return "other";
	}
}

static void appendf(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* "cl:0 = NAME (CPU, PLATFORM); cl:1 ..." for error messages. */
static void describe_devices(const struct tr_cl_devlist *list, char *buf, size_t cap)
{
	char name[128], plat[96];
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < list->n; i++) {
		const struct tr_cl_device *d = &list->dev[i];

		tr_cl_device_str(d->id, CL_DEVICE_NAME, name, sizeof(name));
		tr_cl_platform_str(d->platform, CL_PLATFORM_NAME, plat, sizeof(plat));
		appendf(buf, cap, "%scl:%zu", i ? "; " : "", d->cl_index);
		if (d->gpu_index >= 0)
			appendf(buf, cap, " (gpu:%ld)", d->gpu_index);
		appendf(buf, cap, " = %s (%s, %s)", name, type_name(d), plat);
	}
}

/* The N of "gpu:N" / "cl:N": decimal digits only, at most 9 of them. */
static int parse_index(const char *s, size_t *out)
{
	size_t i, v = 0;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return -1;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}

int tr_cl_find_device(const char *spec, struct tr_cl_device *out, tr_error *err)
{
	struct tr_cl_devlist list;
	char known[1600];
	bool gpu;
	size_t idx, i;
	int rc;

	if (!strncmp(spec, "gpu:", 4))
		gpu = true;
	else if (!strncmp(spec, "cl:", 3))
		gpu = false;
	else
		return TR_BACKEND_NOT_MINE;
	if (parse_index(spec + (gpu ? 4 : 3), &idx) != 0)
		return tr_fail(err, TR_ERR_USAGE,
			       "--device %s: after \"%s\" comes a device number (0, 1, ...), "
			       "e.g. %s0; see --list-devices", spec, gpu ? "gpu:" : "cl:",
			       gpu ? "gpu:" : "cl:");
	rc = tr_cl_enumerate(&list, err);
	if (rc != TR_OK)
		return tr_error_prefix(err, "--device %s", spec);
	for (i = 0; i < list.n; i++) {
		const struct tr_cl_device *d = &list.dev[i];

		if (gpu ? d->gpu_index == (long)idx : d->cl_index == idx) {
			*out = *d;
			tr_cl_devlist_free(&list);
			return TR_OK;
		}
	}
	describe_devices(&list, known, sizeof(known));
	if (gpu && list.n_gpu == 0)
		rc = tr_fail(err, TR_ERR_DEVICE,
			     "--device %s: no GPU; the OpenCL devices are: %s; use cl:N for them "
			     "(or --device cpu)", spec, known);
	else if (gpu)
		rc = tr_fail(err, TR_ERR_DEVICE,
			     "--device %s: no such device; there %s %zu OpenCL GPU%s (gpu:0 to "
			     "gpu:%zu) among the OpenCL devices: %s", spec,
			     list.n_gpu == 1 ? "is" : "are", list.n_gpu, list.n_gpu == 1 ? "" : "s",
			     list.n_gpu - 1, known);
	else
		rc = tr_fail(err, TR_ERR_DEVICE,
			     "--device %s: no such device; there %s %zu OpenCL device%s: %s",
			     spec, list.n == 1 ? "is" : "are", list.n, list.n == 1 ? "" : "s",
			     known);
	tr_cl_devlist_free(&list);
	return rc;
}

static void format_bytes(cl_ulong bytes, char *buf, size_t cap)
{
	double gib = (double)bytes / (1024.0 * 1024.0 * 1024.0);

	if (gib >= 1.0)
		snprintf(buf, cap, "%.1f GiB", gib);
	else
		snprintf(buf, cap, "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
}

/* "3.0" out of "OpenCL 3.0 PoCL HSTR: ...". */
static void short_version(const char *version, char *buf, size_t cap)
{
	const char *v = strncmp(version, "OpenCL ", 7) ? version : version + 7;
	size_t len = strcspn(v, " ");

	snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
}

static void list_device(const struct tr_cl_device *d, char *buf, size_t cap)
{
	char name[256], plat[128], version[128], ver[16], driver[64], label[32];
	char mem[16], alloc[16], tuning[1400];
	cl_ulong global = 0, max_alloc = 0;
	cl_uint cus = 0;

	tr_cl_device_str(d->id, CL_DEVICE_NAME, name, sizeof(name));
	tr_cl_device_str(d->id, CL_DEVICE_VERSION, version, sizeof(version));
	tr_cl_device_str(d->id, CL_DRIVER_VERSION, driver, sizeof(driver));
	tr_cl_platform_str(d->platform, CL_PLATFORM_NAME, plat, sizeof(plat));
	clGetDeviceInfo(d->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cus), &cus, NULL);
	clGetDeviceInfo(d->id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(global), &global, NULL);
	clGetDeviceInfo(d->id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(max_alloc), &max_alloc,
			NULL);
	short_version(version, ver, sizeof(ver));
	format_bytes(global, mem, sizeof(mem));
	format_bytes(max_alloc, alloc, sizeof(alloc));
	if (d->gpu_index >= 0)
		snprintf(label, sizeof(label), "cl:%zu gpu:%ld", d->cl_index, d->gpu_index);
	else
		snprintf(label, sizeof(label), "cl:%zu", d->cl_index);
	appendf(buf, cap, "  %-12s %-6s %4u %9s %9s  %-6s %-14s %s: %s\n", label,
		type_name(d), cus, mem, alloc, ver, driver, plat, name);
	tr_cl_tuning_status(d->platform, d->id, tuning, sizeof(tuning));
	appendf(buf, cap, "  %-12s CLBlast %s\n", "", tuning);
}

void tr_cl_list(char *buf, size_t cap)
{
	struct tr_cl_devlist list;
	tr_error err;
	size_t i;

	if (tr_cl_enumerate(&list, &err) != TR_OK) {
		appendf(buf, cap, "OpenCL: %s\n", err.msg);
		return;
	}
	appendf(buf, cap, "OpenCL devices (--device cl:N; gpu:M is the M-th GPU; sim = a "
		"simulator, never chosen by auto):\n");
	appendf(buf, cap, "  %-12s %-6s %4s %9s %9s  %-6s %-14s %s\n", "device", "type",
		"CUs", "memory", "max alloc", "OpenCL", "driver", "platform: name");
	for (i = 0; i < list.n; i++)
		list_device(&list.dev[i], buf, cap);
	if (list.n == 0)
		appendf(buf, cap, "  (the OpenCL platforms have no devices)\n");
	tr_cl_devlist_free(&list);
}

size_t tr_cl_devices(char (*names)[TR_DEVICE_STR_MAX], tr_device_kind *kinds, size_t cap)
{
	struct tr_cl_devlist list;
	tr_error err;
	size_t i, n;

	if (tr_cl_enumerate(&list, &err) != TR_OK)
		return 0;
	for (i = 0; i < list.n && i < cap; i++) {
		snprintf(names[i], TR_DEVICE_STR_MAX, "cl:%zu", list.dev[i].cl_index);
		if (kinds)
			kinds[i] = list.dev[i].kind;
	}
	n = list.n; /* before the list is freed (and zeroed) */
	tr_cl_devlist_free(&list);
	return n;
}

/* Cheap and quiet: no context is created, and any failure just means "no". */
int tr_cl_has_gpu(void)
{
	struct tr_cl_devlist list;
	tr_error err;
	size_t n_gpu;

	if (tr_cl_enumerate(&list, &err) != TR_OK)
		return 0;
	n_gpu = list.n_gpu;
	tr_cl_devlist_free(&list);
	return n_gpu > 0;
}
