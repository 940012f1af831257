/*
 * cmd_verify.c - `trainer verify [--device D|all] [--layers LIST] [--quick] [--json FILE]`:
 * prove that a device computes what cpu-ref computes. Every backend operation on odd
 * shapes and on the network's shapes, then a short training trajectory, against the
 * reference (src/verify/); prints the device's facts, a table of checks and a verdict.
 *
 * Exit codes: 0 every check passed; 8 (TR_ERR_VERIFY) a check was out of bounds; a
 * device that cannot be opened or fails an operation keeps its own code (5, ...); with
 * --device all, 8 wins over the others. --json FILE writes the same report atomically.
 */
#include "commands.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "trainer/formats.h"
#include "trainer/verify.h"

#define MAX_VERIFY_DEVICES 32

struct printer {
	bool quiet;                   /* only failed checks and verdicts */
	const tr_verify_options *vo;  /* for the header */
};

static void print_header(const tr_verify_report *rep, const tr_verify_options *vo)
{
	char net[128];

	tr_layout_format(&vo->layout, net, sizeof(net));
	printf("== %s against cpu-ref (%s; network %s, batch %zu%s%s)\n", rep->device,
	       vo->quick ? "quick" : "full", net, vo->batch, vo->ops[0] ? "; only " : "",
	       vo->ops);
	printf("   device   %s (backend %s)\n", rep->device_name, rep->backend);
	printf("   driver   %s\n", rep->device_version);
	if (rep->tuning[0])
		printf("   tuning   %s\n", rep->tuning);
	printf("\n   %-6s %-14s %-10s %9s %9s  %s\n", "result", "op", "measure", "error",
	       "bound", "cases (worst case)");
}

static void print_check(void *user, const tr_verify_report *rep, const tr_verify_check *c)
{
	const struct printer *p = user;

	if (rep->n_checks == 1 && !p->quiet)
		print_header(rep, p->vo);
	if (p->quiet && c->pass)
		return;
	printf("%s%s%-6s %-14s %-10s %9.2g %9.2g  %s: %zu case%s", p->quiet ? rep->device : "   ",
	       p->quiet ? ": " : "", c->pass ? "PASS" : "FAIL", c->op, c->measure, c->error,
	       c->bound, c->what, c->cases, c->cases == 1 ? "" : "s");
	if (c->error > 0 && c->worst[0])
		printf(" (worst: %s)", c->worst);
	putchar('\n');
	if (!c->pass && c->failed)
		printf("          %zu of %zu case%s out of bounds\n", c->failed, c->cases,
		       c->cases == 1 ? "" : "s");
	if (c->message[0])
		printf("          %s\n", c->message);
	fflush(stdout);
}

/* Each failed operation once, "softmax_xent, trajectory", into buf. */
static void failed_ops(const tr_verify_report *rep, char *buf, size_t cap)
{
	size_t i, j, len = 0;

	buf[0] = '\0';
	for (i = 0; i < rep->n_checks; i++) {
		const tr_verify_check *c = &rep->checks[i];
		bool seen = false;

		if (c->pass)
			continue;
		for (j = 0; j < i; j++)
			seen |= !rep->checks[j].pass && !strcmp(rep->checks[j].op, c->op);
		if (!seen && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
						c->op);
	}
}

static void print_verdict(const tr_verify_report *rep)
{
	char ops[512];

	if (rep->n_failed > 0) {
		failed_ops(rep, ops, sizeof(ops));
		printf("verdict: FAIL: %s (%s) does NOT compute as cpu-ref does: %zu of %zu "
		       "checks out of bounds, in %s (%.1f s)\n", rep->device, rep->device_name,
		       rep->n_failed, rep->n_checks, ops, rep->seconds);
	} else if (rep->status != TR_OK) {
		printf("verdict: ERROR: %s could not be verified: %s\n", rep->device,
		       rep->message);
	} else {
		printf("verdict: PASS: %s (%s) computes as cpu-ref does: %zu checks, %zu cases "
		       "within their bounds (%.1f s)%s\n", rep->device, rep->device_name,
		       rep->n_checks, rep->n_cases, rep->seconds,
		       strcmp(rep->device, "cpu-ref") ? "" : "; the reference against itself: "
		       "this shows only that it is deterministic");
	}
	fflush(stdout);
}

