/* dualenc: the Dual Encoding student of dualenc.h. Parameters live in one block described by a
 * table of named tensors (gradients and Adam moments in the same layout, as lib/model.c), so
 * adam_update and a parameter copy are single loops. Each side (video, text) keeps its own
 * activations, grown to the largest batch seen, because the loss needs both sides' outputs
 * before either backward runs.
 * The GRU keeps its sequences sorted by length, longest first, so the sequences still running
 * at step s are a prefix and the recurrent product of a step is one sgemm over them only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualenc.h"
#include "layers.h"
#include "loss.h"
#include "ptable.h"
#include "util.h"

/* ---- packed-sequence layers ---- */

void
seqmean_forward(float *out, const float *inp, const int *off, const int *len, int N, int C)
{
	for (int b = 0; b < N; b++) {
		float *o = out + (size_t)b * C;
		float inv = 1.0f / (float)len[b];
		memset(o, 0, (size_t)C * sizeof(*o));
		for (int t = 0; t < len[b]; t++) {
			const float *x = inp + (size_t)(off[b] + t) * C;
			for (int c = 0; c < C; c++)
				o[c] += x[c];
		}
		for (int c = 0; c < C; c++)
			o[c] *= inv;
	}
}

void
seqmean_backward(float *dinp, const float *dout, const int *off, const int *len, int N, int C)
{
	for (int b = 0; b < N; b++) {
		const float *d = dout + (size_t)b * C;
		float inv = 1.0f / (float)len[b];
		for (int t = 0; t < len[b]; t++) {
			float *dx = dinp + (size_t)(off[b] + t) * C;
			for (int c = 0; c < C; c++)
				dx[c] += d[c] * inv;
		}
	}
}

void
seqmax_forward(float *out, int *arg, const float *inp, const int *off, const int *len, int N,
               int C)
{
	for (int b = 0; b < N; b++) {
		float *o = out + (size_t)b * C;
		int *a = arg + (size_t)b * C;
		CHECK(len[b] >= 1);
		memcpy(o, inp + (size_t)off[b] * C, (size_t)C * sizeof(*o));
		for (int c = 0; c < C; c++)
			a[c] = off[b];
		for (int t = 1; t < len[b]; t++) {
			const float *x = inp + (size_t)(off[b] + t) * C;
			for (int c = 0; c < C; c++)
				if (x[c] > o[c]) {
					o[c] = x[c];
					a[c] = off[b] + t;
				}
		}
	}
}

void
seqmax_backward(float *dinp, const float *dout, const int *arg, int N, int C)
{
	for (size_t i = 0; i < (size_t)N * C; i++)
		dinp[(size_t)arg[i] * C + i % C] += dout[i];
}

/* ---- GRU ---- */

