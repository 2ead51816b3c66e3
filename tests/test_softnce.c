/* test_softnce: DL-DKD++'s soft-target InfoNCE (lib/softnce.c) and the teacher's batch scores.
 * The loss's value against a naive double-precision reimplementation written from
 * doc/method.md ("DL-DKD++") and against a tiny case computed by hand; its gradients against
 * central differences for a detached soft source M (d/dS and d/dM) and for M = S (the
 * exploration branch, target not detached), over splits where the hard or the soft part of
 * either direction is empty; all hard targets (alpha = 1) against lib/loss's InfoNCE.
 * Prints OK / NOT OK per check; exit 0 iff all OK. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "loss.h"
#include "rng.h"
#include "schedule.h"
#include "softnce.h"
#include "util.h"

#define SCALE 0.7f /* every gradient is accumulated with this scale, and checked against it */

static Rng rng;

/* the case under test */
static struct {
	int Nq, B;
	const int *qvid;
	float *S, *M;
	double alpha, beta;
} T;

/* the spec, term by term: targets first, then the four means; no max subtraction (|x| <= 2) */
static double
naive(const float *S, const float *M, const int *qvid, int Nq, int B, double alpha,
      double beta)
{
	int nh = (int)(alpha * Nq), bh = (int)(alpha * B);
	double part[2][2] = {{0}}; /* [hard, soft][t2v, v2t] */

	for (int q = 0; q < Nq; q++) {
		double zs = 0.0, zm = 0.0, l = 0.0;

		for (int v = 0; v < B; v++) {
			zs += exp((double)S[q * B + v]);
			zm += exp((double)M[q * B + v]);
		}
		for (int v = 0; v < B; v++) {
			double G = v == qvid[q];
			double Y = q < nh ? G : (1 - beta) * exp((double)M[q * B + v]) / zm + beta * G;

			l += Y * (log(zs) - S[q * B + v]);
		}
		part[q >= nh][0] += l;
	}
	for (int v = 0; v < B; v++) {
		double zs = 0.0, zm = 0.0, zy = 0.0;

		for (int q = 0; q < Nq; q++) {
			zs += exp((double)S[q * B + v]);
			zm += exp((double)M[q * B + v]);
		}
		for (int q = 0; q < Nq; q++) {
			double G = qvid[q] == v;
			double Y = v < bh ? G : (1 - beta) * exp((double)M[q * B + v]) / zm + beta * G;

			zy += Y * exp((double)S[q * B + v]);
		}
		part[v >= bh][1] += log(zs) - log(zy + 1e-12);
	}
	return alpha * ((nh ? part[0][0] / nh : 0) + (bh ? part[0][1] / bh : 0)) +
	       (1 - alpha) * ((Nq > nh ? part[1][0] / (Nq - nh) : 0) +
	                      (B > bh ? part[1][1] / (B - bh) : 0));
}

static double
f_detached(void)
{
	return SCALE * softnce(NULL, NULL, 0, T.S, T.M, T.qvid, T.Nq, T.B, T.alpha, T.beta);
}

static double
f_tied(void)
{
	return SCALE * softnce(NULL, NULL, 0, T.S, T.S, T.qvid, T.Nq, T.B, T.alpha, T.beta);
}

/* value vs naive, d/dS and d/dM with M detached, and d/dS with M = S */
static void
check_case(int Nq, int B, const int *qvid, double alpha, double beta)
{
	size_t n = (size_t)Nq * B;
	float *dS = efloats(n), *dM = efloats(n), *dT = efloats(n), *dS0 = efloats(n);
	char what[160], tag[80];
	double ref, got;

	snprintf(tag, sizeof(tag), "Nq %d B %d alpha %g beta %g (hard rows %d, hard cols %d)", Nq, B,
	         alpha, beta, (int)floor(alpha * Nq), (int)floor(alpha * B));
	T.Nq = Nq, T.B = B, T.qvid = qvid, T.alpha = alpha, T.beta = beta;
	T.S = gc_randv(&rng, n, -2, 2), T.M = gc_randv(&rng, n, -2, 2);

	ref = naive(T.S, T.M, qvid, Nq, B, alpha, beta);
	got = softnce(NULL, NULL, 0, T.S, T.M, qvid, Nq, B, alpha, beta);
	snprintf(what, sizeof(what), "value vs naive, %s", tag);
	gc_report(what, fabs(got - ref) <= 1e-5, fabs(got - ref));
	ref = naive(T.S, T.S, qvid, Nq, B, alpha, beta);
	got = softnce(NULL, NULL, 0, T.S, T.S, qvid, Nq, B, alpha, beta);
	snprintf(what, sizeof(what), "value vs naive, M = S, %s", tag);
	gc_report(what, fabs(got - ref) <= 1e-5, fabs(got - ref));

	softnce(dS0, NULL, SCALE, T.S, T.M, qvid, Nq, B, alpha, beta);
	softnce(dS, dM, SCALE, T.S, T.M, qvid, Nq, B, alpha, beta);
	snprintf(what, sizeof(what), "dS the same with and without dM, %s", tag);
	gc_report(what, memcmp(dS, dS0, n * sizeof(float)) == 0, 0.0);
	snprintf(what, sizeof(what), "detached dS, %s", tag);
	gc_check(what, f_detached, T.S, dS, n, 1e-2f, 1e-3);
	snprintf(what, sizeof(what), "detached dM, %s", tag);
	gc_check(what, f_detached, T.M, dM, n, 1e-2f, 1e-3);
	softnce(dT, dT, SCALE, T.S, T.S, qvid, Nq, B, alpha, beta);
	snprintf(what, sizeof(what), "undetached (M = S) dS, %s", tag);
	gc_check(what, f_tied, T.S, dT, n, 1e-2f, 1e-3);
	free(T.S); free(T.M); free(dS); free(dM); free(dT); free(dS0);
}

