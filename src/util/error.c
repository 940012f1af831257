/* error.c - formatting of tr_error messages. */
#include "trainer/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tr_fail(tr_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return status;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return status;
}

int tr_error_prefix(tr_error *err, const char *fmt, ...)
{
	char old[TR_ERROR_MSG_MAX];
	size_t len, old_len;
	va_list ap;

	if (!err)
		return TR_ERR_INTERNAL;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Append ": old", truncating old to what fits. */
	len = strlen(err->msg);
	old_len = strnlen(old, sizeof(old));
	if (len + 2 < sizeof(err->msg)) {
		size_t room = sizeof(err->msg) - len - 3;

		if (old_len > room)
			old_len = room;
		memcpy(err->msg + len, ": ", 2);
		memcpy(err->msg + len + 2, old, old_len);
		err->msg[len + 2 + old_len] = '\0';
	}
	return err->status;
}

void tr_error_clear(tr_error *err)
{
	if (!err)
		return;
	err->status = TR_OK;
	err->msg[0] = '\0';
}

const char *tr_status_name(int status)
{
	switch (status) {
	case TR_OK: return "ok";
	case TR_ERR_INTERNAL: return "internal error";
	case TR_ERR_USAGE: return "usage error";
	case TR_ERR_INPUT: return "input error";
	case TR_ERR_OUTPUT: return "output error";
	case TR_ERR_DEVICE: return "device error";
	case TR_ERR_DIVERGED: return "diverged";
	case TR_ERR_INTERRUPTED: return "interrupted";
	case TR_ERR_VERIFY: return "verification failed";
	default: return "unknown error";
	}
}
