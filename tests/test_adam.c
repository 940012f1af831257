/*
 * test_adam.c - the Adam + L2 update against values worked out by hand from the TF1
 * formula (SPEC.md), on every backend this build has, through the network's update
 * (which computes lr_t from the step number) so the bias correction is covered too.
 *
 * One parameter w = 1, gradient 0.5 at both steps, lr = 0.1, lambda = 0.1:
 *  step 1: g = 0.5 + 0.1*1 = 0.6;  m = 0.1*0.6 = 0.06;  v = 0.001*0.36 = 0.00036
 *          lr_t = 0.1*sqrt(1-0.999)/(1-0.9) = 0.0316227766
 *          w = 1 - 0.0316227766*0.06/(sqrt(0.00036)+1e-8) = 0.9000000527
 *  step 2: g = 0.5 + 0.1*0.9000000527 = 0.5900000053;  m = 0.113000000527
 *          v = 0.999*0.00036 + 0.001*g^2 = 0.000707740006
 *          lr_t = 0.1*sqrt(1-0.999^2)/(1-0.9^2) = 0.0235316725
 *          w = 0.9000000527 - lr_t*m/(sqrt(v)+1e-8) = 0.8000474274
 * Then, with --l2-scope weights, a bias with the tiny gradient 1e-6 (no L2), step 1:
 *          m = 1e-7, v = 1e-15, w = 1 - lr_t*1e-7/(sqrt(1e-15)+1e-8) = 0.9240253073
 *          (PyTorch's epsilon placement would give 0.9009900990: this tells them apart)
 *
 * Tolerances: the betas are float32 constants, as in TF1 (1 - 0.999f = 0.000999987),
 * which moves v by 1.3e-5 relative and w by up to 7e-7 from these exact-decimal values;
 * we allow 2e-6 on w, 1e-6 relative on m, 3e-5 relative on v. A wrong formula (no bias
 * correction, epsilon inside the square root, L2 left out) misses by 1e-2 or more.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "trainer/backend.h"
#include "trainer/model.h"

/* NULL: the OpenCL device the tests use (test_device()). */
static const char *const devices[] = { "cpu-ref", "cpu", NULL };

static void check_device(tr_backend *be)
{
	static const double want_w[2] = { 0.9000000527045999, 0.8000474273916581 };
	static const double want_m[2] = { 0.06, 0.113000000527046 };
	static const double want_v[2] = { 0.00036, 0.0007077400062191435 };
	static const size_t sizes[] = { 1, 1 }; /* a 1x1 weight and a bias */
	tr_layout lay;
	tr_net *net = NULL;
	tr_error err;
	float p[2] = { 1.0f, 1.0f }, g[2] = { 0.5f, 0.5f }, m[2], v[2];
	int t;

	tr_layout_init(&lay, sizes, 2, &err);
	if (tr_net_create(be, &lay, 1, 1, &net, &err) ||
	    tr_net_set_state(net, p, NULL, NULL, &err)) {
		CHECK(0, "%s: setup: %s", tr_backend_name(be), err.msg);
		tr_net_free(net);
		return;
	}
	for (t = 1; t <= 2; t++) {
		tr_backend_upload(be, tr_at(net->grads, 0), g, 2);
		if (tr_net_update(net, t, 0.1, 0.1, TR_L2_ALL, &err) ||
		    tr_net_get_state(net, p, m, v, &err)) {
			CHECK(0, "%s: update: %s", tr_backend_name(be), err.msg);
			break;
		}
		CHECK(fabs(p[0] - want_w[t - 1]) <= 2e-6, "%s step %d: w %.10f, want %.10f",
		      tr_backend_name(be), t, p[0], want_w[t - 1]);
		CHECK(fabs(m[0] - want_m[t - 1]) <= 1e-6 * want_m[t - 1],
		      "%s step %d: m %.10g, want %.10g", tr_backend_name(be), t, m[0],
		      want_m[t - 1]);
		CHECK(fabs(v[0] - want_v[t - 1]) <= 3e-5 * want_v[t - 1],
		      "%s step %d: v %.10g, want %.10g", tr_backend_name(be), t, v[0],
		      want_v[t - 1]);
		CHECK(p[0] == p[1], "%s step %d: weight and bias should update alike",
		      tr_backend_name(be), t);
	}
	/* L2 on the weights only: the bias sees lambda = 0, and a tiny gradient. */
	p[0] = p[1] = 1.0f;
	g[1] = 1e-6f;
	tr_net_set_state(net, p, NULL, NULL, &err);
	tr_backend_upload(be, tr_at(net->grads, 0), g, 2);
	tr_net_update(net, 1, 0.1, 0.1, TR_L2_WEIGHTS, &err);
	tr_net_get_state(net, p, m, v, &err);
	CHECK(fabs(m[0] - 0.06) <= 6e-8 && fabs(m[1] - 1e-7) <= 1e-13,
	      "%s: --l2-scope weights: m = (%.9g, %.9g), want (0.06, 1e-7)",
	      tr_backend_name(be), m[0], m[1]);
	CHECK(fabs(p[1] - 0.9240253073352042) <= 2e-6,
	      "%s: tiny gradient: w %.10f, want 0.9240253073 (TF1 epsilon placement)",
	      tr_backend_name(be), p[1]);
	tr_net_free(net);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		const char *device = devices[i] ? devices[i] : test_device();
		tr_backend *be;
		tr_error err;

		if (tr_backend_open(device, NULL, &be, &err) != TR_OK) {
			printf("%s: skipped: %s\n", device, err.msg);
			continue;
		}
		printf("%s: %s\n", device, tr_backend_device_name(be));
		check_device(be);
		tr_backend_free(be);
	}
	return test_finish();
}
