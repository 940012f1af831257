/*
 * test_formats.c - atomic files, .npy, metrics.csv and JSON: round trips, the exact
 * bytes NumPy writes, hostile .npy headers, and failed writes (missing directory, a
 * rename that cannot happen, a full disk simulated with RLIMIT_FSIZE) that must leave
 * the previous file intact and no temporary behind.
 *
 * Set TEST_VERBOSE=1 to see the error messages the bad inputs produce.
 */
#include "testutil.h"
#include "trainer/formats.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *scratch;
static bool verbose;

/* scratch/name in a rotating set of buffers, so a few can be alive at once. */
static const char *in_scratch(const char *name)
{
	static char buf[4][1024];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", scratch, name);
	return p;
}

static bool write_raw(const char *path, const void *data, size_t n)
{
	FILE *fp = fopen(path, "wb");
	bool ok;

	if (!fp)
		return false;
	ok = fwrite(data, 1, n, fp) == n;
	return fclose(fp) == 0 && ok;
}

static bool write_str(const char *path, const char *text)
{
	return write_raw(path, text, strlen(text));
}

/* The whole file into a malloc'ed buffer (NUL-terminated); NULL if unreadable. */
static unsigned char *read_raw(const char *path, size_t *n)
{
	unsigned char *buf = NULL;
	FILE *fp = fopen(path, "rb");
	long size;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)size + 1);
	if (buf && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	if (buf) {
		buf[size] = '\0';
		*n = (size_t)size;
	}
out:
	fclose(fp);
	return buf;
}

static bool file_equals(const char *path, const void *data, size_t n)
{
	size_t got_n = 0;
	unsigned char *got = read_raw(path, &got_n);
	bool same = got && got_n == n && memcmp(got, data, n) == 0;

	free(got);
	return same;
}

/* Temporaries (".<name>.tmp.XXXXXX") left in the scratch directory. */
static int count_temps(void)
{
	DIR *d = opendir(scratch);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp."))
			n++;
	closedir(d);
	return n;
}

static void show(const char *what, const tr_error *err)
{
	if (verbose)
		printf("  %-28s -> [%s] %s\n", what, tr_status_name(err->status), err->msg);
}

/* ---- .npy ---- */

static void fill(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = (float)i * 0.37f - 2.5f;
}

static void test_npy_numpy_bytes(void)
{
	/* What numpy.save writes for np.arange(6, dtype='<f4').reshape(2, 3): the dict,
	 * spaces up to byte 127, '\n', then the data. Spelled out by hand here. */
	static const char dict[] =
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
	const char *path = in_scratch("numpy23.npy");
	unsigned char want[128 + 24];
	float data[6] = { 0, 1, 2, 3, 4, 5 };
	size_t shape[2] = { 2, 3 };
	tr_error err;

	memset(want, ' ', 128);
	memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);  /* header length 118 */
	memcpy(want + 10, dict, strlen(dict));
	want[127] = '\n';
	memcpy(want + 128, data, sizeof(data));

	CHECK(tr_npy_write(path, data, shape, 2, &err) == TR_OK, "npy write: %s", err.msg);
	CHECK(file_equals(path, want, sizeof(want)),
	      "(2, 3) float32 file differs from what numpy writes");
}

/* Preamble length if magic, version 1.0, 64-byte alignment and the '\n' are right. */
static size_t check_preamble(const char *path)
{
	size_t n = 0, total = 0;
	unsigned char *b = read_raw(path, &n);

	if (b && n >= 10 && memcmp(b, "\x93NUMPY\x01\x00", 8) == 0) {
		total = 10 + (size_t)(b[8] | b[9] << 8);
		if (total % 64 != 0 || total > n || b[total - 1] != '\n')
			total = 0;
	}
	free(b);
	return total;
}

