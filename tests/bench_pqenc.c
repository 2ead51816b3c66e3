/* bench_pqenc: prvr-index's pq encoding alone at the model's shape (384 dims, the default 96
 * sub-vectors of 4 dims, 256 centroids each): lib/pqenc.c against FAISS's compute_codes
 * (fw_pq_encode), on one thread, on centroids FAISS trained from 10,000 random unit vectors.
 * Each encodes the same N = 20,000 unit vectors, alternately, 3 times; the median CPU time of
 * the calling thread (valid on a shared machine) a vector, in µs.
 * Output: "name value" lines (bench.sh style). Not a test: tests/test_pqenc.c checks the codes. */
#include <stdio.h>
#include <stdlib.h>

#include "faissw.h"
#include "pqenc.h"
#include "rng.h"
#include "rownorm.h"
#include "threads.h"
#include "util.h"

enum { D = 384, M = 96, NTRAIN = 10000, N = 20000, REPS = 3 };

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(void)
{
	float *x = efloats((size_t)(NTRAIN + N) * D), *cent = efloats((size_t)D * PQ_K);
	float *tab = efloats((size_t)pq_table_floats(D, M));
	uint8_t *codes = emalloc((size_t)N * M);
	double t[2][REPS];
	FwPQ *pq = fw_pq_new(D, M, PQ_BITS);
	Rng g;

	rng_seed(&g, 1);
	threads_set(1);
	fw_threads(1);
	for (size_t i = 0; i < (size_t)(NTRAIN + N) * D; i++)
		x[i] = rng_normal(&g);
	rownorm_unit(x, NTRAIN + N, D);
	if (!pq || fw_pq_train(pq, NTRAIN, x, cent))
		die("pq training: %s", fw_error());
	pq_table(tab, cent, D, M);
	for (int r = 0; r < REPS; r++) {
		Clock c0 = clock_now(), c1, c2;

		if (fw_pq_encode(pq, N, x + (size_t)NTRAIN * D, codes))
			die("pq encode: %s", fw_error());
		c1 = clock_now();
		pq_encode(codes, tab, x + (size_t)NTRAIN * D, N, D, M);
		c2 = clock_now();
		t[0][r] = (c1.self - c0.self) / N * 1e6;
		t[1][r] = (c2.self - c1.self) / N * 1e6;
	}
	qsort(t[0], REPS, sizeof(double), cmp_double);
	qsort(t[1], REPS, sizeof(double), cmp_double);
	printf("pq_encode_faiss_us_per_vector %.2f\n", t[0][REPS / 2]);
	printf("pq_encode_pqenc_us_per_vector %.2f\n", t[1][REPS / 2]);
	printf("pq_encode_speedup %.1f\n", t[0][REPS / 2] / t[1][REPS / 2]);
	fw_pq_free(pq);
	free(x), free(cent), free(tab), free(codes);
	return 0;
}
