/* model: the DL-DKD student of model.h. Parameters live in one block described by a table of
 * named tensors; activations live in two sets of buffers (video side, query side) that are
 * grown to the largest batch and shared by the branches, because the loss is a sum of
 * per-branch terms: each branch runs forward, loss and backward before the next one starts.
 *
 * Memory: the input projection (LayerNorm(dv) -> dropout -> Linear -> ReLU, the only layer that
 * touches the B*L*dv input) runs over the valid rows only, in chunks of RCH rows; it keeps
 * just its dropout mask (one byte per input element) and recomputes the LayerNorm in backward,
 * so no float copy of size B*L*dv exists. Everything after it runs over all B*L padded rows
 * (padded rows start from the position embedding alone and never reach a valid output). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "loss.h"
#include "model.h"
#include "ptable.h"
#include "softnce.h"
#include "util.h"

Clock model_time[NPHASE];

enum { SIDE_VIDEO = 0, SIDE_QUERY = 1 };
enum { MAXTENSOR = 96, RCH = 1024, ENC_ROWS = 8192 };
#define NONE ((size_t)-1)

/* offsets of one encoder's tensors in the parameter block (NONE when absent) */
typedef struct {
	size_t ln_in_g, ln_in_b, proj_w, proj_b, pos, ln_pos_g, ln_pos_b;
	size_t qw, qb, kw, kb, vw, vb, ow, ob, ln_att_g, ln_att_b;
	size_t head_w, head_b;     /* video: frame Linear(D -> D); query: pool w (D), no bias */
} EncOff;

/* the same tensors as pointers into a block (values or gradients) */
typedef struct {
	float *ln_in_g, *ln_in_b, *proj_w, *proj_b, *pos, *ln_pos_g, *ln_pos_b;
	float *qw, *qb, *kw, *kb, *vw, *vb, *ow, *ob, *ln_att_g, *ln_att_b;
	float *head_w, *head_b;
} EncW;

/* the float scratch buffers of Acts and of the loss: the tables of acts_reserve, loss_reserve */
enum { NACTF = 16, NLOSSF = 19 };

/* activations of one side (video or query) for nseq sequences of T positions, N = nseq * T
 * rows, Nv of them valid, C input channels */
typedef struct {
	size_t fcap[NACTF], cap_rows, cap_m1, cap_m2, cap_m_in, cap_pm;
	int *rows;                 /* (Nv) valid row indices b*T + t */
	uint8_t *m_in;             /* (Nv, C) input dropout mask */
	float *a1;                 /* (Nv, D) ReLU(Linear(dropout(LN(x)))) */
	float *x0;                 /* (N, D) a1 scattered (0 on padded rows) + position */
	float *mean1, *rstd1;      /* (N) */
	uint8_t *m1, *m2;          /* (N, D) */
	float *x1;                 /* (N, D) dropout(LN(x0)): the attention block input */
	float *q, *k, *v, *att;    /* (N, D) */
	float *probs, *probs_d;    /* (nseq, NH, T, T) */
	uint8_t *pm;               /* (nseq, NH, T, T) */
	float *r, *mean2, *rstd2;  /* (N, D) dropout(Linear(att)) + x1; (N) */
	float *h;                  /* (N, D) LN(r): encoder output */
	float *pa;                 /* query head: (nseq, T) pooling weights */
} Acts;

struct Model {
	ModelConfig cfg;
	PTensor t[MAXTENSOR];
	int nt;
	size_t np;
	float *w, *g, *m, *v;
	EncOff enc[NBRANCH][2];
	size_t fk_w[NBRANCH], fk_b[NBRANCH];
	Acts act[2];
	/* scratch: gradient pool (5 x rows x D), input-projection chunks (2 x RCH x C) */
	size_t capG[5];
	float *G[5];
	float *chunk[2], *cmean, *crstd;
	/* loss-time buffers, over the whole batch (every rank's rows, gathered) */
	size_t fcap[NLOSSF], cap_sarg, cap_uarg, cap_negq, cap_kdlen, cap_negv;
	float *F, *Fn, *fnorm;     /* (B*L, D) frame embeddings, their unit vectors, (B*L) norms */
	float *Q, *Qn, *qnorm;     /* (Nq, D) pooled query embeddings, unit vectors, (Nq) norms */
	float *S, *R;              /* (Nq, B*L) cosine / raw frame similarities, reused as grads */
	float *s, *u, *ds, *du;    /* (Nq, B) */
	float *ts;                 /* (Nq, B) the teacher's batch scores (soft alignment) */
	int *sarg, *uarg;          /* (Nq, B) */
	int *negq, *kdlen;         /* (Nq) */
	int *negv;                 /* (B) */
	float *Sown, *dSown;       /* (Nq, L) */
	float *dqn, *dpooled;      /* (Nq, D): this rank's rows first */
	float *z, *dz;             /* (B*L, E) feature-KD projection */
};

static void zero(float *p, size_t n);

/* ---- parameters */

static size_t
add_tensor(Model *m, const char *prefix, const char *name, int d0, int d1, int decay)
{
	return ptable_add(m->t, &m->nt, MAXTENSOR, &m->np, prefix, name, d0, d1, decay);
}

