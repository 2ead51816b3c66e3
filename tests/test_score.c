/* test_score: score_cosmax against a naive double-precision reference (double loops over queries,
 * videos, frames) on random data with ragged frame counts, 1-frame videos, zero and scaled
 * vectors, copied videos and more queries / frames than one internal block; and score_fuse. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "score.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* s (Nq, Nv) = max_t cos(q_i, F_t) in double, by the definition */
static void
cosmax_naive(double *s, const float *q, int Nq, const float *f, const int *off, int Nv, int D)
{
	for (int i = 0; i < Nq; i++)
		for (int v = 0; v < Nv; v++) {
			double best = -INFINITY;
			for (int t = off[v]; t < off[v + 1]; t++) {
				double dot = 0, nq = 0, nf = 0;
				for (int j = 0; j < D; j++) {
					dot += (double)q[i * D + j] * f[(size_t)t * D + j];
					nq += (double)q[i * D + j] * q[i * D + j];
					nf += (double)f[(size_t)t * D + j] * f[(size_t)t * D + j];
				}
				dot /= fmax(sqrt(nq), 1e-12) * fmax(sqrt(nf), 1e-12);
				best = fmax(best, dot);
			}
			s[(size_t)i * Nv + v] = best;
		}
}

/* random case: returns max |score - reference| */
static double
check_random(Rng *rng, int Nq, int Nv, int maxlen, int D, int first_off)
{
	int *off = emalloc(((size_t)Nv + 1) * sizeof(*off));
	float *q, *f, *q0, *f0, *s;
	double *ref, err = 0;
	long nf;

	off[0] = first_off;               /* rows before off[0] must be ignored */
	for (int v = 0; v < Nv; v++)
		off[v + 1] = off[v] + 1 + (v % 7 == 0 ? 0 : (int)rng_below(rng, (uint32_t)maxlen));
	nf = off[Nv];
	q = efloats((size_t)Nq * D);
	f = efloats((size_t)nf * D);
	for (long i = 0; i < (long)Nq * D; i++)
		q[i] = rng_normal(rng);
	for (long i = 0; i < nf * D; i++)
		f[i] = rng_normal(rng) * (i < first_off * D ? 1e6f : 1.0f) + 0.1f;
	/* a zero frame and a zero query: cosine 0 by the max(|x|, 1e-12) rule */
	memset(f + (size_t)off[3] * D, 0, (size_t)D * sizeof(*f));
	memset(q + (size_t)1 * D, 0, (size_t)D * sizeof(*q));
	/* a frame scaled by 1e4 and a tiny query: cosines are scale-free */
	for (int j = 0; j < D; j++) {
		f[(size_t)(off[5] + 0) * D + j] *= 1e4f;
		q[(size_t)2 * D + j] *= 1e-6f;
	}
	q0 = efloats((size_t)Nq * D);
	f0 = efloats((size_t)nf * D);
	memcpy(q0, q, (size_t)Nq * D * sizeof(*q));
	memcpy(f0, f, (size_t)nf * D * sizeof(*f));
	s = efloats((size_t)Nq * Nv);
	ref = emalloc((size_t)Nq * Nv * sizeof(*ref));

	score_cosmax(s, q, Nq, f, off, Nv, D);
	cosmax_naive(ref, q, Nq, f, off, Nv, D);
	for (long i = 0; i < (long)Nq * Nv; i++)
		err = fmax(err, fabs(s[i] - ref[i]));
	EXPECT(memcmp(q, q0, (size_t)Nq * D * sizeof(*q)) == 0);   /* inputs untouched */
	EXPECT(memcmp(f, f0, (size_t)nf * D * sizeof(*f)) == 0);
	for (int v = 0; v < Nv; v++)
		EXPECT(s[1 * Nv + v] == 0.0f);                        /* zero query */
	free(q); free(f); free(q0); free(f0); free(s); free(ref); free(off);
	return err;
}