static void npy_roundtrip(const char *name, const size_t *shape, int ndim)
{
	const char *path = in_scratch(name);
	size_t count = 1, got_shape[TR_NPY_MAX_DIMS] = { 0 };
	float *data, *got = NULL;
	int got_ndim = -1, i;
	tr_error err;

	for (i = 0; i < ndim; i++)
		count *= shape[i];
	data = malloc((count ? count : 1) * sizeof(float));
	fill(data, count);
	if (count > 1)
		data[1] = NAN;  /* bytes, not values, must survive */

	CHECK(tr_npy_write(path, data, shape, ndim, &err) == TR_OK, "%s: write: %s", name,
	      err.msg);
	CHECK(check_preamble(path) > 0, "%s: preamble not 64-aligned or no '\\n'", name);
	CHECK(tr_npy_read(path, &got, got_shape, &got_ndim, &err) == TR_OK, "%s: read: %s",
	      name, err.msg);
	CHECK(got_ndim == ndim, "%s: ndim %d, want %d", name, got_ndim, ndim);
	for (i = 0; i < ndim && got_ndim == ndim; i++)
		CHECK(got_shape[i] == shape[i], "%s: dim %d is %zu, want %zu", name, i,
		      got_shape[i], shape[i]);
	CHECK(got && memcmp(got, data, count * sizeof(float)) == 0, "%s: data differs", name);
	free(got);
	free(data);
}

static void test_npy_roundtrip(void)
{
	static const size_t s0[1] = { 0 }, s1[1] = { 7 }, s2[2] = { 2, 3 },
			    s3[3] = { 2, 3, 4 }, s4[4] = { 2, 1, 3, 2 }, e2[2] = { 0, 5 },
			    big1[1] = { 12345678 / 100 };

	npy_roundtrip("d0.npy", s0, 0);
	npy_roundtrip("d1.npy", s1, 1);
	npy_roundtrip("d2.npy", s2, 2);
	npy_roundtrip("d3.npy", s3, 3);
	npy_roundtrip("d4.npy", s4, 4);
	npy_roundtrip("empty.npy", e2, 2);
	npy_roundtrip("big1.npy", big1, 1);
}

static void test_npy_aligned_quirk(void)
{
	/* The dict plus NumPy's growth room is 117 bytes here, so 10 + 117 + '\n' is
	 * already 128; NumPy's padding formula then adds a full 64 spaces anyway. */
	const char *path = in_scratch("quirk.npy");
	size_t shape[4] = { 1, 0, 10000000000000000ULL, 10000000000000000ULL };
	size_t got_shape[4];
	float *got = NULL;
	int ndim = 0;
	tr_error err;

	CHECK(tr_npy_write(path, NULL, shape, 4, &err) == TR_OK, "write: %s", err.msg);
	CHECK(check_preamble(path) == 192, "preamble %zu, numpy writes 192",
	      check_preamble(path));
	CHECK(tr_npy_read(path, &got, got_shape, &ndim, &err) == TR_OK &&
	      ndim == 4 && got_shape[2] == shape[2], "read back: %s", err.msg);
	free(got);
}

/* A .npy with the given version, header dict (padded here) and body. */
static bool make_npy(const char *path, int major, const char *dict, const void *body,
		     size_t body_len)
{
	size_t pre = major == 1 ? 10 : 12, dict_len = strlen(dict);
	size_t total = (pre + dict_len + 1 + 63) / 64 * 64, hlen = total - pre;
	unsigned char *buf = malloc(total + body_len);
	bool ok;

	memset(buf, ' ', total);
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	buf[7] = 0;
	buf[8] = (unsigned char)(hlen & 0xff);
	buf[9] = (unsigned char)(hlen >> 8);
	if (major != 1) {
		buf[10] = 0;
		buf[11] = 0;
	}
	memcpy(buf + pre, dict, dict_len);
	buf[total - 1] = '\n';
	if (body_len)
		memcpy(buf + total, body, body_len);
	ok = write_raw(path, buf, total + body_len);
	free(buf);
	return ok;
}

/* Reading path must fail with TR_ERR_INPUT, name the file, and say `says`. */
static void expect_bad_npy(const char *what, const char *path, const char *says)
{
	size_t shape[TR_NPY_MAX_DIMS];
	float *data = (float *)&shape;  /* must come back NULL */
	int ndim = 0, rc;
	tr_error err = { 0 };

	rc = tr_npy_read(path, &data, shape, &ndim, &err);
	show(what, &err);
	CHECK(rc == TR_ERR_INPUT && err.status == TR_ERR_INPUT, "%s: rc %d, want input error",
	      what, rc);
	CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", what,
	      err.msg);
	CHECK(strstr(err.msg, says) != NULL, "%s: message lacks \"%s\": %s", what, says,
	      err.msg);
	CHECK(data == NULL, "%s: *data not NULL after a failure", what);
}

