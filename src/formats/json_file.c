/*
 * json_file.c - cJSON documents to and from files (configs, run summaries).
 */
#include "trainer/formats.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JSON_MAX_BYTES (64L * 1024 * 1024)  /* our documents are a few KiB */

int tr_json_write(const char *path, const struct cJSON *json, tr_error *err)
{
	tr_atomic_file af;
	char *text;
	int rc;

	text = cJSON_Print(json);
	if (!text)
		return tr_fail(err, TR_ERR_INTERNAL, "%s: cannot format the JSON document "
			       "(out of memory?)", path);
	rc = tr_atomic_open(&af, path, err);
	if (rc)
		goto out_free_text;
	rc = tr_atomic_write(&af, text, strlen(text), err);
	if (rc)
		goto out_free_text;
	rc = tr_atomic_write(&af, "\n", 1, err);
	if (rc)
		goto out_free_text;
	rc = tr_atomic_commit(&af, err);
out_free_text:
	cJSON_free(text);
	return rc;
}

/* The whole file, NUL-terminated, in *text (caller frees); at most JSON_MAX_BYTES. */
static int slurp(const char *path, char **text, size_t *len, tr_error *err)
{
	struct stat st;
	FILE *fp;
	char *buf;
	size_t n;
	int rc;

	fp = fopen(path, "rb");
	if (!fp)
		return tr_fail(err, TR_ERR_INPUT, "%s: cannot open: %s: check the path", path,
			       strerror(errno));
	if (fstat(fileno(fp), &st) != 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: cannot stat: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: not a regular file: give a JSON file",
			     path);
		goto out_close;
	}
	if (st.st_size > JSON_MAX_BYTES) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: %lld bytes is too large for a JSON "
			     "document here (at most %ld): is it the right file?", path,
			     (long long)st.st_size, JSON_MAX_BYTES);
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "%s: out of memory", path);
		goto out_close;
	}
	n = fread(buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: read error: %s", path, strerror(errno));
		free(buf);
		goto out_close;
	}
	/* A file that shrank meanwhile is parsed as it is; one that grew is cut short and
	 * most likely fails to parse, with a clear position. */
	buf[n] = '\0';
	*text = buf;
	*len = n;
	rc = TR_OK;
out_close:
	fclose(fp);
	return rc;
}

/* Up to 20 characters from s, on one line, for an error message. */
static void excerpt(char *buf, size_t cap, const char *s, const char *end)
{
	size_t i = 0;

	while (i + 1 < cap && i < 20 && s < end && *s != '\n' && *s != '\r') {
		buf[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
		s++;
	}
	buf[i] = '\0';
}

int tr_json_read(const char *path, struct cJSON **out, tr_error *err)
{
	const char *end = NULL, *nul, *s;
	size_t len = 0, line = 1, column = 1;
	char near[24];
	char *text = NULL;
	int rc;

	*out = NULL;
	rc = slurp(path, &text, &len, err);
	if (rc)
		return rc;
	nul = memchr(text, '\0', len);
	if (nul) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s: a NUL byte at offset %zu: not a JSON text "
			     "file", path, (size_t)(nul - text));
		goto out_free_text;
	}
	/* The length includes the terminator: cJSON then checks nothing follows the value. */
	*out = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (*out) {
		rc = TR_OK;
		goto out_free_text;
	}
	if (!end || end < text || end > text + len)
		end = text + len;
	for (s = text; s < end; s++) {
		if (*s == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	excerpt(near, sizeof(near), end, text + len);
	if (len == 0)
		rc = tr_fail(err, TR_ERR_INPUT, "%s: empty file, expected a JSON document", path);
	else
		rc = tr_fail(err, TR_ERR_INPUT, "%s:%zu:%zu: invalid JSON (near \"%s\"): fix "
			     "or re-create the file", path, line, column, near);
	/* cJSON also fails on running out of memory; we cannot tell, and it is rare. */
out_free_text:
	free(text);
	return rc;
}
