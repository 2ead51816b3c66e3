/* adam: the optimiser of DL-DKD, Adam in its BERT form (pytorch_pretrained_bert's BertAdam):
 * each parameter tensor's gradient clipped to L2 norm max_grad_norm on its own, moments without
 * bias correction, decoupled weight decay added to the update of tensors marked `decay`.
 * One loop over the model's tensors (model_tensor()); the learning rate of the step comes from
 * the caller (sched: lr_at_step). Not here: schedules, zeroing gradients, checkpointing. */
#ifndef ADAM_H
#define ADAM_H

#include <stddef.h>

#include "model.h"

typedef struct {
	/* double, as the Python floats of the reference: 1 - beta is formed in double and then
	 * rounded to float once, as torch does when it applies a Python scalar to a float tensor */
	double beta1, beta2;       /* 0.9, 0.999 */
	double eps;                /* 1e-6, added to sqrt(v) */
	double weight_decay;       /* 0.01, decoupled: update += wd * w for decay tensors */
	double max_grad_norm;      /* 1.0 per tensor; <= 0 disables clipping */
} AdamConfig;

void adam_defaults(AdamConfig *c);

/* One tensor of n floats: g is clipped in place as torch.nn.utils.clip_grad_norm_ does
 * (g *= max_norm / (|g| + 1e-6) when that factor is < 1), then
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   w -= lr * (m / (sqrt(v) + eps) + (decay ? wd * w : 0)) */
void adam_update(float *w, float *g, float *m, float *v, size_t n, int decay, float lr,
                 const AdamConfig *c);

/* adam_update over every tensor of the model */
void adam_step(Model *model, float lr, const AdamConfig *c);

#endif
