/* test_layers: central-difference gradchecks of every layer (lib/layers.c) and every loss
 * (lib/loss.c), plus forward checks against naive double-precision references (attention,
 * pooling, masked max, LayerNorm, InfoNCE, KD) and the negative-sampling rules.
 * A layer is checked through loss = sum(out * g) with a fixed random g; a loss is checked
 * directly. Prints OK / NOT OK per tensor with the max abs difference; exit 0 iff all OK. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers.h"
#include "loss.h"
#include "rng.h"
#include "util.h"

static Rng rng;

/* ---- shared state of the layer under test (one at a time) */
static struct {
	int N, C, OC, B, T, D, NH, Nq, L, E;
	float *x, *w, *b, *g, *out, *q, *k, *v, *p1, *p2, *aux, p;
	uint8_t *mask;
	int *len, *vid, *neg;
} S;

/* ---- linear */

static double
f_linear(void)
{
	linear_forward(S.out, S.x, S.w, S.b, S.N, S.C, S.OC);
	return gc_dotg(S.out, S.g, (size_t)S.N * S.OC);
}

static void
test_linear(void)
{
	int N = 5, C = 7, OC = 4;
	float *dx, *dw, *db;

	S.N = N, S.C = C, S.OC = OC;
	S.x = gc_randv(&rng, N * C, -1, 1), S.w = gc_randv(&rng, OC * C, -1, 1);
	S.b = gc_randv(&rng, OC, -1, 1);
	S.g = gc_randv(&rng, N * OC, -1, 1), S.out = efloats(N * OC);
	dx = efloats(N * C), dw = efloats(OC * C), db = efloats(OC);
	f_linear();
	linear_backward(dx, dw, db, S.g, S.x, S.w, N, C, OC);
	gc_check("linear dinp", f_linear, S.x, dx, N * C, 1e-2f, 1e-3);
	gc_check("linear dweight", f_linear, S.w, dw, OC * C, 1e-2f, 1e-3);
	gc_check("linear dbias", f_linear, S.b, db, OC, 1e-2f, 1e-3);
	free(S.x); free(S.w); free(S.b); free(S.g); free(S.out); free(dx); free(dw); free(db);
}

/* ---- layernorm */

static double
f_layernorm(void)
{
	layernorm_forward(S.out, S.p1, S.p2, S.x, S.w, S.b, S.N, S.C);
	return gc_dotg(S.out, S.g, (size_t)S.N * S.C);
}

static void
test_layernorm(void)
{
	int N = 4, C = 9;
	float *dx, *dw, *db;
	double *ref = ecalloc(N * C, sizeof(double));

	S.N = N, S.C = C;
	S.x = gc_randv(&rng, N * C, -2, 2), S.w = gc_randv(&rng, C, 0.5, 1.5);
	S.b = gc_randv(&rng, C, -1, 1);
	S.g = gc_randv(&rng, N * C, -1, 1), S.out = efloats(N * C), S.p1 = efloats(N), S.p2 = efloats(N);
	dx = efloats(N * C), dw = efloats(C), db = efloats(C);
	f_layernorm();
	for (int n = 0; n < N; n++) {
		double m = 0.0, var = 0.0;
		for (int i = 0; i < C; i++)
			m += S.x[n * C + i] / (double)C;
		for (int i = 0; i < C; i++)
			var += (S.x[n * C + i] - m) * (S.x[n * C + i] - m) / C;
		for (int i = 0; i < C; i++)
			ref[n * C + i] = (S.x[n * C + i] - m) / sqrt(var + 1e-5) * S.w[i] + S.b[i];
	}
	gc_compare("layernorm forward vs naive", S.out, ref, N * C, 1e-5);
	layernorm_backward(dx, dw, db, S.g, S.x, S.w, S.p1, S.p2, N, C);
	gc_check("layernorm dinp", f_layernorm, S.x, dx, N * C, 1e-2f, 2e-3);
	gc_check("layernorm dgain", f_layernorm, S.w, dw, C, 1e-2f, 2e-3);
	gc_check("layernorm dbias", f_layernorm, S.b, db, C, 1e-2f, 2e-3);
	free(S.x); free(S.w); free(S.b); free(S.g); free(S.out); free(S.p1); free(S.p2);
	free(dx); free(dw); free(db); free(ref);
}

