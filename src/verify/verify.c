/*
 * verify.c - the table of checks, the report's rows, and running them on a device
 * against cpu-ref (see include/trainer/verify.h).
 *
 * The table lists one check function per backend operation, in the order a training
 * step uses them, then the trajectories that use them all together. A new operation
 * in the backend interface is one entry here and one function in a checks_*.c file.
 */
#include "verify_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/clock.h"
#include "trainer/trainer.h"

static const struct verify_op {
	const char *op;             /* the operation, as backend.h names it */
	int (*check)(tr_vctx *v);   /* appends its rows; TR_OK or a device error */
} ops[] = {
	{ "gather", vcheck_gather },
	{ "gemm", vcheck_gemm },
	{ "bias_act", vcheck_bias_act },
	{ "softmax_xent", vcheck_softmax_xent },
	{ "count_correct", vcheck_count_correct },
	{ "bias_grad", vcheck_bias_grad },
	{ "relu_backward", vcheck_relu_backward },
	{ "relu_bias_grad", vcheck_relu_bias_grad },
	{ "adam_l2", vcheck_adam_l2 },
	{ "sum_squares", vcheck_sum_squares },
	{ "trajectory", vcheck_trajectories },
};

#define N_OPS (sizeof(ops) / sizeof(ops[0]))

/* The odd sizes every operation runs on; --quick leaves out 257. */
static const size_t odd_sizes[] = { 1, 3, 17, 65, 257 };

const char *tr_verify_op_names(void)
{
	static char names[256];
	size_t i, len = 0;

	if (names[0])
		return names;
	for (i = 0; i < N_OPS && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? "," : "",
					ops[i].op);
	return names;
}

/* Does the comma-separated list select `name`? NULL or "": every name does; a list of
 * names each prefixed with '-' selects every name but those. */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	bool exclude = list && list[0] == '-';
	const char *p = list;

	if (!list || !*list)
		return true;
	while (*p) {
		size_t n;

		p += exclude && *p == '-';
		n = strcspn(p, ",");
		if (n == len && !strncmp(p, name, len))
			return !exclude;
		p += n + (p[n] == ',');
	}
	return exclude;
}

int tr_verify_ops_check(const char *list, tr_error *err)
{
	bool exclude = list && list[0] == '-';
	const char *p = list;
	size_t i;

	while (p && *p) {
		size_t n;
		bool known = false;

		if ((*p == '-') != exclude)
			return tr_fail(err, TR_ERR_USAGE, "--ops '%s': either names of checks to "
				       "run or names to leave out, each with '-', not both", list);
		p += exclude;
		n = strcspn(p, ",");
		for (i = 0; i < N_OPS; i++)
			known |= strlen(ops[i].op) == n && !strncmp(p, ops[i].op, n);
		if (!known)
			return tr_fail(err, TR_ERR_USAGE, "--ops '%s': no check named '%.*s'; the "
				       "checks are %s", list, (int)n, p, tr_verify_op_names());
		p += n + (p[n] == ',');
	}
	return TR_OK;
}

void tr_verify_options_default(tr_verify_options *o)
{
	tr_train_config cfg;

	memset(o, 0, sizeof(*o));
	tr_train_config_default(&cfg);
	o->layout = cfg.layout;
	o->batch = cfg.batch;
	o->eval_rows = cfg.eval_chunk;
	o->seed = 1;
}

const char *tr_verify_expected_backend(const char *device)
{
	if (!device || !strcmp(device, "auto"))
		return NULL;
	if (!strncmp(device, "cl:", 3) || !strncmp(device, "gpu:", 4))
		return "opencl";
	return device; /* "cpu", "cpu-ref": the device string is the backend's name */
}

/* ---- rows ---- */


void vcheck_begin(tr_verify_check *c, const char *op, const char *what,
		  const char *measure, double bound)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->op, sizeof(c->op), "%s", op);
	snprintf(c->what, sizeof(c->what), "%s", what);
	snprintf(c->measure, sizeof(c->measure), "%s", measure);
	c->bound = bound;
	c->pass = true;
	c->seconds = tr_now_seconds(); /* the start, until vcheck_end */
}

void vcheck_case(tr_verify_check *c, double error, const char *fmt, ...)
{
	va_list ap;

	if (isnan(error))
		error = INFINITY;
	c->cases++;
	if (!(error <= c->bound))
		c->failed++;
	if (c->cases > 1 && !(error > c->error))
		return;
	c->error = error;
	va_start(ap, fmt);
	vsnprintf(c->worst, sizeof(c->worst), fmt, ap);
	va_end(ap);
}

void vcheck_fail(tr_verify_check *c, const char *fmt, ...)
{
	va_list ap;

	c->pass = false;
	c->error = INFINITY;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
}

