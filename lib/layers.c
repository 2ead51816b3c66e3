/* layers: forward/backward pairs of the DL-DKD student; see layers.h for shapes and the
 * accumulate-into-d-outputs rule. Reductions keep 8 partial sums so the compiler can vectorise
 * them without -ffast-math. Elementwise loops work in blocks of 8 that load everything into a
 * local t[8] before storing: an output may alias an input (out == inp is allowed), and without
 * restrict gcc -O2 vectorises a loop only when no store can precede a load it depends on. The
 * per-element arithmetic is the plain loop's, so results are bit-identical to it
 * (tests/test_kernels.c). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "util.h"

double layers_flops;

void
mm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *Bm,
   int ldb, float beta, float *Cm, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	if (K <= 0) {
		/* sgemm with K = 0 only scales C */
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
				Cm[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * Cm[(size_t)i * ldc + j];
		return;
	}
	layers_flops += 2.0 * M * N * K;
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
	            M, N, K, alpha, A, lda, Bm, ldb, beta, Cm, ldc);
}

/* sum of x[0..n) with 8 partial sums */
static float
sum8(const float *x, int n)
{
	float acc[8] = {0};
	int i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += x[i + j];
	for (; i < n; i++)
		acc[0] += x[i];
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum of x[i] * y[i] with 8 partial sums */
static float
dot8(const float *x, const float *y, int n)
{
	float acc[8] = {0};
	int i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += x[i + j] * y[i + j];
	for (; i < n; i++)
		acc[0] += x[i] * y[i];
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum of (x[i] - c)^2 */
static float
sqdev8(const float *x, float c, int n)
{
	float acc[8] = {0};
	int i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += (x[i + j] - c) * (x[i + j] - c);
	for (; i < n; i++)
		acc[0] += (x[i] - c) * (x[i] - c);
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* max of x[0..n), n >= 1, with 8 partial maxima (exact in any order) */
static float
max8(const float *x, int n)
{
	float acc[8];
	int i = 0;

	for (int j = 0; j < 8; j++)
		acc[j] = x[0];
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
	for (; i < n; i++)
		acc[0] = x[i] > acc[0] ? x[i] : acc[0];
	for (int j = 1; j < 8; j++)
		acc[0] = acc[j] > acc[0] ? acc[j] : acc[0];
	return acc[0];
}

/* y[i] += x[i] */
static void
acc_add(float *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = y[i + j] + x[i + j];
		for (int j = 0; j < 8; j++)
			y[i + j] = t[j];
	}
	for (; i < n; i++)
		y[i] += x[i];
}

/* ---- linear */

void
linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC)
{
	if (b)
		for (int n = 0; n < N; n++)
			memcpy(out + (size_t)n * OC, b, OC * sizeof(*out));
	mm(0, 1, N, OC, C, 1.0f, inp, C, w, C, b ? 1.0f : 0.0f, out, OC);
}

void
linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                const float *w, int N, int C, int OC)
{
	/* forward was out = inp @ w^T + b, so dinp += dout @ w, dw += dout^T @ inp, db += sum dout */
	if (dinp)
		mm(0, 0, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
	if (dw)
		mm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
	if (db)
		for (int n = 0; n < N; n++)
			acc_add(db, dout + (size_t)n * OC, OC);
}

/* ---- layernorm (reference: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html) */

void
layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *g,
                  const float *b, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C;
		float m = sum8(x, C) / C;
		float s = 1.0f / sqrtf(sqdev8(x, m, C) / C + 1e-5f);

		int i = 0;

		for (; i + 8 <= C; i += 8) {
			float t[8];
			for (int j = 0; j < 8; j++)
				t[j] = (x[i + j] - m) * s * g[i + j] + b[i + j];
			for (int j = 0; j < 8; j++)
				o[i + j] = t[j];
		}
		for (; i < C; i++)
			o[i] = (x[i] - m) * s * g[i] + b[i];
		mean[n] = m;
		rstd[n] = s;
	}
}

