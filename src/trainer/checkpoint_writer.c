/*
 * checkpoint_writer.c - one background thread that writes checkpoint snapshots (see
 * checkpoint_writer.h).
 *
 * State, under `mu`: `busy` while the thread owns `snap` (from submit until the file is
 * renamed or the write failed); `failed` with `failure` when a write failed and the
 * caller has not yet been told. The training thread touches `snap` only while not busy.
 * When no thread can be started (out of memory), snapshots are written on the calling
 * thread instead: slower, the same files.
 */
#include "trainer/checkpoint_writer.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct tr_ckpt_writer {
	char path[1024];
	pthread_t thread;
	bool threaded;           /* false: write on the caller's thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* busy or quit changed */
	bool busy, quit, failed;
	tr_error failure;        /* the failed write's error, while `failed` */
	long submitted_step;
	tr_checkpoint snap;      /* owned by the thread while busy */
};

/* Write the snapshot; with mu held on return, record a failure and end `busy`. */
static void write_snapshot(tr_ckpt_writer *w)
{
	tr_error err;
	int rc;

	tr_error_clear(&err);
	rc = tr_checkpoint_write(w->path, &w->snap, &err);
	if (rc)
		tr_error_prefix(&err, "checkpoint at iteration %ld", w->snap.step);
	pthread_mutex_lock(&w->mu);
	if (rc && !w->failed) {
		w->failed = true;
		w->failure = err;
	}
	w->busy = false;
	pthread_cond_broadcast(&w->cv);
}

static void *writer_main(void *arg)
{
	tr_ckpt_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break; /* quit, and nothing left to write */
		pthread_mutex_unlock(&w->mu);
		write_snapshot(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int tr_ckpt_writer_create(const char *path, tr_ckpt_writer **out, tr_error *err)
{
	tr_ckpt_writer *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	sigset_t all, old;

	*out = NULL;
	if (!w)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	if (strlen(path) >= sizeof(w->path)) {
		free(w);
		return tr_fail(err, TR_ERR_OUTPUT, "%s: path too long", path);
	}
	strcpy(w->path, path);
	w->submitted_step = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* Signals (Ctrl-C, SIGTERM, SIGHUP) go to the training thread, never to the writer;
	 * a small stack (the writer's buffers are on the heap). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN > 262144 ? PTHREAD_STACK_MIN : 262144);
	w->threaded = pthread_create(&w->thread, &attr, writer_main, w) == 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = w;
	return TR_OK;
}

void tr_ckpt_writer_free(tr_ckpt_writer *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	tr_checkpoint_free(&w->snap);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* With mu held: report and clear a failure. */
static int take_failure(tr_ckpt_writer *w, tr_error *err)
{
	if (!w->failed)
		return TR_OK;
	w->failed = false;
	*err = w->failure;
	return err->status;
}

int tr_ckpt_writer_wait(tr_ckpt_writer *w, tr_error *err)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	rc = take_failure(w, err);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int tr_ckpt_writer_poll(tr_ckpt_writer *w, tr_error *err)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = take_failure(w, err);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int tr_ckpt_writer_submit(tr_ckpt_writer *w, tr_trainer *t, size_t val_size,
			  tr_error *err)
{
	int rc = tr_ckpt_writer_wait(w, err);

	if (rc)
		return rc;
	/* Not busy: the snapshot is the training thread's until handed over below. */
	rc = tr_checkpoint_snapshot(t, val_size, w->path, &w->snap, err);
	if (rc)
		return tr_error_prefix(err, "checkpoint at iteration %ld", t->step);
	pthread_mutex_lock(&w->mu);
	w->submitted_step = t->step;
	w->busy = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (!w->threaded) {
		write_snapshot(w);
		pthread_mutex_unlock(&w->mu);
	}
	return TR_OK;
}

bool tr_ckpt_writer_busy(tr_ckpt_writer *w)
{
	bool busy;

	pthread_mutex_lock(&w->mu);
	busy = w->busy;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

long tr_ckpt_writer_submitted_step(const tr_ckpt_writer *w)
{
	return w->submitted_step;
}
