/* test_kernels: the vectorised elementwise kernels of lib/layers.c against their naive
 * references: plain one-element-at-a-time loops with the same per-element arithmetic (the form
 * the kernels had before they were blocked for gcc -O2's vectoriser). Blocking must change no
 * bit, so every comparison is exact (memcmp), on lengths with and without a tail of < 8
 * elements, with outputs aliasing inputs where layers.h allows it, and with masks.
 * Threads must change no bit either: every check runs at 1 and at 3 threads (3 shares columns
 * and rows unevenly), on sizes below and above the size at which loops go parallel. It also
 * checks that the OpenBLAS linked is the OpenMP build (lib/threads.h).
 * Gradients themselves are checked in test_layers; this test is only about equality. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "rng.h"
#include "threads.h"
#include "util.h"

static int allok = 1;
static Rng rng;

static float *
randv(size_t n, float lo, float hi)
{
	float *x = efloats(n);

	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * rng_uniform(&rng);
	return x;
}

static float *
copyv(const float *x, size_t n)
{
	float *y = efloats(n);

	memcpy(y, x, n * sizeof(*y));
	return y;
}

static uint8_t *
randmask(size_t n)
{
	uint8_t *m = emalloc(n);

	dropout_mask(m, n, 0.3f, &rng);
	return m;
}

static void
same(const char *what, size_t n, const float *a, const float *b)
{
	int ok = memcmp(a, b, n * sizeof(*a)) == 0;

	printf("%s %s (n %zu)\n", ok ? "OK" : "NOT OK", what, n);
	if (!ok)
		allok = 0;
}

/* ---- naive references */

static float
sum8_naive(const float *x, int n)
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

static float
sqdev8_naive(const float *x, float c, int n)
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

static float
dot8_naive(const float *x, const float *y, int n)
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

static void
layernorm_forward_naive(float *out, float *mean, float *rstd, const float *inp, const float *g,
                        const float *b, const uint8_t *mask, float p, int N, int C)
{
	float sc = 1.0f / (1.0f - p);

	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C;
		float m = sum8_naive(x, C) / C;
		float s = 1.0f / sqrtf(sqdev8_naive(x, m, C) / C + 1e-5f);

		for (int i = 0; i < C; i++)
			o[i] = mask ? ((x[i] - m) * s * g[i] + b[i]) * ((float)mask[(size_t)n * C + i] * sc)
			            : (x[i] - m) * s * g[i] + b[i];
		mean[n] = m;
		rstd[n] = s;
	}
}

static void
layernorm_backward_naive(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                         const float *g, const float *mean, const float *rstd,
                         const uint8_t *mask, float p, int N, int C)
{
	float sc = 1.0f / (1.0f - p), *dy = efloats(C);

	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float m = mean[n], s = rstd[n], a[8] = {0}, c[8] = {0}, dmean, dnorm;
		int i = 0;

		for (i = 0; i < C; i++)
			dy[i] = mask ? dout[(size_t)n * C + i] * ((float)mask[(size_t)n * C + i] * sc)
			             : dout[(size_t)n * C + i];
		for (i = 0; i + 8 <= C; i += 8)
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
		for (i = 0; i < C; i++) {
			if (db)
				db[i] += dy[i];
			if (dg)
				dg[i] += (x[i] - m) * s * dy[i];
			if (dinp)
				dinp[(size_t)n * C + i] += (g[i] * dy[i] - dmean - (x[i] - m) * s * dnorm) * s;
		}
	}
	free(dy);
}