/* ---- layernorm + dropout, fused */

static double
f_lndrop(void)
{
	lndrop_forward(S.out, S.p1, S.p2, S.x, S.w, S.b, S.mask, S.p, S.N, S.C);
	return gc_dotg(S.out, S.g, (size_t)S.N * S.C);
}

static void
test_lndrop(void)
{
	int N = 4, C = 11;
	float *dx, *dw, *db, *ref, *m2 = efloats(4), *r2 = efloats(4);
	double maxd = 0.0;

	S.N = N, S.C = C, S.p = 0.3f;
	S.x = gc_randv(&rng, N * C, -2, 2), S.w = gc_randv(&rng, C, 0.5, 1.5);
	S.b = gc_randv(&rng, C, -1, 1);
	S.g = gc_randv(&rng, N * C, -1, 1), S.out = efloats(N * C), S.p1 = efloats(N), S.p2 = efloats(N);
	S.mask = ecalloc(N * C, 1);
	dropout_mask(S.mask, N * C, S.p, &rng);
	dx = efloats(N * C), dw = efloats(C), db = efloats(C), ref = efloats(N * C);
	f_lndrop();
	layernorm_forward(ref, m2, r2, S.x, S.w, S.b, N, C);
	dropout_forward(ref, ref, S.mask, N * C, S.p);
	for (int i = 0; i < N * C; i++)
		maxd = fmax(maxd, fabs(ref[i] - S.out[i]));
	gc_report("lndrop forward = dropout(layernorm)", maxd < 1e-6, maxd);
	lndrop_backward(dx, dw, db, S.g, S.x, S.w, S.p1, S.p2, S.mask, S.p, N, C);
	gc_check("lndrop dinp (fixed mask)", f_lndrop, S.x, dx, N * C, 1e-2f, 2e-3);
	gc_check("lndrop dgain (fixed mask)", f_lndrop, S.w, dw, C, 1e-2f, 2e-3);
	gc_check("lndrop dbias (fixed mask)", f_lndrop, S.b, db, C, 1e-2f, 2e-3);
	free(S.x); free(S.w); free(S.b); free(S.g); free(S.out); free(S.p1); free(S.p2);
	free(S.mask); free(dx); free(dw); free(db); free(ref); free(m2); free(r2);
	S.mask = NULL;
}

/* ---- relu, dropout */

static double
f_relu(void)
{
	relu_forward(S.out, S.x, S.N);
	return gc_dotg(S.out, S.g, S.N);
}

static double
f_dropout(void)
{
	dropout_forward(S.out, S.x, S.mask, S.N, S.p);
	return gc_dotg(S.out, S.g, S.N);
}

static void
test_relu_dropout(void)
{
	int N = 40, kept = 0;
	float *dx;

	S.N = N;
	S.x = gc_randv(&rng, N, -1, 1), S.g = gc_randv(&rng, N, -1, 1), S.out = efloats(N);
	dx = efloats(N);
	for (int i = 0; i < N; i++)   /* keep inputs away from the kink */
		S.x[i] += S.x[i] > 0 ? 0.05f : -0.05f;
	f_relu();
	relu_backward(dx, S.g, S.out, N);
	gc_check("relu dinp", f_relu, S.x, dx, N, 1e-2f, 1e-4);

	S.p = 0.3f;
	S.mask = ecalloc(N, 1);
	dropout_mask(S.mask, N, S.p, &rng);
	for (int i = 0; i < N; i++)
		kept += S.mask[i];
	gc_report("dropout mask drops some and keeps some", kept > 0 && kept < N, 0.0);
	memset(dx, 0, N * sizeof(float));
	f_dropout();
	dropout_backward(dx, S.g, S.mask, N, S.p);
	gc_check("dropout dinp (fixed mask)", f_dropout, S.x, dx, N, 1e-2f, 1e-4);
	free(S.x); free(S.g); free(S.out); free(dx); free(S.mask);
	S.mask = NULL;

	/* rate: 100000 draws at p = 0.1 keep 90% +- 0.5% */
	{
		size_t n = 100000;
		uint8_t *m = ecalloc(n, 1);
		double k = 0;
		dropout_mask(m, n, 0.1f, &rng);
		for (size_t i = 0; i < n; i++)
			k += m[i];
		gc_report("dropout keep rate 0.9", fabs(k / n - 0.9) < 0.005, fabs(k / n - 0.9));
		free(m);
	}
}

