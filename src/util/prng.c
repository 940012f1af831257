/* prng.c - xoshiro256** seeded with splitmix64; see include/trainer/prng.h. */
#include "trainer/prng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void tr_prng_seed(tr_prng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t tr_prng_next(tr_prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

float tr_prng_uniform(tr_prng *r)
{
	return (float)(tr_prng_next(r) >> 40) * (1.0f / 16777216.0f);
}

uint64_t tr_prng_below(tr_prng *r, uint64_t n)
{
	/* Lemire's nearly-divisionless method with a 128-bit product. */
	unsigned __int128 m = (unsigned __int128)tr_prng_next(r) * n;
	uint64_t low = (uint64_t)m;

	if (low < n) {
		uint64_t threshold = -n % n;

		while (low < threshold) {
			m = (unsigned __int128)tr_prng_next(r) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

double tr_prng_normal(tr_prng *r)
{
	const double two_pi = 6.283185307179586476925286766559;
	double u1, u2;

	do
		u1 = (double)(tr_prng_next(r) >> 11) * 0x1.0p-53;
	while (u1 <= 0.0);
	u2 = (double)(tr_prng_next(r) >> 11) * 0x1.0p-53;
	return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}
