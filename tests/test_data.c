/*
 * test_data.c - IDX reading (plain and gzip, and every kind of damaged file), the
 * data set split, tr_split_gather, and the batch order of tr_batcher.
 * With real MNIST present (data/fetch.sh) also checks its counts and label counts;
 * with Debian's dataset-fashion-mnist installed, loads that too.
 */
#include "testutil.h"
#include "trainer/data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char tmp[1024];

static const char *tmp_path(const char *name)
{
	static char path[4][1200];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmp, name);
	return p;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void write_bytes(const char *path, const void *buf, size_t len, int gz)
{
	if (gz) {
		gzFile f = gzopen(path, "wb");

		if (!f || (len && gzwrite(f, buf, (unsigned)len) != (int)len) ||
		    gzclose(f) != Z_OK) {
			fprintf(stderr, "cannot write %s\n", path);
			exit(1);
		}
	} else {
		FILE *f = fopen(path, "wb");

		if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", path);
			exit(1);
		}
	}
}

/* Build an IDX file: header with magic and dims, then `body` bytes of data (pattern
 * (i * 7 + seed) & 0xff, or labels i % 10 when label_mod), then `extra` bytes. */
static size_t build_idx(uint8_t **out, uint32_t magic, int ndims, const uint32_t *dims,
			size_t body, size_t extra, int label_mod, int seed)
{
	size_t header = 4 + 4 * (size_t)ndims, i;
	uint8_t *buf = malloc(header + body + extra + 1);

	if (!buf)
		exit(1);
	put32(buf, magic);
	for (i = 0; i < (size_t)ndims; i++)
		put32(buf + 4 + 4 * i, dims[i]);
	for (i = 0; i < body + extra; i++)
		buf[header + i] = label_mod ? (uint8_t)(i % 10) : (uint8_t)((i * 7 + seed) & 0xff);
	*out = buf;
	return header + body + extra;
}

static void write_images(const char *path, uint32_t count, uint32_t rows, uint32_t cols,
			 int gz, int seed)
{
	uint32_t dims[3] = { count, rows, cols };
	uint8_t *buf;
	size_t len = build_idx(&buf, 0x803, 3, dims, (size_t)count * rows * cols, 0, 0, seed);

	write_bytes(path, buf, len, gz);
	free(buf);
}

static void write_labels(const char *path, uint32_t count, int gz)
{
	uint32_t dims[1] = { count };
	uint8_t *buf;
	size_t len = build_idx(&buf, 0x801, 1, dims, count, 0, 1, 0);

	write_bytes(path, buf, len, gz);
	free(buf);
}

/* tr_idx_read(path) must fail with TR_ERR_INPUT, naming path and saying `what`. */
static void expect_idx_fail(const char *path, bool images, const char *what)
{
	tr_idx idx;
	tr_error err;
	int rc;

	tr_error_clear(&err);
	rc = tr_idx_read(path, images, &idx, &err);
	CHECK(rc == TR_ERR_INPUT, "%s: status %d, want TR_ERR_INPUT (%s)", path, rc, err.msg);
	CHECK(err.status == rc, "%s: err.status %d != rc %d", path, err.status, rc);
	CHECK(strstr(err.msg, path) != NULL, "message does not name %s: %s", path, err.msg);
	CHECK(strstr(err.msg, what) != NULL, "message lacks \"%s\": %s", what, err.msg);
	CHECK(strchr(err.msg, '\n') == NULL, "message is not one line: %s", err.msg);
	if (getenv("TEST_VERBOSE"))
		printf("  %s\n", err.msg);
	CHECK(idx.data == NULL && idx.count == 0, "%s: output not zeroed on failure", path);
	if (rc == TR_OK)
		tr_idx_free(&idx);
}

