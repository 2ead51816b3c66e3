/* evalm: rank_of with the project's tie rule, the retrieval metrics with one or several
 * relevant videos, and the paired comparison; see evalm.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evalm.h"
#include "rng.h"
#include "util.h"

int
rank_of(const float *s, int nv, int own)
{
	float so;
	int r = 1;

	CHECK(nv >= 1 && own >= 0 && own < nv);
	so = s[own];
	/* 1 + #{v : s[v] > s[own]} + #{v < own : s[v] == s[own]}: lower index first on ties */
	for (int v = 0; v < own; v++)
		r += s[v] >= so;
	for (int v = own + 1; v < nv; v++)
		r += s[v] > so;
	return r;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

void
metrics_from_ranks(Metrics *m, const int *rank, long nq, long nv)
{
	metrics_from_firsts(m, rank, NULL, nq, nv);
}

void
metrics_from_firsts(Metrics *m, const int *first, const double *ap, long nq, long nv)
{
	long c1 = 0, c5 = 0, c10 = 0, c100 = 0;
	double sum = 0, rsum = 0;
	int *sorted;

	CHECK(nq >= 1);
	for (long i = 0; i < nq; i++) {
		int k = first[i];
		CHECK(k >= 1);
		c1 += k <= 1;
		c5 += k <= 5;
		c10 += k <= 10;
		c100 += k <= 100;
		sum += k;
		/* average precision with one relevant item is 1 / rank */
		rsum += ap ? ap[i] : 1.0 / k;
	}
	sorted = emalloc((size_t)nq * sizeof(*sorted));
	for (long i = 0; i < nq; i++)
		sorted[i] = first[i];
	qsort(sorted, (size_t)nq, sizeof(*sorted), cmp_int);
	/* median: the middle rank, or the mean of the two middle ranks for an even count */
	m->medr = nq % 2 ? sorted[nq / 2] : 0.5 * ((double)sorted[nq / 2 - 1] + sorted[nq / 2]);
	free(sorted);
	m->queries = nq;
	m->videos = nv;
	m->r1 = 100.0 * c1 / nq;
	m->r5 = 100.0 * c5 / nq;
	m->r10 = 100.0 * c10 / nq;
	m->r100 = 100.0 * c100 / nq;
	m->sumr = m->r1 + m->r5 + m->r10 + m->r100;
	m->meanr = sum / nq;
	m->map = rsum / nq;
}

/* ---- several relevant videos */

typedef struct {
	float s;
	int v;
} Scored;

/* better first: higher score, then lower index (rank_of's rule) */
static int
cmp_scored(const void *a, const void *b)
{
	const Scored *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return (x->v > y->v) - (x->v < y->v);
}