void
layernorm_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                   const float *g, const float *mean, const float *rstd, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
		float m = mean[n], s = rstd[n], a[8] = {0}, c[8] = {0}, dmean, dnorm;
		int i = 0;

		/* dnorm_i = g_i dy_i; dx_i = s (dnorm_i - mean(dnorm) - xhat_i mean(dnorm * xhat)) */
		for (; i + 8 <= C; i += 8)
			for (int j = 0; j < 8; j++) {
				float dn = g[i + j] * dy[i + j];
				a[j] += dn;
				c[j] += dn * (x[i + j] - m) * s;
			}
		for (; i < C; i++) {
			float dn = g[i] * dy[i];
			a[0] += dn;
			c[0] += dn * (x[i] - m) * s;
		}
		dmean = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) / C;
		dnorm = (((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]))) / C;
		if (db && dg) {
			for (i = 0; i + 8 <= C; i += 8) {
				float tb[8], tg[8];
				for (int j = 0; j < 8; j++) {
					tb[j] = db[i + j] + dy[i + j];
					tg[j] = dg[i + j] + (x[i + j] - m) * s * dy[i + j];
				}
				for (int j = 0; j < 8; j++) {
					db[i + j] = tb[j];
					dg[i + j] = tg[j];
				}
			}
			for (; i < C; i++) {
				db[i] += dy[i];
				dg[i] += (x[i] - m) * s * dy[i];
			}
		} else {
			if (db)
				acc_add(db, dy, C);
			if (dg)
				for (i = 0; i < C; i++)
					dg[i] += (x[i] - m) * s * dy[i];
		}
		if (dinp) {
			float *dx = dinp + (size_t)n * C;
			for (i = 0; i + 8 <= C; i += 8) {
				float t[8];
				for (int j = 0; j < 8; j++)
					t[j] = dx[i + j] + (g[i + j] * dy[i + j] - dmean -
					                    (x[i + j] - m) * s * dnorm) * s;
				for (int j = 0; j < 8; j++)
					dx[i + j] = t[j];
			}
			for (; i < C; i++)
				dx[i] += (g[i] * dy[i] - dmean - (x[i] - m) * s * dnorm) * s;
		}
	}
}

/* ---- layernorm + dropout */

void
lndrop_forward(float *out, float *mean, float *rstd, const float *inp, const float *g,
               const float *b, const uint8_t *mask, float p, int N, int C)
{
	float sc = 1.0f / (1.0f - p);

	if (!mask || p == 0.0f) {
		layernorm_forward(out, mean, rstd, inp, g, b, N, C);
		return;
	}
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		const uint8_t *mk = mask + (size_t)n * C;
		float *o = out + (size_t)n * C;
		float m = sum8(x, C) / C;
		float s = 1.0f / sqrtf(sqdev8(x, m, C) / C + 1e-5f);
		int i = 0;

		for (; i + 8 <= C; i += 8) {
			float t[8];
			for (int j = 0; j < 8; j++)
				t[j] = ((x[i + j] - m) * s * g[i + j] + b[i + j]) * ((float)mk[i + j] * sc);
			for (int j = 0; j < 8; j++)
				o[i + j] = t[j];
		}
		for (; i < C; i++)
			o[i] = ((x[i] - m) * s * g[i] + b[i]) * ((float)mk[i] * sc);
		mean[n] = m;
		rstd[n] = s;
	}
}

void
lndrop_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                const float *g, const float *mean, const float *rstd, const uint8_t *mask,
                float p, int N, int C)
{
	float *dy;

	if (!mask || p == 0.0f) {
		layernorm_backward(dinp, dg, db, dout, inp, g, mean, rstd, N, C);
		return;
	}
	/* one row at a time: dy = dout * mask / (1 - p) (dropout's own map), then LayerNorm's
	 * backward */
	dy = efloats(C);
	for (int n = 0; n < N; n++) {
		dropout_forward(dy, dout + (size_t)n * C, mask + (size_t)n * C, (size_t)C, p);
		layernorm_backward(dinp ? dinp + (size_t)n * C : NULL, dg, db, dy,
		                   inp + (size_t)n * C, g, mean + n, rstd + n, 1, C);
	}
	free(dy);
}

/* ---- relu */

void
relu_forward(float *out, const float *inp, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = inp[i + j] > 0.0f ? inp[i + j] : 0.0f;
		for (int j = 0; j < 8; j++)
			out[i + j] = t[j];
	}
	for (; i < n; i++)
		out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void
relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++) {
			float d = dout[i + j];
			t[j] = dinp[i + j] + (out[i + j] > 0.0f ? d : 0.0f);
		}
		for (int j = 0; j < 8; j++)
			dinp[i + j] = t[j];
	}
	for (; i < n; i++)
		dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- dropout */

