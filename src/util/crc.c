/* crc.c - see include/trainer/crc.h. */
#include "trainer/crc.h"

#include <zlib.h>

uint32_t tr_crc32_init(void)
{
	return (uint32_t)crc32(0L, Z_NULL, 0);
}

uint32_t tr_crc32(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	uLong c = crc;

	while (n > 0) {
		size_t k = n > (1u << 30) ? (1u << 30) : n;

		c = crc32(c, b, (uInt)k);
		b += k;
		n -= k;
	}
	return (uint32_t)c;
}
