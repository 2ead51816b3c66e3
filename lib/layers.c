/* layers: forward/backward pairs of the DL-DKD student; see layers.h for shapes and the
 * accumulate-into-d-outputs rule. Reductions keep 8 partial sums so the compiler can vectorise
 * them without -ffast-math. Elementwise loops work in blocks of 8 that load everything into a
 * local t[8] before storing: an output may alias an input (out == inp is allowed), and without
 * restrict gcc -O2 vectorises a loop only when no store can precede a load it depends on. The
 * per-element arithmetic is the plain loop's, so results are bit-identical to it
 * (tests/test_kernels.c).
 *
 * Threads (lib/threads.h): loops over rows, elements or (video, head) pairs run on the OpenMP
 * pool with static schedules; each row or element is computed by one thread with the serial
 * arithmetic, so results do not depend on the thread count. Sums over rows (the gradients of
 * gains, biases, position and pooling weights) give each thread a span of columns and add the
 * rows in order, the serial loop's order. Loops under PAR_MIN elements stay serial: starting the
 * pool costs microseconds. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "util.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define PAR_MIN 32768         /* elements: below this a loop runs serial */
#define MAC_MIN (1 << 20)     /* multiply-adds of a batch of small products run serial below */
#define CB 16                 /* columns per span of a sum over rows (one cache line) */

double layers_flops;

/* mm without the flop count, for products issued from inside a parallel loop (layers_flops is
 * not atomic; such callers count their products once outside the loop) */
static void
gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *Bm,
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
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
	            M, N, K, alpha, A, lda, Bm, ldb, beta, Cm, ldc);
}

void
mm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *Bm,
   int ldb, float beta, float *Cm, int ldc)
{
	if (M > 0 && N > 0 && K > 0)
		layers_flops += 2.0 * M * N * K;
	gemm(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, Cm, ldc);
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
	size_t n8 = n - n % 8;

#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
	for (size_t i = 0; i < n8; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = y[i + j] + x[i + j];
		for (int j = 0; j < 8; j++)
			y[i + j] = t[j];
	}
	for (size_t i = n8; i < n; i++)
		y[i] += x[i];
}

/* [*lo, *hi): the calling thread's share of n items inside a parallel region (all outside one) */
static void
share(int n, int *lo, int *hi)
{
#ifdef _OPENMP
	int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
	int t = 0, nt = 1;
#endif
	*lo = (int)((long)n * t / nt);
	*hi = (int)((long)n * (t + 1) / nt);
}

/* y (C) += sum over r < R, in order, of x row r (wt[r] * row when wt is set); row r is
 * x + rows[r] * C (rows NULL: r * C). Each thread owns a span of whole CB-column blocks and
 * walks the rows in order, so every sum is the serial one. */
static void
colsum(float *y, const float *x, const int *rows, const float *wt, int R, int C)
{
	int nspan = (C + CB - 1) / CB;

#pragma omp parallel if ((size_t)R * C >= PAR_MIN)
	{
		int s0, s1, c0, c1;

		share(nspan, &s0, &s1);
		c0 = s0 * CB;
		c1 = MIN(C, s1 * CB);
		for (int r = 0; r < R; r++) {
			const float *xr = x + (size_t)(rows ? rows[r] : r) * C;

			if (wt)
				for (int c = c0; c < c1; c++)
					y[c] += wt[r] * xr[c];
			else
				for (int c = c0; c < c1; c++)
					y[c] += xr[c];
		}
	}
}

/* ---- linear */

void
linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC)
{
	if (b) {
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= PAR_MIN)
		for (int n = 0; n < N; n++)
			memcpy(out + (size_t)n * OC, b, OC * sizeof(*out));
	}
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
		colsum(db, dout, NULL, NULL, N, OC);
}

/* ---- layernorm (reference: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html) */

