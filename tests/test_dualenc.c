/* test_dualenc: the Dual Encoding student (lib/dualenc.c). Forward checks of every new layer
 * against naive double-precision references written from the equations (mean and max over
 * time, the GRU in both directions, the "full" 1-D convolution, the distillation KL over a
 * batch's videos), central-difference gradchecks of each layer and of the whole model loss
 * (every parameter), and the packing rule: a sequence's output does not depend on the other
 * sequences of its batch. Sizes are tiny; PRVR_SANITIZED=1 shrinks them further.
 * Prints OK / NOT OK per check; exit 0 iff all OK. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualenc.h"
#include "gradcheck.h"
#include "layers.h"
#include "loss.h"
#include "rng.h"
#include "util.h"

static Rng rng;

/* ---- shared sequence layout ---- */

static int N, C, H, OC, K, REV, *len, *off;
static long R;
static float *inp, *g_out, *wi, *bi, *wh, *bh, *cw, *cb;

static void
layout(int n, const int *l)
{
	N = n;
	len = emalloc((size_t)n * sizeof(int));
	off = emalloc((size_t)(n + 1) * sizeof(int));
	off[0] = 0;
	for (int b = 0; b < n; b++) {
		len[b] = l[b];
		off[b + 1] = off[b] + l[b];
	}
	R = off[n];
}

/* ---- mean and max over time ---- */

static double
f_mean(void)
{
	float *o = efloats((size_t)N * C);
	double s;

	seqmean_forward(o, inp, off, len, N, C);
	s = gc_dotg(o, g_out, (size_t)N * C);
	free(o);
	return s;
}

static double
f_max(void)
{
	float *o = efloats((size_t)N * C);
	int *a = emalloc((size_t)N * C * sizeof(int));
	double s;

	seqmax_forward(o, a, inp, off, len, N, C);
	s = gc_dotg(o, g_out, (size_t)N * C);
	free(o);
	free(a);
	return s;
}

static void
test_pool(void)
{
	static const int l[] = { 3, 1, 4, 2 };
	float *o, *dx;
	double *ref;
	int *arg;

	layout(4, l);
	C = 5;
	inp = gc_randv(&rng, (size_t)R * C, -1, 1);
	g_out = gc_randv(&rng, (size_t)N * C, -1, 1);
	o = efloats((size_t)N * C);
	arg = emalloc((size_t)N * C * sizeof(int));
	ref = calloc((size_t)N * C, sizeof(double));

	for (int b = 0; b < N; b++)
		for (int c = 0; c < C; c++) {
			double s = 0;
			for (int t = 0; t < len[b]; t++)
				s += inp[(size_t)(off[b] + t) * C + c];
			ref[b * C + c] = s / len[b];
		}
	seqmean_forward(o, inp, off, len, N, C);
	gc_compare("seqmean forward", o, ref, (size_t)N * C, 1e-6);
	dx = efloats((size_t)R * C);
	seqmean_backward(dx, g_out, off, len, N, C);
	gc_check_kinks("seqmean dinp", f_mean, inp, dx, (size_t)R * C, 1e-2f, 1e-3);

	for (int b = 0; b < N; b++)
		for (int c = 0; c < C; c++) {
			double mx = -1e30;
			for (int t = 0; t < len[b]; t++)
				mx = fmax(mx, inp[(size_t)(off[b] + t) * C + c]);
			ref[b * C + c] = mx;
		}
	seqmax_forward(o, arg, inp, off, len, N, C);
	gc_compare("seqmax forward", o, ref, (size_t)N * C, 0);
	memset(dx, 0, (size_t)R * C * sizeof(float));
	seqmax_backward(dx, g_out, arg, N, C);
	/* eps below the smallest gap between values of a column, so the argmax never moves */
	gc_check_kinks("seqmax dinp", f_max, inp, dx, (size_t)R * C, 1e-4f, 1e-2);
	free(o);
	free(arg);
	free(ref);
	free(dx);
	free(inp);
	free(g_out);
	free(len);
	free(off);
}

