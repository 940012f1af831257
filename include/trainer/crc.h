/* crc.h - CRC-32 (zlib's, as gzip and PNG use) over buffers of any length. */
#ifndef TRAINER_CRC_H
#define TRAINER_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of nothing, to start from. */
uint32_t tr_crc32_init(void);

/* crc continued over p[0..n) (zlib's crc32 takes at most 4 GiB at a time; this
 * goes in pieces). */
uint32_t tr_crc32(uint32_t crc, const void *p, size_t n);

#endif /* TRAINER_CRC_H */