/* one row: o = LN(x) * g + b, times mk / (1 - p) (sc = 1 / (1 - p)) when mk is set */
static void
ln_row(float *o, float *mean, float *rstd, const float *x, const float *g, const float *b,
       const uint8_t *mk, float sc, int C)
{
	float m = sum8(x, C) / C;
	float s = 1.0f / sqrtf(sqdev8(x, m, C) / C + 1e-5f);
	int i = 0;

	if (mk) {
		for (; i + 8 <= C; i += 8) {
			float t[8];
			for (int j = 0; j < 8; j++)
				t[j] = ((x[i + j] - m) * s * g[i + j] + b[i + j]) * ((float)mk[i + j] * sc);
			for (int j = 0; j < 8; j++)
				o[i + j] = t[j];
		}
		for (; i < C; i++)
			o[i] = ((x[i] - m) * s * g[i] + b[i]) * ((float)mk[i] * sc);
	} else {
		for (; i + 8 <= C; i += 8) {
			float t[8];
			for (int j = 0; j < 8; j++)
				t[j] = (x[i + j] - m) * s * g[i + j] + b[i + j];
			for (int j = 0; j < 8; j++)
				o[i + j] = t[j];
		}
		for (; i < C; i++)
			o[i] = (x[i] - m) * s * g[i] + b[i];
	}
	*mean = m;
	*rstd = s;
}

/* one row: dx += s (g dy - mean(g dy) - xhat mean(g dy xhat)), xhat = (x - m) s */
static void
ln_row_dx(float *dx, const float *dy, const float *x, const float *g, float m, float s, int C)
{
	float a[8] = {0}, c[8] = {0}, dmean, dnorm;
	int i = 0;

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
	for (i = 0; i + 8 <= C; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = dx[i + j] + (g[i + j] * dy[i + j] - dmean - (x[i + j] - m) * s * dnorm) * s;
		for (int j = 0; j < 8; j++)
			dx[i + j] = t[j];
	}
	for (; i < C; i++)
		dx[i] += (g[i] * dy[i] - dmean - (x[i] - m) * s * dnorm) * s;
}

/* dg += sum_r xhat_r dy_r, db += sum_r dy_r (either may be NULL) over R rows in order; row r is
 * input row rows[r] (NULL: r) and dy_r = dout row r, times mask row r * sc when mask is set.
 * Threads own spans of columns, as in colsum. */
static void
ln_dgdb(float *dg, float *db, const float *dout, const float *inp, const int *rows,
        const float *mean, const float *rstd, const uint8_t *mask, float sc, int R, int C)
{
	int nspan = (C + CB - 1) / CB;
	/* a missing one is summed into scratch, so that the inner loops have no branches */
	float *tmp = dg && db ? NULL : efloats(C);

	dg = dg ? dg : tmp;
	db = db ? db : tmp;
#pragma omp parallel if ((size_t)R * C >= PAR_MIN)
	{
		int s0, s1, c0, c1;

		share(nspan, &s0, &s1);
		c0 = s0 * CB;
		c1 = MIN(C, s1 * CB);
		for (int r = 0; r < R; r++) {
			const float *x = inp + (size_t)(rows ? rows[r] : r) * C, *d = dout + (size_t)r * C;
			float m = mean[r], s = rstd[r];

			if (mask) {
				const uint8_t *mk = mask + (size_t)r * C;
				for (int c = c0; c < c1; c++) {
					float dy = d[c] * ((float)mk[c] * sc);
					db[c] += dy;
					dg[c] += (x[c] - m) * s * dy;
				}
			} else {
				for (int c = c0; c < c1; c++) {
					db[c] += d[c];
					dg[c] += (x[c] - m) * s * d[c];
				}
			}
		}
	}
	free(tmp);
}

void
layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *g,
                  const float *b, int N, int C)
{
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
	for (int n = 0; n < N; n++)
		ln_row(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)n * C, g, b, NULL, 1.0f, C);
}

void
layernorm_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                   const float *g, const float *mean, const float *rstd, int N, int C)
{
	if (dinp) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
		for (int n = 0; n < N; n++)
			ln_row_dx(dinp + (size_t)n * C, dout + (size_t)n * C, inp + (size_t)n * C, g,
			          mean[n], rstd[n], C);
	}
	if (dg || db)
		ln_dgdb(dg, db, dout, inp, NULL, mean, rstd, NULL, 1.0f, N, C);
}

/* ---- layernorm + dropout */

void
lndrop_forward(float *out, float *mean, float *rstd, const float *inp, const int *rows,
               const float *g, const float *b, const uint8_t *mask, float p, int N, int C)
{
	int drop = mask && p > 0.0f;
	float sc = drop ? 1.0f / (1.0f - p) : 1.0f;

#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
	for (int n = 0; n < N; n++)
		ln_row(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)(rows ? rows[n] : n) * C,
		       g, b, drop ? mask + (size_t)n * C : NULL, sc, C);
}

