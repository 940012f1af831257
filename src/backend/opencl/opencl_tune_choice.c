/*
 * opencl_tune_choice.c - step 3 of the search (see opencl_tune_search.c): from the
 * times measured, which XgemmDirect set per transposition, which Xgemm set and which
 * switch-over size to apply. Pure computation on a table, so that tests can hand it
 * any measurements (tests/test_tune_choice.c).
 *
 * Per transposition, whichever is faster, defaults included: a combination qualifies
 * only if each transposition's shapes take, weighted, no longer than with CLBlast's
 * defaults. One XgemmDirect set serves all the shapes of a transposition, so a small
 * shape of a transposition that gains overall may still be a little slower alone.
 */
#include "opencl_tune.h"

#include <math.h>
#include <string.h>

/* "Slower than the defaults" means beyond timing noise: 5%, plus 10 us for the
 * smallest transpositions, whose times jitter by more than 5%. */
#define REGRESS_REL 0.05
#define REGRESS_ABS_MS 0.010

static double mnk(const tr_tune_shape *s)
{
	return (double)s->m * (double)s->n * (double)s->k;
}

/* Does a switch-over size T route shape s to the direct kernel? */
bool tr_tune_runs_direct(const tr_tune_shape *s, size_t T)
{
	return mnk(s) < (double)T * (double)T * (double)T;
}

size_t tr_tune_threshold_above(double mnk)
{
	size_t T = (size_t)floor(cbrt(mnk));

	while ((double)T * T * T <= mnk)
		T++;
	return T;
}

/* May a transposition take `ms` (weighted) where the defaults took `def`? */
bool tr_tune_within(double ms, double def)
{
	return ms <= def * (1.0 + REGRESS_REL) + REGRESS_ABS_MS;
}

/* The predicted weighted time of class k's shapes under switch-over T, Xgemm set i and
 * XgemmDirect set d (INFINITY when a needed time was not measured). */
static double class_time(const struct tr_tune_table *t, int k, size_t T, size_t i,
			 size_t d)
{
	double sum = 0.0;
	size_t s;

	for (s = 0; s < t->n_shapes; s++) {
		const tr_tune_shape *x = &t->shapes[s];

		if (tr_tune_trans_class(x->trans_a, x->trans_b) != k)
			continue;
		sum += x->weight * (tr_tune_runs_direct(x, T) ? t->res[s].direct_ms[d] :
				    t->res[s].indirect_ms[i]);
	}
	return sum;
}

/* The weighted time of class k's shapes, with ms[s] each (the defaults' when NULL). */
double tr_tune_class_sum(const struct tr_tune_table *t, int k, const double *ms)
{
	double sum = 0.0;
	size_t s;

	for (s = 0; s < t->n_shapes; s++)
		if (tr_tune_trans_class(t->shapes[s].trans_a, t->shapes[s].trans_b) == k)
			sum += t->shapes[s].weight * (ms ? ms[s] : t->res[s].def_ms);
	return sum;
}

/* Does the network have a GEMM of class k? */
bool tr_tune_class_used(const struct tr_tune_table *t, int k)
{
	size_t s;

	for (s = 0; s < t->n_shapes; s++)
		if (tr_tune_trans_class(t->shapes[s].trans_a, t->shapes[s].trans_b) == k)
			return true;
	return false;
}

/* For switch-over T and Xgemm set i: the fastest XgemmDirect set per class among
 * those that keep the class within its default time, into ch; the weighted total, or
 * INFINITY when some class cannot be kept within. */
static double best_for(const struct tr_tune_table *t, size_t T, size_t i,
		       struct tr_tune_choice *ch)
{
	double total = 0.0;
	size_t d;
	int k;

	ch->T = T;
	ch->i = i;
	for (k = 0; k < 4; k++) {
		double def = tr_tune_class_sum(t, k, NULL), best = INFINITY;

		ch->d[k] = 0;
		if (!tr_tune_class_used(t, k))
			continue;
		for (d = 0; d < t->n_direct; d++) {
			double ms = class_time(t, k, T, i, d);

			if (ms < best && tr_tune_within(ms, def)) {
				best = ms;
				ch->d[k] = d;
			}
		}
		total += best;
	}
	/* a transposition the network does not use takes NN's set (no switching for it) */
	for (k = 1; k < 4; k++)
		if (!tr_tune_class_used(t, k))
			ch->d[k] = ch->d[0];
	return total;
}

/* The best combination that keeps every transposition within its default time
 * (step 3 above). The defaults themselves are the fallback. */
void tr_tune_choose(const struct tr_tune_table *t, struct tr_tune_choice *best)
{
	struct tr_tune_choice ch;
	size_t i, c;
	double w;

	memset(best, 0, sizeof(*best));
	best->T = t->def_threshold;
	best->weighted = 0.0;
	for (c = 0; c < t->n_shapes; c++)
		best->weighted += t->shapes[c].weight * t->res[c].def_ms;
	/* every shape direct, CLBlast's Xgemm (any XgemmDirect set per class) */
	if ((w = best_for(t, ALL_DIRECT, 0, &ch)) < best->weighted) {
		*best = ch;
		best->weighted = w;
	}
	/* every shape indirect, any Xgemm set */
	for (i = 0; i < t->n_indirect; i++) {
		if ((w = best_for(t, ALL_INDIRECT, i, &ch)) < best->weighted) {
			*best = ch;
			best->weighted = w;
		}
	}
	if (!t->cheap_builds)
		return;
	/* GPUs: any switch-over size (CLBlast's, or direct up to each shape) with any sets */
	for (i = 0; i < t->n_indirect; i++) {
		for (c = 0; c <= t->n_shapes; c++) {
			size_t T = c == 0 ? t->def_threshold :
				   tr_tune_threshold_above(mnk(&t->shapes[c - 1]));

			if ((w = best_for(t, T, i, &ch)) < best->weighted) {
				*best = ch;
				best->weighted = w;
			}
		}
	}
}
