/*
 * test_gradcheck.c - finite-difference check of the whole loss (mean cross-entropy +
 * lambda/2 * sum of squares of every parameter) against the gradient the network
 * computes (back-propagation, plus lambda * w folded in as Adam does), for every
 * parameter tensor, on a small network in the reference backend.
 *
 * The loss comes back from the device as a float, so finite differences carry about
 * 1e-7 * L / h of rounding noise, and ReLU kinks bias larger steps; with h = 1e-3
 * and central differences, per-tensor
 * relative errors of a correct gradient are ~1e-4..1e-3. A wrong transpose, a missing
 * bias gradient, a missing or doubled L2 term gives errors of order 1. We require the
 * tensor-level relative error ||fd - g|| / ||g|| <= 1e-2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trainer/backend.h"
#include "trainer/model.h"
#include "trainer/prng.h"

#define ROWS 8
#define LAMBDA 0.05
#define H 1e-3

static tr_net *net;
static tr_layout lay;

/* Whole loss at the given parameters. */
static double loss_at(const float *params, tr_error *err)
{
	double s[TR_N_SLOTS];

	if (tr_net_set_state(net, params, NULL, NULL, err) || tr_net_forward(net, ROWS, err) ||
	    tr_net_loss(net, ROWS, false, false, err) || tr_net_l2_sumsq(net, TR_L2_ALL, err) ||
	    tr_net_read_slots(net, s, err))
		return NAN;
	return s[TR_SLOT_LOSS] / ROWS + LAMBDA * 0.5 * s[TR_SLOT_SUMSQ];
}

int main(void)
{
	static const size_t sizes[] = { 6, 5, 4, 10 };
	tr_backend *be;
	tr_error err;
	tr_prng rng;
	float x[ROWS * 6], labels[ROWS], *w, *g, *probe;
	size_t P, i, l;

	if (tr_backend_open("cpu-ref", NULL, &be, &err) || tr_layout_init(&lay, sizes, 4, &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return 1;
	}
	P = lay.n_params;
	w = malloc(P * sizeof(float));
	g = malloc(P * sizeof(float));
	probe = malloc(P * sizeof(float));
	tr_init_params(&lay, TR_INIT_XAVIER, 3, w);
	tr_prng_seed(&rng, 99);
	for (i = lay.n_weights; i < P; i++) /* non-zero biases, so their L2 term counts */
		w[i] = 0.2f * (tr_prng_uniform(&rng) - 0.5f);
	for (i = 0; i < ROWS * 6; i++)
		x[i] = tr_prng_uniform(&rng);
	for (i = 0; i < ROWS; i++)
		labels[i] = (float)tr_prng_below(&rng, 10);
	if (tr_net_create(be, &lay, ROWS, ROWS, &net, &err) ||
	    tr_net_load_batch(net, x, labels, ROWS, &err) ||
	    tr_net_set_state(net, w, NULL, NULL, &err) || tr_net_forward(net, ROWS, &err) ||
	    tr_net_loss(net, ROWS, true, false, &err) || tr_net_backward(net, ROWS, &err) ||
	    tr_backend_download(be, tr_at(net->grads, 0), g, P)) {
		fprintf(stderr, "gradient: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < P; i++)
		g[i] += (float)(LAMBDA * w[i]); /* the L2 term's gradient */

	/* one tensor at a time: W1..WL, b1..bL */
	for (l = 0; l < 2 * lay.n_layers; l++) {
		size_t L = lay.n_layers, off = l < L ? lay.w_off[l] : lay.b_off[l - L];
		size_t n = l < L ? lay.sizes[l] * lay.sizes[l + 1] : lay.sizes[l - L + 1];
		double num = 0, den = 0;

		for (i = off; i < off + n; i++) {
			double lp, lm, fd;

			memcpy(probe, w, P * sizeof(float));
			probe[i] = w[i] + (float)H;
			lp = loss_at(probe, &err);
			probe[i] = w[i] - (float)H;
			lm = loss_at(probe, &err);
			fd = (lp - lm) / (2 * H);
			num += (fd - g[i]) * (fd - g[i]);
			den += (double)g[i] * g[i];
		}
		printf("%s%zu: relative error %.3g (%zu entries)\n", l < L ? "W" : "b",
		       (l % L) + 1, sqrt(num / den), n);
		CHECK(den > 0 && sqrt(num / den) <= 1e-2, "%s%zu: gradient relative error %g",
		      l < L ? "W" : "b", (l % L) + 1, sqrt(num / den));
	}
	tr_net_free(net);
	tr_backend_free(be);
	free(w);
	free(g);
	free(probe);
	return test_finish();
}
