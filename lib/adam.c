/* adam: BertAdam over the model's parameter tensors; see adam.h.
 * reference: pytorch_pretrained_bert/optimization.py, BertAdam.step (clip_grad_norm_ per
 * parameter, next_m/next_v without bias correction, update += weight_decay * p). */
#include <math.h>

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

void
adam_update(float *w, float *g, float *m, float *v, size_t n, int decay, float lr,
            const AdamConfig *c)
{
	float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
	float a1 = (float)(1.0 - c->beta1), a2 = (float)(1.0 - c->beta2);
	float wd = (float)c->weight_decay;

	if (c->max_grad_norm > 0) {
		double ss = 0;
		float coef;
		for (size_t i = 0; i < n; i++)
			ss += (double)g[i] * g[i];
		/* torch: clip_coef = max_norm / (total_norm + 1e-6), applied when < 1 */
		coef = (float)(c->max_grad_norm / (sqrt(ss) + 1e-6));
		if (coef < 1.0f)
			for (size_t i = 0; i < n; i++)
				g[i] *= coef;
	}
	for (size_t i = 0; i < n; i++) {
		float u;
		m[i] = b1 * m[i] + a1 * g[i];
		v[i] = b2 * v[i] + a2 * g[i] * g[i];
		u = m[i] / (sqrtf(v[i]) + eps);
		if (decay)
			u += wd * w[i];
		w[i] -= lr * u;
	}
}

void
adam_step(Model *model, float lr, const AdamConfig *c)
{
	int nt = model_num_tensors(model);

	for (int i = 0; i < nt; i++) {
		ParamInfo p = model_tensor(model, i);
		adam_update(p.w, p.g, p.m, p.v, p.n, p.decay, lr, c);
	}
}
