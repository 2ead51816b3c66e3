/* ckpt: training configuration and checkpoint streams; see ckpt.h and schemas/checkpoint.md. */
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "mpio.h"
#include "schedule.h"
#include "util.h"

static const char *brname[NBRANCH] = { "inh", "exp" };

#define CKPT_MAXPARAMS ((size_t)1 << 31)   /* 8 GiB a block; a pipe has no size to check */
#define CKPT_MAXSEQ (1L << 22)

void
ckpt_config_defaults(TrainConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->mc.D = 384;
	c->mc.NH = 4;
	c->mc.max_frames = 128;
	c->mc.max_tokens = 30;
	c->mc.dropout = 0.1f;
	ckpt_set_branches(c, "dual");
	c->kd_temp = 0.2f;
	c->margin = 0.1f;
	c->nce_weight = 0.04f;
	c->hard_pool = 20;
	c->hard_start = 0;
	c->schedule = SCHED_EXP;
	c->lambda = 0.1;
	c->w0 = 0.0;
	c->sched_k = sched_default_k(SCHED_EXP);
	c->sched_b = sched_default_b(SCHED_EXP);
	c->batch = 128;
	c->epochs = 100;
	c->patience = 10;
	c->lr = 2.5e-4;
	c->warmup = 0.01;
	adam_defaults(&c->adam);
	c->beta = 0.3;
	c->seed = 0;
}

