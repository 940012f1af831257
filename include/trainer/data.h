/*
 * data.h - MNIST-style data: IDX files (plain or gzipped), the train/validation/test
 * split of SPEC.md, and batches in TensorFlow's next_batch order.
 *
 * Images stay in memory as bytes; tr_split_gather converts one batch to float /255.
 */
#ifndef TRAINER_DATA_H
#define TRAINER_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trainer/error.h"
#include "trainer/prng.h"

#define TR_N_CLASSES 10 /* labels must be 0..9 */

/* One IDX file in memory. For an image file (magic 0x00000803) rows and cols are the
 * image size; for a label file (magic 0x00000801) rows = cols = 1. Owns `data`. */
typedef struct tr_idx {
	uint8_t *data;  /* count * rows * cols bytes */
	size_t count;
	size_t rows;
	size_t cols;
} tr_idx;

/* Read an IDX file, gzipped or not (detected from its first two bytes, not its name).
 * want_images selects the expected magic. Checks the magic, dimensions against the
 * file's size (truncated or trailing bytes are errors). Errors are TR_ERR_INPUT with a
 * message naming the file and what was wrong. */
int tr_idx_read(const char *path, bool want_images, tr_idx *out, tr_error *err);
void tr_idx_free(tr_idx *idx); /* frees data; NULL-safe; leaves *idx zeroed */

/* Which file of a data set a split comes from. */
enum tr_split_file { TR_FILE_TRAIN, TR_FILE_TEST };

/* A range of examples inside a loaded data set (does not own memory). */
typedef struct tr_split {
	const uint8_t *images; /* count * image_size bytes */
	const uint8_t *labels; /* count bytes, each < TR_N_CLASSES */
	size_t count;
	size_t image_size;     /* rows * cols, e.g. 784 */
	enum tr_split_file file; /* the file it lies in */
	size_t first;          /* the index of its first example in that file */
} tr_split;

/* The whole data set: the training file split into validation (its first val_size
 * examples) and training (the rest), and the test file. Owns the file contents. */
typedef struct tr_dataset {
	tr_idx train_images, train_labels, test_images, test_labels;
	tr_split train, val, test;
	uint32_t crc;          /* CRC-32 of every image and label loaded (training file,
				* then test file): tells data sets apart on --resume */
	char dir[1024];        /* where the files came from, for messages and summaries */
} tr_dataset;

/* Load train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
 * t10k-labels-idx1-ubyte from dir, each either plain or with a .gz suffix. Checks that
 * image and label counts agree, image sizes agree, labels are < TR_N_CLASSES, and that
 * val_size < the number of training examples. Computes crc. */
int tr_dataset_load(const char *dir, size_t val_size, tr_dataset *out, tr_error *err);
void tr_dataset_free(tr_dataset *ds); /* NULL-safe */

/* Convert the examples idx[0..n) of s: x (n * image_size floats) = pixel / 255.0f,
 * labels (n floats) = class index. idx may be NULL for examples first..first+n. */
void tr_split_gather(const tr_split *s, const uint32_t *idx, size_t first, size_t n,
		     float *x, float *labels);

/* Batches as TensorFlow's DataSet.next_batch draws them: the examples are shuffled
 * once per epoch (Fisher-Yates with tr_prng_below, the first epoch included); when an
 * epoch runs out mid-batch the batch takes the rest of the old epoch and the start of a
 * freshly shuffled one. Without shuffling, batch k is examples (k*B + j) mod N. */
typedef struct tr_batcher {
	size_t n;          /* examples */
	size_t batch;      /* batch size */
	bool shuffle;
	uint32_t *perm;    /* current epoch's order (n entries), owned */
	size_t cursor;     /* next position in perm */
	uint64_t epoch;    /* epochs started */
	tr_prng prng;      /* shuffling state */
} tr_batcher;

int tr_batcher_init(tr_batcher *b, size_t n, size_t batch, bool shuffle, uint64_t seed,
		    tr_error *err);
/* Write the next batch's example indices (b->batch of them) into idx. */
void tr_batcher_next(tr_batcher *b, uint32_t *idx);
void tr_batcher_free(tr_batcher *b); /* NULL-safe */

#endif /* TRAINER_DATA_H */
