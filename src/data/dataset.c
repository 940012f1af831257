/*
 * dataset.c - load the four MNIST-style files from one directory and split them as
 * SPEC.md says: validation = the first val_size training examples, training = the
 * rest, test = the t10k file. Also converts examples to floats (tr_split_gather).
 */
#include "trainer/data.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "trainer/crc.h"

#define PATH_MAX_LEN 1100 /* dir (< 1024 bytes) + '/' + the longest name + ".gz" */

static const char *const file_names[4] = {
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
};

/* Find name in dir, plain preferred over .gz, and read it into *out. */
static int load_one(const char *dir, const char *name, bool images, tr_idx *out,
		    char *path, tr_error *err)
{
	char gz[PATH_MAX_LEN];
	struct stat st;

	snprintf(path, PATH_MAX_LEN, "%s/%s", dir, name);
	snprintf(gz, sizeof(gz), "%s/%s.gz", dir, name);
	if (stat(path, &st) != 0) {
		if (stat(gz, &st) != 0)
			return tr_fail(err, TR_ERR_INPUT, "%s not found in data directory %s "
				       "(tried %s and %s): run data/fetch.sh or pass --data DIR",
				       name, dir, path, gz);
		memcpy(path, gz, sizeof(gz));
	}
	return tr_idx_read(path, images, out, err);
}

static int check_labels(const tr_idx *labels, const char *path, tr_error *err)
{
	size_t i;

	for (i = 0; i < labels->count; i++) {
		if (labels->data[i] >= TR_N_CLASSES)
			return tr_fail(err, TR_ERR_INPUT, "%s: label %u at index %zu is out of "
				       "range 0..%d: not a %d-class data set", path,
				       labels->data[i], i, TR_N_CLASSES - 1, TR_N_CLASSES);
	}
	return TR_OK;
}

static int check_pair(const tr_idx *images, const char *ipath, const tr_idx *labels,
		      const char *lpath, tr_error *err)
{
	if (images->count != labels->count)
		return tr_fail(err, TR_ERR_INPUT, "%s holds %zu images but %s holds %zu labels: "
			       "the files do not belong together; fetch them again",
			       ipath, images->count, lpath, labels->count);
	return check_labels(labels, lpath, err);
}

/* The CRC over everything a run reads, in file order (about 20 ms for MNIST). */
static uint32_t dataset_crc(tr_idx *const idx[4])
{
	uint32_t crc = tr_crc32_init();
	int i;

	for (i = 0; i < 4; i++)
		crc = tr_crc32(crc, idx[i]->data, idx[i]->count * idx[i]->rows * idx[i]->cols);
	return crc;
}

static tr_split make_split(const tr_idx *images, const tr_idx *labels,
			   enum tr_split_file file, size_t first, size_t count)
{
	size_t size = images->rows * images->cols;
	tr_split s = {
		.images = images->data + first * size,
		.labels = labels->data + first,
		.count = count,
		.image_size = size,
		.file = file,
		.first = first,
	};

	return s;
}

int tr_dataset_load(const char *dir, size_t val_size, tr_dataset *out, tr_error *err)
{
	char paths[4][PATH_MAX_LEN];
	tr_idx *idx[4];
	struct stat st;
	size_t n_train;
	int rc, i;

	memset(out, 0, sizeof(*out));
	idx[0] = &out->train_images;
	idx[1] = &out->train_labels;
	idx[2] = &out->test_images;
	idx[3] = &out->test_labels;
	if (!dir || !*dir)
		return tr_fail(err, TR_ERR_USAGE, "no data directory given: pass --data DIR");
	if (strlen(dir) >= sizeof(out->dir))
		return tr_fail(err, TR_ERR_USAGE, "data directory path is too long (%zu bytes, "
			       "at most %zu): use a shorter path", strlen(dir),
			       sizeof(out->dir) - 1);
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return tr_fail(err, TR_ERR_INPUT, "data directory %s does not exist: "
				       "run data/fetch.sh or pass --data DIR", dir);
		return tr_fail(err, TR_ERR_INPUT, "cannot access data directory %s: %s",
			       dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return tr_fail(err, TR_ERR_INPUT, "data directory %s is not a directory: pass "
			       "--data DIR, the directory holding the four IDX files", dir);
	snprintf(out->dir, sizeof(out->dir), "%s", dir);

	for (i = 0; i < 4; i++) {
		rc = load_one(dir, file_names[i], i % 2 == 0, idx[i], paths[i], err);
		if (rc)
			goto out_free;
	}
	rc = check_pair(idx[0], paths[0], idx[1], paths[1], err);
	if (rc)
		goto out_free;
	rc = check_pair(idx[2], paths[2], idx[3], paths[3], err);
	if (rc)
		goto out_free;
	if (idx[0]->rows != idx[2]->rows || idx[0]->cols != idx[2]->cols) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s has %zux%zu images but %s has %zux%zu: "
			     "training and test files come from different data sets",
			     paths[0], idx[0]->rows, idx[0]->cols, paths[2], idx[2]->rows,
			     idx[2]->cols);
		goto out_free;
	}
	n_train = idx[0]->count;
	if (val_size >= n_train) {
		rc = tr_fail(err, TR_ERR_USAGE, "--val-size %zu leaves no training examples: "
			     "%s holds %zu; choose a value below %zu (0 for no validation)",
			     val_size, paths[0], n_train, n_train);
		goto out_free;
	}
	out->val = make_split(idx[0], idx[1], TR_FILE_TRAIN, 0, val_size);
	out->train = make_split(idx[0], idx[1], TR_FILE_TRAIN, val_size, n_train - val_size);
	out->test = make_split(idx[2], idx[3], TR_FILE_TEST, 0, idx[2]->count);
	out->crc = dataset_crc(idx);
	return TR_OK;

out_free:
	tr_dataset_free(out);
	return rc;
}

void tr_dataset_free(tr_dataset *ds)
{
	if (!ds)
		return;
	tr_idx_free(&ds->train_images);
	tr_idx_free(&ds->train_labels);
	tr_idx_free(&ds->test_images);
	tr_idx_free(&ds->test_labels);
	memset(ds, 0, sizeof(*ds));
}

void tr_split_gather(const tr_split *s, const uint32_t *idx, size_t first, size_t n,
		     float *x, float *labels)
{
	size_t size = s->image_size;
	size_t i, k;

	for (i = 0; i < n; i++) {
		size_t e = idx ? idx[i] : first + i;
		const uint8_t *src = s->images + e * size;
		float *dst = x + i * size;

		for (k = 0; k < size; k++)
			dst[k] = (float)src[k] / 255.0f;
		labels[i] = (float)s->labels[e];
	}
}
