/*
 * trajectory.c - training on the device and on cpu-ref side by side: the same initial
 * weights, the same examples handed to each backend and gathered into batches by the
 * same indices, the network's own forward, loss, backward and Adam + L2 update
 * (src/model/network.c), the loss of each batch compared step by step.
 *
 * Rounding differences grow as Adam trains (shared/SPEC.md): float32 and float64 agree
 * to ~1e-7 at step 100 for 784-128-10 with He at lr 0.001, and to ~1e-5 over the first
 * 150 steps of the lab's network with the seed's initialisation at lr 0.005. So we
 * compare fewer steps than those horizons: 784-128-10, He, lr 0.001 for 100 steps, and
 * the network of --layers (the lab's) with the seed's initialisation at lr 0.005 for
 * 12 steps, both at the batch of the options (64). --quick trains instead a small
 * 64-33-17-10 network (two hidden layers of odd widths, so every op of the backward
 * pass runs) with He at lr 0.001, batch 16, for 10 steps: a fraction of a second on
 * any device, and affordable under Oclgrind's simulator (ci/oclgrind.sh).
 * Bounds: each step's loss within 1e-4 relative; the parameters at the end NMSE 1e-6
 * (He) and 1e-8 (the seed's initialisation, whose huge first gradients dominate).
 */
#include "verify_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct trajectory {
	const char *layers;     /* NULL: the network of the options */
	enum tr_init init;
	double lr;
	int steps, quick_steps; /* in a full run, with --quick; 0: not run */
	size_t batch;           /* 0: the batch of the options */
	double param_nmse;      /* bound on the final parameters */
};

static const struct trajectory trajectories[] = {
	{ "784,128,10", TR_INIT_HE, 0.001, 100, 0, 0, 1e-6 },
	{ NULL, TR_INIT_UNIFORM01, 0.005, 12, 0, 0, 1e-8 },
	{ "64,33,17,10", TR_INIT_HE, 0.001, 0, 10, 16, 1e-6 },
};

/* Synthetic examples of a trajectory without a data set: this many batches' worth. */
#define SYNTHETIC_BATCHES 4

/* The two networks, the examples they train on, and the order of the batches. */
struct run {
	tr_layout lay;
	size_t batch;
	tr_net *nr, *nd;            /* on cpu-ref, on the device */
	tr_examples *exr, *exd;     /* the examples, handed to each backend */
	uint8_t *images, *labels;   /* synthetic examples (NULL with a data set) */
	size_t count;               /* examples */
	float *w, *pr, *pd;         /* initial and final parameters */
	uint32_t *idx;              /* the batch's example indices */
	tr_batcher bt;
	bool bt_ready;
};

static void run_free(tr_vctx *v, struct run *r)
{
	tr_backend_examples_free(v->ref, r->exr);
	tr_backend_examples_free(v->dut, r->exd);
	tr_net_free(r->nr);
	tr_net_free(r->nd);
	free(r->images);
	free(r->labels);
	free(r->w);
	free(r->pr);
	free(r->pd);
	free(r->idx);
	if (r->bt_ready)
		tr_batcher_free(&r->bt);
}

/* The examples: the data set's training split when it fits the network (the parity
 * test's MNIST), else synthetic bytes with labels of the network's classes. Handed to
 * both backends, as training does (on a device: copied there once). */
static int make_examples(tr_vctx *v, tr_verify_check *c, struct run *r,
			 const uint8_t **images, const uint8_t **labels)
{
	const tr_dataset *d = v->o->data;
	size_t in = r->lay.sizes[0], classes = r->lay.sizes[r->lay.n_layers], i;

	if (d && d->train.image_size == in && classes >= TR_N_CLASSES) {
		*images = d->train.images;
		*labels = d->train.labels;
		r->count = d->train.count;
		return TR_OK;
	}
	r->count = SYNTHETIC_BATCHES * r->batch;
	r->images = malloc(r->count * in);
	r->labels = malloc(r->count);
	if (!r->images || !r->labels)
		return vfail_oom(v, c);
	for (i = 0; i < r->count * in; i++)
		r->images[i] = (uint8_t)tr_prng_below(&v->rng, 256);
	for (i = 0; i < r->count; i++)
		r->labels[i] = (uint8_t)tr_prng_below(&v->rng, classes < 256 ? classes : 256);
	*images = r->images;
	*labels = r->labels;
	return TR_OK;
}