/* ---- position embedding */

static double
f_posemb(void)
{
	posemb_forward(S.out, S.x, S.w, S.B, S.T, S.D);
	return gc_dotg(S.out, S.g, (size_t)S.B * S.T * S.D);
}

static void
test_posemb(void)
{
	int B = 2, T = 3, D = 4, maxT = 5;
	float *dx, *dp;

	S.B = B, S.T = T, S.D = D;
	S.x = gc_randv(&rng, B * T * D, -1, 1), S.w = gc_randv(&rng, maxT * D, -1, 1);
	S.g = gc_randv(&rng, B * T * D, -1, 1);
	S.out = efloats(B * T * D), dx = efloats(B * T * D), dp = efloats(maxT * D);
	f_posemb();
	posemb_backward(dx, dp, S.g, B, T, D);
	gc_check("posemb dinp", f_posemb, S.x, dx, B * T * D, 1e-2f, 1e-4);
	gc_check("posemb dpos (incl. unused rows)", f_posemb, S.w, dp, maxT * D, 1e-2f, 1e-4);
	free(S.x); free(S.w); free(S.g); free(S.out); free(dx); free(dp);
}

/* ---- attention */

static double
f_attention(void)
{
	attention_forward(S.out, S.p1, S.p2, S.q, S.k, S.v, S.mask, S.len, S.B, S.T, S.D, S.NH, S.p);
	return gc_dotg(S.out, S.g, (size_t)S.B * S.T * S.D);
}

/* plain loops in double: BERT attention with the additive key mask and a fixed dropout mask */
static void
attention_naive(double *out, const float *q, const float *k, const float *v, const uint8_t *pm,
                const int *len, int B, int T, int D, int NH, float p)
{
	int hs = D / NH;
	double *row = ecalloc(T, sizeof(double));

	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int i = 0; i < T; i++) {
				double mx = -1e300, sum = 0.0;
				for (int j = 0; j < T; j++) {
					double s = 0.0;
					for (int c = 0; c < hs; c++)
						s += (double)q[(b * T + i) * D + h * hs + c] * k[(b * T + j) * D + h * hs + c];
					row[j] = s / sqrt(hs) + (j >= len[b] ? -10000.0 : 0.0);
					mx = fmax(mx, row[j]);
				}
				for (int j = 0; j < T; j++)
					sum += (row[j] = exp(row[j] - mx));
				for (int c = 0; c < hs; c++) {
					double o = 0.0;
					for (int j = 0; j < T; j++) {
						double pr = row[j] / sum;
						if (pm)
							pr = pm[((b * NH + h) * T + i) * T + j] ? pr / (1.0 - p) : 0.0;
						o += pr * v[(b * T + j) * D + h * hs + c];
					}
					out[(b * T + i) * D + h * hs + c] = o;
				}
			}
	free(row);
}