static void
add_encoder(Model *m, EncOff *o, const char *br, int side, const EncOff *shared_proj)
{
	const ModelConfig *c = &m->cfg;
	char p[32];
	int C = side == SIDE_VIDEO ? c->dv : c->dt, D = c->D;

	snprintf(p, sizeof(p), "%s.%s", br, side == SIDE_VIDEO ? "video" : "query");
	if (shared_proj) {
		o->ln_in_g = shared_proj->ln_in_g;
		o->ln_in_b = shared_proj->ln_in_b;
		o->proj_w = shared_proj->proj_w;
		o->proj_b = shared_proj->proj_b;
	} else {
		o->ln_in_g = add_tensor(m, p, "ln_in.g", C, 0, 0);
		o->ln_in_b = add_tensor(m, p, "ln_in.b", C, 0, 0);
		o->proj_w = add_tensor(m, p, "proj.w", D, C, 1);
		o->proj_b = add_tensor(m, p, "proj.b", D, 0, 0);
	}
	o->pos = add_tensor(m, p, "pos", side == SIDE_VIDEO ? c->max_frames : c->max_tokens, D, 1);
	o->ln_pos_g = add_tensor(m, p, "ln_pos.g", D, 0, 0);
	o->ln_pos_b = add_tensor(m, p, "ln_pos.b", D, 0, 0);
	o->qw = add_tensor(m, p, "attn.q.w", D, D, 1);
	o->qb = add_tensor(m, p, "attn.q.b", D, 0, 0);
	o->kw = add_tensor(m, p, "attn.k.w", D, D, 1);
	o->kb = add_tensor(m, p, "attn.k.b", D, 0, 0);
	o->vw = add_tensor(m, p, "attn.v.w", D, D, 1);
	o->vb = add_tensor(m, p, "attn.v.b", D, 0, 0);
	o->ow = add_tensor(m, p, "attn.o.w", D, D, 1);
	o->ob = add_tensor(m, p, "attn.o.b", D, 0, 0);
	o->ln_att_g = add_tensor(m, p, "ln_attn.g", D, 0, 0);
	o->ln_att_b = add_tensor(m, p, "ln_attn.b", D, 0, 0);
	if (side == SIDE_VIDEO) {
		o->head_w = add_tensor(m, p, "frame.w", D, D, 1);
		o->head_b = add_tensor(m, p, "frame.b", D, 0, 0);
	} else {
		o->head_w = add_tensor(m, p, "pool.w", 1, D, 1);
		o->head_b = NONE;
	}
}

static EncW
encw(const EncOff *o, float *base)
{
	EncW e;

#define P(f) e.f = o->f == NONE ? NULL : base + o->f
	P(ln_in_g); P(ln_in_b); P(proj_w); P(proj_b); P(pos); P(ln_pos_g); P(ln_pos_b);
	P(qw); P(qb); P(kw); P(kb); P(vw); P(vb); P(ow); P(ob); P(ln_att_g); P(ln_att_b);
	P(head_w); P(head_b);
#undef P
	return e;
}

/* the tensor table of m->cfg, without allocating the blocks */
static void
layout(Model *m)
{
	static const char *brname[NBRANCH] = {"inh", "exp"};
	const ModelConfig *c = &m->cfg;
	int share;

	CHECK(c->dv > 0 && c->dt > 0 && c->D > 0 && c->NH > 0 && c->D % c->NH == 0);
	CHECK(c->max_frames > 0 && c->max_tokens > 0);
	CHECK(c->has_branch[BR_INH] || c->has_branch[BR_EXP]);
	CHECK(c->dropout >= 0.0f && c->dropout < 1.0f);
	/* sharing needs both branches; with one branch the flag is ignored */
	share = c->shared_query_proj && c->has_branch[BR_INH] && c->has_branch[BR_EXP];
	for (int br = 0; br < NBRANCH; br++) {
		m->fk_w[br] = m->fk_b[br] = NONE;
		if (!c->has_branch[br])
			continue;
		add_encoder(m, &m->enc[br][SIDE_VIDEO], brname[br], SIDE_VIDEO, NULL);
		add_encoder(m, &m->enc[br][SIDE_QUERY], brname[br], SIDE_QUERY,
		            br == BR_EXP && share ? &m->enc[BR_INH][SIDE_QUERY] : NULL);
		if (c->feat_kd[br]) {
			char p[32];
			CHECK(c->E > 0);
			snprintf(p, sizeof(p), "%s.featkd", brname[br]);
			m->fk_w[br] = add_tensor(m, p, "w", c->E, c->D, 1);
			m->fk_b[br] = add_tensor(m, p, "b", c->E, 0, 0);
		}
	}
}

size_t
model_size(const ModelConfig *cfg, int *ntensors)
{
	Model *m = ecalloc(1, sizeof(*m));
	size_t np;

	m->cfg = *cfg;
	layout(m);
	*ntensors = m->nt;
	np = m->np;
	free(m);
	return np;
}

Model *
model_new(const ModelConfig *cfg)
{
	Model *m = ecalloc(1, sizeof(*m));
	const ModelConfig *c = &m->cfg;

	m->cfg = *cfg;
	layout(m);
	m->w = efloats(m->np);
	m->g = efloats(m->np);
	m->m = efloats(m->np);
	m->v = efloats(m->np);
	for (int i = 0; i < 2; i++)
		m->chunk[i] = efloats((size_t)RCH * MAX(c->dv, c->dt));
	m->cmean = efloats(RCH);
	m->crstd = efloats(RCH);
	return m;
}

