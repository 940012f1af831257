/*
 * spawn.c - runs as separate processes: shell quoting for job files, starting a child
 * with its output in a log file, and finding a program in $PATH.
 *
 * A child never outlives its parent unnoticed: on Linux it is sent SIGTERM when the
 * parent dies (PR_SET_PDEATHSIG; SIGKILL of `trainer experiment`, a crash), which a
 * `trainer train` child answers by saving a checkpoint and exiting, so that no orphan
 * goes on writing a run directory that a re-run would take over.
 */
#include "trainer/experiment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

int tr_shell_quote(const char *s, char *buf, size_t cap, tr_error *err)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789_./,:=+@%-";
	size_t len = 0;
	const char *p;

	if (*s && strspn(s, safe) == strlen(s)) {
		if (strlen(s) >= cap)
			goto too_long;
		memcpy(buf, s, strlen(s) + 1);
		return TR_OK;
	}
	if (cap < 3)
		goto too_long;
	buf[len++] = '\'';
	for (p = s; *p; p++) {
		const char *piece = *p == '\'' ? "'\\''" : NULL;
		size_t plen = piece ? 4 : 1;

		if (len + plen + 2 > cap)
			goto too_long;
		if (piece)
			memcpy(buf + len, piece, plen);
		else
			buf[len] = *p;
		len += plen;
	}
	buf[len++] = '\'';
	buf[len] = '\0';
	return TR_OK;

too_long:
	return tr_fail(err, TR_ERR_USAGE, "argument too long to quote for a shell: %.60s...", s);
}

#define LAST_SIGNAL 64 /* Linux's; sigaction refuses the numbers a system lacks */

#if defined(__linux__)
/* In the child: SIGTERM when the parent dies; if it died already, do not start. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
}
#else
static void die_with_parent(pid_t parent)
{
	(void)parent;
}
#endif

/* In the child: the parent's signal handlers (which act on the parent's state) back to
 * the default, then the signal mask the parent had before the fork. */
static void reset_signals(const sigset_t *old_mask)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig <= LAST_SIGNAL; sig++) {
		if (sigaction(sig, NULL, &sa) != 0 || sa.sa_handler == SIG_IGN ||
		    sa.sa_handler == SIG_DFL)
			continue;
		sa.sa_handler = SIG_DFL;
		sa.sa_flags = 0;
		sigaction(sig, &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, old_mask, NULL);
}

/* In the child after fork: only async-signal-safe calls, then exec or _exit(127). */
static void exec_child(char *const argv[], const char *cwd, const char *log_path,
		       bool new_group, pid_t parent, const sigset_t *old_mask)
{
	int fd;

	die_with_parent(parent);
	reset_signals(old_mask);
	if (new_group)
		setpgid(0, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	if (log_path) {
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			_exit(127);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (cwd && chdir(cwd) != 0)
		_exit(127);
	if (strchr(argv[0], '/'))
		execv(argv[0], argv);
	else
		execvp(argv[0], argv);
	_exit(127);
}

int tr_spawn(char *const argv[], const char *cwd, const char *log_path, bool new_group,
	     pid_t *pid, tr_error *err)
{
	pid_t child, parent = getpid();
	sigset_t all, old_mask;
	int e;

	if (log_path) {
		/* Check here, where an error can still be reported with its reason. */
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0)
			return tr_fail(err, TR_ERR_OUTPUT, "%s: cannot open log file: %s",
				       log_path, strerror(errno));
		close(fd);
	}
	fflush(NULL);
	/* No signal handler of the parent may run in the child before exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old_mask);
	child = fork();
	e = errno;
	if (child == 0)
		exec_child(argv, cwd, log_path, new_group, parent, &old_mask);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (child < 0)
		return tr_fail(err, TR_ERR_INTERNAL, "cannot start %s: fork: %s", argv[0],
			       strerror(e));
	/* Also here, so that a signal sent to the group right after the fork finds it. */
	if (new_group)
		setpgid(child, child);
	*pid = child;
	return TR_OK;
}

int tr_exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return 1;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

bool tr_find_program(const char *name, char *buf, size_t cap)
{
	const char *path = getenv("PATH"), *p, *colon;

	if (strchr(name, '/')) {
		snprintf(buf, cap, "%s", name);
		return is_executable(name);
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = colon + 1) {
		size_t len;

		colon = strchr(p, ':');
		len = colon ? (size_t)(colon - p) : strlen(p);
		if (len == 0)
			snprintf(buf, cap, "./%s", name);
		else
			snprintf(buf, cap, "%.*s/%s", (int)len, p, name);
		if (is_executable(buf))
			return true;
		if (!colon)
			break;
	}
	return false;
}
