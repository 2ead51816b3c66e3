/* evalm: rank_of with the project's tie rule and the retrieval metrics; see evalm.h. */
#include <stdlib.h>

#include "evalm.h"
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
	long c1 = 0, c5 = 0, c10 = 0, c100 = 0;
	double sum = 0, rsum = 0;
	int *sorted;

	CHECK(nq >= 1);
	for (long i = 0; i < nq; i++) {
		int k = rank[i];
		CHECK(k >= 1);
		c1 += k <= 1;
		c5 += k <= 5;
		c10 += k <= 10;
		c100 += k <= 100;
		sum += k;
		rsum += 1.0 / k;
	}
	sorted = emalloc((size_t)nq * sizeof(*sorted));
	for (long i = 0; i < nq; i++)
		sorted[i] = rank[i];
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
	m->map = rsum / nq;   /* average precision with one relevant item is 1 / rank */
}