static void
test_attention(float p)
{
	int B = 3, T = 5, D = 8, NH = 2, len[3] = {5, 3, 1};
	size_t n = (size_t)B * T * D, np = (size_t)B * NH * T * T;
	float *dq, *dk, *dv;
	double *ref = ecalloc(n, sizeof(double));
	char name[64];

	S.B = B, S.T = T, S.D = D, S.NH = NH, S.len = len, S.p = p;
	S.q = gc_randv(&rng, n, -1, 1), S.k = gc_randv(&rng, n, -1, 1), S.v = gc_randv(&rng, n, -1, 1);
	S.g = gc_randv(&rng, n, -1, 1);
	S.out = efloats(n), S.p1 = efloats(np), S.p2 = efloats(np);
	S.mask = NULL;
	if (p > 0) {
		S.mask = ecalloc(np, 1);
		dropout_mask(S.mask, np, p, &rng);
	}
	dq = efloats(n), dk = efloats(n), dv = efloats(n);
	f_attention();
	attention_naive(ref, S.q, S.k, S.v, S.mask, len, B, T, D, NH, p);
	snprintf(name, sizeof(name), "attention forward vs naive (p=%.1f)", p);
	gc_compare(name, S.out, ref, n, 1e-5);
	attention_backward(dq, dk, dv, S.g, S.q, S.k, S.v, S.p1, S.p2, S.mask, len, B, T, D, NH, p);
	snprintf(name, sizeof(name), "attention dq (p=%.1f, padded keys)", p);
	gc_check(name, f_attention, S.q, dq, n, 1e-2f, 2e-3);
	snprintf(name, sizeof(name), "attention dk (p=%.1f, padded keys)", p);
	gc_check(name, f_attention, S.k, dk, n, 1e-2f, 2e-3);
	snprintf(name, sizeof(name), "attention dv (p=%.1f, padded keys)", p);
	gc_check(name, f_attention, S.v, dv, n, 1e-2f, 2e-3);
	free(S.q); free(S.k); free(S.v); free(S.g); free(S.out); free(S.p1); free(S.p2);
	free(S.mask); free(dq); free(dk); free(dv); free(ref);
	S.mask = NULL;
}

/* ---- attention pooling */

static double
f_attnpool(void)
{
	attnpool_forward(S.out, S.p1, S.x, S.w, S.len, S.B, S.T, S.D);
	return gc_dotg(S.out, S.g, (size_t)S.B * S.D);
}

static void
test_attnpool(void)
{
	int B = 3, T = 4, D = 5, len[3] = {4, 2, 1};
	size_t n = (size_t)B * T * D;
	float *dx, *dw;
	double *ref = ecalloc(B * D, sizeof(double));

	S.B = B, S.T = T, S.D = D, S.len = len;
	S.x = gc_randv(&rng, n, -1, 1), S.w = gc_randv(&rng, D, -1, 1), S.g = gc_randv(&rng, B * D, -1, 1);
	S.out = efloats(B * D), S.p1 = efloats(B * T), dx = efloats(n), dw = efloats(D);
	f_attnpool();
	for (int b = 0; b < B; b++) {
		double z[4], mx = -1e300, sum = 0.0;
		for (int t = 0; t < len[b]; t++) {
			z[t] = gc_dotg(S.x + (b * T + t) * D, S.w, D);
			mx = fmax(mx, z[t]);
		}
		for (int t = 0; t < len[b]; t++)
			sum += (z[t] = exp(z[t] - mx));
		for (int c = 0; c < D; c++) {
			ref[b * D + c] = 0.0;
			for (int t = 0; t < len[b]; t++)
				ref[b * D + c] += z[t] / sum * S.x[(b * T + t) * D + c];
		}
	}
	gc_compare("attnpool forward vs naive", S.out, ref, B * D, 1e-5);
	attnpool_backward(dx, dw, S.g, S.p1, S.x, S.w, len, B, T, D);
	gc_check("attnpool dinp (padded rows 0)", f_attnpool, S.x, dx, n, 1e-2f, 2e-3);
	gc_check("attnpool dw", f_attnpool, S.w, dw, D, 1e-2f, 2e-3);
	free(S.x); free(S.w); free(S.g); free(S.out); free(S.p1); free(dx); free(dw); free(ref);
}

/* ---- l2norm, framesim, framemax */

static double
f_l2norm(void)
{
	l2norm_forward(S.out, S.p1, S.x, S.N, S.C);
	return gc_dotg(S.out, S.g, (size_t)S.N * S.C);
}

static double
f_framesim(void)
{
	framesim_forward(S.out, S.q, S.k, S.Nq, S.N, S.D);
	return gc_dotg(S.out, S.g, (size_t)S.Nq * S.N);
}

static double
f_framemax(void)
{
	int *arg = ecalloc((size_t)S.Nq * S.B, sizeof(int));
	double r;

	framemax_forward(S.out, arg, S.x, S.len, S.Nq, S.B, S.L);
	r = gc_dotg(S.out, S.g, (size_t)S.Nq * S.B);
	free(arg);
	return r;
}

