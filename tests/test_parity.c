/*
 * test_parity.c - every backend against the cpu-ref oracle, through the same library
 * code as `trainer verify` (src/verify/), so that the two can never drift apart.
 *
 * For each target: the backend opened must be the one asked for (a silent fallback
 * fails); every interface operation on odd shapes (1, 3, 17, 65, 257), n = 1500 and
 * the lab network's shapes, with huge and all-zero logits, is compared with cpu-ref by
 * NMSE or relative error within float32 bounds, any NaN or Inf failing; then the same
 * network is trained from the same weights on the same batches on both (784-128-10
 * with He for 100 steps, the lab's network with the seed's initialisation for 12), the
 * losses compared step by step within shared/SPEC.md's horizons, and the final
 * parameters. The checks and their bounds: include/trainer/verify.h, docs/TESTING.md.
 * Here the trajectories draw their batches from MNIST when it is present.
 *
 * Adding a backend is one line in `targets` below. The OpenCL device is
 * $TRAINER_TEST_DEVICE (default cl:0, the first OpenCL device). A target this build
 * lacks is skipped with its reason; with TRAINER_REQUIRE_OPENCL=1 (set by CI) a
 * missing OpenCL device is a failure instead.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trainer/data.h"
#include "trainer/verify.h"

/* The backends under test: one line each. NULL device: $TRAINER_TEST_DEVICE. */
static const struct target {
	const char *device;   /* --device string */
	bool opencl;          /* required in CI (TRAINER_REQUIRE_OPENCL=1) */
} targets[] = {
	{ "cpu", false },
	{ NULL, true },
};

/* Every row is one CHECK; a failure names the op, the cases and the worst one. */
static void check_row(void *user, const tr_verify_report *rep, const tr_verify_check *c)
{
	if (rep->n_checks == 1)
		printf("== %s: %s (%s)\n", rep->device, rep->device_name, rep->device_version);
	CHECK(c->pass, "%s: %s %s: %s %.3g > %g (%zu of %zu cases; worst %s)%s%s",
	      rep->device, c->op, c->what, c->measure, c->error, c->bound, c->failed,
	      c->cases, c->worst, c->message[0] ? ": " : "", c->message);
	if (!strcmp(c->op, "trajectory"))
		printf("  %s: worst %s %.2g (%s)\n", c->what, c->measure, c->error, c->worst);
}

/* Run the target; false when it was skipped. */
static bool run_target(const struct target *t, const tr_dataset *ds, bool require_cl)
{
	const char *device = t->device ? t->device : test_device();
	tr_verify_options o;
	tr_verify_report rep;
	tr_error err;
	int rc;

	memset(&rep, 0, sizeof(rep));
	tr_verify_options_default(&o);
	o.data = ds;
	o.on_check = check_row;
	rc = tr_verify_device(device, &o, &rep, &err);
	if (rc != TR_OK && rep.n_checks == 0) {
		/* it could not be opened */
		if (t->opencl && require_cl)
			CHECK(0, "%s required (TRAINER_REQUIRE_OPENCL=1) but: %s", device, err.msg);
		else
			printf("== %s: SKIPPED: %s\n", device, err.msg);
		tr_verify_report_free(&rep);
		return t->opencl && require_cl;
	}
	CHECK(rc == TR_OK, "%s: the checks stopped: %s", device, err.msg);
	printf("  %zu checks, %zu cases, %zu failed, %.1f s\n", rep.n_checks, rep.n_cases,
	       rep.n_failed, rep.seconds);
	tr_verify_report_free(&rep);
	return true;
}

int main(void)
{
	bool require_cl = getenv("TRAINER_REQUIRE_OPENCL") &&
			  !strcmp(getenv("TRAINER_REQUIRE_OPENCL"), "1");
	tr_dataset data, *ds = NULL;
	const char *dir = test_data_dir();
	tr_error err;
	size_t i;
	int ran = 0;

	if (dir && tr_dataset_load(dir, 5000, &data, &err) == TR_OK)
		ds = &data;
	else
		printf("MNIST not available: trajectories use synthetic batches\n");
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		ran += run_target(&targets[i], ds, require_cl);
	if (ds)
		tr_dataset_free(ds);
	if (!ran && !test_failed) {
		printf("no backend to compare with cpu-ref\n");
		return TEST_SKIP;
	}
	return test_finish();
}