/* softmax rows of attention and its backward, the loops attention_* had before blocking */
static void
attention_naive(float *out, float *probs, float *dq, float *dk, float *dv, const float *dout,
                const float *q, const float *k, const float *v, const int *len, int B, int T,
                int D, int NH)
{
	int hs = D / NH;
	float scale = 1.0f / sqrtf((float)hs), *dP = efloats((size_t)T * T);

	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			size_t off = (size_t)b * T * D + (size_t)h * hs, poff = ((size_t)b * NH + h) * T * T;
			float *P = probs + poff;

			mm(0, 1, T, T, hs, scale, q + off, D, k + off, D, 0.0f, P, T);
			for (int i = 0; i < T; i++) {
				float *row = P + (size_t)i * T, mx, sum = 0.0f;

				for (int j = len[b]; j < T; j++)
					row[j] += -10000.0f;
				mx = row[0];
				for (int j = 1; j < T; j++)
					mx = row[j] > mx ? row[j] : mx;
				for (int j = 0; j < T; j++) {
					row[j] = expf(row[j] - mx);
					sum += row[j];
				}
				for (int j = 0; j < T; j++)
					row[j] /= sum;
			}
			mm(0, 0, T, hs, T, 1.0f, P, T, v + off, D, 0.0f, out + off, D);
			mm(0, 1, T, T, hs, 1.0f, dout + off, D, v + off, D, 0.0f, dP, T);
			mm(1, 0, T, hs, T, 1.0f, P, T, dout + off, D, 1.0f, dv + off, D);
			for (int i = 0; i < T; i++) {
				const float *pr = P + (size_t)i * T;
				float *dr = dP + (size_t)i * T, s = dot8_naive(pr, dr, T);

				for (int j = 0; j < T; j++)
					dr[j] = pr[j] * (dr[j] - s);
			}
			mm(0, 0, T, hs, T, scale, dP, T, k + off, D, 1.0f, dq + off, D);
			mm(1, 0, T, hs, T, scale, dP, T, q + off, D, 1.0f, dk + off, D);
		}
	free(dP);
}

/* ---- checks */

static void
check_elementwise(size_t n)
{
	float *x = randv(n, -1, 1), *dy = randv(n, -1, 1), *a = randv(n, -1, 1), *r, *s;
	uint8_t *mk = randmask(n);
	float p = 0.3f, sc = 1.0f / (1.0f - p);

	/* relu, in place and out of place; backward */
	r = efloats(n);
	for (size_t i = 0; i < n; i++)
		r[i] = x[i] > 0.0f ? x[i] : 0.0f;
	s = copyv(x, n);
	relu_forward(s, s, n);
	same("relu_forward in place", n, s, r);
	relu_forward(s, x, n);
	same("relu_forward", n, s, r);
	memcpy(s, a, n * sizeof(*s));
	for (size_t i = 0; i < n; i++)
		a[i] += r[i] > 0.0f ? dy[i] : 0.0f;
	relu_backward(s, dy, r, n);
	same("relu_backward", n, s, a);

	/* dropout with a mask, in place; backward with and without a mask */
	for (size_t i = 0; i < n; i++)
		r[i] = x[i] * ((float)mk[i] * sc);
	memcpy(s, x, n * sizeof(*s));
	dropout_forward(s, s, mk, n, p);
	same("dropout_forward in place", n, s, r);
	memcpy(s, a, n * sizeof(*s));
	for (size_t i = 0; i < n; i++)
		a[i] += dy[i] * ((float)mk[i] * sc);
	dropout_backward(s, dy, mk, n, p);
	same("dropout_backward", n, s, a);
	memcpy(s, a, n * sizeof(*s));
	for (size_t i = 0; i < n; i++)
		a[i] += dy[i];
	dropout_backward(s, dy, NULL, n, p);
	same("dropout_backward, no mask", n, s, a);
	free(x); free(dy); free(a); free(r); free(s); free(mk);
}

