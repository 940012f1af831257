/*
 * npy.c - NumPy .npy files of little-endian float32 ('<f4') in C order.
 *
 * Layout: "\x93NUMPY", major, minor, header length (2 bytes little-endian for 1.0,
 * 4 bytes for 2.0 and 3.0), then the header: a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a
 * final '\n' so that the data starts at a multiple of 64 bytes; then the raw data.
 *
 * The writer produces the very bytes NumPy's own writer produces. The reader trusts
 * nothing: the header is capped at NPY_MAX_HEADER bytes, every number is checked for
 * overflow, and the data is allocated only once its size is known to match the bytes
 * actually present in the file.
 */
#include "trainer/formats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The data is written and read as the host's floats: this must be a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host ('<f4' data is read and written as is)"
#endif
_Static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
#define NPY_MAX_HEADER (64 * 1024)  /* real headers are ~100 bytes */
#define NPY_GROWTH_DIGITS 21        /* NumPy leaves room for the first axis to grow */
#define NPY_SHAPE_STR_MAX (TR_NPY_MAX_DIMS * 24 + 8)

/* Product of the dimensions; false on overflow. */
static bool element_count(const size_t *shape, int ndim, size_t *count)
{
	size_t n = 1;
	int i;

	for (i = 0; i < ndim; i++) {
		if (shape[i] != 0 && n > SIZE_MAX / shape[i])
			return false;
		n *= shape[i];
	}
	*count = n;
	return true;
}

/* The shape as Python writes a tuple: (), (n,), (a, b). */
static void format_shape(char *buf, size_t cap, const size_t *shape, int ndim)
{
	size_t len;
	int i;

	len = (size_t)snprintf(buf, cap, "(");
	for (i = 0; i < ndim && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%zu", i ? ", " : "", shape[i]);
	if (len < cap)
		snprintf(buf + len, cap - len, ndim == 1 ? ",)" : ")");
}

/*
 * Build magic, version 1.0, length and header exactly as numpy.lib.format does:
 * keys sorted, "'key': repr(value), " each, then "}", then 21 - len(str(shape[0]))
 * spaces of room to grow, then padding spaces (never none: an already aligned header
 * gains 64) and '\n'. Returns the total length.
 */
static size_t build_header(char *buf, size_t cap, const size_t *shape, int ndim)
{
	char shape_str[NPY_SHAPE_STR_MAX];
	size_t dict_len, pad, total, hlen;

	format_shape(shape_str, sizeof(shape_str), shape, ndim);
	memcpy(buf, NPY_MAGIC "\x01\x00", NPY_MAGIC_LEN + 2);
	dict_len = (size_t)snprintf(buf + 10, cap - 10,
				    "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
				    shape_str);
	if (ndim > 0) {
		char first[24];
		size_t grow = NPY_GROWTH_DIGITS -
			      (size_t)snprintf(first, sizeof(first), "%zu", shape[0]);

		memset(buf + 10 + dict_len, ' ', grow);
		dict_len += grow;
	}
	pad = NPY_ALIGN - ((10 + dict_len + 1) % NPY_ALIGN);
	memset(buf + 10 + dict_len, ' ', pad);
	total = 10 + dict_len + pad + 1;
	buf[total - 1] = '\n';
	hlen = total - 10;
	buf[8] = (char)(hlen & 0xff);
	buf[9] = (char)(hlen >> 8);
	return total;
}

int tr_npy_write(const char *path, const float *data, const size_t *shape, int ndim,
		 tr_error *err)
{
	/* magic 10 + dict <= 60 + 4 * 22 + growth 20 + padding 64 + '\n' */
	char header[320];
	tr_atomic_file af;
	size_t count, header_len;
	int rc;

	if (ndim < 0 || ndim > TR_NPY_MAX_DIMS)
		return tr_fail(err, TR_ERR_INTERNAL,
			       "%s: cannot write a %d-dimensional array (0 to %d are supported)",
			       path, ndim, TR_NPY_MAX_DIMS);
	if (!element_count(shape, ndim, &count) || count > SIZE_MAX / sizeof(float))
		return tr_fail(err, TR_ERR_INTERNAL,
			       "%s: the array's size overflows (a bug in the caller)", path);
	if (count > 0 && !data)
		return tr_fail(err, TR_ERR_INTERNAL, "%s: no data to write (a bug)", path);

	header_len = build_header(header, sizeof(header), shape, ndim);
	rc = tr_atomic_open(&af, path, err);
	if (rc)
		return rc;
	rc = tr_atomic_write(&af, header, header_len, err);
	if (rc)
		return rc;
	rc = tr_atomic_write(&af, data, count * sizeof(float), err);
	if (rc)
		return rc;
	return tr_atomic_commit(&af, err);
}

/* ---- reading ---- */

/* A cursor over the header text, which is NOT NUL-terminated text: it may hold anything. */
struct npy_parser {
	const char *path;
	const char *start, *p, *end;
	tr_error *err;
};

struct npy_header {
	char descr[32];
	int fortran_order;  /* -1 until seen */
	size_t shape[TR_NPY_MAX_DIMS];
	int ndim;           /* -1 until seen */
};

static int syntax_error(struct npy_parser *ps, const char *expected)
{
	char found[16];
	unsigned char c;

	if (ps->p >= ps->end) {
		snprintf(found, sizeof(found), "the end");
	} else {
		c = (unsigned char)*ps->p;
		if (c >= 0x20 && c < 0x7f)
			snprintf(found, sizeof(found), "'%c'", c);
		else
			snprintf(found, sizeof(found), "byte 0x%02x", c);
	}
	return tr_fail(ps->err, TR_ERR_INPUT,
		       "%s: malformed .npy header at byte %zu of the header: expected %s, "
		       "found %s: the file is damaged or was not written by NumPy",
		       ps->path, (size_t)(ps->p - ps->start), expected, found);
}

static void skip_space(struct npy_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
				   *ps->p == '\r'))
		ps->p++;
}

