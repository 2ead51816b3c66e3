/* loss: forward values and gradients of the DL-DKD losses; see loss.h. */
#include <math.h>
#include <stdlib.h>

#include "loss.h"
#include "util.h"

/* ---- triplet ranking */

void
triplet_t2v_sample(int *neg, const float *s, const int *qvid, int Nq, int B, int hard, int pool,
                   Rng *rng)
{
	int P = MIN(pool, B - 1), *top = NULL;

	if (B < 2) {
		for (int q = 0; q < Nq; q++)
			neg[q] = -1;
		return;
	}
	if (hard) {
		CHECK(pool >= 1);
		top = emalloc((size_t)P * sizeof(*top));
	}
	for (int q = 0; q < Nq; q++) {
		const float *row = s + (size_t)q * B;
		int own = qvid[q], n = 0;

		if (!hard) {
			int r = (int)rng_below(rng, (uint32_t)(B - 1));
			neg[q] = r >= own ? r + 1 : r;
			continue;
		}
		/* top P other videos, best first, by insertion (strict > keeps lower index first) */
		for (int v = 0; v < B; v++) {
			int i;

			if (v == own || (n == P && !(row[v] > row[top[P - 1]])))
				continue;
			i = n < P ? n++ : P - 1;
			for (; i > 0 && row[v] > row[top[i - 1]]; i--)
				top[i] = top[i - 1];
			top[i] = v;
		}
		neg[q] = top[rng_below(rng, (uint32_t)P)];
	}
	free(top);
}

float
triplet_t2v(float *ds, float scale, const float *s, const int *qvid, const int *neg, int Nq,
            int B, float margin)
{
	double sum = 0.0;

	for (int q = 0; q < Nq; q++) {
		const float *row = s + (size_t)q * B;
		float h;

		if (neg[q] < 0)
			continue;
		h = margin + row[neg[q]] - row[qvid[q]];
		if (h > 0.0f) {
			sum += h;
			if (ds) {
				ds[(size_t)q * B + neg[q]] += scale / Nq;
				ds[(size_t)q * B + qvid[q]] -= scale / Nq;
			}
		}
	}
	return (float)(sum / Nq);
}

void
triplet_v2t_sample(int *neg, const float *s, const int *qvid, int Nq, int B, int hard, Rng *rng)
{
	for (int v = 0; v < B; v++) {
		int best = -1, n = 0;

		for (int q = 0; q < Nq; q++) {
			if (qvid[q] == v)
				continue;
			n++;
			if (hard && (best < 0 || s[(size_t)q * B + v] > s[(size_t)best * B + v]))
				best = q;
		}
		if (!hard && n > 0) {
			int k = (int)rng_below(rng, (uint32_t)n);
			for (int q = 0; q < Nq; q++)
				if (qvid[q] != v && k-- == 0) {
					best = q;
					break;
				}
		}
		neg[v] = best;
	}
}

float
triplet_v2t(float *ds, float scale, const float *s, const int *qvid, const int *neg, int Nq,
            int B, float margin)
{
	double sum = 0.0;
	float *pos = ecalloc(B, sizeof(*pos));
	int *cnt = ecalloc(B, sizeof(*cnt));

	for (int q = 0; q < Nq; q++) {
		pos[qvid[q]] += s[(size_t)q * B + qvid[q]];
		cnt[qvid[q]]++;
	}
	for (int v = 0; v < B; v++) {
		float h;

		CHECK(cnt[v] > 0);
		if (neg[v] < 0)
			continue;
		h = margin + s[(size_t)neg[v] * B + v] - pos[v] / cnt[v];
		if (h <= 0.0f)
			continue;
		sum += h;
		if (!ds)
			continue;
		ds[(size_t)neg[v] * B + v] += scale / B;
		for (int q = 0; q < Nq; q++)
			if (qvid[q] == v)
				ds[(size_t)q * B + v] -= scale / B / cnt[v];
	}
	free(pos);
	free(cnt);
	return (float)(sum / B);
}

/* ---- InfoNCE */

float
nce_t2v(float *du, float scale, const float *u, const int *qvid, int Nq, int B)
{
	double sum = 0.0;

	for (int q = 0; q < Nq; q++) {
		const float *row = u + (size_t)q * B;
		double mx = row[0], z = 0.0, lse;

		for (int v = 1; v < B; v++)
			mx = row[v] > mx ? row[v] : mx;
		for (int v = 0; v < B; v++)
			z += exp(row[v] - mx);
		lse = mx + log(z);
		sum += lse - row[qvid[q]];
		if (du)
			for (int v = 0; v < B; v++)
				du[(size_t)q * B + v] += scale / Nq *
				    (float)(exp(row[v] - lse) - (v == qvid[q]));
	}
	return (float)(sum / Nq);
}