static void test_idx_good(void)
{
	int gz;

	for (gz = 0; gz <= 1; gz++) {
		const char *ip = tmp_path(gz ? "img.gz" : "img");
		const char *lp = tmp_path(gz ? "lab.gz" : "lab");
		tr_idx idx;
		tr_error err;
		size_t i, bad = 0;
		int rc;

		write_images(ip, 5, 3, 4, gz, 11);
		write_labels(lp, 7, gz);
		rc = tr_idx_read(ip, true, &idx, &err);
		CHECK(rc == TR_OK, "read %s: %s", ip, err.msg);
		if (rc == TR_OK) {
			CHECK(idx.count == 5 && idx.rows == 3 && idx.cols == 4,
			      "%s: dims %zu %zu %zu", ip, idx.count, idx.rows, idx.cols);
			for (i = 0; i < 60; i++)
				bad += idx.data[i] != (uint8_t)((i * 7 + 11) & 0xff);
			CHECK(bad == 0, "%s: %zu wrong bytes", ip, bad);
			tr_idx_free(&idx);
			CHECK(idx.data == NULL && idx.count == 0, "tr_idx_free leaves it zeroed");
		}
		rc = tr_idx_read(lp, false, &idx, &err);
		CHECK(rc == TR_OK, "read %s: %s", lp, err.msg);
		if (rc == TR_OK) {
			CHECK(idx.count == 7 && idx.rows == 1 && idx.cols == 1,
			      "%s: dims %zu %zu %zu", lp, idx.count, idx.rows, idx.cols);
			CHECK(idx.data[6] == 6, "%s: last label %u", lp, idx.data[6]);
			tr_idx_free(&idx);
		}
	}
	/* Gzip is detected from the content, not the name. */
	{
		const char *p = tmp_path("gzipped-without-suffix");
		tr_idx idx;
		tr_error err;
		int rc;

		write_images(p, 2, 2, 2, 1, 0);
		rc = tr_idx_read(p, true, &idx, &err);
		CHECK(rc == TR_OK && idx.count == 2, "gzip without .gz suffix: %s", err.msg);
		tr_idx_free(&idx);
		p = tmp_path("plain.gz");
		write_images(p, 2, 2, 2, 0, 0);
		rc = tr_idx_read(p, true, &idx, &err);
		CHECK(rc == TR_OK && idx.count == 2, "plain with .gz suffix: %s", err.msg);
		tr_idx_free(&idx);
	}
	tr_idx_free(NULL);
}

