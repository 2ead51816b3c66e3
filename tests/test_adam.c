/* test_adam: one BertAdam tensor update against values worked out by hand, then several steps
 * with and without clipping and weight decay against an independent double-precision reference
 * of pytorch_pretrained_bert's BertAdam.step (clip_grad_norm_ per tensor, no bias correction). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adam.h"
#include "rng.h"

static int failures;

static void
expect(const char *what, double got, double want, double tol)
{
	int ok = fabs(got - want) <= tol;

	printf("%s %s: got %.9g want %.9g\n", ok ? "OK" : "NOT OK", what, got, want);
	failures += !ok;
}

/* reference, in double: torch.nn.utils.clip_grad_norm_ then BertAdam's update */
static void
ref_update(double *w, double *g, double *m, double *v, int n, int decay, double lr)
{
	double ss = 0, coef;

	for (int i = 0; i < n; i++)
		ss += g[i] * g[i];
	coef = 1.0 / (sqrt(ss) + 1e-6);
	if (coef < 1)
		for (int i = 0; i < n; i++)
			g[i] *= coef;
	for (int i = 0; i < n; i++) {
		m[i] = 0.9 * m[i] + 0.1 * g[i];
		v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
		w[i] -= lr * (m[i] / (sqrt(v[i]) + 1e-6) + (decay ? 0.01 * w[i] : 0));
	}
}

int
main(void)
{
	AdamConfig c;
	float w[2], g[2], m[2], v[2];
	Rng rng;

	adam_defaults(&c);
	expect("beta1", c.beta1, 0.9, 0);
	expect("beta2", c.beta2, 0.999, 0);
	expect("eps", c.eps, 1e-6, 0);
	expect("weight decay", c.weight_decay, 0.01, 0);
	expect("max grad norm", c.max_grad_norm, 1.0, 0);

	/* by hand: g = +-0.5 (norm 0.707 < 1: no clipping), m = 0.05, v = 0.00025,
	 * m / (sqrt(v) + 1e-6) = 0.05 / 0.0158123883 = 3.16207767; lr 0.01.
	 * decay: w = 1 - 0.01 (3.16207767 + 0.01) = 0.968279223; w = -1 + 0.01 (3.16207767 + 0.01) */
	w[0] = 1; w[1] = -1; g[0] = 0.5f; g[1] = -0.5f;
	memset(m, 0, sizeof(m));
	memset(v, 0, sizeof(v));
	adam_update(w, g, m, v, 2, 1, 0.01f, &c);
	expect("hand decay w0", w[0], 0.968279223, 1e-6);
	expect("hand decay w1", w[1], -0.968279223, 1e-6);
	expect("hand m", m[0], 0.05, 1e-8);
	expect("hand v", v[1], 0.00025, 1e-10);
	w[0] = 1; w[1] = -1; g[0] = 0.5f; g[1] = -0.5f;
	memset(m, 0, sizeof(m));
	memset(v, 0, sizeof(v));
	adam_update(w, g, m, v, 2, 0, 0.01f, &c);
	expect("hand no-decay w0", w[0], 1 - 0.0316207767, 1e-6);
	/* by hand: g = (3, 4), norm 5: clipped to (3, 4) / (5 + 1e-6), so m = 0.1 * (0.6, 0.8) */
	w[0] = 0; w[1] = 0; g[0] = 3; g[1] = 4;
	memset(m, 0, sizeof(m));
	memset(v, 0, sizeof(v));
	adam_update(w, g, m, v, 2, 0, 0.01f, &c);
	expect("hand clip m0", m[0], 0.06, 1e-7);
	expect("hand clip m1", m[1], 0.08, 1e-7);
	expect("hand clip g", g[1], 0.8, 1e-6);

	/* several steps against the reference: a big gradient (clipped), a small one (not) */
	rng_seed(&rng, 7);
	for (int decay = 0; decay < 2; decay++) {
		enum { N = 37, STEPS = 6 };
		float fw[N], fg[N], fm[N] = { 0 }, fv[N] = { 0 };
		double dw[N], dg[N], dm[N] = { 0 }, dv[N] = { 0 }, maxerr = 0;
		for (int i = 0; i < N; i++)
			dw[i] = fw[i] = rng_normal(&rng);
		for (int s = 0; s < STEPS; s++) {
			float scale = s % 2 ? 0.01f : 3.0f;
			for (int i = 0; i < N; i++)
				dg[i] = fg[i] = scale * rng_normal(&rng);
			adam_update(fw, fg, fm, fv, N, decay, 2.5e-2f, &c);
			ref_update(dw, dg, dm, dv, N, decay, 2.5e-2);
		}
		for (int i = 0; i < N; i++)
			maxerr = fmax(maxerr, fabs(fw[i] - dw[i]) + fabs(fm[i] - dm[i]) +
			                      fabs(fv[i] - dv[i]));
		expect(decay ? "6 steps vs reference, decay" : "6 steps vs reference", maxerr, 0, 2e-6);
	}
	return failures ? 1 : 0;
}
