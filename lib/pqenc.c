/* pqenc: product-quantiser encoding; see pqenc.h. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "pqenc.h"

/* centroids a block of the scan: one AVX2 register of distances, or two SSE ones */
#define PQ_LANES 8

long
pq_table_floats(int D, int m)
{
	return (long)(D + m) * PQ_K;
}

void
pq_table(float *tab, const float *cent, int D, int m)
{
	int dsub = D / m;

	for (int s = 0; s < m; s++) {
		const float *c = cent + (size_t)s * PQ_K * dsub;
		float *t = tab + (size_t)s * (dsub + 1) * PQ_K, *nrm = t + (size_t)dsub * PQ_K;

		for (int j = 0; j < PQ_K; j++) {
			float n2 = 0;
			for (int k = 0; k < dsub; k++) {
				t[(size_t)k * PQ_K + j] = c[(size_t)j * dsub + k];
				n2 += c[(size_t)j * dsub + k] * c[(size_t)j * dsub + k];
			}
			nrm[j] = n2;
		}
	}
}

/* the code of one vector x (m * dsub). ||x_s - c||^2 less ||x_s||^2, the same for every
 * centroid c of sub-space s, is ||c||^2 - 2 x_s . c: a block of PQ_LANES centroids at a time,
 * their coordinates contiguous in the table, so that each lane is one centroid's distance and
 * the compiler keeps the block in a vector register. Each lane keeps its first minimum; the
 * lanes' minima then go to the lowest index among the least. */
__attribute__((target_clones("avx2", "default")))
static void
encode_one(uint8_t *code, const float *tab, const float *x, int m, int dsub)
{
	for (int s = 0; s < m; s++, x += dsub, tab += (size_t)(dsub + 1) * PQ_K) {
		const float *nrm = tab + (size_t)dsub * PQ_K;
		float mv[PQ_LANES];
		int32_t mi[PQ_LANES];
		int best = 0;

		for (int l = 0; l < PQ_LANES; l++)
			mv[l] = INFINITY, mi[l] = 0;
		for (int j = 0; j < PQ_K; j += PQ_LANES) {
			float d[PQ_LANES];

			for (int l = 0; l < PQ_LANES; l++)
				d[l] = nrm[j + l];
			for (int k = 0; k < dsub; k++) {
				float a = -2 * x[k];
				const float *t = tab + (size_t)k * PQ_K + j;

				for (int l = 0; l < PQ_LANES; l++)
					d[l] += a * t[l];
			}
			for (int l = 0; l < PQ_LANES; l++) {
				int lt = d[l] < mv[l];

				mv[l] = lt ? d[l] : mv[l];
				mi[l] = lt ? j + l : mi[l];
			}
		}
		for (int l = 1; l < PQ_LANES; l++)
			if (mv[l] < mv[best] || (mv[l] == mv[best] && mi[l] < mi[best]))
				best = l;
		code[s] = (uint8_t)mi[best];
	}
}

void
pq_encode(uint8_t *codes, const float *tab, const float *x, long n, int D, int m)
{
	#pragma omp parallel for schedule(static) if (n >= 64)
	for (long i = 0; i < n; i++)
		encode_one(codes + (size_t)i * m, tab, x + (size_t)i * D, m, D / m);
}