static void test_idx_bad(void)
{
	uint32_t dims[3] = { 4, 2, 3 };
	uint8_t *buf;
	size_t len;
	int gz;
	char name[64];

	for (gz = 0; gz <= 1; gz++) {
		const char *sfx = gz ? ".gz" : "";
		const char *p;

		/* truncated header: the magic alone, and half of it */
		len = build_idx(&buf, 0x803, 3, dims, 24, 0, 0, 0);
		snprintf(name, sizeof(name), "short-header%s", sfx);
		p = tmp_path(name);
		write_bytes(p, buf, 10, gz);
		expect_idx_fail(p, true, "truncated header");
		snprintf(name, sizeof(name), "short-magic%s", sfx);
		p = tmp_path(name);
		write_bytes(p, buf, 3, gz);
		expect_idx_fail(p, true, "truncated header");

		/* truncated body */
		snprintf(name, sizeof(name), "short-body%s", sfx);
		p = tmp_path(name);
		write_bytes(p, buf, len - 5, gz);
		expect_idx_fail(p, true, "truncated data");
		free(buf);

		/* trailing bytes */
		len = build_idx(&buf, 0x803, 3, dims, 24, 3, 0, 0);
		snprintf(name, sizeof(name), "trailing%s", sfx);
		p = tmp_path(name);
		write_bytes(p, buf, len, gz);
		expect_idx_fail(p, true, "trailing bytes");
		free(buf);

		/* wrong magic: labels where images are wanted, and the reverse, and junk */
		snprintf(name, sizeof(name), "labels%s", sfx);
		p = tmp_path(name);
		write_labels(p, 5, gz);
		expect_idx_fail(p, true, "expected 0x00000803");
		expect_idx_fail(p, true, "got 0x00000801");
		snprintf(name, sizeof(name), "images%s", sfx);
		p = tmp_path(name);
		write_images(p, 2, 2, 2, gz, 0);
		expect_idx_fail(p, false, "expected 0x00000801");
		len = build_idx(&buf, 0x12345678, 3, dims, 24, 0, 0, 0);
		snprintf(name, sizeof(name), "junk-magic%s", sfx);
		p = tmp_path(name);
		write_bytes(p, buf, len, gz);
		expect_idx_fail(p, true, "got 0x12345678");
		free(buf);

		/* a zero count */
		dims[0] = 0;
		len = build_idx(&buf, 0x803, 3, dims, 0, 0, 0, 0);
		snprintf(name, sizeof(name), "zero-count%s", sfx);
		p = tmp_path(name);
		write_bytes(p, buf, len, gz);
		expect_idx_fail(p, true, "is 0");
		free(buf);
		dims[0] = 4;

		/* hostile headers: a product past 2^31, and one that overflows 64 bits;
		 * both must be refused before allocating anything */
		{
			uint32_t big[3] = { 0x10000, 0x10000, 1 };
			uint32_t huge[3] = { 0xffffffffu, 0xffffffffu, 0xffffffffu };

			len = build_idx(&buf, 0x803, 3, big, 8, 0, 0, 0);
			snprintf(name, sizeof(name), "big%s", sfx);
			p = tmp_path(name);
			write_bytes(p, buf, len, gz);
			expect_idx_fail(p, true, "more than the 2147483648");
			free(buf);
			len = build_idx(&buf, 0x803, 3, huge, 8, 0, 0, 0);
			snprintf(name, sizeof(name), "huge%s", sfx);
			p = tmp_path(name);
			write_bytes(p, buf, len, gz);
			expect_idx_fail(p, true, "more than the 2147483648");
			free(buf);
		}
	}

	/* empty file */
	write_bytes(tmp_path("empty"), "", 0, 0);
	expect_idx_fail(tmp_path("empty"), true, "empty");
	/* a directory where a file is expected */
	mkdir(tmp_path("a-directory"), 0700);
	expect_idx_fail(tmp_path("a-directory"), true, "is a directory");
	/* missing file */
	expect_idx_fail(tmp_path("no-such-file"), false, "does not exist");

	/* corrupt gzip: a valid stream with bytes flipped in its middle */
	{
		uint32_t d[3] = { 50, 10, 10 };
		const char *p = tmp_path("corrupt.gz");
		FILE *f;
		long size;
		uint8_t *gzbuf;
		size_t i;

		len = build_idx(&buf, 0x803, 3, d, 5000, 0, 0, 0);
		for (i = 16; i < len; i++) /* less compressible data */
			buf[i] = (uint8_t)((i * 2654435761u) >> 13);
		write_bytes(p, buf, len, 1);
		free(buf);
		f = fopen(p, "rb");
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		rewind(f);
		gzbuf = malloc((size_t)size);
		if (fread(gzbuf, 1, (size_t)size, f) != (size_t)size)
			exit(1);
		fclose(f);
		for (i = (size_t)size / 2; i < (size_t)size / 2 + 8; i++)
			gzbuf[i] ^= 0x5a;
		write_bytes(p, gzbuf, (size_t)size, 0);
		expect_idx_fail(p, true, "gzip");
		/* and the stream cut short */
		p = tmp_path("cut.gz");
		write_bytes(p, gzbuf, (size_t)size / 2, 0);
		expect_idx_fail(p, true, "gzip");
		/* only the gzip magic */
		p = tmp_path("magic-only.gz");
		write_bytes(p, gzbuf, 2, 0);
		expect_idx_fail(p, true, "gzip");
		free(gzbuf);
	}

	/* a flipped byte that inflate cannot notice (stored block): only the CRC can */
	{
		uint32_t d[3] = { 2, 4, 4 };
		const char *p = tmp_path("bad-crc.gz");
		gzFile g;
		FILE *f;
		uint8_t raw[256];
		size_t n;

		len = build_idx(&buf, 0x803, 3, d, 32, 0, 0, 0);
		g = gzopen(p, "wb0");
		if (!g || gzwrite(g, buf, (unsigned)len) != (int)len || gzclose(g) != Z_OK)
			exit(1);
		free(buf);
		f = fopen(p, "rb");
		n = fread(raw, 1, sizeof(raw), f);
		fclose(f);
		raw[n - 8 - 5] ^= 0x01; /* the last data bytes sit just before the trailer */
		write_bytes(p, raw, n, 0);
		expect_idx_fail(p, true, "gzip");
	}
}

