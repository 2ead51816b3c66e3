/* test_metrics: rank_of's tie rule and metrics_from_ranks on a hand-computed score matrix with
 * ties (odd and even medR, mAP), and on a large random matrix with injected exact ties against
 * an independent computation (a stable merge sort per query; a rank histogram for medR); the
 * same for several relevant videos per query (ranks_of, avg_precision, metrics_from_firsts);
 * the relevance file reader (lib/gt) on escapes, UTF-8 and extra keys; compare_paired on
 * identical systems, a constant shift, and against a reimplementation on the same rng stream.
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
#include <unistd.h>

#include "evalm.h"
#include "gt.h"
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

/* several relevant videos: 12 videos, order 0 4 10 | 1 2 5 8 (tied at .5) | 11 7 9 3 6 */
static void
test_hand_multi(void)
{
	static const float s[12] = { .9f, .5f, .5f, .1f, .8f, .5f, 0, .3f, .5f, .2f, .7f, .4f };
	static const int rel[3][3] = { { 8, 2, 6 }, { 5, 3 }, { 0 } }, nrel[3] = { 3, 2, 1 };
	/* ranks: video 2 -> 5, 8 -> 7 (ties: lower index first), 6 -> 12; 5 -> 6, 3 -> 11; 0 -> 1 */
	static const int want[3][3] = { { 5, 7, 12 }, { 6, 11 }, { 1 } };
	double wap[3] = { (1.0 / 5 + 2.0 / 7 + 3.0 / 12) / 3, (1.0 / 6 + 2.0 / 11) / 2, 1 };
	int rk[3], first[3], before = failures;
	double ap[3];
	Metrics m;

	for (int q = 0; q < 3; q++) {
		ranks_of(rk, s, 12, rel[q], nrel[q]);
		for (int j = 0; j < nrel[q]; j++)
			EXPECT(rk[j] == want[q][j]);
		first[q] = rk[0];
		ap[q] = avg_precision(rk, nrel[q]);
		EXPECT(NEAR(ap[q], wap[q]));
	}
	/* firsts 5 6 1: R@1 1/3, R@5 2/3 (the 6 is beyond K = 5), R@10 all; medR 5, meanR 4 */
	metrics_from_firsts(&m, first, ap, 3, 12);
	EXPECT(NEAR(m.r1, 100.0 / 3) && NEAR(m.r5, 200.0 / 3) && m.r10 == 100 && m.r100 == 100);
	EXPECT(m.medr == 5 && m.meanr == 4 && NEAR(m.map, (wap[0] + wap[1] + wap[2]) / 3));
	/* one relevant video: the single-positive metrics exactly */
	{
		int one = 5;
		ranks_of(rk, s, 12, &one, 1);
		EXPECT(rk[0] == rank_of(s, 12, 5) && avg_precision(rk, 1) == 1.0 / rk[0]);
	}
	printf("%s hand-computed multi-positive case (ties, positives beyond K, AP, medR)\n",
	       failures == before ? "OK" : "NOT OK");
}

/* lib/gt on a file with escapes, UTF-8, extra keys, blank lines, CRLF, a BOM, a duplicate video */
static void
test_gt(void)
{
	char path[] = "/tmp/test_metrics_gt_XXXXXX";
	int fd = mkstemp(path), before = failures, q;
	FILE *f;
	GtSet g;

	CHECK(fd >= 0 && (f = fdopen(fd, "w")));
	fputs("\xEF\xBB\xBF{\"query_id\": \"q\\\"1\\\\ \\u00e9\\ud83d\\ude00\\/\", \"caption\": "
	      "\"caf\xC3\xA9 \\t \", \"gt_video_ids\": [\"v1\", \"v\xE2\x82\xAC\", \"v1\"]}\r\n"
	      "\n  \t\n"
	      "{\"x\": [1, -2.5e-3, {\"y\": [true, false, null]}, \"}\"], \"gt_video_ids\":[\"a\"],"
	      "\"query_id\":\"q2\"}\n"
	      "{\"query_id\": \"q3\", \"gt_video_ids\": [\"b\", \"c\"]}", f);
	CHECK(fclose(f) == 0);
	gt_load(&g, path);
	unlink(path);
	EXPECT(g.n == 3);
	q = gt_find(&g, "q\"1\\ \xC3\xA9\xF0\x9F\x98\x80/");
	EXPECT(q == 0 && g.line[0] == 1 && g.off[1] - g.off[0] == 2);
	EXPECT(q == 0 && strcmp(g.vid[0], "v1") == 0 && strcmp(g.vid[1], "v\xE2\x82\xAC") == 0);
	q = gt_find(&g, "q2");
	EXPECT(q == 1 && g.line[1] == 4 && g.off[2] - g.off[1] == 1 && strcmp(g.vid[g.off[1]], "a") == 0);
	q = gt_find(&g, "q3");
	EXPECT(q == 2 && g.line[2] == 5 && g.off[3] - g.off[2] == 2);
	EXPECT(gt_find(&g, "q4") < 0);
	gt_free(&g);
	printf("%s relevance file: escapes, surrogate pairs, UTF-8, extra keys, blank lines, BOM\n",
	       failures == before ? "OK" : "NOT OK");
}

