/* test_pqenc: lib/pqenc.c's product-quantiser encoding against FAISS's own (fw_pq_encode) on
 * centroids FAISS trained (fw_pq_train) from random unit vectors, for sub-vectors of 1, 4 (the
 * default, which pqenc unrolls), 6, 9 and 20 dims (FAISS takes its BLAS path from 16). Every
 * chosen centroid is a nearest one: its squared distance, in double, is within the float
 * rounding of the two encoders (tol below) of the least over all PQ_K; where the codes differ
 * from FAISS's the two centroids are that near a tie, and such sub-vectors are rare (at most 1
 * in 1,000; 8 in 64,000 of the 1-dim ones, none of the others, when written). Exact ties go to
 * the lower centroid, across and within lanes; the codes are the same bits on one thread as on
 * two. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faissw.h"
#include "pqenc.h"
#include "rng.h"
#include "rownorm.h"
#include "threads.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* ||x - c||^2 over n dims, in double */
static double
dist2(const float *x, const float *c, int n)
{
	double s = 0;

	for (int k = 0; k < n; k++)
		s += ((double)x[k] - c[k]) * ((double)x[k] - c[k]);
	return s;
}

static double
norm(const float *x, int n)
{
	double s = 0;

	for (int k = 0; k < n; k++)
		s += (double)x[k] * x[k];
	return sqrt(s);
}

/* n unit vectors (n, D) */
static float *
units(Rng *g, long n, int D)
{
	float *x = efloats((size_t)n * D);

	for (long i = 0; i < n * D; i++)
		x[i] = rng_normal(g);
	rownorm_unit(x, n, D);
	return x;
}

/* one shape: D dims in m sub-vectors */
static void
check(Rng *g, int D, int m)
{
	enum { NTRAIN = 3000, N = 2000 };
	int dsub = D / m;
	long differ = 0, near = 0;
	/* either encoder's distance to one centroid is off by at most gamma_n (|x| + |c|)^2, n =
	 * 2 dsub + 2 float roundings (gamma_n = n u / (1 - n u), u = FLT_EPSILON / 2): FAISS sums
	 * (x - c)^2 below 16 dims and |x|^2 + |c|^2 - 2 x.c from 16, pqenc |c|^2 - 2 x.c. Two such
	 * errors separate the computed order from the true one. */
	double nu = (2.0 * dsub + 2) * FLT_EPSILON / 2, tol1 = 2 * nu / (1 - nu);
	float *xt = units(g, NTRAIN, D), *x = units(g, N, D);
	float *cent = efloats((size_t)m * PQ_K * dsub), *tab = efloats((size_t)pq_table_floats(D, m));
	uint8_t *ours = emalloc((size_t)N * m), *ref = emalloc((size_t)N * m);
	uint8_t *one = emalloc((size_t)N * m);
	FwPQ *pq = fw_pq_new(D, m, PQ_BITS);

	CHECK(pq && !fw_pq_train(pq, NTRAIN, xt, cent));
	pq_table(tab, cent, D, m);
	CHECK(!fw_pq_encode(pq, N, x, ref));
	threads_set(2);
	pq_encode(ours, tab, x, N, D, m);
	threads_set(1);
	pq_encode(one, tab, x, N, D, m);
	EXPECT(!memcmp(ours, one, (size_t)N * m));
	for (long i = 0; i < N; i++)
		for (int s = 0; s < m; s++) {
			const float *xs = x + i * D + s * dsub, *cs = cent + (size_t)s * PQ_K * dsub;
			double best = INFINITY, cmax = 0, tol, dours, dref;

			for (int j = 0; j < PQ_K; j++) {
				best = fmin(best, dist2(xs, cs + (size_t)j * dsub, dsub));
				cmax = fmax(cmax, norm(cs + (size_t)j * dsub, dsub));
			}
			tol = tol1 * pow(norm(xs, dsub) + cmax, 2);
			dours = dist2(xs, cs + (size_t)ours[i * m + s] * dsub, dsub);
			dref = dist2(xs, cs + (size_t)ref[i * m + s] * dsub, dsub);
			EXPECT(dours <= best + tol);
			if (ours[i * m + s] != ref[i * m + s]) {
				differ++;
				near += fabs(dours - dref) <= tol;
			}
		}
	printf("D %d, m %d: %ld of %ld sub-vectors coded unlike FAISS, %ld of them within %.2g "
	       "(relative) of a tie\n", D, m, differ, (long)N * m, near, tol1);
	EXPECT(near == differ);
	EXPECT(differ * 1000 <= (long)N * m);

	/* exact ties: centroid 7 copied to 8, 11 and 200 (other lanes, or its lane in the other
	 * accumulator: the lowest index wins across them) and 15 (its own lane: the first minimum
	 * is kept); a sub-vector equal to it */
	for (int e = 0; e < 2; e++) {
		int s = e ? m - 1 : 0;
		float *cs = cent + (size_t)s * PQ_K * dsub;
		static const int dup[] = { 8, 11, 15, 200 };

		for (int k = 0; k < 4; k++)
			memcpy(cs + (size_t)dup[k] * dsub, cs + 7 * dsub, (size_t)dsub * sizeof(float));
		memcpy(x + s * dsub, cs + 7 * dsub, (size_t)dsub * sizeof(float));
	}
	pq_table(tab, cent, D, m);
	pq_encode(ours, tab, x, 1, D, m);
	EXPECT(ours[0] == 7 && ours[m - 1] == 7);

	fw_pq_free(pq);
	free(xt), free(x), free(cent), free(tab), free(ours), free(ref), free(one);
}

int
main(void)
{
	static const int shape[][2] = { { 64, 16 }, { 48, 8 }, { 32, 32 }, { 36, 4 }, { 40, 2 } };
	Rng g;

	rng_seed(&g, 13);
	fw_threads(2);
	for (size_t k = 0; k < sizeof(shape) / sizeof(shape[0]); k++)
		check(&g, shape[k][0], shape[k][1]);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