/* ---- GRU ---- */

static double
sigd(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* one sequence, double precision, straight from the equations */
static void
gru_naive(double *out, const float *x, int n, int reverse)
{
	double *h = calloc((size_t)H, sizeof(double)), *hn = calloc((size_t)H, sizeof(double));

	for (int s = 0; s < n; s++) {
		int t = reverse ? n - 1 - s : s;
		const float *xt = x + (size_t)t * C;
		for (int j = 0; j < H; j++) {
			double a[3], hh[3];
			for (int gi = 0; gi < 3; gi++) {
				int row = gi * H + j;
				a[gi] = bi[row];
				hh[gi] = bh[row];
				for (int c = 0; c < C; c++)
					a[gi] += (double)wi[(size_t)row * C + c] * xt[c];
				for (int i = 0; i < H; i++)
					hh[gi] += (double)wh[(size_t)row * H + i] * h[i];
			}
			double r = sigd(a[0] + hh[0]), z = sigd(a[1] + hh[1]);
			double nn = tanh(a[2] + r * hh[2]);
			hn[j] = (1 - z) * nn + z * h[j];
		}
		memcpy(h, hn, (size_t)H * sizeof(double));
		memcpy(out + (size_t)t * H, h, (size_t)H * sizeof(double));
	}
	free(h);
	free(hn);
}

static double
f_gru(void)
{
	float *h = efloats((size_t)R * H), *gt = efloats((size_t)R * 4 * H);
	double s;

	gru_forward(h, gt, inp, off, len, wi, bi, wh, bh, REV, N, C, H);
	s = gc_dotg(h, g_out, (size_t)R * H);
	free(h);
	free(gt);
	return s;
}

static void
test_gru(int small)
{
	static const int l[] = { 3, 1, 5, 2, 4 };
	char nm[64];

	layout(small ? 3 : 5, l);
	C = 4;
	H = small ? 3 : 5;
	inp = gc_randv(&rng, (size_t)R * C, -1, 1);
	wi = gc_randv(&rng, (size_t)3 * H * C, -0.6f, 0.6f);
	bi = gc_randv(&rng, (size_t)3 * H, -0.3f, 0.3f);
	wh = gc_randv(&rng, (size_t)3 * H * H, -0.6f, 0.6f);
	bh = gc_randv(&rng, (size_t)3 * H, -0.3f, 0.3f);
	g_out = gc_randv(&rng, (size_t)R * H, -1, 1);
	for (REV = 0; REV < 2; REV++) {
		const char *dir = REV ? "reverse" : "forward";
		float *h = efloats((size_t)R * H), *gt = efloats((size_t)R * 4 * H);
		float *dinp = efloats((size_t)R * C), *dwi = efloats((size_t)3 * H * C);
		float *dbi = efloats((size_t)3 * H), *dwh = efloats((size_t)3 * H * H);
		float *dbh = efloats((size_t)3 * H), *h1 = efloats((size_t)R * H);
		float *gt1 = efloats((size_t)R * 4 * H);
		double *ref = calloc((size_t)R * H, sizeof(double)), maxd = 0;

		gru_forward(h, gt, inp, off, len, wi, bi, wh, bh, REV, N, C, H);
		for (int b = 0; b < N; b++)
			gru_naive(ref + (size_t)off[b] * H, inp + (size_t)off[b] * C, len[b], REV);
		snprintf(nm, sizeof(nm), "gru %s forward vs naive", dir);
		gc_compare(nm, h, ref, (size_t)R * H, 1e-5);
		/* packing: each sequence alone gives the same rows */
		for (int b = 0; b < N; b++) {
			int z = 0, lb = len[b];
			gru_forward(h1, gt1, inp + (size_t)off[b] * C, &z, &lb, wi, bi, wh, bh, REV, 1,
			            C, H);
			for (int i = 0; i < len[b] * H; i++)
				maxd = fmax(maxd, fabs(h1[i] - h[(size_t)off[b] * H + i]));
		}
		snprintf(nm, sizeof(nm), "gru %s: a sequence alone = in its batch", dir);
		gc_report(nm, maxd == 0.0, maxd);
		gru_backward(dinp, dwi, dbi, dwh, dbh, g_out, h, gt, inp, off, len, wi, wh, REV, N, C,
		             H);
		snprintf(nm, sizeof(nm), "gru %s dinp", dir);
		gc_check_kinks(nm, f_gru, inp, dinp, (size_t)R * C, 1e-2f, 1e-2);
		snprintf(nm, sizeof(nm), "gru %s dwi", dir);
		gc_check_kinks(nm, f_gru, wi, dwi, (size_t)3 * H * C, 1e-2f, 1e-2);
		snprintf(nm, sizeof(nm), "gru %s dbi", dir);
		gc_check_kinks(nm, f_gru, bi, dbi, (size_t)3 * H, 1e-2f, 1e-2);
		snprintf(nm, sizeof(nm), "gru %s dwh", dir);
		gc_check_kinks(nm, f_gru, wh, dwh, (size_t)3 * H * H, 1e-2f, 1e-2);
		snprintf(nm, sizeof(nm), "gru %s dbh", dir);
		gc_check_kinks(nm, f_gru, bh, dbh, (size_t)3 * H, 1e-2f, 1e-2);
		free(h);
		free(gt);
		free(dinp);
		free(dwi);
		free(dbi);
		free(dwh);
		free(dbh);
		free(h1);
		free(gt1);
		free(ref);
	}
	free(inp);
	free(wi);
	free(bi);
	free(wh);
	free(bh);
	free(g_out);
	free(len);
	free(off);
}

/* ---- convolution ---- */

static double
f_conv(void)
{
	long Ro = conv1d_rows(len, N, K);
	float *o = efloats((size_t)Ro * OC), *xp = efloats((size_t)conv1d_padrows(len, N, K) * C);
	double s;

	conv1d_forward(o, xp, inp, off, len, cw, cb, N, C, OC, K);
	s = gc_dotg(o, g_out, (size_t)Ro * OC);
	free(o);
	free(xp);
	return s;
}

static void
test_conv(void)
{
	static const int l[] = { 3, 1, 5, 2 };
	char nm[64];

	layout(4, l);
	C = 3;
	OC = 4;
	inp = gc_randv(&rng, (size_t)R * C, -1, 1);
	for (K = 1; K <= 4; K++) {
		long Ro = conv1d_rows(len, N, K);
		int *ooff = emalloc((size_t)N * sizeof(int));
		float *o = efloats((size_t)Ro * OC), *xp = efloats((size_t)conv1d_padrows(len, N, K) * C);
		float *dinp = efloats((size_t)R * C), *dw = efloats((size_t)OC * K * C);
		float *db = efloats((size_t)OC);
		double *ref = calloc((size_t)Ro * OC, sizeof(double));

		cw = gc_randv(&rng, (size_t)OC * K * C, -1, 1);
		cb = gc_randv(&rng, (size_t)OC, -1, 1);
		g_out = gc_randv(&rng, (size_t)Ro * OC, -1, 1);
		conv1d_offsets(ooff, len, N, K);
		/* out[p] = b + sum_j w[:, j] . x[p - (K-1) + j], x = 0 outside 0 .. len-1 */
		for (int b = 0; b < N; b++)
			for (int p = 0; p < len[b] + K - 1; p++)
				for (int o2 = 0; o2 < OC; o2++) {
					double s = cb[o2];
					for (int j = 0; j < K; j++) {
						int t = p - (K - 1) + j;
						if (t < 0 || t >= len[b])
							continue;
						for (int c = 0; c < C; c++)
							s += (double)cw[(size_t)o2 * K * C + j * C + c] *
							     inp[(size_t)(off[b] + t) * C + c];
					}
					ref[(size_t)(ooff[b] + p) * OC + o2] = s;
				}
		conv1d_forward(o, xp, inp, off, len, cw, cb, N, C, OC, K);
		snprintf(nm, sizeof(nm), "conv1d k=%d forward vs naive", K);
		gc_compare(nm, o, ref, (size_t)Ro * OC, 1e-5);
		conv1d_backward(dinp, dw, db, g_out, xp, off, len, cw, N, C, OC, K);
		snprintf(nm, sizeof(nm), "conv1d k=%d dinp", K);
		gc_check_kinks(nm, f_conv, inp, dinp, (size_t)R * C, 1e-2f, 1e-3);
		snprintf(nm, sizeof(nm), "conv1d k=%d dw", K);
		gc_check_kinks(nm, f_conv, cw, dw, (size_t)OC * K * C, 1e-2f, 1e-3);
		snprintf(nm, sizeof(nm), "conv1d k=%d db", K);
		gc_check_kinks(nm, f_conv, cb, db, (size_t)OC, 1e-2f, 1e-3);
		free(ooff);
		free(o);
		free(xp);
		free(dinp);
		free(dw);
		free(db);
		free(ref);
		free(cw);
		free(cb);
		free(g_out);
	}
	free(inp);
	free(len);
	free(off);
}

/* ---- batch normalisation ---- */

static float *bx, *bgain, *bbias;

static double
f_bn(void)
{
	float *y = efloats((size_t)N * C), *rm = efloats((size_t)C), *rv = efloats((size_t)C);
	double s;

	batchnorm_forward(y, NULL, NULL, bx, bgain, bbias, rm, rv, 1, N, C);
	s = gc_dotg(y, g_out, (size_t)N * C);
	free(y);
	free(rm);
	free(rv);
	return s;
}

static void
test_bn(void)
{
	float *y, *mean, *rstd, *rm, *rv, *dx, *dg, *db;
	double *ref, *refm, *refv;

	N = 6;
	C = 4;
	bx = gc_randv(&rng, (size_t)N * C, -2, 2);
	bgain = gc_randv(&rng, (size_t)C, 0.5f, 1.5f);
	bbias = gc_randv(&rng, (size_t)C, -1, 1);
	g_out = gc_randv(&rng, (size_t)N * C, -1, 1);
	y = efloats((size_t)N * C);
	mean = efloats((size_t)C);
	rstd = efloats((size_t)C);
	rm = gc_randv(&rng, (size_t)C, -1, 1);
	rv = gc_randv(&rng, (size_t)C, 0.5f, 2);
	ref = calloc((size_t)N * C, sizeof(double));
	refm = calloc((size_t)C, sizeof(double));
	refv = calloc((size_t)C, sizeof(double));
	/* training form: batch statistics; running ones move 10% towards them (unbiased var) */
	for (int c = 0; c < C; c++) {
		double mu = 0, var = 0;
		for (int n = 0; n < N; n++)
			mu += bx[n * C + c] / (double)N;
		for (int n = 0; n < N; n++)
			var += (bx[n * C + c] - mu) * (bx[n * C + c] - mu) / N;
		for (int n = 0; n < N; n++)
			ref[n * C + c] = (bx[n * C + c] - mu) / sqrt(var + 1e-5) * bgain[c] + bbias[c];
		refm[c] = 0.9 * rm[c] + 0.1 * mu;
		refv[c] = 0.9 * rv[c] + 0.1 * var * N / (N - 1);
	}
	batchnorm_forward(y, mean, rstd, bx, bgain, bbias, rm, rv, 1, N, C);
	gc_compare("batchnorm train forward vs naive", y, ref, (size_t)N * C, 1e-5);
	gc_compare("batchnorm running mean", rm, refm, (size_t)C, 1e-6);
	gc_compare("batchnorm running var", rv, refv, (size_t)C, 1e-6);
	/* eval form: the running statistics */
	for (int c = 0; c < C; c++)
		for (int n = 0; n < N; n++)
			ref[n * C + c] = (bx[n * C + c] - rm[c]) / sqrt(rv[c] + 1e-5) * bgain[c] + bbias[c];
	batchnorm_forward(y, NULL, NULL, bx, bgain, bbias, rm, rv, 0, N, C);
	gc_compare("batchnorm eval forward vs naive", y, ref, (size_t)N * C, 1e-5);
	batchnorm_forward(y, mean, rstd, bx, bgain, bbias, rm, rv, 1, N, C);
	dx = efloats((size_t)N * C);
	dg = efloats((size_t)C);
	db = efloats((size_t)C);
	batchnorm_backward(dx, dg, db, g_out, bx, bgain, mean, rstd, N, C);
	gc_check_kinks("batchnorm dx", f_bn, bx, dx, (size_t)N * C, 1e-2f, 1e-2);
	gc_check_kinks("batchnorm dg", f_bn, bgain, dg, (size_t)C, 1e-2f, 1e-2);
	gc_check_kinks("batchnorm db", f_bn, bbias, db, (size_t)C, 1e-2f, 1e-2);
	free(y);
	free(mean);
	free(rstd);
	free(rm);
	free(rv);
	free(ref);
	free(refm);
	free(refv);
	free(dx);
	free(dg);
	free(db);
	free(bx);
	free(bgain);
	free(bbias);
	free(g_out);
}

/* ---- distillation over the batch's videos ---- */

static int KQ, KB, *kdlen;
static float *kS, *ktau;

static double
f_kd(void)
{
	return kd_sim_kl(NULL, 1.0f, kS, ktau, kdlen, KQ, KB, 0.2f);
}

static void
test_kd(void)
{
	float *dS, val;
	double ref = 0;

	KQ = 5;
	KB = 4;
	kS = gc_randv(&rng, (size_t)KQ * KB, -1, 1);
	ktau = gc_randv(&rng, (size_t)KQ * KB, -1, 1);
	kdlen = emalloc((size_t)KQ * sizeof(int));
	for (int q = 0; q < KQ; q++)
		kdlen[q] = KB;
	/* sum_q sum_v p log(p / r), p = softmax(tau/T), r = softmax(S/T), straight */
	for (int q = 0; q < KQ; q++) {
		double zp = 0, zr = 0;
		for (int v = 0; v < KB; v++) {
			zp += exp(ktau[q * KB + v] / 0.2);
			zr += exp(kS[q * KB + v] / 0.2);
		}
		for (int v = 0; v < KB; v++) {
			double p = exp(ktau[q * KB + v] / 0.2) / zp, r = exp(kS[q * KB + v] / 0.2) / zr;
			ref += p * log(p / r);
		}
	}
	dS = efloats((size_t)KQ * KB);
	val = kd_sim_kl(dS, 1.0f, kS, ktau, kdlen, KQ, KB, 0.2f);
	gc_report("kd over videos: value vs naive", fabs(val - ref) < 1e-4 * fmax(1, ref),
	          fabs(val - ref));
	gc_check_kinks("kd over videos dS", f_kd, kS, dS, (size_t)KQ * KB, 1e-3f, 1e-2);
	free(dS);
	free(kS);
	free(ktau);
	free(kdlen);
}

/* ---- the whole model ---- */

static DeModel *M;
static DeBatch BT;
static DeLossConfig LC;

static double
f_model(void)
{
	Rng r;

	rng_seed(&r, 5);
	return de_loss(M, &BT, &LC, &r, NULL, 0);
}

static void
test_model(int small, int bn)
{
	static const int vl[] = { 1, 3, 5, 2, 4 }, ql[] = { 1, 4, 2, 3, 2, 5, 3, 2 };
	static const int qv[] = { 0, 1, 2, 3, 4, 0, 2, 1 };
	DeConfig c;
	Rng r;
	float *video, *query, *tau, *emb, *emb1, loss, loss2;
	long rv = 0, rq = 0;
	double maxd = 0;
	DeLossParts parts;
	int B = small ? 3 : 5, Nq = small ? 4 : 8;
	int *qvid = emalloc((size_t)Nq * sizeof(int));

	de_defaults(&c);
	c.dv = 6;
	c.dt = 5;
	c.H = small ? 3 : 4;
	c.r = 3;
	c.D = 5;
	c.dropout = 0;
	c.bn = bn;
	M = de_new(&c);
	printf("-- whole model, %s batch norm\n", bn ? "with" : "without");
	rng_seed(&r, 11);
	de_init(M, &r);
	for (int b = 0; b < B; b++)
		rv += vl[b];
	for (int q = 0; q < Nq; q++) {
		rq += ql[q];
		qvid[q] = qv[q] % B;
	}
	video = gc_randv(&rng, (size_t)rv * c.dv, -1, 1);
	query = gc_randv(&rng, (size_t)rq * c.dt, -1, 1);
	tau = gc_randv(&rng, (size_t)Nq * B, -1, 1);
	BT = (DeBatch){ B, video, vl, Nq, query, ql, qvid, tau };
	/* a margin large enough that every hinge is active: the loss is smooth around the point */
	LC = (DeLossConfig){ .margin = 3.0f, .kd_weight = 0.7f, .kd_temp = 0.5f, .train = 1 };
	de_zero_grad(M);
	rng_seed(&r, 5);
	loss = de_loss(M, &BT, &LC, &r, &parts, 1);
	gc_report("model loss = t2v + v2t + w kd",
	          fabs(parts.total - (parts.trip_t2v + parts.trip_v2t + 0.7f * parts.kd)) < 1e-4,
	          fabs(parts.total - (parts.trip_t2v + parts.trip_v2t + 0.7f * parts.kd)));
	gc_report("model loss: every hinge active (margin 3 > 2)",
	          parts.trip_t2v > Nq * 1.0f && parts.trip_v2t > B * 1.0f, 0);
	for (int i = 0; i < de_num_tensors(M); i++) {
		ParamInfo p = de_tensor(M, i);
		char nm[80];
		float *gcopy = efloats(p.n);
		memcpy(gcopy, p.g, p.n * sizeof(float));
		snprintf(nm, sizeof(nm), "model d%s", p.name);
		gc_check_kinks(nm, f_model, p.w, gcopy, p.n, 1e-3f, 2e-2);
		free(gcopy);
	}
	/* a forward without backward gives the same loss */
	rng_seed(&r, 5);
	loss2 = de_loss(M, &BT, &LC, &r, NULL, 0);
	gc_report("model loss with and without backward", loss == loss2, fabs(loss - loss2));

	/* encoding: a video encoded alone equals the same video encoded in a batch */
	emb = efloats((size_t)B * c.D);
	emb1 = efloats((size_t)c.D);
	de_encode_videos(M, video, vl, B, emb);
	for (int b = 0, o = 0; b < B; o += vl[b], b++) {
		de_encode_videos(M, video + (size_t)o * c.dv, &vl[b], 1, emb1);
		for (int j = 0; j < c.D; j++)
			maxd = fmax(maxd, fabs(emb1[j] - emb[(size_t)b * c.D + j]));
	}
	gc_report("encode: a video alone = in its batch", maxd < 1e-6, maxd);
	free(emb);
	free(emb1);
	free(video);
	free(query);
	free(tau);
	free(qvid);
	de_free(M);
}

int
main(void)
{
	int small = getenv("PRVR_SANITIZED") && *getenv("PRVR_SANITIZED") == '1';

	argv0 = "test_dualenc";
	rng_seed(&rng, 1);
	test_pool();
	test_gru(small);
	test_conv();
	test_bn();
	test_kd();
	test_model(small, 1);
	test_model(small, 0);
	return gc_finish();
}
