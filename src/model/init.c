/*
 * init.c - parameter initialisation on the host, from the documented PRNG, so that a
 * seed gives the same initial weights on every backend.
 *
 * One PRNG stream, seeded with the run's --seed, fills the flat array in order
 * (W1 row-major, ..., WL, then b1, ..., bL):
 *   uniform01: every entry tr_prng_uniform() in [0, 1), like the seed's np.random.rand;
 *   he:        W entries sqrt(2/in) * tr_prng_normal(), biases 0;
 *   xavier:    W entries a * (2u - 1) with a = sqrt(6/(in+out)), biases 0.
 */
#include "trainer/model.h"
#include "trainer/prng.h"

#include <math.h>
#include <string.h>

int tr_init_parse(const char *name, enum tr_init *out, tr_error *err)
{
	if (!strcmp(name, "uniform01"))
		*out = TR_INIT_UNIFORM01;
	else if (!strcmp(name, "he"))
		*out = TR_INIT_HE;
	else if (!strcmp(name, "xavier"))
		*out = TR_INIT_XAVIER;
	else
		return tr_fail(err, TR_ERR_USAGE,
			       "--init '%s': unknown; use uniform01 (the seed's), he or xavier",
			       name);
	return TR_OK;
}

const char *tr_init_name(enum tr_init init)
{
	switch (init) {
	case TR_INIT_HE: return "he";
	case TR_INIT_XAVIER: return "xavier";
	default: return "uniform01";
	}
}

void tr_init_params(const tr_layout *lay, enum tr_init init, uint64_t seed, float *flat)
{
	tr_prng rng;
	size_t i, j;

	tr_prng_seed(&rng, seed);
	for (i = 0; i < lay->n_layers; i++) {
		size_t in = lay->sizes[i], out = lay->sizes[i + 1];
		float *w = flat + lay->w_off[i];
		double he_std = sqrt(2.0 / (double)in);
		double xa = sqrt(6.0 / (double)(in + out));

		for (j = 0; j < in * out; j++) {
			if (init == TR_INIT_HE)
				w[j] = (float)(he_std * tr_prng_normal(&rng));
			else if (init == TR_INIT_XAVIER)
				w[j] = (float)(xa * (2.0 * tr_prng_uniform(&rng) - 1.0));
			else
				w[j] = tr_prng_uniform(&rng);
		}
	}
	for (i = 0; i < lay->n_layers; i++) {
		float *b = flat + lay->b_off[i];

		for (j = 0; j < lay->sizes[i + 1]; j++)
			b[j] = init == TR_INIT_UNIFORM01 ? tr_prng_uniform(&rng) : 0.0f;
	}
}
