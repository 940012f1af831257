/*
 * json_file.c - cJSON documents to and from files (configs, run summaries).
 */
#include "trainer/formats.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

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
	rc = tr_input_read_all(path, "a JSON file", JSON_MAX_BYTES, &text, &len, err);
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

struct cJSON *tr_json_integer(uint64_t v)
{
	char digits[32];

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	return cJSON_CreateRaw(digits);
}

int tr_json_add_integer(struct cJSON *obj, const char *key, uint64_t v)
{
	cJSON *item = tr_json_integer(v);

	if (!item || !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return TR_ERR_INTERNAL;
	}
	return TR_OK;
}
