/*
 * fuzz_util.h - shared by the fuzz targets: the inputs of the readers that take a
 * path go through one temporary file per process, rewritten for every input.
 */
#ifndef TRAINER_FUZZ_UTIL_H
#define TRAINER_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Write data to this process's scratch file (created on first use, in $TMPDIR or
 * /tmp, removed at exit) and return its path. Aborts if the file cannot be written:
 * a harness failure, not a finding. */
const char *fuzz_scratch_file(const uint8_t *data, size_t size);

#endif /* TRAINER_FUZZ_UTIL_H */
