/*
 * idx.c - read one IDX file (the MNIST format), plain or gzipped.
 *
 * Format: a big-endian magic 0x0000TTDD (TT = 0x08, unsigned bytes; DD = number of
 * dimensions), one big-endian uint32 per dimension, then the data. Images have three
 * dimensions (count, rows, cols), labels one (count).
 *
 * Every check a hostile or damaged file could trip is an error naming the file:
 * wrong magic, truncated header or body, trailing bytes, a zero dimension, and a
 * declared size above IDX_MAX_BYTES (so a fuzzed header cannot make us allocate
 * gigabytes). For a gzipped file the buffer grows with the data actually decompressed,
 * never straight to the declared size.
 */
#include "trainer/data.h"
#include "trainer/formats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAX_DIMS 3
#define GZ_CHUNK (1u << 20)         /* one gzread call; also the first buffer size */
#define TRAILING_COUNT_MAX (1u << 26) /* stop counting trailing bytes after this */
/* The most data bytes (count * rows * cols) accepted: a larger size in a header is
 * refused before anything is allocated, so a damaged header cannot exhaust memory. */
#define IDX_MAX_BYTES ((uint64_t)1 << 31)

/* Where the bytes come from: the file itself, or zlib decompressing it. */
struct idx_src {
	const char *path;
	int fd;         /* owned until gz takes it over */
	gzFile gz;      /* NULL for a plain file */
	size_t offset;  /* bytes delivered so far (decompressed for gzip) */
};

static int src_error(struct idx_src *s, tr_error *err)
{
	int errnum = Z_OK;
	const char *what;

	if (!s->gz)
		return tr_fail(err, TR_ERR_INPUT, "%s: read error at byte %zu: %s",
			       s->path, s->offset, strerror(errno));
	what = gzerror(s->gz, &errnum);
	if (errnum == Z_ERRNO)
		return tr_fail(err, TR_ERR_INPUT, "%s: read error at byte %zu: %s",
			       s->path, s->offset, strerror(errno));
	if (errnum == Z_BUF_ERROR)
		return tr_fail(err, TR_ERR_INPUT,
			       "%s: the gzip stream ends early (after %zu decompressed bytes): "
			       "the file was cut short; fetch it again", s->path, s->offset);
	if (errnum == Z_MEM_ERROR)
		return tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory while decompressing",
			       s->path);
	/* zlib prefixes its message with the stream's name, "<fd:N>: " for gzdopen */
	if (what && what[0] == '<' && strstr(what, ">: "))
		what = strstr(what, ">: ") + 3;
	return tr_fail(err, TR_ERR_INPUT, "%s: corrupt gzip data (zlib: %s): fetch the "
		       "file again", s->path, what && *what ? what : "unknown error");
}

/* Read up to len bytes; *got < len only at the end of the data. */
static int src_read(struct idx_src *s, void *buf, size_t len, size_t *got, tr_error *err)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t want = len - done;
		ssize_t n;

		if (s->gz) {
			if (want > GZ_CHUNK)
				want = GZ_CHUNK;
			n = gzread(s->gz, p + done, (unsigned)want);
		} else {
			n = read(s->fd, p + done, want);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n < 0) {
			*got = done;
			return src_error(s, err);
		}
		if (n == 0)
			break;
		done += (size_t)n;
		s->offset += (size_t)n;
	}
	*got = done;
	/* zlib reports a cut-short stream as a short read plus an error state. */
	if (done < len && s->gz) {
		int errnum = Z_OK;

		gzerror(s->gz, &errnum);
		if (errnum != Z_OK && errnum != Z_STREAM_END)
			return src_error(s, err);
	}
	return TR_OK;
}

static void src_close(struct idx_src *s)
{
	if (s->gz)
		gzclose(s->gz);
	else if (s->fd >= 0)
		close(s->fd);
	s->gz = NULL;
	s->fd = -1;
}

