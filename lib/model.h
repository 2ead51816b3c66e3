/* model: the DL-DKD student of doc/method.md — two branches (inheritance, exploration) of
 * identical architecture and separate weights, each a video encoder (frames -> frame embeddings)
 * and a query encoder (tokens -> one embedding) — with the training loss of one batch
 * (triplet + InfoNCE per branch, or DL-DKD++'s soft-target InfoNCE, plus distillation from the
 * teacher) and its backward pass.
 *
 * Parameters of every branch live in one contiguous block (llm.c layout); gradients and Adam
 * moments use the identical layout, so the optimiser is one loop and a checkpoint is a walk over
 * model_tensor(). Activations are kept inside the Model, sized for the largest batch seen.
 * Not here: data loading, batching, optimisation, I/O (see data, adam, ckpt, distill-step).
 *
 * Dimension letters: B videos in a batch, L padded frames, Nq queries, T padded tokens,
 * dv / dt student video / token feature dims, D hidden size (384), NH heads, E teacher dim (512). */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>

#include "comm.h"
#include "kd.h"
#include "ptable.h"
#include "rng.h"
#include "threads.h"

enum { BR_INH = 0, BR_EXP = 1, NBRANCH = 2 };

typedef struct {
	int dv, dt, E;             /* student video dim, student token dim, teacher dim */
	int D, NH;                 /* hidden size 384, heads 4 */
	int max_frames, max_tokens;/* position table rows: 128, 30 */
	int has_branch[NBRANCH];   /* which branches exist */
	int shared_query_proj;     /* exp's query input projection (LN + Linear) is inh's (authors' code) */
	int feat_kd[NBRANCH];      /* allocate the training-only Linear(D -> E) for feature KD */
	float dropout;             /* 0.1 */
} ModelConfig;

typedef struct {
	float margin;              /* triplet margin (TVR 0.1, ActivityNet 0.2) */
	float nce_weight;          /* 0.04 */
	int hard_pool;             /* text->video negatives drawn from the top hard_pool (20) */
	int hard_negatives;        /* 0 before hard_negative_start_epoch: uniform negatives */
	int kd;                    /* KD_* (lib/kd.h), KD_NONE: no distillation */
	float kd_temp;             /* 0.2 for similarity KL */
	float kd_weight;           /* w(e) of this epoch */
	int kd_branch[NBRANCH];    /* which branches are distilled */
	/* DL-DKD++ (doc/method.md): each branch's InfoNCE becomes the soft-target one (softnce.h)
	 * with source the teacher's batch scores (inheritance) or the branch's own u (exploration) */
	int soft;
	double soft_alpha, soft_beta; /* alpha(e), beta(e) of this epoch */
	int soft_detach;           /* exploration's own target detached (the released code: 0) */
	int train;                 /* 1: dropout active */
} LossConfig;

typedef struct {
	float total;
	/* with soft alignment nce_t2v holds the whole soft InfoNCE (both directions) and nce_v2t 0 */
	float trip_t2v[NBRANCH], trip_v2t[NBRANCH], nce_t2v[NBRANCH], nce_v2t[NBRANCH], kd[NBRANCH];
} LossParts;

typedef struct {
	int B, L;                  /* videos, padded frames (>= every vlen, <= max_frames) */
	const float *video;        /* (B, L, dv); rows t >= vlen[b] are ignored */
	const int *vlen;           /* (B) valid frames, 1..L; valid frames come first */
	int Nq, T;                 /* queries, padded tokens (<= max_tokens) */
	const float *query;        /* (Nq, T, dt) */
	const int *qlen;           /* (Nq) valid tokens, 1..T */
	const int *qvid;           /* (Nq) index in 0..B-1 of the query's own video; every video has >= 1 */
	const float *tau;          /* (Nq, L) teacher frame sims to own video (first vlen valid); NULL unless sim KD */
	const float *tvideo;       /* (B, L, E) teacher frame features; NULL unless feature KD or
	                              soft alignment (first vlen rows valid) */
	const float *tquery;       /* (Nq, E) teacher query embeddings; NULL unless soft alignment */
	/* video and query hold videos v_first .. and queries q_first .. only (0: all): a
	 * data-parallel rank's share (model_loss_dp reads no other rows) */
	int v_first, q_first;
} Batch;

typedef struct Model Model;

Model *model_new(const ModelConfig *cfg);
/* parameters (and tensors) model_new(cfg) would have, allocating nothing of that size: what a
 * reader checks a claimed configuration against before building it */
size_t model_size(const ModelConfig *cfg, int *ntensors);
void   model_free(Model *m);
const ModelConfig *model_config(const Model *m);
/* Linear and embedding weights N(0, 0.02), biases 0, LayerNorm gain 1 bias 0 */
void   model_init(Model *m, Rng *rng);
int    model_num_tensors(const Model *m);
ParamInfo model_tensor(const Model *m, int i);
size_t model_num_params(const Model *m);
void   model_zero_grad(Model *m);

/* Forward over one batch, the loss of doc/method.md with lc, and when backward is set its
 * gradient accumulated into the g blocks. rng drives dropout and negative sampling; each
 * sequence's dropout masks are keyed by its index in the batch. Returns the total; parts (may
 * be NULL) gets every component (unweighted, per branch). model_loss_dp(.., &comm_self). */
float  model_loss(Model *m, const Batch *b, const LossConfig *lc, Rng *rng, LossParts *parts,
                  int backward);
/* The same step split over the ranks of c (doc/scale.md), in three stages per branch: this rank
 * encodes its share of the videos and of the queries (comm_share of B and of Nq; only those
 * rows of b->video and b->query are read, which may start at b->v_first, b->q_first), the embeddings are all-gathered, every rank computes
 * the loss of the whole batch (identical everywhere, rng included) and back-propagates its own
 * rows; with backward the ranks' gradients are then summed into every rank's g, so g must hold
 * no other gradient when c->size > 1. Equal to model_loss up to the order of float sums. */
float  model_loss_dp(Model *m, const Batch *b, const LossConfig *lc, Rng *rng, LossParts *parts,
                     int backward, Comm *c);

/* time model_loss has spent in each phase since the program started (threads.h), for
 * benchmarks: forward (encoders, heads, the all-gathers, scores), loss (negative sampling,
 * loss kernels), backward (the all-reduce included) */
enum { PHASE_FORWARD, PHASE_LOSS, PHASE_BACKWARD, NPHASE };
extern Clock model_time[NPHASE];

/* Inference (no dropout) of one branch: frame embeddings (B, L, D) / query embeddings (Nq, D).
 * Not normalised; scoring normalises. */
void   model_encode_videos(Model *m, int br, const float *video, const int *vlen, int B, int L,
                           float *out);
void   model_encode_queries(Model *m, int br, const float *query, const int *qlen, int Nq, int T,
                            float *out);

/* multiply-adds x2 to encode one video of L frames / one query of T tokens with one branch */
double model_flops_video(const ModelConfig *c, int L);
double model_flops_query(const ModelConfig *c, int T);

#endif
