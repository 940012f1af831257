/*
 * report_configs.c - the runs that differ only in their seed, as one configuration
 * with its figures over the seeds (mean, standard deviation, range); and the
 * configurations grouped for the comparisons: the same lambda at several learning
 * rates, and with vs without L2 at one learning rate.
 */
#include "report_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lab handout's own figures (SPEC.md): test accuracy at lr 0.005 after 30,000
 * iterations. */
#define SEED_ACC_WITH_L2 0.92
#define SEED_ACC_WITHOUT_L2 0.88

static bool same_config(const rp_run *a, const rp_run *b)
{
	return rp_same_base(a, b) && a->lr == b->lr && a->l2 == b->l2;
}

/* Each statistic over the configuration's runs. */
static void config_stats(rp_report *r, rp_config *c)
{
	double v[8][RP_MAX_SEEDS];
	double lo = INFINITY, hi = -INFINITY;
	size_t i, k;

	c->n_decline = c->n_judged = 0;
	c->drawable = true;
	for (i = 0; i < c->n; i++) {
		const rp_run *run = &r->runs[c->idx[i]];
		const tr_convergence *cv = &run->conv;

		v[0][i] = run->test_acc;
		v[1][i] = run->best_test_acc;
		v[2][i] = run->peak.best_raw_acc >= 0 ? run->peak.best_raw_acc : NAN;
		v[3][i] = cv->final_val_acc;
		v[4][i] = cv->late_mean_acc;
		v[5][i] = cv->late_std_acc;
		v[6][i] = v[7][i] = NAN;
		for (k = cv->late_start; k < cv->n; k++) {
			double a = run->rows[k].val_acc;

			lo = a < lo ? a : lo;
			hi = a > hi ? a : hi;
		}
		if (run->peak.shape != TR_SHAPE_TOO_SHORT) {
			c->n_judged++;
			c->n_decline += run->n_declines_loss_fell > 0;
		}
		c->drawable &= run->drawable;
	}
	tr_stats_compute(v[0], c->n, &c->test_acc);
	tr_stats_compute(v[1], c->n, &c->best_test_acc);
	tr_stats_compute(v[2], c->n, &c->best_val_acc);
	tr_stats_compute(v[3], c->n, &c->final_val_acc);
	tr_stats_compute(v[4], c->n, &c->late_mean_acc);
	tr_stats_compute(v[5], c->n, &c->late_std_acc);
	v[6][0] = lo;
	v[7][0] = hi;
	tr_stats_compute(v[6], 1, &c->late_min_acc);
	tr_stats_compute(v[7], 1, &c->late_max_acc);
}

static int make_configs(rp_report *r, tr_error *err)
{
	size_t i, j;

	r->configs = calloc(r->n_runs ? r->n_runs : 1, sizeof(rp_config));
	if (!r->configs)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	r->n_configs = r->max_seeds = 0;
	for (i = 0; i < r->n_runs; i = j) {
		rp_config *c = &r->configs[r->n_configs];

		for (j = i + 1; j < r->n_runs && same_config(&r->runs[i], &r->runs[j]); j++)
			;
		tr_exp_config_name(r->runs[i].name, c->name, sizeof(c->name));
		c->lr = r->runs[i].lr;
		c->l2 = r->runs[i].l2;
		for (c->n = 0; c->n < j - i && c->n < RP_MAX_SEEDS; c->n++) {
			c->idx[c->n] = i + c->n;
			r->runs[i + c->n].config = r->n_configs;
		}
		/* Directories named otherwise (not <config>-s<seed>): the first run's name. */
		if (c->n == 1)
			snprintf(c->name, sizeof(c->name), "%s", r->runs[i].name);
		config_stats(r, c);
		r->max_seeds = c->n > r->max_seeds ? c->n : r->max_seeds;
		r->n_configs++;
	}
	return TR_OK;
}

static void make_lr_groups(rp_report *r)
{
	const rp_config *cs = r->configs;
	size_t i, j;

	r->n_groups = 0;
	for (i = 0; i < r->n_configs; i = j) {
		rp_lr_group *g = &r->groups[r->n_groups];
		const rp_run *a = &r->runs[cs[i].idx[0]];

		for (j = i + 1; j < r->n_configs && cs[j].l2 == cs[i].l2 &&
			     rp_same_base(a, &r->runs[cs[j].idx[0]]); j++)
			;
		if (!(cs[i].l2 > 0) || j - i < 2 || r->n_groups >= RP_MAX_GROUPS)
			continue;
		memset(g, 0, sizeof(*g));
		for (g->n = 0; g->n < j - i && g->n < sizeof(g->idx) / sizeof(g->idx[0]); g->n++)
			g->idx[g->n] = i + g->n;
		r->n_groups++;
		snprintf(g->tag, sizeof(g->tag), r->n_groups == 1 ? "lr" : "lr-%zu", r->n_groups);
	}
}

static void make_l2_pairs(rp_report *r)
{
	const rp_config *cs = r->configs;
	size_t i, j;

	r->n_pairs = 0;
	for (i = 0; i < r->n_configs; i++) {
		if (!(cs[i].l2 > 0))
			continue;
		for (j = 0; j < r->n_configs && r->n_pairs < RP_MAX_GROUPS; j++) {
			rp_l2_pair *p = &r->pairs[r->n_pairs];
			char lr[48];

			if (cs[j].l2 != 0 || cs[j].lr != cs[i].lr ||
			    !rp_same_base(&r->runs[cs[i].idx[0]], &r->runs[cs[j].idx[0]]))
				continue;
			memset(p, 0, sizeof(*p));
			p->with = i;
			p->without = j;
			tr_exp_format_decimal(cs[i].lr, lr, sizeof(lr));
			snprintf(p->tag, sizeof(p->tag), "l2-lr%s", lr);
			if (r->n_pairs > 0)
				snprintf(p->tag + strlen(p->tag), sizeof(p->tag) - strlen(p->tag),
					 "-%zu", r->n_pairs + 1);
			r->n_pairs++;
			break;
		}
	}
}

int rp_group_runs(rp_report *r, tr_error *err)
{
	int rc = make_configs(r, err);

	if (rc)
		return rc;
	make_lr_groups(r);
	make_l2_pairs(r);
	return TR_OK;
}

double rp_seed_reported(const rp_report *r, const rp_config *c)
{
	const rp_run *a = &r->runs[c->idx[0]];

	if (c->lr != 0.005 || strcmp(a->layers, "784,1500,1000,500,10") ||
	    strcmp(a->init, "uniform01") || a->batch != 64)
		return NAN;
	if (c->l2 == TR_EXP_LAMBDA)
		return SEED_ACC_WITH_L2;
	return c->l2 == 0 ? SEED_ACC_WITHOUT_L2 : NAN;
}

/* ---- formatting shared by report.md's parts ---- */

void rp_dec(double x, char *buf, size_t cap)
{
	tr_exp_format_decimal(x, buf, cap);
}

void rp_fmt(char *buf, size_t cap, const char *f, double x)
{
	if (isfinite(x))
		snprintf(buf, cap, f, x);
	else
		snprintf(buf, cap, "-");
}

void rp_fmt_stats(char *buf, size_t cap, const tr_stats *s, int decimals)
{
	if (s->n == 0)
		snprintf(buf, cap, "-");
	else if (s->n == 1)
		snprintf(buf, cap, "%.*f", decimals, s->mean);
	else
		snprintf(buf, cap, "%.*f ± %.*f", decimals, s->mean, decimals, s->sd);
}

bool rp_is_diverged(const rp_run *run)
{
	return run->diverged || !strcmp(run->status, "diverged");
}