/* ---- paired comparison ---- */

/* compare_paired recomputed the plain way: every resample's metrics from metrics_from_firsts
 * on the resampled (or swapped) queries, with the same rng draws in the same order */
static void
compare_ref(Compare *c, int S, int **fa, double **apa, int **fb, double **apb, long nq, long nv,
            long R, uint64_t seed)
{
	int *xa = emalloc((size_t)nq * sizeof(*xa)), *xb = emalloc((size_t)nq * sizeof(*xb));
	double *ya = emalloc((size_t)nq * sizeof(*ya)), *yb = emalloc((size_t)nq * sizeof(*yb));
	double *t = ecalloc((size_t)NMETRIC * R, sizeof(*t));
	long *idx = emalloc((size_t)nq * sizeof(*idx)), cnt[NMETRIC] = { 0 };
	int *sw = emalloc((size_t)nq * sizeof(*sw));
	Metrics A, B;
	Rng g;

	memset(c, 0, sizeof(*c));
	for (int s = 0; s < S; s++) {
		metrics_from_firsts(&A, fa[s], apa[s], nq, nv);
		metrics_from_firsts(&B, fb[s], apb[s], nq, nv);
		for (int k = 0; k < NMETRIC; k++)
			c->diff[k] += (metric_value(&B, k) - metric_value(&A, k)) / S;
	}
	rng_seed(&g, seed);
	for (long r = 0; r < R; r++) {
		for (long i = 0; i < nq; i++)
			idx[i] = rng_below(&g, (uint32_t)nq);
		for (int s = 0; s < S; s++) {
			for (long i = 0; i < nq; i++) {
				xa[i] = fa[s][idx[i]], ya[i] = apa[s][idx[i]];
				xb[i] = fb[s][idx[i]], yb[i] = apb[s][idx[i]];
			}
			metrics_from_firsts(&A, xa, ya, nq, nv);
			metrics_from_firsts(&B, xb, yb, nq, nv);
			for (int k = 0; k < NMETRIC; k++)
				t[k * R + r] += (metric_value(&B, k) - metric_value(&A, k)) / S;
		}
	}
	for (int k = 0; k < NMETRIC; k++) {
		/* insertion sort: a different sort from the library's */
		double *v = t + k * R;
		for (long i = 1; i < R; i++)
			for (long j = i; j > 0 && v[j - 1] > v[j]; j--) {
				double x = v[j];
				v[j] = v[j - 1], v[j - 1] = x;
			}
		c->lo[k] = v[(long)floor(0.025 * R)];
		c->hi[k] = v[(long)ceil(0.975 * R) - 1];
	}
	for (long r = 0; r < R; r++) {
		double u[NMETRIC] = { 0 };
		for (long i = 0; i < nq; i++)
			sw[i] = (int)(rng_u64(&g) >> 63);
		for (int s = 0; s < S; s++) {
			for (long i = 0; i < nq; i++) {
				xa[i] = sw[i] ? fb[s][i] : fa[s][i], ya[i] = sw[i] ? apb[s][i] : apa[s][i];
				xb[i] = sw[i] ? fa[s][i] : fb[s][i], yb[i] = sw[i] ? apa[s][i] : apb[s][i];
			}
			metrics_from_firsts(&A, xa, ya, nq, nv);
			metrics_from_firsts(&B, xb, yb, nq, nv);
			for (int k = 0; k < NMETRIC; k++)
				u[k] += (metric_value(&B, k) - metric_value(&A, k)) / S;
		}
		for (int k = 0; k < NMETRIC; k++)
			cnt[k] += fabs(u[k]) >= fabs(c->diff[k]) - 1e-9 * MAX(1.0, fabs(c->diff[k]));
	}
	for (int k = 0; k < NMETRIC; k++)
		c->p[k] = (1.0 + cnt[k]) / (1.0 + R);
	free(xa), free(xb), free(ya), free(yb), free(t), free(idx), free(sw);
}