/* Nq = B = 2, own videos 0, 1, alpha = beta = 0.5: row 0 and column 0 hard, row 1 and column 1
 * soft. S = [[ln 3, 0], [0, ln 3]], M = [[0, 0], [ln 3, 0]].
 *   hard row 0: ln 4 - ln 3.  soft row 1: Y = 0.5 (3/4, 1/4) + 0.5 (0, 1) = (3/8, 5/8),
 *     3/8 ln 4 + 5/8 (ln 4 - ln 3) = ln 4 - 5/8 ln 3.
 *   hard column 0: ln 4 - ln(3 + 1e-12).  soft column 1: Y = 0.5 (1/2, 1/2) + 0.5 (0, 1) =
 *     (1/4, 3/4), sum Y e^S = 1/4 + 9/4 = 5/2: ln 4 - ln(5/2 + 1e-12).
 *   L = 0.5 (hard row + hard column) + 0.5 (soft row + soft column).
 * dL/dS[0][0]: row 0 gives 0.5 (3/4 - 1), column 0 gives 0.5 (3/4 - 3/(3 + 1e-12)): -1/4.
 * dL/dS[1][1]: row 1 gives 0.5 (3/4 - 5/8) = 1/16, column 1 gives 0.5 (3/4 - 9/4 / (5/2)) =
 *   -3/40: -1/80. */
static void
test_hand(void)
{
	int qvid[2] = {0, 1};
	float S[4] = {logf(3), 0, 0, logf(3)}, M[4] = {0, 0, logf(3), 0}, dS[4] = {0};
	double want = 0.5 * (log(4.0) - log(3.0) + log(4.0) - log(3.0 + 1e-12)) +
	              0.5 * (log(4.0) - 5.0 / 8 * log(3.0) + log(4.0) - log(2.5 + 1e-12));
	double got = softnce(dS, NULL, 1.0f, S, M, qvid, 2, 2, 0.5, 0.5);

	gc_report("hand case value", fabs(got - want) <= 1e-6, fabs(got - want));
	gc_report("hand case dS[0][0] = -1/4", fabs(dS[0] + 0.25) <= 1e-6, fabs(dS[0] + 0.25));
	gc_report("hand case dS[1][1] = -1/80", fabs(dS[3] + 0.0125) <= 1e-6, fabs(dS[3] + 0.0125));
}

/* alpha = 1: every target hard, so the loss is DL-DKD's nce_t2v + nce_v2t (but for the 1e-12)
 * and the soft source has no gradient */
static void
test_all_hard(void)
{
	int Nq = 7, B = 3, qvid[7] = {2, 0, 1, 1, 0, 2, 0};
	size_t n = (size_t)Nq * B;
	float *S = gc_randv(&rng, n, -2, 2), *M = gc_randv(&rng, n, -2, 2);
	float *dS = efloats(n), *dM = efloats(n), *du = efloats(n);
	double *ref = emalloc(n * sizeof(*ref)), got, want, mx = 0.0;

	got = softnce(dS, dM, SCALE, S, M, qvid, Nq, B, 1.0, 0.5);
	want = nce_t2v(du, SCALE, S, qvid, Nq, B) + nce_v2t(du, SCALE, S, qvid, Nq, B);
	gc_report("alpha 1 value = nce_t2v + nce_v2t", fabs(got - want) <= 1e-6, fabs(got - want));
	for (size_t i = 0; i < n; i++) {
		ref[i] = du[i];
		mx = fmax(mx, fabs(dM[i]));
	}
	gc_compare("alpha 1 dS = d(nce_t2v + nce_v2t)", dS, ref, n, 1e-6);
	gc_report("alpha 1 dM = 0", mx == 0.0, mx);
	free(S); free(M); free(dS); free(dM); free(du); free(ref);
}