/* A small synthetic data set in tmp/name: 12 training and 5 test images of 2x3. */
static const char *make_dataset(const char *name, int gz)
{
	static char dir[1200];
	char p[1300];
	const char *sfx = gz ? ".gz" : "";

	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/train-images-idx3-ubyte%s", dir, sfx);
	write_images(p, 12, 2, 3, gz, 1);
	snprintf(p, sizeof(p), "%s/train-labels-idx1-ubyte%s", dir, sfx);
	write_labels(p, 12, gz);
	snprintf(p, sizeof(p), "%s/t10k-images-idx3-ubyte%s", dir, sfx);
	write_images(p, 5, 2, 3, gz, 2);
	snprintf(p, sizeof(p), "%s/t10k-labels-idx1-ubyte%s", dir, sfx);
	write_labels(p, 5, gz);
	return dir;
}

static void expect_load_fail(const char *dir, size_t val, int status, const char *what1,
			     const char *what2)
{
	tr_dataset ds;
	tr_error err;
	int rc;

	tr_error_clear(&err);
	rc = tr_dataset_load(dir, val, &ds, &err);
	CHECK(rc == status, "load %s: status %d, want %d (%s)", dir, rc, status, err.msg);
	CHECK(strstr(err.msg, what1) != NULL, "message lacks \"%s\": %s", what1, err.msg);
	CHECK(!what2 || strstr(err.msg, what2) != NULL, "message lacks \"%s\": %s",
	      what2, err.msg);
	if (getenv("TEST_VERBOSE"))
		printf("  %s\n", err.msg);
	CHECK(ds.train_images.data == NULL && ds.test_labels.data == NULL,
	      "data set not freed after a failed load");
	if (rc == TR_OK)
		tr_dataset_free(&ds);
}

