/*
 * preset.c - the experiment matrix of SPEC.md as presets, and run names.
 */
#include "trainer/experiment.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The quick preset keeps the seed's matrix and shortens every run so that the whole
 * experiment, report included, takes a few minutes on a 2-core machine (docs/EXPERIMENT.md
 * has the measurement). Evaluating every 50 iterations keeps enough points after the
 * first 20 for the "late" plots. */
#define QUICK_ITERS 2000
#define QUICK_EVAL_EVERY 50

static const tr_exp_preset presets[] = {
	{ "seed", 30000, 100,
	  "the lab's runs: lr 0.0001 and 0.005 with L2, lr 0.005 without; 30000 iterations" },
	{ "full", 30000, 100,
	  "seed plus lr 0.05 and lr 0.00005 with L2; 30000 iterations" },
	{ "quick", QUICK_ITERS, QUICK_EVAL_EVERY,
	  "the seed's three runs, 2000 iterations each (a first look in minutes)" },
};

#define N_PRESETS (sizeof(presets) / sizeof(presets[0]))

/* The matrix: learning rate, and whether L2 is on. The first three are the seed's. */
static const struct { double lr; bool with_l2; } matrix[] = {
	{ 0.0001, true }, { 0.005, true }, { 0.005, false }, { 0.05, true }, { 0.00005, true },
};

const tr_exp_preset *tr_exp_preset_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_PRESETS; i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}

int tr_exp_preset_check(const char *name, tr_error *err)
{
	if (tr_exp_preset_find(name))
		return TR_OK;
	return tr_fail(err, TR_ERR_USAGE, "--preset '%s': use seed, full or quick", name);
}

size_t tr_exp_preset_runs(const tr_exp_preset *p, double lr_override, double l2,
			  tr_exp_run *runs)
{
	size_t n_matrix = !strcmp(p->name, "full") ? 5 : 3;
	size_t i, j, n = 0;

	for (i = 0; i < n_matrix && n < TR_EXP_MAX_CONFIGS; i++) {
		double lr = lr_override > 0 ? lr_override : matrix[i].lr;
		double lambda = matrix[i].with_l2 ? l2 : 0.0;

		for (j = 0; j < n; j++)
			if (runs[j].lr == lr && runs[j].l2 == lambda)
				break;
		if (j < n)
			continue;
		runs[n].lr = lr;
		runs[n].l2 = lambda;
		runs[n].seed = 0;
		tr_exp_run_name(lr, lambda, runs[n].name, sizeof(runs[n].name));
		n++;
	}
	return n;
}

void tr_exp_format_decimal(double x, char *buf, size_t cap)
{
	size_t len;

	if (!isfinite(x) || fabs(x) >= 1e15 || (x != 0 && fabs(x) < 1e-10)) {
		snprintf(buf, cap, "%g", x);
		return;
	}
	snprintf(buf, cap, "%.10f", x);
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	if (!strcmp(buf, "-0"))
		snprintf(buf, cap, "0");
}

void tr_exp_run_name(double lr, double l2, char *buf, size_t cap)
{
	char num[48];

	tr_exp_format_decimal(lr, num, sizeof(num));
	snprintf(buf, cap, "lr%s-%s", num, l2 > 0 ? "l2" : "nol2");
}

size_t tr_exp_with_seeds(const tr_exp_run *configs, size_t n_configs,
			 const uint64_t *seeds, size_t n_seeds, tr_exp_run *runs)
{
	size_t i, k, n = 0;

	for (i = 0; i < n_configs; i++) {
		for (k = 0; k < n_seeds && n < TR_EXP_MAX_RUNS; k++, n++) {
			runs[n] = configs[i];
			runs[n].seed = seeds[k];
			if (n_seeds > 1)
				snprintf(runs[n].name, sizeof(runs[n].name), "%.40s-s%llu",
					 configs[i].name, (unsigned long long)seeds[k]);
		}
	}
	return n;
}

void tr_exp_config_name(const char *run_name, char *buf, size_t cap)
{
	size_t len = strlen(run_name), d = len;

	while (d > 0 && run_name[d - 1] >= '0' && run_name[d - 1] <= '9')
		d--;
	if (d < len && d >= 3 && run_name[d - 1] == 's' && run_name[d - 2] == '-')
		len = d - 2;
	snprintf(buf, cap, "%.*s", (int)len, run_name);
}