void
lndrop_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                const int *rows, const float *g, const float *mean, const float *rstd,
                const uint8_t *mask, float p, int N, int C)
{
	int drop = mask && p > 0.0f;
	float sc = drop ? 1.0f / (1.0f - p) : 1.0f;

	if (dinp) {
#pragma omp parallel if ((size_t)N * C >= PAR_MIN)
		{
			/* dy = dout * mask / (1 - p), dropout's own map, then LayerNorm's backward */
			float *dy = drop ? efloats(C) : NULL;

#pragma omp for schedule(static)
			for (int n = 0; n < N; n++) {
				size_t in = (size_t)(rows ? rows[n] : n) * C;
				const float *d = dout + (size_t)n * C;

				if (drop) {
					dropout_forward(dy, d, mask + (size_t)n * C, (size_t)C, p);
					d = dy;
				}
				ln_row_dx(dinp + in, d, inp + in, g, mean[n], rstd[n], C);
			}
			free(dy);
		}
	}
	if (dg || db)
		ln_dgdb(dg, db, dout, inp, rows, mean, rstd, drop ? mask : NULL, sc, N, C);
}

/* ---- relu */

void
relu_forward(float *out, const float *inp, size_t n)
{
	size_t n8 = n - n % 8;

#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
	for (size_t i = 0; i < n8; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = inp[i + j] > 0.0f ? inp[i + j] : 0.0f;
		for (int j = 0; j < 8; j++)
			out[i + j] = t[j];
	}
	for (size_t i = n8; i < n; i++)
		out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void
relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
	size_t n8 = n - n % 8;

#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
	for (size_t i = 0; i < n8; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++) {
			float d = dout[i + j];
			t[j] = dinp[i + j] + (out[i + j] > 0.0f ? d : 0.0f);
		}
		for (int j = 0; j < 8; j++)
			dinp[i + j] = t[j];
	}
	for (size_t i = n8; i < n; i++)
		dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- residual */

void
residual_forward(float *out, const float *inp, size_t n)
{
	acc_add(out, inp, n);
}

/* ---- dropout */

void
dropout_mask(uint8_t *mask, size_t n, float p, Rng *rng)
{
	dropout_mask_key(mask, n, p, rng_u64(rng));
}

void
dropout_mask_key(uint8_t *mask, size_t n, float p, uint64_t key)
{
	/* keep when a 32-bit uniform u >= p * 2^32, two uniforms per draw. The mask is cut into
	 * blocks of MASKB, each drawn from its own generator seeded with key + the block's index:
	 * blocks fill in parallel and the mask depends on the key only, not on the thread count */
	enum { MASKB = 1 << 16 };
	uint64_t th = (uint64_t)((double)p * 4294967296.0);

	CHECK(p >= 0.0f && p < 1.0f);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
	for (size_t b0 = 0; b0 < n; b0 += MASKB) {
		size_t e = MIN(n, b0 + MASKB), i = b0;
		Rng r;

		rng_seed(&r, key + b0 / MASKB);
		for (; i + 2 <= e; i += 2) {
			uint64_t u = rng_u64(&r);
			mask[i] = (u & 0xffffffffu) >= th;
			mask[i + 1] = (u >> 32) >= th;
		}
		if (i < e)
			mask[i] = (rng_u64(&r) >> 32) >= th;
	}
}

void
dropout_forward(float *out, const float *inp, const uint8_t *mask, size_t n, float p)
{
	float sc = 1.0f / (1.0f - p);
	size_t n8 = n - n % 8;

	if (!mask || p == 0.0f) {
		if (out != inp)
			memcpy(out, inp, n * sizeof(*out));
		return;
	}
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
	for (size_t i = 0; i < n8; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = inp[i + j] * ((float)mask[i + j] * sc);
		for (int j = 0; j < 8; j++)
			out[i + j] = t[j];
	}
	for (size_t i = n8; i < n; i++)
		out[i] = inp[i] * ((float)mask[i] * sc);
}

