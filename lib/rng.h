/* rng: xoshiro256** seeded through splitmix64; the only source of randomness in the project, so
 * a seed fixes every sample (corpus, initialisation, dropout, batches, negatives). Its state is
 * four words, saved in checkpoints so a resumed run continues the same sequence.
 * Not cryptographic. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct {
	uint64_t s[4];
} Rng;

void     rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
uint32_t rng_below(Rng *r, uint32_t n);     /* uniform in [0, n), unbiased; n > 0 */
float    rng_uniform(Rng *r);               /* uniform in [0, 1), 24 bits */
float    rng_normal(Rng *r);                /* standard normal (Box-Muller, no caching) */
void     rng_shuffle(Rng *r, int *v, int n);  /* Fisher-Yates */
/* Q (D, D): a random orthogonal matrix, its rows Gaussian ones orthonormalised in turn
 * (Gram-Schmidt, twice a row, in double) */
void     rng_orthogonal(Rng *r, float *Q, int D);

#endif
