/*
 * bench.c - the measurements of `trainer bench` (see include/trainer/bench.h).
 *
 * Every figure is wall-clock time on the host around work queued on the backend,
 * closed by tr_backend_synchronize, so asynchronous devices are measured to the end
 * of their work. The network is the trainer's (tr_net_*), initialised as the lab's
 * (uniform01, seed 1) and fed random images and labels.
 */
#include "trainer/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/clock.h"
#include "trainer/prng.h"

void tr_bench_config_default(tr_bench_config *cfg)
{
	static const size_t lab[] = { 784, 1500, 1000, 500, 10 };

	memset(cfg, 0, sizeof(*cfg));
	tr_layout_init(&cfg->layout, lab, 5, NULL);
	cfg->batch = 64;
	cfg->eval_rows = 1000;
	cfg->val_images = 5000;
	cfg->iters = 200;
	cfg->warmup = 20;
	cfg->val_reps = 5;
	cfg->seed = 1;
}

const char *tr_bench_gemm_kind_name(int kind)
{
	switch (kind) {
	case TR_GEMM_FORWARD: return "forward";
	case TR_GEMM_WEIGHT_GRAD: return "weight gradient";
	case TR_GEMM_INPUT_GRAD: return "input gradient";
	case TR_GEMM_VALIDATION: return "validation";
	default: return "?";
	}
}

static void put(tr_bench_gemm *out, size_t cap, size_t *n, bool ta, bool tb, size_t m,
		size_t nn, size_t k, size_t layer, int kind)
{
	if (*n < cap) {
		tr_bench_gemm g = { ta, tb, m, nn, k, layer, kind };

		out[*n] = g;
	}
	(*n)++;
}

size_t tr_bench_gemm_shapes(const tr_layout *lay, size_t batch, size_t eval_rows,
			    tr_bench_gemm *out, size_t cap)
{
	size_t i, n = 0;

	/* As network.c: forward z = a W; dW = a^T d; d_prev = d W^T (not for layer 0). */
	for (i = 0; i < lay->n_layers; i++)
		put(out, cap, &n, false, false, batch, lay->sizes[i + 1], lay->sizes[i], i,
		    TR_GEMM_FORWARD);
	for (i = lay->n_layers; i-- > 0;) {
		put(out, cap, &n, true, false, lay->sizes[i], lay->sizes[i + 1], batch, i,
		    TR_GEMM_WEIGHT_GRAD);
		if (i > 0)
			put(out, cap, &n, false, true, batch, lay->sizes[i], lay->sizes[i + 1],
			    i, TR_GEMM_INPUT_GRAD);
	}
	for (i = 0; eval_rows && i < lay->n_layers; i++)
		put(out, cap, &n, false, false, eval_rows, lay->sizes[i + 1], lay->sizes[i],
		    i, TR_GEMM_VALIDATION);
	return n;
}