void
dropout_mask(uint8_t *mask, size_t n, float p, Rng *rng)
{
	/* two 32-bit uniforms per draw; keep when u >= p * 2^32 */
	uint64_t th = (uint64_t)((double)p * 4294967296.0);
	size_t i = 0;

	CHECK(p >= 0.0f && p < 1.0f);
	for (; i + 2 <= n; i += 2) {
		uint64_t r = rng_u64(rng);
		mask[i] = (r & 0xffffffffu) >= th;
		mask[i + 1] = (r >> 32) >= th;
	}
	if (i < n)
		mask[i] = (rng_u64(rng) >> 32) >= th;
}

void
dropout_forward(float *out, const float *inp, const uint8_t *mask, size_t n, float p)
{
	float sc = 1.0f / (1.0f - p);

	if (!mask || p == 0.0f) {
		if (out != inp)
			memcpy(out, inp, n * sizeof(*out));
		return;
	}
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = inp[i + j] * ((float)mask[i + j] * sc);
		for (int j = 0; j < 8; j++)
			out[i + j] = t[j];
	}
	for (; i < n; i++)
		out[i] = inp[i] * ((float)mask[i] * sc);
}

void
dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p)
{
	float sc = 1.0f / (1.0f - p);
	size_t i = 0;

	if (!mask || p == 0.0f) {
		acc_add(dinp, dout, n);
		return;
	}
	for (; i + 8 <= n; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = dinp[i + j] + dout[i + j] * ((float)mask[i + j] * sc);
		for (int j = 0; j < 8; j++)
			dinp[i + j] = t[j];
	}
	for (; i < n; i++)
		dinp[i] += dout[i] * ((float)mask[i] * sc);
}

/* ---- position embedding */

void
posemb_forward(float *out, const float *inp, const float *pos, int B, int T, int D)
{
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			const float *x = inp + ((size_t)b * T + t) * D, *p = pos + (size_t)t * D;
			float *o = out + ((size_t)b * T + t) * D;
			int i = 0;

			for (; i + 8 <= D; i += 8) {
				float u[8];
				for (int j = 0; j < 8; j++)
					u[j] = x[i + j] + p[i + j];
				for (int j = 0; j < 8; j++)
					o[i + j] = u[j];
			}
			for (; i < D; i++)
				o[i] = x[i] + p[i];
		}
}

void
posemb_backward(float *dinp, float *dpos, const float *dout, int B, int T, int D)
{
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			const float *dy = dout + ((size_t)b * T + t) * D;

			if (dinp)
				acc_add(dinp + ((size_t)b * T + t) * D, dy, D);
			if (dpos)
				acc_add(dpos + (size_t)t * D, dy, D);
		}
}

/* ---- attention (reference: BertSelfAttention of huggingface transformers) */

void
attention_forward(float *out, float *probs, float *probs_d, const float *q, const float *k,
                  const float *v, const uint8_t *pmask, const int *len, int B, int T, int D,
                  int NH, float p)
{
	int hs = D / NH;
	float scale = 1.0f / sqrtf((float)hs);
	int drop = pmask && p > 0.0f;

	CHECK(hs * NH == D);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			size_t off = (size_t)b * T * D + (size_t)h * hs, poff = ((size_t)b * NH + h) * T * T;
			float *P = probs + poff, *Pd = drop ? probs_d + poff : P;

			/* P (T,T) = Q_bh (T,hs) @ K_bh^T * scale */
			mm(0, 1, T, T, hs, scale, q + off, D, k + off, D, 0.0f, P, T);
			for (int i = 0; i < T; i++) {
				float *row = P + (size_t)i * T, mx, sum = 0.0f;
				int j;

				for (j = len[b]; j < T; j++)
					row[j] += -10000.0f;
				mx = max8(row, T);
				for (j = 0; j < T; j++) {
					row[j] = expf(row[j] - mx);
					sum += row[j];
				}
				for (j = 0; j + 8 <= T; j += 8) {
					float t[8];
					for (int l = 0; l < 8; l++)
						t[l] = row[j + l] / sum;
					for (int l = 0; l < 8; l++)
						row[j + l] = t[l];
				}
				for (; j < T; j++)
					row[j] /= sum;
			}
			if (drop)
				dropout_forward(Pd, P, pmask + poff, (size_t)T * T, p);
			/* out_bh (T,hs) = Pd (T,T) @ V_bh (T,hs) */
			mm(0, 0, T, hs, T, 1.0f, Pd, T, v + off, D, 0.0f, out + off, D);
		}
}

