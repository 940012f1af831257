/* fs.c - see include/trainer/fs.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "trainer/fs.h"
#include "trainer/dir_lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_PROBE ".trainer-write-test-"

bool tr_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int tr_mkdir_p(const char *dir, tr_error *err)
{
	char buf[4096];
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return tr_fail(err, TR_ERR_OUTPUT, "bad directory name '%s'", dir);
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return tr_fail(err, TR_ERR_OUTPUT, "cannot create directory %s: %s",
				       buf, strerror(errno));
		buf[i] = i == len ? '\0' : '/';
	}
	return tr_check_writable_dir(dir, err);
}

int tr_check_output_dir(const char *dir, bool force, const char *flag, tr_error *err)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	bool empty = true;

	if (stat(dir, &st) != 0)
		return TR_OK; /* will be created */
	if (!S_ISDIR(st.st_mode))
		return tr_fail(err, TR_ERR_USAGE, "%s %s: exists and is not a directory",
			       flag, dir);
	if (force)
		return TR_OK;
	d = opendir(dir);
	if (!d)
		return tr_fail(err, TR_ERR_OUTPUT, "%s %s: cannot read directory: %s", flag,
			       dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		/* The lock file, and the probe of another trainer's tr_check_writable_dir
		 * (there for an instant), do not make a directory non-empty. */
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, TR_DIR_LOCK_FILE) &&
		    strncmp(e->d_name, WRITE_PROBE, strlen(WRITE_PROBE))) {
			empty = false;
			break;
		}
	}
	closedir(d);
	if (!empty)
		return tr_fail(err, TR_ERR_USAGE,
			       "%s %s: directory exists and is not empty; choose another, or "
			       "pass --force to write into it", flag, dir);
	return TR_OK;
}

int tr_check_writable_dir(const char *dir, tr_error *err)
{
	char probe[4200];
	struct stat st;
	int fd;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return tr_fail(err, TR_ERR_OUTPUT, "%s: not a directory", dir);
	snprintf(probe, sizeof(probe), "%s/%s%ld", dir, WRITE_PROBE, (long)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return tr_fail(err, TR_ERR_OUTPUT, "%s: directory is not writable: %s", dir,
			       strerror(errno));
	close(fd);
	unlink(probe);
	return TR_OK;
}

void tr_path_absolute(const char *path, char *buf, size_t cap)
{
	char resolved[PATH_MAX];

	if (realpath(path, resolved) && strlen(resolved) < cap)
		memcpy(buf, resolved, strlen(resolved) + 1);
	else
		snprintf(buf, cap, "%s", path);
}