static void
acts_free(Acts *a)
{
	free(a->rows); free(a->m_in); free(a->a1); free(a->x0); free(a->mean1); free(a->rstd1);
	free(a->m1); free(a->m2); free(a->x1); free(a->q); free(a->k); free(a->v); free(a->att);
	free(a->probs); free(a->probs_d); free(a->pm); free(a->r); free(a->mean2); free(a->rstd2);
	free(a->h); free(a->pa);
}

void
model_free(Model *m)
{
	if (!m)
		return;
	free(m->w); free(m->g); free(m->m); free(m->v);
	for (int i = 0; i < 2; i++)
		acts_free(&m->act[i]);
	for (int i = 0; i < 5; i++)
		free(m->G[i]);
	for (int i = 0; i < 2; i++)
		free(m->chunk[i]);
	free(m->cmean); free(m->crstd);
	free(m->S); free(m->R); free(m->s); free(m->u); free(m->ds); free(m->du);
	free(m->ts);
	free(m->sarg); free(m->uarg); free(m->negq); free(m->kdlen); free(m->negv);
	free(m->Sown); free(m->dSown); free(m->dqn); free(m->dpooled); free(m->z); free(m->dz);
	free(m->F); free(m->Fn); free(m->fnorm); free(m->Q); free(m->Qn); free(m->qnorm);
	free(m);
}

const ModelConfig *
model_config(const Model *m)
{
	return &m->cfg;
}

static int
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

void
model_init(Model *m, Rng *rng)
{
	for (int i = 0; i < m->nt; i++) {
		PTensor *t = &m->t[i];
		float *w = m->w + t->off;

		for (size_t j = 0; j < t->n; j++)
			w[j] = ends_with(t->name, ".g") ? 1.0f :
			       ends_with(t->name, ".b") ? 0.0f : 0.02f * rng_normal(rng);
	}
	memset(m->g, 0, m->np * sizeof(float));
	memset(m->m, 0, m->np * sizeof(float));
	memset(m->v, 0, m->np * sizeof(float));
}

int
model_num_tensors(const Model *m)
{
	return m->nt;
}

ParamInfo
model_tensor(const Model *m, int i)
{
	CHECK(i >= 0 && i < m->nt);
	return ptable_info(&m->t[i], m->w, m->g, m->m, m->v);
}

size_t
model_num_params(const Model *m)
{
	return m->np;
}

void
model_zero_grad(Model *m)
{
	zero(m->g, m->np);
}

/* ---- buffers */

/* the scratch buffers hold the largest batch so far, exactly (efloats_fit: no slack, as
 * prvr-cost measures the step's peak memory); contents are not kept (every pass writes what it
 * reads) */
static void
acts_reserve(Model *m, Acts *a, int nseq, int T, int Nv, int C)
{
	size_t D = m->cfg.D, N = (size_t)nseq * T, NP = N * m->cfg.NH * T, NvC = (size_t)Nv * C;
	struct { float **p; size_t n; } f[] = {
		{ &a->a1, N * D }, { &a->x0, N * D }, { &a->x1, N * D }, { &a->q, N * D },
		{ &a->k, N * D }, { &a->v, N * D }, { &a->att, N * D }, { &a->r, N * D },
		{ &a->h, N * D }, { &a->mean1, N }, { &a->rstd1, N }, { &a->mean2, N },
		{ &a->rstd2, N }, { &a->pa, N }, { &a->probs, NP }, { &a->probs_d, NP },
	};

	_Static_assert(sizeof(f) / sizeof(f[0]) == NACTF, "one capacity per buffer");
	for (int i = 0; i < NACTF; i++)
		*f[i].p = efloats_fit(*f[i].p, &a->fcap[i], f[i].n);
	a->rows = egrow(a->rows, &a->cap_rows, N, sizeof(*a->rows));
	a->m1 = egrow(a->m1, &a->cap_m1, N * D, 1);
	a->m2 = egrow(a->m2, &a->cap_m2, N * D, 1);
	a->m_in = egrow(a->m_in, &a->cap_m_in, NvC, 1);
	a->pm = egrow(a->pm, &a->cap_pm, NP, 1);
	for (int i = 0; i < 5; i++)
		m->G[i] = efloats_fit(m->G[i], &m->capG[i], N * D);
}

/* memset on the pool: the gradient buffers are tens of MB at the paper's batch size */
static void
zero(float *p, size_t n)
{
	enum { ZB = 1 << 16 };

#pragma omp parallel for schedule(static) if (n >= 4 * ZB)
	for (size_t i = 0; i < n; i += ZB)
		memset(p + i, 0, MIN(ZB, n - i) * sizeof(*p));
}

/* ---- encoder (steps 1-3 of "The student") */

/* the dropout masks of nseq sequences, sequence s owning per x (len ? len[s] : 1) elements of
 * mask, in order. Each sequence's mask comes from its own generator keyed by key and its index
 * in the batch (first + s), so it does not depend on which rows, threads or ranks draw it: a
 * data-parallel step draws the masks one process would (doc/scale.md) */
static void
seq_masks(uint8_t *mask, const int *len, int nseq, size_t per, long first, float p, uint64_t key)
{
	size_t *off = emalloc(((size_t)nseq + 1) * sizeof(*off));

	off[0] = 0;
	for (int s = 0; s < nseq; s++)
		off[s + 1] = off[s] + per * (len ? (size_t)len[s] : 1);
#pragma omp parallel for schedule(static) if (off[nseq] >= 65536)
	for (int s = 0; s < nseq; s++)
		dropout_mask_key(mask + off[s], off[s + 1] - off[s], p,
		                 key + ((uint64_t)(first + s) << 24));
	free(off);
}

