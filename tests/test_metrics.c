/* test_metrics: rank_of's tie rule and metrics_from_ranks on a hand-computed score matrix with
 * ties (odd and even medR, mAP), and on a large random matrix with injected exact ties against
 * an independent computation (a stable merge sort per query; a rank histogram for medR).
 * With arguments it also writes streams for tests/test_tools.sh and the benchmark:
 *   test_metrics gen-small WHAT   the hand matrix below (branches inh, exp) as WHAT: scores,
 *                   ranking, or broken: badown (query 4's own video not listed), shortrow
 *                   (query 2's inh has 3 floats), nobranch (query 3 has no exp), badtop
 *                   (query 1's top lists its own video at 2 though its rank is 3)
 *   test_metrics gen-scores NQ NV SEED        random scores stream, branches inh and exp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalm.h"
#include "mpio.h"
#include "rng.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)
#define NEAR(a, b) (fabs((double)(a) - (double)(b)) <= 1e-9 * MAX(1.0, fabs((double)(b))))

/* ---- the hand matrix: 6 queries x 4 videos ---- */

static const float H[6][4] = {   /* inheritance branch */
	{ .5f, .5f, .1f, .9f },      /* own 0: .9 above, tie with v1 after it -> rank 2 */
	{ .5f, .5f, .1f, .9f },      /* own 1: .9 above, tie with v0 before it -> rank 3 */
	{ .2f, .2f, .2f, .2f },      /* own 2: ties with v0, v1 before it -> rank 3 */
	{ .2f, .2f, .2f, .2f },      /* own 3: -> rank 4 */
	{ 1, 0, 0, 0 },              /* own 0 -> rank 1 */
	{ 0, 0, -0.0f, 1 },          /* own 3 -> rank 1 */
};
static const float E[6][4] = {   /* exploration branch: own first except query 0 (rank 2) */
	{ 0, 0, 0, 1 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 }, { 1, 0, 0, 0 }, { 0, 0, 0, 1 },
};
static const int OWN[6] = { 0, 1, 2, 3, 0, 3 };

static void
test_hand(void)
{
	int want[6] = { 2, 3, 3, 4, 1, 1 }, rk[6];
	int before = failures;
	Metrics m;

	for (int q = 0; q < 6; q++) {
		rk[q] = rank_of(H[q], 4, OWN[q]);
		EXPECT(rk[q] == want[q]);
	}
	/* ranks 1 1 2 3 3 4: medR (2 + 3) / 2, meanR 14/6, mAP (1/2+1/3+1/3+1/4+1+1)/6 = 41/72 */
	metrics_from_ranks(&m, rk, 6, 4);
	EXPECT(m.queries == 6 && m.videos == 4);
	EXPECT(NEAR(m.r1, 100.0 / 3) && m.r5 == 100 && m.r10 == 100 && m.r100 == 100);
	EXPECT(NEAR(m.sumr, 300 + 100.0 / 3));
	EXPECT(m.medr == 2.5);
	EXPECT(NEAR(m.meanr, 14.0 / 6));
	EXPECT(NEAR(m.map, 41.0 / 72));
	/* first five: ranks 1 2 3 3 4 -> medR 3 (odd count) */
	metrics_from_ranks(&m, rk, 5, 4);
	EXPECT(m.medr == 3 && NEAR(m.meanr, 13.0 / 5) && NEAR(m.r1, 20));
	/* R@K boundaries: ranks 5, 6, 10, 11, 100, 101 */
	int b[6] = { 5, 6, 10, 11, 100, 101 };
	metrics_from_ranks(&m, b, 6, 200);
	EXPECT(m.r1 == 0 && NEAR(m.r5, 100.0 / 6) && NEAR(m.r10, 300.0 / 6) && NEAR(m.r100, 500.0 / 6));
	EXPECT(m.medr == 10.5);
	/* one video: always rank 1 */
	float one = 3;
	EXPECT(rank_of(&one, 1, 0) == 1);
	printf("%s hand-computed matrix with ties (ranks, R@K, SumR, medR odd/even, meanR, mAP)\n",
	       failures == before ? "OK" : "NOT OK");
}

/* ---- the independent reference ---- */

static const float *msort_s;

/* stable merge sort of idx[0..n) by descending msort_s[idx] */
static void
msort(int *idx, int *tmp, int n)
{
	int h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	msort(idx, tmp, h);
	msort(idx + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] = msort_s[idx[j]] > msort_s[idx[i]] ? idx[j++] : idx[i++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, (size_t)n * sizeof(*idx));
}