void
attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                   const float *k, const float *v, const float *probs, const float *probs_d,
                   const uint8_t *pmask, const int *len, int B, int T, int D, int NH, float p)
{
	int hs = D / NH;
	float scale = 1.0f / sqrtf((float)hs);
	int drop = pmask && p > 0.0f;
	float *dP = efloats((size_t)T * T), *dPd = efloats((size_t)T * T);

	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			size_t off = (size_t)b * T * D + (size_t)h * hs, poff = ((size_t)b * NH + h) * T * T;
			const float *P = probs + poff, *Pd = drop ? probs_d + poff : P;

			/* forward was O = Pd V: dPd = dO V^T, dV += Pd^T dO */
			mm(0, 1, T, T, hs, 1.0f, dout + off, D, v + off, D, 0.0f, dPd, T);
			mm(1, 0, T, hs, T, 1.0f, Pd, T, dout + off, D, 1.0f, dv + off, D);
			if (drop) {
				memset(dP, 0, (size_t)T * T * sizeof(*dP));
				dropout_backward(dP, dPd, pmask + poff, (size_t)T * T, p);
			} else {
				memcpy(dP, dPd, (size_t)T * T * sizeof(*dP));
			}
			/* softmax: dlogit_ij = P_ij (dP_ij - sum_k P_ik dP_ik) */
			for (int i = 0; i < T; i++) {
				const float *pr = P + (size_t)i * T;
				float *dr = dP + (size_t)i * T, s = dot8(pr, dr, T);
				int j = 0;

				for (; j + 8 <= T; j += 8) {
					float t[8];
					for (int l = 0; l < 8; l++)
						t[l] = pr[j + l] * (dr[j + l] - s);
					for (int l = 0; l < 8; l++)
						dr[j + l] = t[l];
				}
				for (; j < T; j++)
					dr[j] = pr[j] * (dr[j] - s);
			}
			/* logits = scale Q K^T: dQ += scale dL K, dK += scale dL^T Q */
			mm(0, 0, T, hs, T, scale, dP, T, k + off, D, 1.0f, dq + off, D);
			mm(1, 0, T, hs, T, scale, dP, T, q + off, D, 1.0f, dk + off, D);
		}
	free(dP);
	free(dPd);
}

/* ---- attention pooling */

void
attnpool_forward(float *out, float *a, const float *inp, const float *w, const int *len,
                 int B, int T, int D)
{
	/* logits (B*T, 1) = inp (B*T, D) @ w (D, 1) */
	mm(0, 0, B * T, 1, D, 1.0f, inp, D, w, 1, 0.0f, a, 1);
	for (int b = 0; b < B; b++) {
		float *ab = a + (size_t)b * T, mx = ab[0], sum = 0.0f;
		int n = len[b];

		for (int t = 1; t < n; t++)
			mx = ab[t] > mx ? ab[t] : mx;
		for (int t = 0; t < n; t++) {
			ab[t] = expf(ab[t] - mx);
			sum += ab[t];
		}
		for (int t = 0; t < n; t++)
			ab[t] /= sum;
		for (int t = n; t < T; t++)
			ab[t] = 0.0f;
		/* out_b (1,D) = a_b (1,n) @ inp_b (n,D) */
		mm(0, 0, 1, D, n, 1.0f, ab, T, inp + (size_t)b * T * D, D, 0.0f, out + (size_t)b * D, D);
	}
}