/* inp (nseq, T, C), len (nseq) -> a->h (nseq*T, D): sequences first .. first+nseq-1 of the
 * batch. p > 0 draws dropout masks keyed by four draws of rng, made even when nseq is 0 so that
 * every rank's rng advances alike. */
static void
enc_forward(Model *m, Acts *a, const EncW *P, const float *inp, const int *len, int nseq, int T,
            int C, long first, float p, Rng *rng)
{
	int D = m->cfg.D, NH = m->cfg.NH, N = nseq * T, Nv = 0, drop = p > 0.0f;
	size_t ND = (size_t)N * D;
	uint64_t key[4] = { 0 };

	for (int i = 0; drop && i < 4; i++)
		key[i] = rng_u64(rng);
	if (nseq == 0)
		return;
	for (int b = 0; b < nseq; b++) {
		CHECK(len[b] >= 1 && len[b] <= T);
		Nv += len[b];
	}
	acts_reserve(m, a, nseq, T, Nv, C);
	for (int b = 0, n = 0; b < nseq; b++)
		for (int t = 0; t < len[b]; t++)
			a->rows[n++] = b * T + t;

	/* 1. LayerNorm(C) -> dropout -> Linear(C -> D) -> ReLU, valid rows only, in chunks */
	if (drop)
		seq_masks(a->m_in, len, nseq, C, first, p, key[0]);
	for (int r0 = 0; r0 < Nv; r0 += RCH) {
		int R = MIN(RCH, Nv - r0);
		float *xc = m->chunk[0];

		lndrop_forward(xc, m->cmean, m->crstd, inp, a->rows + r0, P->ln_in_g, P->ln_in_b,
		               drop ? a->m_in + (size_t)r0 * C : NULL, p, R, C);
		linear_forward(a->a1 + (size_t)r0 * D, xc, P->proj_w, P->proj_b, R, C, D);
	}
	relu_forward(a->a1, a->a1, (size_t)Nv * D);

	/* 2. + position -> LayerNorm(D) -> dropout */
	zero(a->x0, ND);
#pragma omp parallel for schedule(static) if ((size_t)Nv * D >= 32768)
	for (int r = 0; r < Nv; r++)
		memcpy(a->x0 + (size_t)a->rows[r] * D, a->a1 + (size_t)r * D, D * sizeof(float));
	posemb_forward(a->x0, a->x0, P->pos, nseq, T, D);
	layernorm_forward(a->x1, a->mean1, a->rstd1, a->x0, P->ln_pos_g, P->ln_pos_b, N, D);
	if (drop)
		seq_masks(a->m1, NULL, nseq, (size_t)T * D, first, p, key[1]);
	dropout_forward(a->x1, a->x1, drop ? a->m1 : NULL, ND, p);

	/* 3. BERT self-attention block: LN(dropout(O(attn(Q, K, V))) + x1) */
	linear_forward(a->q, a->x1, P->qw, P->qb, N, D, D);
	linear_forward(a->k, a->x1, P->kw, P->kb, N, D, D);
	linear_forward(a->v, a->x1, P->vw, P->vb, N, D, D);
	if (drop)
		seq_masks(a->pm, NULL, nseq, (size_t)NH * T * T, first, p, key[2]);
	attention_forward(a->att, a->probs, a->probs_d, a->q, a->k, a->v, drop ? a->pm : NULL, len,
	                  nseq, T, D, NH, p);
	linear_forward(a->r, a->att, P->ow, P->ob, N, D, D);
	if (drop)
		seq_masks(a->m2, NULL, nseq, (size_t)T * D, first, p, key[3]);
	dropout_forward(a->r, a->r, drop ? a->m2 : NULL, ND, p);
	residual_forward(a->r, a->x1, ND);
	layernorm_forward(a->h, a->mean2, a->rstd2, a->r, P->ln_att_g, P->ln_att_b, N, D);
}

