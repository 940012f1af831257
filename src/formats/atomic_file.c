/*
 * atomic_file.c - write a file as a whole or not at all.
 *
 * The data goes to `.<name>.tmp.XXXXXX` in the target's directory (so that the final
 * rename stays on one file system and is atomic), is flushed and fsync'ed, and is then
 * renamed over the target; the directory is fsync'ed last so that the rename itself
 * survives a crash. Every step is checked: a full disk often shows only when the stdio
 * buffer is flushed or the file is closed. On any failure the temporary is removed and
 * the previous file at the target, if any, is left exactly as it was.
 */
#define _GNU_SOURCE /* mkostemp */
#include "trainer/formats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTPUT_HINT "the previous file, if any, is kept: check free space and permissions"

static int fail_output(tr_error *err, const char *path, const char *what, int e)
{
	return tr_fail(err, TR_ERR_OUTPUT, "%s: %s: %s; %s", path, what, strerror(e),
		       OUTPUT_HINT);
}

int tr_atomic_open(tr_atomic_file *af, const char *path, tr_error *err)
{
	const char *slash, *base;
	size_t dirlen, len;
	int fd, e;

	af->fp = NULL;
	af->path[0] = '\0';
	af->tmp_path[0] = '\0';

	len = strlen(path);
	if (len == 0)
		return tr_fail(err, TR_ERR_OUTPUT, "empty output file name: give a file name");
	if (len >= sizeof(af->path))
		return tr_fail(err, TR_ERR_OUTPUT,
			       "%.64s...: output path is too long (%zu bytes, at most %zu): "
			       "use a shorter path", path, len, sizeof(af->path) - 1);
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	dirlen = (size_t)(base - path);
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return tr_fail(err, TR_ERR_OUTPUT,
			       "%s: not a file name (it names a directory): give a file name",
			       path);

	memcpy(af->path, path, len + 1);
	/* Fits: len < 1024 and the decoration adds 12 bytes to a 1100-byte buffer. */
	snprintf(af->tmp_path, sizeof(af->tmp_path), "%.*s.%s.tmp.XXXXXX", (int)dirlen,
		 path, base);

	/* Close-on-exec: a child started meanwhile (gnuplot, a run) must not hold it. */
	fd = mkostemp(af->tmp_path, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		af->tmp_path[0] = '\0';
		return tr_fail(err, TR_ERR_OUTPUT,
			       "%s: cannot create a temporary file in its directory: %s: "
			       "check that the directory exists and is writable",
			       path, strerror(e));
	}
	/* mkostemp makes 0600; outputs are meant to be read by others too. */
	if (fchmod(fd, 0644) != 0) {
		e = errno;
		goto out_close_fd;
	}
	af->fp = fdopen(fd, "wb");
	if (!af->fp) {
		e = errno;
		goto out_close_fd;
	}
	return TR_OK;

out_close_fd:
	close(fd);
	unlink(af->tmp_path);
	af->tmp_path[0] = '\0';
	return fail_output(err, path, "cannot prepare the temporary file", e);
}

/* Make the rename durable. Best effort: some file systems refuse fsync on a directory. */
static void sync_parent_dir(const char *path)
{
	char dir[sizeof(((tr_atomic_file *)0)->path)];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

int tr_atomic_commit(tr_atomic_file *af, tr_error *err)
{
	FILE *fp = af->fp;
	const char *what;
	int e;

	if (!fp || af->tmp_path[0] == '\0')
		return tr_fail(err, TR_ERR_INTERNAL,
			       "%s: commit without an open temporary file (a bug)", af->path);
	af->fp = NULL;

	if (ferror(fp)) {
		/* errno from that earlier write is long gone. */
		fclose(fp);
		unlink(af->tmp_path);
		af->tmp_path[0] = '\0';
		return tr_fail(err, TR_ERR_OUTPUT, "%s: an earlier write to the file failed; %s",
			       af->path, OUTPUT_HINT);
	}
	if (fflush(fp) != 0) {
		e = errno;
		what = "cannot write";
		goto out_close;
	}
	if (fsync(fileno(fp)) != 0) {
		e = errno;
		what = "cannot sync to disk";
		goto out_close;
	}
	if (fclose(fp) != 0) {
		e = errno;
		what = "cannot close";
		goto out_remove_tmp;
	}
	if (rename(af->tmp_path, af->path) != 0) {
		e = errno;
		what = "cannot rename the temporary file over it";
		goto out_remove_tmp;
	}
	af->tmp_path[0] = '\0';
	sync_parent_dir(af->path);
	return TR_OK;

out_close:
	fclose(fp);
out_remove_tmp:
	unlink(af->tmp_path);
	af->tmp_path[0] = '\0';
	return fail_output(err, af->path, what, e);
}

void tr_atomic_abort(tr_atomic_file *af)
{
	if (!af)
		return;
	if (af->fp) {
		fclose(af->fp);
		af->fp = NULL;
	}
	if (af->tmp_path[0] != '\0') {
		unlink(af->tmp_path);
		af->tmp_path[0] = '\0';
	}
}

int tr_atomic_write(tr_atomic_file *af, const void *data, size_t n, tr_error *err)
{
	int e;

	if (!af->fp)
		return tr_fail(err, TR_ERR_INTERNAL,
			       "%s: write without an open temporary file (a bug)", af->path);
	if (n == 0 || fwrite(data, 1, n, af->fp) == n)
		return TR_OK;
	e = errno;
	tr_atomic_abort(af);
	return fail_output(err, af->path, "cannot write", e);
}

int tr_write_file_atomic(const char *path, const void *data, size_t n, tr_error *err)
{
	tr_atomic_file af;
	int rc;

	rc = tr_atomic_open(&af, path, err);
	if (rc)
		return rc;
	rc = tr_atomic_write(&af, data, n, err);
	if (rc)
		return rc;
	return tr_atomic_commit(&af, err);
}

bool tr_atomic_temp_base(const char *name, char *base, size_t cap)
{
	const char *tmp = strstr(name, ".tmp.");
	size_t len;

	/* ".tmp." and the 6 characters mkostemp put in place of XXXXXX */
	if (name[0] != '.' || !tmp || tmp == name || strlen(tmp) != 11)
		return false;
	len = (size_t)(tmp - name) - 1;
	if (len == 0 || len >= cap)
		return false;
	memcpy(base, name + 1, len);
	base[len] = '\0';
	return true;
}