static void test_dataset(void)
{
	char p[1300], q[1300];
	const char *dir;
	tr_dataset ds;
	tr_error err;
	int gz, rc;

	for (gz = 0; gz <= 1; gz++) {
		dir = make_dataset(gz ? "ds-gz" : "ds-plain", gz);
		rc = tr_dataset_load(dir, 3, &ds, &err);
		CHECK(rc == TR_OK, "load %s: %s", dir, err.msg);
		if (rc != TR_OK)
			continue;
		CHECK(ds.val.count == 3 && ds.train.count == 9 && ds.test.count == 5,
		      "split %zu/%zu/%zu", ds.val.count, ds.train.count, ds.test.count);
		CHECK(ds.train.image_size == 6 && ds.test.image_size == 6, "image size");
		CHECK(ds.val.images == ds.train_images.data, "val starts the training file");
		CHECK(ds.train.images == ds.train_images.data + 3 * 6 &&
		      ds.train.labels == ds.train_labels.data + 3, "train follows val");
		CHECK(ds.train.labels[0] == 3 && ds.test.labels[4] == 4, "labels");
		CHECK(strcmp(ds.dir, dir) == 0, "dir recorded: %s", ds.dir);
		tr_dataset_free(&ds);
		CHECK(ds.train_images.data == NULL, "tr_dataset_free zeroes");
	}
	tr_dataset_free(NULL);

	/* val_size 0 is allowed; val_size >= the training count is not */
	dir = make_dataset("ds-plain", 0);
	rc = tr_dataset_load(dir, 0, &ds, &err);
	CHECK(rc == TR_OK && ds.val.count == 0 && ds.train.count == 12, "val_size 0: %s",
	      err.msg);
	tr_dataset_free(&ds);
	expect_load_fail(dir, 12, TR_ERR_USAGE, "--val-size", "train-images-idx3-ubyte");
	rc = tr_dataset_load(dir, 11, &ds, &err);
	CHECK(rc == TR_OK && ds.train.count == 1, "val_size n-1: %s", err.msg);
	tr_dataset_free(&ds);

	/* both forms present: the plain one wins (make the .gz one bad to tell) */
	snprintf(p, sizeof(p), "%s/t10k-labels-idx1-ubyte.gz", dir);
	write_bytes(p, "garbage", 7, 0);
	rc = tr_dataset_load(dir, 0, &ds, &err);
	CHECK(rc == TR_OK, "plain preferred over .gz: %s", err.msg);
	tr_dataset_free(&ds);
	remove(p);

	/* missing directory, a file given as the directory, a missing file */
	expect_load_fail(tmp_path("nowhere"), 0, TR_ERR_INPUT, "does not exist",
			 "data/fetch.sh");
	snprintf(p, sizeof(p), "%s/train-labels-idx1-ubyte", dir);
	expect_load_fail(p, 0, TR_ERR_INPUT, "not a directory", "--data");
	snprintf(p, sizeof(p), "%s/t10k-images-idx3-ubyte", dir);
	snprintf(q, sizeof(q), "%s/t10k-images-idx3-ubyte.keep", dir);
	rename(p, q);
	expect_load_fail(dir, 0, TR_ERR_INPUT, p, "t10k-images-idx3-ubyte.gz");
	rename(q, p);

	/* count mismatch between an image file and its label file */
	snprintf(p, sizeof(p), "%s/train-labels-idx1-ubyte", dir);
	write_labels(p, 11, 0);
	expect_load_fail(dir, 0, TR_ERR_INPUT, "12 images", "11 labels");
	write_labels(p, 12, 0);

	/* a label out of range names the file and the index */
	{
		uint32_t d[1] = { 5 };
		uint8_t *buf;
		size_t len = build_idx(&buf, 0x801, 1, d, 5, 0, 1, 0);

		buf[8 + 3] = 10;
		snprintf(p, sizeof(p), "%s/t10k-labels-idx1-ubyte", dir);
		write_bytes(p, buf, len, 0);
		free(buf);
		expect_load_fail(dir, 0, TR_ERR_INPUT, p, "index 3");
		write_labels(p, 5, 0);
	}

	/* test images of a different size than the training images */
	snprintf(p, sizeof(p), "%s/t10k-images-idx3-ubyte", dir);
	write_images(p, 5, 3, 2, 0, 0);
	expect_load_fail(dir, 0, TR_ERR_INPUT, "2x3", "3x2");
	write_images(p, 5, 2, 3, 0, 2);

	/* a damaged file inside a data set: the error is the reader's, naming it */
	snprintf(p, sizeof(p), "%s/train-images-idx3-ubyte", dir);
	write_bytes(p, "\0\0\x08\x03\0\0", 6, 0);
	expect_load_fail(dir, 0, TR_ERR_INPUT, p, "truncated header");
}