static float
sigm(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/* sequence order by descending length (stable): the running ones at step s are a prefix */
static int *
order_by_len(const int *len, int N, int *maxlen)
{
	int *o = emalloc((size_t)N * sizeof(*o));

	*maxlen = 0;
	for (int b = 0; b < N; b++) {
		int i = b;
		CHECK(len[b] >= 1);
		*maxlen = MAX(*maxlen, len[b]);
		for (; i > 0 && len[o[i - 1]] < len[b]; i--)
			o[i] = o[i - 1];
		o[i] = b;
	}
	return o;
}

/* row of sequence b processed at step s */
static inline long
step_row(const int *off, const int *len, int b, int s, int reverse)
{
	return off[b] + (reverse ? len[b] - 1 - s : s);
}

void
gru_forward(float *h, float *gates, const float *inp, const int *off, const int *len,
            const float *wi, const float *bi, const float *wh, const float *bh, int reverse,
            int N, int C, int H)
{
	int maxlen, na = N, *ord = order_by_len(len, N, &maxlen), H3 = 3 * H;
	long R = off[N - 1] + len[N - 1];
	float *xp = efloats((size_t)R * H3), *hs = efloats((size_t)N * H);
	float *hp = efloats((size_t)N * H3);

	/* input projections of every step at once; the recurrence adds Wh h + bh per step */
	linear_forward(xp, inp, wi, bi, (int)R, C, H3);
	for (int s = 0; s < maxlen; s++) {
		while (na > 0 && len[ord[na - 1]] <= s)
			na--;
		linear_forward(hp, hs, wh, bh, na, H, H3);
		for (int i = 0; i < na; i++) {
			long row = step_row(off, len, ord[i], s, reverse);
			const float *x = xp + (size_t)row * H3, *p = hp + (size_t)i * H3;
			float *g = gates + (size_t)row * 4 * H, *o = h + (size_t)row * H;
			float *st = hs + (size_t)i * H;
			for (int j = 0; j < H; j++) {
				float r = sigm(x[j] + p[j]), z = sigm(x[H + j] + p[H + j]);
				float hn = p[2 * H + j], n = tanhf(x[2 * H + j] + r * hn);
				o[j] = (1.0f - z) * n + z * st[j];
				st[j] = o[j];
				g[j] = r;
				g[H + j] = z;
				g[2 * H + j] = n;
				g[3 * H + j] = hn;
			}
		}
	}
	free(ord);
	free(xp);
	free(hs);
	free(hp);
}

void
gru_backward(float *dinp, float *dwi, float *dbi, float *dwh, float *dbh, const float *dh,
             const float *h, const float *gates, const float *inp, const int *off,
             const int *len, const float *wi, const float *wh, int reverse, int N, int C, int H)
{
	int maxlen, na = 0, *ord = order_by_len(len, N, &maxlen), H3 = 3 * H;
	long R = off[N - 1] + len[N - 1];
	float *dxp = efloats((size_t)R * H3), *dhp = efloats((size_t)R * H3);
	float *hprev = efloats((size_t)R * H), *carry = efloats((size_t)N * H);
	float *st = efloats((size_t)N * H3);

	/* back through time: carry[i] is dL/dh of sequence ord[i] after step s from later steps */
	for (int s = maxlen - 1; s >= 0; s--) {
		while (na < N && len[ord[na]] > s)
			na++;
		for (int i = 0; i < na; i++) {
			int b = ord[i];
			long row = step_row(off, len, b, s, reverse);
			const float *g = gates + (size_t)row * 4 * H, *d = dh + (size_t)row * H;
			const float *hpv = s ? h + (size_t)step_row(off, len, b, s - 1, reverse) * H : NULL;
			float *dx = dxp + (size_t)row * H3, *dp = st + (size_t)i * H3;
			float *cr = carry + (size_t)i * H, *hv = hprev + (size_t)row * H;
			for (int j = 0; j < H; j++) {
				float r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
				float hq = hpv ? hpv[j] : 0.0f, dy = d[j] + cr[j];
				/* h' = (1 - z) n + z h */
				float dn = dy * (1.0f - z), dz = dy * (hq - n);
				float dan = dn * (1.0f - n * n);
				float dar = dan * hn * r * (1.0f - r), daz = dz * z * (1.0f - z);
				dx[j] = dar;
				dx[H + j] = daz;
				dx[2 * H + j] = dan;
				dp[j] = dar;
				dp[H + j] = daz;
				dp[2 * H + j] = dan * r;    /* d(Whn h + bhn) */
				cr[j] = dy * z;
				hv[j] = hq;
			}
			memcpy(dhp + (size_t)row * H3, dp, (size_t)H3 * sizeof(float));
		}
		/* the recurrent input of step s was h_{s-1}: carry += d(Wh h + bh) @ Wh */
		mm(0, 0, na, H, H3, 1.0f, st, H3, wh, H, 1.0f, carry, H);
	}
	/* dWh += sum over steps of d(Wh h + bh)^T h_prev; the input projection in one product */
	if (dwh)
		mm(1, 0, H3, H, (int)R, 1.0f, dhp, H3, hprev, H, 1.0f, dwh, H);
	if (dbh)
		for (long r = 0; r < R; r++)
			for (int j = 0; j < H3; j++)
				dbh[j] += dhp[(size_t)r * H3 + j];
	linear_backward(dinp, dwi, dbi, dxp, inp, wi, (int)R, C, H3);
	free(ord);
	free(dxp);
	free(dhp);
	free(hprev);
	free(carry);
	free(st);
}

/* ---- 1-D convolution ---- */

long
conv1d_rows(const int *len, int N, int k)
{
	long R = 0;

	for (int b = 0; b < N; b++)
		R += len[b] + k - 1;
	return R;
}

long
conv1d_padrows(const int *len, int N, int k)
{
	return conv1d_rows(len, N, k) + k - 1;
}

void
conv1d_offsets(int *ooff, const int *len, int N, int k)
{
	long o = 0;

	for (int b = 0; b < N; b++) {
		ooff[b] = (int)o;
		o += len[b] + k - 1;
	}
}

/* xpad = k-1 zero rows, sequence 0, k-1 zero rows, sequence 1, ..., k-1 zero rows: window i
 * (rows i .. i+k-1) is output row i, and sequence b's windows are rows ooff[b] .. ooff[b] +
 * len[b] + k - 2, with no window wasted between sequences */
void
conv1d_forward(float *out, float *xpad, const float *inp, const int *off, const int *len,
               const float *w, const float *b, int N, int C, int OC, int k)
{
	long Ro = conv1d_rows(len, N, k), P = Ro + k - 1, o = 0;

	memset(xpad, 0, (size_t)P * C * sizeof(*xpad));
	for (int s = 0; s < N; s++) {
		memcpy(xpad + (size_t)(o + k - 1) * C, inp + (size_t)off[s] * C,
		       (size_t)len[s] * C * sizeof(*xpad));
		o += len[s] + k - 1;
	}
	for (long r = 0; r < Ro; r++)
		memcpy(out + (size_t)r * OC, b, (size_t)OC * sizeof(*out));
	for (int j = 0; j < k; j++)
		mm(0, 1, (int)Ro, OC, C, 1.0f, xpad + (size_t)j * C, C, w + (size_t)j * C, k * C, 1.0f,
		   out, OC);
}

void
conv1d_backward(float *dinp, float *dw, float *db, const float *dout, const float *xpad,
                const int *off, const int *len, const float *w, int N, int C, int OC, int k)
{
	long Ro = conv1d_rows(len, N, k), P = Ro + k - 1, o = 0;

	if (db)
		for (long r = 0; r < Ro; r++)
			for (int c = 0; c < OC; c++)
				db[c] += dout[(size_t)r * OC + c];
	if (dw)
		for (int j = 0; j < k; j++)
			mm(1, 0, OC, C, (int)Ro, 1.0f, dout, OC, xpad + (size_t)j * C, C, 1.0f,
			   dw + (size_t)j * C, k * C);
	if (dinp) {
		float *dx = efloats((size_t)P * C);
		for (int j = 0; j < k; j++)
			mm(0, 0, (int)Ro, C, OC, 1.0f, dout, OC, w + (size_t)j * C, k * C, 1.0f,
			   dx + (size_t)j * C, C);
		for (int s = 0; s < N; s++) {
			const float *src = dx + (size_t)(o + k - 1) * C;
			float *dst = dinp + (size_t)off[s] * C;
			for (size_t i = 0; i < (size_t)len[s] * C; i++)
				dst[i] += src[i];
			o += len[s] + k - 1;
		}
		free(dx);
	}
}

/* ---- batch normalisation ---- */

void
batchnorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g,
                  const float *b, float *rmean, float *rvar, int train, int N, int C)
{
	for (int c = 0; c < C; c++) {
		double mu, var, s = 0, ss = 0;
		float m, r;
		if (train) {
			CHECK(N >= 2);
			for (int n = 0; n < N; n++)
				s += x[(size_t)n * C + c];
			mu = s / N;
			for (int n = 0; n < N; n++) {
				double dv = x[(size_t)n * C + c] - mu;
				ss += dv * dv;
			}
			var = ss / N;
			rmean[c] = (float)(0.9 * rmean[c] + 0.1 * mu);
			rvar[c] = (float)(0.9 * rvar[c] + 0.1 * ss / (N - 1));
		} else {
			mu = rmean[c];
			var = rvar[c];
		}
		m = (float)mu;
		r = (float)(1.0 / sqrt(var + 1e-5));
		if (mean)
			mean[c] = m;
		if (rstd)
			rstd[c] = r;
		for (int n = 0; n < N; n++)
			y[(size_t)n * C + c] = (x[(size_t)n * C + c] - m) * r * g[c] + b[c];
	}
}