/* backward of enc_forward: dh (N, D) is in m->G[0] (consumed); gradients accumulate into Gw */
static void
enc_backward(Model *m, Acts *a, const EncW *P, const EncW *Gw, const float *inp, const int *len,
             int nseq, int T, int C, float p)
{
	int D = m->cfg.D, NH = m->cfg.NH, N = nseq * T, Nv = 0, drop = p > 0.0f;
	size_t ND = (size_t)N * D;
	float **G = m->G;

	for (int b = 0; b < nseq; b++)
		Nv += len[b];
	/* 3. h = LN(r): dr (G1); r = dropout(o) + x1: dx1 starts as dr (kept in G1) */
	zero(G[1], ND);
	layernorm_backward(G[1], Gw->ln_att_g, Gw->ln_att_b, G[0], a->r, P->ln_att_g, a->mean2,
	                   a->rstd2, N, D);
	zero(G[2], ND);
	dropout_backward(G[2], G[1], drop ? a->m2 : NULL, ND, p);
	zero(G[0], ND);
	linear_backward(G[0], Gw->ow, Gw->ob, G[2], a->att, P->ow, N, D, D);
	zero(G[2], ND);
	zero(G[3], ND);
	zero(G[4], ND);
	attention_backward(G[2], G[3], G[4], G[0], a->q, a->k, a->v, a->probs, a->probs_d,
	                   drop ? a->pm : NULL, len, nseq, T, D, NH, p);
	linear_backward(G[1], Gw->qw, Gw->qb, G[2], a->x1, P->qw, N, D, D);
	/* the key bias adds q.kb to all of a query's logits, which the softmax ignores: its exact
	 * gradient is 0, and the computed one, rounding noise, would become lr-sized Adam steps
	 * that depend on the thread and rank count (doc/scale.md). It is left at 0. */
	linear_backward(G[1], Gw->kw, NULL, G[3], a->x1, P->kw, N, D, D);
	linear_backward(G[1], Gw->vw, Gw->vb, G[4], a->x1, P->vw, N, D, D);

	/* 2. x1 = dropout(LN(x0)), x0 = scatter(a1) + pos */
	zero(G[0], ND);
	dropout_backward(G[0], G[1], drop ? a->m1 : NULL, ND, p);
	zero(G[2], ND);
	layernorm_backward(G[2], Gw->ln_pos_g, Gw->ln_pos_b, G[0], a->x0, P->ln_pos_g, a->mean1,
	                   a->rstd1, N, D);
	posemb_backward(NULL, Gw->pos, G[2], nseq, T, D);

	/* 1. da1 (Nv, D) in G3 through the ReLU; then per chunk recompute LN + dropout */
	zero(G[3], (size_t)Nv * D);
#pragma omp parallel for schedule(static) if ((size_t)Nv * D >= 32768)
	for (int r = 0; r < Nv; r++)
		relu_backward(G[3] + (size_t)r * D, G[2] + (size_t)a->rows[r] * D,
		              a->a1 + (size_t)r * D, D);
	for (int r0 = 0; r0 < Nv; r0 += RCH) {
		int R = MIN(RCH, Nv - r0);
		const uint8_t *mk = drop ? a->m_in + (size_t)r0 * C : NULL;
		float *xl = m->chunk[0], *dxl = m->chunk[1];

		lndrop_forward(xl, m->cmean, m->crstd, inp, a->rows + r0, P->ln_in_g, P->ln_in_b, mk, p,
		               R, C);
		/* dxl (R, C) = da1 @ proj_w, written (beta 0) rather than accumulated into zeros */
		mm(0, 0, R, C, D, 1.0f, G[3] + (size_t)r0 * D, D, P->proj_w, C, 0.0f, dxl, C);
		linear_backward(NULL, Gw->proj_w, Gw->proj_b, G[3] + (size_t)r0 * D, xl, P->proj_w, R, C,
		                D);
		lndrop_backward(NULL, Gw->ln_in_g, Gw->ln_in_b, dxl, inp, a->rows + r0, P->ln_in_g,
		                m->cmean, m->crstd, mk, p, R, C);
	}
}

/* ---- loss */

static void
loss_reserve(Model *m, const Batch *bt)
{
	size_t Nq = bt->Nq, B = bt->B, NF = (size_t)B * bt->L, D = m->cfg.D;
	/* the feature-KD projection only where feature KD runs */
	size_t NFE = m->cfg.E > 0 && (m->cfg.feat_kd[0] || m->cfg.feat_kd[1]) ? NF * m->cfg.E : 0;
	struct { float **p; size_t n; } f[] = {
		{ &m->S, Nq * NF }, { &m->R, Nq * NF }, { &m->s, Nq * B }, { &m->u, Nq * B },
		{ &m->ds, Nq * B }, { &m->du, Nq * B }, { &m->ts, Nq * B }, { &m->Sown, Nq * bt->L },
		{ &m->dSown, Nq * bt->L }, { &m->dqn, Nq * D }, { &m->dpooled, Nq * D },
		{ &m->Q, Nq * D }, { &m->Qn, Nq * D }, { &m->qnorm, Nq }, { &m->F, NF * D },
		{ &m->Fn, NF * D }, { &m->fnorm, NF }, { &m->z, NFE }, { &m->dz, NFE },
	};

	_Static_assert(sizeof(f) / sizeof(f[0]) == NLOSSF, "one capacity per buffer");
	for (int i = 0; i < NLOSSF; i++)
		if (f[i].n)
			*f[i].p = efloats_fit(*f[i].p, &m->fcap[i], f[i].n);
	m->sarg = egrow(m->sarg, &m->cap_sarg, Nq * B, sizeof(*m->sarg));
	m->uarg = egrow(m->uarg, &m->cap_uarg, Nq * B, sizeof(*m->uarg));
	m->negq = egrow(m->negq, &m->cap_negq, Nq, sizeof(*m->negq));
	m->kdlen = egrow(m->kdlen, &m->cap_kdlen, Nq, sizeof(*m->kdlen));
	m->negv = egrow(m->negv, &m->cap_negv, B, sizeof(*m->negv));
}

static void
check_batch(const Model *m, const Batch *bt)
{
	const ModelConfig *c = &m->cfg;
	int *has = ecalloc(bt->B, sizeof(int));

	CHECK(bt->B >= 1 && bt->L >= 1 && bt->L <= c->max_frames);
	CHECK(bt->Nq >= 1 && bt->T >= 1 && bt->T <= c->max_tokens);
	for (int b = 0; b < bt->B; b++)
		CHECK(bt->vlen[b] >= 1 && bt->vlen[b] <= bt->L);
	for (int q = 0; q < bt->Nq; q++) {
		CHECK(bt->qlen[q] >= 1 && bt->qlen[q] <= bt->T);
		CHECK(bt->qvid[q] >= 0 && bt->qvid[q] < bt->B);
		has[bt->qvid[q]] = 1;
	}
	for (int b = 0; b < bt->B; b++)
		CHECK(has[b]);
	free(has);
}

