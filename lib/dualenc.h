/* dualenc: Dual Encoding (Dong et al., "Dual Encoding for Zero-Example Video Retrieval", CVPR
 * 2019) as the student of traditional text-to-video retrieval on pre-trimmed clips
 * (doc/method.md, "Variants": supplementary Table 1), with the distillation over the
 * batch's videos. Each side (video frames or word embeddings) is encoded at three levels:
 *   1 mean pooling of the input over valid steps,
 *   2 a bi-GRU (hidden H per direction) and mean pooling of its outputs,
 *   3 1-D convolutions over the bi-GRU outputs (kernel sizes 2,3,4 for text and 2,3,4,5 for
 *     video, r filters each, zero padding of k-1 steps on both sides as the original's
 *     Conv2d(padding=(k-1, 0))), ReLU, max over time;
 * the three are concatenated, go through dropout, a Linear to the common space (D) and batch
 * normalisation (the original's "last BN"; running statistics at inference) and are
 * L2-normalised. Similarity is the cosine. Loss of a batch of B videos and Nq captions (own
 * video qvid[q]): the triplet ranking loss with the hardest negative of the batch (VSE++ max
 * violation), summed over captions (text->video) and over videos (video->text, positive = mean
 * over the video's captions, one caption: the VSE++ loss), margin 0.2, plus
 *   kd_weight * sum_q KL( softmax_v(tau[q,v]/T) || softmax_v(s[q,v]/T) )
 * over the batch's videos, tau the teacher's cosines.
 * Without the batch normalisation (bn 0) the hardest-negative loss collapses from scratch on
 * the synthetic corpora (every similarity equal, loss = 2 x margin per pair). The original's
 * text level 1 is a bag of words over a vocabulary; here inputs are word embeddings (no token
 * ids), so level 1 is their mean, as on the video side.
 *
 * Sequences are PACKED: sequence b owns rows off[b] .. off[b]+len[b]-1 of a (rows, C) array,
 * with off[b+1] = off[b] + len[b] and len[b] >= 1; no padding row exists, so the GRU runs over
 * valid steps only and the convolution and max see only the sequence's own steps (the
 * equivalent of the padding masks of a padded batch).
 * Layers follow layers.h (llm.c style; every *_backward ACCUMULATES into its d-outputs, a NULL
 * d-output is skipped). Not here: data loading, batching, the optimiser (adam_update), the
 * schedules (schedule.h), I/O (tools/de-train.c). */
#ifndef DUALENC_H
#define DUALENC_H

#include <stddef.h>

#include "ptable.h"
#include "rng.h"

/* ---- packed-sequence layers; N sequences, rows = off[N-1] + len[N-1] */

/* out (N,C) = mean over t < len[b] of inp (rows,C) */
void seqmean_forward(float *out, const float *inp, const int *off, const int *len, int N, int C);
void seqmean_backward(float *dinp, const float *dout, const int *off, const int *len, int N,
                      int C);

/* out (N,C) = max over t < len[b] of inp; arg (N,C) the winning row (first on ties) */
void seqmax_forward(float *out, int *arg, const float *inp, const int *off, const int *len,
                    int N, int C);
void seqmax_backward(float *dinp, const float *dout, const int *arg, int N, int C);

/* One GRU direction, PyTorch's equations (h0 = 0):
 *   r = sig(Wir x + bir + Whr h + bhr), z = sig(Wiz x + biz + Whz h + bhz),
 *   n = tanh(Win x + bin + r * (Whn h + bhn)), h' = (1 - z) * n + z * h
 * run forward over t = 0 .. len-1, or with reverse over t = len-1 .. 0 (the backward half of a
 * bi-GRU over a packed sequence). inp (rows,C); wi (3H,C), bi (3H), wh (3H,H), bh (3H): gate
 * order r, z, n. Outputs h (rows,H): the state after step t, at row t; gates (rows,4H) saves
 * r, z, n and Whn h + bhn of each step for backward. */
void gru_forward(float *h, float *gates, const float *inp, const int *off, const int *len,
                 const float *wi, const float *bi, const float *wh, const float *bh, int reverse,
                 int N, int C, int H);
/* dh (rows,H): gradient of the outputs h */
void gru_backward(float *dinp, float *dwi, float *dbi, float *dwh, float *dbh, const float *dh,
                  const float *h, const float *gates, const float *inp, const int *off,
                  const int *len, const float *wi, const float *wh, int reverse, int N, int C,
                  int H);

/* 1-D convolution over time with k-1 zero steps on both sides of each sequence ("full"
 * convolution: len[b] + k - 1 outputs, the first window holding only the first step):
 *   out[p] = b + sum_{j<k} w[:, j*C:(j+1)*C] . x[p - (k-1) + j]   (x = 0 outside the sequence)
 * w (OC, k*C) (PyTorch's Conv2d(1, OC, (k, C)) weight flattened), b (OC).
 * Output rows of sequence b: ooff[b] .. ooff[b] + len[b] + k - 2 with ooff[b] = off[b] + b*(k-1);
 * conv1d_rows gives the total. xpad (conv1d_padrows, C) is the zero-padded copy of the input
 * made by forward and needed by backward. */