int
ckpt_set_branches(TrainConfig *c, const char *preset)
{
	static const struct { const char *name; int has[NBRANCH], kd[NBRANCH]; } p[] = {
		{ "inh",      { 1, 0 }, { 1, 0 } },
		{ "exp",      { 0, 1 }, { 0, 0 } },
		{ "dual",     { 1, 1 }, { 1, 0 } },
		{ "dual-exp", { 1, 1 }, { 0, 0 } },
		{ "dual-inh", { 1, 1 }, { 1, 1 } },
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (strcmp(preset, p[i].name) == 0) {
			snprintf(c->branches, sizeof(c->branches), "%s", preset);
			for (int b = 0; b < NBRANCH; b++) {
				c->mc.has_branch[b] = p[i].has[b];
				c->kd_branch[b] = p[i].kd[b];
			}
			return 0;
		}
	return -1;
}

int
ckpt_uses_kd(const TrainConfig *c)
{
	if (!c->kd_branch[BR_INH] && !c->kd_branch[BR_EXP])
		return 0;
	return !(c->schedule == SCHED_NONE && c->w0 == 0.0) && !(c->lambda == 0.0 && c->w0 == 0.0);
}

void
ckpt_loss_config(const TrainConfig *c, int e, int train, LossConfig *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->margin = c->margin;
	lc->nce_weight = c->nce_weight;
	lc->hard_pool = c->hard_pool;
	lc->hard_negatives = e >= c->hard_start;
	lc->kd = KD_NONE;
	if (ckpt_uses_kd(c)) {
		lc->kd = c->kd_feat ? (c->kd_mse ? KD_FEAT_MSE : KD_FEAT_KL)
		                    : (c->kd_mse ? KD_SIM_MSE : KD_SIM_KL);
		for (int b = 0; b < NBRANCH; b++)
			lc->kd_branch[b] = c->kd_branch[b];
		lc->kd_weight = (float)kd_weight_at_epoch(c->schedule, e, c->lambda, c->w0,
		                                          c->sched_k, c->sched_b);
	}
	lc->kd_temp = c->kd_temp;
	lc->train = train;
}

static void
pack_branch_list(MpWriter *w, const int *on)
{
	int n = 0;

	for (int b = 0; b < NBRANCH; b++)
		n += on[b] != 0;
	mpw_array(w, n);
	for (int b = 0; b < NBRANCH; b++)
		if (on[b])
			mpw_str(w, brname[b]);
}

#define NCONFIG 41

void
ckpt_pack_config(MpWriter *w, const TrainConfig *c)
{
	const ModelConfig *mc = &c->mc;

	mpw_map(w, NCONFIG);
	mpw_kv_int(w, "video_dim", mc->dv);
	mpw_kv_int(w, "token_dim", mc->dt);
	mpw_kv_int(w, "teacher_dim", mc->E);
	mpw_kv_int(w, "hidden", mc->D);
	mpw_kv_int(w, "heads", mc->NH);
	mpw_kv_int(w, "max_frames", mc->max_frames);
	mpw_kv_int(w, "max_tokens", mc->max_tokens);
	mpw_kv_str(w, "branches", c->branches);
	mpw_key(w, "model_branches");
	pack_branch_list(w, mc->has_branch);
	mpw_key(w, "kd_branches");
	pack_branch_list(w, c->kd_branch);
	mpw_kv_bool(w, "shared_query_proj", mc->shared_query_proj);
	mpw_kv_f64(w, "dropout", mc->dropout);
	mpw_kv_str(w, "kd", c->kd_feat ? "feat" : "sim");
	mpw_kv_str(w, "kd_loss", c->kd_mse ? "mse" : "kl");
	mpw_kv_f64(w, "kd_temp", c->kd_temp);
	mpw_kv_f64(w, "margin", c->margin);
	mpw_kv_f64(w, "nce_weight", c->nce_weight);
	mpw_kv_int(w, "hard_pool", c->hard_pool);
	mpw_kv_int(w, "hard_start", c->hard_start);
	mpw_kv_str(w, "schedule", sched_name(c->schedule));
	mpw_kv_f64(w, "lambda", c->lambda);
	mpw_kv_f64(w, "w0", c->w0);
	mpw_kv_f64(w, "sched_k", c->sched_k);
	mpw_kv_f64(w, "sched_b", c->sched_b);
	mpw_kv_int(w, "batch", c->batch);
	mpw_kv_int(w, "epochs", c->epochs);
	mpw_kv_int(w, "patience", c->patience);
	mpw_kv_f64(w, "lr", c->lr);
	mpw_kv_f64(w, "warmup", c->warmup);
	mpw_kv_f64(w, "adam_beta1", c->adam.beta1);
	mpw_kv_f64(w, "adam_beta2", c->adam.beta2);
	mpw_kv_f64(w, "adam_eps", c->adam.eps);
	mpw_kv_f64(w, "weight_decay", c->adam.weight_decay);
	mpw_kv_f64(w, "max_grad_norm", c->adam.max_grad_norm);
	mpw_kv_f64(w, "beta", c->beta);
	mpw_kv_int(w, "seed", (long)c->seed);
	mpw_kv_bool(w, "deterministic", c->deterministic);
	mpw_kv_int(w, "train_videos", c->train_videos);
	mpw_kv_int(w, "train_queries", c->train_queries);
	mpw_kv_int(w, "steps_per_epoch", c->steps_per_epoch);
	mpw_kv_int(w, "total_steps", c->total_steps);
}

static int
need_bool(const MpReader *r, const msgpack_object *m, const char *key)
{
	int v = mpr_bool_or(r, m, key, -1);

	if (v < 0)
		mpr_die(r, "config: missing key '%s'", key);
	return v;
}

static long
cfg_int(const MpReader *r, const msgpack_object *m, const char *key, long lo, long hi)
{
	long v = mpr_int(r, m, key);

	if (v < lo || v > hi)
		mpr_die(r, "config: '%s' = %ld out of range [%ld, %ld]", key, v, lo, hi);
	return v;
}

static void
read_config(const MpReader *r, const msgpack_object *m, TrainConfig *c)
{
	ModelConfig *mc = &c->mc;
	char s[32];

	if (!m || m->type != MSGPACK_OBJECT_MAP)
		mpr_die(r, "'config': expected a map");
	ckpt_config_defaults(c);
	mc->dv = cfg_int(r, m, "video_dim", 1, 1 << 20);
	mc->dt = cfg_int(r, m, "token_dim", 1, 1 << 20);
	mc->E = cfg_int(r, m, "teacher_dim", 0, 1 << 20);
	mc->D = cfg_int(r, m, "hidden", 1, 1 << 16);
	mc->NH = cfg_int(r, m, "heads", 1, 1 << 10);
	if (mc->D % mc->NH)
		mpr_die(r, "config: hidden %d is not a multiple of heads %d", mc->D, mc->NH);
	mc->max_frames = cfg_int(r, m, "max_frames", 1, 1 << 16);
	mc->max_tokens = cfg_int(r, m, "max_tokens", 1, 1 << 16);
	/* readers of this model buffer whole padded sequences: keep one under 16 MiB */
	if ((long)mc->max_frames * mc->dv > CKPT_MAXSEQ || (long)mc->max_tokens * mc->dt > CKPT_MAXSEQ)
		mpr_die(r, "config: max_frames x video_dim or max_tokens x token_dim over %ld floats",
		        (long)CKPT_MAXSEQ);
	mpr_strcpy(r, m, "branches", s, sizeof(s));
	if (ckpt_set_branches(c, s))
		mpr_die(r, "config: unknown branches '%s'", s);
	mc->shared_query_proj = need_bool(r, m, "shared_query_proj");
	mc->dropout = (float)mpr_num(r, m, "dropout");
	mpr_strcpy(r, m, "kd", s, sizeof(s));
	if (strcmp(s, "sim") && strcmp(s, "feat"))
		mpr_die(r, "config: unknown kd '%s'", s);
	c->kd_feat = strcmp(s, "feat") == 0;
	mpr_strcpy(r, m, "kd_loss", s, sizeof(s));
	if (strcmp(s, "kl") && strcmp(s, "mse"))
		mpr_die(r, "config: unknown kd_loss '%s'", s);
	c->kd_mse = strcmp(s, "mse") == 0;
	c->kd_temp = (float)mpr_num(r, m, "kd_temp");
	c->margin = (float)mpr_num(r, m, "margin");
	c->nce_weight = (float)mpr_num(r, m, "nce_weight");
	c->hard_pool = cfg_int(r, m, "hard_pool", 1, 1 << 20);
	c->hard_start = cfg_int(r, m, "hard_start", 0, 1 << 20);
	mpr_strcpy(r, m, "schedule", s, sizeof(s));
	if ((c->schedule = sched_parse(s)) < 0)
		mpr_die(r, "config: unknown schedule '%s'", s);
	c->lambda = mpr_num(r, m, "lambda");
	c->w0 = mpr_num(r, m, "w0");
	c->sched_k = mpr_num(r, m, "sched_k");
	c->sched_b = mpr_num(r, m, "sched_b");
	c->batch = cfg_int(r, m, "batch", 2, 1 << 20);
	c->epochs = cfg_int(r, m, "epochs", 1, 1 << 20);
	c->patience = cfg_int(r, m, "patience", 1, 1 << 20);
	c->lr = mpr_num(r, m, "lr");
	c->warmup = mpr_num(r, m, "warmup");
	if (!(c->warmup > 0 && c->warmup < 1))
		mpr_die(r, "config: warmup %g not in (0, 1)", c->warmup);
	c->adam.beta1 = mpr_num(r, m, "adam_beta1");
	c->adam.beta2 = mpr_num(r, m, "adam_beta2");
	c->adam.eps = mpr_num(r, m, "adam_eps");
	c->adam.weight_decay = mpr_num(r, m, "weight_decay");
	c->adam.max_grad_norm = mpr_num(r, m, "max_grad_norm");
	c->beta = mpr_num(r, m, "beta");
	c->seed = (uint64_t)cfg_int(r, m, "seed", 0, INT64_MAX);
	c->deterministic = need_bool(r, m, "deterministic");
	c->train_videos = cfg_int(r, m, "train_videos", 0, INT32_MAX);
	c->train_queries = cfg_int(r, m, "train_queries", 0, INT32_MAX);
	c->steps_per_epoch = cfg_int(r, m, "steps_per_epoch", 0, INT32_MAX);
	c->total_steps = cfg_int(r, m, "total_steps", 0, INT64_MAX);
	for (int b = 0; b < NBRANCH; b++)
		mc->feat_kd[b] = c->kd_feat && c->kd_branch[b] && ckpt_uses_kd(c);
	if ((mc->feat_kd[0] || mc->feat_kd[1]) && mc->E < 1)
		mpr_die(r, "config: feature distillation needs teacher_dim >= 1");
}

void
ckpt_write(const char *path, const TrainConfig *c, const TrainState *st, const Model *m)
{
	MpWriter *w = mpw_open(path, 0);
	int nt = model_num_tensors(m);
	int32_t rng[8];

	for (int i = 0; i < 4; i++) {
		rng[2 * i] = (int32_t)(uint32_t)(st->rng.s[i] & 0xffffffffu);
		rng[2 * i + 1] = (int32_t)(uint32_t)(st->rng.s[i] >> 32);
	}
	/* "cmd" is the command that started the run, so a resumed run writes the same bytes as an
	 * uninterrupted one */
	mpw_header_cmd(w, "checkpoint", nt, st->cmd ? st->cmd : cmdline(), 8);
	mpw_key(w, "config");
	ckpt_pack_config(w, c);
	mpw_kv_int(w, "epoch", st->epoch);
	mpw_kv_int(w, "step", st->step);
	mpw_kv_f64(w, "best_sumr", st->best_sumr);
	mpw_kv_int(w, "best_epoch", st->best_epoch);
	mpw_kv_int(w, "bad_epochs", st->bad_epochs);
	mpw_key(w, "rng");
	mpw_i32bin(w, rng, 8);
	mpw_kv_int(w, "nparams", (long)model_num_params(m));
	mpw_record_done(w);
	for (int i = 0; i < nt; i++) {
		ParamInfo p = model_tensor(m, i);
		mpw_map(w, 6);
		mpw_kv_str(w, "name", p.name);
		mpw_key(w, "shape");
		mpw_array(w, p.ndim);
		for (int k = 0; k < p.ndim; k++)
			mpw_int(w, p.shape[k]);
		mpw_kv_bool(w, "decay", p.decay);
		mpw_kv_f32(w, "w", p.w, p.n);
		mpw_kv_f32(w, "m", p.m, p.n);
		mpw_kv_f32(w, "v", p.v, p.n);
		mpw_record_done(w);
	}
	mpw_close(w);
}

Model *
ckpt_read(const char *path, TrainConfig *c, TrainState *st, int moments)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *h = mpr_header(r, "checkpoint"), *o;
	Model *m;
	int nt;
	size_t want;
	long shape[8], np;
	int32_t rng[8];
	float *scratch = NULL;
	size_t nscratch = 0;
	char name[256];

	read_config(r, mp_find(h, "config"), c);
	if (st) {
		memset(st, 0, sizeof(*st));
		st->epoch = mpr_int(r, h, "epoch");
		st->step = mpr_int(r, h, "step");
		st->best_sumr = mpr_num(r, h, "best_sumr");
		st->best_epoch = mpr_int(r, h, "best_epoch");
		st->bad_epochs = mpr_int(r, h, "bad_epochs");
		if (st->epoch < 0 || st->step < 0 || st->bad_epochs < 0 || st->best_epoch < -1)
			mpr_die(r, "negative epoch, step or counter");
		mpr_i32(r, h, "rng", rng, 8);
		for (int i = 0; i < 4; i++)
			st->rng.s[i] = (uint64_t)(uint32_t)rng[2 * i] |
			               (uint64_t)(uint32_t)rng[2 * i + 1] << 32;
		if (!(st->rng.s[0] | st->rng.s[1] | st->rng.s[2] | st->rng.s[3]))
			mpr_die(r, "'rng': all-zero xoshiro state");
		st->cmd = mpr_strdup(r, h, "cmd");
	}
	np = mpr_int(r, h, "nparams");
	/* the configuration is checked against the stream before the model is built from it */
	want = model_size(&c->mc, &nt);
	if (r->count != nt)
		mpr_die(r, "%ld tensors, but the configured model has %d", r->count, nt);
	if (np < 0 || (size_t)np != want)
		mpr_die(r, "nparams %ld, but the configured model has %zu", np, want);
	if (want > CKPT_MAXPARAMS)
		mpr_die(r, "a model of %zu parameters, more than %zu", want, CKPT_MAXPARAMS);
	if (want > mpr_bytes_left(r) / 12)          /* w, m and v: 3 float32 per parameter */
		mpr_die(r, "a model of %zu parameters, more than the %zu bytes left in the file hold",
		        want, mpr_bytes_left(r));
	m = model_new(&c->mc);
	for (int i = 0; i < nt; i++) {
		ParamInfo p = model_tensor(m, i);
		size_t ns;
		if (!(o = mpr_next(r)))
			break;             /* mpr_next dies on a short stream; unreachable */
		mpr_strcpy(r, o, "name", name, sizeof(name));
		if (strcmp(name, p.name) != 0)
			mpr_die(r, "tensor '%s', expected '%s'", name, p.name);
		ns = mpr_intarray(r, o, "shape", shape, 8);
		if ((int)ns != p.ndim)
			mpr_die(r, "tensor '%s': %zu dims, expected %d", name, ns, p.ndim);
		for (int k = 0; k < p.ndim; k++)
			if (shape[k] != p.shape[k])
				mpr_die(r, "tensor '%s': dim %d is %ld, expected %d", name, k, shape[k],
				        p.shape[k]);
		if (need_bool(r, o, "decay") != p.decay)
			mpr_die(r, "tensor '%s': decay flag differs from the model's", name);
		mpr_f32(r, o, "w", p.w, p.n);
		if (moments) {
			mpr_f32(r, o, "m", p.m, p.n);
			mpr_f32(r, o, "v", p.v, p.n);
		} else {
			if (p.n > nscratch) {
				free(scratch);
				scratch = efloats(nscratch = p.n);
			}
			mpr_f32(r, o, "m", scratch, p.n);
			mpr_f32(r, o, "v", scratch, p.n);
		}
	}
	if (mpr_next(r))
		mpr_die(r, "unexpected record");
	mpr_close(r);
	free(scratch);
	return m;
}
