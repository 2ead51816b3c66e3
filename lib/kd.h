/* kd: the registry of distillation kinds, one row each (KD_KINDS below): the words that name it
 * on distill-step's command line and in a checkpoint's config (--kd ON --kd-loss LOSS, keys
 * "kd" and "kd_loss"), what it distils (the student's frame similarities against the teacher's
 * tau, or its frame embeddings projected to the teacher's dim against the teacher's frames),
 * its forward/backward function (lib/loss.h), and its help line. model_loss dispatches through
 * it; distill-step parses, prints and checks through it; ckpt stores its words.
 * Not here: the losses' numerics (loss), the weight schedule (schedule). */
#ifndef KD_H
#define KD_H

#include <stdio.h>

/* what a kind distils; the first word of its name (--kd) */
enum { KD_ON_SIM = 0, KD_ON_FEAT, NKD_ON };

/* X(ID, on, loss word, similarity function, feature function, help): adding a kind is one row
 * here and its function in lib/loss.c; the function goes in the column of what it distils
 * (similarity: (dS, scale, S, tau, len, Nq, L, temp), feature: (dz, scale, z, t, vlen, B, L, E),
 * as in lib/loss.h), the other column is NULL. */
#define KD_KINDS(X) \
	X(SIM_KL,   KD_ON_SIM,  "kl",  kd_sim_kl,    NULL, \
	  "KL(softmax(tau/T) || softmax(S/T)) over the frames of the query's video") \
	X(SIM_MSE,  KD_ON_SIM,  "mse", kd_sim_mse_t, NULL, \
	  "mean squared difference of S and tau over those frames") \
	X(FEAT_KL,  KD_ON_FEAT, "kl",  NULL, kd_feat_kl, \
	  "per frame KL(softmax(teacher) || softmax(projected student frame))") \
	X(FEAT_MSE, KD_ON_FEAT, "mse", NULL, kd_feat_mse, \
	  "per video mean squared error of projected student and teacher frames")

#define KD_ENUM(id, on, loss, sim, feat, help) KD_##id,
enum { KD_NONE = 0, KD_KINDS(KD_ENUM) NKD };
#undef KD_ENUM

typedef float (*KdSimFn)(float *dS, float scale, const float *S, const float *tau,
                         const int *len, int Nq, int L, float temp);
typedef float (*KdFeatFn)(float *dz, float scale, const float *z, const float *t,
                          const int *vlen, int B, int L, int E);

typedef struct {
	int on;                    /* KD_ON_*: what is distilled, which teacher input it needs */
	const char *loss;          /* the --kd-loss word */
	KdSimFn sim;               /* KD_ON_SIM kinds */
	KdFeatFn feat;             /* KD_ON_FEAT kinds */
	const char *help;
} KdKind;

/* indexed by KD_*; row KD_NONE is empty */
extern const KdKind kd_kinds[NKD];

/* the --kd word of what ("sim", "feat"), and back (-1 unknown) */
const char *kd_on_name(int on);
int  kd_on_parse(const char *s);
/* 1 when some kind has this --kd-loss word */
int  kd_loss_valid(const char *s);
/* the kind of an on / loss pair: KD_*, or KD_NONE when no kind has that pair */
int  kd_find(int on, const char *loss);
/* one help line per kind */
void kd_help(FILE *f);

#endif
