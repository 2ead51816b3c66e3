/* softnce: the soft-target InfoNCE of DL-DKD++ (doc/method.md, "DL-DKD++"), which replaces
 * each branch's InfoNCE there, and the teacher's batch score matrix that is the inheritance
 * branch's soft source. The loss returns its value and, when a d-output is not NULL,
 * ACCUMULATES scale * d(loss)/d(input) into it (as lib/loss does), in double inside.
 * Not here: the alpha/beta schedules over epochs (schedule), the hard InfoNCE of DL-DKD (loss).
 *
 * Dimension letters: Nq queries, B videos, L padded frames, E teacher dim.
 * S (Nq,B): the branch's unnormalised scores u; M (Nq,B): the soft source; qvid (Nq): index of
 * each query's own video (ground truth G: 1 at (q, qvid[q])); every video owns at least one
 * query. */
#ifndef SOFTNCE_H
#define SOFTNCE_H

/* The first floor(alpha*Nq) query rows and floor(alpha*B) video columns (batch order) keep hard
 * targets G; the others are soft, text->video per row Y_q = (1-beta) softmax_v(M_q) + beta G_q,
 * video->text per column Y_v = (1-beta) softmax_q(M_.v) + beta G_.v. Per row
 * sum_v Y_qv (logsumexp_v S_q - S_qv); per column logsumexp_q S_qv - log(sum_q Y_vq e^S_qv + 1e-12).
 * Returns alpha (hard t2v mean + hard v2t mean) + (1 - alpha) (soft t2v mean + soft v2t mean),
 * each mean over its own rows or columns, an empty part 0. 0 <= alpha, beta <= 1 (double, as
 * the schedules give them, so that the split floors exactly as the released code's).
 * dS: gradient with respect to S. dM: with respect to M through the soft targets; NULL for a
 * detached target. With M == S and dM == dS the target is not detached (the released
 * exploration branch): both gradients add into the one buffer. */
float softnce(float *dS, float *dM, float scale, const float *S, const float *M,
              const int *qvid, int Nq, int B, double alpha, double beta);

/* The teacher's scores of every query against every video of a batch:
 * s[q,v] = max over t < vlen[v] of c[q,:] . C[v,t,:] (raw dot products, not normalised), from
 * c (Nq,E) the teacher's query embeddings and C (B,L,E) its frame features (rows t >= vlen[v]
 * ignored). Holds Nq*B*L floats of frame products while it runs. */
void  teacher_scores(float *s, const float *c, const float *C, const int *vlen, int Nq, int B,
                     int L, int E);

#endif
