/*
 * cmd_tune.c - `trainer tune [--device cl:N]`: search CLBlast's GEMM parameters for the
 * exact shapes the network uses (forward, weight gradient, input gradient per layer,
 * and the validation chunk), then save the best in the device's tuning cache, which
 * every later run on that device applies when it opens the backend.
 *
 * --layers and --batch pick the network (the lab's by default); --candidates N tries
 * at most N parameter sets per kernel. The backend is opened without the cache, so the
 * "default" figures are CLBlast's own.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#include "trainer/bench.h"

#define MAX_SHAPES (4 * TR_MAX_LAYERS)
#define MAX_DEVICES 32

static void print_line(void *user, const char *line)
{
	bool quiet = *(const bool *)user;

	if (!quiet)
		printf("%s\n", line);
	fflush(stdout);
}

/* The network's GEMMs as tuning shapes, each weighted by how often it runs per
 * training step: validation chunks (val_size / eval_chunk of them) every eval_every. */
static size_t shapes_of(const cli_options *o, tr_tune_shape *out)
{
	tr_bench_gemm g[MAX_SHAPES];
	const tr_train_config *c = &o->cfg;
	size_t n = tr_bench_gemm_shapes(&c->layout, c->batch, c->eval_chunk, g, MAX_SHAPES);
	double chunks = (double)(o->val_size + c->eval_chunk - 1) / (double)c->eval_chunk;
	size_t i;

	if (n > MAX_SHAPES)
		n = MAX_SHAPES;
	for (i = 0; i < n; i++) {
		out[i].trans_a = g[i].trans_a;
		out[i].trans_b = g[i].trans_b;
		out[i].m = g[i].m;
		out[i].n = g[i].n;
		out[i].k = g[i].k;
		out[i].weight = g[i].kind == TR_GEMM_VALIDATION ?
				chunks / (double)c->eval_every : 1.0;
		snprintf(out[i].what, sizeof(out[i].what), "%s %zu",
			 tr_bench_gemm_kind_name(g[i].kind), g[i].layer + 1);
	}
	return n;
}

/* Without --device: the first real GPU among the OpenCL devices, else the first that
 * is not a simulator, else cl:0 (the same list --list-devices and bench use). */
static void default_device(char *buf, size_t cap)
{
	char names[MAX_DEVICES][TR_DEVICE_STR_MAX];
	tr_device_kind kinds[MAX_DEVICES];
	size_t n = tr_backend_devices(names, kinds, MAX_DEVICES), i;
	int pass;

	if (n > MAX_DEVICES)
		n = MAX_DEVICES;
	snprintf(buf, cap, "cl:0");
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (strncmp(names[i], "cl:", 3) != 0)
				continue;
			if (pass == 0 ? kinds[i] == TR_DEVICE_GPU : kinds[i] != TR_DEVICE_SIMULATOR) {
				snprintf(buf, cap, "%s", names[i]);
				return;
			}
		}
	}
}

int cli_cmd_tune(cli_options *o)
{
	tr_backend_options bopts = { .threads = o->threads, .no_tuning_cache = true };
	tr_tune_shape shapes[MAX_SHAPES];
	tr_tune_options topts;
	tr_backend *be = NULL;
	char device[TR_DEVICE_STR_MAX];
	tr_error err;
	int rc;

	tr_error_clear(&err);
	if (cli_given(o, "device"))
		snprintf(device, sizeof(device), "%s", o->device);
	else
		default_device(device, sizeof(device));
	memset(&topts, 0, sizeof(topts));
	topts.shapes = shapes;
	topts.n_shapes = shapes_of(o, shapes);
	topts.max_candidates = o->candidates;
	topts.progress = print_line;
	topts.user = &o->quiet;
	rc = tr_backend_open(device, &bopts, &be, &err);
	if (rc == TR_OK) {
		if (!o->quiet)
			printf("tuning CLBlast's GEMMs for %s (%s)\n", device,
			       tr_backend_device_name(be));
		rc = tr_backend_tune(be, &topts, &err);
	}
	if (rc == TR_OK)
		printf("%s\n", tr_backend_tuning(be));
	tr_backend_free(be);
	if (rc)
		return cli_report_error(&err);
	return 0;
}