/* Open path, insisting on a non-empty regular file; sniff the gzip magic. */
static int src_open(struct idx_src *s, const char *path, off_t *size, tr_error *err)
{
	long long file_size;
	uint8_t head[2];
	ssize_t n;
	int rc;

	s->path = path;
	s->fd = -1;
	s->gz = NULL;
	s->offset = 0;
	rc = tr_input_open(path, "an IDX file", "(data/fetch.sh downloads MNIST)", &s->fd,
			   &file_size, err);
	if (rc)
		return rc;
	if (file_size == 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s is empty (0 bytes): the download failed; "
			"fetch it again", path);
		goto out_close;
	}
	*size = (off_t)file_size;
	do
		n = pread(s->fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: read error: %s", path, strerror(errno));
		goto out_close;
	}
	if (n == 2 && head[0] == 0x1f && head[1] == 0x8b) {
		s->gz = gzdopen(s->fd, "rb");
		if (!s->gz) {
			rc = tr_fail(err, TR_ERR_INTERNAL, "%s: cannot start gzip decompression "
				"(out of memory?)", path);
			goto out_close;
		}
		s->fd = -1; /* gz owns it now */
		gzbuffer(s->gz, 256 * 1024);
	}
	return TR_OK;

out_close:
	src_close(s);
	return rc;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read and check the header; on success dims[0..ndims) hold the dimensions. */
static int read_header(struct idx_src *s, bool want_images, uint32_t *dims,
		       tr_error *err)
{
	uint32_t want_magic = want_images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
	unsigned ndims = want_images ? 3 : 1;
	uint8_t buf[4 + 4 * IDX_MAX_DIMS];
	size_t need = 4 + 4 * (size_t)ndims;
	size_t got;
	uint32_t magic;
	unsigned i;
	int rc;

	rc = src_read(s, buf, 4, &got, err);
	if (rc)
		return rc;
	if (got < 4)
		return tr_fail(err, TR_ERR_INPUT, "%s: truncated header: %zu bytes, an IDX "
			       "%s file needs %zu", s->path, got,
			       want_images ? "image" : "label", need);
	magic = be32(buf);
	if (magic != want_magic) {
		const char *hint = "";

		if (magic == IDX_MAGIC_IMAGES)
			hint = " (an image file where a label file was expected)";
		else if (magic == IDX_MAGIC_LABELS)
			hint = " (a label file where an image file was expected)";
		else if ((magic >> 8) != 0x08)
			hint = " (not an IDX file of unsigned bytes)";
		return tr_fail(err, TR_ERR_INPUT, "%s: wrong magic number: expected 0x%08x "
			       "(%s), got 0x%08x%s", s->path, want_magic,
			       want_images ? "IDX images, 3 dimensions" : "IDX labels, 1 dimension",
			       magic, hint);
	}
	rc = src_read(s, buf + 4, need - 4, &got, err);
	if (rc)
		return rc;
	if (got < need - 4)
		return tr_fail(err, TR_ERR_INPUT, "%s: truncated header: %zu bytes, an IDX "
			       "%s file needs %zu", s->path, 4 + got,
			       want_images ? "image" : "label", need);
	for (i = 0; i < ndims; i++) {
		dims[i] = be32(buf + 4 + 4 * i);
		if (dims[i] == 0)
			return tr_fail(err, TR_ERR_INPUT, "%s: dimension %u in the header is 0: "
				       "the file holds no %s", s->path, i,
				       i == 0 ? "examples" : "pixels");
	}
	return TR_OK;
}

/* Read exactly body bytes into a buffer that grows with the data (gzip) or is
 * allocated once (plain file, whose size was already checked). */