/* The devices to verify: one, or with "all" every device but cpu-ref. */
static size_t pick_devices(const char *device, char (*list)[TR_DEVICE_STR_MAX])
{
	char all[MAX_VERIFY_DEVICES][TR_DEVICE_STR_MAX];
	size_t i, n_all, n = 0;

	if (strcmp(device, "all") != 0) {
		snprintf(list[0], TR_DEVICE_STR_MAX, "%s", device);
		return 1;
	}
	n_all = tr_backend_devices(all, NULL, MAX_VERIFY_DEVICES);
	for (i = 0; i < n_all && i < MAX_VERIFY_DEVICES; i++)
		if (strcmp(all[i], "cpu-ref") != 0)
			snprintf(list[n++], TR_DEVICE_STR_MAX, "%s", all[i]);
	return n;
}

static int write_json(const char *path, const tr_verify_options *vo,
		      const tr_verify_report *reps, size_t n, int code, tr_error *err)
{
	cJSON *doc = cJSON_CreateObject(), *devices;
	char net[128];
	size_t i;
	int rc;

	if (!doc)
		return tr_fail(err, TR_ERR_INTERNAL, "--json %s: out of host memory", path);
	tr_layout_format(&vo->layout, net, sizeof(net));
	cJSON_AddStringToObject(doc, "trainer_version", TRAINER_VERSION);
	cJSON_AddStringToObject(doc, "reference", "cpu-ref");
	cJSON_AddStringToObject(doc, "layers", net);
	cJSON_AddNumberToObject(doc, "batch", (double)vo->batch);
	cJSON_AddBoolToObject(doc, "quick", vo->quick);
	cJSON_AddStringToObject(doc, "verdict", code == TR_OK ? "pass" :
				code == TR_ERR_VERIFY ? "fail" : "error");
	cJSON_AddNumberToObject(doc, "exit_status", code);
	devices = cJSON_AddArrayToObject(doc, "devices");
	for (i = 0; devices && i < n; i++)
		cJSON_AddItemToArray(devices, tr_verify_report_json(&reps[i]));
	rc = tr_json_write(path, doc, err);
	cJSON_Delete(doc);
	if (rc)
		tr_error_prefix(err, "--json");
	return rc;
}

/* Can --json FILE be written? Checked before any work, the same way it will
 * be written (a temporary file next to it), so a typo fails at once. */
static int probe_json(const char *path, tr_error *err)
{
	tr_atomic_file af;
	int rc = tr_atomic_open(&af, path, err);

	if (rc)
		return tr_error_prefix(err, "--json");
	tr_atomic_abort(&af);
	return TR_OK;
}

int cli_cmd_verify(cli_options *o)
{
	tr_verify_options vo;
	struct printer printer = { o->quiet, &vo };
	char devices[MAX_VERIFY_DEVICES][TR_DEVICE_STR_MAX];
	tr_verify_report reps[MAX_VERIFY_DEVICES];
	size_t i, n;
	int code = TR_OK, rc;
	tr_error err;

	tr_error_clear(&err);
	if (!strcmp(o->ops, "list")) {
		const char *p = tr_verify_op_names();

		/* one name a line, for scripts (ci/oclgrind.sh) */
		for (; *p; p++)
			putchar(*p == ',' ? '\n' : *p);
		putchar('\n');
		return 0;
	}
	memset(reps, 0, sizeof(reps));
	tr_verify_options_default(&vo);
	vo.layout = o->cfg.layout;
	vo.batch = o->cfg.batch;
	vo.quick = o->quick;
	vo.ops = o->ops;
	vo.backend.threads = o->threads;
	vo.on_check = print_check;
	vo.user = &printer;
	if (o->json_path[0] && probe_json(o->json_path, &err))
		return cli_report_error(&err);
	n = pick_devices(o->device, devices);
	if (n == 0) {
		tr_fail(&err, TR_ERR_DEVICE, "--device all: this build sees no device to verify "
			"(see trainer --list-devices)");
		return cli_report_error(&err);
	}
	for (i = 0; i < n; i++) {
		rc = tr_verify_device(devices[i], &vo, &reps[i], &err);
		if (i > 0 || !o->quiet || rc != TR_OK || reps[i].n_failed)
			putchar('\n');
		print_verdict(&reps[i]);
		if (rc != TR_OK)
			cli_report_error(&err);
		if (reps[i].n_failed > 0)
			code = TR_ERR_VERIFY;
		else if (rc != TR_OK && code == TR_OK)
			code = rc;
	}
	if (!strcmp(o->device, "all"))
		printf("\nverdict over %zu device%s: %s\n", n, n == 1 ? "" : "s",
		       code == TR_OK ? "PASS" : code == TR_ERR_VERIFY ? "FAIL" : "ERROR");
	if (o->json_path[0] && write_json(o->json_path, &vo, reps, n, code, &err)) {
		cli_report_error(&err);
		if (code == TR_OK)
			code = err.status;
	}
	for (i = 0; i < n; i++)
		tr_verify_report_free(&reps[i]);
	return code;
}