/* Status of the same network call on both; an error fails the row with its side. */
static int both(tr_vctx *v, tr_verify_check *c, const char *when, int rr, tr_error *er,
		int rd, tr_error *ed)
{
	bool ref_failed = rr != TR_OK;

	if (rr == TR_OK && rd == TR_OK)
		return TR_OK;
	tr_fail(v->err, ref_failed ? rr : rd, "verify: trajectory %s, %s, on %s: %s",
		c->what, when, ref_failed ? "cpu-ref" : v->device,
		ref_failed ? er->msg : ed->msg);
	vcheck_fail(c, "%s on %s: %s", when, ref_failed ? "cpu-ref" : v->device,
		    ref_failed ? er->msg : ed->msg);
	return ref_failed ? rr : rd;
}

static int setup(tr_vctx *v, tr_verify_check *c, const struct trajectory *t,
		 struct run *r)
{
	const uint8_t *images = NULL, *labels = NULL;
	tr_error er, ed;
	size_t P;
	int rc;

	if (t->layers) {
		if (tr_layout_parse(t->layers, &r->lay, &er) != TR_OK)
			return tr_fail(v->err, TR_ERR_INTERNAL, "verify: %s", er.msg);
	} else {
		r->lay = v->o->layout;
	}
	r->batch = t->batch ? t->batch : v->o->batch;
	P = r->lay.n_params;
	r->idx = malloc(r->batch * sizeof(uint32_t));
	r->w = malloc(P * sizeof(float));
	r->pr = malloc(P * sizeof(float));
	r->pd = malloc(P * sizeof(float));
	if (!r->idx || !r->w || !r->pr || !r->pd)
		return vfail_oom(v, c);
	rc = make_examples(v, c, r, &images, &labels);
	if (rc != TR_OK)
		return rc;
	if (tr_batcher_init(&r->bt, r->count, r->batch, true, 7, &er) != TR_OK)
		return tr_fail(v->err, er.status, "verify: %s", er.msg);
	r->bt_ready = true;
	tr_init_params(&r->lay, t->init, 42, r->w);
	rc = both(v, c, "setting up",
		  tr_net_create(v->ref, &r->lay, r->batch, r->batch, &r->nr, &er), &er,
		  tr_net_create(v->dut, &r->lay, r->batch, r->batch, &r->nd, &ed), &ed);
	if (rc == TR_OK)
		rc = vcall(v, c, "handing over the examples",
			   tr_backend_examples_create(v->ref, images, labels, r->count,
						      r->lay.sizes[0], "verify examples", &r->exr,
						      NULL),
			   tr_backend_examples_create(v->dut, images, labels, r->count,
						      r->lay.sizes[0], "verify examples", &r->exd,
						      NULL));
	if (rc == TR_OK)
		rc = both(v, c, "setting up", tr_net_set_state(r->nr, r->w, NULL, NULL, &er),
			  &er, tr_net_set_state(r->nd, r->w, NULL, NULL, &ed), &ed);
	return rc;
}

/* One training step on both: the batch gathered from the examples by index, as the
 * trainer gathers it, then forward, the loss with its gradient, backward and update,
 * the network's own functions (the trainer's step is the same but for the loss, which
 * it leaves out: the op checks compare that variant). *rel = the relative difference
 * of the batch's loss before the update. */
