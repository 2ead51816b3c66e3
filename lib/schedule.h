/* schedule: the two schedules of a DL-DKD run (doc/method.md, "Optimisation", "Losses"):
 * the learning rate of each optimiser step (BERT's linear warm-up then linear decay, as
 * pytorch_pretrained_bert's BertAdam with schedule "warmup_linear") and the distillation weight
 * w(e) = lambda * rho(e) + w0 of each epoch. Pure functions of their arguments.
 * Not here: the optimiser itself (adam), when an epoch starts (distill-step).
 * This is the "sched" module of doc/design.md; it is not called sched.h because -Ilib would make
 * it shadow the system <sched.h>, which OpenBLAS's headers include. */
#ifndef SCHEDULE_H
#define SCHEDULE_H

enum { SCHED_NONE = 0, SCHED_FIXED, SCHED_LINEAR, SCHED_EXP, SCHED_SIGMOID };

/* lr of the update that follows `step` updates already done (the first update has step 0):
 * x = step / total_steps; base_lr * (x < w ? x / w : max((x - 1) / (w - 1), 0)), w = warmup_frac.
 * total_steps >= 1, 0 < warmup_frac < 1. */
double lr_at_step(double base_lr, long step, long total_steps, double warmup_frac);

/* rho(e) of the schedule at 0-based epoch e:
 *   SCHED_NONE 0, SCHED_FIXED 1, SCHED_LINEAR max(k e + b, 0.05), SCHED_EXP k^e,
 *   SCHED_SIGMOID k / (k + exp(100 e / k)) */
double kd_rho_at_epoch(int schedule, int e, double k, double b);
/* w(e) = lambda * rho(e) + w0 */
double kd_weight_at_epoch(int schedule, int e, double lambda, double w0, double k, double b);

/* "none" "fixed" "linear" "exp" "sigmoid" <-> SCHED_*; parse returns -1 for an unknown name */
int         sched_parse(const char *name);
const char *sched_name(int schedule);
/* the method's default k (and b) of a schedule: exp 0.95, linear -0.01 (b 1), sigmoid 800 */
double      sched_default_k(int schedule);
double      sched_default_b(int schedule);

#endif