static void
test_sims(void)
{
	int N = 4, C = 6, Nq = 3, NF = 8, D = 5, B = 3, L = 4, len[3] = {4, 2, 1};
	float *dx, *dq, *df;
	int *arg, *perm;
	double ok = 1;

	S.N = N, S.C = C;
	S.x = gc_randv(&rng, N * C, -1, 1), S.g = gc_randv(&rng, N * C, -1, 1), S.out = efloats(N * C);
	S.p1 = efloats(N), dx = efloats(N * C);
	f_l2norm();
	for (int n = 0; n < N; n++)
		ok = ok && fabs(gc_dotg(S.out + n * C, S.out + n * C, C) - 1.0) < 1e-5;
	gc_report("l2norm rows have unit norm", ok, 0.0);
	l2norm_backward(dx, S.g, S.out, S.p1, N, C);
	gc_check("l2norm dinp", f_l2norm, S.x, dx, N * C, 1e-2f, 2e-3);
	free(S.x); free(S.g); free(S.out); free(S.p1); free(dx);

	S.Nq = Nq, S.N = NF, S.D = D;
	S.q = gc_randv(&rng, Nq * D, -1, 1), S.k = gc_randv(&rng, NF * D, -1, 1);
	S.g = gc_randv(&rng, Nq * NF, -1, 1);
	S.out = efloats(Nq * NF), dq = efloats(Nq * D), df = efloats(NF * D);
	f_framesim();
	framesim_backward(dq, df, S.g, S.q, S.k, Nq, NF, D);
	gc_check("framesim dq", f_framesim, S.q, dq, Nq * D, 1e-2f, 1e-3);
	gc_check("framesim df", f_framesim, S.k, df, NF * D, 1e-2f, 1e-3);
	free(S.q); free(S.k); free(S.g); free(S.out); free(dq); free(df);

	/* masked max: distinct values 0.1 apart (no ties within eps), padded entries huge so a
	 * max that looked at them would be wrong */
	S.Nq = Nq, S.B = B, S.L = L, S.len = len;
	S.x = efloats(Nq * B * L), S.g = gc_randv(&rng, Nq * B, -1, 1), S.out = efloats(Nq * B);
	dx = efloats(Nq * B * L), arg = ecalloc(Nq * B, sizeof(int));
	perm = ecalloc(Nq * B * L, sizeof(int));
	for (int i = 0; i < Nq * B * L; i++)
		perm[i] = i;
	rng_shuffle(&rng, perm, Nq * B * L);
	for (int i = 0; i < Nq * B * L; i++) {
		int b = (i / L) % B, t = i % L;
		S.x[i] = t >= len[b] ? 100.0f : 0.1f * perm[i];
	}
	framemax_forward(S.out, arg, S.x, len, Nq, B, L);
	ok = 1;
	for (int q = 0; q < Nq; q++)
		for (int b = 0; b < B; b++) {
			float mx = -1e10f;
			for (int t = 0; t < len[b]; t++)
				mx = fmaxf(mx, S.x[(q * B + b) * L + t]);
			ok = ok && S.out[q * B + b] == mx && S.x[q * B * L + arg[q * B + b]] == mx;
		}
	gc_report("framemax forward = max over valid frames, argmax saved", ok, 0.0);
	framemax_backward(dx, S.g, arg, Nq, B, L);
	gc_check("framemax dS (routes to argmax, padded 0)", f_framemax, S.x, dx, Nq * B * L,
	         1e-3f, 1e-4);
	free(S.x); free(S.g); free(S.out); free(dx); free(arg); free(perm);
}

/* ---- losses */

static double
f_t2v(void)
{
	return 0.5 * triplet_t2v(NULL, 0, S.x, S.vid, S.neg, S.Nq, S.B, S.p);
}

static double
f_v2t(void)
{
	return 0.5 * triplet_v2t(NULL, 0, S.x, S.vid, S.neg, S.Nq, S.B, S.p);
}

static double
f_nce_t2v(void)
{
	return 0.5 * nce_t2v(NULL, 0, S.x, S.vid, S.Nq, S.B);
}