void
batchnorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x,
                   const float *g, const float *mean, const float *rstd, int N, int C)
{
	for (int c = 0; c < C; c++) {
		double sd = 0, sdx = 0;
		for (int n = 0; n < N; n++) {
			float xh = (x[(size_t)n * C + c] - mean[c]) * rstd[c], d = dy[(size_t)n * C + c];
			sd += d;
			sdx += d * xh;
		}
		if (dg)
			dg[c] += (float)sdx;
		if (db)
			db[c] += (float)sd;
		if (!dx)
			continue;
		/* xh = (x - mean) rstd over the batch: dx = g rstd (dy - mean(dy) - xh mean(dy xh)) */
		for (int n = 0; n < N; n++) {
			float xh = (x[(size_t)n * C + c] - mean[c]) * rstd[c];
			dx[(size_t)n * C + c] += g[c] * rstd[c] *
			    (float)(dy[(size_t)n * C + c] - sd / N - xh * sdx / N);
		}
	}
}

/* ---- the model: parameters ---- */

enum { SIDE_VIDEO = 0, SIDE_TEXT = 1, MAXT = 2 * (14 + 2 * DE_MAXK) };

/* one side's tensors (offsets into the parameter block) and dimensions */
typedef struct {
	int C, nk, k[DE_MAXK], Ccat;
	size_t wi[2], bi[2], wh[2], bh[2];     /* GRU forward [0] and reverse [1] */
	size_t cw[DE_MAXK], cb[DE_MAXK];       /* convolutions (r, k*2H), (r) */
	size_t fw, fb;                         /* Linear (D, Ccat), (D) */
	size_t bng, bnb, bnm, bnv;             /* batch norm gain, bias, running mean, variance */
} Side;

