/*
 * prng.h - the one documented pseudo-random generator behind initialisation and
 * shuffling, so that the same --seed gives the same weights and batches everywhere.
 *
 * Generator: xoshiro256** (Blackman and Vigna, 2018), seeded by expanding the 64-bit
 * seed with splitmix64. Derived values:
 *   tr_prng_uniform:  (next >> 40) * 2^-24, a float in [0, 1) with 24 random bits;
 *   tr_prng_below(n): unbiased integer in [0, n) by rejection (Lemire's method);
 *   tr_prng_normal:   Box-Muller on two uniforms with 53 bits, in double.
 * The state is four 64-bit words and is saved in checkpoints.
 */
#ifndef TRAINER_PRNG_H
#define TRAINER_PRNG_H

#include <stdint.h>

typedef struct tr_prng {
	uint64_t s[4];
} tr_prng;

void tr_prng_seed(tr_prng *r, uint64_t seed);
uint64_t tr_prng_next(tr_prng *r);
float tr_prng_uniform(tr_prng *r);        /* [0, 1) */
uint64_t tr_prng_below(tr_prng *r, uint64_t n); /* [0, n), n > 0 */
double tr_prng_normal(tr_prng *r);        /* mean 0, standard deviation 1 */

#endif /* TRAINER_PRNG_H */