void
ranks_of(int *rank, const float *s, int nv, const int *rel, int n)
{
	Scored *r = emalloc((size_t)n * sizeof(*r));
	long *cnt = ecalloc((size_t)n + 1, sizeof(*cnt)), acc = 0;

	CHECK(n >= 1 && n <= nv);
	for (int j = 0; j < n; j++) {
		CHECK(rel[j] >= 0 && rel[j] < nv);
		r[j] = (Scored){ s[rel[j]], rel[j] };
	}
	qsort(r, (size_t)n, sizeof(*r), cmp_scored);
	/* rank(r_j) = 1 + #{v : v before r_j}; with r sorted best first, the relevant videos that
	 * v comes before are a suffix r_J.. r_{n-1}: count each v at its J, then prefix-sum */
	for (int v = 0; v < nv; v++) {
		Scored x = { s[v], v };
		int lo = 0, hi = n;
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			if (cmp_scored(&x, &r[mid]) < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		cnt[lo]++;
	}
	for (int j = 0; j < n; j++) {
		acc += cnt[j];
		rank[j] = (int)(1 + acc);
		CHECK(j == 0 || rank[j] > rank[j - 1]);
	}
	free(r);
	free(cnt);
}

double
avg_precision(const int *rank, int n)
{
	double sum = 0;

	CHECK(n >= 1);
	for (int i = 0; i < n; i++)
		sum += (double)(i + 1) / rank[i];
	return sum / n;
}

/* ---- paired comparison */

const char *const metric_key[NMETRIC] = { "r1", "r5", "r10", "r100", "sumr", "medr", "meanr", "map" };

double
metric_value(const Metrics *m, int k)
{
	switch (k) {
	case M_R1: return m->r1;
	case M_R5: return m->r5;
	case M_R10: return m->r10;
	case M_R100: return m->r100;
	case M_SUMR: return m->sumr;
	case M_MEDR: return m->medr;
	case M_MEANR: return m->meanr;
	default: CHECK(k == M_MAP); return m->map;
	}
}

/* metric k of one query with first relevant rank f and average precision ap, for every metric
 * that is a mean over queries (all but medR) */
static double
query_value(int k, int f, double ap)
{
	switch (k) {
	case M_R1: return 100.0 * (f <= 1);
	case M_R5: return 100.0 * (f <= 5);
	case M_R10: return 100.0 * (f <= 10);
	case M_R100: return 100.0 * (f <= 100);
	case M_SUMR: return 100.0 * ((f <= 1) + (f <= 5) + (f <= 10) + (f <= 100));
	case M_MEANR: return f;
	default: CHECK(k == M_MAP); return ap;
	}
}

/* the k-th smallest of v (n), reordering v (Hoare's selection) */
static int
select_int(int *v, long n, long k)
{
	long lo = 0, hi = n - 1;

	while (lo < hi) {
		int pivot = v[lo + (hi - lo) / 2];
		long i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				int t = v[i];
				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

/* the median as metrics_from_firsts defines it, reordering v */
static double
median_int(int *v, long n)
{
	int a = select_int(v, n, (n - 1) / 2), b = a;

	if (n % 2 == 0) {
		/* after the selection every entry past (n-1)/2 is >= a: the next order statistic is
		 * their minimum */
		b = v[n / 2];
		for (long i = n / 2 + 1; i < n; i++)
			b = MIN(b, v[i]);
	}
	return 0.5 * ((double)a + b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
compare_paired(Compare *c, int S, int *const *fa, double *const *apa, int *const *fb,
               double *const *apb, long nq, long nv, long R, uint64_t seed)
{
	double *d = emalloc((size_t)NMETRIC * nq * sizeof(*d));   /* per metric, query: pooled B - A */
	double *boot = emalloc((size_t)NMETRIC * R * sizeof(*boot));
	long *idx = emalloc((size_t)nq * sizeof(*idx)), *pcount = ecalloc(NMETRIC, sizeof(*pcount));
	int *ma = emalloc((size_t)nq * sizeof(*ma)), *mb = emalloc((size_t)nq * sizeof(*mb));
	unsigned char *flip = emalloc((size_t)nq);
	Rng g;

	CHECK(S >= 1 && nq >= 1 && R >= 1);
	memset(c, 0, sizeof(*c));
	for (int s = 0; s < S; s++) {
		Metrics A, B;
		metrics_from_firsts(&A, fa[s], apa[s], nq, nv);
		metrics_from_firsts(&B, fb[s], apb[s], nq, nv);
		for (int k = 0; k < NMETRIC; k++) {
			c->a[k] += metric_value(&A, k) / S;
			c->b[k] += metric_value(&B, k) / S;
			c->diff[k] += (metric_value(&B, k) - metric_value(&A, k)) / S;
		}
	}
	for (int k = 0; k < NMETRIC; k++)
		for (long i = 0; k != M_MEDR && i < nq; i++) {
			double x = 0;
			for (int s = 0; s < S; s++)
				x += query_value(k, fb[s][i], apb[s] ? apb[s][i] : 1.0 / fb[s][i]) -
				     query_value(k, fa[s][i], apa[s] ? apa[s][i] : 1.0 / fa[s][i]);
			d[(size_t)k * nq + i] = x / S;
		}

	rng_seed(&g, seed);
	/* the bootstrap: the same resampled queries for A, B and every run */
	for (long r = 0; r < R; r++) {
		for (long i = 0; i < nq; i++)
			idx[i] = (long)rng_below(&g, (uint32_t)nq);
		for (int k = 0; k < NMETRIC; k++) {
			double t = 0;
			if (k == M_MEDR) {
				for (int s = 0; s < S; s++) {
					for (long i = 0; i < nq; i++)
						ma[i] = fa[s][idx[i]], mb[i] = fb[s][idx[i]];
					t += (median_int(mb, nq) - median_int(ma, nq)) / S;
				}
			} else {
				for (long i = 0; i < nq; i++)
					t += d[(size_t)k * nq + idx[i]];
				t /= nq;
			}
			boot[(size_t)k * R + r] = t;
		}
	}
	for (int k = 0; k < NMETRIC; k++) {
		double *b = boot + (size_t)k * R;
		qsort(b, (size_t)R, sizeof(*b), cmp_double);
		c->lo[k] = b[(long)floor(0.025 * R)];
		c->hi[k] = b[(long)ceil(0.975 * R) - 1];
	}

	/* the permutation test: under "A and B are exchangeable" each query's pair may swap */
	for (long r = 0; r < R; r++) {
		for (long i = 0; i < nq; i++)
			flip[i] = (unsigned char)(rng_u64(&g) >> 63);
		for (int k = 0; k < NMETRIC; k++) {
			double t = 0, tol = 1e-9 * MAX(1.0, fabs(c->diff[k]));
			if (k == M_MEDR) {
				for (int s = 0; s < S; s++) {
					for (long i = 0; i < nq; i++) {
						ma[i] = flip[i] ? fb[s][i] : fa[s][i];
						mb[i] = flip[i] ? fa[s][i] : fb[s][i];
					}
					t += (median_int(mb, nq) - median_int(ma, nq)) / S;
				}
			} else {
				for (long i = 0; i < nq; i++)
					t += flip[i] ? -d[(size_t)k * nq + i] : d[(size_t)k * nq + i];
				t /= nq;
			}
			/* tol: a statistic equal to the observed one up to the order of summation */
			pcount[k] += fabs(t) >= fabs(c->diff[k]) - tol;
		}
	}
	for (int k = 0; k < NMETRIC; k++)
		c->p[k] = (1.0 + pcount[k]) / (1.0 + R);
	free(d), free(boot), free(idx), free(pcount), free(ma), free(mb), free(flip);
}
