/*
 * verify.h - is a device computing right? Every backend operation, then a short
 * training trajectory, on the device under test and on cpu-ref (the scalar reference
 * that accumulates in double), from the same inputs, compared within float32 error
 * bounds. `trainer verify` and the parity test (tests/test_parity.c) both run this
 * code, so the two can never drift apart.
 *
 * Inputs are synthetic, drawn from a fixed seed, so no data set is needed (the parity
 * test may pass MNIST for the trajectories' batches). The checks, their shapes and
 * where each bound comes from are described in docs/TESTING.md; in short, with the
 * unit roundoff u = 2^-24 ~ 6e-8 and NMSE = sum((ref-got)^2) / sum(ref^2):
 *   - element-wise ops round once per element: NMSE <= u^2 ~ 4e-15, we allow 1e-12;
 *   - a GEMM with inner size k errs by at most ~k*u times the sum of |terms|; for
 *     k <= 1500 and signed inputs that cancel, NMSE 1e-7 (ggml's threshold);
 *   - reductions of n floats: NMSE 1e-9 per vector, relative 1e-5 for a scalar sum;
 *   - Adam: a handful of operations per element, and the UPDATE (new - old) is
 *     compared, so it cannot hide in the parameter's magnitude: NMSE 1e-10;
 *   - trajectories: float32 and float64 agree to ~1e-7 (784-128-10, He, step 100) and
 *     ~1e-5 (the lab's network, the seed's initialisation, 150 steps) according to
 *     shared/SPEC.md; we compare fewer steps than those horizons, within 1e-4.
 * Any NaN or Inf where the reference has a finite value fails.
 *
 * Adding an operation to the backend interface means one entry in the table of
 * src/verify/verify.c and one check function (src/verify/checks_*.c).
 */
#ifndef TRAINER_VERIFY_H
#define TRAINER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trainer/backend.h"
#include "trainer/data.h"
#include "trainer/error.h"
#include "trainer/model.h"

/* The bounds (see above and docs/TESTING.md). */
#define TR_VERIFY_NMSE_ELEMENTWISE 1e-12
#define TR_VERIFY_NMSE_GEMM 1e-7
#define TR_VERIFY_NMSE_REDUCE 1e-9
#define TR_VERIFY_NMSE_ADAM 1e-10
#define TR_VERIFY_REL_SCALAR 1e-5
#define TR_VERIFY_REL_TRAJECTORY 1e-4

/* One row of the verdict: an operation on a group of cases (shapes, inputs), the
 * worst error among them and its bound. */
typedef struct tr_verify_check {
	char op[32];        /* the backend operation ("gemm", "softmax_xent", ...), or
			       "backend" (the one opened) or "trajectory" */
	char what[192];     /* the cases, e.g. "odd shapes, 4 transpositions" */
	char measure[24];   /* "NMSE", "relative", "exact", "name" */
	double error;       /* the worst value of the measure over the cases (+inf for a
			       NaN/Inf or a failed call) */
	double bound;       /* a case passes when error <= bound */
	char worst[96];     /* the case with the worst error, e.g. "m=65 n=17 k=257 A^T" */
	size_t cases;       /* cases compared */
	size_t failed;      /* of which out of bounds */
	bool pass;
	double seconds;     /* wall time of the row's cases */
	char message[512];  /* why it failed when that is not a number: an operation that
			       returned an error, a backend other than the one asked for */
} tr_verify_check;

typedef struct tr_verify_report tr_verify_report; /* below */

typedef struct tr_verify_options {
	tr_layout layout;        /* the network whose shapes are checked (the lab's) */
	size_t batch;            /* its training batch (64) */
	size_t eval_rows;        /* its evaluation chunk (the trainer's, 1000) */
	bool quick;              /* small shapes only, fewer steps (seconds) */
	/* Only these checks, comma-separated names of the table (tr_verify_op_names), or
	 * all but those named with '-' ("-gemm,-trajectory"); NULL or "": all of them.
	 * The backend check always runs. */
	const char *ops;
	uint64_t seed;           /* of the synthetic inputs */
	/* Batches for the trajectories from this data set's training split instead of
	 * synthetic ones (the parity test passes MNIST when it has it); may be NULL. */
	const tr_dataset *data;
	tr_backend_options backend; /* how to open the device under test */
	/* Called after each check is complete (to print it), with the report so far
	 * (the device's facts are filled in before the first check); may be NULL. */
	void (*on_check)(void *user, const tr_verify_report *rep, const tr_verify_check *c);
	void *user;
} tr_verify_options;

/* The lab's network, batch 64, the trainer's evaluation chunk, seed 1, full checks. */
void tr_verify_options_default(tr_verify_options *o);

/* What one device did: its facts and every check. */
struct tr_verify_report {
	char device[TR_DEVICE_STR_MAX]; /* the device string asked for */
	char backend[32];               /* the backend that opened */
	char device_name[256];
	char device_version[256];       /* driver, OpenCL and CLBlast versions */
	char tuning[256];               /* tuning state ("" where there is none) */
	tr_verify_check *checks;        /* n_checks of them, owned */
	size_t n_checks, cap_checks;
	size_t n_failed;                /* checks that did not pass */
	size_t n_cases;                 /* cases compared, over all checks */
	double seconds;                 /* wall time of the checks (opening included) */
	int status;                     /* TR_OK when every check ran (see n_failed);
					   else the error that stopped the run */
	char message[TR_ERROR_MSG_MAX]; /* that error */
};

/* The names of the checks, "gemm,bias_act,...,trajectory" (for --ops and messages). */
const char *tr_verify_op_names(void);

/* TR_OK when every name in the comma-separated list is a check's name; else
 * TR_ERR_USAGE naming the one that is not, and the valid ones. */
int tr_verify_ops_check(const char *list, tr_error *err);

/* sum((ref - got)^2) / sum(ref^2) in double (when sum(ref^2) is 0: sum(got^2), so that
 * all-zero against all-zero is 0); +INFINITY when either holds a NaN or an Inf. */
double tr_verify_nmse(const float *ref, const float *got, size_t n);

/* The backend a device string must open: "cpu" -> "cpu", "cpu-ref" -> "cpu-ref",
 * "cl:N" and "gpu:N" -> "opencl"; NULL for "auto" (any backend will do). */
const char *tr_verify_expected_backend(const char *device);

/* Open `device` (with o->backend) and cpu-ref, run every check, close both. Returns
 * TR_OK when the checks ran (whether they passed: rep->n_failed), or the status of what
 * stopped them, with err set: the device could not be opened (rep->n_checks == 0), or
 * an operation failed with a device error (the checks so far are in rep, the last one
 * failed with the message). rep must be zeroed or freed before; free it after. */
int tr_verify_device(const char *device, const tr_verify_options *o,
		     tr_verify_report *rep, tr_error *err);

/* The same on backends already open (the report names the device as `device`). */
int tr_verify_run(tr_backend *dut, tr_backend *ref, const char *device,
		  const tr_verify_options *o, tr_verify_report *rep, tr_error *err);

void tr_verify_report_free(tr_verify_report *rep); /* frees checks; NULL-safe */

/* The report as a JSON object (device facts, one entry per check, the verdict);
 * the caller owns it (cJSON_Delete). NULL when out of memory. */
struct cJSON *tr_verify_report_json(const tr_verify_report *rep);

#endif /* TRAINER_VERIFY_H */
