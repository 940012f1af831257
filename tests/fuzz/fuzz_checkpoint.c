/*
 * fuzz_checkpoint.c - libFuzzer target: the checkpoint parser (tr_checkpoint_parse),
 * from memory. Each input is parsed as it is and once more with its trailing CRC-32
 * recomputed, so that mutations get past the CRC check into the field checks.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "trainer/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const uint8_t *data, size_t size)
{
	tr_checkpoint c;
	tr_error err;
	size_t i;

	tr_error_clear(&err);
	if (tr_checkpoint_parse(data, size, "fuzz.bin", &c, &err) != TR_OK) {
		if (err.msg[0] == '\0' || c.params || c.metrics || c.batcher.perm)
			abort();
		return;
	}
	/* Everything the parser accepted must be as large as it claims. */
	if (!c.params || !c.adam_m || !c.adam_v || !c.metrics ||
	    c.batcher.n != c.train_count || c.batcher.cursor > c.batcher.n)
		abort();
	for (i = 0; i < c.batcher.n; i++)
		if (c.batcher.perm[i] >= c.batcher.n)
			abort();
	if (c.cfg.layout.n_params > 0) {
		volatile float sink = c.params[c.cfg.layout.n_params - 1] +
				      c.adam_v[c.cfg.layout.n_params - 1];
		(void)sink;
	}
	if (c.n_metrics > 0) {
		volatile long sink = c.metrics[c.n_metrics - 1].iter;
		(void)sink;
	}
	tr_checkpoint_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint32_t crc;

	parse(data, size);
	if (size < 16)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), copy, (uInt)(size - 4));
	memcpy(copy + size - 4, &crc, 4); /* little-endian host, as the format */
	parse(copy, size);
	free(copy);
	return 0;
}