static void
check_rows(int N, int C)
{
	size_t n = (size_t)N * C;
	float *x = randv(n, -2, 2), *g = randv(C, 0.5f, 1.5f), *b = randv(C, -0.5f, 0.5f);
	float *dy = randv(n, -1, 1), *o1 = efloats(n), *o2, *m1 = efloats(N), *r1 = efloats(N);
	float *m2 = efloats(N), *r2 = efloats(N), *dx1 = randv(n, -1, 1), *dx2 = copyv(dx1, n);
	float *dg1 = randv(C, -1, 1), *dg2 = copyv(dg1, C), *db1 = randv(C, -1, 1);
	float *db2 = copyv(db1, C), *nr1 = efloats(N), *nr2 = efloats(N);
	uint8_t *mk = randmask(n);

	layernorm_forward_naive(o1, m1, r1, x, g, b, NULL, 0.0f, N, C);
	o2 = copyv(x, n);
	layernorm_forward(o2, m2, r2, o2, g, b, N, C);
	same("layernorm_forward in place", n, o2, o1);
	layernorm_backward_naive(dx1, dg1, db1, dy, x, g, m1, r1, NULL, 0.0f, N, C);
	layernorm_backward(dx2, dg2, db2, dy, x, g, m2, r2, N, C);
	same("layernorm_backward dinp", n, dx2, dx1);
	same("layernorm_backward dg", C, dg2, dg1);
	same("layernorm_backward db", C, db2, db1);
	layernorm_backward_naive(NULL, NULL, db1, dy, x, g, m1, r1, NULL, 0.0f, N, C);
	layernorm_backward(NULL, NULL, db2, dy, x, g, m2, r2, N, C);
	same("layernorm_backward db alone", C, db2, db1);

	layernorm_forward_naive(o1, m1, r1, x, g, b, mk, 0.3f, N, C);
	lndrop_forward(o2, m2, r2, x, NULL, g, b, mk, 0.3f, N, C);
	same("lndrop_forward", n, o2, o1);
	layernorm_backward_naive(NULL, dg1, db1, dy, x, g, m1, r1, mk, 0.3f, N, C);
	lndrop_backward(NULL, dg2, db2, dy, x, NULL, g, m2, r2, mk, 0.3f, N, C);
	same("lndrop_backward dg", C, dg2, dg1);
	same("lndrop_backward db", C, db2, db1);

	/* linear_backward's bias gradient: db += sum over rows of dout */
	for (int i = 0; i < N; i++)
		for (int j = 0; j < C; j++)
			db1[j] += dy[(size_t)i * C + j];
	linear_backward(NULL, NULL, db2, dy, x, g, N, 1, C);
	same("linear_backward db", C, db2, db1);

	/* position embedding: N = B*T rows with T = 1 of a table of N rows */
	for (size_t i = 0; i < n; i++)
		o1[i] = x[i] + b[i % C];
	memcpy(o2, x, n * sizeof(*o2));
	posemb_forward(o2, o2, b, N, 1, C);
	same("posemb_forward in place", n, o2, o1);
	for (size_t i = 0; i < n; i++) {
		dx1[i] += dy[i];
		dg1[i % C] += dy[i];
	}
	posemb_backward(dx2, dg2, dy, N, 1, C);
	same("posemb_backward dinp", n, dx2, dx1);
	same("posemb_backward dpos", C, dg2, dg1);

	/* l2norm */
	for (int i = 0; i < N; i++) {
		const float *xr = x + (size_t)i * C;
		float nr = sqrtf(dot8_naive(xr, xr, C)), inv;

		nr = nr > 1e-12f ? nr : 1e-12f;
		inv = 1.0f / nr;
		for (int j = 0; j < C; j++)
			o1[(size_t)i * C + j] = xr[j] * inv;
		nr1[i] = nr;
	}
	l2norm_forward(o2, nr2, x, N, C);
	same("l2norm_forward", n, o2, o1);
	for (int i = 0; i < N; i++) {
		const float *y = o1 + (size_t)i * C, *d = dy + (size_t)i * C;
		float yd = dot8_naive(y, d, C), inv = 1.0f / nr1[i];

		for (int j = 0; j < C; j++)
			dx1[(size_t)i * C + j] += (d[j] - y[j] * yd) * inv;
	}
	l2norm_backward(dx2, dy, o2, nr2, N, C);
	same("l2norm_backward", n, dx2, dx1);

	/* attention pooling backward over one sequence of N tokens */
	{
		float *a = randv(N, 0, 1), *w = randv(C, -1, 1), *dz = efloats(N), sg = 0.0f;
		int len = N;

		for (int t = 0; t < N; t++) {
			dz[t] = dot8_naive(dy, x + (size_t)t * C, C);
			sg += a[t] * dz[t];
		}
		for (int t = 0; t < N; t++) {
			float z = a[t] * (dz[t] - sg);
			for (int j = 0; j < C; j++) {
				dx1[(size_t)t * C + j] += a[t] * dy[j] + z * w[j];
				dg1[j] += z * x[(size_t)t * C + j];
			}
		}
		attnpool_backward(dx2, dg2, dy, a, x, w, &len, 1, N, C);
		same("attnpool_backward dinp", n, dx2, dx1);
		same("attnpool_backward dw", C, dg2, dg1);
		free(a); free(w); free(dz);
	}
	free(x); free(g); free(b); free(dy); free(o1); free(o2); free(m1); free(r1); free(m2);
	free(r2); free(dx1); free(dx2); free(dg1); free(dg2); free(db1); free(db2); free(nr1);
	free(nr2); free(mk);
}

