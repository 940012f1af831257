/*
 * best_params.c - best/: the parameters at the best validation accuracy so far (see
 * best_params.h). The new set is written into .best.tmp.XXXXXX, then exchanged with
 * best/ by renameat2(RENAME_EXCHANGE) and the old set removed; where the file system
 * cannot exchange, best/ is moved aside first (a crash in between leaves no best/, never
 * a mixed one).
 */
#define _GNU_SOURCE /* renameat2 */
#include "trainer/best_params.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trainer/run_output.h"

#define TMP_PREFIX ".best.tmp."
#define OLD_NAME TMP_PREFIX "old" /* the set being replaced, where it cannot be exchanged */
#define PATH_CAP 1200

/* Remove a directory of plain files (a best/ set). */
static void remove_set(const char *path)
{
	char file[PATH_CAP + 300];
	struct dirent *e;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		unlink(file);
	}
	closedir(d);
	rmdir(path);
}

/* Sets a killed run left under their temporary names. The set moved aside by install()
 * (OLD_NAME) is the last complete one when best/ is missing (killed between its two
 * renames): it is put back, not removed. */
static void remove_stale(const char *dir)
{
	char path[PATH_CAP + 300], best[PATH_CAP];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	snprintf(best, sizeof(best), "%s/%s", dir, TR_BEST_DIR);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!strcmp(e->d_name, OLD_NAME) && lstat(best, &st) != 0 && rename(path, best) == 0)
			continue;
		remove_set(path);
	}
	closedir(d);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int write_info(const char *set, long iter, double val_acc, tr_error *err)
{
	cJSON *root = cJSON_CreateObject();
	char path[PATH_CAP + 16];
	int rc;

	if (!root)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	cJSON_AddNumberToObject(root, "iter", (double)iter);
	cJSON_AddNumberToObject(root, "val_acc", val_acc);
	snprintf(path, sizeof(path), "%s/best.json", set);
	rc = tr_json_write(path, root, err);
	cJSON_Delete(root);
	return rc;
}

/* Put the finished set `tmp` in place of dir/best. */
static int install(const char *dir, const char *tmp, tr_error *err)
{
	char best[PATH_CAP], old[PATH_CAP + 32];
	struct stat st;

	snprintf(best, sizeof(best), "%s/%s", dir, TR_BEST_DIR);
	if (lstat(best, &st) != 0) {
		if (rename(tmp, best) != 0)
			goto out_fail;
		return TR_OK;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, best, RENAME_EXCHANGE) == 0) {
		remove_set(tmp); /* now the old set */
		return TR_OK;
	}
	snprintf(old, sizeof(old), "%s/%s", dir, OLD_NAME);
	remove_set(old);
	if (rename(best, old) != 0)
		goto out_fail;
	if (rename(tmp, best) != 0) {
		int saved = errno;

		rename(old, best); /* the previous set stays */
		errno = saved;
		goto out_fail;
	}
	remove_set(old);
	return TR_OK;

out_fail:
	return tr_fail(err, TR_ERR_OUTPUT, "%s: cannot replace it with the new best "
		       "parameters: %s", best, strerror(errno));
}

int tr_best_update(const char *dir, tr_trainer *t, const tr_metric_row *row, tr_error *err)
{
	const tr_layout *lay = &t->cfg.layout;
	char tmp[PATH_CAP];
	float *params = NULL;
	size_t i;
	int rc;

	remove_stale(dir);
	if (!isfinite(row->val_acc))
		return TR_OK;
	for (i = 0; i < t->n_metrics; i++)
		if (&t->metrics[i] != row && t->metrics[i].iter != row->iter &&
		    !(t->metrics[i].val_acc < row->val_acc))
			return TR_OK;
	params = malloc(lay->n_params * sizeof(float));
	if (!params)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%sXXXXXX", dir, TMP_PREFIX) >= sizeof(tmp)) {
		free(params);
		return tr_fail(err, TR_ERR_OUTPUT, "%s: path too long", dir);
	}
	if (!mkdtemp(tmp)) {
		rc = tr_fail(err, TR_ERR_OUTPUT, "%s: cannot create a directory for the best "
			     "parameters: %s", dir, strerror(errno));
		goto out_free;
	}
	if ((rc = tr_net_get_state(t->net, params, NULL, NULL, err)) ||
	    (rc = tr_run_write_weights(tmp, lay, params, err)) ||
	    (rc = write_info(tmp, row->iter, row->val_acc, err)))
		goto out_remove;
	sync_dir(tmp);
	if ((rc = install(dir, tmp, err)))
		goto out_remove;
	sync_dir(dir);
	free(params);
	return TR_OK;

out_remove:
	remove_set(tmp);
out_free:
	free(params);
	return tr_error_prefix(err, "%s/%s (the best parameters so far, kept as they were)",
			       dir, TR_BEST_DIR);
}

int tr_best_read(const char *dir, const tr_layout *lay, float *flat, long *iter,
		 double *val_acc, tr_error *err)
{
	char set[PATH_CAP], path[PATH_CAP + 16];
	const cJSON *it, *acc;
	cJSON *root = NULL;
	int rc;

	snprintf(set, sizeof(set), "%s/%s", dir, TR_BEST_DIR);
	snprintf(path, sizeof(path), "%s/best.json", set);
	if ((rc = tr_json_read(path, &root, err)))
		return rc;
	it = cJSON_GetObjectItemCaseSensitive(root, "iter");
	acc = cJSON_GetObjectItemCaseSensitive(root, "val_acc");
	/* An iteration out of range would overflow the conversion to long. */
	if (!cJSON_IsNumber(it) || !cJSON_IsNumber(acc) || !(it->valuedouble >= 0) ||
	    it->valuedouble > 1e9) {
		cJSON_Delete(root);
		return tr_fail(err, TR_ERR_INPUT, "%s: no iter (0 to 1e9) and val_acc", path);
	}
	*iter = (long)it->valuedouble;
	*val_acc = acc->valuedouble;
	cJSON_Delete(root);
	return tr_run_read_weights(set, lay, flat, err);
}