static void expect_bad_dict(const char *what, const char *dict, size_t body_floats,
			    const char *says)
{
	const char *path = in_scratch("bad.npy");
	float body[8] = { 0 };

	CHECK(body_floats <= 8 && make_npy(path, 1, dict, body, body_floats * sizeof(float)),
	      "%s: cannot write the test file", what);
	expect_bad_npy(what, path, says);
}

static void expect_good_dict(const char *what, int major, const char *dict)
{
	const char *path = in_scratch("good.npy");
	float body[6] = { 1, 2, 3, 4, 5, 6 };
	size_t shape[TR_NPY_MAX_DIMS];
	float *data = NULL;
	int ndim = 0;
	tr_error err;

	CHECK(make_npy(path, major, dict, body, sizeof(body)), "%s: cannot write", what);
	CHECK(tr_npy_read(path, &data, shape, &ndim, &err) == TR_OK, "%s: %s", what, err.msg);
	CHECK(ndim == 2 && shape[0] == 2 && shape[1] == 3, "%s: wrong shape", what);
	CHECK(data && memcmp(data, body, sizeof(body)) == 0, "%s: wrong data", what);
	free(data);
}

#define DICT(descr, fortran, shape) \
	"{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }"

static void test_npy_bad(void)
{
	const char *path = in_scratch("raw.npy");
	size_t n = 0, shape[2] = { 2, 3 };
	float data[6] = { 0 };
	unsigned char *b;
	tr_error err;

	expect_good_dict("v1 dict as numpy writes", 1, DICT("<f4", "False", "(2, 3)"));
	expect_good_dict("v2, double quotes, order", 2,
			 "{\"shape\":(2,3,),\"fortran_order\" :False ,\"descr\":\"<f4\"}");
	expect_good_dict("v3, Python 2 longs", 3, "{ 'descr' : '<f4' , 'fortran_order' "
			 ": False , 'shape' : ( 2L , 3L ) }");

	expect_bad_dict("dtype <f8", DICT("<f8", "False", "(2, 3)"), 6, "'<f8'");
	expect_bad_dict("dtype <i4", DICT("<i4", "False", "(2, 3)"), 6, "'<i4'");
	expect_bad_dict("dtype >f4", DICT(">f4", "False", "(2, 3)"), 6, "'>f4'");
	expect_bad_dict("structured dtype",
			"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
			2, "dtype string");
	expect_bad_dict("fortran order", DICT("<f4", "True", "(2, 3)"), 6,
			"Fortran order not supported");
	expect_bad_dict("truncated body", DICT("<f4", "False", "(2, 3)"), 5, "truncated");
	expect_bad_dict("truncated: sizes", DICT("<f4", "False", "(2, 3)"), 5,
			"needs 24 bytes of data but the file has 20");
	expect_bad_dict("trailing bytes", DICT("<f4", "False", "(2, 3)"), 7, "trailing");
	expect_bad_dict("huge shape, tiny file", DICT("<f4", "False", "(1000000000, 1000)"),
			6, "truncated");
	expect_bad_dict("shape overflows", DICT("<f4", "False", "(4611686018427387904, 4)"),
			6, "impossibly large");
	expect_bad_dict("dimension overflows",
			DICT("<f4", "False", "(99999999999999999999999,)"), 6, "64 bits");
	expect_bad_dict("shape (2, x)", DICT("<f4", "False", "(2, x)"), 6,
			"non-negative integer");
	expect_bad_dict("shape (2, -3)", DICT("<f4", "False", "(2, -3)"), 6,
			"non-negative integer");
	expect_bad_dict("shape unclosed", "{'descr': '<f4', 'fortran_order': False, "
			"'shape': (2, 3", 6, "malformed");
	expect_bad_dict("shape not a tuple", DICT("<f4", "False", "[2, 3]"), 6,
			"shape tuple");
	expect_bad_dict("shape (6)", DICT("<f4", "False", "(6)"), 6, "malformed");
	expect_bad_dict("5 dimensions", DICT("<f4", "False", "(1, 1, 1, 1, 6)"), 6,
			"more than 4 dimensions");
	expect_bad_dict("missing key", "{'descr': '<f4', 'shape': (6,)}", 6,
			"lacks the key 'fortran_order'");
	expect_bad_dict("unknown key", "{'descr': '<f4', 'fortran_order': False, "
			"'shape': (6,), 'x': 1}", 6, "malformed");
	expect_bad_dict("duplicate key", "{'descr': '<f4', 'descr': '<f4', "
			"'fortran_order': False, 'shape': (6,)}", 6, "malformed");
	expect_bad_dict("garbage after dict", DICT("<f4", "False", "(6,)") " x", 6,
			"only padding");
	expect_bad_dict("bool spelled wrong", DICT("<f4", "false", "(6,)"), 6,
			"True or False");
	expect_bad_dict("empty header", "", 6, "malformed");

	/* Byte-level damage to a good file. */
	CHECK(tr_npy_write(path, data, shape, 2, &err) == TR_OK, "write: %s", err.msg);
	b = read_raw(path, &n);
	CHECK(b && n == 128 + 24, "raw read");
	if (!b || n != 128 + 24) {
		free(b);
		return;
	}
	b[5] = 'Z';
	write_raw(path, b, n);
	expect_bad_npy("bad magic", path, "not a .npy file");
	b[5] = 'Y';
	b[6] = 4;
	write_raw(path, b, n);
	expect_bad_npy("version 4.0", path, "unsupported .npy format version 4.0");
	b[6] = 1;
	b[8] = 0xe8;  /* header length 1000 */
	b[9] = 0x03;
	write_raw(path, b, n);
	expect_bad_npy("header past the end", path, "runs past the end");
	b[6] = 2;  /* now 4-byte length 0x0000_03e8 plus two dict bytes: huge */
	b[10] = 0xff;
	b[11] = 0x7f;
	write_raw(path, b, n);
	expect_bad_npy("header length 2 GiB", path, "implausible");
	b[6] = 1;
	b[8] = 118;
	b[9] = 0;
	b[10] = '{';
	b[11] = '\'';
	b[40] = '\0';  /* inside 'fortran_order' */
	write_raw(path, b, n);
	expect_bad_npy("NUL in header", path, "byte 0x00");
	write_raw(path, b, 7);
	expect_bad_npy("7-byte file", path, "too short");
	write_raw(path, b, 0);
	expect_bad_npy("empty file", path, "too short");
	free(b);

	expect_bad_npy("missing file", in_scratch("nope.npy"), "does not exist");
	expect_bad_npy("a directory", scratch, "is a directory");
}

