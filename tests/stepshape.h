/* stepshape: the training step the benchmarks time (tests/bench_step.c, and mpi/bench_mpi.c under
 * mpirun): the TVR or ActivityNet Captions batch shape (B = 128 videos of L = 128 frames, all
 * valid: the worst case; Nq queries of T = 30 tokens), the model and loss (both branches,
 * similarity-KL distillation on the inheritance branch, dropout 0.1, hard negatives), and the
 * batch's lengths, query owners and teacher similarities. Linked into the test and benchmark
 * programs (not into libprvr: no tool uses it). Not here: the features (each benchmark fills
 * its own), the timing. */
#ifndef STEPSHAPE_H
#define STEPSHAPE_H

#include "model.h"
#include "rng.h"

enum { STEP_B = 128, STEP_L = 128, STEP_T = 30 };

typedef struct {
	const char *name;
	int dv, dt, Nq;
} StepPreset;

enum { STEP_TVR, STEP_ACTIVITYNET, STEP_NPRESETS };
extern const StepPreset step_presets[STEP_NPRESETS];

/* the model and loss of the step at preset p; the rest of c and lc as given (zero) */
void step_config(const StepPreset *p, ModelConfig *c, LossConfig *lc);
/* every video STEP_L frames, every query STEP_T tokens, query q of video q % STEP_B, and tau
 * (Nq, STEP_L) uniform in [0, 0.4) from r */
void step_fill(const StepPreset *p, int *vlen, int *qlen, int *qvid, float *tau, Rng *r);

#endif
