/*
 * cmd_bench.c - `trainer bench`: the training step's speed per backend, with its
 * bounds (the step's GEMMs alone, one update pass alone) measured in the same run,
 * validation throughput, and --json for scripts. The measuring is in src/bench/.
 *
 * Backends: --device NAME (one), --backends a,b,c, or by default every device this
 * build can open except cpu-ref, which is slow: asked for by name, it runs a reduced
 * count of steps unless --iters is given.
 */
#include "commands.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/bench.h"

#define MAX_BENCH_DEVICES 32

/* cpu-ref without --iters: enough to see its speed, short enough to wait for. */
#define REF_ITERS 3
#define REF_VAL_IMAGES 1000

struct bench_run {
	char device[TR_DEVICE_STR_MAX];
	char name[256], version[256], tuning[256];
	tr_bench_config cfg;
	tr_bench_result res;
	double open_ms; /* opening the backend, program builds included */
	int status;
	char msg[TR_ERROR_MSG_MAX];
};

/* The devices to measure into list; returns how many, or -1 with err set. */
static int pick_devices(const cli_options *o, char (*list)[TR_DEVICE_STR_MAX],
			tr_error *err)
{
	char all[MAX_BENCH_DEVICES][TR_DEVICE_STR_MAX];
	size_t n_all, i;
	int n = 0;

	if (cli_given(o, "device") && o->backends[0])
		return tr_fail(err, TR_ERR_USAGE, "bench: give --device or --backends, not both"),
		       -1;
	if (cli_given(o, "device")) {
		snprintf(list[0], TR_DEVICE_STR_MAX, "%s", o->device);
		return 1;
	}
	if (o->backends[0]) {
		const char *p = o->backends;

		while (*p) {
			size_t len = strcspn(p, ",");

			if (len == 0 || len >= TR_DEVICE_STR_MAX || n == MAX_BENCH_DEVICES)
				return tr_fail(err, TR_ERR_USAGE,
					       "--backends '%s': a comma-separated list of devices, "
					       "e.g. cpu,cpu-ref,cl:0", o->backends), -1;
			snprintf(list[n++], TR_DEVICE_STR_MAX, "%.*s", (int)len, p);
			p += len + (p[len] == ',');
		}
		return n;
	}
	n_all = tr_backend_devices(all, NULL, MAX_BENCH_DEVICES);
	for (i = 0; i < n_all && i < MAX_BENCH_DEVICES; i++)
		if (strcmp(all[i], "cpu-ref") != 0)
			snprintf(list[n++], TR_DEVICE_STR_MAX, "%s", all[i]);
	if (n == 0) /* only the reference was built */
		snprintf(list[n++], TR_DEVICE_STR_MAX, "cpu-ref");
	return n;
}

static void config_for(const cli_options *o, const char *device, tr_bench_config *cfg)
{
	tr_bench_config_default(cfg);
	cfg->layout = o->cfg.layout;
	cfg->batch = o->cfg.batch;
	cfg->eval_rows = o->cfg.eval_chunk;
	if (cli_given(o, "iters")) {
		cfg->iters = o->cfg.iters;
		cfg->warmup = o->cfg.iters / 10 > 20 ? 20 : o->cfg.iters / 10;
	} else if (!strcmp(device, "cpu-ref")) {
		cfg->iters = REF_ITERS;
		cfg->warmup = 1;
		cfg->val_images = REF_VAL_IMAGES;
		cfg->val_reps = 1;
	}
	if (cfg->warmup < 1)
		cfg->warmup = 1;
}

static void run_one(const cli_options *o, struct bench_run *r)
{
	tr_backend_options bopts = { .threads = o->threads };
	tr_backend *be = NULL;
	tr_error err;
	double t0 = tr_bench_now_ms();

	tr_error_clear(&err);
	config_for(o, r->device, &r->cfg);
	r->status = tr_backend_open(r->device, &bopts, &be, &err);
	r->open_ms = tr_bench_now_ms() - t0;
	if (r->status == TR_OK) {
		snprintf(r->name, sizeof(r->name), "%s", tr_backend_device_name(be));
		snprintf(r->version, sizeof(r->version), "%s", tr_backend_device_version(be));
		snprintf(r->tuning, sizeof(r->tuning), "%s", tr_backend_tuning(be));
		if (tr_backend_warning(be)[0])
			fprintf(stderr, "trainer: warning: %s\n", tr_backend_warning(be));
		r->status = tr_bench_run(be, &r->cfg, &r->res, &err);
	}
	tr_backend_free(be);
	if (r->status != TR_OK)
		snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
}

static double gflops(double flop, double ms)
{
	return flop / (ms * 1e6);
}

