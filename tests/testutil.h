/*
 * testutil.h - a tiny test harness shared by tests/test_*.c.
 *
 * CHECK(cond, fmt, ...) records a failure with file and line and carries on;
 * test_finish() prints "N passed, N failed" and returns the exit code for main.
 * Exit code 77 (TEST_SKIP) makes ctest report the test as skipped.
 */
#ifndef TRAINER_TESTUTIL_H
#define TRAINER_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>

#define TEST_SKIP 77

extern int test_passed;
extern int test_failed;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (cond) {                                                   \
			test_passed++;                                        \
		} else {                                                      \
			test_failed++;                                        \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                \
		}                                                             \
	} while (0)

/* Print the totals; return 0 if nothing failed (and something passed), else 1. */
int test_finish(void);

/* Normalised mean squared error sum((a-b)^2) / sum(a^2), the measure ggml's
 * test-backend-ops uses; NaN or Inf anywhere in either array returns +INFINITY.
 * When sum(a^2) is 0, returns sum(b^2) (so all-zero against all-zero is 0). */
double test_nmse(const float *ref, const float *got, size_t n);

/* A scratch directory under $TMPDIR (or /tmp), created fresh; returns its path
 * (static storage, valid until the next call). */
const char *test_tmpdir(const char *tag);

/* The MNIST directory for tests ($TRAINER_DATA_DIR, else <source>/data/mnist), or NULL
 * with a message on stderr when its files are absent. */
const char *test_data_dir(void);

/* The OpenCL device the tests use: $TRAINER_TEST_DEVICE, else "cl:0" (the first
 * OpenCL device, as --list-devices numbers them). */
const char *test_device(void);

#endif /* TRAINER_TESTUTIL_H */