static void test_gather(void)
{
	uint8_t images[3 * 4] = { 0, 255, 1, 128, 10, 20, 30, 40, 254, 3, 2, 51 };
	uint8_t labels[3] = { 7, 0, 9 };
	tr_split s = { images, labels, 3, 4, TR_FILE_TRAIN, 0 };
	uint32_t idx[2] = { 2, 0 };
	float x[8], y[2];
	int i;

	tr_split_gather(&s, idx, 0, 2, x, y);
	for (i = 0; i < 4; i++)
		CHECK(x[i] == (float)images[8 + i] / 255.0f, "gather idx x[%d] = %g", i, x[i]);
	for (i = 0; i < 4; i++)
		CHECK(x[4 + i] == (float)images[i] / 255.0f, "gather idx x[%d] = %g", 4 + i,
		      x[4 + i]);
	CHECK(x[0] == 254.0f / 255.0f && x[5] == 1.0f && x[4] == 0.0f, "pixel / 255");
	CHECK(y[0] == 9.0f && y[1] == 7.0f, "gather labels %g %g", y[0], y[1]);
	tr_split_gather(&s, NULL, 1, 2, x, y);
	CHECK(x[0] == 10.0f / 255.0f && x[7] == 51.0f / 255.0f, "contiguous from first");
	CHECK(y[0] == 0.0f && y[1] == 9.0f, "contiguous labels %g %g", y[0], y[1]);
}

/* Does idx[0..n) hold every one of 0..n-1 exactly once? */
static int is_permutation(const uint32_t *idx, size_t n)
{
	char *seen = calloc(n, 1);
	size_t i;
	int ok = 1;

	for (i = 0; i < n; i++) {
		if (idx[i] >= n || seen[idx[i]])
			ok = 0;
		else
			seen[idx[i]] = 1;
	}
	free(seen);
	return ok;
}

static void test_batcher_noshuffle(void)
{
	size_t cases[][2] = { { 10, 3 }, { 10, 5 }, { 7, 7 }, { 5, 12 }, { 1, 4 } };
	size_t c, k, j, bad;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = cases[c][0], b = cases[c][1];
		tr_batcher bt;
		tr_error err;
		uint32_t idx[16];

		CHECK(tr_batcher_init(&bt, n, b, false, 42, &err) == TR_OK, "init: %s",
		      err.msg);
		bad = 0;
		for (k = 0; k < 20; k++) {
			tr_batcher_next(&bt, idx);
			for (j = 0; j < b; j++)
				bad += idx[j] != (k * b + j) % n;
		}
		CHECK(bad == 0, "no-shuffle n=%zu B=%zu: %zu indices off (k*B+j) mod N", n, b,
		      bad);
		tr_batcher_free(&bt);
	}
	tr_batcher_free(NULL);
}