static double gbps(double bytes, double ms)
{
	return bytes / (ms * 1e6);
}

static double bound_ratio(const tr_bench_result *r)
{
	return r->step.median / (r->gemms.median + r->update_alone.median);
}

static void print_stat(const char *what, const tr_bench_stat *s)
{
	printf("  %-24s %9.3f ms  (min %.3f, max %.3f)", what, s->median, s->min, s->max);
}

static void print_text(const struct bench_run *r)
{
	const tr_bench_result *x = &r->res;
	char layers[256];

	tr_layout_format(&r->cfg.layout, layers, sizeof(layers));
	printf("%s: %s\n", r->device, r->name);
	if (r->status != TR_OK) {
		printf("  failed: %s\n\n", r->msg);
		return;
	}
	printf("  %s\n", r->version);
	if (r->tuning[0])
		printf("  %s\n", r->tuning);
	printf("  network %s, batch %zu, %ld steps after %ld warm-up\n", layers, r->cfg.batch,
	       r->cfg.iters, r->cfg.warmup);
	printf("  start-up: backend opened in %.0f ms, first step done %.0f ms later\n",
	       r->open_ms, x->first_step_ms);
	print_stat("step", &x->step);
	printf("  %7.1f GFLOP/s\n", gflops(x->gemm_flop, x->step.median));
	printf("  %-24s %9.3f ms  (mean, no sync between steps)\n", "step, pipelined",
	       x->step_pipelined);
	print_stat("split: forward", &x->forward);
	printf("\n");
	print_stat("split: backward", &x->backward);
	printf("\n");
	print_stat("split: update", &x->update);
	printf("  %7.1f GB/s\n", gbps(x->update_bytes, x->update.median));
	print_stat("split: whole step", &x->split_step);
	printf("\n");
	print_stat("bound: GEMMs alone", &x->gemms);
	printf("  %7.1f GFLOP/s (%zu GEMMs, %.3f GFLOP)\n", gflops(x->gemm_flop, x->gemms.median),
	       x->n_gemm_calls, x->gemm_flop * 1e-9);
	print_stat("bound: update alone", &x->update_alone);
	printf("  %7.1f GB/s (%zu parameters, 28 B each)\n",
	       gbps(x->update_bytes, x->update_alone.median), x->n_params);
	print_stat("other ops alone", &x->other_ops);
	printf("  %7.1f GB/s\n", gbps(x->other_bytes, x->other_ops.median));
	printf("  step / (GEMMs + update) = %.3f\n", bound_ratio(x));
	if (x->have_counters) {
		printf("  data set: %s\n", x->data_on_device ? "on the device (a step sends "
		       "its batch's indices)" : "staged from host memory (each step sends its "
		       "batch)");
		printf("  per step: %.1f launches%s, %.0f bytes host to device, %.2f blocking "
		       "syncs, %.2f buffer creations\n", x->launches_per_step,
		       x->libraries_counted ? " (CLBlast's included)" :
		       " (ours only: CLBlast's calls could not be counted)",
		       x->h2d_bytes_per_step, x->syncs_per_step, x->allocs_per_step);
		if (x->val_images_per_s > 0)
			printf("  per validation pass: %.0f launches, %.0f blocking syncs\n",
			       x->launches_per_eval, x->syncs_per_eval);
	}
	if (x->val_images_per_s > 0)
		printf("  validation: %.0f images/s (%zu images in chunks of %zu: %.1f ms)\n",
		       x->val_images_per_s, r->cfg.val_images, r->cfg.eval_rows, x->val_ms);
	printf("\n");
}

static cJSON *stat_json(const tr_bench_stat *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "median_ms", s->median);
	cJSON_AddNumberToObject(o, "min_ms", s->min);
	cJSON_AddNumberToObject(o, "max_ms", s->max);
	return o;
}

