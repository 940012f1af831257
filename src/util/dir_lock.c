/* dir_lock.c - see include/trainer/dir_lock.h. */
#include "trainer/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void tr_dir_lock_init(tr_dir_lock *lk)
{
	lk->fd = -1;
}

static void lock_path(char *buf, size_t cap, const char *dir)
{
	snprintf(buf, cap, "%s/%s", dir, TR_DIR_LOCK_FILE);
}

/* The process holding the flock on the open file fd, from /proc/locks (Linux) by the
 * file's inode, else the process id its holder wrote into it; 0 when unknown. */
static pid_t holder(int fd)
{
	char line[256], text[32];
	unsigned long long ino;
	struct stat st;
	long pid = 0;
	ssize_t n;
	FILE *f;

	if (fstat(fd, &st) == 0 && (f = fopen("/proc/locks", "r")) != NULL) {
		while (!pid && fgets(line, sizeof(line), f)) {
			long p;

			if (sscanf(line, "%*d: FLOCK %*s %*s %ld %*x:%*x:%llu", &p, &ino) == 2 &&
			    ino == (unsigned long long)st.st_ino)
				pid = p;
		}
		fclose(f);
	}
	if (!pid && (n = pread(fd, text, sizeof(text) - 1, 0)) > 0) {
		text[n] = '\0';
		pid = strtol(text, NULL, 10);
	}
	return pid > 0 ? (pid_t)pid : 0;
}

static void write_pid(int fd)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) != n)
		(void)ftruncate(fd, 0); /* best effort: the pid is only for messages */
}

static int refuse(int fd, const char *dir, const char *flag, tr_error *err)
{
	pid_t pid = holder(fd);

	close(fd);
	if (pid)
		return tr_fail(err, TR_ERR_USAGE, "%s: %s is in use by another trainer "
			       "(process %ld): wait until it ends or stop it (kill %ld), or "
			       "choose another directory", flag, dir, (long)pid, (long)pid);
	return tr_fail(err, TR_ERR_USAGE, "%s: %s is in use by another trainer process: wait "
		       "until it ends, or choose another directory", flag, dir);
}

/* Lock the open file fd; with `mark`, write our process id into it (for messages on
 * systems without /proc/locks; not when probing, which must change nothing). */
static int lock_fd(tr_dir_lock *lk, int fd, bool mark, const char *dir, const char *flag,
		   tr_error *err)
{
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return refuse(fd, dir, flag, err);
		/* No flock on this file system (some network file systems): go on. */
	}
	lk->fd = fd;
	if (mark)
		write_pid(fd);
	return TR_OK;
}

/* Open the lock file read-write, or read-only where we may not write it (flock works
 * on either). */
static int open_lock(const char *path, int create)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | create, 0644);

	if (fd < 0 && (errno == EACCES || errno == EROFS))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd;
}

int tr_dir_lock_probe(tr_dir_lock *lk, const char *dir, const char *flag, tr_error *err)
{
	char path[4200];
	int fd;

	if (lk->fd >= 0)
		return TR_OK;
	lock_path(path, sizeof(path), dir);
	fd = open_lock(path, 0);
	if (fd < 0)
		return TR_OK; /* no lock file (or no directory): nobody is in there */
	return lock_fd(lk, fd, false, dir, flag, err);
}

int tr_dir_lock_take(tr_dir_lock *lk, const char *dir, const char *flag, tr_error *err)
{
	char path[4200];
	int fd;

	if (lk->fd >= 0) {
		write_pid(lk->fd);
		return TR_OK;
	}
	lock_path(path, sizeof(path), dir);
	fd = open_lock(path, O_CREAT);
	if (fd < 0)
		return tr_fail(err, TR_ERR_OUTPUT, "%s: cannot create the lock file %s: %s", flag,
			       path, strerror(errno));
	return lock_fd(lk, fd, true, dir, flag, err);
}

bool tr_dir_lock_held(const char *dir, pid_t *pid)
{
	char path[4200];
	bool held = false;
	int fd;

	*pid = 0;
	lock_path(path, sizeof(path), dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		held = errno == EWOULDBLOCK;
		if (held)
			*pid = holder(fd);
	}
	close(fd); /* releases the lock if we got it */
	return held;
}

void tr_dir_lock_release(tr_dir_lock *lk)
{
	if (!lk || lk->fd < 0)
		return;
	close(lk->fd);
	lk->fd = -1;
}