double tr_bench_now_ms(void)
{
	return 1e3 * tr_now_seconds();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, min and max of t[0..n) (sorts t). */
static tr_bench_stat stat_of(double *t, size_t n)
{
	tr_bench_stat s = { NAN, NAN, NAN };

	if (n == 0)
		return s;
	qsort(t, n, sizeof(*t), cmp_double);
	s.min = t[0];
	s.max = t[n - 1];
	s.median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
	return s;
}

/* Everything one run of the benchmark holds. */
struct bench {
	tr_backend *be;
	const tr_bench_config *cfg;
	tr_net *net;
	uint8_t *images, *labels; /* random examples: n_examples of them, as bytes */
	size_t n_examples;
	tr_examples *ex;     /* the same, handed to the backend */
	uint32_t *idx;       /* a batch's indices */
	tr_prng rng;         /* draws the batches */
	double *t;           /* per-iteration timings: 8 series of max(iters, val_reps) */
	long t_step;         /* Adam's step counter */
	bool data_on_device;
};

static int be_fail(struct bench *b, tr_error *err, const char *what)
{
	const tr_error *e = tr_backend_last_error(b->be);

	tr_fail(err, e->status ? e->status : TR_ERR_DEVICE, "%s", e->msg);
	return tr_error_prefix(err, "bench: %s", what);
}

static int sync_(struct bench *b, tr_error *err)
{
	if (tr_backend_synchronize(b->be) != TR_OK)
		return be_fail(b, err, "synchronising");
	return TR_OK;
}

/* The lab's update: lr 0.005, L2 0.0005 over all parameters. */
static int update(struct bench *b, tr_error *err)
{
	return tr_net_update(b->net, ++b->t_step, 0.005, 0.0005, TR_L2_ALL, err);
}

/* A random batch, gathered by index as the trainer gathers its batches. */
static int load_batch(struct bench *b, tr_error *err)
{
	size_t i;

	for (i = 0; i < b->cfg->batch; i++)
		b->idx[i] = (uint32_t)tr_prng_below(&b->rng, b->n_examples);
	return tr_net_gather(b->net, b->ex, 0, b->idx, 0, b->cfg->batch, err);
}

/* One training step as the trainer runs it: gather, then tr_net_train_step. */
static int step(struct bench *b, tr_error *err)
{
	int rc = load_batch(b, err);

	if (rc)
		return rc;
	return tr_net_train_step(b->net, ++b->t_step, 0.005, 0.0005, TR_L2_ALL, err);
}

/* The forward phase of the split step: gather, forward, loss with its gradient. */
static int forward_phase(struct bench *b, tr_error *err)
{
	size_t rows = b->cfg->batch;
	int rc;

	if ((rc = load_batch(b, err)) || (rc = tr_net_forward(b->net, rows, err)))
		return rc;
	return tr_net_loss(b->net, rows, true, false, err);
}

static int gemm(struct bench *b, const tr_bench_gemm *g, tr_view a, tr_view bm,
		tr_view c)
{
	return tr_backend_gemm(b->be, g->trans_a, g->trans_b, g->m, g->n, g->k, 1.0f, a,
			       g->trans_a ? g->m : g->k, bm, g->trans_b ? g->k : g->n, 0.0f,
			       c, g->n);
}

/* The step's GEMMs alone, on the buffers the step uses for them (the back-propagated
 * gradient alternates between delta[0] and delta[1] as in network.c: stale contents of
 * the other one can hold subnormal numbers, which some devices multiply far slower). */
static int gemms_alone(struct bench *b, const tr_bench_gemm *shapes, size_t n,
		       tr_error *err)
{
	tr_net *net = b->net;
	const tr_layout *lay = &net->lay;
	size_t i, L = lay->n_layers;

	for (i = 0; i < n; i++) {
		const tr_bench_gemm *g = &shapes[i];
		size_t l = g->layer;
		int cur = (int)((L - 1 - l) % 2); /* delta[cur] holds layer l's gradient */
		tr_buf *in = l ? net->act[l - 1] : net->x;
		tr_view w = tr_at(net->params, lay->w_off[l]);
		int rc = TR_OK;

		if (g->kind == TR_GEMM_FORWARD)
			rc = gemm(b, g, tr_at(in, 0), w, tr_at(net->act[l], 0));
		else if (g->kind == TR_GEMM_WEIGHT_GRAD)
			rc = gemm(b, g, tr_at(in, 0), tr_at(net->delta[cur], 0),
				  tr_at(net->grads, lay->w_off[l]));
		else if (g->kind == TR_GEMM_INPUT_GRAD)
			rc = gemm(b, g, tr_at(net->delta[cur], 0), w,
				  tr_at(net->delta[1 - cur], 0));
		if (rc != TR_OK)
			return be_fail(b, err, "GEMMs alone");
	}
	return TR_OK;
}

/* The step's other ops alone: bias + activation, softmax cross-entropy with its
 * gradient, bias gradients, ReLU backward. Returns the bytes they move in *bytes. */
static int other_ops(struct bench *b, double *bytes, tr_error *err)
{
	tr_net *net = b->net;
	const tr_layout *lay = &net->lay;
	size_t L = lay->n_layers, rows = b->cfg->batch, i;
	double moved = 0.0;
	tr_backend *be = b->be;

	for (i = 0; i < L; i++) {
		size_t out = lay->sizes[i + 1];

		if (tr_backend_bias_act(be, tr_at(net->act[i], 0),
					tr_at(net->params, lay->b_off[i]), rows, out,
					i + 1 < L))
			return be_fail(b, err, "bias + activation");
		moved += 2.0 * (double)(rows * out) * sizeof(float);
	}
	if (tr_backend_softmax_xent(be, tr_at(net->act[L - 1], 0), tr_at(net->labels, 0),
				    rows, lay->sizes[L], 1.0f / (float)rows,
				    tr_at(net->delta[0], 0), tr_at(net->scalars, TR_SLOT_LOSS),
				    false))
		return be_fail(b, err, "softmax cross-entropy");
	moved += 2.0 * (double)(rows * lay->sizes[L]) * sizeof(float);
	for (i = L; i-- > 0;) {
		size_t out = lay->sizes[i + 1], in = lay->sizes[i];
		int cur = (int)((L - 1 - i) % 2); /* as in gemms_alone */

		if (tr_backend_bias_grad(be, tr_at(net->delta[cur], 0), rows, out,
					 tr_at(net->grads, lay->b_off[i])))
			return be_fail(b, err, "bias gradient");
		moved += (double)(rows * out) * sizeof(float);
		if (i == 0)
			break;
		if (tr_backend_relu_backward(be, tr_at(net->delta[1 - cur], 0),
					     tr_at(net->act[i - 1], 0), rows * in))
			return be_fail(b, err, "ReLU backward");
		moved += 3.0 * (double)(rows * in) * sizeof(float);
	}
	*bytes = moved;
	return TR_OK;
}

/* One validation pass as tr_trainer_evaluate makes it. */
static int validation(struct bench *b, tr_error *err)
{
	size_t first, chunk = b->cfg->eval_rows, total = b->cfg->val_images;
	double slots[TR_N_SLOTS];
	int rc;

	for (first = 0; first < total; first += chunk) {
		size_t rows = total - first < chunk ? total - first : chunk;

		/* the set is one chunk large: every chunk reads it from its start */
		if ((rc = tr_net_gather(b->net, b->ex, 0, NULL, 0, rows, err)) ||
		    (rc = tr_net_forward(b->net, rows, err)) ||
		    (rc = tr_net_loss(b->net, rows, false, first > 0, err)))
			return rc;
	}
	if ((rc = tr_net_l2_sumsq(b->net, TR_L2_ALL, err)))
		return rc;
	return tr_net_read_slots(b->net, slots, err);
}

static int setup(struct bench *b, tr_error *err)
{
	const tr_bench_config *cfg = b->cfg;
	const tr_layout *lay = &cfg->layout;
	size_t i, size = lay->sizes[0];
	float *params;
	int rc;

	/* As many examples as one evaluation chunk (at least two batches). */
	b->n_examples = cfg->eval_rows > 2 * cfg->batch ? cfg->eval_rows : 2 * cfg->batch;
	b->images = malloc(b->n_examples * size);
	b->labels = malloc(b->n_examples);
	b->idx = malloc(cfg->batch * sizeof(uint32_t));
	params = malloc(lay->n_params * sizeof(float));
	b->t = malloc(8 * (size_t)(cfg->iters > cfg->val_reps ? cfg->iters : cfg->val_reps) *
		      sizeof(double));
	if (!b->images || !b->labels || !b->idx || !params || !b->t) {
		free(params);
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	}
	tr_prng_seed(&b->rng, cfg->seed);
	for (i = 0; i < b->n_examples * size; i++)
		b->images[i] = (uint8_t)tr_prng_below(&b->rng, 256);
	for (i = 0; i < b->n_examples; i++)
		b->labels[i] = (uint8_t)tr_prng_below(&b->rng, lay->sizes[lay->n_layers]);
	tr_init_params(lay, TR_INIT_UNIFORM01, cfg->seed, params);
	rc = tr_net_create(b->be, lay, cfg->batch, cfg->eval_rows, &b->net, err);
	if (!rc)
		rc = tr_net_set_state(b->net, params, NULL, NULL, err);
	free(params);
	if (!rc) {
		tr_examples_info info;

		if (tr_backend_examples_create(b->be, b->images, b->labels, b->n_examples, size,
					       "benchmark images", &b->ex, &info) != TR_OK)
			return be_fail(b, err, "handing the examples to the device");
		b->data_on_device = info.on_device;
	}
	return rc;
}

static void teardown(struct bench *b)
{
	tr_backend_examples_free(b->be, b->ex);
	tr_net_free(b->net);
	free(b->images);
	free(b->labels);
	free(b->idx);
	free(b->t);
}

/* Every per-step measurement, round-robin, so that each sees the same machine (others'
 * load comes and goes): an un-split step, a split step, the GEMMs alone, the update
 * alone, the other ops alone. Then the un-split steps back to back (pipelined). */
static int measure_steps(struct bench *b, tr_bench_result *res, tr_error *err)
{
	tr_bench_gemm shapes[3 * TR_MAX_LAYERS];
	size_t n_shapes = tr_bench_gemm_shapes(&b->cfg->layout, b->cfg->batch, 0, shapes,
					       3 * TR_MAX_LAYERS);
	long i, n = b->cfg->iters;
	double *t = b->t, t0, t1, t2, t3, bytes = 0.0;
	size_t N = (size_t)n;
	tr_backend_counters c0, c1;
	int rc;

	res->n_gemm_calls = n_shapes;
	for (i = 0; i < b->cfg->warmup; i++)
		if ((rc = step(b, err)))
			return rc;
	if ((rc = sync_(b, err)))
		return rc;
	for (i = 0; i < n; i++) {
		t0 = tr_bench_now_ms();
		if ((rc = step(b, err)) || (rc = sync_(b, err)))
			return rc;
		t[0 * N + i] = tr_bench_now_ms() - t0;

		t0 = tr_bench_now_ms();
		if ((rc = forward_phase(b, err)) || (rc = sync_(b, err)))
			return rc;
		t1 = tr_bench_now_ms();
		if ((rc = tr_net_backward(b->net, b->cfg->batch, err)) || (rc = sync_(b, err)))
			return rc;
		t2 = tr_bench_now_ms();
		if ((rc = update(b, err)) || (rc = sync_(b, err)))
			return rc;
		t3 = tr_bench_now_ms();
		t[1 * N + i] = t1 - t0;
		t[2 * N + i] = t2 - t1;
		t[3 * N + i] = t3 - t2;
		t[4 * N + i] = t3 - t0;

		t0 = tr_bench_now_ms();
		if ((rc = gemms_alone(b, shapes, n_shapes, err)) || (rc = sync_(b, err)))
			return rc;
		t[5 * N + i] = tr_bench_now_ms() - t0;
		t0 = tr_bench_now_ms();
		if ((rc = update(b, err)) || (rc = sync_(b, err)))
			return rc;
		t[6 * N + i] = tr_bench_now_ms() - t0;
		t0 = tr_bench_now_ms();
		if ((rc = other_ops(b, &bytes, err)) || (rc = sync_(b, err)))
			return rc;
		t[7 * N + i] = tr_bench_now_ms() - t0;
	}
	res->step = stat_of(t + 0 * N, N);
	res->forward = stat_of(t + 1 * N, N);
	res->backward = stat_of(t + 2 * N, N);
	res->update = stat_of(t + 3 * N, N);
	res->split_step = stat_of(t + 4 * N, N);
	res->gemms = stat_of(t + 5 * N, N);
	res->update_alone = stat_of(t + 6 * N, N);
	res->other_ops = stat_of(t + 7 * N, N);
	res->other_bytes = bytes;

	/* Queued back to back, as training runs between two evaluations; what the steps
	 * cost in launches, transfers and waits is counted over them (the closing sync
	 * left out). */
	res->have_counters = tr_backend_counters_read(b->be, &c0);
	t0 = tr_bench_now_ms();
	for (i = 0; i < n; i++)
		if ((rc = step(b, err)))
			return rc;
	tr_backend_counters_read(b->be, &c1);
	if ((rc = sync_(b, err)))
		return rc;
	res->step_pipelined = (tr_bench_now_ms() - t0) / (double)n;
	res->libraries_counted = c1.libraries_counted;
	res->launches_per_step = (double)(c1.launches - c0.launches) / (double)n;
	res->h2d_bytes_per_step = (double)(c1.host_to_device_bytes -
					   c0.host_to_device_bytes) / (double)n;
	res->syncs_per_step = (double)(c1.blocking_syncs - c0.blocking_syncs) / (double)n;
	res->allocs_per_step = (double)(c1.allocations - c0.allocations) / (double)n;
	return TR_OK;
}

static int measure_validation(struct bench *b, tr_bench_result *res, tr_error *err)
{
	long i, n = b->cfg->val_reps;
	tr_backend_counters c0, c1;
	double t0;
	int rc;

	if (n <= 0 || b->cfg->val_images == 0)
		return TR_OK;
	if ((rc = validation(b, err))) /* warm-up: first use of the big shapes */
		return rc;
	for (i = 0; i < n; i++) {
		tr_backend_counters_read(b->be, &c0);
		t0 = tr_bench_now_ms();
		if ((rc = validation(b, err)))
			return rc;
		b->t[i] = tr_bench_now_ms() - t0;
		tr_backend_counters_read(b->be, &c1);
	}
	res->launches_per_eval = (double)(c1.launches - c0.launches);
	res->syncs_per_eval = (double)(c1.blocking_syncs - c0.blocking_syncs);
	res->val_ms = stat_of(b->t, (size_t)n).median;
	res->val_images_per_s = (double)b->cfg->val_images / (res->val_ms * 1e-3);
	return TR_OK;
}

int tr_bench_run(tr_backend *be, const tr_bench_config *cfg, tr_bench_result *res,
		 tr_error *err)
{
	struct bench b;
	const tr_layout *lay = &cfg->layout;
	double t0;
	size_t i;
	int rc;

	memset(&b, 0, sizeof(b));
	memset(res, 0, sizeof(*res));
	if (cfg->iters <= 0 || cfg->batch == 0 || cfg->warmup < 0)
		return tr_fail(err, TR_ERR_USAGE, "bench: steps and batch must be positive");
	b.be = be;
	b.cfg = cfg;
	res->n_params = lay->n_params;
	res->update_bytes = 7.0 * sizeof(float) * (double)lay->n_params;
	for (i = 0; i < lay->n_layers; i++) {
		double mac = (double)cfg->batch * (double)lay->sizes[i] *
			     (double)lay->sizes[i + 1];

		res->gemm_flop += 2.0 * mac * (i > 0 ? 3.0 : 2.0);
	}
	t0 = tr_bench_now_ms();
	if (!(rc = setup(&b, err)) && !(rc = step(&b, err)) && !(rc = sync_(&b, err))) {
		res->first_step_ms = tr_bench_now_ms() - t0;
		res->data_on_device = b.data_on_device;
		if (!(rc = measure_steps(&b, res, err)))
			rc = measure_validation(&b, res, err);
	}
	teardown(&b);
	return rc;
}
