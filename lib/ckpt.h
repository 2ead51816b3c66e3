/* ckpt: the training configuration of a DL-DKD run and its checkpoint stream (kind
 * "checkpoint", schemas/checkpoint.md): a header with the whole configuration (every model and
 * training option, so a checkpoint alone rebuilds the model and resumes the run), the training
 * state (epochs and steps done, best validation SumR and its epoch, epochs without improvement,
 * the rng's state), then one record per parameter tensor with its value and Adam moments.
 * Writing is atomic (temp file renamed into place); reading rebuilds the model from the header's
 * configuration and checks every tensor's name, shape and decay flag against it.
 * Not here: the training loop (distill-step), file formats of data (data). */
#ifndef CKPT_H
#define CKPT_H

#include <stdint.h>
#include <stdio.h>

#include "adam.h"
#include "mpio.h"
#include "model.h"
#include "opts.h"
#include "rng.h"

/* Every field that is an option or a stored key is declared once, in train_opts (lib/ckpt.c):
 * its flag, key, default, range and help line. */
typedef struct {
	char preset[32];           /* --preset NAME:DATASET ("" none): a release's settings */
	ModelConfig mc;            /* dims, hidden, heads, branches, dropout (0 when deterministic) */
	char branches[16];         /* preset: inh | exp | dual | dual-exp | dual-inh */
	int kd_branch[NBRANCH];    /* from the preset */
	int kd_on;                 /* KD_ON_* (lib/kd.h): --kd */
	char kd_loss[8];           /* --kd-loss */
	int kd;                    /* KD_* of (kd_on, kd_loss) */
	float kd_temp;             /* 0.2 */
	float margin, nce_weight;  /* 0.1, 0.04 */
	int soft_align;            /* DL-DKD++'s soft-target InfoNCE in both branches */
	int soft_detach;           /* exploration's soft target detached */
	int hard_pool, hard_start; /* 20 (1 when deterministic), 0 */
	int schedule;              /* SCHED_* */
	double lambda, w0, sched_k, sched_b;
	int batch, epochs, patience;
	double lr, warmup;         /* 2.5e-4, 0.01 */
	AdamConfig adam;
	double beta;               /* validation fusion: beta * exp + (1 - beta) * inh */
	uint64_t seed;
	int deterministic;
	long train_videos, train_queries, steps_per_epoch, total_steps;
} TrainConfig;

typedef struct {
	long epoch;                /* epochs done */
	long step;                 /* optimiser steps done */
	double best_sumr;          /* -1 before any validation */
	long best_epoch;           /* epochs done when best_sumr was reached, -1 none */
	long bad_epochs;           /* validations since the last improvement */
	Rng rng;                   /* state after `epoch` epochs */
	char *cmd;                 /* command that started the run; NULL: this process's */
} TrainState;

/* the options and stored keys of TrainConfig, in the order of a checkpoint's config map */
extern const OptDesc train_opts[];
extern const int ntrain_opts;

/* doc/method.md defaults for everything; dims and data-derived counts left 0 */
void ckpt_config_defaults(TrainConfig *c);
/* set branches, kd_branch and mc.has_branch from a preset name; 0 ok, -1 unknown name */
int  ckpt_set_branches(TrainConfig *c, const char *preset);
/* after the command line (given[i]: option i of train_opts was given): the --preset's settings
 * (each unless its option was given), the schedule's k and b unless given, --deterministic's
 * dropout and pool, the branches and the KD kind.
 * Dies with a usage error on options that do not go together. */
void ckpt_config_cli(TrainConfig *c, const unsigned char *given);
/* --resume with options given on the command line (cli, given) and the checkpoint's c read
 * from path: dies when one that fixes the model's shape differs; returns how many others were
 * given (and are ignored) */
int  ckpt_config_resume(const TrainConfig *cli, const unsigned char *given, const TrainConfig *c,
                        const char *path);
/* 1 when some branch is distilled and the schedule can give a non-zero weight */
int  ckpt_uses_kd(const TrainConfig *c);
/* 1 when training needs the teacher's query embeddings and frame features in each batch:
 * soft alignment with an inheritance branch */
int  ckpt_uses_teacher_scores(const TrainConfig *c);
/* --preset's help: each preset with the options it sets, one line each, to f */
void ckpt_preset_help(FILE *f);
/* the loss configuration of epoch e (0-based): kd weight, hard negatives from hard_start on,
 * soft alignment's alpha(e) and beta(e) */
void ckpt_loss_config(const TrainConfig *c, int e, int train, LossConfig *lc);

/* the configuration as one msgpack map value (for checkpoint and train-log headers) */
void ckpt_pack_config(MpWriter *w, const TrainConfig *c);

/* checkpoint of model + state to path ("-" stdout), atomically */
void   ckpt_write(const char *path, const TrainConfig *c, const TrainState *st, const Model *m);
/* read a checkpoint: configuration, state (st may be NULL) and a new model holding w (and m, v
 * when moments is set; otherwise they stay 0). Dies naming the file and record on any mismatch. */
Model *ckpt_read(const char *path, TrainConfig *c, TrainState *st, int moments);

#endif