/* ---- metrics.csv ---- */

static bool close_rel(double a, double b, double tol)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	if (isinf(a) || isinf(b))
		return a == b;
	return fabs(a - b) <= tol * fmax(1.0, fabs(a));
}

static void test_metrics_roundtrip(void)
{
	const tr_metric_row rows[] = {
		{ 0, 2.302585093, 0.1, 2.30112, 0.0998, 0.0, 2.2, 2.20112, 0.1 },
		{ 10, 0.5, 0.25, 1.0 / 3.0, 0.75, 1.5, 0.25, 1.0 / 12.0, 0.25 },
		{ 200, 1.23456789e-7, 0.987654321, 6.02e23, 1.0, 12345.6789, 1e-7, 6.02e23, 2.3e-8 },
		{ 300, NAN, 0.5, INFINITY, 0.5, 99.0, NAN, INFINITY, 1.0 },
		{ 400, -NAN, 0.0, -INFINITY, NAN, 100.25, -NAN, -INFINITY, 0.0 },
	};
	const size_t n = sizeof(rows) / sizeof(rows[0]);
	const char *path = in_scratch("metrics.csv");
	const char *want = TR_METRICS_HEADER "\n0,2.30258509,0.100000,2.30112,0.099800,"
			   "0.000,2.2,2.20112,0.1\n10,0.5,0.250000,0.333333333,0.750000,1.500,"
			   "0.25,0.0833333333,0.25\n";
	tr_metric_row *got = NULL;
	size_t got_n = 99, i, len = 0;
	char *text;
	tr_error err;

	CHECK(tr_metrics_write(path, rows, n, &err) == TR_OK, "write: %s", err.msg);
	text = (char *)read_raw(path, &len);
	CHECK(text && strncmp(text, want, strlen(want)) == 0, "unexpected text:\n%s",
	      text ? text : "(unreadable)");
	CHECK(text && strstr(text, "\n300,nan,0.500000,inf,") != NULL, "nan/inf: %s",
	      text ? text : "(unreadable)");
	CHECK(text && strstr(text, "-nan") == NULL &&
	      strstr(text, "\n400,nan,0.000000,-inf,nan,100.250,nan,-inf,0\n") != NULL,
	      "-nan must be written as nan: %s", text ? text : "(unreadable)");
	free(text);

	CHECK(tr_metrics_read(path, &got, &got_n, &err) == TR_OK, "read: %s", err.msg);
	CHECK(got_n == n, "%zu rows, want %zu", got_n, n);
	for (i = 0; i < n && i < got_n; i++) {
		CHECK(got[i].iter == rows[i].iter, "row %zu iter", i);
		CHECK(close_rel(got[i].train_loss, rows[i].train_loss, 1e-8), "row %zu tl", i);
		CHECK(close_rel(got[i].train_acc, rows[i].train_acc, 1e-6), "row %zu ta", i);
		CHECK(close_rel(got[i].val_loss, rows[i].val_loss, 1e-8), "row %zu vl", i);
		CHECK(close_rel(got[i].val_acc, rows[i].val_acc, 1e-6), "row %zu va", i);
		CHECK(close_rel(got[i].seconds, rows[i].seconds, 1e-3), "row %zu s", i);
		CHECK(close_rel(got[i].train_ce, rows[i].train_ce, 1e-8), "row %zu tce", i);
		CHECK(close_rel(got[i].val_ce, rows[i].val_ce, 1e-8), "row %zu vce", i);
		CHECK(close_rel(got[i].l2_term, rows[i].l2_term, 1e-8), "row %zu l2", i);
	}
	free(got);

	CHECK(tr_metrics_write(path, NULL, 0, &err) == TR_OK, "write 0 rows: %s", err.msg);
	got_n = 99;
	CHECK(tr_metrics_read(path, &got, &got_n, &err) == TR_OK && got_n == 0,
	      "read 0 rows: %s", err.msg);
	free(got);
}

