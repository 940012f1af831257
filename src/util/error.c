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
	char prefix[512];
	char old[TR_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return TR_ERR_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
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
	default: return "unknown error";
	}
}
