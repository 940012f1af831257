/*
 * verify_impl.h - what the check functions of src/verify/ share (private).
 *
 * A check function runs one backend operation on a group of cases, each on the
 * device under test and on cpu-ref from the same host data, and records the worst
 * error in a tr_verify_check row:
 *
 *     tr_verify_check c;
 *     vcheck_begin(&c, "bias_act", "odd shapes", "NMSE", bound);
 *     for (each case while rc == TR_OK) {
 *             rc = vpair_random(v, &c, n, -1, 1, &y);
 *             rc = vcall(v, &c, "7x3", tr_backend_bias_act(v->ref, ...),
 *                        tr_backend_bias_act(v->dut, ...));  // an error stops the run
 *             rc = vpair_nmse(v, &c, &y, 0, n, &e);
 *             vcheck_case(&c, e, "%zux%zu", rows, cols);
 *             vpair_free(v, &y);
 *     }
 *     return vcheck_end(v, &c, rc);
 *
 * Every helper returns TR_OK or the status of a failed call, with v->err set and the
 * row marked failed; vcheck_end hands the row to the caller's on_check.
 */
#ifndef TRAINER_VERIFY_IMPL_H
#define TRAINER_VERIFY_IMPL_H

#include "trainer/verify.h"

#include "trainer/prng.h"

typedef struct tr_vctx {
	tr_backend *ref;              /* cpu-ref */
	tr_backend *dut;              /* the device under test */
	const char *device;           /* its device string, for messages */
	const tr_verify_options *o;
	tr_verify_report *rep;
	tr_prng rng;                  /* the synthetic inputs */
	tr_error *err;
	const size_t *odd;            /* the odd sizes: 1, 3, 17, 65, 257 (--quick: to 65) */
	size_t n_odd;
} tr_vctx;

/* The same host data in a buffer on each backend. */
typedef struct vpair {
	tr_buf *r, *d;
	size_t n;
} vpair;

/* ---- rows (verify.c) ---- */

/* Start a row (op, what, measure, bound) in c, the caller's. */
void vcheck_begin(tr_verify_check *c, const char *op, const char *what,
		  const char *measure, double bound);
/* Record one case's error (NaN counts as +inf); the worst case's label is kept. */
void vcheck_case(tr_verify_check *c, double error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Finish the row: pass unless a case failed or rc is an error; append it to the
 * report and hand it to on_check. Returns rc (or TR_ERR_INTERNAL when the report
 * cannot grow). */
int vcheck_end(tr_vctx *v, tr_verify_check *c, int rc);
/* Mark the row failed with a message that is not a number (printf-style). */
void vcheck_fail(tr_verify_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The statuses of the same call on cpu-ref (rr) and on the device (rd): TR_OK, or
 * the first error, with v->err = "<op> <what> on <device>: <backend's message>" and
 * the row failed with it. */
int vcall(tr_vctx *v, tr_verify_check *c, const char *what, int rr, int rd);

/* ---- buffers on both backends (verify_pair.c) ---- */

/* The row fails with "out of host memory"; returns TR_ERR_INTERNAL with v->err set. */
int vfail_oom(tr_vctx *v, tr_verify_check *c);

/* n floats on both backends, from host (NULL: left undefined). */
int vpair_new(tr_vctx *v, tr_verify_check *c, const float *host, size_t n, vpair *p);
/* n floats uniform in [lo, hi) from v->rng, on both. */
int vpair_random(tr_vctx *v, tr_verify_check *c, size_t n, float lo, float hi,
		 vpair *p);
/* n class indices 0..classes-1 (as floats), on both. */
int vpair_labels(tr_vctx *v, tr_verify_check *c, size_t n, size_t classes, vpair *p);
void vpair_free(tr_vctx *v, vpair *p); /* NULL buffers are fine */
/* Download [off, off+n) from both and set *e to their NMSE (+inf if the device's
 * copy holds a NaN/Inf where the reference's does not, or on any non-finite). */
int vpair_nmse(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t off, size_t n,
	       double *e);
/* Download one float from both: *r from cpu-ref, *d from the device. */
int vpair_read1(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t off, double *r,
		double *d);
/* Both sides to host arrays (n floats from off each). */
int vpair_download(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t off, size_t n,
		   float *r, float *d);

/* n floats uniform in [lo, hi) from v->rng. */
void vfill_uniform(tr_vctx *v, float *x, size_t n, float lo, float hi);

/* |a - b| / max(|a|, 1e-30), +inf when either is not finite. */
double vrel(double ref, double got);

/* ---- the checks, one per backend operation (checks_*.c) ---- */
int vcheck_gemm(tr_vctx *v);
int vcheck_bias_act(tr_vctx *v);
int vcheck_relu_backward(tr_vctx *v);
int vcheck_bias_grad(tr_vctx *v);
int vcheck_relu_bias_grad(tr_vctx *v);
int vcheck_gather(tr_vctx *v);
int vcheck_softmax_xent(tr_vctx *v);
int vcheck_count_correct(tr_vctx *v);
int vcheck_sum_squares(tr_vctx *v);
int vcheck_adam_l2(tr_vctx *v);
int vcheck_trajectories(tr_vctx *v);

#endif /* TRAINER_VERIFY_IMPL_H */