/* ---- the data-parallel step: encode a share / loss of the whole batch / backward of a share.
 * Rank r of cm owns videos vlo[r] .. vlo[r+1]-1 and queries qlo[r] .. qlo[r+1]-1 of the batch;
 * one process owns everything and its exchanges do nothing (doc/scale.md). */

/* forward of this rank's videos and queries with branch br: their frame embeddings into F and
 * pooled query embeddings into Q at their rows of the batch, then every rank's rows to every
 * rank */
static void
encode_share(Model *m, int br, const Batch *bt, const int *vlo, const int *qlo, float p, Rng *rng,
             Comm *cm)
{
	const ModelConfig *c = &m->cfg;
	int L = bt->L, T = bt->T, D = c->D, r = cm->rank;
	int v0 = vlo[r], nv = vlo[r + 1] - v0, q0 = qlo[r], nq = qlo[r + 1] - q0;
	EncW vw = encw(&m->enc[br][SIDE_VIDEO], m->w), qw = encw(&m->enc[br][SIDE_QUERY], m->w);
	Acts *av = &m->act[SIDE_VIDEO], *aq = &m->act[SIDE_QUERY];

	CHECK(v0 >= bt->v_first && q0 >= bt->q_first);
	enc_forward(m, av, &vw, bt->video + (size_t)(v0 - bt->v_first) * L * c->dv, bt->vlen + v0,
	            nv, L, c->dv, v0, p, rng);
	if (nv)
		linear_forward(m->F + (size_t)v0 * L * D, av->h, vw.head_w, vw.head_b, nv * L, D, D);
	enc_forward(m, aq, &qw, bt->query + (size_t)(q0 - bt->q_first) * T * c->dt, bt->qlen + q0,
	            nq, T, c->dt, q0, p, rng);
	if (nq)
		attnpool_forward(m->Q + (size_t)q0 * D, aq->pa, aq->h, qw.head_w, bt->qlen + q0, nq, T,
		                 D);
	comm_allgather(cm, m->F, vlo, (size_t)L * D);
	comm_allgather(cm, m->Q, qlo, D);
}

/* the score matrices of the whole batch from F and Q: S cosine -> s (triplet, KD), R raw dot
 * products -> u (InfoNCE) */
static void
scores(Model *m, const Batch *bt)
{
	int B = bt->B, L = bt->L, Nq = bt->Nq, D = m->cfg.D, NF = B * L;

	l2norm_forward(m->Fn, m->fnorm, m->F, NF, D);
	l2norm_forward(m->Qn, m->qnorm, m->Q, Nq, D);
	framesim_forward(m->S, m->Qn, m->Fn, Nq, NF, D);
	framemax_forward(m->s, m->sarg, m->S, bt->vlen, Nq, B, L);
	framesim_forward(m->R, m->Q, m->F, Nq, NF, D);
	framemax_forward(m->u, m->uarg, m->R, bt->vlen, Nq, B, L);
}

/* the distillation of branch br under lc (NULL: none) */
static const KdKind *
kd_of(const LossConfig *lc, int br)
{
	return lc->kd != KD_NONE && lc->kd_branch[br] ? &kd_kinds[lc->kd] : NULL;
}

/* the loss of branch br over the whole batch (every rank computes the same): negative sampling
 * and the loss kernels; their gradients accumulate into ds, du, dSown, dz (already weighted).
 * Returns the weighted sum; parts gets the components. */
static float
loss_batch(Model *m, int br, const Batch *bt, const LossConfig *lc, Rng *rng, LossParts *parts)
{
	const ModelConfig *c = &m->cfg;
	const KdKind *k = kd_of(lc, br);
	int B = bt->B, L = bt->L, Nq = bt->Nq, NF = B * L;
	int dokd = k != NULL, simkd = k && k->on == KD_ON_SIM, featkd = k && k->on == KD_ON_FEAT;
	float t2v, v2t, n2v, nv2t, kd = 0.0f;

	triplet_t2v_sample(m->negq, m->s, bt->qvid, Nq, B, lc->hard_negatives, lc->hard_pool, rng);
	triplet_v2t_sample(m->negv, m->s, bt->qvid, Nq, B, lc->hard_negatives, rng);
	zero(m->ds, (size_t)Nq * B);
	zero(m->du, (size_t)Nq * B);
	t2v = triplet_t2v(m->ds, 1.0f, m->s, bt->qvid, m->negq, Nq, B, lc->margin);
	v2t = triplet_v2t(m->ds, 1.0f, m->s, bt->qvid, m->negv, Nq, B, lc->margin);
	if (lc->soft) {
		/* the soft source: the teacher's scores (a constant) for inheritance, the branch's
		 * own u for exploration, its gradient flowing into du unless detached */
		const float *M = m->u;
		float *dM = lc->soft_detach ? NULL : m->du;

		if (br == BR_INH) {
			CHECK(bt->tquery && bt->tvideo && c->E > 0);
			teacher_scores(m->ts, bt->tquery, bt->tvideo, bt->vlen, Nq, B, L, c->E);
			M = m->ts;
			dM = NULL;
		}
		n2v = softnce(m->du, dM, lc->nce_weight, m->u, M, bt->qvid, Nq, B, lc->soft_alpha,
		              lc->soft_beta);
		nv2t = 0.0f;
	} else {
		n2v = nce_t2v(m->du, lc->nce_weight, m->u, bt->qvid, Nq, B);
		nv2t = nce_v2t(m->du, lc->nce_weight, m->u, bt->qvid, Nq, B);
	}
	if (simkd) {
		CHECK(bt->tau);
		for (int q = 0; q < Nq; q++) {
			m->kdlen[q] = bt->vlen[bt->qvid[q]];
			memcpy(m->Sown + (size_t)q * L, m->S + (size_t)q * NF + (size_t)bt->qvid[q] * L,
			       L * sizeof(float));
		}
		zero(m->dSown, (size_t)Nq * L);
		kd = k->sim(m->dSown, lc->kd_weight, m->Sown, bt->tau, m->kdlen, Nq, L, lc->kd_temp);
	}
	if (featkd) {
		CHECK(bt->tvideo && m->fk_w[br] != NONE);
		linear_forward(m->z, m->F, m->w + m->fk_w[br], m->w + m->fk_b[br], NF, c->D, c->E);
		zero(m->dz, (size_t)NF * c->E);
		kd = k->feat(m->dz, lc->kd_weight, m->z, bt->tvideo, bt->vlen, B, L, c->E);
	}
	if (parts) {
		parts->trip_t2v[br] = t2v;
		parts->trip_v2t[br] = v2t;
		parts->nce_t2v[br] = n2v;
		parts->nce_v2t[br] = nv2t;
		parts->kd[br] = kd;
	}
	return t2v + v2t + lc->nce_weight * (n2v + nv2t) + (dokd ? lc->kd_weight * kd : 0.0f);
}