static double
f_nce_v2t(void)
{
	return 0.5 * nce_v2t(NULL, 0, S.x, S.vid, S.Nq, S.B);
}

static double
f_kd_kl(void)
{
	return 0.5 * kd_sim_kl(NULL, 0, S.x, S.aux, S.len, S.Nq, S.L, 0.2f);
}

static double
f_kd_mse(void)
{
	return 0.5 * kd_sim_mse(NULL, 0, S.x, S.aux, S.len, S.Nq, S.L);
}

static double
f_feat_kl(void)
{
	return 0.5 * kd_feat_kl(NULL, 0, S.x, S.aux, S.len, S.B, S.L, S.E);
}

static double
f_feat_mse(void)
{
	return 0.5 * kd_feat_mse(NULL, 0, S.x, S.aux, S.len, S.B, S.L, S.E);
}

static void
test_triplet(void)
{
	int Nq = 7, B = 3, vid[7] = {0, 0, 1, 1, 1, 2, 0}, neg[7], negv[3];
	float *ds = efloats(Nq * B), v;
	int ok = 1, seen[3] = {0};

	S.Nq = Nq, S.B = B, S.vid = vid, S.neg = neg, S.p = 0.2f;
	S.x = gc_randv(&rng, Nq * B, 0, 0.5);
	S.x[0 * B + 1] = 0.45f;   /* one inactive hinge: s_pos - s_neg > margin */
	S.x[0 * B + 0] = 0.95f;
	S.x[0 * B + 2] = 0.05f;

	/* hard pool 1 = the best other video, ties to the lower index */
	triplet_t2v_sample(neg, S.x, vid, Nq, B, 1, 1, &rng);
	for (int q = 0; q < Nq; q++) {
		int best = -1;
		for (int b = 0; b < B; b++)
			if (b != vid[q] && (best < 0 || S.x[q * B + b] > S.x[q * B + best]))
				best = b;
		ok = ok && neg[q] == best;
	}
	gc_report("t2v hard pool 1 picks the best other video", ok, 0.0);
	/* uniform: never the own video, both others seen */
	for (int r = 0; r < 200; r++) {
		triplet_t2v_sample(neg, S.x, vid, 1, B, 0, 20, &rng);
		ok = ok && neg[0] != vid[0];
		seen[neg[0]] = 1;
	}
	gc_report("t2v uniform negatives: never own, all others drawn", ok && seen[1] && seen[2], 0.0);
	/* pool 2 over 5 videos: only the top 2 others are drawn */
	{
		float s5[5] = {0.3f, 0.9f, 0.1f, 0.7f, 0.5f};
		int v0 = 0, got[5] = {0};
		ok = 1;
		for (int r = 0; r < 400; r++) {
			int n;
			triplet_t2v_sample(&n, s5, &v0, 1, 5, 1, 2, &rng);
			got[n]++;
		}
		ok = got[0] == 0 && got[2] == 0 && got[4] == 0 && got[1] > 150 && got[3] > 150;
		gc_report("t2v hard pool 2 draws uniformly from the top 2 others", ok, 0.0);
	}
	/* hand-computed v2t: query 0 of video 0, query 1 of video 1 */
	{
		float s2[4] = {0.9f, 0.5f, 0.2f, 0.8f};   /* 2 queries x 2 videos */
		int qv[2] = {0, 1}, nv[2];
		triplet_v2t_sample(nv, s2, qv, 2, 2, 1, &rng);
		v = triplet_v2t(NULL, 0, s2, qv, nv, 2, 2, 0.2f);
		/* video 0: neg query 1 (0.2), pos 0.9 -> 0; video 1: neg query 0 (0.5), pos 0.8 -> 0 */
		ok = nv[0] == 1 && nv[1] == 0 && v == 0.0f;
		v = triplet_v2t(NULL, 0, s2, qv, nv, 2, 2, 0.5f);
		/* (0.5 + 0.2 - 0.9) -> 0 ; (0.5 + 0.5 - 0.8) = 0.2 -> mean 0.1 */
		ok = ok && fabsf(v - 0.1f) < 1e-6f;
		gc_report("v2t hand-computed value", ok, fabsf(v - 0.1f));
	}

	triplet_t2v_sample(neg, S.x, vid, Nq, B, 1, 2, &rng);
	memset(ds, 0, Nq * B * sizeof(float));
	triplet_t2v(ds, 0.5f, S.x, vid, neg, Nq, B, S.p);
	gc_check("triplet t2v ds (fixed negatives)", f_t2v, S.x, ds, Nq * B, 1e-3f, 1e-4);

	triplet_v2t_sample(negv, S.x, vid, Nq, B, 0, &rng);
	for (int b = 0; b < B; b++)
		ok = ok && negv[b] >= 0 && vid[negv[b]] != b;
	gc_report("v2t random negatives belong to other videos", ok, 0.0);
	S.neg = negv;
	memset(ds, 0, Nq * B * sizeof(float));
	triplet_v2t(ds, 0.5f, S.x, vid, negv, Nq, B, S.p);
	gc_check("triplet v2t ds (fixed negatives)", f_v2t, S.x, ds, Nq * B, 1e-3f, 1e-4);
	triplet_v2t_sample(negv, S.x, vid, Nq, B, 1, &rng);
	memset(ds, 0, Nq * B * sizeof(float));
	triplet_v2t(ds, 0.5f, S.x, vid, negv, Nq, B, S.p);
	gc_check("triplet v2t ds (hardest negatives)", f_v2t, S.x, ds, Nq * B, 1e-3f, 1e-4);
	free(S.x);
	free(ds);
}

