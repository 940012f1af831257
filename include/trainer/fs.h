/* fs.h - small filesystem helpers with error messages in the library's style. */
#ifndef TRAINER_FS_H
#define TRAINER_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "trainer/error.h"

/* Create dir and its parents (like mkdir -p). TR_ERR_OUTPUT naming the path. */
int tr_mkdir_p(const char *dir, tr_error *err);

/* Check that dir can hold a new run's outputs: it does not exist, or is an empty
 * directory (a lock file, dir_lock.h, does not count), or force is set. `flag` names the option in messages ("--out").
 * TR_ERR_USAGE when it exists and is not empty (or is not a directory). */
int tr_check_output_dir(const char *dir, bool force, const char *flag, tr_error *err);

/* Check that dir exists, is a directory and is writable, by creating and removing a
 * probe file. TR_ERR_OUTPUT otherwise. */
int tr_check_writable_dir(const char *dir, tr_error *err);

/* The absolute path of an existing path (symbolic links resolved) in buf, or path
 * itself when it cannot be resolved or does not fit. */
void tr_path_absolute(const char *path, char *buf, size_t cap);

/* Does path exist (any type)? */
bool tr_path_exists(const char *path);

#endif /* TRAINER_FS_H */