/* A metrics.csv of six columns, as written before the loss's parts were added, reads
 * with the parts NaN; and one of them rewritten gets all nine columns. */
static void test_metrics_six_columns(void)
{
	const char *old = TR_METRICS_HEADER_V1 "\n100,0.876,0.9,0.9,0.95,12.5\n"
			  "200,0.5,0.95,0.6,0.96,25.0\n";
	const char *path = in_scratch("old-metrics.csv");
	tr_metric_row *got = NULL;
	size_t got_n = 0, len = 0;
	char *text;
	tr_error err;

	CHECK(write_raw(path, old, strlen(old)), "cannot write %s", path);
	CHECK(tr_metrics_read(path, &got, &got_n, &err) == TR_OK, "six columns: %s", err.msg);
	CHECK(got_n == 2, "%zu rows, want 2", got_n);
	if (got_n == 2) {
		CHECK(got[1].iter == 200 && got[1].val_loss == 0.6 && got[1].val_acc == 0.96 &&
		      got[1].seconds == 25.0, "six-column row 2 misread");
		CHECK(isnan(got[0].train_ce) && isnan(got[0].val_ce) && isnan(got[1].l2_term),
		      "the missing parts must read as NaN");
		CHECK(tr_metrics_write(path, got, got_n, &err) == TR_OK, "rewrite: %s", err.msg);
		text = (char *)read_raw(path, &len);
		CHECK(text && strstr(text, TR_METRICS_HEADER "\n100,0.876,0.900000,0.9,"
				     "0.950000,12.500,nan,nan,nan\n"), "rewritten: %s",
		      text ? text : "(unreadable)");
		free(text);
	}
	free(got);
}

