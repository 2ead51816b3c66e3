/* loss: the losses of one DL-DKD training step (doc/method.md, "Losses of one training
 * step" and "Variants"): triplet ranking in both directions with their negative sampling,
 * InfoNCE in both directions, and the four distillation losses (similarity KL / MSE, feature
 * KL / MSE). Each loss returns its value and, when its d-output is not NULL, ACCUMULATES
 * scale * d(loss)/d(input) into it, so the caller weights terms by passing the weight as scale.
 * Sampled negatives are inputs (drawn beforehand by the *_sample functions from the given Rng)
 * and so are constants for the gradient. Values are accumulated in double.
 * Not here: the scores themselves (layers framesim/framemax), the KD weight schedule (sched).
 *
 * Dimension letters: Nq queries, B videos, L padded frames, E teacher feature dim.
 * s, u (Nq,B): query x video scores; qvid (Nq): index of each query's own video; every video
 * owns at least one query. */
#ifndef LOSS_H
#define LOSS_H

#include "rng.h"

/* ---- triplet ranking */

/* text->video negatives neg (Nq): hard: uniform among the min(pool, B-1) highest-scoring other
 * videos (ties: lower index ranks higher); otherwise uniform among all B-1 other videos.
 * B == 1: -1 (no negative, no loss). */
void  triplet_t2v_sample(int *neg, const float *s, const int *qvid, int Nq, int B, int hard,
                         int pool, Rng *rng);
/* mean over queries of max(0, margin + s[q,neg] - s[q,own]) */
float triplet_t2v(float *ds, float scale, const float *s, const int *qvid, const int *neg,
                  int Nq, int B, float margin);

/* video->text negatives neg (B): hard: the highest-scoring query (by s[q,v]) among the queries
 * of other videos (ties: lower index); otherwise uniform among them. None: -1. */
void  triplet_v2t_sample(int *neg, const float *s, const int *qvid, int Nq, int B, int hard,
                         Rng *rng);
/* mean over videos of max(0, margin + s[neg,v] - mean over own queries q of s[q,v]) */
float triplet_v2t(float *ds, float scale, const float *s, const int *qvid, const int *neg,
                  int Nq, int B, float margin);

/* ---- InfoNCE on unnormalised scores u (Nq,B) */

/* mean over queries of -log softmax_v(u[q,:])[own] */
float nce_t2v(float *du, float scale, const float *u, const int *qvid, int Nq, int B);
/* mean over videos of -log( sum_{q own} e^u[q,v] / sum_{all q} e^u[q,v] ) */
float nce_v2t(float *du, float scale, const float *u, const int *qvid, int Nq, int B);

/* ---- similarity distillation: S, tau (Nq,L): the student's and the teacher's frame
 * similarities of each query to its own video, first len[q] (1..L) valid; summed over queries */

/* KL( softmax(tau/temp) || softmax(S/temp) ) over the len[q] valid frames */
float kd_sim_kl(float *dS, float scale, const float *S, const float *tau, const int *len,
                int Nq, int L, float temp);
/* sum_t (S_t - tau_t)^2 / len[q] */
float kd_sim_mse(float *dS, float scale, const float *S, const float *tau, const int *len,
                 int Nq, int L);

/* ---- feature distillation: z (B,L,E) the student's frame embeddings after the training-only
 * Linear(D -> E), t (B,L,E) the teacher's frame features, valid frames t < vlen[b] (>= 1);
 * a divergence summed over videos, divided by B, times 10 */

/* per frame KL( softmax(t) || softmax(z) ), temperature 1 */
float kd_feat_kl(float *dz, float scale, const float *z, const float *t, const int *vlen,
                 int B, int L, int E);
/* per video the mean of (z - t)^2 over its vlen[b] x E elements (the released function's
 * commented-out alternative; one mean per video, not per frame), summed over videos, / B, x 10 */
float kd_feat_mse(float *dz, float scale, const float *z, const float *t, const int *vlen,
                  int B, int L, int E);

#endif
