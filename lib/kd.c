/* kd: the registry of distillation kinds; see kd.h. */
#include <string.h>

#include "kd.h"
#include "loss.h"

static const char *on_name[NKD_ON] = { "sim", "feat" };

/* similarity MSE has no temperature; the registry gives every similarity kind one signature */
static float
kd_sim_mse_t(float *dS, float scale, const float *S, const float *tau, const int *len, int Nq,
             int L, float temp)
{
	return kd_sim_mse(dS, scale, S, tau, len, Nq, L);
}

#define KD_ROW(id, o, l, s, f, h) [KD_##id] = { o, l, s, f, h },
const KdKind kd_kinds[NKD] = { KD_KINDS(KD_ROW) };

const char *
kd_on_name(int on)
{
	return on >= 0 && on < NKD_ON ? on_name[on] : "?";
}

int
kd_on_parse(const char *s)
{
	for (int i = 0; i < NKD_ON; i++)
		if (strcmp(s, on_name[i]) == 0)
			return i;
	return -1;
}

int
kd_loss_valid(const char *s)
{
	for (int k = 1; k < NKD; k++)
		if (strcmp(s, kd_kinds[k].loss) == 0)
			return 1;
	return 0;
}

int
kd_find(int on, const char *loss)
{
	for (int k = 1; k < NKD; k++)
		if (kd_kinds[k].on == on && strcmp(kd_kinds[k].loss, loss) == 0)
			return k;
	return KD_NONE;
}

void
kd_help(FILE *f)
{
	for (int k = 1; k < NKD; k++)
		fprintf(f, "  --kd %-4s --kd-loss %-4s %s\n", on_name[kd_kinds[k].on], kd_kinds[k].loss,
		        kd_kinds[k].help);
}
