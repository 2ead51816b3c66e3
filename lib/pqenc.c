/* pqenc: product-quantiser encoding; see pqenc.h. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pqenc.h"

/* centroids a block of the scan: one SSE register of distances (VEX-encoded in the avx2
 * clone). 8, one AVX2 register, was a fifth faster in the avx2 clone, but where AVX is missing
 * (the default clone) GCC lowers 32-byte vectors through memory, twice FAISS's time. */
#define PQ_LANES 4

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

/* PQ_LANES floats and their int32 masks and indices: GCC's (and clang's) vector extension, so
 * that a block of distances stays in one register. Written as plain loops over arrays, GCC
 * vectorised them but kept the lanes on the stack, reloaded at every block: several times
 * slower. */
typedef float   lanes_f __attribute__((vector_size(4 * PQ_LANES)));
typedef int32_t lanes_i __attribute__((vector_size(4 * PQ_LANES)));
_Static_assert(PQ_LANES == 4, "nearest() numbers the lanes 0..3");

/* the nearest of the PQ_K centroids of one sub-space (table t) to x (dsub). ||x - c||^2 less
 * ||x||^2, the same for every centroid c, is ||c||^2 - 2 x . c: two blocks of PQ_LANES
 * centroids at a time, their coordinates contiguous in the table, each lane one centroid's
 * distance. Each lane of each of the two keeps its first minimum (two, so that one block's
 * compare and blend need not wait for the other's); of the minima the least wins, the lower
 * index on a tie. Inlined, so that a constant dsub unrolls the loop over the dims. */
static inline __attribute__((always_inline)) uint8_t
nearest(const float *t, const float *x, int dsub)
{
	const float *nrm = t + (size_t)dsub * PQ_K;
	lanes_f mv0 = (lanes_f){ 0 } + INFINITY, mv1 = mv0, d0, d1, c;
	lanes_i mi0 = { 0 }, mi1 = mi0, at = { 0, 1, 2, 3 }, lt;
	float mv[PQ_LANES], bv;
	int32_t mi[PQ_LANES], bi;

	for (int j = 0; j < PQ_K; j += 2 * PQ_LANES, at += 2 * PQ_LANES) {
		memcpy(&d0, nrm + j, sizeof(d0));
		memcpy(&d1, nrm + j + PQ_LANES, sizeof(d1));
		for (int k = 0; k < dsub; k++) {
			float a = -2 * x[k];

			memcpy(&c, t + (size_t)k * PQ_K + j, sizeof(c));
			d0 += a * c;
			memcpy(&c, t + (size_t)k * PQ_K + j + PQ_LANES, sizeof(c));
			d1 += a * c;
		}
		lt = d0 < mv0;
		mv0 = (lanes_f)(((lanes_i)d0 & lt) | ((lanes_i)mv0 & ~lt));
		mi0 = (at & lt) | (mi0 & ~lt);
		lt = d1 < mv1;
		mv1 = (lanes_f)(((lanes_i)d1 & lt) | ((lanes_i)mv1 & ~lt));
		mi1 = ((at + PQ_LANES) & lt) | (mi1 & ~lt);
	}
	lt = (mv1 < mv0) | ((mv1 == mv0) & (mi1 < mi0));
	mv0 = (lanes_f)(((lanes_i)mv1 & lt) | ((lanes_i)mv0 & ~lt));
	mi0 = (mi1 & lt) | (mi0 & ~lt);
	/* copied out through compound literals: a vector whose own address is taken lives on the
	 * stack, and would go through it at every block */
	memcpy(mv, (lanes_f[1]){ mv0 }, sizeof(mv));
	memcpy(mi, (lanes_i[1]){ mi0 }, sizeof(mi));
	bv = mv[0], bi = mi[0];
	for (int l = 1; l < PQ_LANES; l++) {
		int take = (mv[l] < bv) | ((mv[l] == bv) & (mi[l] < bi));   /* no branch to mispredict */

		bv = take ? mv[l] : bv;
		bi = take ? mi[l] : bi;
	}
	return (uint8_t)bi;
}

/* the code of one vector x (m * dsub); the default 4-dim sub-vectors unrolled */
__attribute__((target_clones("avx2", "default")))
static void
encode_one(uint8_t *code, const float *tab, const float *x, int m, int dsub)
{
	for (int s = 0; s < m; s++, x += dsub, tab += (size_t)(dsub + 1) * PQ_K)
		code[s] = dsub == 4 ? nearest(tab, x, 4) : nearest(tab, x, dsub);
}

void
pq_encode(uint8_t *codes, const float *tab, const float *x, long n, int D, int m)
{
	/* a vector is ~10 us at the default shape: a video's frames are worth the threads */
	#pragma omp parallel for schedule(static) if (n >= 16)
	for (long i = 0; i < n; i++)
		encode_one(codes + (size_t)i * m, tab, x + (size_t)i * D, m, D / m);
}
