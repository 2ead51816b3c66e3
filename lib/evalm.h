/* evalm: retrieval metrics from the rank of each query's one relevant video.
 * rank_of applies the project's tie rule (doc/method.md): videos are ordered by descending
 * score, ties broken by lower corpus index, so the own video's rank is
 *   1 + #{v : s[v] > s[own]} + #{v < own : s[v] == s[own]}.
 * Not here: reading streams or formatting (tools/metrics.c). */
#ifndef EVALM_H
#define EVALM_H

typedef struct {
	long queries, videos;
	double r1, r5, r10, r100, sumr;   /* percent */
	double medr, meanr, map;          /* medR: mean of the two middle ranks for an even count */
} Metrics;

int  rank_of(const float *s, int nv, int own);
void metrics_from_ranks(Metrics *m, const int *rank, long nq, long nv);

#endif
