/* fuzz_util.c - see fuzz_util.h. */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static char scratch[4096];
static int scratch_fd = -1;
static int scratch_on_disk;

static void remove_scratch(void)
{
	if (scratch_on_disk)
		unlink(scratch);
}

/* An in-memory file (reopened by the readers through /proc/self/fd/N) keeps the
 * fuzzers fast; a temporary file where memfd_create or /proc is missing. */
static void open_scratch(void)
{
	const char *dir = getenv("TMPDIR");

	scratch_fd = memfd_create("trainer-fuzz", 0);
	if (scratch_fd >= 0) {
		snprintf(scratch, sizeof(scratch), "/proc/self/fd/%d", scratch_fd);
		if (access(scratch, R_OK) == 0)
			return;
		close(scratch_fd);
	}
	snprintf(scratch, sizeof(scratch), "%s/trainer-fuzz-XXXXXX", dir && *dir ? dir : "/tmp");
	scratch_fd = mkstemp(scratch);
	if (scratch_fd < 0) {
		perror("fuzz: mkstemp");
		abort();
	}
	scratch_on_disk = 1;
	atexit(remove_scratch);
}

const char *fuzz_scratch_file(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (scratch_fd < 0)
		open_scratch();
	if (ftruncate(scratch_fd, 0) != 0) {
		perror("fuzz: ftruncate");
		abort();
	}
	while (done < size) {
		ssize_t n = pwrite(scratch_fd, data + done, size - done, (off_t)done);

		if (n <= 0) {
			perror("fuzz: pwrite");
			abort();
		}
		done += (size_t)n;
	}
	return scratch;
}