void
attnpool_backward(float *dinp, float *dw, const float *dout, const float *a, const float *inp,
                  const float *w, const int *len, int B, int T, int D)
{
	/* out = sum_t a_t h_t, a = softmax(z), z_t = w.h_t:
	 * g_t = dout.h_t, dz_t = a_t (g_t - sum_s a_s g_s), dh_t += a_t dout + dz_t w, dw += dz_t h_t */
	float *dz = efloats(T);

	for (int b = 0; b < B; b++) {
		const float *ab = a + (size_t)b * T, *dy = dout + (size_t)b * D;
		float sg = 0.0f;
		int n = len[b];

		for (int t = 0; t < n; t++) {
			dz[t] = dot8(dy, inp + ((size_t)b * T + t) * D, D);
			sg += ab[t] * dz[t];
		}
		for (int t = 0; t < n; t++) {
			const float *h = inp + ((size_t)b * T + t) * D;
			float z = ab[t] * (dz[t] - sg);

			if (dinp) {
				float *dh = dinp + ((size_t)b * T + t) * D, at = ab[t];
				int i = 0;

				for (; i + 8 <= D; i += 8) {
					float u[8];
					for (int j = 0; j < 8; j++)
						u[j] = dh[i + j] + (at * dy[i + j] + z * w[i + j]);
					for (int j = 0; j < 8; j++)
						dh[i + j] = u[j];
				}
				for (; i < D; i++)
					dh[i] += at * dy[i] + z * w[i];
			}
			if (dw) {
				int i = 0;

				for (; i + 8 <= D; i += 8) {
					float u[8];
					for (int j = 0; j < 8; j++)
						u[j] = dw[i + j] + z * h[i + j];
					for (int j = 0; j < 8; j++)
						dw[i + j] = u[j];
				}
				for (; i < D; i++)
					dw[i] += z * h[i];
			}
		}
	}
	free(dz);
}

/* ---- l2 normalisation (torch.nn.functional.normalize, eps 1e-12) */

void
l2norm_forward(float *out, float *norm, const float *inp, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C, nr = sqrtf(dot8(x, x, C)), inv;

		nr = nr > 1e-12f ? nr : 1e-12f;
		int i = 0;

		inv = 1.0f / nr;
		for (; i + 8 <= C; i += 8) {
			float t[8];
			for (int j = 0; j < 8; j++)
				t[j] = x[i + j] * inv;
			for (int j = 0; j < 8; j++)
				o[i + j] = t[j];
		}
		for (; i < C; i++)
			o[i] = x[i] * inv;
		norm[n] = nr;
	}
}

void
l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *y = out + (size_t)n * C, *dy = dout + (size_t)n * C;
		float *dx = dinp + (size_t)n * C, inv = 1.0f / norm[n];
		/* y = x / |x|: dx = (dy - y (y.dy)) / |x|; below the eps the norm is a constant */
		float yd = norm[n] > 1e-12f ? dot8(y, dy, C) : 0.0f;
		int i = 0;

		for (; i + 8 <= C; i += 8) {
			float t[8];
			for (int j = 0; j < 8; j++)
				t[j] = dx[i + j] + (dy[i + j] - y[i + j] * yd) * inv;
			for (int j = 0; j < 8; j++)
				dx[i + j] = t[j];
		}
		for (; i < C; i++)
			dx[i] += (dy[i] - y[i] * yd) * inv;
	}
}

/* ---- frame similarities and the masked max */

void
framesim_forward(float *S, const float *q, const float *f, int Nq, int NF, int D)
{
	mm(0, 1, Nq, NF, D, 1.0f, q, D, f, D, 0.0f, S, NF);
}

void
framesim_backward(float *dq, float *df, const float *dS, const float *q, const float *f,
                  int Nq, int NF, int D)
{
	if (dq)
		mm(0, 0, Nq, D, NF, 1.0f, dS, NF, f, D, 1.0f, dq, D);
	if (df)
		mm(1, 0, NF, D, Nq, 1.0f, dS, NF, q, D, 1.0f, df, D);
}

void
framemax_forward(float *s, int *arg, const float *S, const int *len, int Nq, int B, int L)
{
	for (int i = 0; i < Nq; i++)
		for (int b = 0; b < B; b++) {
			const float *row = S + (size_t)i * B * L + (size_t)b * L;
			int best = 0;

			CHECK(len[b] >= 1 && len[b] <= L);
			for (int t = 1; t < len[b]; t++)
				if (row[t] > row[best])
					best = t;
			s[(size_t)i * B + b] = row[best];
			arg[(size_t)i * B + b] = b * L + best;
		}
}

void
framemax_backward(float *dS, const float *ds, const int *arg, int Nq, int B, int L)
{
	for (int i = 0; i < Nq; i++)
		for (int b = 0; b < B; b++)
			dS[(size_t)i * B * L + arg[(size_t)i * B + b]] += ds[(size_t)i * B + b];
}
