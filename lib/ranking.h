/* ranking: the ranking stream (schemas/ranking.md) as rank and prvr-search write it: the header,
 * one item per query, the top K of a score vector under the project's tie rule (higher score
 * first, then lower index, as evalm's rank_of), and how many queries are scored per round.
 * Not here: scoring (lib/score), the rank of the own video (lib/evalm), metrics. */
#ifndef RANKING_H
#define RANKING_H

#include <stdint.h>

#include "mpio.h"

/* video x ranks before video y by scores s: higher score, then lower index */
static inline int ranking_better(const float *s, int x, int y) { return s[x] > s[y] || (s[x] == s[y] && x < y); }

/* queries scored per round against nv videos in nb branches: at most 2048, fewer when there are
 * many videos, so the per-branch scores held stay under 2^25 floats */
int  ranking_block(long nv, int nb);

/* top (k) = the k best of s (nv), best first, ties to the lower index; topscore (k) their scores */
void top_k(int32_t *top, float *topscore, const float *s, int nv, int k);

/* header {videos, k, beta (nil when !fused), score, split} */
void ranking_header(MpWriter *w, long count, char **vid, int nv, long k, int fused, double beta,
                    const char *score, const char *split);
/* item {id, video, rank, top i32[k], topscore f32[k]} */
void ranking_item(MpWriter *w, const char *id, const char *video, int rank, const int32_t *top,
                  const float *topscore, int k);

#endif
