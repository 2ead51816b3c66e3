/* evalm: retrieval metrics from the rank of each query's relevant video (or videos), and the
 * paired bootstrap and permutation test comparing two systems query by query.
 * rank_of applies the project's tie rule (doc/method.md): videos are ordered by descending
 * score, ties broken by lower corpus index, so the own video's rank is
 *   1 + #{v : s[v] > s[own]} + #{v < own : s[v] == s[own]}.
 * With several relevant videos a query's R@K counts a relevant video within the top K, medR
 * and meanR take the first relevant video's rank, and mAP averages the precision at every
 * relevant video over the full ranking.
 * Not here: reading streams or formatting (tools/metrics.c), relevance files (gt). */
#ifndef EVALM_H
#define EVALM_H

#include <stdint.h>

typedef struct {
	long queries, videos;
	double r1, r5, r10, r100, sumr;   /* percent */
	double medr, meanr, map;          /* medR: mean of the two middle ranks for an even count */
} Metrics;

int  rank_of(const float *s, int nv, int own);
void metrics_from_ranks(Metrics *m, const int *rank, long nq, long nv);

/* ---- several relevant videos per query */

/* rank (n) = the ranks of the distinct videos rel (n) under rank_of's rule, ascending;
 * O(nv log n) */
void   ranks_of(int *rank, const float *s, int nv, const int *rel, int n);
/* average precision over the full ranking from ascending ranks (n) of all relevant videos:
 * (1/n) sum_i i / rank[i-1] */
double avg_precision(const int *rank, int n);
/* metrics from each query's first relevant rank (R@K, medR, meanR) and average precision ap
 * (mAP); ap NULL: one relevant video, ap = 1 / first */
void   metrics_from_firsts(Metrics *m, const int *first, const double *ap, long nq, long nv);

/* ---- paired comparison of two systems over the same queries */

enum { M_R1, M_R5, M_R10, M_R100, M_SUMR, M_MEDR, M_MEANR, M_MAP, NMETRIC };
extern const char *const metric_key[NMETRIC];   /* "r1" .. "map", as in the metrics stream */
double metric_value(const Metrics *m, int k);

/* S pairs of runs (seeds) of systems A and B on the same nq queries, query i of every run the
 * same query: fa[s], fb[s] (nq) first relevant ranks, apa[s], apb[s] (nq) average precisions
 * (NULL: 1 / first). The statistic of metric k is the mean over s of metric_k(B_s) -
 * metric_k(A_s) (B minus A). */
typedef struct {
	double a[NMETRIC], b[NMETRIC];  /* metric_k averaged over the S runs */
	double diff[NMETRIC];           /* the statistic on the queries as they are */
	double lo[NMETRIC], hi[NMETRIC]; /* 95 % percentile interval of the paired bootstrap */
	double p[NMETRIC];              /* two-sided p of the paired permutation test */
} Compare;

/* R resamples from Rng seed: the bootstrap draws nq query indices (rng_below, in order) per
 * resample and evaluates every run on them (queries stay paired across A, B and the runs);
 * lo, hi = the sorted statistics' entries floor(0.025 R) and ceil(0.975 R) - 1. Then the
 * permutation test, on the same stream: per resample and query one bit (rng_u64 >> 63) swaps
 * A and B for that query in every run; p = (1 + #{|t| >= |diff|}) / (1 + R). */
void compare_paired(Compare *c, int S, int *const *fa, double *const *apa, int *const *fb,
                    double *const *apb, long nq, long nv, long R, uint64_t seed);

#endif