static void test_batcher_shuffle(void)
{
	const size_t n = 10, b = 4;
	tr_batcher bt, bt2, bt3;
	tr_error err;
	uint32_t stream[40], again[40], other[40];
	uint32_t first_epoch[10];
	size_t k, i, same = 0;

	/* init shuffles epoch 0 already: with the same seed, the first 10 indices are
	 * the Fisher-Yates permutation computed here by hand */
	{
		tr_prng r;

		for (i = 0; i < n; i++)
			first_epoch[i] = (uint32_t)i;
		tr_prng_seed(&r, 7);
		for (i = n - 1; i >= 1; i--) {
			size_t j = (size_t)tr_prng_below(&r, i + 1);
			uint32_t t = first_epoch[i];

			first_epoch[i] = first_epoch[j];
			first_epoch[j] = t;
		}
	}
	CHECK(tr_batcher_init(&bt, n, b, true, 7, &err) == TR_OK, "init: %s", err.msg);
	CHECK(tr_batcher_init(&bt2, n, b, true, 7, &err) == TR_OK, "init: %s", err.msg);
	CHECK(tr_batcher_init(&bt3, n, b, true, 8, &err) == TR_OK, "init: %s", err.msg);
	for (k = 0; k < 10; k++) {
		tr_batcher_next(&bt, stream + k * b);
		tr_batcher_next(&bt2, again + k * b);
		tr_batcher_next(&bt3, other + k * b);
	}
	CHECK(memcmp(stream, first_epoch, sizeof(first_epoch)) == 0,
	      "epoch 0 is shuffled with Fisher-Yates from the seed");
	/* 40 indices = exactly 4 epochs; each is a permutation, and they differ */
	for (i = 0; i < 4; i++)
		CHECK(is_permutation(stream + i * n, n), "epoch %zu is a permutation", i);
	CHECK(memcmp(stream, stream + n, n * sizeof(*stream)) != 0 ||
	      memcmp(stream + n, stream + 2 * n, n * sizeof(*stream)) != 0,
	      "epochs are reshuffled");
	CHECK(bt.epoch == 4, "4 epochs started, got %llu", (unsigned long long)bt.epoch);
	CHECK(memcmp(stream, again, sizeof(stream)) == 0, "same seed, same batches");
	for (i = 0; i < 40; i++)
		same += stream[i] == other[i];
	CHECK(same < 40, "a different seed gives different batches");

	/* the batch spanning epochs 0 and 1 (the third: positions 8..11) has the last 2
	 * of epoch 0, then the first 2 of epoch 1 */
	CHECK(stream[8] == first_epoch[8] && stream[9] == first_epoch[9],
	      "boundary batch starts with the rest of the old epoch");
	{
		/* the next epoch's order: same prng continued */
		tr_prng r;
		uint32_t second[10];

		tr_prng_seed(&r, 7);
		for (i = n - 1; i >= 1; i--)
			(void)tr_prng_below(&r, i + 1);
		memcpy(second, first_epoch, sizeof(second));
		for (i = n - 1; i >= 1; i--) {
			size_t j = (size_t)tr_prng_below(&r, i + 1);
			uint32_t t = second[i];

			second[i] = second[j];
			second[j] = t;
		}
		CHECK(stream[10] == second[0] && stream[11] == second[1],
		      "boundary batch continues with the start of a freshly shuffled epoch");
		CHECK(memcmp(stream + 10, second, sizeof(second)) == 0,
		      "epoch 1 is epoch 0's order shuffled again");
	}
	tr_batcher_free(&bt);
	tr_batcher_free(&bt2);
	tr_batcher_free(&bt3);

	/* a batch that ends exactly at the epoch's end does not start a new epoch yet */
	CHECK(tr_batcher_init(&bt, 10, 5, true, 3, &err) == TR_OK, "init: %s", err.msg);
	tr_batcher_next(&bt, stream);
	tr_batcher_next(&bt, stream + 5);
	CHECK(bt.epoch == 1 && bt.cursor == 10, "exact end: epoch %llu cursor %zu",
	      (unsigned long long)bt.epoch, bt.cursor);
	tr_batcher_next(&bt, stream + 10);
	CHECK(bt.epoch == 2 && bt.cursor == 5, "next batch starts epoch 2");
	CHECK(is_permutation(stream, 10), "epoch 0 complete");
	tr_batcher_free(&bt);

	/* batch larger than the set: every epoch inside it is still a permutation */
	CHECK(tr_batcher_init(&bt, 3, 9, true, 5, &err) == TR_OK, "init: %s", err.msg);
	tr_batcher_next(&bt, stream);
	for (i = 0; i < 3; i++)
		CHECK(is_permutation(stream + 3 * i, 3), "B > N: epoch %zu a permutation", i);
	tr_batcher_free(&bt);

	/* bad arguments */
	CHECK(tr_batcher_init(&bt, 0, 4, true, 1, &err) != TR_OK, "n = 0 refused");
	CHECK(tr_batcher_init(&bt, 4, 0, true, 1, &err) != TR_OK, "batch = 0 refused");
	CHECK(bt.perm == NULL, "nothing allocated on failure");
}

