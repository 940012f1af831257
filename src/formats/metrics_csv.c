/*
 * metrics_csv.c - the training curve as CSV: one header line, one row per evaluation.
 * Files of six columns (before the loss was split into its parts) read as well, with
 * the parts NaN.
 *
 * A diverged run can log non-finite values; they are written as nan, inf and -inf
 * (never printf's "-nan") and read back as such.
 */
#include "trainer/formats.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_FIELDS 9
#define METRICS_FIELDS_V1 6
#define METRICS_LINE_MAX 1024  /* a written row is under 300 bytes */

/* One number in the given printf format, or nan/inf/-inf. Returns the length. */
static int format_value(char *buf, size_t cap, const char *fmt, double v)
{
	if (isnan(v))
		return snprintf(buf, cap, "nan");
	if (isinf(v))
		return snprintf(buf, cap, v > 0 ? "inf" : "-inf");
	return snprintf(buf, cap, fmt, v);
}

static int format_row(char *line, size_t cap, const tr_metric_row *r)
{
	char f[8][48];

	format_value(f[0], sizeof(f[0]), "%.9g", r->train_loss);
	format_value(f[1], sizeof(f[1]), "%.6f", r->train_acc);
	format_value(f[2], sizeof(f[2]), "%.9g", r->val_loss);
	format_value(f[3], sizeof(f[3]), "%.6f", r->val_acc);
	format_value(f[4], sizeof(f[4]), "%.3f", r->seconds);
	format_value(f[5], sizeof(f[5]), "%.9g", r->train_ce);
	format_value(f[6], sizeof(f[6]), "%.9g", r->val_ce);
	format_value(f[7], sizeof(f[7]), "%.9g", r->l2_term);
	return snprintf(line, cap, "%ld,%s,%s,%s,%s,%s,%s,%s,%s\n", r->iter, f[0], f[1], f[2],
			f[3], f[4], f[5], f[6], f[7]);
}

int tr_metrics_write(const char *path, const tr_metric_row *rows, size_t n,
		     tr_error *err)
{
	/* "%.6f" of a huge accuracy could be ~320 digits; keep room for eight of them. */
	char line[3072];
	tr_atomic_file af;
	size_t i;
	int rc, len;

	rc = tr_atomic_open(&af, path, err);
	if (rc)
		return rc;
	rc = tr_atomic_write(&af, TR_METRICS_HEADER "\n", strlen(TR_METRICS_HEADER) + 1, err);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		len = format_row(line, sizeof(line), &rows[i]);
		if (len < 0 || (size_t)len >= sizeof(line)) {
			tr_atomic_abort(&af);
			return tr_fail(err, TR_ERR_INTERNAL, "%s: row %zu does not fit in a line "
				       "(absurd values?)", path, i);
		}
		rc = tr_atomic_write(&af, line, (size_t)len, err);
		if (rc)
			return rc;
	}
	return tr_atomic_commit(&af, err);
}

/* ---- reading ---- */

