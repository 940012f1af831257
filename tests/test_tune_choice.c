/*
 * test_tune_choice.c - the tuner's choice (src/backend/opencl/opencl_tune_choice.c) on
 * tables of made-up timings, where the right answer is known: tuning must never make
 * a transposition slower than CLBlast's defaults, whatever the candidates do overall.
 *
 *  - the case that started it (a candidate 3x faster on A B and A^T B but 2x slower on
 *    A B^T): the candidate for NN and TN, CLBlast's set kept for NT;
 *  - a candidate slower everywhere: the defaults, untouched;
 *  - a candidate that fails (INFINITY) on one shape of a transposition: never chosen
 *    for it;
 *  - one set serves a transposition: a tiny shape a little slower alone does not veto
 *    a set that makes its transposition much faster;
 *  - a transposition the network does not use (TT) takes NN's set, so nothing switches;
 *  - switch-over sizes: on a CPU device only those whose programs the search built
 *    (all direct, all indirect, the defaults'); on a GPU any, e.g. direct for the
 *    training step and indirect for the validation chunk.
 * No device needed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/opencl/opencl_tune.h"
#include "testutil.h"

enum { NN, TN, NT, TT };
enum { FWD, WGRAD, IGRAD, VAL, N_SHAPES };

static const tr_tune_shape shapes[N_SHAPES] = {
	[FWD] = { false, false, 64, 1500, 784, 1.0, "forward 1" },
	[WGRAD] = { true, false, 784, 1500, 64, 1.0, "weight gradient 1" },
	[IGRAD] = { false, true, 64, 784, 1500, 1.0, "input gradient 2" },
	[VAL] = { false, false, 1000, 1500, 784, 0.05, "validation 1" },
};

/* Times in ms: direct[s][d] and indirect[s][i], d/i = 0 CLBlast's, 1 a candidate. */
struct timings {
	double def[N_SHAPES];
	double direct[N_SHAPES][2];
	double indirect[N_SHAPES][2];
};

static struct tr_tune_choice choose(struct timings *tm, bool cheap_builds)
{
	struct shape_result res[N_SHAPES];
	struct tr_tune_table tab;
	struct tr_tune_choice ch;
	int s;

	memset(res, 0, sizeof(res));
	for (s = 0; s < N_SHAPES; s++) {
		res[s].def_ms = tm->def[s];
		res[s].direct_ms = tm->direct[s];
		res[s].indirect_ms = tm->indirect[s];
	}
	tab.shapes = shapes;
	tab.n_shapes = N_SHAPES;
	tab.res = res;
	tab.n_direct = 2;
	tab.n_indirect = 2;
	tab.def_threshold = 896; /* the training step direct, the validation chunk not */
	tab.cheap_builds = cheap_builds;
	tr_tune_choose(&tab, &ch);
	return ch;
}

/* CLBlast's defaults route the step direct (set 0) and the validation chunk indirect
 * (set 0); the candidates' times are filled in by each case. */
static void defaults(struct timings *tm)
{
	int s;

	for (s = 0; s < N_SHAPES; s++) {
		tm->def[s] = s == VAL ? 200.0 : 30.0;
		tm->direct[s][0] = s == VAL ? 300.0 : 30.0;
		tm->indirect[s][0] = s == VAL ? 200.0 : 60.0;
		tm->direct[s][1] = tm->indirect[s][1] = INFINITY;
	}
}

static void test_nt_kept(void)
{
	struct timings tm;
	struct tr_tune_choice ch;

	defaults(&tm);
	tm.direct[FWD][1] = 10.0;
	tm.direct[WGRAD][1] = 10.0;
	tm.direct[IGRAD][1] = 60.0; /* 2x slower on A B^T */
	tm.direct[VAL][1] = 120.0;
	ch = choose(&tm, false);
	CHECK(ch.T == ALL_DIRECT, "all direct expected, T = %zu", ch.T);
	CHECK(ch.d[NN] == 1 && ch.d[TN] == 1, "the candidate for NN and TN: %zu %zu", ch.d[NN],
	      ch.d[TN]);
	CHECK(ch.d[NT] == 0, "NT must keep CLBlast's set (2x slower with the candidate)");
	CHECK(fabs(ch.weighted - (10 + 10 + 30 + 0.05 * 120)) < 1e-9, "predicted %g", ch.weighted);
}

