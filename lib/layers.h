/* layers: the forward/backward pairs the DL-DKD student is built from (doc/method.md,
 * "The student" and "Similarities"), llm.c style: flat row-major float arrays, outputs first,
 * then saved activations and inputs, then parameters, then dimensions. Every *_backward
 * ACCUMULATES (+=) into its d-prefixed outputs; a NULL d-output is skipped. All matrix products
 * go through mm(), which wraps cblas_sgemm and counts 2*M*N*K in layers_flops. Loops run on
 * the thread pool of lib/threads.h with results that do not depend on the thread count.
 * Not here: the losses (loss.h), parameter layout and batching (model.c), randomness other than
 * drawing a dropout mask from a given Rng.
 *
 * Dimension letters: N rows, C input channels, OC output channels, B sequences (videos or
 * queries), T padded length (frames or tokens), D hidden size, NH heads (head size D/NH),
 * Nq queries, NF frames of a whole batch (B*L), n elements of an elementwise layer.
 * Masks are uint8 (1 keep, 0 drop). Valid positions of a sequence come first (len[b] of them);
 * padded positions follow. */
#ifndef LAYERS_H
#define LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* floating-point operations of matrix products only (2*M*N*K per mm() call, including the
 * attention and pooling products); elementwise work (norms, softmax, dropout) is not counted */
extern double layers_flops;

/* C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C, row-major; ta/tb: 1 transposes */
void mm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
        const float *Bm, int ldb, float beta, float *Cm, int ldc);

/* ---- linear: out (N,OC) = inp (N,C) @ w (OC,C)^T + b (OC); b may be NULL */
void linear_forward(float *out, const float *inp, const float *w, const float *b,
                    int N, int C, int OC);
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, int N, int C, int OC);

/* ---- layernorm over the last dim, eps 1e-5: out (N,C), mean/rstd (N) saved; out may be inp */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *g,
                       const float *b, int N, int C);
void layernorm_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                        const float *g, const float *mean, const float *rstd, int N, int C);

/* ---- layernorm then dropout, fused (the input projection's LN(dv) -> dropout, so the big input
 * is read once and no separate dropout pass runs): out (N,C) = dropout(LN(inp)) with mask (N,C)
 * (NULL or p == 0: plain LayerNorm). Row n of out, mean, rstd, mask and dout is input row
 * rows[n] of inp (and of dinp), so the valid rows of a padded batch are read in place; rows NULL:
 * row n. backward takes dout with respect to the dropped output. */
void lndrop_forward(float *out, float *mean, float *rstd, const float *inp, const int *rows,
                    const float *g, const float *b, const uint8_t *mask, float p, int N, int C);
void lndrop_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                     const int *rows, const float *g, const float *mean, const float *rstd,
                     const uint8_t *mask, float p, int N, int C);

/* ---- relu: out (n) = max(inp, 0); out may be inp. backward uses the output (out > 0) */
void relu_forward(float *out, const float *inp, size_t n);
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- residual connection: out (n) += inp (the backward is the identity: callers add dout) */
void residual_forward(float *out, const float *inp, size_t n);

/* ---- dropout (inverted): mask (n) drawn with P(0) = p (in blocks from generators seeded by one
 * draw of rng, so in parallel and the same at any thread count); out = inp * mask / (1 - p).
 * mask NULL or p == 0 is the identity (eval mode). out may be inp. */
void dropout_mask(uint8_t *mask, size_t n, float p, Rng *rng);
/* the mask dropout_mask draws when rng's draw is key: a function of (key, n, p) alone */
void dropout_mask_key(uint8_t *mask, size_t n, float p, uint64_t key);
void dropout_forward(float *out, const float *inp, const uint8_t *mask, size_t n, float p);
void dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p);

/* ---- position embedding: out (B,T,D) = inp (B,T,D) + pos[t] (first T rows of the table) */
void posemb_forward(float *out, const float *inp, const float *pos, int B, int T, int D);
void posemb_backward(float *dinp, float *dpos, const float *dout, int B, int T, int D);

/* ---- BERT multi-head self-attention core (the Q/K/V/output Linears are linear_*):
 * q, k, v (B,T,D) -> out (B,T,D), heads concatenated. probs (B,NH,T,T) = softmax over keys of
 * q.k / sqrt(D/NH) with -10000 added for keys t >= len[b]; probs_d (B,NH,T,T) = dropout of probs
 * with pmask (B,NH,T,T). pmask NULL or p == 0: probs_d may be probs (or NULL). */
void attention_forward(float *out, float *probs, float *probs_d, const float *q, const float *k,
                       const float *v, const uint8_t *pmask, const int *len, int B, int T, int D,
                       int NH, float p);
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                        const float *k, const float *v, const float *probs,
                        const float *probs_d, const uint8_t *pmask, const int *len,
                        int B, int T, int D, int NH, float p);

/* ---- attention pooling: a (B,T) = softmax over t < len[b] of w (D) . inp[b,t] (0 for padding);
 * out (B,D) = sum_t a[b,t] inp[b,t] */
void attnpool_forward(float *out, float *a, const float *inp, const float *w, const int *len,
                      int B, int T, int D);
void attnpool_backward(float *dinp, float *dw, const float *dout, const float *a,
                       const float *inp, const float *w, const int *len, int B, int T, int D);

/* ---- l2 normalisation of rows: out (N,C) = inp / norm, norm (N) = max(|inp|, 1e-12) */
void l2norm_forward(float *out, float *norm, const float *inp, int N, int C);
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm,
                     int N, int C);

/* ---- frame similarities: S (Nq,NF) = q (Nq,D) @ f (NF,D)^T, one sgemm */
void framesim_forward(float *S, const float *q, const float *f, int Nq, int NF, int D);
void framesim_backward(float *dq, float *df, const float *dS, const float *q, const float *f,
                       int Nq, int NF, int D);

/* ---- masked max over each video's valid frames: S (Nq, B*L) -> s (Nq,B) = max over t < len[b]
 * of S[q, b*L + t] (padded frames count as -1e10, so they never win); arg (Nq,B) saves the
 * winning column (b*L + t, first one on ties). backward routes ds to the argmax. */
void framemax_forward(float *s, int *arg, const float *S, const int *len, int Nq, int B, int L);
void framemax_backward(float *dS, const float *ds, const int *arg, int Nq, int B, int L);

#endif