static int parse_double(const char *s, double *out)
{
	char *end;

	if (*s == '\0' || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (*end != '\0')
		return -1;
	/* Underflow to a denormal is fine; a finite number too large for a double is not
	 * (a literal "inf" does not set ERANGE). */
	if (errno == ERANGE && isinf(*out))
		return -1;
	return 0;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	if (*s == '\0' || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return -1;
	return 0;
}

static const char *const field_names[METRICS_FIELDS] = {
	"iter", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "train_ce",
	"val_ce", "l2_term",
};

/* Parse one data line of `fields` fields (newline already removed; modified in place).
 * The fields a shorter (older) file lacks are NaN. */
static int parse_row(char *line, int fields, const char *header, const char *path,
		     size_t lineno, tr_metric_row *r, tr_error *err)
{
	char *field[METRICS_FIELDS];
	double *value[METRICS_FIELDS - 1] = {
		&r->train_loss, &r->train_acc, &r->val_loss, &r->val_acc, &r->seconds,
		&r->train_ce, &r->val_ce, &r->l2_term,
	};
	char *p = line, *comma;
	int n = 0, i;

	r->train_ce = r->val_ce = r->l2_term = NAN;
	for (;;) {
		comma = strchr(p, ',');
		if (n < METRICS_FIELDS)
			field[n] = p;
		n++;
		if (!comma)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	if (n != fields)
		return tr_fail(err, TR_ERR_INPUT, "%s:%zu: %d fields where %d are expected (%s)",
			       path, lineno, n, fields, header);
	if (parse_long(field[0], &r->iter) != 0)
		return tr_fail(err, TR_ERR_INPUT, "%s:%zu: iter '%s' is not an integer", path,
			       lineno, field[0]);
	for (i = 1; i < fields; i++)
		if (parse_double(field[i], value[i - 1]) != 0)
			return tr_fail(err, TR_ERR_INPUT, "%s:%zu: %s '%s' is not a number",
				       path, lineno, field_names[i], field[i]);
	return TR_OK;
}

/*
 * Read one line into buf without its line ending. Returns 1 for a line, 0 at the end
 * of the file, -1 for a line too long, -2 for a read error.
 */
static int read_line(FILE *fp, char *buf, size_t cap)
{
	size_t len;

	if (!fgets(buf, (int)cap, fp))
		return ferror(fp) ? -2 : 0;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(fp))
		return -1;
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 1;
}

static int grow_rows(tr_metric_row **rows, size_t *cap, const char *path, tr_error *err)
{
	tr_metric_row *bigger;
	size_t want = *cap * 2;

	if (want > SIZE_MAX / sizeof(**rows))
		return tr_fail(err, TR_ERR_INTERNAL, "%s: too many rows", path);
	bigger = realloc(*rows, want * sizeof(**rows));
	if (!bigger)
		return tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory for %zu rows", path,
			       want);
	*rows = bigger;
	*cap = want;
	return TR_OK;
}

int tr_metrics_read(const char *path, tr_metric_row **rows, size_t *n, tr_error *err)
{
	char line[METRICS_LINE_MAX];
	tr_metric_row *out;
	size_t count = 0, cap = 64, lineno = 1;
	const char *header = TR_METRICS_HEADER;
	int fields = METRICS_FIELDS;
	long long size;
	FILE *fp;
	int rc, got;

	*rows = NULL;
	*n = 0;
	rc = tr_input_fopen(path, "a metrics.csv file", NULL, &fp, &size, err);
	if (rc)
		return rc;
	out = malloc(cap * sizeof(*out));
	if (!out) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory", path);
		goto out_close;
	}

	got = read_line(fp, line, sizeof(line));
	if (got == 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: empty file: expected the header line %s",
			     path, TR_METRICS_HEADER);
		goto out_free_rows;
	}
	if (got > 0 && strcmp(line, TR_METRICS_HEADER_V1) == 0) {
		header = TR_METRICS_HEADER_V1;
		fields = METRICS_FIELDS_V1;
	} else if (got < 0 || strcmp(line, TR_METRICS_HEADER) != 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s:1: not a metrics file: the first line must "
			     "be exactly %s (or, written by an older trainer, %s)", path,
			     TR_METRICS_HEADER, TR_METRICS_HEADER_V1);
		goto out_free_rows;
	}
	for (;;) {
		lineno++;
		got = read_line(fp, line, sizeof(line));
		if (got == 0)
			break;
		if (got == -1) {
			rc = tr_fail(err, TR_ERR_INPUT, "%s:%zu: line longer than %d bytes: the "
				     "file is damaged", path, lineno, METRICS_LINE_MAX - 2);
			goto out_free_rows;
		}
		if (got == -2) {
			rc = tr_fail(err, TR_ERR_INPUT, "%s:%zu: read error: %s", path, lineno,
				     strerror(errno));
			goto out_free_rows;
		}
		if (count == cap) {
			rc = grow_rows(&out, &cap, path, err);
			if (rc)
				goto out_free_rows;
		}
		rc = parse_row(line, fields, header, path, lineno, &out[count], err);
		if (rc)
			goto out_free_rows;
		count++;
	}
	fclose(fp);
	*rows = out;
	*n = count;
	return TR_OK;

out_free_rows:
	free(out);
out_close:
	fclose(fp);
	return rc;
}