static int read_body(struct idx_src *s, size_t body, uint8_t **out, tr_error *err)
{
	size_t cap = s->gz ? (body < GZ_CHUNK ? body : GZ_CHUNK) : body;
	size_t have = 0, got;
	uint8_t *buf = malloc(cap), *bigger;
	int rc;

	if (!buf)
		return tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory allocating %zu bytes",
			       s->path, cap);
	for (;;) {
		rc = src_read(s, buf + have, cap - have, &got, err);
		if (rc)
			goto out_free;
		have += got;
		if (have < cap || cap == body)
			break;
		cap = cap > body / 2 ? body : cap * 2;
		bigger = realloc(buf, cap);
		if (!bigger) {
			rc = tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory allocating %zu "
				     "bytes", s->path, cap);
			goto out_free;
		}
		buf = bigger;
	}
	if (have < body) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: truncated data: the header declares %zu "
			     "data bytes, the %s holds %zu: the file was cut short; fetch it again",
			     s->path, body, s->gz ? "decompressed stream" : "file", have);
		goto out_free;
	}
	*out = buf;
	return TR_OK;

out_free:
	free(buf);
	return rc;
}

/* For gzip only (a plain file's size was checked up front): data after the body? */
static int check_trailing(struct idx_src *s, size_t expect_total, tr_error *err)
{
	uint8_t scratch[4096];
	size_t extra = 0, got;
	int rc;

	do {
		rc = src_read(s, scratch, sizeof(scratch), &got, err);
		if (rc)
			return rc;
		extra += got;
	} while (got == sizeof(scratch) && extra < TRAILING_COUNT_MAX);
	if (extra == 0)
		return TR_OK;
	return tr_fail(err, TR_ERR_INPUT, "%s: %s%zu trailing bytes after the data the header "
		       "declares (expected %zu decompressed bytes): not a valid IDX file",
		       s->path, got == sizeof(scratch) ? "at least " : "", extra, expect_total);
}

int tr_idx_read(const char *path, bool want_images, tr_idx *out, tr_error *err)
{
	struct idx_src src;
	uint32_t dims[IDX_MAX_DIMS] = { 0, 1, 1 };
	uint64_t body64, header;
	uint8_t *data = NULL;
	off_t size = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!path || !*path)
		return tr_fail(err, TR_ERR_INPUT, "IDX file path is empty");
	rc = src_open(&src, path, &size, err);
	if (rc)
		return rc;
	rc = read_header(&src, want_images, dims, err);
	if (rc)
		goto out_close;
	header = want_images ? 16 : 8;

	/* Each dimension is below 2^32, so dims[0]*dims[1] fits in 64 bits; the last
	 * product is tested by division before it is done (dims[2] >= 1). */
	body64 = (uint64_t)dims[0] * dims[1];
	if (body64 > IDX_MAX_BYTES / dims[2]) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: the header declares %u x %u x %u bytes of "
			     "data, more than the %llu this reader accepts: the file is corrupt "
			     "or not an MNIST-sized data set", path, dims[0], dims[1], dims[2],
			     (unsigned long long)IDX_MAX_BYTES);
		goto out_close;
	}
	body64 *= dims[2];

	if (!src.gz && (uint64_t)size != header + body64) {
		const char *what = (uint64_t)size < header + body64 ?
			"truncated data" : "trailing bytes";

		rc = tr_fail(err, TR_ERR_INPUT, "%s: %s: the header declares %llu data bytes, "
			     "so the file should be %llu bytes, but it is %lld%s", path, what,
			     (unsigned long long)body64, (unsigned long long)(header + body64),
			     (long long)size, (uint64_t)size < header + body64 ?
			     ": the file was cut short; fetch it again" : "");
		goto out_close;
	}
	rc = read_body(&src, (size_t)body64, &data, err);
	if (rc)
		goto out_close;
	if (src.gz) {
		rc = check_trailing(&src, (size_t)(header + body64), err);
		if (rc)
			goto out_free;
	}
	src_close(&src);
	out->data = data;
	out->count = dims[0];
	out->rows = want_images ? dims[1] : 1;
	out->cols = want_images ? dims[2] : 1;
	return TR_OK;

out_free:
	free(data);
out_close:
	src_close(&src);
	return rc;
}

void tr_idx_free(tr_idx *idx)
{
	if (!idx)
		return;
	free(idx->data);
	memset(idx, 0, sizeof(*idx));
}
