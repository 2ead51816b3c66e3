/* stepshape: the step the benchmarks time; see stepshape.h. */
#include "stepshape.h"

const StepPreset step_presets[STEP_NPRESETS] = {
	[STEP_TVR] = {"tvr", 3072, 768, 640},                 /* 5 queries per video */
	[STEP_ACTIVITYNET] = {"activitynet", 1024, 1024, 480}, /* ~3.7 queries per video */
};

void
step_config(const StepPreset *p, ModelConfig *c, LossConfig *lc)
{
	c->dv = p->dv, c->dt = p->dt, c->D = 384, c->NH = 4;
	c->max_frames = STEP_L, c->max_tokens = STEP_T;
	c->has_branch[BR_INH] = c->has_branch[BR_EXP] = 1;
	c->dropout = 0.1f;
	lc->margin = 0.1f, lc->nce_weight = 0.04f, lc->hard_pool = 20, lc->hard_negatives = 1;
	lc->kd = KD_SIM_KL, lc->kd_temp = 0.2f, lc->kd_weight = 0.1f, lc->kd_branch[BR_INH] = 1;
	lc->train = 1;
}

void
step_fill(const StepPreset *p, int *vlen, int *qlen, int *qvid, float *tau, Rng *r)
{
	for (int i = 0; i < p->Nq * STEP_L; i++)
		tau[i] = rng_uniform(r) * 0.4f;
	for (int b = 0; b < STEP_B; b++)
		vlen[b] = STEP_L;
	for (int q = 0; q < p->Nq; q++) {
		qlen[q] = STEP_T;
		qvid[q] = q % STEP_B;
	}
}
