/* schedule: learning-rate and distillation-weight schedules; see schedule.h.
 * reference: pytorch_pretrained_bert/optimization.py (warmup_linear, BertAdam.step: the schedule
 * is evaluated at state['step'] / t_total before state['step'] is incremented). */
#include <math.h>
#include <string.h>

#include "schedule.h"
#include "util.h"

double
lr_at_step(double base_lr, long step, long total_steps, double warmup_frac)
{
	double x, w = warmup_frac, f;

	CHECK(total_steps >= 1 && step >= 0);
	CHECK(w > 0 && w < 1);
	x = (double)step / (double)total_steps;
	f = x < w ? x / w : MAX((x - 1.0) / (w - 1.0), 0.0);
	return base_lr * f;
}

double
kd_rho_at_epoch(int schedule, int e, double k, double b)
{
	switch (schedule) {
	case SCHED_NONE:    return 0.0;
	case SCHED_FIXED:   return 1.0;
	case SCHED_LINEAR:  return MAX(k * e + b, 0.05);
	case SCHED_EXP:     return pow(k, e);
	case SCHED_SIGMOID: return k / (k + exp(100.0 * e / k));
	}
	die("kd schedule %d: unknown", schedule);
}

double
kd_weight_at_epoch(int schedule, int e, double lambda, double w0, double k, double b)
{
	return lambda * kd_rho_at_epoch(schedule, e, k, b) + w0;
}

/* the floors as released: 0 never binds (rho > 0), 0.5 from epoch 50 on */
double
softnce_alpha_at_epoch(int e)
{
	return MAX(0.8 * kd_rho_at_epoch(SCHED_SIGMOID, e, 800.0, 0.0), 0.0);
}

double
softnce_beta_at_epoch(int e)
{
	return MAX(0.8 * kd_rho_at_epoch(SCHED_SIGMOID, e, 800.0, 0.0), 0.5);
}

static const char *names[] = { "none", "fixed", "linear", "exp", "sigmoid" };

int
sched_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
sched_name(int schedule)
{
	CHECK(schedule >= 0 && schedule < (int)(sizeof(names) / sizeof(names[0])));
	return names[schedule];
}

double
sched_default_k(int schedule)
{
	switch (schedule) {
	case SCHED_LINEAR:  return -0.01;
	case SCHED_EXP:     return 0.95;
	case SCHED_SIGMOID: return 800.0;
	}
	return 0.0;
}

double
sched_default_b(int schedule)
{
	return schedule == SCHED_LINEAR ? 1.0 : 0.0;
}