/* one side's activations for N sequences of R rows in all */
typedef struct {
	size_t capN, capR, capX[DE_MAXK], capO[DE_MAXK], capD;
	int N;
	int *off;                              /* (N + 1) */
	int *ooff[DE_MAXK];                    /* (N) */
	float *hd[2], *gt[2];                  /* (R, H), (R, 4H) */
	float *G;                              /* (R, 2H) bi-GRU outputs [forward | reverse] */
	float *xpad[DE_MAXK], *co[DE_MAXK];    /* conv input copies, ReLU(conv) (Ro, r) */
	int *arg[DE_MAXK];                     /* (N, r) */
	float *lv;                             /* (N, max(C, 2H, r)) one level before concatenation */
	float *cat, *catd;                     /* (N, Ccat) concatenation, after dropout */
	uint8_t *mask;                         /* (N, Ccat) */
	float *emb, *norm, *embn;              /* (N, D), (N), (N, D) */
	float *lin, *bnmean, *bnrstd, *dlin;   /* (N, D) Linear output before batch norm, (D) x2 */
	/* backward scratch */
	float *dembn, *demb, *dcatd, *dcat, *dG, *dh, *dco, *dlv;
} Acts;

struct DeModel {
	DeConfig cfg;
	PTensor t[MAXT];
	int nt;
	size_t np;
	float *w, *g, *m, *v;
	Side side[2];
	Acts act[2];
	size_t capQB;
	float *S, *dS;                         /* (Nq, B) */
	int *negq, *negv, *kdlen;
};

static size_t
add_tensor(DeModel *m, const char *prefix, const char *name, int d0, int d1, int decay)
{
	return ptable_add(m->t, &m->nt, MAXT, &m->np, prefix, name, d0, d1, decay);
}

static void
add_side(DeModel *m, int sd)
{
	const DeConfig *c = &m->cfg;
	Side *s = &m->side[sd];
	const char *p = sd == SIDE_VIDEO ? "video" : "text";
	char nm[32];
	int H = c->H;

	s->C = sd == SIDE_VIDEO ? c->dv : c->dt;
	s->nk = sd == SIDE_VIDEO ? c->nkv : c->nkt;
	memcpy(s->k, sd == SIDE_VIDEO ? c->kv : c->kt, sizeof(s->k));
	s->Ccat = s->C + 2 * H + s->nk * c->r;
	for (int dir = 0; dir < 2; dir++) {
		const char *g = dir ? "gru_r" : "gru_f";
		snprintf(nm, sizeof(nm), "%s.wi", g);
		s->wi[dir] = add_tensor(m, p, nm, 3 * H, s->C, 1);
		snprintf(nm, sizeof(nm), "%s.bi", g);
		s->bi[dir] = add_tensor(m, p, nm, 3 * H, 0, 0);
		snprintf(nm, sizeof(nm), "%s.wh", g);
		s->wh[dir] = add_tensor(m, p, nm, 3 * H, H, 1);
		snprintf(nm, sizeof(nm), "%s.bh", g);
		s->bh[dir] = add_tensor(m, p, nm, 3 * H, 0, 0);
	}
	for (int i = 0; i < s->nk; i++) {
		snprintf(nm, sizeof(nm), "conv%d.w", s->k[i]);
		s->cw[i] = add_tensor(m, p, nm, c->r, s->k[i] * 2 * H, 1);
		snprintf(nm, sizeof(nm), "conv%d.b", s->k[i]);
		s->cb[i] = add_tensor(m, p, nm, c->r, 0, 0);
	}
	s->fw = add_tensor(m, p, "fc.w", c->D, s->Ccat, 1);
	s->fb = add_tensor(m, p, "fc.b", c->D, 0, 0);
	if (c->bn) {
		s->bng = add_tensor(m, p, "bn.g", c->D, 0, 0);
		s->bnb = add_tensor(m, p, "bn.b", c->D, 0, 0);
		s->bnm = add_tensor(m, p, "bn.running_mean", c->D, 0, 0);
		s->bnv = add_tensor(m, p, "bn.running_var", c->D, 0, 0);
	}
}

void
de_defaults(DeConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->H = 512;
	c->r = 512;
	c->D = 1024;
	c->nkv = 4;
	for (int i = 0; i < 4; i++)
		c->kv[i] = 2 + i;
	c->nkt = 3;
	for (int i = 0; i < 3; i++)
		c->kt[i] = 2 + i;
	c->dropout = 0.2f;
	c->bn = 1;
}