/* Count labels 0..9 in n bytes. */
static void label_counts(const uint8_t *labels, size_t n, size_t *counts)
{
	size_t i;

	memset(counts, 0, TR_N_CLASSES * sizeof(*counts));
	for (i = 0; i < n; i++)
		counts[labels[i]]++;
}

static void test_mnist(void)
{
	static const size_t want_train[10] = { 5923, 6742, 5958, 6131, 5842,
					       5421, 5918, 6265, 5851, 5949 };
	static const size_t want_test[10] = { 980, 1135, 1032, 1010, 982,
					      892, 958, 1028, 974, 1009 };
	const char *dir = test_data_dir();
	size_t counts[TR_N_CLASSES];
	tr_dataset ds;
	tr_error err;
	int rc, c;

	if (!dir) {
		printf("real MNIST absent: its checks skipped\n");
		return;
	}
	rc = tr_dataset_load(dir, 5000, &ds, &err);
	CHECK(rc == TR_OK, "load MNIST from %s: %s", dir, err.msg);
	if (rc != TR_OK)
		return;
	CHECK(ds.train.count == 55000 && ds.val.count == 5000 && ds.test.count == 10000,
	      "MNIST split %zu/%zu/%zu", ds.train.count, ds.val.count, ds.test.count);
	CHECK(ds.train.image_size == 784 && ds.train_images.rows == 28, "28x28");
	label_counts(ds.train_labels.data, ds.train_labels.count, counts);
	for (c = 0; c < 10; c++)
		CHECK(counts[c] == want_train[c], "training label %d: %zu, want %zu", c,
		      counts[c], want_train[c]);
	label_counts(ds.test.labels, ds.test.count, counts);
	for (c = 0; c < 10; c++)
		CHECK(counts[c] == want_test[c], "test label %d: %zu, want %zu", c,
		      counts[c], want_test[c]);
	/* the first training label of MNIST is a 5, the first test label a 7 */
	CHECK(ds.val.labels[0] == 5 && ds.test.labels[0] == 7, "first labels %u %u",
	      ds.val.labels[0], ds.test.labels[0]);
	tr_dataset_free(&ds);
}

static void test_fashion(void)
{
	struct stat st;
	tr_dataset ds;
	tr_error err;
	size_t counts[TR_N_CLASSES];
	int rc, c;

	if (stat(FASHION_DIR, &st) != 0) {
		printf("%s absent (apt-get install dataset-fashion-mnist): skipped\n",
		       FASHION_DIR);
		return;
	}
	rc = tr_dataset_load(FASHION_DIR, 5000, &ds, &err);
	CHECK(rc == TR_OK, "load Fashion-MNIST: %s", err.msg);
	if (rc != TR_OK)
		return;
	CHECK(ds.train.count == 55000 && ds.val.count == 5000 && ds.test.count == 10000,
	      "Fashion-MNIST split %zu/%zu/%zu", ds.train.count, ds.val.count,
	      ds.test.count);
	CHECK(ds.train.image_size == 784, "Fashion-MNIST 28x28");
	/* Fashion-MNIST is balanced: 6000 training and 1000 test images per class */
	label_counts(ds.train_labels.data, ds.train_labels.count, counts);
	for (c = 0; c < 10; c++)
		CHECK(counts[c] == 6000, "Fashion training class %d: %zu", c, counts[c]);
	label_counts(ds.test.labels, ds.test.count, counts);
	for (c = 0; c < 10; c++)
		CHECK(counts[c] == 1000, "Fashion test class %d: %zu", c, counts[c]);
	tr_dataset_free(&ds);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s", test_tmpdir("data"));
	test_idx_good();
	test_idx_bad();
	test_dataset();
	test_gather();
	test_batcher_noshuffle();
	test_batcher_shuffle();
	test_mnist();
	test_fashion();
	if (test_failed == 0) {
		char cmd[1100];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp);
	}
	return test_finish();
}