/* scores hundreds of units apart (logsumexp with max subtraction) stay finite, and the
 * video->text log's shift does not lose a target sitting far below its column's max */
static void
test_large(void)
{
	int Nq = 5, B = 3, qvid[5] = {0, 1, 2, 0, 1};
	size_t n = (size_t)Nq * B;
	float *S = gc_randv(&rng, n, -400, 400), *M = gc_randv(&rng, n, -400, 400);
	float *dS = efloats(n), *dM = efloats(n);
	float l = softnce(dS, dM, 1.0f, S, M, qvid, Nq, B, 0.4, 0.5);
	int ok = isfinite(l);

	for (size_t i = 0; i < n; i++)
		ok = ok && isfinite(dS[i]) && isfinite(dM[i]);
	gc_report("finite value and gradients at |S|, |M| ~ 400", ok, 0.0);
	/* alpha 1, own videos 0, 1, S = [[100, 0], [900, 0]]: rows ln(e^100 + 1) - 100 (about 0)
	 * and ln(e^900 + 1) (about 900); column 0 lse(100, 900) - ln(e^100 + 1e-12) = 800 (a shift
	 * by the column's max would underflow e^-800 and give 900 - ln 1e-12); column 1 ln 2 -
	 * ln(1 + 1e-12). L = 900 / 2 + (800 + ln 2) / 2 */
	{
		int qv[2] = {0, 1};
		float s2[4] = {100, 0, 900, 0};
		double want = 450.0 + (800.0 + log(2.0)) / 2;
		float l2 = softnce(NULL, NULL, 0, s2, s2, qv, 2, 2, 1.0, 0.5);

		gc_report("video->text target 800 below its column's max", fabs(l2 - want) <= 1e-3,
		          fabs(l2 - want));
	}
	free(S); free(M); free(dS); free(dM);
}

/* the teacher's batch scores against a naive max of dot products in double; padded frames
 * hold large values that must not win */
static void
test_teacher_scores(void)
{
	int Nq = 4, B = 3, L = 5, E = 6, vlen[3] = {5, 2, 1};
	float *c = gc_randv(&rng, (size_t)Nq * E, -1, 1), *C = gc_randv(&rng, (size_t)B * L * E, -1, 1);
	float *s = efloats((size_t)Nq * B);
	double ref[12];

	for (int v = 0; v < B; v++)
		for (int t = vlen[v]; t < L; t++)
			for (int e = 0; e < E; e++)
				C[((size_t)v * L + t) * E + e] = 100.0f;
	for (int q = 0; q < Nq; q++)
		for (int v = 0; v < B; v++) {
			double best = -HUGE_VAL;

			for (int t = 0; t < vlen[v]; t++) {
				double d = 0.0;

				for (int e = 0; e < E; e++)
					d += (double)c[q * E + e] * C[((size_t)v * L + t) * E + e];
				best = fmax(best, d);
			}
			ref[q * B + v] = best;
		}
	teacher_scores(s, c, C, vlen, Nq, B, L, E);
	gc_compare("teacher_scores vs naive max of dot products", s, ref, (size_t)Nq * B, 1e-5);
	free(c); free(C); free(s);
}

int
main(void)
{
	static const int q7[7] = {0, 0, 1, 1, 1, 2, 0}, q5[5] = {3, 0, 4, 1, 2};
	static const int q12[12] = {0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0};

	rng_seed(&rng, 2025);
	test_hand();
	test_all_hard();
	test_large();
	test_teacher_scores();
	check_case(7, 3, q7, 0.5, 0.5);   /* 3 hard rows, 1 hard column */
	check_case(7, 3, q7, 0.0, 0.8);   /* all soft */
	check_case(7, 3, q7, 1.0, 0.5);   /* all hard: d/dM is 0 */
	check_case(7, 3, q7, 0.3, 0.0);   /* hard columns empty though alpha > 0; targets softmax(M) only */
	check_case(7, 3, q7, 0.1, 1.0);   /* both hard parts empty; beta 1: soft targets are G */
	check_case(5, 5, q5, 0.8, 0.8);   /* a permutation; alpha, beta about those of epoch 0 */
	check_case(12, 6, q12, softnce_alpha_at_epoch(50), softnce_beta_at_epoch(50));
	return gc_finish();
}