long conv1d_rows(const int *len, int N, int k);
long conv1d_padrows(const int *len, int N, int k);
void conv1d_offsets(int *ooff, const int *len, int N, int k);
void conv1d_forward(float *out, float *xpad, const float *inp, const int *off, const int *len,
                    const float *w, const float *b, int N, int C, int OC, int k);
void conv1d_backward(float *dinp, float *dw, float *db, const float *dout, const float *xpad,
                     const int *off, const int *len, const float *w, int N, int C, int OC,
                     int k);

/* Batch normalisation over the N rows of x (N,C), eps 1e-5, as torch.nn.BatchNorm1d:
 * train: y = (x - mean) * rstd * g + b with the batch's mean and biased variance (saved in
 * mean, rstd (C)), and the running statistics rmean/rvar (C) updated with momentum 0.1 (rvar
 * from the unbiased variance; N >= 2); eval (train 0): the running statistics normalise.
 * backward is that of the training form. */
void batchnorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g,
                       const float *b, float *rmean, float *rvar, int train, int N, int C);
void batchnorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x,
                        const float *g, const float *mean, const float *rstd, int N, int C);

/* ---- the model */

#define DE_MAXK 8

typedef struct {
	int dv, dt;                /* input dims: frame features, word embeddings */
	int H;                     /* GRU hidden size per direction (512) */
	int r;                     /* filters per kernel size (512) */
	int D;                     /* common space (1024) */
	int nkv, kv[DE_MAXK];      /* video kernel sizes (2,3,4,5) */
	int nkt, kt[DE_MAXK];      /* text kernel sizes (2,3,4) */
	float dropout;             /* on the concatenated levels, before the Linear (0.2) */
	int bn;                    /* batch normalisation after the Linear (1, as the original) */
} DeConfig;

typedef struct {
	float margin;              /* 0.2 */
	float kd_weight;           /* w(e) of this epoch; 0: no distillation (tau unused) */
	float kd_temp;             /* 0.2 */
	int train;                 /* 1: dropout active */
} DeLossConfig;

typedef struct {
	float total;               /* trip_t2v + trip_v2t + kd_weight * kd */
	float trip_t2v, trip_v2t;  /* sums over captions / videos */
	float kd;                  /* sum over captions of the KL */
} DeLossParts;

typedef struct {
	int B;                     /* videos */
	const float *video;        /* packed (sum vlen, dv) */
	const int *vlen;           /* (B) frames, >= 1 */
	int Nq;                    /* captions */
	const float *query;        /* packed (sum qlen, dt) */
	const int *qlen;           /* (Nq) tokens, >= 1 */
	const int *qvid;           /* (Nq) own video in 0..B-1; every video has >= 1 caption */
	const float *tau;          /* (Nq, B) teacher cosines; needed when kd_weight > 0 */
} DeBatch;

typedef struct DeModel DeModel;

void      de_defaults(DeConfig *c);  /* everything but dv, dt */
DeModel  *de_new(const DeConfig *c);
void      de_free(DeModel *m);
const DeConfig *de_config(const DeModel *m);
/* GRU weights and biases U(-1/sqrt(H), 1/sqrt(H)) and convolutions U(-1/sqrt(k*2H), ..) as
 * PyTorch's defaults; the Linear Xavier-uniform with bias 0, as the original; batch norm gain 1,
 * bias 0, running mean 0, running variance 1. The running statistics are tensors too (never
 * given a gradient, so Adam leaves them alone) so that de_get_weights saves them. */
void      de_init(DeModel *m, Rng *rng);
int       de_num_tensors(const DeModel *m);
ParamInfo de_tensor(const DeModel *m, int i);   /* names like "video.gru_f.wi" */
size_t    de_num_params(const DeModel *m);
void      de_zero_grad(DeModel *m);
/* all parameter values, de_num_params floats in tensor order, out of / into the model */
void      de_get_weights(const DeModel *m, float *w);
void      de_set_weights(DeModel *m, const float *w);

/* loss of one batch; with backward, its gradient accumulated into the g blocks. rng drives
 * dropout. parts may be NULL. */
float de_loss(DeModel *m, const DeBatch *b, const DeLossConfig *lc, Rng *rng, DeLossParts *parts,
              int backward);

/* inference (no dropout): L2-normalised embeddings out (N, D) of N packed videos / captions */
void de_encode_videos(DeModel *m, const float *video, const int *vlen, int N, float *out);
void de_encode_queries(DeModel *m, const float *query, const int *qlen, int N, float *out);

#endif
