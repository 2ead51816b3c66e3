/* adam: BertAdam over the model's parameter tensors; see adam.h.
 * reference: pytorch_pretrained_bert/optimization.py, BertAdam.step (clip_grad_norm_ per
 * parameter, next_m/next_v without bias correction, update += weight_decay * p). */
#include <math.h>
#include <stdlib.h>

#include "adam.h"
#include "util.h"

void
adam_defaults(AdamConfig *c)
{
	c->beta1 = 0.9;
	c->beta2 = 0.999;
	c->eps = 1e-6;
	c->weight_decay = 0.01;
	c->max_grad_norm = 1.0;
}

/* torch's clip_grad_norm_ factor of one tensor: max_norm / (|g| + 1e-6), 1 when that is >= 1 or
 * clipping is off; the squares are summed in double, in order */
static float
clip_coef(const float *g, size_t n, const AdamConfig *c)
{
	double ss = 0;
	float coef;

	if (c->max_grad_norm <= 0)
		return 1.0f;
	for (size_t i = 0; i < n; i++)
		ss += (double)g[i] * g[i];
	coef = (float)(c->max_grad_norm / (sqrt(ss) + 1e-6));
	return coef < 1.0f ? coef : 1.0f;
}

/* the update of one tensor with its gradient scaled by coef (when < 1), elements over the pool */
static void
update(float *w, float *g, float *m, float *v, size_t n, int decay, float lr, float coef,
       const AdamConfig *c)
{
	float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
	float a1 = (float)(1.0 - c->beta1), a2 = (float)(1.0 - c->beta2);
	float wd = (float)c->weight_decay;
	int clip = coef < 1.0f;

#pragma omp parallel for schedule(static) if (n >= 32768)
	for (size_t i = 0; i < n; i++) {
		float u;
		if (clip)
			g[i] *= coef;
		m[i] = b1 * m[i] + a1 * g[i];
		v[i] = b2 * v[i] + a2 * g[i] * g[i];
		u = m[i] / (sqrtf(v[i]) + eps);
		if (decay)
			u += wd * w[i];
		w[i] -= lr * u;
	}
}

void
adam_update(float *w, float *g, float *m, float *v, size_t n, int decay, float lr,
            const AdamConfig *c)
{
	update(w, g, m, v, n, decay, lr, clip_coef(g, n, c), c);
}

void
adam_step(Model *model, float lr, const AdamConfig *c)
{
	int nt = model_num_tensors(model);
	float *coef = efloats((size_t)nt);

	/* each tensor's norm is summed by one thread (its serial order, at any thread count); the
	 * tensors differ in size by 10^3, hence dynamic: which thread takes one changes nothing */
#pragma omp parallel for schedule(dynamic, 1) if (model_num_params(model) >= 32768)
	for (int i = 0; i < nt; i++) {
		ParamInfo p = model_tensor(model, i);
		coef[i] = clip_coef(p.g, p.n, c);
	}
	for (int i = 0; i < nt; i++) {
		ParamInfo p = model_tensor(model, i);
		update(p.w, p.g, p.m, p.v, p.n, p.decay, lr, coef[i], c);
	}
	free(coef);
}
