/*
 * test_gather.c - the data set held by the backend, and the gather op that builds a
 * batch from it, on every backend: the floats must be the host's BIT FOR BIT (the
 * parity suite and resume equality rest on it), whichever path the backend takes.
 *
 *  - tr_pixel_scale[v] is v / 255.0f as the host divides, for all 256 bytes;
 *  - on cpu-ref, cpu and the OpenCL device (TRAINER_TEST_DEVICE, default cl:0), with the
 *    examples on the device and with TRAINER_CL_DATA=host (staged through pinned
 *    memory): a batch by indices (every byte value appears), a range, a batch at an
 *    offset inside the set (a split), into a view at an offset, all equal to
 *    tr_split_gather's floats with memcmp;
 *  - indices outside the set are refused with TR_ERR_INTERNAL, never read.
 *
 * Without an OpenCL device that part is skipped (a failure under
 * TRAINER_REQUIRE_OPENCL=1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trainer/backend.h"
#include "trainer/data.h"

#define COUNT 300  /* examples in the set */
#define SIZE 29    /* bytes per image: odd, so rows straddle any vector width */
#define N 37       /* examples in a batch */

static uint8_t images[COUNT * SIZE], labels[COUNT];

static void test_pixel_table(void)
{
	volatile float d = 255.0f; /* a division at run time, on this host */
	int v, bad = 0;

	for (v = 0; v < 256; v++)
		bad += memcmp(&tr_pixel_scale[v], &(float){ (float)v / d }, sizeof(float)) != 0;
	CHECK(bad == 0, "tr_pixel_scale differs from the host's division for %d bytes", bad);
}

/* The host's floats for examples base + idx[i] (or base + first + i). */
static void expected(size_t base, const uint32_t *idx, size_t first, float *x, float *y)
{
	tr_split s = { images + base * SIZE, labels + base, COUNT - base, SIZE, TR_FILE_TRAIN,
		       base };

	tr_split_gather(&s, idx, first, N, x, y);
}

/* Gather on be and compare with the host, bit for bit. */
static void check_gather(tr_backend *be, const tr_examples *ex, const char *what,
			 size_t base, const uint32_t *idx, size_t first)
{
	enum { X_OFF = 3, Y_OFF = 5 };
	tr_buf *x = NULL, *y = NULL;
	float want_x[N * SIZE], want_y[N], got_x[N * SIZE], got_y[N];
	int rc;

	rc = tr_backend_alloc(be, X_OFF + N * SIZE, "x", &x);
	if (rc == TR_OK)
		rc = tr_backend_alloc(be, Y_OFF + N, "labels", &y);
	if (rc == TR_OK)
		rc = tr_backend_gather(be, ex, base, idx, first, N, tr_at(x, X_OFF),
				       tr_at(y, Y_OFF));
	if (rc == TR_OK)
		rc = tr_backend_download(be, tr_at(x, X_OFF), got_x, N * SIZE);
	if (rc == TR_OK)
		rc = tr_backend_download(be, tr_at(y, Y_OFF), got_y, N);
	CHECK(rc == TR_OK, "%s (%s): %s", tr_backend_name(be), what,
	      tr_backend_last_error(be)->msg);
	if (rc == TR_OK) {
		expected(base, idx, first, want_x, want_y);
		CHECK(!memcmp(got_x, want_x, sizeof(got_x)),
		      "%s (%s): images differ from the host's floats", tr_backend_name(be), what);
		CHECK(!memcmp(got_y, want_y, sizeof(got_y)),
		      "%s (%s): labels differ from the host's", tr_backend_name(be), what);
	}
	tr_backend_buf_free(be, x);
	tr_backend_buf_free(be, y);
}

static void expect_refused(tr_backend *be, const tr_examples *ex, size_t base,
			   const uint32_t *idx, size_t first, const char *what)
{
	tr_buf *x = NULL, *y = NULL;
	int rc;

	tr_backend_alloc(be, N * SIZE, "x", &x);
	tr_backend_alloc(be, N, "labels", &y);
	rc = tr_backend_gather(be, ex, base, idx, first, N, tr_at(x, 0), tr_at(y, 0));
	CHECK(rc == TR_ERR_INTERNAL, "%s: %s was not refused (status %d)",
	      tr_backend_name(be), what, rc);
	tr_backend_buf_free(be, x);
	tr_backend_buf_free(be, y);
}

static void test_backend(const char *device, bool want_on_device)
{
	uint32_t idx[N], bad[N];
	tr_examples_info info;
	tr_examples *ex = NULL;
	tr_backend *be = NULL;
	tr_error err;
	size_t i;
	int rc;

	rc = tr_backend_open(device, NULL, &be, &err);
	CHECK(rc == TR_OK, "open %s: %s", device, err.msg);
	if (rc != TR_OK)
		return;
	rc = tr_backend_examples_create(be, images, labels, COUNT, SIZE, "test images", &ex,
					&info);
	CHECK(rc == TR_OK, "%s: examples: %s", device, tr_backend_last_error(be)->msg);
	if (rc == TR_OK) {
		CHECK(info.on_device == want_on_device, "%s: on_device %d, expected %d (%s)",
		      device, info.on_device, want_on_device, info.why);
		CHECK(info.bytes == COUNT * SIZE + COUNT, "%s: %zu bytes", device, info.bytes);
		for (i = 0; i < N; i++)
			idx[i] = (uint32_t)((i * 97 + 13) % (COUNT - 100));
		idx[N - 1] = COUNT - 101; /* the last example a split of COUNT-100 has */
		check_gather(be, ex, "by index", 0, idx, 0);
		check_gather(be, ex, "a range", 0, NULL, COUNT - N);
		check_gather(be, ex, "by index in a split at 100", 100, idx, 0);
		check_gather(be, ex, "a range in a split at 100", 100, NULL, 17);
		memcpy(bad, idx, sizeof(bad));
		bad[N / 2] = COUNT - 100; /* one past the split's end */
		expect_refused(be, ex, 100, bad, 0, "an index past the split");
		expect_refused(be, ex, 0, NULL, COUNT - N + 1, "a range past the end");
		expect_refused(be, ex, COUNT + 1, NULL, 0, "a base past the end");
	}
	tr_backend_examples_free(be, ex);
	tr_backend_free(be);
}

int main(void)
{
	const char *device = getenv("TRAINER_TEST_DEVICE");
	const char *require = getenv("TRAINER_REQUIRE_OPENCL");
	tr_backend *probe = NULL;
	tr_error err;
	size_t i;

	if (!device || !*device)
		device = "cl:0";
	for (i = 0; i < sizeof(images); i++)
		images[i] = (uint8_t)((i * 131 + 7) % 256); /* every byte value, many times */
	for (i = 0; i < COUNT; i++)
		labels[i] = (uint8_t)(i % 10);

	test_pixel_table();
	test_backend("cpu-ref", true);
	if (tr_backend_open("cpu", NULL, &probe, &err) == TR_OK) {
		tr_backend_free(probe);
		test_backend("cpu", true);
	}
	if (tr_backend_open(device, NULL, &probe, &err) != TR_OK) {
		printf("no OpenCL device %s (%s): its part skipped\n", device, err.msg);
		CHECK(!(require && !strcmp(require, "1")),
		      "TRAINER_REQUIRE_OPENCL=1 but %s does not open", device);
		return test_finish();
	}
	tr_backend_free(probe);
	unsetenv("TRAINER_CL_DATA");
	test_backend(device, true);
	setenv("TRAINER_CL_DATA", "host", 1);
	test_backend(device, false);
	unsetenv("TRAINER_CL_DATA");
	return test_finish();
}