static void
test_nce(void)
{
	int Nq = 7, B = 3, vid[7] = {0, 0, 1, 1, 1, 2, 0};
	float *du = efloats(Nq * B);
	double ref = 0.0;

	S.Nq = Nq, S.B = B, S.vid = vid;
	S.x = gc_randv(&rng, Nq * B, -2, 2);
	for (int q = 0; q < Nq; q++) {
		double z = 0.0;
		for (int b = 0; b < B; b++)
			z += exp(S.x[q * B + b]);
		ref += -log(exp(S.x[q * B + vid[q]]) / z) / Nq;
	}
	gc_report("nce t2v value vs formula", fabs(nce_t2v(NULL, 0, S.x, vid, Nq, B) - ref) < 1e-5,
	          fabs(nce_t2v(NULL, 0, S.x, vid, Nq, B) - ref));
	ref = 0.0;
	for (int b = 0; b < B; b++) {
		double za = 0.0, zo = 0.0;
		for (int q = 0; q < Nq; q++) {
			za += exp(S.x[q * B + b]);
			zo += vid[q] == b ? exp(S.x[q * B + b]) : 0.0;
		}
		ref += -log(zo / za) / B;
	}
	gc_report("nce v2t value vs formula", fabs(nce_v2t(NULL, 0, S.x, vid, Nq, B) - ref) < 1e-5,
	          fabs(nce_v2t(NULL, 0, S.x, vid, Nq, B) - ref));
	nce_t2v(du, 0.5f, S.x, vid, Nq, B);
	gc_check("nce t2v du", f_nce_t2v, S.x, du, Nq * B, 1e-2f, 1e-3);
	memset(du, 0, Nq * B * sizeof(float));
	nce_v2t(du, 0.5f, S.x, vid, Nq, B);
	gc_check("nce v2t du", f_nce_v2t, S.x, du, Nq * B, 1e-2f, 1e-3);
	/* large logits stay finite (logsumexp) */
	for (int i = 0; i < Nq * B; i++)
		S.x[i] *= 200.0f;
	gc_report("nce finite at |u| ~ 400", isfinite(nce_t2v(NULL, 0, S.x, vid, Nq, B)) &&
	          isfinite(nce_v2t(NULL, 0, S.x, vid, Nq, B)), 0.0);
	free(S.x);
	free(du);
}