static void test_slower_everywhere(void)
{
	struct timings tm;
	struct tr_tune_choice ch;
	int s;

	defaults(&tm);
	for (s = 0; s < N_SHAPES; s++) {
		tm.direct[s][1] = 2 * tm.direct[s][0];
		tm.indirect[s][1] = 2 * tm.indirect[s][0];
	}
	ch = choose(&tm, true);
	CHECK(ch.T == 896 && ch.i == 0 && ch.d[NN] == 0 && ch.d[TN] == 0 && ch.d[NT] == 0,
	      "the defaults expected: T %zu i %zu d %zu %zu %zu", ch.T, ch.i, ch.d[NN],
	      ch.d[TN], ch.d[NT]);
}

static void test_failed_candidate(void)
{
	struct timings tm;
	struct tr_tune_choice ch;

	defaults(&tm);
	tm.direct[FWD][1] = 5.0;
	tm.direct[VAL][1] = INFINITY; /* wrong result on the validation chunk */
	tm.direct[WGRAD][1] = 10.0;
	tm.direct[IGRAD][1] = 10.0;
	ch = choose(&tm, false);
	CHECK(!(ch.T == ALL_DIRECT && ch.d[NN] == 1), "a failing set chosen for NN's shapes");
	CHECK(isfinite(ch.weighted), "the choice relies on a failed measurement");
}

static void test_tiny_shape(void)
{
	static const double tiny_extra = 0.02; /* a small NN shape 40% slower alone */
	struct timings tm;
	struct tr_tune_choice ch;

	defaults(&tm);
	tm.def[FWD] = tm.direct[FWD][0] = 30.05;
	tm.direct[FWD][1] = 10.0 + tiny_extra;
	tm.direct[VAL][1] = 150.0;
	ch = choose(&tm, false);
	CHECK(ch.d[NN] == 1, "a set that makes NN 3x faster overall must win");
}

static void test_unused_class(void)
{
	struct timings tm;
	struct tr_tune_choice ch;

	defaults(&tm);
	tm.direct[FWD][1] = 10.0;
	tm.direct[WGRAD][1] = 10.0;
	tm.direct[IGRAD][1] = 10.0;
	tm.direct[VAL][1] = 100.0;
	ch = choose(&tm, false);
	CHECK(ch.d[NN] == 1 && ch.d[TT] == ch.d[NN], "TT takes NN's set: %zu vs %zu", ch.d[TT],
	      ch.d[NN]);
}

static void test_switch_over(void)
{
	struct timings tm;
	struct tr_tune_choice ch;

	defaults(&tm);
	tm.direct[FWD][1] = tm.direct[WGRAD][1] = tm.direct[IGRAD][1] = 10.0;
	tm.direct[VAL][1] = 400.0;   /* the direct kernel is poor on the big chunk */
	tm.indirect[VAL][1] = 50.0;  /* where the indirect candidate shines */
	tm.indirect[FWD][1] = tm.indirect[WGRAD][1] = tm.indirect[IGRAD][1] = 40.0;
	ch = choose(&tm, true);
	CHECK(ch.T > 2 && ch.T < ALL_DIRECT && ch.i == 1 && ch.d[NN] == 1,
	      "GPU: direct for the step, the indirect candidate for the chunk: T %zu i %zu "
	      "d %zu", ch.T, ch.i, ch.d[NN]);
	CHECK(tr_tune_runs_direct(&shapes[FWD], ch.T) && !tr_tune_runs_direct(&shapes[VAL], ch.T),
	      "GPU: T %zu does not split the step from the chunk", ch.T);
	ch = choose(&tm, false);
	CHECK(ch.T == ALL_DIRECT || ch.T == ALL_INDIRECT || ch.T == 896,
	      "CPU: only the built switch-over sizes, got %zu", ch.T);
}

int main(void)
{
	test_nt_kept();
	test_slower_everywhere();
	test_failed_candidate();
	test_tiny_shape();
	test_unused_class();
	test_switch_over();
	return test_finish();
}
