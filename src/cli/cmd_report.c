/*
 * cmd_report.c - `trainer report DIR`: build DIR/report.md and report.json from the run
 * directories in DIR (report.h), with gnuplot drawing the figures from the scripts in
 * plots/. Also used by `trainer experiment` once its runs are done.
 */
#include "commands.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trainer/formats.h"
#include "trainer/report.h"

static bool has_scripts(const char *dir)
{
	char probe[PATH_MAX + 32];

	snprintf(probe, sizeof(probe), "%s/run_curves.gp", dir);
	return access(probe, R_OK) == 0;
}

/* The gnuplot scripts: $TRAINER_PLOTS_DIR, else the installed copy next to the
 * executable (<prefix>/bin/trainer -> <prefix>/share/trainer/plots), else the source
 * tree's plots/. */
void cli_plots_dir(char *buf, size_t cap)
{
	const char *env = getenv("TRAINER_PLOTS_DIR");
	char exe[PATH_MAX];
	ssize_t len;

	if (env && *env) {
		snprintf(buf, cap, "%s", env);
		return;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		char *slash;

		exe[len] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, cap, "%s/../share/trainer/plots", exe);
			if (has_scripts(buf))
				return;
		}
	}
	snprintf(buf, cap, "%s/plots", TRAINER_SOURCE_DIR);
}

/* The line under the report's heading, from what `trainer experiment` recorded in
 * DIR/experiment.json: the preset, the seeds, the runs, the iterations (absent from
 * files of older versions). Empty without that file. */
static void title_from_experiment(const char *dir, char *buf, size_t cap)
{
	char path[PATH_MAX + 32], iters[48] = "";
	const cJSON *preset, *seeds, *runs, *it;
	cJSON *root;
	tr_error ignored;
	int n_seeds, n_runs;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/experiment.json", dir);
	if (tr_json_read(path, &root, &ignored) != TR_OK)
		return;
	preset = cJSON_GetObjectItemCaseSensitive(root, "preset");
	seeds = cJSON_GetObjectItemCaseSensitive(root, "seeds");
	runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
	it = cJSON_GetObjectItemCaseSensitive(root, "iters");
	n_seeds = cJSON_IsArray(seeds) ? cJSON_GetArraySize(seeds) : 0;
	n_runs = cJSON_IsArray(runs) ? cJSON_GetArraySize(runs) : 0;
	if (cJSON_IsNumber(it) && it->valuedouble >= 1)
		snprintf(iters, sizeof(iters), " of %.0f iterations", it->valuedouble);
	if (cJSON_IsString(preset) && n_runs > 0) {
		/* every configuration is trained with every seed */
		if (n_seeds > 1)
			snprintf(buf, cap, "Preset %s with %d seeds: %d configurations x %d seeds = "
				 "%d runs%s.", preset->valuestring, n_seeds, n_runs / n_seeds,
				 n_seeds, n_runs, iters);
		else
			snprintf(buf, cap, "Preset %s: %d runs%s.", preset->valuestring, n_runs,
				 iters);
	}
	cJSON_Delete(root);
}

int cli_build_report(const char *dir, bool quiet)
{
	tr_report_options ropts = { 0 };
	tr_report_outcome out;
	char plots[PATH_MAX], title[256];
	tr_error err;
	int rc;

	tr_error_clear(&err);
	title_from_experiment(dir, title, sizeof(title));
	ropts.title = title[0] ? title : NULL;
	cli_plots_dir(plots, sizeof(plots));
	ropts.plots_dir = plots;
	rc = tr_report_build(dir, &ropts, &out, &err);
	if (rc)
		return cli_report_error(&err);
	if (!quiet) {
		printf("report: %s (%zu run%s: %zu completed, %zu diverged, %zu other; %zu figures)\n",
		       out.report_md, out.n_runs, out.n_runs == 1 ? "" : "s", out.n_completed,
		       out.n_diverged, out.n_other, out.n_figures);
		if (out.n_skipped)
			printf("report: skipped %zu unreadable run director%s: %s\n", out.n_skipped,
			       out.n_skipped == 1 ? "y" : "ies", out.skipped);
	}
	if (out.n_bad_weights)
		fprintf(stderr, "trainer: warning: the weights of %zu run%s cannot be read, so "
			"they have no weight pictures: %s\n", out.n_bad_weights,
			out.n_bad_weights == 1 ? "" : "s", out.bad_weights);
	if (out.plots_missing || out.n_figures_failed) {
		tr_fail(&err, TR_ERR_OUTPUT, "%s; report.md and report.json were written without %s",
			out.note, out.plots_missing ? "figures" : "them");
		return cli_report_error(&err);
	}
	return TR_OK;
}

int cli_cmd_report(cli_options *o)
{
	tr_error err;

	if (!o->out_dir[0]) {
		tr_fail(&err, TR_ERR_USAGE, "trainer report DIR: name the experiment directory "
			"(the one holding the run directories)");
		return cli_report_error(&err);
	}
	return cli_build_report(o->out_dir, o->quiet);
}
