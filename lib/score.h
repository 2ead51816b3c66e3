/* score: query x video similarity over whole corpora, s(q, v) = max_t cos(q, F_{v,t}), computed
 * in blocks of queries x runs of whole videos (one sgemm each, then a max over each video's
 * frames), so memory stays bounded (a block of 1,024 x 2,048 floats plus one float per frame)
 * whatever the corpus size. Used by rank and by distill-step's
 * validation. Not here: the loss-time scores of a batch (layers/model), ranking I/O (rank). */
#ifndef SCORE_H
#define SCORE_H

/* s (Nq, Nv) row-major. q (Nq, D) raw query embeddings; frames (off[Nv], D) raw frame embeddings,
 * video v owning rows off[v] .. off[v+1]-1 (at least one). Both are L2-normalised internally
 * (x / max(|x|, 1e-12)); inputs are not modified. Identical videos at different positions score
 * equal only up to float rounding: the BLAS kernel may sum tile-edge rows in another order. */
void score_cosmax(float *s, const float *q, int Nq, const float *frames, const int *off, int Nv,
                  int D);
/* whether the next video, of n frames, joins score_cosmax's current run of whole videos (run
 * frames so far, at least 1) or starts the next run. The sgemm's float rounding depends only on
 * the run, the query block and the thread count, so a corpus scored in pieces cut at run
 * boundaries, with the same query blocks, gets the same floats as in one call (rank -V). */
int score_run_joins(long run, long n);

/* out = beta * a + (1 - beta) * b, n floats (the fused score: a = exploration, b = inheritance) */
void score_fuse(float *out, const float *a, const float *b, float beta, long n);

#endif
