/*
 * fuzz_idx.c - libFuzzer target: the IDX reader (tr_idx_read), plain and gzipped, as an
 * image file and as a label file. Must never crash, read out of bounds, leak, or
 * allocate more than the file can justify; errors must come with a message.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "trainer/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_scratch_file(data, size);
	int images;

	for (images = 0; images <= 1; images++) {
		tr_error err;
		tr_idx idx;
		int rc;

		tr_error_clear(&err);
		rc = tr_idx_read(path, images, &idx, &err);
		if (rc == TR_OK) {
			size_t bytes = idx.count * idx.rows * idx.cols;
			volatile uint8_t sink = 0;

			if (idx.count == 0 || !idx.data || (!images && (idx.rows != 1 || idx.cols != 1)))
				abort();
			sink ^= idx.data[0];
			sink ^= idx.data[bytes - 1]; /* ASan checks the whole claimed extent */
			(void)sink;
		} else if (err.msg[0] == '\0' || idx.data) {
			abort(); /* an error without a message, or a half-filled result */
		}
		tr_idx_free(&idx);
	}
	return 0;
}