static int step_both(tr_vctx *v, tr_verify_check *c, struct run *r,
		     const struct trajectory *t, int k, double *rel)
{
	double slots[2][TR_N_SLOTS];
	tr_net *nets[2] = { r->nr, r->nd };
	const tr_examples *ex[2] = { r->exr, r->exd };
	char when[32];
	tr_error e[2];
	int rcs[2], i;

	tr_batcher_next(&r->bt, r->idx);
	for (i = 0; i < 2; i++) {
		tr_net *n = nets[i];

		rcs[i] = tr_net_gather(n, ex[i], 0, r->idx, 0, r->batch, &e[i]);
		if (rcs[i] == TR_OK)
			rcs[i] = tr_net_forward(n, r->batch, &e[i]);
		if (rcs[i] == TR_OK)
			rcs[i] = tr_net_loss(n, r->batch, true, false, &e[i]);
		if (rcs[i] == TR_OK)
			rcs[i] = tr_net_read_slots(n, slots[i], &e[i]);
		if (rcs[i] == TR_OK)
			rcs[i] = tr_net_backward(n, r->batch, &e[i]);
		if (rcs[i] == TR_OK)
			rcs[i] = tr_net_update(n, k, t->lr, 0.0005, TR_L2_ALL, &e[i]);
	}
	snprintf(when, sizeof(when), "step %d", k);
	if (both(v, c, when, rcs[0], &e[0], rcs[1], &e[1]) != TR_OK)
		return v->err->status;
	*rel = vrel(slots[0][TR_SLOT_LOSS], slots[1][TR_SLOT_LOSS]);
	if (*rel > c->error || c->cases == 0)
		vcheck_case(c, *rel, "step %d: loss ref %.9g got %.9g", k,
			    slots[0][TR_SLOT_LOSS] / (double)r->batch,
			    slots[1][TR_SLOT_LOSS] / (double)r->batch);
	else
		vcheck_case(c, *rel, "step %d", k);
	return TR_OK;
}

static int trajectory(tr_vctx *v, const struct trajectory *t)
{
	int steps = v->o->quick ? t->quick_steps : t->steps, k, rc;
	tr_verify_check loss, params;
	struct run r = { 0 };
	char net[128], what[192];
	tr_error er, ed;
	double rel = 0.0;

	if (t->layers)
		snprintf(net, sizeof(net), "%s", t->layers);
	else
		tr_layout_format(&v->o->layout, net, sizeof(net));
	snprintf(what, sizeof(what), "%s, %s, lr %g, batch %zu, %d steps: loss at each step",
		 net, tr_init_name(t->init), t->lr, t->batch ? t->batch : v->o->batch, steps);
	vcheck_begin(&loss, "trajectory", what, "relative", TR_VERIFY_REL_TRAJECTORY);
	snprintf(what, sizeof(what), "%s, %s, lr %g, batch %zu, %d steps: final parameters",
		 net, tr_init_name(t->init), t->lr, t->batch ? t->batch : v->o->batch, steps);
	rc = setup(v, &loss, t, &r);
	/* a step out of bounds ends the run: what follows would only diverge further */
	for (k = 1; rc == TR_OK && k <= steps && rel <= loss.bound; k++)
		rc = step_both(v, &loss, &r, t, k, &rel);
	vcheck_begin(&params, "trajectory", what, "NMSE", t->param_nmse);
	if (rc == TR_OK)
		rc = both(v, &params, "reading the parameters",
			  tr_net_get_state(r.nr, r.pr, NULL, NULL, &er), &er,
			  tr_net_get_state(r.nd, r.pd, NULL, NULL, &ed), &ed);
	if (rc == TR_OK)
		vcheck_case(&params, tr_verify_nmse(r.pr, r.pd, r.lay.n_params),
			    "%zu parameters%s", r.lay.n_params, r.images ? "" : ", MNIST batches");
	else if (params.pass)
		vcheck_fail(&params, "not compared: the trajectory stopped");
	run_free(v, &r);
	rc = vcheck_end(v, &loss, rc);
	return vcheck_end(v, &params, rc);
}

int vcheck_trajectories(tr_vctx *v)
{
	size_t i;
	int rc = TR_OK;

	for (i = 0; rc == TR_OK && i < sizeof(trajectories) / sizeof(trajectories[0]); i++)
		if ((v->o->quick ? trajectories[i].quick_steps : trajectories[i].steps) > 0)
			rc = trajectory(v, &trajectories[i]);
	return rc;
}