static cJSON *run_json(const struct bench_run *r)
{
	const tr_bench_result *x = &r->res;
	cJSON *o = cJSON_CreateObject(), *layers;
	size_t i;

	cJSON_AddStringToObject(o, "device", r->device);
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "version", r->version);
	cJSON_AddStringToObject(o, "tuning", r->tuning);
	cJSON_AddBoolToObject(o, "ok", r->status == TR_OK);
	if (r->status != TR_OK) {
		cJSON_AddStringToObject(o, "error", r->msg);
		return o;
	}
	layers = cJSON_AddArrayToObject(o, "layers");
	for (i = 0; i <= r->cfg.layout.n_layers; i++)
		cJSON_AddItemToArray(layers, cJSON_CreateNumber((double)r->cfg.layout.sizes[i]));
	cJSON_AddNumberToObject(o, "batch", (double)r->cfg.batch);
	cJSON_AddNumberToObject(o, "steps", (double)r->cfg.iters);
	cJSON_AddNumberToObject(o, "warmup", (double)r->cfg.warmup);
	cJSON_AddNumberToObject(o, "open_ms", r->open_ms);
	cJSON_AddNumberToObject(o, "first_step_ms", x->first_step_ms);
	cJSON_AddItemToObject(o, "step", stat_json(&x->step));
	cJSON_AddNumberToObject(o, "step_pipelined_ms", x->step_pipelined);
	cJSON_AddItemToObject(o, "forward", stat_json(&x->forward));
	cJSON_AddItemToObject(o, "backward", stat_json(&x->backward));
	cJSON_AddItemToObject(o, "update", stat_json(&x->update));
	cJSON_AddItemToObject(o, "split_step", stat_json(&x->split_step));
	cJSON_AddItemToObject(o, "gemms_alone", stat_json(&x->gemms));
	cJSON_AddItemToObject(o, "update_alone", stat_json(&x->update_alone));
	cJSON_AddItemToObject(o, "other_ops_alone", stat_json(&x->other_ops));
	cJSON_AddNumberToObject(o, "gemm_gflop", x->gemm_flop * 1e-9);
	cJSON_AddNumberToObject(o, "step_gflops", gflops(x->gemm_flop, x->step.median));
	cJSON_AddNumberToObject(o, "gemm_gflops", gflops(x->gemm_flop, x->gemms.median));
	cJSON_AddNumberToObject(o, "update_gbps", gbps(x->update_bytes, x->update_alone.median));
	cJSON_AddNumberToObject(o, "other_ops_gbps", gbps(x->other_bytes, x->other_ops.median));
	cJSON_AddNumberToObject(o, "step_over_bounds", bound_ratio(x));
	cJSON_AddNumberToObject(o, "validation_images_per_s", x->val_images_per_s);
	cJSON_AddNumberToObject(o, "eval_chunk", (double)r->cfg.eval_rows);
	cJSON_AddBoolToObject(o, "data_on_device", x->data_on_device);
	if (x->have_counters) {
		cJSON_AddNumberToObject(o, "launches_per_step", x->launches_per_step);
		cJSON_AddNumberToObject(o, "host_to_device_bytes_per_step", x->h2d_bytes_per_step);
		cJSON_AddNumberToObject(o, "blocking_syncs_per_step", x->syncs_per_step);
		cJSON_AddNumberToObject(o, "buffer_creations_per_step", x->allocs_per_step);
		cJSON_AddBoolToObject(o, "counters_include_clblast", x->libraries_counted);
		cJSON_AddNumberToObject(o, "launches_per_validation", x->launches_per_eval);
		cJSON_AddNumberToObject(o, "blocking_syncs_per_validation", x->syncs_per_eval);
	}
	return o;
}

static int print_json(const struct bench_run *runs, int n)
{
	cJSON *root = cJSON_CreateObject(), *arr;
	char *text;
	int i;

	if (!root)
		return TR_ERR_INTERNAL;
	cJSON_AddStringToObject(root, "trainer_version", TRAINER_VERSION);
	arr = cJSON_AddArrayToObject(root, "backends");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, run_json(&runs[i]));
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return TR_ERR_INTERNAL;
	printf("%s\n", text);
	free(text);
	return TR_OK;
}

int cli_cmd_bench(cli_options *o)
{
	char devices[MAX_BENCH_DEVICES][TR_DEVICE_STR_MAX];
	struct bench_run *runs;
	tr_error err;
	int n, i, rc = TR_OK;

	tr_error_clear(&err);
	n = pick_devices(o, devices, &err);
	if (n < 0)
		return cli_report_error(&err);
	runs = calloc((size_t)n, sizeof(*runs));
	if (!runs) {
		tr_fail(&err, TR_ERR_INTERNAL, "out of host memory");
		return cli_report_error(&err);
	}
	for (i = 0; i < n; i++) {
		memcpy(runs[i].device, devices[i], sizeof(runs[i].device));
		if (!o->json && !o->quiet)
			fprintf(stderr, "measuring %s...\n", devices[i]);
		run_one(o, &runs[i]);
		if (!o->json)
			print_text(&runs[i]);
		if (runs[i].status != TR_OK) {
			fprintf(stderr, "trainer: %s: %s\n", devices[i], runs[i].msg);
			if (rc == TR_OK)
				rc = runs[i].status;
		}
	}
	if (o->json && print_json(runs, n) != TR_OK && rc == TR_OK)
		rc = TR_ERR_INTERNAL;
	free(runs);
	return rc;
}