int vcheck_end(tr_vctx *v, tr_verify_check *c, int rc)
{
	tr_verify_report *rep = v->rep;

	if (rep->n_checks == rep->cap_checks) {
		size_t cap = rep->cap_checks ? 2 * rep->cap_checks : 32;
		tr_verify_check *grown = realloc(rep->checks, cap * sizeof(*grown));

		if (!grown)
			return tr_fail(v->err, TR_ERR_INTERNAL, "verify: out of host memory");
		rep->checks = grown;
		rep->cap_checks = cap;
	}
	c->seconds = tr_now_seconds() - c->seconds;
	if (c->failed > 0 || rc != TR_OK)
		c->pass = false;
	if (!c->pass)
		rep->n_failed++;
	rep->n_cases += c->cases;
	rep->checks[rep->n_checks++] = *c;
	if (v->o->on_check)
		v->o->on_check(v->o->user, rep, c);
	return rc;
}

int vcall(tr_vctx *v, tr_verify_check *c, const char *what, int rr, int rd)
{
	bool ref_failed = rr != TR_OK;
	const tr_backend *be = ref_failed ? v->ref : v->dut;
	int status = ref_failed ? rr : rd;

	if (status == TR_OK)
		return TR_OK;
	tr_fail(v->err, status, "verify: %s %s on %s: %s", c->op, what,
		ref_failed ? "cpu-ref" : v->device, tr_backend_last_error(be)->msg);
	vcheck_fail(c, "%s on %s: %s", what, ref_failed ? "cpu-ref" : v->device,
		    tr_backend_last_error(be)->msg);
	return status;
}

/* ---- running ---- */

static void copy_facts(tr_verify_report *rep, tr_backend *dut, const char *device)
{
	snprintf(rep->device, sizeof(rep->device), "%s", device);
	snprintf(rep->backend, sizeof(rep->backend), "%s", tr_backend_name(dut));
	snprintf(rep->device_name, sizeof(rep->device_name), "%s",
		 tr_backend_device_name(dut));
	snprintf(rep->device_version, sizeof(rep->device_version), "%s",
		 tr_backend_device_version(dut));
	snprintf(rep->tuning, sizeof(rep->tuning), "%s", tr_backend_tuning(dut));
}

/* The backend opened must be the one the device string names: a silent fallback to
 * another backend would make every later check meaningless. */
static int check_backend(tr_vctx *v)
{
	const char *want = tr_verify_expected_backend(v->device);
	const char *got = tr_backend_name(v->dut);
	tr_verify_check c;
	char what[96];

	snprintf(what, sizeof(what), "%s opens %s", v->device, want ? want : "a backend");
	vcheck_begin(&c, "backend", what, "name", 0.0);
	vcheck_case(&c, want && strcmp(want, got) ? INFINITY : 0.0, "%s", got);
	if (want && strcmp(want, got))
		vcheck_fail(&c, "%s opened backend '%s', expected '%s': a silent fallback is "
			    "not the device asked for", v->device, got, want);
	return vcheck_end(v, &c, TR_OK);
}

int tr_verify_run(tr_backend *dut, tr_backend *ref, const char *device,
		  const tr_verify_options *o, tr_verify_report *rep, tr_error *err)
{
	double t0 = tr_now_seconds();
	tr_vctx v;
	size_t i;
	int rc;

	memset(&v, 0, sizeof(v));
	v.ref = ref;
	v.dut = dut;
	v.device = device;
	v.o = o;
	v.rep = rep;
	v.err = err;
	v.odd = odd_sizes;
	v.n_odd = sizeof(odd_sizes) / sizeof(odd_sizes[0]) - (o->quick ? 1 : 0);
	tr_prng_seed(&v.rng, o->seed);
	copy_facts(rep, dut, device);
	rc = check_backend(&v);
	for (i = 0; rc == TR_OK && i < N_OPS; i++)
		if (listed(o->ops, ops[i].op))
			rc = ops[i].check(&v);
	rep->seconds += tr_now_seconds() - t0;
	rep->status = rc;
	if (rc != TR_OK)
		snprintf(rep->message, sizeof(rep->message), "%s", err->msg);
	return rc;
}

int tr_verify_device(const char *device, const tr_verify_options *o,
		     tr_verify_report *rep, tr_error *err)
{
	double t0 = tr_now_seconds();
	tr_backend *ref = NULL, *dut = NULL;
	int rc;

	snprintf(rep->device, sizeof(rep->device), "%s", device);
	rc = tr_backend_open(device, &o->backend, &dut, err);
	if (rc == TR_OK) {
		rc = tr_backend_open("cpu-ref", NULL, &ref, err);
		if (rc != TR_OK)
			tr_error_prefix(err, "verify: opening the reference");
	}
	if (rc == TR_OK) {
		rep->seconds = tr_now_seconds() - t0; /* opening: kernel builds, tuning cache */
		rc = tr_verify_run(dut, ref, device, o, rep, err);
	} else {
		rep->status = rc;
		snprintf(rep->message, sizeof(rep->message), "%s", err->msg);
	}
	tr_backend_free(dut);
	tr_backend_free(ref);
	return rc;
}

void tr_verify_report_free(tr_verify_report *rep)
{
	if (!rep)
		return;
	free(rep->checks);
	memset(rep, 0, sizeof(*rep));
}