static void expect_bad_metrics(const char *what, const char *text, const char *says)
{
	const char *path = in_scratch("bad.csv");
	tr_metric_row *rows = (tr_metric_row *)&what;
	size_t n = 99;
	tr_error err = { 0 };
	int rc;

	if (text)
		CHECK(write_raw(path, text, strlen(text)), "%s: cannot write", what);
	else
		path = in_scratch("no-such-metrics.csv");
	rc = tr_metrics_read(path, &rows, &n, &err);
	show(what, &err);
	CHECK(rc == TR_ERR_INPUT, "%s: rc %d, want input error", what, rc);
	CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", what,
	      err.msg);
	CHECK(strstr(err.msg, says) != NULL, "%s: message lacks \"%s\": %s", what, says,
	      err.msg);
	CHECK(rows == NULL && n == 0, "%s: outputs not cleared", what);
}

static void test_metrics_bad(void)
{
	const char *row = "1,0.5,0.9,0.6,0.8,1.0,0.4,0.5,0.1\n";
	const char *v1 = TR_METRICS_HEADER_V1;
	char text[512];

	expect_bad_metrics("empty file", "", "empty file");
	expect_bad_metrics("bad header", "iter,loss,acc\n1,2,3\n", "first line must be");
	expect_bad_metrics("header with extra column",
			   TR_METRICS_HEADER ",lr\n", "first line must be");
	snprintf(text, sizeof(text), "%s\n%s1,0.5,0.9,0.6,0.8\n", TR_METRICS_HEADER, row);
	expect_bad_metrics("5 fields", text, ".csv:3: 5 fields where 9 are expected");
	snprintf(text, sizeof(text), "%s\n%s1,0.5,0.9,0.6,0.8,1.0\n", TR_METRICS_HEADER, row);
	expect_bad_metrics("6 fields under the new header", text, ".csv:3: 6 fields where 9");
	snprintf(text, sizeof(text), "%s\n%s", v1, row);
	expect_bad_metrics("9 fields under the old header", text, ".csv:2: 9 fields where 6");
	snprintf(text, sizeof(text), "%s\n%s2,0.5,abc,0.6,0.8,1,0.4,0.5,0.1\n",
		 TR_METRICS_HEADER, row);
	expect_bad_metrics("not a number", text, ".csv:3: train_acc 'abc'");
	snprintf(text, sizeof(text), "%s\n%s2,0.5,0.5,0.6,0.8,1,0.4,x,0.1\n",
		 TR_METRICS_HEADER, row);
	expect_bad_metrics("not a number in the new columns", text, ".csv:3: val_ce 'x'");
	snprintf(text, sizeof(text), "%s\n2,0.5,0.5,,0.8,1\n", v1);
	expect_bad_metrics("empty field", text, ".csv:2: val_loss ''");
	snprintf(text, sizeof(text), "%s\n2.5,0.5,0.5,0.5,0.8,1\n", v1);
	expect_bad_metrics("fractional iter", text, "iter '2.5'");
	snprintf(text, sizeof(text), "%s\n2,0.5,0.5,0.5,0.8,1e999\n", v1);
	expect_bad_metrics("overflowing number", text, "seconds '1e999'");
	snprintf(text, sizeof(text), "%s\n%s\n", TR_METRICS_HEADER, row);
	expect_bad_metrics("blank line", text, ".csv:3: 1 fields");
	expect_bad_metrics("missing file", NULL, "does not exist");
}

/* ---- JSON ---- */