static void
test_random(int nq, int nv)
{
	int before = failures, ties = 0;
	float *s = efloats((size_t)nv);
	int *idx = emalloc((size_t)nv * sizeof(*idx)), *tmp = emalloc((size_t)nv * sizeof(*tmp));
	int *rk = emalloc((size_t)nq * sizeof(*rk));
	long *hist = ecalloc((size_t)nv + 1, sizeof(*hist));
	long c[4] = { 0 }, K[4] = { 1, 5, 10, 100 };
	double sum = 0, rsum = 0, medr = 0;
	Metrics m;
	Rng g;

	rng_seed(&g, 11);
	for (int q = 0; q < nq; q++) {
		int own = (int)rng_below(&g, (uint32_t)nv), kind = (int)rng_below(&g, 4);
		float bias = 3 * rng_uniform(&g);
		for (int v = 0; v < nv; v++)
			s[v] = rng_normal(&g);
		s[own] += bias;
		if (kind == 0)          /* coarse scores: many exact ties everywhere */
			for (int v = 0; v < nv; v++)
				s[v] = floorf(s[v] * 4) / 4;
		else if (kind == 1)     /* others exactly equal to the own score */
			for (int t = 0; t < 5; t++)
				s[rng_below(&g, (uint32_t)nv)] = s[own];
		for (int v = 0; v < nv; v++)
			ties += v != own && s[v] == s[own];
		for (int v = 0; v < nv; v++)
			idx[v] = v;
		msort_s = s;
		msort(idx, tmp, nv);
		int want = 0;
		while (idx[want] != own)
			want++;
		rk[q] = rank_of(s, nv, own);
		if (rk[q] != want + 1) {
			EXPECT(rk[q] == want + 1);
			break;
		}
		hist[rk[q]]++;
		sum += rk[q];
		rsum += 1.0 / rk[q];
		for (int k = 0; k < 4; k++)
			c[k] += rk[q] <= K[k];
	}
	/* medR from the histogram: the (nq-1)/2-th and nq/2-th smallest ranks (0-based) */
	{
		long seen = 0, lo = -1, hi = -1;
		for (int r = 1; r <= nv; r++) {
			if (lo < 0 && seen + hist[r] > (nq - 1) / 2)
				lo = r;
			if (hi < 0 && seen + hist[r] > nq / 2)
				hi = r;
			seen += hist[r];
		}
		medr = (lo + hi) / 2.0;
	}
	metrics_from_ranks(&m, rk, nq, nv);
	EXPECT(m.queries == nq && m.videos == nv);
	EXPECT(NEAR(m.r1, 100.0 * c[0] / nq) && NEAR(m.r5, 100.0 * c[1] / nq));
	EXPECT(NEAR(m.r10, 100.0 * c[2] / nq) && NEAR(m.r100, 100.0 * c[3] / nq));
	EXPECT(NEAR(m.sumr, 100.0 * (c[0] + c[1] + c[2] + c[3]) / nq));
	EXPECT(m.medr == medr);
	EXPECT(NEAR(m.meanr, sum / nq) && NEAR(m.map, rsum / nq));
	EXPECT(ties > nq / 4);
	printf("%s %d x %d random scores, %d exact ties with the own video: every rank and metric "
	       "equals a stable sort's (R@1 %.2f, medR %.1f)\n", failures == before ? "OK" : "NOT OK",
	       nq, nv, ties, m.r1, m.medr);
	free(s);
	free(idx);
	free(tmp);
	free(rk);
	free(hist);
}

/* ---- stream makers ---- */

static void
header_videos(MpWriter *w, int nv)
{
	char id[32];

	mpw_key(w, "videos");
	mpw_array(w, (size_t)nv);
	for (int v = 0; v < nv; v++) {
		snprintf(id, sizeof(id), "v%d", v);
		mpw_str(w, id);
	}
}

static void
item_ids(MpWriter *w, int q, int own)
{
	char id[64];

	snprintf(id, sizeof(id), "v%d#enc#%d", own, q);
	mpw_kv_str(w, "id", id);
	snprintf(id, sizeof(id), "v%d", own);
	mpw_kv_str(w, "video", id);
}

