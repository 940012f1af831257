/*
 * clblast_params.c - every override of CLBlast's parameters goes through here.
 *
 * CLBlast keeps an override for the rest of the process, per device and kernel name,
 * for every later caller (CLBlastClearCache clears its program caches, not the
 * overrides), and after one CLBlast's own values can no longer be read back. So the
 * first override of a (device, kernel) first records CLBlast's own values, process-wide:
 * tr_clblast_original gives them (the tuner's defaults, the switch-over the backend
 * compares with), and tr_clblast_restore_all puts them back when the last OpenCL
 * backend closes, so that nothing one backend chose outlives it.
 */
#include "clblast_params.h"

#include <clblast_c.h>
#include <pthread.h>
#include <string.h>

#include "clblast_defaults.h"

#define MAX_PARAMS 16
#define MAX_RECORDS 32 /* (device, kernel) pairs: 3 kernels a device */

struct record {
	cl_device_id dev;
	const char *kernel;      /* one of the caller's string constants */
	const char *const *names;
	size_t n;
	size_t values[MAX_PARAMS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct record records[MAX_RECORDS];
static size_t n_records;

static struct record *find(cl_device_id dev, const char *kernel)
{
	size_t i;

	for (i = 0; i < n_records; i++)
		if (records[i].dev == dev && !strcmp(records[i].kernel, kernel))
			return &records[i];
	return NULL;
}

int tr_clblast_override(cl_device_id dev, const char *kernel, size_t n,
			const char *const *names, const size_t *values)
{
	int st;

	pthread_mutex_lock(&lock);
	if (!find(dev, kernel) && n <= MAX_PARAMS && n_records < MAX_RECORDS) {
		struct record *r = &records[n_records];

		/* CLBlast's own values, while they still are (a failure: nothing to restore) */
		if (tr_clblast_retrieve(dev, kernel, n, names, r->values) == CLBlastSuccess) {
			r->dev = dev;
			r->kernel = kernel;
			r->names = names;
			r->n = n;
			n_records++;
		}
	}
	st = CLBlastOverrideParameters(dev, kernel, CLBlastPrecisionSingle, n,
				       (const char **)names, values);
	pthread_mutex_unlock(&lock);
	return st;
}

int tr_clblast_original(cl_device_id dev, const char *kernel, size_t n,
			const char *const *names, size_t *values)
{
	const struct record *r;
	size_t i, j;
	int st = CLBlastSuccess;

	pthread_mutex_lock(&lock);
	r = find(dev, kernel);
	if (!r) {
		st = tr_clblast_retrieve(dev, kernel, n, names, values);
	} else {
		for (i = 0; i < n && st == CLBlastSuccess; i++) {
			for (j = 0; j < r->n && strcmp(r->names[j], names[i]) != 0; j++)
				;
			if (j == r->n)
				st = CLBlastMissingOverrideParameter;
			else
				values[i] = r->values[j];
		}
	}
	pthread_mutex_unlock(&lock);
	return st;
}

void tr_clblast_restore_all(void)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < n_records; i++)
		CLBlastOverrideParameters(records[i].dev, records[i].kernel,
					  CLBlastPrecisionSingle, records[i].n,
					  (const char **)records[i].names, records[i].values);
	n_records = 0;
	pthread_mutex_unlock(&lock);
}
