/* prvr-recall: how much of a reference ranking's top K an approximate ranking finds, for the
 * search benchmark and tests: recall@K = mean over queries of |top_K(approx) ∩ top_K(ref)| / K,
 * for K = 1, 10, 100 (those no larger than both lists), with the half-width of its 95 %
 * interval over the queries (the queries are a sample: a recall@100 of 300 queries is known to
 * a few tenths of a percent, a recall@1 to one or two percent, and a table should say so). The two streams must list the same
 * videos and queries in the same order (prvr-search and prvr-search -E or rank on one input).
 * Not here: retrieval metrics of the own video (metrics). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpio.h"
#include "schema.h"
#include "util.h"

static const int Ks[] = { 1, 10, 100 };
#define NK (int)(sizeof(Ks) / sizeof(Ks[0]))

static void
help(void)
{
	printf("prvr-recall - recall@1/10/100 of a ranking against a reference ranking\n"
	       "\n"
	       "usage: %s -r REFERENCE -a APPROX [-Q]\n"
	       "\n"
	       "Reads two ranking streams of the same videos and queries (in the same order) and prints\n"
	       "one tab-separated line per K in 1, 10, 100 that both lists reach:\n"
	       "  recall@K <tab> mean over queries of |top K of APPROX ∩ top K of REFERENCE| / K\n"
	       "           <tab> half-width of its 95%% interval over the queries, 1.96 sd / sqrt(n)\n"
	       "             (normal; - for a single query)\n"
	       "\n"
	       "  -r FILE    reference ranking (e.g. prvr-search -E or rank)\n"
	       "  -a FILE    ranking to measure\n"
	       "  -Q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error.\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s -r REFERENCE -a APPROX [-Q]", argv0);
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* |a ∩ b| of two lists of k distinct indices (sorted in place) */
static int
overlap(int32_t *a, int32_t *b, int k)
{
	int n = 0;

	qsort(a, (size_t)k, sizeof(*a), cmp_i32);
	qsort(b, (size_t)k, sizeof(*b), cmp_i32);
	for (int i = 0, j = 0; i < k && j < k; )
		if (a[i] == b[j])
			n++, i++, j++;
		else if (a[i] < b[j])
			i++;
		else
			j++;
	return n;
}

int
main(int argc, char *argv[])
{
	const char *rpath = NULL, *apath = NULL;
	MpReader *r[2];
	const msgpack_object *h[2], *o[2];
	size_t nv[2];
	long k[2], ntop, nq = 0;
	double sum[NK] = { 0 }, sum2[NK] = { 0 };
	int32_t *top[2], *t[2];
	char **vid[2], ida[4096], idb[4096];
	int c;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":r:a:Q")) != -1) {
		switch (c) {
		case 'r': rpath = optarg; break;
		case 'a': apath = optarg; break;
		case 'Q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || !rpath || !apath)
		usage();
	r[0] = mpr_open(rpath);
	r[1] = mpr_open(apath);
	for (int s = 0; s < 2; s++) {
		h[s] = schema_header(r[s], "ranking");
		vid[s] = mpr_strarray(r[s], h[s], "videos", &nv[s]);
		k[s] = mpr_int(r[s], h[s], "k");
		if (nv[s] == 0)
			mpr_die(r[s], "no videos");
	}
	if (nv[0] != nv[1])
		mpr_die(r[1], "%zu videos, but %s has %zu", nv[1], r[0]->name, nv[0]);
	for (size_t v = 0; v < nv[0]; v++)
		if (strcmp(vid[0][v], vid[1][v]) != 0)
			mpr_die(r[1], "video %zu is '%s', but '%s' in %s", v, vid[1][v], vid[0][v],
			        r[0]->name);
	ntop = MIN(MIN(k[0], k[1]), (long)nv[0]);
	for (int s = 0; s < 2; s++) {
		top[s] = emalloc((size_t)MIN(k[s], (long)nv[s]) * sizeof(int32_t));
		t[s] = emalloc((size_t)ntop * sizeof(int32_t));
	}
	for (;;) {
		o[0] = mpr_next(r[0]);
		o[1] = mpr_next(r[1]);
		if (!o[0] || !o[1]) {
			if (o[0] || o[1])
				die("%s has more queries than %s", o[0] ? rpath : apath, o[0] ? apath : rpath);
			break;
		}
		mpr_strcpy(r[0], o[0], "id", ida, sizeof(ida));
		mpr_strcpy(r[1], o[1], "id", idb, sizeof(idb));
		if (strcmp(ida, idb) != 0)
			mpr_die(r[1], "query '%s', but '%s' in %s", idb, ida, rpath);
		for (int s = 0; s < 2; s++)
			mpr_i32(r[s], o[s], "top", top[s], (size_t)MIN(k[s], (long)nv[s]));
		for (int i = 0; i < NK && Ks[i] <= ntop; i++) {
			memcpy(t[0], top[0], (size_t)Ks[i] * sizeof(int32_t));
			memcpy(t[1], top[1], (size_t)Ks[i] * sizeof(int32_t));
			double x = (double)overlap(t[0], t[1], Ks[i]) / Ks[i];
			sum[i] += x, sum2[i] += x * x;
		}
		nq++;
	}
	if (nq == 0)
		die("%s: no queries", rpath);
	for (int i = 0; i < NK && Ks[i] <= ntop; i++) {
		double m = sum[i] / nq, var = (sum2[i] - nq * m * m) / MAX(nq - 1, 1);
		printf("recall@%d\t%.4f\t", Ks[i], m);
		if (nq > 1)
			printf("%.4f\n", 1.96 * sqrt(MAX(var, 0) / nq));
		else
			printf("-\n");
	}
	if (fflush(stdout) || ferror(stdout))
		die("write <stdout>:");
	for (int s = 0; s < 2; s++) {
		mpr_close(r[s]);
		for (size_t v = 0; v < nv[s]; v++)
			free(vid[s][v]);
		free(vid[s]), free(top[s]), free(t[s]);
	}
	return 0;
}