static int
gen_small(const char *what)
{
	MpWriter *w = mpw_open("-", 0);

	int broken = strcmp(what, "scores") != 0 && strcmp(what, "ranking") != 0;

	if (strcmp(what, "ranking") != 0 && strcmp(what, "badtop") != 0) {
		mpw_header(w, "scores", 6, 3);
		header_videos(w, 4);
		mpw_key(w, "branches");
		mpw_array(w, 2);
		mpw_str(w, "inh");
		mpw_str(w, "exp");
		mpw_kv_str(w, "split", "test");
		mpw_record_done(w);
		for (int q = 0; q < 6; q++) {
			int noexp = broken && strcmp(what, "nobranch") == 0 && q == 3;
			mpw_map(w, noexp ? 3 : 4);
			item_ids(w, q, strcmp(what, "badown") == 0 && q == 4 ? 7 : OWN[q]);
			mpw_kv_f32(w, "inh", H[q], strcmp(what, "shortrow") == 0 && q == 2 ? 3 : 4);
			if (!noexp)
				mpw_kv_f32(w, "exp", E[q], 4);
			mpw_record_done(w);
		}
	} else {
		/* the inheritance branch ranked by hand, k = 2 */
		static const int32_t top[6][2] = { { 3, 0 }, { 3, 0 }, { 0, 1 }, { 0, 1 }, { 0, 1 }, { 3, 0 } };
		static const int32_t badtop[2] = { 3, 1 };   /* query 1 (rank 3) listed second */
		static const int rank[6] = { 2, 3, 3, 4, 1, 1 };
		mpw_header(w, "ranking", 6, 5);
		header_videos(w, 4);
		mpw_kv_int(w, "k", 2);
		mpw_key(w, "beta");
		mpw_nil(w);
		mpw_kv_str(w, "score", "inh");
		mpw_kv_str(w, "split", "test");
		mpw_record_done(w);
		for (int q = 0; q < 6; q++) {
			float ts[2] = { H[q][top[q][0]], H[q][top[q][1]] };
			mpw_map(w, 5);
			item_ids(w, q, OWN[q]);
			mpw_kv_int(w, "rank", rank[q]);
			mpw_key(w, "top");
			mpw_i32bin(w, broken && q == 1 ? badtop : top[q], 2);
			mpw_kv_f32(w, "topscore", ts, 2);
			mpw_record_done(w);
		}
	}
	mpw_close(w);
	return 0;
}

static int
gen_scores(int nq, int nv, uint64_t seed)
{
	MpWriter *w = mpw_open("-", 0);
	float *a = efloats((size_t)nv), *b = efloats((size_t)nv);
	Rng g;

	rng_seed(&g, seed);
	mpw_header(w, "scores", nq, 3);
	header_videos(w, nv);
	mpw_key(w, "branches");
	mpw_array(w, 2);
	mpw_str(w, "inh");
	mpw_str(w, "exp");
	mpw_kv_str(w, "split", "test");
	mpw_record_done(w);
	for (int q = 0; q < nq; q++) {
		int own = q % nv;
		for (int v = 0; v < nv; v++) {
			a[v] = rng_uniform(&g) * 0.5f;
			b[v] = rng_uniform(&g) * 0.5f;
		}
		a[own] += 0.4f * rng_uniform(&g);
		b[own] += 0.4f * rng_uniform(&g);
		mpw_map(w, 4);
		item_ids(w, q, own);
		mpw_kv_f32(w, "inh", a, (size_t)nv);
		mpw_kv_f32(w, "exp", b, (size_t)nv);
		mpw_record_done(w);
	}
	mpw_close(w);
	free(a);
	free(b);
	return 0;
}

int
main(int argc, char *argv[])
{
	int small = getenv("PRVR_SANITIZED") != NULL;

	argv0 = "test_metrics";
	if (argc == 3 && strcmp(argv[1], "gen-small") == 0)
		return gen_small(argv[2]);
	if (argc == 5 && strcmp(argv[1], "gen-scores") == 0)
		return gen_scores((int)estrtol(argv[2], 1, 1 << 24), (int)estrtol(argv[3], 1, 1 << 20),
		                  (uint64_t)estrtol(argv[4], 0, 1L << 40));
	if (argc != 1)
		die("usage: test_metrics [gen-small WHAT | gen-scores NQ NV SEED]");
	test_hand();
	test_random(small ? 1000 : 10000, small ? 500 : 2000);
	printf("%s\n", failures ? "NOT OK test_metrics" : "OK test_metrics");
	return failures ? 1 : 0;
}
