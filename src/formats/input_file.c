/*
 * input_file.c - opening and reading input files the same careful way everywhere:
 * only regular files (a directory, FIFO or device is refused, and opening never blocks
 * on a FIFO), sizes checked before anything is allocated, one message style.
 */
#include "trainer/formats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tr_input_open(const char *path, const char *kind, const char *hint, int *fd,
		  long long *size, tr_error *err)
{
	struct stat st;
	int f, rc;

	*fd = -1;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below). */
	f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT)
			return tr_fail(err, TR_ERR_INPUT, "%s does not exist: check the path%s%s",
				       path, hint && *hint ? " " : "", hint ? hint : "");
		return tr_fail(err, TR_ERR_INPUT, "cannot open %s: %s: check its permissions",
			       path, strerror(errno));
	}
	if (fstat(f, &st) != 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "cannot stat %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s is a directory, not %s: give the path of "
			     "the file itself", path, kind);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tr_fail(err, TR_ERR_INPUT, "%s is not a regular file: give %s", path, kind);
		goto out_close;
	}
	/* Back to blocking reads for a regular file. */
	if (fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) != 0) {
		rc = tr_fail(err, TR_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
		goto out_close;
	}
	*fd = f;
	*size = (long long)st.st_size;
	return TR_OK;

out_close:
	close(f);
	return rc;
}

int tr_input_fopen(const char *path, const char *kind, const char *hint, FILE **fp,
		   long long *size, tr_error *err)
{
	int fd, rc;

	*fp = NULL;
	rc = tr_input_open(path, kind, hint, &fd, size, err);
	if (rc)
		return rc;
	*fp = fdopen(fd, "rb");
	if (!*fp) {
		close(fd);
		return tr_fail(err, TR_ERR_INTERNAL, "cannot read %s: %s", path, strerror(errno));
	}
	return TR_OK;
}

int tr_input_read_all(const char *path, const char *kind, size_t max_bytes, char **buf,
		      size_t *len, tr_error *err)
{
	long long size;
	size_t got = 0;
	char *b;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	rc = tr_input_open(path, kind, NULL, &fd, &size, err);
	if (rc)
		return rc;
	if ((unsigned long long)size > max_bytes) {
		close(fd);
		return tr_fail(err, TR_ERR_INPUT, "%s: %lld bytes is too large for %s (at most "
			       "%zu): is it the right file?", path, size, kind, max_bytes);
	}
	b = malloc((size_t)size + 1);
	if (!b) {
		close(fd);
		return tr_fail(err, TR_ERR_INTERNAL, "%s: out of host memory (%lld bytes)", path,
			       size);
	}
	/* Read what is there: a file that shrank meanwhile is parsed as it is. */
	while (got < (size_t)size) {
		ssize_t n = read(fd, b + got, (size_t)size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tr_fail(err, TR_ERR_INPUT, "%s: read error: %s", path,
				     strerror(errno));
			free(b);
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return TR_OK;
}