DeModel *
de_new(const DeConfig *cfg)
{
	DeModel *m = ecalloc(1, sizeof(*m));
	const DeConfig *c = &m->cfg;

	m->cfg = *cfg;
	CHECK(c->dv > 0 && c->dt > 0 && c->H > 0 && c->r > 0 && c->D > 0);
	CHECK(c->nkv >= 1 && c->nkv <= DE_MAXK && c->nkt >= 1 && c->nkt <= DE_MAXK);
	for (int i = 0; i < c->nkv; i++)
		CHECK(c->kv[i] >= 1);
	for (int i = 0; i < c->nkt; i++)
		CHECK(c->kt[i] >= 1);
	CHECK(c->dropout >= 0.0f && c->dropout < 1.0f);
	add_side(m, SIDE_VIDEO);
	add_side(m, SIDE_TEXT);
	m->w = efloats(m->np);
	m->g = efloats(m->np);
	m->m = efloats(m->np);
	m->v = efloats(m->np);
	return m;
}

/* the buffers of a sized by sequences (capN), which acts_reserve replaces when they grow */
static void
acts_free_seqs(Acts *a)
{
	free(a->lv);
	free(a->dlv);
	free(a->cat);
	free(a->catd);
	free(a->dcatd);
	free(a->dcat);
	free(a->mask);
	free(a->emb);
	free(a->norm);
	free(a->embn);
	free(a->lin);
	free(a->dlin);
	free(a->dembn);
	free(a->demb);
}

/* the buffers of a sized by rows (capR), likewise */
static void
acts_free_rows(Acts *a)
{
	for (int d = 0; d < 2; d++) {
		free(a->hd[d]);
		free(a->gt[d]);
	}
	free(a->G);
	free(a->dG);
	free(a->dh);
}

static void
acts_free(Acts *a)
{
	free(a->off);
	for (int i = 0; i < DE_MAXK; i++) {
		free(a->ooff[i]);
		free(a->xpad[i]);
		free(a->co[i]);
		free(a->arg[i]);
	}
	acts_free_seqs(a);
	acts_free_rows(a);
	free(a->bnmean);
	free(a->bnrstd);
	free(a->dco);
}

void
de_free(DeModel *m)
{
	if (!m)
		return;
	free(m->w);
	free(m->g);
	free(m->m);
	free(m->v);
	for (int s = 0; s < 2; s++)
		acts_free(&m->act[s]);
	free(m->S);
	free(m->dS);
	free(m->negq);
	free(m->negv);
	free(m->kdlen);
	free(m);
}

const DeConfig *
de_config(const DeModel *m)
{
	return &m->cfg;
}

static void
uniform(float *x, size_t n, float bound, Rng *rng)
{
	for (size_t i = 0; i < n; i++)
		x[i] = bound * (2.0f * rng_uniform(rng) - 1.0f);
}

void
de_init(DeModel *m, Rng *rng)
{
	const DeConfig *c = &m->cfg;
	float kg = 1.0f / sqrtf((float)c->H);

	for (int sd = 0; sd < 2; sd++) {
		const Side *s = &m->side[sd];
		for (int d = 0; d < 2; d++) {
			uniform(m->w + s->wi[d], (size_t)3 * c->H * s->C, kg, rng);
			uniform(m->w + s->bi[d], (size_t)3 * c->H, kg, rng);
			uniform(m->w + s->wh[d], (size_t)3 * c->H * c->H, kg, rng);
			uniform(m->w + s->bh[d], (size_t)3 * c->H, kg, rng);
		}
		for (int i = 0; i < s->nk; i++) {
			float kc = 1.0f / sqrtf((float)s->k[i] * 2 * c->H);
			uniform(m->w + s->cw[i], (size_t)c->r * s->k[i] * 2 * c->H, kc, rng);
			uniform(m->w + s->cb[i], (size_t)c->r, kc, rng);
		}
		uniform(m->w + s->fw, (size_t)c->D * s->Ccat, sqrtf(6.0f / (float)(s->Ccat + c->D)),
		        rng);
		memset(m->w + s->fb, 0, (size_t)c->D * sizeof(float));
		if (c->bn)
			for (int j = 0; j < c->D; j++) {
				m->w[s->bng + j] = 1.0f;
				m->w[s->bnb + j] = 0.0f;
				m->w[s->bnm + j] = 0.0f;
				m->w[s->bnv + j] = 1.0f;
			}
	}
}

int
de_num_tensors(const DeModel *m)
{
	return m->nt;
}

ParamInfo
de_tensor(const DeModel *m, int i)
{
	CHECK(i >= 0 && i < m->nt);
	return ptable_info(&m->t[i], m->w, m->g, m->m, m->v);
}

size_t
de_num_params(const DeModel *m)
{
	return m->np;
}

void
de_zero_grad(DeModel *m)
{
	memset(m->g, 0, m->np * sizeof(float));
}

void
de_get_weights(const DeModel *m, float *w)
{
	memcpy(w, m->w, m->np * sizeof(float));
}

void
de_set_weights(DeModel *m, const float *w)
{
	memcpy(m->w, w, m->np * sizeof(float));
}

/* ---- the model: one side forward and backward ---- */

