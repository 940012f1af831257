/*
 * error.h - status codes and error messages shared by every part of the library.
 *
 * Library functions return an int status (TR_OK on success) and, on failure, fill a
 * caller-owned tr_error with one line saying what went wrong, where, and what to do.
 * The library never prints and never exits: the command-line front end turns the
 * status into an exit code (the values below ARE the documented exit codes).
 */
#ifndef TRAINER_ERROR_H
#define TRAINER_ERROR_H

#include <stddef.h>

enum tr_status {
	TR_OK = 0,
	TR_ERR_INTERNAL = 1,    /* a bug or an unexpected host failure (out of memory) */
	TR_ERR_USAGE = 2,       /* an invalid option or value on the command line */
	TR_ERR_INPUT = 3,       /* an input file (data, weights, checkpoint) is missing or bad */
	TR_ERR_OUTPUT = 4,      /* an output could not be written (permissions, disk full) */
	TR_ERR_DEVICE = 5,      /* the compute device failed or is not available */
	TR_ERR_DIVERGED = 6,    /* training produced a non-finite loss */
	TR_ERR_INTERRUPTED = 7, /* stopped by SIGINT/SIGTERM after saving a checkpoint */
	TR_ERR_VERIFY = 8,      /* trainer verify: a device computed outside the bounds */
};

#define TR_ERROR_MSG_MAX 2048

typedef struct tr_error {
	int status;                 /* one of enum tr_status */
	char msg[TR_ERROR_MSG_MAX]; /* one human-readable line, no trailing newline */
} tr_error;

/* Record an error in err (which may be NULL) and return status, so that callers can
 * write `return tr_fail(err, TR_ERR_INPUT, "%s: truncated", path);`. */
int tr_fail(tr_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "context: old message". Returns err->status. */
int tr_error_prefix(tr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset err to TR_OK with an empty message. */
void tr_error_clear(tr_error *err);

/* Short name of a status, e.g. "input error". */
const char *tr_status_name(int status);

#endif /* TRAINER_ERROR_H */