float
nce_v2t(float *du, float scale, const float *u, const int *qvid, int Nq, int B)
{
	double sum = 0.0;

	for (int v = 0; v < B; v++) {
		double mx = u[v], za = 0.0, zo = 0.0, lsa, lso;

		for (int q = 1; q < Nq; q++)
			mx = u[(size_t)q * B + v] > mx ? u[(size_t)q * B + v] : mx;
		for (int q = 0; q < Nq; q++) {
			double e = exp(u[(size_t)q * B + v] - mx);
			za += e;
			if (qvid[q] == v)
				zo += e;
		}
		CHECK(zo > 0.0);
		lsa = mx + log(za);
		lso = mx + log(zo);
		sum += lsa - lso;
		if (du)
			for (int q = 0; q < Nq; q++) {
				double x = u[(size_t)q * B + v];
				du[(size_t)q * B + v] += scale / B * (float)(exp(x - lsa) -
				    (qvid[q] == v ? exp(x - lso) : 0.0));
			}
	}
	return (float)(sum / B);
}

/* ---- similarity distillation */

float
kd_sim_kl(float *dS, float scale, const float *S, const float *tau, const int *len, int Nq,
          int L, float temp)
{
	double sum = 0.0;

	for (int q = 0; q < Nq; q++) {
		const float *x = S + (size_t)q * L, *t = tau + (size_t)q * L;
		int n = len[q];
		double mx = x[0] / temp, mt = t[0] / temp, zx = 0.0, zt = 0.0, lx, lt;

		CHECK(n >= 1 && n <= L);
		for (int i = 1; i < n; i++) {
			mx = fmax(mx, x[i] / temp);
			mt = fmax(mt, t[i] / temp);
		}
		for (int i = 0; i < n; i++) {
			zx += exp(x[i] / temp - mx);
			zt += exp(t[i] / temp - mt);
		}
		lx = mx + log(zx);
		lt = mt + log(zt);
		/* KL(p || r) = sum p (log p - log r); d/dx_i = (r_i - p_i) / temp */
		for (int i = 0; i < n; i++) {
			double lp = t[i] / temp - lt, lr = x[i] / temp - lx;
			sum += exp(lp) * (lp - lr);
			if (dS)
				dS[(size_t)q * L + i] += scale * (float)((exp(lr) - exp(lp)) / temp);
		}
	}
	return (float)sum;
}

float
kd_sim_mse(float *dS, float scale, const float *S, const float *tau, const int *len, int Nq,
           int L)
{
	double sum = 0.0;

	for (int q = 0; q < Nq; q++) {
		int n = len[q];

		CHECK(n >= 1 && n <= L);
		for (int i = 0; i < n; i++) {
			double d = (double)S[(size_t)q * L + i] - tau[(size_t)q * L + i];
			sum += d * d / n;
			if (dS)
				dS[(size_t)q * L + i] += scale * (float)(2.0 * d / n);
		}
	}
	return (float)sum;
}

/* ---- feature distillation */

float
kd_feat_kl(float *dz, float scale, const float *z, const float *t, const int *vlen, int B,
           int L, int E)
{
	double sum = 0.0, w = 10.0 / B;

	for (int b = 0; b < B; b++)
		for (int f = 0; f < vlen[b]; f++) {
			const float *x = z + ((size_t)b * L + f) * E, *y = t + ((size_t)b * L + f) * E;
			double mx = x[0], my = y[0], zx = 0.0, zy = 0.0, lx, ly;

			for (int i = 1; i < E; i++) {
				mx = fmax(mx, x[i]);
				my = fmax(my, y[i]);
			}
			for (int i = 0; i < E; i++) {
				zx += exp(x[i] - mx);
				zy += exp(y[i] - my);
			}
			lx = mx + log(zx);
			ly = my + log(zy);
			for (int i = 0; i < E; i++) {
				double lp = y[i] - ly, lr = x[i] - lx;
				sum += w * exp(lp) * (lp - lr);
				if (dz)
					dz[((size_t)b * L + f) * E + i] += scale * (float)(w * (exp(lr) - exp(lp)));
			}
		}
	return (float)sum;
}

float
kd_feat_mse(float *dz, float scale, const float *z, const float *t, const int *vlen, int B,
            int L, int E)
{
	double sum = 0.0;

	/* the released reduction: one mean per video over its vlen x E elements, so a video's
	 * weight does not grow with its frame count */
	for (int b = 0; b < B; b++) {
		int n = vlen[b];
		double w = 10.0 / ((double)B * n * E);

		CHECK(n >= 1 && n <= L);
		for (size_t k = (size_t)b * L * E; k < ((size_t)b * L + n) * E; k++) {
			double d = (double)z[k] - t[k];
			sum += w * d * d;
			if (dz)
				dz[k] += scale * (float)(w * 2.0 * d);
		}
	}
	return (float)sum;
}