static bool accept(struct npy_parser *ps, char c)
{
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return true;
	}
	return false;
}

static bool accept_word(struct npy_parser *ps, const char *word)
{
	size_t n = strlen(word);
	char next;

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	next = ps->p + n < ps->end ? ps->p[n] : ' ';
	if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
	    (next >= '0' && next <= '9') || next == '_')
		return false;
	ps->p += n;
	return true;
}

/* A quoted string ('...' or "...") of printable ASCII without escapes. */
static int parse_string(struct npy_parser *ps, char *out, size_t cap, const char *what)
{
	const char *s;
	char quote;
	size_t n;

	if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
		return syntax_error(ps, what);
	quote = *ps->p++;
	s = ps->p;
	while (ps->p < ps->end && *ps->p != quote) {
		if (*ps->p < 0x20 || *ps->p > 0x7e || *ps->p == '\\')
			return syntax_error(ps, "a plain string");
		ps->p++;
	}
	if (ps->p >= ps->end)
		return syntax_error(ps, "the closing quote");
	n = (size_t)(ps->p - s);
	if (n >= cap) {
		ps->p = s;
		return syntax_error(ps, "a shorter string");
	}
	memcpy(out, s, n);
	out[n] = '\0';
	ps->p++;
	return TR_OK;
}

static int parse_bool(struct npy_parser *ps, int *out)
{
	if (accept_word(ps, "True"))
		*out = 1;
	else if (accept_word(ps, "False"))
		*out = 0;
	else
		return syntax_error(ps, "True or False");
	return TR_OK;
}

static int parse_dim(struct npy_parser *ps, size_t *out)
{
	size_t v = 0;
	unsigned d;

	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return syntax_error(ps, "a non-negative integer dimension");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		d = (unsigned)(*ps->p - '0');
		if (v > (SIZE_MAX - d) / 10)
			return syntax_error(ps, "a dimension that fits in 64 bits");
		v = v * 10 + d;
		ps->p++;
	}
	accept(ps, 'L');  /* Python 2 wrote longs as 3L */
	*out = v;
	return TR_OK;
}