static void
test_kd(void)
{
	int Nq = 3, L = 5, len[3] = {5, 2, 1}, B = 2, E = 6, vlen[2] = {3, 1};
	float *d = efloats(Nq * L);
	double ref = 0.0;
	float v;

	S.Nq = Nq, S.L = L, S.len = len;
	S.x = gc_randv(&rng, Nq * L, -1, 1), S.aux = gc_randv(&rng, Nq * L, -1, 1);
	/* KL in double by hand, query 1 (2 valid frames) */
	{
		double a0 = exp(S.aux[L] / 0.2), a1 = exp(S.aux[L + 1] / 0.2);
		double b0 = exp(S.x[L] / 0.2), b1 = exp(S.x[L + 1] / 0.2);
		double p0 = a0 / (a0 + a1), p1 = a1 / (a0 + a1), r0 = b0 / (b0 + b1), r1 = b1 / (b0 + b1);
		int one[1] = {2};
		ref = p0 * log(p0 / r0) + p1 * log(p1 / r1);
		v = kd_sim_kl(NULL, 0, S.x + L, S.aux + L, one, 1, L, 0.2f);
		gc_report("kd sim KL value (2 frames) vs hand", fabs(v - ref) < 1e-5, fabs(v - ref));
	}
	kd_sim_kl(d, 0.5f, S.x, S.aux, len, Nq, L, 0.2f);
	gc_check("kd sim KL dS (padded frames 0)", f_kd_kl, S.x, d, Nq * L, 1e-3f, 1e-3);
	memset(d, 0, Nq * L * sizeof(float));
	kd_sim_mse(d, 0.5f, S.x, S.aux, len, Nq, L);
	gc_check("kd sim MSE dS", f_kd_mse, S.x, d, Nq * L, 1e-2f, 1e-4);
	free(S.x); free(S.aux); free(d);

	S.B = B, S.L = L, S.E = E, S.len = vlen;
	S.x = gc_randv(&rng, B * L * E, -2, 2), S.aux = gc_randv(&rng, B * L * E, -2, 2);
	d = efloats(B * L * E);
	kd_feat_kl(d, 0.5f, S.x, S.aux, vlen, B, L, E);
	gc_check("kd feat KL dz (padded frames 0)", f_feat_kl, S.x, d, B * L * E, 1e-2f, 1e-3);
	memset(d, 0, B * L * E * sizeof(float));
	kd_feat_mse(d, 0.5f, S.x, S.aux, vlen, B, L, E);
	gc_check("kd feat MSE dz", f_feat_mse, S.x, d, B * L * E, 1e-2f, 1e-4);
	/* feat MSE by hand, one mean per video: video 0 (3 valid frames) has error 1 on frame 0
	 * only -> 6 / 18 = 1/3; video 1 (1 frame) error 2 -> 4; padded frames error 5 (ignored);
	 * (1/3 + 4) / B * 10 = 65/3 (a per-frame mean would give (1 + 4) * 5 = 25) */
	for (int b = 0; b < B; b++)
		for (int f = 0; f < L; f++)
			for (int i = 0; i < E; i++) {
				int k = (b * L + f) * E + i;
				S.x[k] = S.aux[k] + (f >= vlen[b] ? 5.0f : b == 1 ? 2.0f : f == 0 ? 1.0f : 0.0f);
			}
	v = kd_feat_mse(NULL, 0, S.x, S.aux, vlen, B, L, E);
	gc_report("kd feat MSE value (per-video means 1/3 and 4) = 65/3", fabs(v - 65.0 / 3) < 1e-4,
	          fabs(v - 65.0 / 3));
	free(S.x); free(S.aux); free(d);
}

int
main(void)
{
	int sanitized = getenv("PRVR_SANITIZED") != NULL;

	(void)sanitized;
	rng_seed(&rng, 12345);
	test_linear();
	test_layernorm();
	test_lndrop();
	test_relu_dropout();
	test_posemb();
	test_attention(0.0f);
	test_attention(0.2f);
	test_attnpool();
	test_sims();
	test_triplet();
	test_nce();
	test_kd();
	/* layers_flops counts 2*M*N*K per product */
	{
		double f0 = layers_flops;
		float a[6] = {0}, b[12] = {0}, c[8];
		mm(0, 0, 2, 4, 3, 1.0f, a, 3, b, 4, 0.0f, c, 4);
		gc_report("layers_flops counts 2*M*N*K", layers_flops - f0 == 48.0, layers_flops - f0 - 48);
	}
	return gc_finish();
}