void
dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p)
{
	float sc = 1.0f / (1.0f - p);
	size_t n8 = n - n % 8;

	if (!mask || p == 0.0f) {
		acc_add(dinp, dout, n);
		return;
	}
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
	for (size_t i = 0; i < n8; i += 8) {
		float t[8];
		for (int j = 0; j < 8; j++)
			t[j] = dinp[i + j] + dout[i + j] * ((float)mask[i + j] * sc);
		for (int j = 0; j < 8; j++)
			dinp[i + j] = t[j];
	}
	for (size_t i = n8; i < n; i++)
		dinp[i] += dout[i] * ((float)mask[i] * sc);
}

/* ---- position embedding */

void
posemb_forward(float *out, const float *inp, const float *pos, int B, int T, int D)
{
#pragma omp parallel for schedule(static) if ((size_t)B * T * D >= PAR_MIN)
	for (int r = 0; r < B * T; r++) {
		const float *x = inp + (size_t)r * D, *p = pos + (size_t)(r % T) * D;
		float *o = out + (size_t)r * D;
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
	size_t n = (size_t)B * T * D;

	if (dinp)
		acc_add(dinp, dout, n);
	/* dpos (T*D) += the B sequences of dout, each seen as one row of T*D */
	if (dpos)
		colsum(dpos, dout, NULL, NULL, B, T * D);
}

/* ---- attention (reference: BertSelfAttention of huggingface transformers)
 * The B*NH (sequence, head) problems are independent and of one size, so they are shared out
 * statically over the pool; each runs its products on its own thread (OpenBLAS called inside a
 * parallel region is single-threaded) and its softmax while the scores are in cache. One
 * product over all sequences per head would compute every cross-sequence block too (B times the
 * work), hence a batch of small products rather than a few large ones (doc/performance.md). */

/* softmax of each row of P (T,T) with -10000 added to keys j >= len */
static void
softmax_rows(float *P, int T, int len)
{
	for (int i = 0; i < T; i++) {
		float *row = P + (size_t)i * T, mx, sum = 0.0f;
		int j;

		for (j = len; j < T; j++)
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
}

void
attention_forward(float *out, float *probs, float *probs_d, const float *q, const float *k,
                  const float *v, const uint8_t *pmask, const int *len, int B, int T, int D,
                  int NH, float p)
{
	int hs = D / NH;
	float scale = 1.0f / sqrtf((float)hs);
	int drop = pmask && p > 0.0f;

	CHECK(hs * NH == D);
#pragma omp parallel for schedule(static) if ((size_t)B * T * T * D >= MAC_MIN)
	for (int bh = 0; bh < B * NH; bh++) {
		int b = bh / NH, h = bh % NH;
		size_t off = (size_t)b * T * D + (size_t)h * hs, poff = (size_t)bh * T * T;
		float *P = probs + poff, *Pd = drop ? probs_d + poff : P;

		/* P (T,T) = Q_bh (T,hs) @ K_bh^T * scale */
		gemm(0, 1, T, T, hs, scale, q + off, D, k + off, D, 0.0f, P, T);
		softmax_rows(P, T, len[b]);
		if (drop)
			dropout_forward(Pd, P, pmask + poff, (size_t)T * T, p);
		/* out_bh (T,hs) = Pd (T,T) @ V_bh (T,hs) */
		gemm(0, 0, T, hs, T, 1.0f, Pd, T, v + off, D, 0.0f, out + off, D);
	}
	if (T > 0 && hs > 0)
		layers_flops += 2 * 2.0 * B * NH * T * T * hs;
}

void
attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                   const float *k, const float *v, const float *probs, const float *probs_d,
                   const uint8_t *pmask, const int *len, int B, int T, int D, int NH, float p)
{
	int hs = D / NH;
	float scale = 1.0f / sqrtf((float)hs);
	int drop = pmask && p > 0.0f;

#pragma omp parallel if ((size_t)B * T * T * D >= MAC_MIN)
	{
		float *dP = efloats((size_t)T * T), *dPd = efloats((size_t)T * T);

#pragma omp for schedule(static)
		for (int bh = 0; bh < B * NH; bh++) {
			int b = bh / NH, h = bh % NH;
			size_t off = (size_t)b * T * D + (size_t)h * hs, poff = (size_t)bh * T * T;
			const float *P = probs + poff, *Pd = drop ? probs_d + poff : P;

			/* forward was O = Pd V: dPd = dO V^T, dV += Pd^T dO */
			gemm(0, 1, T, T, hs, 1.0f, dout + off, D, v + off, D, 0.0f, dPd, T);
			gemm(1, 0, T, hs, T, 1.0f, Pd, T, dout + off, D, 1.0f, dv + off, D);
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
			gemm(0, 0, T, hs, T, scale, dP, T, k + off, D, 1.0f, dq + off, D);
			gemm(1, 0, T, hs, T, scale, dP, T, q + off, D, 1.0f, dk + off, D);
		}
		free(dP);
		free(dPd);
	}
	if (T > 0 && hs > 0)
		layers_flops += 4 * 2.0 * B * NH * T * T * hs;
}

/* ---- attention pooling */

void
attnpool_forward(float *out, float *a, const float *inp, const float *w, const int *len,
                 int B, int T, int D)
{
	/* logits (B*T, 1) = inp (B*T, D) @ w (D, 1) */
	mm(0, 0, B * T, 1, D, 1.0f, inp, D, w, 1, 0.0f, a, 1);
#pragma omp parallel for schedule(static) if ((size_t)B * T * D >= PAR_MIN)
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
		gemm(0, 0, 1, D, n, 1.0f, ab, T, inp + (size_t)b * T * D, D, 0.0f, out + (size_t)b * D, D);
	}
	for (int b = 0; b < B; b++)
		if (len[b] > 0 && D > 0)
			layers_flops += 2.0 * D * len[b];
}