/* grow every buffer of a for N sequences of R rows (caps are in elements of the largest buffer
 * of each group) */
static void
acts_reserve(Acts *a, const Side *s, const DeConfig *c, int N, long R, const int *len)
{
	int H = c->H, lvw = MAX(MAX(s->C, 2 * H), c->r);

	if ((size_t)N > a->capN) {
		size_t n = (size_t)N + N / 4 + 16;
		a->capN = n;
		a->off = erealloc(a->off, (n + 1) * sizeof(int));
		for (int i = 0; i < s->nk; i++) {
			a->ooff[i] = erealloc(a->ooff[i], n * sizeof(int));
			a->arg[i] = erealloc(a->arg[i], n * c->r * sizeof(int));
		}
		acts_free_seqs(a);
		a->lv = efloats(n * lvw);
		a->dlv = efloats(n * lvw);
		a->cat = efloats(n * s->Ccat);
		a->catd = efloats(n * s->Ccat);
		a->dcatd = efloats(n * s->Ccat);
		a->dcat = efloats(n * s->Ccat);
		a->mask = emalloc(n * s->Ccat);
		a->emb = efloats(n * c->D);
		a->lin = efloats(n * c->D);
		a->dlin = efloats(n * c->D);
		if (!a->bnmean) {
			a->bnmean = efloats((size_t)c->D);
			a->bnrstd = efloats((size_t)c->D);
		}
		a->norm = efloats(n);
		a->embn = efloats(n * c->D);
		a->dembn = efloats(n * c->D);
		a->demb = efloats(n * c->D);
	}
	if ((size_t)R > a->capR) {
		size_t n = (size_t)R + R / 4 + 16;
		a->capR = n;
		acts_free_rows(a);
		for (int d = 0; d < 2; d++) {
			a->hd[d] = efloats(n * H);
			a->gt[d] = efloats(n * 4 * H);
		}
		a->G = efloats(n * 2 * H);
		a->dG = efloats(n * 2 * H);
		a->dh = efloats(n * H);
	}
	for (int i = 0; i < s->nk; i++) {
		a->xpad[i] = efloats_grow(a->xpad[i], &a->capX[i],
		                   (size_t)conv1d_padrows(len, N, s->k[i]) * 2 * H);
		a->co[i] = efloats_grow(a->co[i], &a->capO[i], (size_t)conv1d_rows(len, N, s->k[i]) * c->r);
	}
	{
		size_t need = 0;
		for (int i = 0; i < s->nk; i++)
			need = MAX(need, (size_t)conv1d_rows(len, N, s->k[i]) * c->r);
		a->dco = efloats_grow(a->dco, &a->capD, need);
	}
}

/* out (N, wd) columns [c0, c0 + n) = in (N, n) */
static void
put_cols(float *out, int wd, int c0, const float *in, int n, int N)
{
	for (int b = 0; b < N; b++)
		memcpy(out + (size_t)b * wd + c0, in + (size_t)b * n, (size_t)n * sizeof(float));
}

static void
get_cols(float *out, const float *in, int wd, int c0, int n, int N)
{
	for (int b = 0; b < N; b++)
		memcpy(out + (size_t)b * n, in + (size_t)b * wd + c0, (size_t)n * sizeof(float));
}