static void test_json(void)
{
	const char *path = in_scratch("doc.json");
	cJSON *doc = cJSON_CreateObject(), *back = NULL, *arr;
	char *text;
	size_t len = 0;
	tr_error err;
	int rc;

	cJSON_AddStringToObject(doc, "backend", "cpu-ref");
	cJSON_AddNumberToObject(doc, "lr", 0.05);
	cJSON_AddBoolToObject(doc, "shuffle", 1);
	arr = cJSON_AddArrayToObject(doc, "hidden");
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(128));
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(64));
	cJSON_AddStringToObject(doc, "note", "quotes \" and \\ and \xc3\xa9");

	CHECK(tr_json_write(path, doc, &err) == TR_OK, "write: %s", err.msg);
	text = (char *)read_raw(path, &len);
	CHECK(text && len > 2 && text[0] == '{' && text[len - 1] == '\n' &&
	      text[len - 2] == '}', "file is not the document plus a newline");
	free(text);
	CHECK(tr_json_read(path, &back, &err) == TR_OK, "read: %s", err.msg);
	CHECK(back && cJSON_Compare(doc, back, 1), "document changed in the round trip");
	cJSON_Delete(back);
	cJSON_Delete(doc);

	write_str(path, "{\n  \"a\": 1,\n  \"b\": }\n");
	back = (cJSON *)&len;
	rc = tr_json_read(path, &back, &err);
	show("json syntax error", &err);
	CHECK(rc == TR_ERR_INPUT && back == NULL, "syntax error: rc %d", rc);
	CHECK(strstr(err.msg, path) && strstr(err.msg, ".json:3:"),
	      "syntax error must name file and line 3: %s", err.msg);

	write_str(path, "{} x");
	rc = tr_json_read(path, &back, &err);
	show("json trailing garbage", &err);
	CHECK(rc == TR_ERR_INPUT && strstr(err.msg, path), "trailing garbage: %s", err.msg);

	write_raw(path, "{}\0{}", 5);
	rc = tr_json_read(path, &back, &err);
	show("json NUL byte", &err);
	CHECK(rc == TR_ERR_INPUT && strstr(err.msg, "NUL"), "NUL byte: %s", err.msg);

	write_raw(path, "", 0);
	rc = tr_json_read(path, &back, &err);
	show("json empty", &err);
	CHECK(rc == TR_ERR_INPUT && strstr(err.msg, "empty"), "empty file: %s", err.msg);

	rc = tr_json_read(in_scratch("nope.json"), &back, &err);
	CHECK(rc == TR_ERR_INPUT && strstr(err.msg, "nope.json"), "missing: %s", err.msg);
}

/* ---- atomic files ---- */

static void test_atomic(void)
{
	const char *path = in_scratch("atomic.txt");
	const char *sub = in_scratch("subdir");
	const char *missing = in_scratch("no-such-dir/out.txt");
	tr_atomic_file af;
	struct stat st;
	tr_error err;
	int rc;

	CHECK(tr_write_file_atomic(path, "old\n", 4, &err) == TR_OK, "write: %s", err.msg);
	CHECK(file_equals(path, "old\n", 4), "first write");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode %o, want 644",
	      (unsigned)(st.st_mode & 0777));

	/* Abort after writing: old contents stay, the temporary goes. */
	CHECK(tr_atomic_open(&af, path, &err) == TR_OK, "open: %s", err.msg);
	CHECK(strncmp(af.tmp_path, scratch, strlen(scratch)) == 0 &&
	      strstr(af.tmp_path, "/.atomic.txt.tmp.") != NULL,
	      "temporary %s not beside the target", af.tmp_path);
	fputs("new, half written", af.fp);
	fflush(af.fp);
	CHECK(count_temps() == 1, "temporary not visible while open");
	tr_atomic_abort(&af);
	tr_atomic_abort(&af);
	tr_atomic_abort(NULL);
	CHECK(file_equals(path, "old\n", 4), "abort changed the old file");
	CHECK(count_temps() == 0, "abort left a temporary");

	/* Commit replaces. */
	CHECK(tr_atomic_open(&af, path, &err) == TR_OK, "open: %s", err.msg);
	CHECK(tr_atomic_write(&af, "new\n", 4, &err) == TR_OK, "write: %s", err.msg);
	CHECK(tr_atomic_commit(&af, &err) == TR_OK, "commit: %s", err.msg);
	tr_atomic_abort(&af);  /* harmless after a commit */
	CHECK(file_equals(path, "new\n", 4), "commit did not replace");
	CHECK(count_temps() == 0, "commit left a temporary");

	/* The directory does not exist. */
	rc = tr_write_file_atomic(missing, "x", 1, &err);
	show("missing directory", &err);
	CHECK(rc == TR_ERR_OUTPUT && strstr(err.msg, missing) && strstr(err.msg, "check"),
	      "missing directory: rc %d: %s", rc, err.msg);

	/* The rename fails (the target is a non-empty directory): the commit reports it,
	 * the directory is untouched, and the temporary is gone. */
	CHECK(mkdir(sub, 0755) == 0, "mkdir");
	CHECK(write_raw(in_scratch("subdir/keep"), "k", 1), "write keep");
	rc = tr_write_file_atomic(sub, "x", 1, &err);
	show("rename over a directory", &err);
	CHECK(rc == TR_ERR_OUTPUT && strstr(err.msg, sub) && strstr(err.msg, "rename"),
	      "rename failure: rc %d: %s", rc, err.msg);
	CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
	      file_equals(in_scratch("subdir/keep"), "k", 1), "directory damaged");
	CHECK(count_temps() == 0, "failed commit left a temporary");

	rc = tr_write_file_atomic(in_scratch("dir/"), "x", 1, &err);
	CHECK(rc == TR_ERR_OUTPUT && strstr(err.msg, "not a file name"), "trailing '/': %s",
	      err.msg);
}

