/* softnce: the soft-target InfoNCE of DL-DKD++ and the teacher's batch scores; see softnce.h.
 * Every row (text->video) and column (video->text) is one "line" of n values at a stride, so
 * the two directions share one loop. Softmaxes and log-sums subtract their line's max. */
#include <math.h>
#include <stdlib.h>

#include "layers.h"
#include "softnce.h"
#include "util.h"

#define NCE_EPS 1e-12 /* inside the video->text log, as the released code */

/* log sum_i e^x[i*st] over n >= 1 values */
static double
lse(const float *x, size_t st, int n)
{
	double mx = x[0], z = 0.0;

	for (int i = 1; i < n; i++)
		mx = MAX(mx, (double)x[i * st]);
	for (int i = 0; i < n; i++)
		z += exp(x[i * st] - mx);
	return mx + log(z);
}

/* log(e^a + e^b) */
static double
logaddexp(double a, double b)
{
	return MAX(a, b) + log1p(exp(-fabs(a - b)));
}

/* One line of n scores s[i*st] with soft source m[i*st] and ground truth g (n, 0 or 1): its
 * loss, t2v (v2t = 0) or v2t, with the hard target g or the soft one. Accumulates w * dl/ds
 * into ds and, for a soft target, w * dl/dm into dm (each when not NULL). y: n doubles of work. */
static double
line(float *ds, float *dm, double w, const float *s, const float *m, size_t st, int n,
     const double *g, int soft, double beta, int v2t, double *y)
{
	double ls = lse(s, st, n), lm = soft ? lse(m, st, n) : 0.0, lt = 0.0, l = 0.0;
	double gp = 0.0;

	for (int i = 0; i < n; i++)
		y[i] = soft ? (1.0 - beta) * exp(m[i * st] - lm) + beta * g[i] : g[i];
	if (v2t) {
		/* lt = log(sum_i y_i e^s_i + eps), shifted by the max of s where y > 0 (y may sit on
		 * scores far below the line's max) */
		double mx = -HUGE_VAL, z = 0.0;

		for (int i = 0; i < n; i++)
			if (y[i] > 0.0)
				mx = MAX(mx, (double)s[i * st]);
		for (int i = 0; i < n; i++)
			if (y[i] > 0.0)
				z += y[i] * exp(s[i * st] - mx);
		lt = z > 0.0 ? logaddexp(mx + log(z), log(NCE_EPS)) : log(NCE_EPS);
		l = ls - lt;
	} else {
		for (int i = 0; i < n; i++)
			l += y[i] * (ls - s[i * st]);
	}
	/* a t2v row's y sums to 1 (a query has one own video), so d/ds of its loss is
	 * softmax(s) - y */
	if (ds)
		for (int i = 0; i < n; i++) {
			double x = s[i * st];

			ds[i * st] += (float)(w * (v2t ? exp(x - ls) - y[i] * exp(x - lt) :
			                                 exp(x - ls) - y[i]));
		}
	if (dm && soft && beta < 1.0) {
		/* with p = softmax(m) and t_i = p_i dl/dy_i: dl/dm_i = (1 - beta) (t_i - p_i sum_j t_j);
		 * v2t's dl/dy_i = -e^s_i / (sum y e^s + eps), so t_i in one exp cannot overflow */
		for (int i = 0; i < n; i++) {
			double x = s[i * st], lp = m[i * st] - lm;

			y[i] = v2t ? -exp(x + lp - lt) : exp(lp) * (ls - x);
			gp += y[i];
		}
		for (int i = 0; i < n; i++)
			dm[i * st] += (float)(w * (1.0 - beta) * (y[i] - exp(m[i * st] - lm) * gp));
	}
	return l;
}

float
softnce(float *dS, float *dM, float scale, const float *S, const float *M, const int *qvid,
        int Nq, int B, double alpha, double beta)
{
	int nh, bh;
	double *g, *y, sum = 0.0;

	CHECK(Nq >= 1 && B >= 1);
	CHECK(alpha >= 0.0 && alpha <= 1.0 && beta >= 0.0 && beta <= 1.0);
	nh = (int)floor(alpha * Nq);
	bh = (int)floor(alpha * B);
	g = emalloc((size_t)MAX(Nq, B) * sizeof(*g));
	y = emalloc((size_t)MAX(Nq, B) * sizeof(*y));
	for (int q = 0; q < Nq; q++) {
		size_t o = (size_t)q * B;
		int hard = q < nh;
		double w = hard ? alpha / nh : (1.0 - alpha) / (Nq - nh);

		for (int v = 0; v < B; v++)
			g[v] = v == qvid[q];
		sum += w * line(dS ? dS + o : NULL, dM ? dM + o : NULL, scale * w, S + o, M + o, 1, B,
		                g, !hard, beta, 0, y);
	}
	for (int v = 0; v < B; v++) {
		int hard = v < bh;
		double w = hard ? alpha / bh : (1.0 - alpha) / (B - bh);

		for (int q = 0; q < Nq; q++)
			g[q] = qvid[q] == v;
		sum += w * line(dS ? dS + v : NULL, dM ? dM + v : NULL, scale * w, S + v, M + v,
		                (size_t)B, Nq, g, !hard, beta, 1, y);
	}
	free(g);
	free(y);
	return (float)sum;
}

void
teacher_scores(float *s, const float *c, const float *C, const int *vlen, int Nq, int B, int L,
               int E)
{
	float *F = efloats((size_t)Nq * B * L);
	int *arg = emalloc((size_t)Nq * B * sizeof(*arg));

	framesim_forward(F, c, C, Nq, B * L, E);
	framemax_forward(s, arg, F, vlen, Nq, B, L);
	free(F);
	free(arg);
}