/* forward of one side over N packed sequences x; result a->embn (N, D) */
static void
side_forward(DeModel *m, int sd, const float *x, const int *len, int N, int train, Rng *rng)
{
	const DeConfig *c = &m->cfg;
	const Side *s = &m->side[sd];
	Acts *a = &m->act[sd];
	const float *w = m->w;
	int H = c->H, col = 0;
	long R = 0;

	CHECK(N >= 1);
	for (int b = 0; b < N; b++) {
		CHECK(len[b] >= 1);
		R += len[b];
	}
	acts_reserve(a, s, c, N, R, len);
	a->N = N;
	a->off[0] = 0;
	for (int b = 0; b < N; b++)
		a->off[b + 1] = a->off[b] + len[b];

	/* level 1: mean of the inputs */
	seqmean_forward(a->lv, x, a->off, len, N, s->C);
	put_cols(a->cat, s->Ccat, col, a->lv, s->C, N);
	col += s->C;
	/* level 2: bi-GRU, mean of its outputs */
	for (int d = 0; d < 2; d++)
		gru_forward(a->hd[d], a->gt[d], x, a->off, len, w + s->wi[d], w + s->bi[d],
		            w + s->wh[d], w + s->bh[d], d, N, s->C, H);
	for (long r = 0; r < R; r++) {
		memcpy(a->G + (size_t)r * 2 * H, a->hd[0] + (size_t)r * H, (size_t)H * sizeof(float));
		memcpy(a->G + (size_t)r * 2 * H + H, a->hd[1] + (size_t)r * H,
		       (size_t)H * sizeof(float));
	}
	seqmean_forward(a->lv, a->G, a->off, len, N, 2 * H);
	put_cols(a->cat, s->Ccat, col, a->lv, 2 * H, N);
	col += 2 * H;
	/* level 3: convolutions over the bi-GRU outputs, ReLU, max over time */
	for (int i = 0; i < s->nk; i++) {
		int k = s->k[i];
		long Ro = conv1d_rows(len, N, k);
		int *olen = emalloc((size_t)N * sizeof(int));
		for (int b = 0; b < N; b++)
			olen[b] = len[b] + k - 1;
		conv1d_offsets(a->ooff[i], len, N, k);
		conv1d_forward(a->co[i], a->xpad[i], a->G, a->off, len, w + s->cw[i], w + s->cb[i], N,
		               2 * H, c->r, k);
		relu_forward(a->co[i], a->co[i], (size_t)Ro * c->r);
		seqmax_forward(a->lv, a->arg[i], a->co[i], a->ooff[i], olen, N, c->r);
		put_cols(a->cat, s->Ccat, col, a->lv, c->r, N);
		col += c->r;
		free(olen);
	}
	CHECK(col == s->Ccat);
	/* dropout -> Linear -> L2 normalisation */
	if (train && c->dropout > 0.0f) {
		dropout_mask(a->mask, (size_t)N * s->Ccat, c->dropout, rng);
		dropout_forward(a->catd, a->cat, a->mask, (size_t)N * s->Ccat, c->dropout);
	} else
		memcpy(a->catd, a->cat, (size_t)N * s->Ccat * sizeof(float));
	if (c->bn) {
		linear_forward(a->lin, a->catd, w + s->fw, w + s->fb, N, s->Ccat, c->D);
		batchnorm_forward(a->emb, a->bnmean, a->bnrstd, a->lin, w + s->bng, w + s->bnb,
		                  m->w + s->bnm, m->w + s->bnv, train, N, c->D);
	} else
		linear_forward(a->emb, a->catd, w + s->fw, w + s->fb, N, s->Ccat, c->D);
	l2norm_forward(a->embn, a->norm, a->emb, N, c->D);
}

/* backward of one side from a->dembn (N, D) into the parameter gradients */
static void
side_backward(DeModel *m, int sd, const float *x, const int *len, int train)
{
	const DeConfig *c = &m->cfg;
	const Side *s = &m->side[sd];
	Acts *a = &m->act[sd];
	const float *w = m->w;
	float *g = m->g;
	int H = c->H, N = a->N, col = s->C + 2 * H;
	long R = a->off[N];

	memset(a->demb, 0, (size_t)N * c->D * sizeof(float));
	l2norm_backward(a->demb, a->dembn, a->embn, a->norm, N, c->D);
	memset(a->dcatd, 0, (size_t)N * s->Ccat * sizeof(float));
	if (c->bn) {
		memset(a->dlin, 0, (size_t)N * c->D * sizeof(float));
		batchnorm_backward(a->dlin, g + s->bng, g + s->bnb, a->demb, a->lin, w + s->bng,
		                   a->bnmean, a->bnrstd, N, c->D);
		linear_backward(a->dcatd, g + s->fw, g + s->fb, a->dlin, a->catd, w + s->fw, N,
		                s->Ccat, c->D);
	} else
		linear_backward(a->dcatd, g + s->fw, g + s->fb, a->demb, a->catd, w + s->fw, N,
		                s->Ccat, c->D);
	if (train && c->dropout > 0.0f) {
		memset(a->dcat, 0, (size_t)N * s->Ccat * sizeof(float));
		dropout_backward(a->dcat, a->dcatd, a->mask, (size_t)N * s->Ccat, c->dropout);
	} else
		memcpy(a->dcat, a->dcatd, (size_t)N * s->Ccat * sizeof(float));
	/* level 1 has no parameters and the inputs need no gradient */
	memset(a->dG, 0, (size_t)R * 2 * H * sizeof(float));
	for (int i = 0; i < s->nk; i++) {
		int k = s->k[i];
		long Ro = conv1d_rows(len, N, k);
		get_cols(a->dlv, a->dcat, s->Ccat, col, c->r, N);
		col += c->r;
		memset(a->dco, 0, (size_t)Ro * c->r * sizeof(float));
		seqmax_backward(a->dco, a->dlv, a->arg[i], N, c->r);
		/* ReLU in place: its output co > 0 tells where the gradient passes */
		for (size_t j = 0; j < (size_t)Ro * c->r; j++)
			if (!(a->co[i][j] > 0.0f))
				a->dco[j] = 0.0f;
		conv1d_backward(a->dG, g + s->cw[i], g + s->cb[i], a->dco, a->xpad[i], a->off, len,
		                w + s->cw[i], N, 2 * H, c->r, k);
	}
	get_cols(a->dlv, a->dcat, s->Ccat, s->C, 2 * H, N);
	seqmean_backward(a->dG, a->dlv, a->off, len, N, 2 * H);
	for (int d = 0; d < 2; d++) {
		for (long r = 0; r < R; r++)
			memcpy(a->dh + (size_t)r * H, a->dG + (size_t)r * 2 * H + d * H,
			       (size_t)H * sizeof(float));
		gru_backward(NULL, g + s->wi[d], g + s->bi[d], g + s->wh[d], g + s->bh[d], a->dh,
		             a->hd[d], a->gt[d], x, a->off, len, w + s->wi[d], w + s->wh[d], d, N,
		             s->C, H);
	}
}