/* backward of branch br into this rank's encoders: the gradients of S and R (in place of S and
 * R, which are no longer needed), then of this rank's frame and query rows alone, through the
 * heads and the encoders */
static void
backward_share(Model *m, int br, const Batch *bt, const LossConfig *lc, const int *vlo,
               const int *qlo, float p, const Comm *cm)
{
	const ModelConfig *c = &m->cfg;
	const KdKind *k = kd_of(lc, br);
	int B = bt->B, L = bt->L, Nq = bt->Nq, T = bt->T, D = c->D, NF = B * L, r = cm->rank;
	int v0 = vlo[r], nv = vlo[r + 1] - v0, q0 = qlo[r], nq = qlo[r + 1] - q0;
	size_t f0 = (size_t)v0 * L, nf = (size_t)nv * L;
	EncW vw = encw(&m->enc[br][SIDE_VIDEO], m->w), vg = encw(&m->enc[br][SIDE_VIDEO], m->g);
	EncW qw = encw(&m->enc[br][SIDE_QUERY], m->w), qg = encw(&m->enc[br][SIDE_QUERY], m->g);
	Acts *av = &m->act[SIDE_VIDEO], *aq = &m->act[SIDE_QUERY];
	float **G = m->G;

	zero(m->S, (size_t)Nq * NF);
	framemax_backward(m->S, m->ds, m->sarg, Nq, B, L);
	if (k && k->on == KD_ON_SIM)
		for (int q = 0; q < Nq; q++) {
			float *d = m->S + (size_t)q * NF + (size_t)bt->qvid[q] * L;
			for (int t = 0; t < m->kdlen[q]; t++)
				d[t] += m->dSown[(size_t)q * L + t];
		}
	zero(m->R, (size_t)Nq * NF);
	framemax_backward(m->R, m->du, m->uarg, Nq, B, L);

	/* the score products for this rank's rows: its queries' rows of dS / dR against every
	 * frame into dqn / dpooled (this rank's queries), its frames' columns against every query
	 * into G1 / G2 (this rank's frames) */
	zero(G[1], nf * D);
	zero(G[2], nf * D);
	zero(m->dqn, (size_t)nq * D);
	zero(m->dpooled, (size_t)nq * D);
	if (nq) {
		mm(0, 0, nq, D, NF, 1.0f, m->S + (size_t)q0 * NF, NF, m->Fn, D, 1.0f, m->dqn, D);
		mm(0, 0, nq, D, NF, 1.0f, m->R + (size_t)q0 * NF, NF, m->F, D, 1.0f, m->dpooled, D);
	}
	if (nf) {
		mm(1, 0, (int)nf, D, Nq, 1.0f, m->S + f0, NF, m->Qn, D, 1.0f, G[1], D);
		mm(1, 0, (int)nf, D, Nq, 1.0f, m->R + f0, NF, m->Q, D, 1.0f, G[2], D);
	}
	l2norm_backward(G[2], G[1], m->Fn + f0 * D, m->fnorm + f0, (int)nf, D);
	l2norm_backward(m->dpooled, m->dqn, m->Qn + (size_t)q0 * D, m->qnorm + q0, nq, D);
	if (k && k->on == KD_ON_FEAT && nf)
		linear_backward(G[2], m->g + m->fk_w[br], m->g + m->fk_b[br], m->dz + f0 * c->E,
		                m->F + f0 * D, m->w + m->fk_w[br], (int)nf, D, c->E);

	/* video side: frame Linear, then the encoder */
	if (nv) {
		zero(G[0], nf * D);
		linear_backward(G[0], vg.head_w, vg.head_b, G[2], av->h, vw.head_w, (int)nf, D, D);
		enc_backward(m, av, &vw, &vg, bt->video + (size_t)(v0 - bt->v_first) * L * c->dv,
		             bt->vlen + v0, nv, L, c->dv, p);
	}
	/* query side: attention pooling, then the encoder */
	if (nq) {
		zero(G[0], (size_t)nq * T * D);
		attnpool_backward(G[0], qg.head_w, m->dpooled, aq->pa, aq->h, qw.head_w, bt->qlen + q0,
		                  nq, T, D);
		enc_backward(m, aq, &qw, &qg, bt->query + (size_t)(q0 - bt->q_first) * T * c->dt,
		             bt->qlen + q0, nq, T, c->dt, p);
	}
}