/* A tuple of dimensions: (), (n,), (a, b), (a, b,). */
static int parse_shape(struct npy_parser *ps, struct npy_header *h)
{
	int rc;

	if (!accept(ps, '('))
		return syntax_error(ps, "a shape tuple such as (2, 3)");
	h->ndim = 0;
	skip_space(ps);
	if (accept(ps, ')'))
		return TR_OK;
	for (;;) {
		if (h->ndim == TR_NPY_MAX_DIMS)
			return tr_fail(ps->err, TR_ERR_INPUT,
				       "%s: the array has more than %d dimensions; at most %d "
				       "are supported", ps->path, TR_NPY_MAX_DIMS,
				       TR_NPY_MAX_DIMS);
		rc = parse_dim(ps, &h->shape[h->ndim]);
		if (rc)
			return rc;
		h->ndim++;
		skip_space(ps);
		if (accept(ps, ',')) {
			skip_space(ps);
			if (accept(ps, ')'))
				return TR_OK;
			continue;
		}
		if (h->ndim > 1 && accept(ps, ')'))
			return TR_OK;
		/* (3) is the number 3 in Python, not a shape. */
		return syntax_error(ps, h->ndim > 1 ? "',' or ')'" : "','");
	}
}

static int parse_entry(struct npy_parser *ps, struct npy_header *h)
{
	const char *key_at = ps->p;
	char key[32];
	int rc;

	rc = parse_string(ps, key, sizeof(key), "a quoted key");
	if (rc)
		return rc;
	skip_space(ps);
	if (!accept(ps, ':'))
		return syntax_error(ps, "':'");
	skip_space(ps);
	if (strcmp(key, "descr") == 0 && h->descr[0] == '\0') {
		rc = parse_string(ps, h->descr, sizeof(h->descr),
				  "a dtype string such as '<f4'");
		if (!rc && h->descr[0] == '\0')
			return tr_fail(ps->err, TR_ERR_INPUT, "%s: empty dtype in the .npy "
				       "header: the file is damaged", ps->path);
		return rc;
	}
	if (strcmp(key, "fortran_order") == 0 && h->fortran_order < 0)
		return parse_bool(ps, &h->fortran_order);
	if (strcmp(key, "shape") == 0 && h->ndim < 0)
		return parse_shape(ps, h);
	ps->p = key_at;
	return syntax_error(ps, "one each of the keys 'descr', 'fortran_order' and 'shape'");
}

/* The dict: keys in any order, either quote, any spacing, optional trailing comma. */
static int parse_header(struct npy_parser *ps, struct npy_header *h)
{
	int rc;

	h->descr[0] = '\0';
	h->fortran_order = -1;
	h->ndim = -1;

	skip_space(ps);
	if (!accept(ps, '{'))
		return syntax_error(ps, "'{'");
	for (;;) {
		skip_space(ps);
		if (accept(ps, '}'))
			break;
		rc = parse_entry(ps, h);
		if (rc)
			return rc;
		skip_space(ps);
		if (accept(ps, ','))
			continue;
		if (accept(ps, '}'))
			break;
		return syntax_error(ps, "',' or '}'");
	}
	skip_space(ps);
	if (ps->p != ps->end)
		return syntax_error(ps, "only padding after the '}'");
	if (h->descr[0] == '\0' || h->fortran_order < 0 || h->ndim < 0)
		return tr_fail(ps->err, TR_ERR_INPUT,
			       "%s: the .npy header lacks the key '%s': the file is damaged or "
			       "was not written by NumPy", ps->path,
			       h->descr[0] == '\0' ? "descr" :
			       h->fortran_order < 0 ? "fortran_order" : "shape");
	return TR_OK;
}