/* ---- a full disk, simulated with RLIMIT_FSIZE in a child ---- */

/* In a child with files capped at limit bytes: run fn and exit 0 if it fails with
 * TR_ERR_OUTPUT naming path. Returns the child's exit status (or -1). */
static int in_limited_child(rlim_t limit, int (*fn)(const char *, tr_error *),
			    const char *path)
{
	struct rlimit rl = { limit, limit };
	tr_error err = { 0 };
	int status, rc;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(10);
		rc = fn(path, &err);
		if (verbose)
			fprintf(stderr, "  %-28s -> [%s] %s\n", "file size limit",
				tr_status_name(err.status), err.msg);
		if (rc != TR_ERR_OUTPUT)
			_exit(11);
		if (!strstr(err.msg, path) || !strstr(err.msg, "check free space"))
			_exit(12);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static int write_big_npy(const char *path, tr_error *err)
{
	size_t shape[2] = { 1000, 1000 };
	float *data = calloc(1000 * 1000, sizeof(float));
	int rc = tr_npy_write(path, data, shape, 2, err);

	free(data);
	return rc;
}

/* 100 bytes stay in the stdio buffer: the failure shows only at the commit's flush. */
static int write_small_file(const char *path, tr_error *err)
{
	char buf[100];

	memset(buf, 'n', sizeof(buf));
	return tr_write_file_atomic(path, buf, sizeof(buf), err);
}

static void test_disk_full(void)
{
	const char *npy = in_scratch("model.npy");
	const char *txt = in_scratch("small.txt");
	float old[3] = { 1, 2, 3 }, *got = NULL;
	size_t shape[1] = { 3 }, got_shape[4];
	int ndim = 0, status;
	tr_error err;

	CHECK(tr_npy_write(npy, old, shape, 1, &err) == TR_OK, "write: %s", err.msg);
	status = in_limited_child(64 * 1024, write_big_npy, npy);
	CHECK(status == 0, "4 MB .npy past a 64 KiB limit: child status %d", status);
	CHECK(tr_npy_read(npy, &got, got_shape, &ndim, &err) == TR_OK && ndim == 1 &&
	      got_shape[0] == 3 && memcmp(got, old, sizeof(old)) == 0,
	      "previous .npy not intact: %s", err.msg);
	free(got);
	CHECK(count_temps() == 0, "failed .npy write left a temporary");

	CHECK(tr_write_file_atomic(txt, "old\n", 4, &err) == TR_OK, "write: %s", err.msg);
	status = in_limited_child(50, write_small_file, txt);
	CHECK(status == 0, "100 bytes past a 50-byte limit: child status %d", status);
	CHECK(file_equals(txt, "old\n", 4), "previous file not intact");
	CHECK(count_temps() == 0, "failed flush left a temporary");
}

int main(void)
{
	verbose = getenv("TEST_VERBOSE") != NULL;
	scratch = test_tmpdir("formats");

	test_npy_numpy_bytes();
	test_npy_roundtrip();
	test_npy_aligned_quirk();
	test_npy_bad();
	test_metrics_roundtrip();
	test_metrics_six_columns();
	test_metrics_bad();
	test_json();
	test_atomic();
	test_disk_full();
	return test_finish();
}