float
model_loss_dp(Model *m, const Batch *bt, const LossConfig *lc, Rng *rng, LossParts *parts,
              int backward, Comm *cm)
{
	const ModelConfig *c = &m->cfg;
	float p = lc->train ? c->dropout : 0.0f, total = 0.0f;
	int *vlo = emalloc(((size_t)cm->size + 1) * sizeof(*vlo));
	int *qlo = emalloc(((size_t)cm->size + 1) * sizeof(*qlo));

	check_batch(m, bt);
	loss_reserve(m, bt);
	comm_share(cm, bt->B, vlo);
	comm_share(cm, bt->Nq, qlo);
	if (parts)
		memset(parts, 0, sizeof(*parts));
	/* the loss is a sum of per-branch terms: each branch runs forward, loss and backward
	 * before the next one reuses the activation buffers */
	for (int br = 0; br < NBRANCH; br++) {
		Clock t0, t1, t2;

		if (!c->has_branch[br])
			continue;
		t0 = clock_now();
		encode_share(m, br, bt, vlo, qlo, p, rng, cm);
		scores(m, bt);
		t1 = clock_now();
		clock_add(&model_time[PHASE_FORWARD], t0, t1);
		total += loss_batch(m, br, bt, lc, rng, parts);
		t2 = clock_now();
		clock_add(&model_time[PHASE_LOSS], t1, t2);
		if (backward) {
			backward_share(m, br, bt, lc, vlo, qlo, p, cm);
			clock_add(&model_time[PHASE_BACKWARD], t2, clock_now());
		}
	}
	if (backward) {
		Clock t0 = clock_now();
		comm_allreduce(cm, m->g, m->np);
		clock_add(&model_time[PHASE_BACKWARD], t0, clock_now());
	}
	if (parts)
		parts->total = total;
	free(vlo);
	free(qlo);
	return total;
}

float
model_loss(Model *m, const Batch *bt, const LossConfig *lc, Rng *rng, LossParts *parts,
           int backward)
{
	return model_loss_dp(m, bt, lc, rng, parts, backward, &comm_self);
}

/* ---- inference */

void
model_encode_videos(Model *m, int br, const float *video, const int *vlen, int B, int L,
                    float *out)
{
	const ModelConfig *c = &m->cfg;
	int D = c->D, chunk = MAX(1, ENC_ROWS / L);
	EncW w;

	CHECK(br >= 0 && br < NBRANCH && c->has_branch[br] && L >= 1 && L <= c->max_frames);
	w = encw(&m->enc[br][SIDE_VIDEO], m->w);
	for (int b0 = 0; b0 < B; b0 += chunk) {
		int nb = MIN(chunk, B - b0);
		float *o = out + (size_t)b0 * L * D;

		enc_forward(m, &m->act[SIDE_VIDEO], &w, video + (size_t)b0 * L * c->dv, vlen + b0, nb,
		            L, c->dv, b0, 0.0f, NULL);
		linear_forward(o, m->act[SIDE_VIDEO].h, w.head_w, w.head_b, nb * L, D, D);
		for (int b = 0; b < nb; b++)
			zero(o + ((size_t)b * L + vlen[b0 + b]) * D, (size_t)(L - vlen[b0 + b]) * D);
	}
}

void
model_encode_queries(Model *m, int br, const float *query, const int *qlen, int Nq, int T,
                     float *out)
{
	const ModelConfig *c = &m->cfg;
	int D = c->D, chunk = MAX(1, ENC_ROWS / T);
	EncW w;

	CHECK(br >= 0 && br < NBRANCH && c->has_branch[br] && T >= 1 && T <= c->max_tokens);
	w = encw(&m->enc[br][SIDE_QUERY], m->w);
	for (int q0 = 0; q0 < Nq; q0 += chunk) {
		int nq = MIN(chunk, Nq - q0);
		Acts *a = &m->act[SIDE_QUERY];

		enc_forward(m, a, &w, query + (size_t)q0 * T * c->dt, qlen + q0, nq, T, c->dt, q0, 0.0f,
		            NULL);
		attnpool_forward(out + (size_t)q0 * D, a->pa, a->h, w.head_w, qlen + q0, nq, T, D);
	}
}

/* ---- cost: 2 x multiply-adds of every matrix product of one branch's encoder (eval mode) */

double
model_flops_video(const ModelConfig *c, int L)
{
	double D = c->D, l = L;

	return 2.0 * l * c->dv * D      /* input projection */
	     + 4 * 2.0 * l * D * D      /* Q, K, V, output Linears */
	     + 2 * 2.0 * l * l * D      /* scores and probs @ V over all heads */
	     + 2.0 * l * D * D;         /* frame Linear */
}

double
model_flops_query(const ModelConfig *c, int T)
{
	double D = c->D, t = T;

	return 2.0 * t * c->dt * D + 4 * 2.0 * t * D * D + 2 * 2.0 * t * t * D
	     + 2 * 2.0 * t * D;         /* pooling logits and weighted sum */
}