/* Read magic, version and header length; leaves fp at the header. */
static int read_preamble(FILE *fp, const char *path, long long fsize, size_t *header_at,
			 size_t *header_len, tr_error *err)
{
	unsigned char pre[12];
	unsigned major, minor;

	if (fsize < 10 || fread(pre, 1, 10, fp) != 10)
		return tr_fail(err, TR_ERR_INPUT, "%s: too short to be a .npy file (%lld bytes)",
			       path, fsize);
	if (memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
		return tr_fail(err, TR_ERR_INPUT, "%s: not a .npy file (it does not start with "
			       "\\x93NUMPY): check the file name", path);
	major = pre[6];
	minor = pre[7];
	if (minor != 0 || major < 1 || major > 3)
		return tr_fail(err, TR_ERR_INPUT, "%s: unsupported .npy format version %u.%u "
			       "(1.0 to 3.0 are supported)", path, major, minor);
	if (major == 1) {
		*header_at = 10;
		*header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
	} else {
		if (fsize < 12 || fread(pre + 10, 1, 2, fp) != 2)
			return tr_fail(err, TR_ERR_INPUT, "%s: too short to be a .npy file "
				       "(%lld bytes)", path, fsize);
		*header_at = 12;
		*header_len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
			      (size_t)pre[11] << 24;
	}
	if (*header_len > NPY_MAX_HEADER)
		return tr_fail(err, TR_ERR_INPUT, "%s: .npy header length %zu is implausible "
			       "(at most %d bytes are accepted): the file is damaged",
			       path, *header_len, NPY_MAX_HEADER);
	if ((long long)(*header_at + *header_len) > fsize)
		return tr_fail(err, TR_ERR_INPUT, "%s: .npy header length %zu runs past the end "
			       "of the file (%lld bytes): the file is truncated or damaged",
			       path, *header_len, fsize);
	return TR_OK;
}

/* Read and check the header; on success the array is count floats at data_at. */
static int read_header(FILE *fp, const char *path, long long fsize, struct npy_header *h,
		       size_t *data_at, tr_error *err)
{
	struct npy_parser ps;
	size_t header_at = 0, header_len = 0;
	char *text;
	int rc;

	rc = read_preamble(fp, path, fsize, &header_at, &header_len, err);
	if (rc)
		return rc;
	text = malloc(header_len ? header_len : 1);
	if (!text)
		return tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory for the .npy header",
			       path);
	if (fread(text, 1, header_len, fp) != header_len) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: cannot read the .npy header: %s", path,
			     ferror(fp) ? strerror(errno) : "unexpected end of file");
		goto out_free_text;
	}
	ps.path = path;
	ps.start = ps.p = text;
	ps.end = text + header_len;
	ps.err = err;
	rc = parse_header(&ps, h);
	if (rc)
		goto out_free_text;
	if (strcmp(h->descr, "<f4") != 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: dtype '%s' is not supported: only "
			     "little-endian float32 ('<f4') is; convert it with numpy: "
			     "a.astype('<f4')", path, h->descr);
		goto out_free_text;
	}
	if (h->fortran_order) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: Fortran order not supported: save the "
			     "array in C order (numpy.ascontiguousarray)", path);
		goto out_free_text;
	}
	*data_at = header_at + header_len;
out_free_text:
	free(text);
	return rc;
}

int tr_npy_read(const char *path, float **data, size_t *shape, int *ndim, tr_error *err)
{
	char shape_str[NPY_SHAPE_STR_MAX];
	struct npy_header h;
	size_t data_at = 0, count, need;
	long long have, file_size;
	float *buf;
	FILE *fp;
	int rc, i;

	*data = NULL;
	*ndim = 0;
	rc = tr_input_fopen(path, "a .npy file", NULL, &fp, &file_size, err);
	if (rc)
		return rc;
	rc = read_header(fp, path, file_size, &h, &data_at, err);
	if (rc)
		goto out_close;

	format_shape(shape_str, sizeof(shape_str), h.shape, h.ndim);
	if (!element_count(h.shape, h.ndim, &count) || count > SIZE_MAX / sizeof(float)) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: the shape %s is impossibly large: the "
			     "file is damaged", path, shape_str);
		goto out_close;
	}
	need = count * sizeof(float);
	have = file_size - (long long)data_at;
	if ((unsigned long long)have < need) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: truncated: the shape %s needs %zu bytes "
			     "of data but the file has %lld: re-create the file", path,
			     shape_str, need, have);
		goto out_close;
	}
	if ((unsigned long long)have > need) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: %lld trailing bytes after the %zu bytes of "
			     "data the shape %s needs: the file is damaged", path,
			     have - (long long)need, need, shape_str);
		goto out_close;
	}

	/* need now equals bytes present on disk, so this allocation is bounded by them. */
	buf = malloc(need ? need : 1);
	if (!buf) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory for %zu bytes of data",
			     path, need);
		goto out_close;
	}
	if (fread(buf, 1, need, fp) != need) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: cannot read the data: %s", path,
			     ferror(fp) ? strerror(errno) : "the file shrank while being read");
		free(buf);
		goto out_close;
	}
	for (i = 0; i < h.ndim; i++)
		shape[i] = h.shape[i];
	*ndim = h.ndim;
	*data = buf;
	rc = TR_OK;
out_close:
	fclose(fp);
	return rc;
}