/* ---- the loss ---- */

float
de_loss(DeModel *m, const DeBatch *b, const DeLossConfig *lc, Rng *rng, DeLossParts *parts,
        int backward)
{
	const DeConfig *c = &m->cfg;
	int B = b->B, Nq = b->Nq, D = c->D;
	float t2v, v2t, kd = 0.0f, total;
	Acts *av = &m->act[SIDE_VIDEO], *aq = &m->act[SIDE_TEXT];

	CHECK(B >= 1 && Nq >= 1);
	for (int q = 0; q < Nq; q++)
		CHECK(b->qvid[q] >= 0 && b->qvid[q] < B);
	side_forward(m, SIDE_VIDEO, b->video, b->vlen, B, lc->train, rng);
	side_forward(m, SIDE_TEXT, b->query, b->qlen, Nq, lc->train, rng);
	if ((size_t)Nq * B > m->capQB || (size_t)MAX(Nq, B) > m->capQB) {
		m->capQB = MAX((size_t)Nq * B, (size_t)MAX(Nq, B)) + 16;
		free(m->S);
		free(m->dS);
		m->S = efloats(m->capQB);
		m->dS = efloats(m->capQB);
		m->negq = erealloc(m->negq, m->capQB * sizeof(int));
		m->negv = erealloc(m->negv, m->capQB * sizeof(int));
		m->kdlen = erealloc(m->kdlen, m->capQB * sizeof(int));
	}
	/* cosine similarities (both embeddings are unit vectors) */
	framesim_forward(m->S, aq->embn, av->embn, Nq, B, D);
	memset(m->dS, 0, (size_t)Nq * B * sizeof(float));
	/* VSE++ max violation, summed (the original's cost_style "sum"): loss.h's triplets are
	 * means, so scale by the count */
	triplet_t2v_sample(m->negq, m->S, b->qvid, Nq, B, 1, 1, rng);
	t2v = Nq * triplet_t2v(backward ? m->dS : NULL, (float)Nq, m->S, b->qvid, m->negq, Nq, B,
	                       lc->margin);
	triplet_v2t_sample(m->negv, m->S, b->qvid, Nq, B, 1, rng);
	v2t = B * triplet_v2t(backward ? m->dS : NULL, (float)B, m->S, b->qvid, m->negv, Nq, B,
	                      lc->margin);
	if (lc->kd_weight > 0.0f) {
		CHECK(b->tau);
		for (int q = 0; q < Nq; q++)
			m->kdlen[q] = B;
		kd = kd_sim_kl(backward ? m->dS : NULL, lc->kd_weight, m->S, b->tau, m->kdlen, Nq, B,
		               lc->kd_temp);
	}
	total = t2v + v2t + lc->kd_weight * kd;
	if (parts) {
		parts->total = total;
		parts->trip_t2v = t2v;
		parts->trip_v2t = v2t;
		parts->kd = kd;
	}
	if (backward) {
		memset(aq->dembn, 0, (size_t)Nq * D * sizeof(float));
		memset(av->dembn, 0, (size_t)B * D * sizeof(float));
		framesim_backward(aq->dembn, av->dembn, m->dS, aq->embn, av->embn, Nq, B, D);
		side_backward(m, SIDE_VIDEO, b->video, b->vlen, lc->train);
		side_backward(m, SIDE_TEXT, b->query, b->qlen, lc->train);
	}
	return total;
}

/* ---- inference ---- */

void
de_encode_videos(DeModel *m, const float *video, const int *vlen, int N, float *out)
{
	side_forward(m, SIDE_VIDEO, video, vlen, N, 0, NULL);
	memcpy(out, m->act[SIDE_VIDEO].embn, (size_t)N * m->cfg.D * sizeof(float));
}

void
de_encode_queries(DeModel *m, const float *query, const int *qlen, int N, float *out)
{
	side_forward(m, SIDE_TEXT, query, qlen, N, 0, NULL);
	memcpy(out, m->act[SIDE_TEXT].embn, (size_t)N * m->cfg.D * sizeof(float));
}
