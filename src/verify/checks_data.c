/*
 * checks_data.c - the data path: examples handed to the backend once (on a device they
 * are copied there as bytes, or stay in host memory when they do not fit) and a batch
 * gathered from them into the network's input, by example indices (a training batch)
 * or in order (an evaluation chunk).
 *
 * The gathered floats must be bit for bit what the host makes of the bytes
 * (pixel / 255.0f: tr_pixel_scale), so that training on the device follows the same
 * trajectory as on the host, and labels the class indices: the measure is the number
 * of floats that differ from cpu-ref's in any bit, and the bound is 0. Every byte value
 * 0..255 occurs. Cases: image sizes 1, 3, 17, 65, 257 (--quick: to 65) and 784, rows
 * of the same odd sizes, a base offset into the examples and offsets into the
 * destination buffers (whose floats around the destination must stay as they were);
 * then the network's batch by indices and its evaluation chunk in order.
 */
#include "verify_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_EXAMPLES 300  /* examples of the odd cases */
#define BASE 7          /* first example a gather may use */
#define X_OFF 3         /* offsets into the destination buffers */
#define LABELS_OFF 1

/* Bytes for `count` examples: images with every value 0..255, labels < classes. */
struct examples_host {
	uint8_t *images, *labels;
	size_t count, image_size;
};

static int examples_host_new(tr_vctx *v, tr_verify_check *c, size_t count,
			     size_t image_size, size_t classes, struct examples_host *h)
{
	size_t i, n = count * image_size;

	h->count = count;
	h->image_size = image_size;
	h->images = malloc(n);
	h->labels = malloc(count);
	if (!h->images || !h->labels)
		return vfail_oom(v, c);
	for (i = 0; i < n; i++)
		h->images[i] = i < 256 ? (uint8_t)i : (uint8_t)tr_prng_below(&v->rng, 256);
	for (i = 0; i < count; i++)
		h->labels[i] = (uint8_t)tr_prng_below(&v->rng, classes);
	return TR_OK;
}

static void examples_host_free(struct examples_host *h)
{
	free(h->images);
	free(h->labels);
}

/* Floats of ref and got that differ in any bit. */
static size_t mismatches(const float *ref, const float *got, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++)
		bad += memcmp(&ref[i], &got[i], sizeof(float)) != 0;
	return bad;
}

/* Both destination buffers downloaded whole (the floats around the destination
 * included): *bad = the floats that differ from cpu-ref's. */
static int compare_exact(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t *bad)
{
	float *r = malloc(2 * p->n * sizeof(float));
	int rc;

	if (!r)
		return vfail_oom(v, c);
	rc = vpair_download(v, c, p, 0, p->n, r, r + p->n);
	if (rc == TR_OK)
		*bad += mismatches(r, r + p->n, p->n);
	free(r);
	return rc;
}

/* Gather n examples of h on both backends, by random indices or from `first` in order,
 * and count the floats that differ. */
static int gather_case(tr_vctx *v, tr_verify_check *c, const struct examples_host *h,
		       size_t n, bool by_index, size_t first)
{
	tr_examples *er = NULL, *ed = NULL;
	vpair x = { 0 }, labels = { 0 };
	uint32_t *idx = NULL;
	size_t i, bad = 0;
	char what[96];
	int rc;

	snprintf(what, sizeof(what), "%zu of %zu examples of %zu bytes, %s", n, h->count,
		 h->image_size, by_index ? "by index" : "in order");
	if (by_index) {
		idx = malloc(n * sizeof(uint32_t));
		if (!idx)
			return vfail_oom(v, c);
		for (i = 0; i < n; i++)
			idx[i] = (uint32_t)tr_prng_below(&v->rng, h->count - BASE);
	}
	rc = vcall(v, c, what,
		   tr_backend_examples_create(v->ref, h->images, h->labels, h->count,
					      h->image_size, "verify examples", &er, NULL),
		   tr_backend_examples_create(v->dut, h->images, h->labels, h->count,
					      h->image_size, "verify examples", &ed, NULL));
	if (rc == TR_OK)
		rc = vpair_random(v, c, X_OFF + n * h->image_size + 2, -1, 1, &x);
	if (rc == TR_OK)
		rc = vpair_random(v, c, LABELS_OFF + n + 1, -1, 1, &labels);
	if (rc == TR_OK)
		rc = vcall(v, c, what,
			   tr_backend_gather(v->ref, er, BASE, idx, first, n, tr_at(x.r, X_OFF),
					     tr_at(labels.r, LABELS_OFF)),
			   tr_backend_gather(v->dut, ed, BASE, idx, first, n, tr_at(x.d, X_OFF),
					     tr_at(labels.d, LABELS_OFF)));
	if (rc == TR_OK)
		rc = compare_exact(v, c, &x, &bad);
	if (rc == TR_OK)
		rc = compare_exact(v, c, &labels, &bad);
	if (rc == TR_OK)
		vcheck_case(c, (double)bad, "%s", what);
	vpair_free(v, &x);
	vpair_free(v, &labels);
	tr_backend_examples_free(v->ref, er);
	tr_backend_examples_free(v->dut, ed);
	free(idx);
	return rc;
}

static int odd_cases(tr_vctx *v)
{
	static const size_t mnist = 784;
	tr_verify_check c;
	size_t i, j;
	int rc = TR_OK;

	vcheck_begin(&c, "gather", "odd image sizes and rows, by index and in order",
		     "mismatches", 0.0);
	for (i = 0; rc == TR_OK && i <= v->n_odd; i++) {
		struct examples_host h = { 0 };

		rc = examples_host_new(v, &c, N_EXAMPLES, i < v->n_odd ? v->odd[i] : mnist,
				       TR_N_CLASSES, &h);
		for (j = 0; rc == TR_OK && j < v->n_odd; j++) {
			rc = gather_case(v, &c, &h, v->odd[j], true, 0);
			if (rc == TR_OK)
				rc = gather_case(v, &c, &h, v->odd[j], false,
						 N_EXAMPLES - BASE - v->odd[j]);
		}
		examples_host_free(&h);
	}
	return vcheck_end(v, &c, rc);
}

/* A batch of the network's input size by indices and an evaluation chunk in order. */
static int network_cases(tr_vctx *v)
{
	size_t in = v->o->layout.sizes[0], classes = v->o->layout.sizes[v->o->layout.n_layers];
	size_t count = BASE + (v->o->eval_rows > v->o->batch ? v->o->eval_rows : v->o->batch);
	struct examples_host h = { 0 };
	tr_verify_check c;
	int rc;

	vcheck_begin(&c, "gather", "network: a batch by index, an evaluation chunk in order",
		     "mismatches", 0.0);
	rc = examples_host_new(v, &c, count, in, classes < 256 ? classes : 256, &h);
	if (rc == TR_OK)
		rc = gather_case(v, &c, &h, v->o->batch, true, 0);
	if (rc == TR_OK)
		rc = gather_case(v, &c, &h, v->o->eval_rows, false, 0);
	examples_host_free(&h);
	return vcheck_end(v, &c, rc);
}

int vcheck_gather(tr_vctx *v)
{
	int rc = odd_cases(v);

	if (rc == TR_OK && !v->o->quick)
		rc = network_cases(v);
	return rc;
}
