/*
 * dir_lock.h - one process at a time in a run (or experiment) directory.
 *
 * The lock is flock(2) on the file `.trainer.lock` inside the directory, held for the
 * whole life of the process: the kernel releases it when the process ends, however it
 * ends (SIGKILL included), so a killed run never leaves a stale lock. The file itself
 * stays (removing it would let two processes lock two different files). A refusal
 * names the process that holds the lock (from /proc/locks, else the process id the
 * holder wrote into the file). A directory whose only file is `.trainer.lock` is empty
 * as far as the output-directory checks go (fs.h).
 *
 * Two steps, so that a command that fails before it starts never changes a directory:
 * tr_dir_lock_probe early (takes the lock only if the lock file exists already, and
 * refuses at once if another process holds it), tr_dir_lock_take once the command
 * writes into the directory (creates the file if needed).
 */
#ifndef TRAINER_DIR_LOCK_H
#define TRAINER_DIR_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "trainer/error.h"

#define TR_DIR_LOCK_FILE ".trainer.lock"

typedef struct tr_dir_lock {
	int fd;              /* the open lock file while held, else -1 */
} tr_dir_lock;

/* Nothing held. */
void tr_dir_lock_init(tr_dir_lock *lk);

/* If dir/.trainer.lock exists, lock it (refusing with TR_ERR_USAGE, naming the process
 * that holds it and `flag`, e.g. "--out", when another process does); the file is not
 * changed. Without the file, or without dir, nothing is held and TR_OK is returned. */
int tr_dir_lock_probe(tr_dir_lock *lk, const char *dir, const char *flag, tr_error *err);

/* Hold the lock of dir (an existing directory), creating the lock file if needed, and
 * write this process's id into it; TR_ERR_USAGE as above when another process holds
 * it, TR_ERR_OUTPUT when the file cannot be created. On file systems without flock
 * support, the run goes on unlocked. */
int tr_dir_lock_take(tr_dir_lock *lk, const char *dir, const char *flag, tr_error *err);

/* Is dir locked by a live process? *pid is its id when known, else 0. */
bool tr_dir_lock_held(const char *dir, pid_t *pid);

/* Release (normally the process just ends). NULL-safe. */
void tr_dir_lock_release(tr_dir_lock *lk);

#endif /* TRAINER_DIR_LOCK_H */