void
attnpool_backward(float *dinp, float *dw, const float *dout, const float *a, const float *inp,
                  const float *w, const int *len, int B, int T, int D)
{
	/* out = sum_t a_t h_t, a = softmax(z), z_t = w.h_t:
	 * g_t = dout.h_t, dz_t = a_t (g_t - sum_s a_s g_s), dh_t += a_t dout + dz_t w, dw += dz_t h_t */
	float *dz = efloats((size_t)B * T);
	int *rows = ecalloc((size_t)B * T, sizeof(*rows)), nr = 0;

#pragma omp parallel for schedule(static) if ((size_t)B * T * D >= PAR_MIN)
	for (int b = 0; b < B; b++) {
		const float *ab = a + (size_t)b * T, *dy = dout + (size_t)b * D;
		float sg = 0.0f, *z = dz + (size_t)b * T;
		int n = len[b];

		for (int t = 0; t < n; t++) {
			z[t] = dot8(dy, inp + ((size_t)b * T + t) * D, D);
			sg += ab[t] * z[t];
		}
		for (int t = 0; t < n; t++) {
			z[t] = ab[t] * (z[t] - sg);
			if (dinp) {
				float *dh = dinp + ((size_t)b * T + t) * D, at = ab[t], zt = z[t];
				int i = 0;

				for (; i + 8 <= D; i += 8) {
					float u[8];
					for (int j = 0; j < 8; j++)
						u[j] = dh[i + j] + (at * dy[i + j] + zt * w[i + j]);
					for (int j = 0; j < 8; j++)
						dh[i + j] = u[j];
				}
				for (; i < D; i++)
					dh[i] += at * dy[i] + zt * w[i];
			}
		}
	}
	if (dw) {
		/* dw += dz_t h_t over the valid (b, t) in order: weights dz at rows b*T + t */
		for (int b = 0; b < B; b++)
			for (int t = 0; t < len[b]; t++) {
				dz[nr] = dz[(size_t)b * T + t];
				rows[nr++] = b * T + t;
			}
		colsum(dw, inp, rows, dz, nr, D);
	}
	free(rows);
	free(dz);
}

/* ---- l2 normalisation (torch.nn.functional.normalize, eps 1e-12) */

void
l2norm_forward(float *out, float *norm, const float *inp, int N, int C)
{
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
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
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
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
	for (int b = 0; b < B; b++)
		CHECK(len[b] >= 1 && len[b] <= L);
#pragma omp parallel for schedule(static) if ((size_t)Nq * B * L >= PAR_MIN)
	for (int i = 0; i < Nq; i++)
		for (int b = 0; b < B; b++) {
			const float *row = S + (size_t)i * B * L + (size_t)b * L;
			int best = 0;

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
	/* query i's arguments lie in its own row of dS */
#pragma omp parallel for schedule(static) if ((size_t)Nq * B >= PAR_MIN)
	for (int i = 0; i < Nq; i++)
		for (int b = 0; b < B; b++)
			dS[(size_t)i * B * L + arg[(size_t)i * B + b]] += ds[(size_t)i * B + b];
}
