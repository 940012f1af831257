/*
 * formats.h - files the trainer reads and writes: atomic writes, NumPy .npy arrays,
 * metrics.csv and JSON documents.
 *
 * Every output goes to a temporary file in the same directory, is flushed and synced,
 * then renamed over the final name, so an interrupted or failed write never leaves a
 * half-written file and never destroys the previous version. A failed write (disk full,
 * permissions) is TR_ERR_OUTPUT naming the file; a bad input file is TR_ERR_INPUT
 * naming the file and what was wrong.
 */
#ifndef TRAINER_FORMATS_H
#define TRAINER_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#include "trainer/error.h"

/* ---- atomic files ---- */
typedef struct tr_atomic_file {
	FILE *fp;             /* write here */
	char path[1024];      /* the final name */
	char tmp_path[1100];  /* the temporary name, in the same directory */
} tr_atomic_file;

/* Open a temporary file next to path for writing. */
int tr_atomic_open(tr_atomic_file *af, const char *path, tr_error *err);
/* Flush, fsync, close and rename over path. On any failure the temporary is removed,
 * the old file at path (if any) is untouched, and err names path and the reason. */
int tr_atomic_commit(tr_atomic_file *af, tr_error *err);
/* Close and remove the temporary file (after a failure elsewhere). NULL-safe. */
void tr_atomic_abort(tr_atomic_file *af);
/* Write n bytes to the temporary file. On failure the temporary is removed (as by
 * tr_atomic_abort, so af must not be committed) and err names the final path and the
 * reason (TR_ERR_OUTPUT). */
int tr_atomic_write(tr_atomic_file *af, const void *data, size_t n, tr_error *err);
/* Write n bytes to path atomically. */
int tr_write_file_atomic(const char *path, const void *data, size_t n, tr_error *err);
/* Is `name` (a directory entry) the temporary file of an atomic write,
 * ".<base>.tmp.XXXXXX"? Then base (cap bytes) holds the final name. */
bool tr_atomic_temp_base(const char *name, char *base, size_t cap);

/* ---- input files ---- */

/* Open path for reading, insisting on a regular file: a directory, FIFO or device is
 * refused (and a FIFO never blocks the open). `kind` names what was expected in
 * messages ("a .npy file"); `hint` (may be NULL) is added to the does-not-exist
 * message. On success *fd is open (caller closes) and *size is the file's length. */
int tr_input_open(const char *path, const char *kind, const char *hint, int *fd,
		  long long *size, tr_error *err);
/* The same, as a stdio stream (caller fcloses). */
int tr_input_fopen(const char *path, const char *kind, const char *hint, FILE **fp,
		   long long *size, tr_error *err);
/* The whole file, NUL-terminated, in *buf (caller frees); a file larger than
 * max_bytes is refused before anything is allocated. */
int tr_input_read_all(const char *path, const char *kind, size_t max_bytes, char **buf,
		      size_t *len, tr_error *err);

/* ---- NumPy .npy (format 1.0, little-endian float32 '<f4', C order) ---- */
#define TR_NPY_MAX_DIMS 4

/* Write a float32 array of the given shape (ndim 0..TR_NPY_MAX_DIMS) atomically. */
int tr_npy_write(const char *path, const float *data, const size_t *shape, int ndim,
		 tr_error *err);
/* Read a float32 C-order array: reads versions 1.0 to 3.0; a descr other than '<f4'
 * or fortran_order True is an error (TR_ERR_INPUT naming the file), as are a bad magic,
 * a malformed header, or a body shorter or longer than the shape says. On success *data
 * is malloc'ed (caller frees; at least 1 byte even for an empty array) and
 * shape[0..*ndim) is filled; on failure *data is NULL. */
int tr_npy_read(const char *path, float **data, size_t *shape, int *ndim, tr_error *err);

/* ---- metrics.csv ----
 * `iter,train_loss,train_acc,val_loss,val_acc,seconds,train_ce,val_ce,l2_term`
 * The losses are the seed's: mean cross-entropy plus the L2 term. The last three
 * columns give the parts: train_ce and val_ce the mean cross-entropy of the batch and
 * of the validation split, l2_term = lambda * sum(w^2) / 2 at that point, so that
 * train_loss = train_ce + l2_term and val_loss = val_ce + l2_term. Files written
 * before those columns existed (the first six only) still read: the parts are NaN. */
typedef struct tr_metric_row {
	long iter;
	double train_loss, train_acc, val_loss, val_acc, seconds;
	double train_ce, val_ce, l2_term; /* NaN when unknown (an older file) */
} tr_metric_row;

#define TR_METRICS_HEADER \
	"iter,train_loss,train_acc,val_loss,val_acc,seconds,train_ce,val_ce,l2_term"
/* The header of the files written before the loss was split into its parts. */
#define TR_METRICS_HEADER_V1 "iter,train_loss,train_acc,val_loss,val_acc,seconds"

/* Write header + rows atomically (the whole file each time; it is small). Losses are
 * written with 9 significant digits (%.9g), accuracies with %.6f, seconds with %.3f. */
int tr_metrics_write(const char *path, const tr_metric_row *rows, size_t n,
		     tr_error *err);
/* Read a metrics.csv written by tr_metrics_write, now or before the loss's parts were
 * added (checks the header and every field). *rows is malloc'ed (caller frees); *n may
 * be 0. */
int tr_metrics_read(const char *path, tr_metric_row **rows, size_t *n, tr_error *err);

/* ---- JSON (cJSON documents) ---- */
struct cJSON;
/* Print json (formatted) and write it atomically. */
int tr_json_write(const char *path, const struct cJSON *json, tr_error *err);
/* Add an integer to a JSON object as exact digits (cJSON prints numbers from doubles
 * with 15 significant digits, which rounds integers above about 1e15, e.g. a seed). */
int tr_json_add_integer(struct cJSON *obj, const char *key, uint64_t v);
/* The same integer as a new item (for arrays); NULL when out of memory. */
struct cJSON *tr_json_integer(uint64_t v);
/* Parse a JSON file; *out is owned by the caller (cJSON_Delete). */
int tr_json_read(const char *path, struct cJSON **out, tr_error *err);

#endif /* TRAINER_FORMATS_H */