/* identical frames in different videos (one in another sgemm run) give identical scores */
static void
check_ties(Rng *rng)
{
	enum { D = 16, NV = 600, LEN = 20, NQ = 300 };
	int off[NV + 1];
	float *f = efloats((size_t)NV * LEN * D), *q = efloats((size_t)NQ * D);
	float *s = efloats((size_t)NQ * NV);
	int ok = 1;

	for (int v = 0; v <= NV; v++)
		off[v] = v * LEN;
	for (long i = 0; i < (long)NV * LEN * D; i++)
		f[i] = rng_normal(rng);
	for (long i = 0; i < (long)NQ * D; i++)
		q[i] = rng_normal(rng);
	/* video NV-1 (last run) is a copy of video 0 (first run); video 1 = video 0 shuffled */
	memcpy(f + (size_t)off[NV - 1] * D, f, (size_t)LEN * D * sizeof(*f));
	for (int t = 0; t < LEN; t++)
		memcpy(f + ((size_t)off[1] + t) * D, f + (size_t)(LEN - 1 - t) * D, D * sizeof(*f));
	score_cosmax(s, q, NQ, f, off, NV, D);
	/* Bit-equality is not promised: a BLAS kernel may sum a row at the edge of its tile in
	 * another order than one inside it (OpenBLAS's Haswell sgemm does, for the copy in the last
	 * run), so copies agree to a few float roundings of a cosine; exact ties are ranked by
	 * evalm's rule (tests/test_metrics.c). */
	for (int i = 0; i < NQ; i++)
		ok &= fabsf(s[(size_t)i * NV] - s[(size_t)i * NV + NV - 1]) <= 4 * FLT_EPSILON &&
		      fabsf(s[(size_t)i * NV] - s[(size_t)i * NV + 1]) <= 4 * FLT_EPSILON;
	printf("%s copies: a copied or frame-reversed video scores the same to 4 float epsilons\n",
	       ok ? "OK" : "NOT OK");
	failures += !ok;
	free(f); free(q); free(s);
}

/* tiny hand-checked case: D = 2 */
static void
check_hand(void)
{
	float f[] = { 1, 0,   0, 1, -1, 0,   1, 1, 0, -1 };
	int off[] = { 0, 1, 3, 5 };
	float q[] = { 1, 0,   0, 2,   -3, 0 };
	float want[] = { 1, 0, (float)M_SQRT1_2,   0, 1, (float)M_SQRT1_2,   -1, 1, 0 };
	float s[9];
	double err = 0;

	score_cosmax(s, q, 3, f, off, 3, 2);
	for (int i = 0; i < 9; i++)
		err = fmax(err, fabs(s[i] - want[i]));
	printf("%s hand: 3 queries x 3 videos, max diff %.2g\n", err < 1e-6 ? "OK" : "NOT OK", err);
	failures += !(err < 1e-6);
}

static void
check_fuse(void)
{
	float a[] = { 1, 0, -1, 0.5f }, b[] = { 0, 1, 1, 0.5f }, o[4];
	float w3[] = { 0.3f, 0.7f, 0.4f, 0.5f };
	int ok = 1;

	score_fuse(o, a, b, 0.3f, 4);
	for (int i = 0; i < 4; i++)
		ok &= fabsf(o[i] - w3[i]) < 1e-6f;
	score_fuse(o, a, b, 0.0f, 4);
	ok &= memcmp(o, b, sizeof(o)) == 0;
	score_fuse(o, a, b, 1.0f, 4);
	ok &= memcmp(o, a, sizeof(o)) == 0;
	printf("%s fuse: beta 0.3, 0 (= b exactly), 1 (= a exactly)\n", ok ? "OK" : "NOT OK");
	failures += !ok;
}

int
main(void)
{
	Rng rng;
	double e;

	rng_seed(&rng, 7);
	check_hand();
	check_fuse();
	e = check_random(&rng, 5, 9, 4, 3, 0);
	printf("%s random small: 5 x 9, D 3, max diff %.2g\n", e < 2e-6 ? "OK" : "NOT OK", e);
	failures += !(e < 2e-6);
	/* ~10,000 frames: several sgemm runs (2,048 frames each), ragged lengths, D 24 */
	e = check_random(&rng, 300, 500, 40, 24, 2);
	printf("%s random runs: max diff %.2g\n", e < 2e-6 ? "OK" : "NOT OK", e);
	failures += !(e < 2e-6);
	/* > 1,024 queries: two query blocks, the second one partial */
	e = check_random(&rng, 1100, 150, 40, 8, 1);
	printf("%s random query blocks: max diff %.2g\n", e < 2e-6 ? "OK" : "NOT OK", e);
	failures += !(e < 2e-6);
	/* one video longer than a run, next to 1-frame videos */
	{
		int off[] = { 0, 1, 9001, 9002 }, D = 8;
		float *f = efloats((size_t)9002 * D), q[2 * 8], s[6];
		double ref[6], err = 0;
		for (long i = 0; i < 9002L * D; i++)
			f[i] = rng_normal(&rng);
		for (int i = 0; i < 2 * D; i++)
			q[i] = rng_normal(&rng);
		score_cosmax(s, q, 2, f, off, 3, D);
		cosmax_naive(ref, q, 2, f, off, 3, D);
		for (int i = 0; i < 6; i++)
			err = fmax(err, fabs(s[i] - ref[i]));
		printf("%s long video: max diff %.2g\n", err < 2e-6 ? "OK" : "NOT OK", err);
		failures += !(err < 2e-6);
		free(f);
	}
	check_ties(&rng);
	if (failures)
		printf("NOT OK: %d failures\n", failures);
	return failures ? 1 : 0;
}
