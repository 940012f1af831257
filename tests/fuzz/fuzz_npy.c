/*
 * fuzz_npy.c - libFuzzer target: the .npy reader (tr_npy_read). Must never crash, read
 * out of bounds, leak, or allocate more than the file holds; on success the data holds
 * exactly the elements the shape says.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "trainer/formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_scratch_file(data, size);
	size_t shape[TR_NPY_MAX_DIMS], n = 1;
	float *arr = NULL;
	tr_error err;
	int ndim = -1, rc, i;

	tr_error_clear(&err);
	rc = tr_npy_read(path, &arr, shape, &ndim, &err);
	if (rc != TR_OK) {
		if (arr || err.msg[0] == '\0')
			abort();
		return 0;
	}
	if (!arr || ndim < 0 || ndim > TR_NPY_MAX_DIMS)
		abort();
	for (i = 0; i < ndim; i++)
		n *= shape[i];
	if (n * sizeof(float) > size)
		abort(); /* more data than the file holds */
	if (n > 0) {
		volatile float sink = arr[0] + arr[n - 1];

		(void)sink;
	}
	free(arr);
	return 0;
}