static void
test_compare(void)
{
	enum { S = 2, NQ = 37, NV = 150, R = 1500 };
	int *fa[S], *fb[S], before = failures;
	double *apa[S], *apb[S];
	Compare c, ref;
	Rng g;

	rng_seed(&g, 5);
	for (int s = 0; s < S; s++) {
		fa[s] = emalloc(NQ * sizeof(int)), fb[s] = emalloc(NQ * sizeof(int));
		apa[s] = emalloc(NQ * sizeof(double)), apb[s] = emalloc(NQ * sizeof(double));
		for (int i = 0; i < NQ; i++) {
			/* B a little better than A on average, with many ties among the ranks */
			fa[s][i] = 1 + (int)rng_below(&g, 15);
			int step = (int)rng_below(&g, 7) - 1;
			fb[s][i] = MAX(1, fa[s][i] - step);
			apa[s][i] = 1.0 / fa[s][i] * (0.5 + 0.5 * rng_uniform(&g));
			apb[s][i] = 1.0 / fb[s][i] * (0.5 + 0.5 * rng_uniform(&g));
		}
	}
	/* identical systems: difference 0, a zero-width interval, p = 1 */
	compare_paired(&c, S, fa, apa, fa, apa, NQ, NV, R, 3);
	for (int k = 0; k < NMETRIC; k++)
		EXPECT(c.diff[k] == 0 && c.lo[k] == 0 && c.hi[k] == 0 && c.p[k] == 1);
	/* against the reimplementation */
	compare_paired(&c, S, fa, apa, fb, apb, NQ, NV, R, 3);
	compare_ref(&ref, S, fa, apa, fb, apb, NQ, NV, R, 3);
	for (int k = 0; k < NMETRIC; k++) {
		EXPECT(NEAR(c.diff[k], ref.diff[k]) && fabs(c.lo[k] - ref.lo[k]) < 1e-9 &&
		       fabs(c.hi[k] - ref.hi[k]) < 1e-9 && c.p[k] == ref.p[k]);
		EXPECT(c.lo[k] <= c.diff[k] + 1e-9 && c.diff[k] <= c.hi[k] + 1e-9);
		EXPECT(c.p[k] > 0 && c.p[k] <= 1);
	}
	EXPECT(c.diff[M_SUMR] > 0 && c.diff[M_MEANR] < 0);
	printf("%s compare_paired = reimplementation on the same rng stream (%d x %d queries, %d "
	       "resamples; SumR B - A %.2f [%.2f, %.2f], p %.4f)\n", failures == before ? "OK" : "NOT OK",
	       S, NQ, R, c.diff[M_SUMR], c.lo[M_SUMR], c.hi[M_SUMR], c.p[M_SUMR]);
	/* a constant shift: every rank of B one worse -> meanR + 1 in every resample, and only the
	 * all-equal flips (probability 2^(1-NQ) each) reach it */
	before = failures;
	for (int s = 0; s < S; s++)
		for (int i = 0; i < NQ; i++)
			fb[s][i] = fa[s][i] + 1;
	double *none[S] = { NULL };
	compare_paired(&c, S, fa, none, fb, none, NQ, NV, R, 4);
	EXPECT(NEAR(c.diff[M_MEANR], 1) && c.lo[M_MEANR] == 1 && c.hi[M_MEANR] == 1);
	EXPECT(c.p[M_MEANR] == 1.0 / (R + 1));
	printf("%s compare_paired: constant shift of every rank -> meanR + 1 [1, 1], p = 1/(R+1)\n",
	       failures == before ? "OK" : "NOT OK");
	for (int s = 0; s < S; s++)
		free(fa[s]), free(fb[s]), free(apa[s]), free(apb[s]);
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
	/* several relevant videos per query, drawn from their own stream g2 */
	int *pos = emalloc((size_t)nv * sizeof(*pos)), *first = emalloc((size_t)nq * sizeof(*first));
	double *ap = emalloc((size_t)nq * sizeof(*ap)), msum = 0, mapsum = 0;
	long mc[4] = { 0 }, mbad = 0;
	Metrics m;
	Rng g, g2;

	rng_seed(&g, 11);
	rng_seed(&g2, 12);
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
		{
			/* reference: the positions in the stable sort, ascending */
			int rel[8], n = 1 + (int)rng_below(&g2, 8), got[8], ref[8], nr = 0;
			double refap = 0;
			for (int j = 0; j < nv; j++)
				pos[idx[j]] = j + 1;
			rel[0] = own;
			for (int j = 1; j < n; j++) {
				int v = (int)rng_below(&g2, (uint32_t)nv), dup = 0;
				for (int i = 0; i < j; i++)
					dup |= rel[i] == v;
				if (dup)
					v = own;
				rel[j] = v;
			}
			for (int j = 0; j < n; j++) {    /* distinct, in draw order */
				int dup = 0;
				for (int i = 0; i < nr; i++)
					dup |= rel[i] == rel[j];
				if (!dup)
					rel[nr++] = rel[j];
			}
			for (int j = 0; j < nr; j++)
				ref[j] = pos[rel[j]];
			for (int j = 1; j < nr; j++)
				for (int i = j; i > 0 && ref[i - 1] > ref[i]; i--) {
					int t = ref[i];
					ref[i] = ref[i - 1], ref[i - 1] = t;
				}
			ranks_of(got, s, nv, rel, nr);
			for (int j = 0; j < nr; j++) {
				mbad += got[j] != ref[j];
				refap += (j + 1.0) / ref[j] / nr;
			}
			first[q] = got[0];
			ap[q] = avg_precision(got, nr);
			mbad += !NEAR(ap[q], refap);
			msum += ref[0];
			mapsum += refap;
			for (int k = 0; k < 4; k++)
				mc[k] += ref[0] <= K[k];
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
	EXPECT(mbad == 0);
	metrics_from_firsts(&m, first, ap, nq, nv);
	EXPECT(NEAR(m.r1, 100.0 * mc[0] / nq) && NEAR(m.r5, 100.0 * mc[1] / nq));
	EXPECT(NEAR(m.r10, 100.0 * mc[2] / nq) && NEAR(m.r100, 100.0 * mc[3] / nq));
	EXPECT(NEAR(m.meanr, msum / nq) && NEAR(m.map, mapsum / nq));
	printf("%s %d x %d random scores, %d exact ties with the own video: every rank and metric "
	       "equals a stable sort's, with one and with 1-8 relevant videos (multi R@1 %.2f, "
	       "mAP %.4f)\n", failures == before ? "OK" : "NOT OK", nq, nv, ties, m.r1, m.map);
	free(s);
	free(idx);
	free(tmp);
	free(rk);
	free(hist);
	free(pos), free(first), free(ap);
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

/* the header of a scores stream of nq queries over videos v0 .. v(nv - 1), branches inh and exp */
static void
scores_header(MpWriter *w, int nq, int nv)
{
	mpw_header(w, "scores", nq, 3);
	header_videos(w, nv);
	mpw_key(w, "branches");
	mpw_array(w, 2);
	mpw_str(w, "inh");
	mpw_str(w, "exp");
	mpw_kv_str(w, "split", "test");
	mpw_record_done(w);
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
		scores_header(w, 6, 4);
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
	scores_header(w, nq, nv);
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
	test_hand_multi();
	test_gt();
	test_compare();
	test_random(small ? 1000 : 10000, small ? 500 : 2000);
	printf("%s\n", failures ? "NOT OK test_metrics" : "OK test_metrics");
	return failures ? 1 : 0;
}