static void
check_attention(int B, int T, int D, int NH)
{
	size_t n = (size_t)B * T * D, np = (size_t)B * NH * T * T;
	float *q = randv(n, -1, 1), *k = randv(n, -1, 1), *v = randv(n, -1, 1);
	float *dout = randv(n, -1, 1), *o1 = efloats(n), *o2 = efloats(n);
	float *p1 = efloats(np), *p2 = efloats(np);
	float *dq1 = randv(n, -1, 1), *dk1 = randv(n, -1, 1), *dv1 = randv(n, -1, 1);
	float *dq2 = copyv(dq1, n), *dk2 = copyv(dk1, n), *dv2 = copyv(dv1, n);
	int *len = emalloc(B * sizeof(*len));

	for (int b = 0; b < B; b++)
		len[b] = 1 + (int)rng_below(&rng, T);
	attention_naive(o1, p1, dq1, dk1, dv1, dout, q, k, v, len, B, T, D, NH);
	attention_forward(o2, p2, NULL, q, k, v, NULL, len, B, T, D, NH, 0.0f);
	attention_backward(dq2, dk2, dv2, dout, q, k, v, p2, NULL, NULL, len, B, T, D, NH, 0.0f);
	same("attention probs", np, p2, p1);
	same("attention out", n, o2, o1);
	same("attention dq", n, dq2, dq1);
	same("attention dk", n, dk2, dk1);
	same("attention dv", n, dv2, dv1);
	free(q); free(k); free(v); free(dout); free(o1); free(o2); free(p1); free(p2);
	free(dq1); free(dk1); free(dv1); free(dq2); free(dk2); free(dv2); free(len);
}

int
main(void)
{
	static const int sizes[] = {1, 5, 8, 13, 64, 3075};
	static const int nthreads[] = {1, 3};

	argv0 = "test_kernels";
	rng_seed(&rng, 7);
	for (size_t t = 0; t < sizeof(nthreads) / sizeof(nthreads[0]); t++) {
		threads_set(nthreads[t]);
		printf("# %d threads\n", nthreads[t]);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			check_elementwise((size_t)sizes[i]);
			check_rows(3, sizes[i]);
		}
		check_elementwise(100003);
		check_rows(41, 3075);
		check_rows(200, 384);
		check_attention(2, 13, 12, 3);
		check_attention(2, 16, 8, 2);
		check_attention(5, 30, 24, 4);
		check_attention(8, 64, 32, 4);  /* over the size at which (video, head) pairs go parallel */
	}
	/* 2: OpenMP (0 sequential, 1 pthreads) */
	if (openblas_get_parallel() == 2) {
		printf("OK OpenBLAS is the OpenMP build\n");
	} else {
		printf("NOT OK OpenBLAS is not the OpenMP build (openblas_get_parallel %d)\n",
		       openblas_get_parallel());
		allok = 0;
	}
	return allok ? 0 : 1;
}
