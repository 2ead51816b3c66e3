/* rng: xoshiro256** (reference: https://prng.di.unimi.it/xoshiro256starstar.c). */
#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "util.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
rng_seed(Rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
rng_u64(Rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

uint32_t
rng_below(Rng *r, uint32_t n)
{
	/* Lemire's multiply-shift with rejection */
	uint64_t m = (uint64_t)(uint32_t)(rng_u64(r) >> 32) * n;
	uint32_t lo = (uint32_t)m;

	if (lo < n) {
		uint32_t thresh = -n % n;
		while (lo < thresh) {
			m = (uint64_t)(uint32_t)(rng_u64(r) >> 32) * n;
			lo = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

float
rng_uniform(Rng *r)
{
	return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

float
rng_normal(Rng *r)
{
	double u1 = ((rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);  /* (0, 1] */
	double u2 = (rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);

	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void
rng_shuffle(Rng *r, int *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)rng_below(r, (uint32_t)i + 1), t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

void
rng_orthogonal(Rng *r, float *Q, int D)
{
	double *row = emalloc((size_t)D * sizeof(*row));

	for (int i = 0; i < D; i++) {
		double sumsq = 0;

		for (int j = 0; j < D; j++)
			row[j] = rng_normal(r);
		for (int pass = 0; pass < 2; pass++)   /* twice: the second removes what rounding left */
			for (int k = 0; k < i; k++) {
				double d = 0;
				for (int j = 0; j < D; j++)
					d += row[j] * Q[(size_t)k * D + j];
				for (int j = 0; j < D; j++)
					row[j] -= d * Q[(size_t)k * D + j];
			}
		for (int j = 0; j < D; j++)
			sumsq += row[j] * row[j];
		for (int j = 0; j < D; j++)
			Q[(size_t)i * D + j] = (float)(row[j] / sqrt(sumsq));
	}
	free(row);
}
