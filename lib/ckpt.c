/* ckpt: training configuration and checkpoint streams; see ckpt.h and schemas/checkpoint.md. */
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "mpio.h"
#include "schema.h"
#include "schedule.h"
#include "util.h"

static const char *brname[NBRANCH] = { "inh", "exp" };

#define CKPT_MAXPARAMS ((size_t)1 << 31)   /* 8 GiB a block; a pipe has no size to check */
#define CKPT_MAXSEQ (1L << 22)

static const struct { const char *name; int has[NBRANCH], kd[NBRANCH]; } presets[] = {
	{ "inh",      { 1, 0 }, { 1, 0 } },
	{ "exp",      { 0, 1 }, { 0, 0 } },
	{ "dual",     { 1, 1 }, { 1, 0 } },
	{ "dual-exp", { 1, 1 }, { 0, 0 } },
	{ "dual-inh", { 1, 1 }, { 1, 1 } },
};
#define NPRESET ((int)(sizeof(presets) / sizeof(presets[0])))

static int
preset_of(const char *name)
{
	for (int i = 0; i < NPRESET; i++)
		if (strcmp(name, presets[i].name) == 0)
			return i;
	return -1;
}

static int
preset_valid(const char *name)
{
	return preset_of(name) >= 0;
}

/* --preset NAME:DATASET: a released configuration as option text, each pair applied unless
 * that option is given. dldkd++: the DL-DKD++ release's training scripts (doc/method.md,
 * "DL-DKD++"): soft alignment, its epochs, seed, selection score and separate exploration query
 * projection, similarity KL with the exponential schedule (no feature distillation), and per
 * dataset its learning rate, dropout and margin. */
#define DLDKDPP "soft-align", "1", "soft-detach", "0", "branches", "dual", "kd", "sim", \
	"kd-loss", "kl", "schedule", "exp", "shared-query-proj", "0", "epochs", "120", \
	"seed", "9527", "beta", "0.3"
static const struct { const char *name, *set[32]; } run_presets[] = {
	{ "dldkd++:tvr",         { DLDKDPP, "lr", "3e-4", "dropout", "0.2", "margin", "0.1" } },
	{ "dldkd++:activitynet", { DLDKDPP, "lr", "2.5e-4", "dropout", "0.25", "margin", "0.2" } },
	{ "dldkd++:charades",    { DLDKDPP, "lr", "2.4e-4", "dropout", "0.15", "margin", "0.2" } },
};
#undef DLDKDPP
#define NRUNPRESET ((int)(sizeof(run_presets) / sizeof(run_presets[0])))

static int
run_preset_of(const char *name)
{
	for (int i = 0; i < NRUNPRESET; i++)
		if (strcmp(name, run_presets[i].name) == 0)
			return i;
	return -1;
}

/* "" is no preset */
static int
run_preset_valid(const char *name)
{
	return !name[0] || run_preset_of(name) >= 0;
}

void
ckpt_preset_help(FILE *f)
{
	for (int i = 0; i < NRUNPRESET; i++) {
		fprintf(f, "  %s:", run_presets[i].name);
		for (int k = 0; run_presets[i].set[k]; k += 2) {
			const char *fl = run_presets[i].set[k], *v = run_presets[i].set[k + 1];
			int flag = train_opts[opts_index(train_opts, ntrain_opts, fl)].type == OPT_BOOL;

			/* a boolean is its flag, or "no --flag" */
			fprintf(f, "%s %s--%s%s%s", k && k % 10 == 0 ? "\n   " : "",
			        flag && !strcmp(v, "0") ? "no " : "", fl, flag ? "" : " ", flag ? "" : v);
		}
		fprintf(f, "\n");
	}
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

static void
pack_model_branches(MpWriter *w, const void *c)
{
	pack_branch_list(w, ((const TrainConfig *)c)->mc.has_branch);
}

static void
pack_kd_branches(MpWriter *w, const void *c)
{
	pack_branch_list(w, ((const TrainConfig *)c)->kd_branch);
}

#define F(f) OPT_FIELD(TrainConfig, f)
#define BIG (1 << 20)
/* a stored key that is not an option */
#define KEY(T, k, f, lo_, hi_) { .type = T, .key = k, F(f), .lo = lo_, .hi = hi_ }
/* an option stored under key k */
#define ARG(T, fl, k, f, lo_, hi_, d, sh, a, h, ...) \
	{ .type = T, .flag = fl, .key = k, F(f), .lo = lo_, .hi = hi_, .def = d, .flags = sh, \
	  .arg = a, .help = h, __VA_ARGS__ }

/* distill-step's configuration. The order is the order of the keys in a checkpoint's config
 * map (schemas/checkpoint.md): moving an entry changes the bytes of every checkpoint. */
const OptDesc train_opts[] = {
	KEY(OPT_INT, "video_dim", mc.dv, 1, BIG),
	KEY(OPT_INT, "token_dim", mc.dt, 1, BIG),
	KEY(OPT_INT, "teacher_dim", mc.E, 0, BIG),
	ARG(OPT_WORD, "preset", "preset", preset, 0, 0, NULL, 0, "NAME:DATASET",
	    "a release's settings (presets: below); options given win", .valid = run_preset_valid),
	{ .type = OPT_SECTION, .help = "model:" },
	ARG(OPT_INT, "hidden", "hidden", mc.D, 1, 1 << 14, "384", OPTF_SHAPE, "N",
	    "hidden size d"),
	ARG(OPT_INT, "heads", "heads", mc.NH, 1, 256, "4", OPTF_SHAPE, "N", "attention heads"),
	ARG(OPT_INT, "max-frames", "max_frames", mc.max_frames, 1, 1 << 14, "128", OPTF_SHAPE, "N",
	    "frames per video / position rows"),
	ARG(OPT_INT, "max-tokens", "max_tokens", mc.max_tokens, 1, 1 << 14, "30", OPTF_SHAPE, "N",
	    "tokens per query / position rows"),
	ARG(OPT_WORD, "branches", "branches", branches, 0, 0, "dual", OPTF_SHAPE, "P",
	    "inh | exp | dual | dual-exp | dual-inh", .valid = preset_valid),
	{ .type = OPT_DERIVED, .key = "model_branches", .pack = pack_model_branches },
	{ .type = OPT_DERIVED, .key = "kd_branches", .pack = pack_kd_branches },
	ARG(OPT_BOOL, "shared-query-proj", "shared_query_proj", mc.shared_query_proj, 0, 1, NULL,
	    OPTF_SHAPE, NULL, "exploration branch reuses inheritance's query input projection"),
	ARG(OPT_FLOAT, "dropout", "dropout", mc.dropout, 0, 0.95, "0.1", 0, "P",
	    "dropout probability"),
	{ .type = OPT_SECTION, .help = "loss:" },
	ARG(OPT_ENUM, "kd", "kd", kd_on, 0, 0, "sim", OPTF_SHAPE, "K",
	    "sim | feat: similarity- or feature-based distillation", .parse = kd_on_parse,
	    .name = kd_on_name),
	ARG(OPT_WORD, "kd-loss", "kd_loss", kd_loss, 0, 0, "kl", 0, "L",
	    "the loss word of a kind (kinds: below)", .valid = kd_loss_valid),
	ARG(OPT_FLOAT, "kd-temp", "kd_temp", kd_temp, 1e-4, 1e4, "0.2", 0, "T",
	    "similarity KL temperature"),
	ARG(OPT_FLOAT, "margin", "margin", margin, 0, 10, "0.1", 0, "M", "triplet margin"),
	ARG(OPT_FLOAT, "nce", "nce_weight", nce_weight, 0, 1e3, "0.04", 0, "W", "InfoNCE weight"),
	ARG(OPT_BOOL, "soft-align", "soft_align", soft_align, 0, 1, NULL, 0, NULL,
	    "DL-DKD++: soft-target InfoNCE in both branches (needs\n--teacher-query and -T)"),
	ARG(OPT_BOOL, "soft-detach", "soft_detach", soft_detach, 0, 1, NULL, 0, NULL,
	    "detach exploration's soft target (the release does not)"),
	ARG(OPT_INT, "hard-pool", "hard_pool", hard_pool, 1, BIG, "20", 0, "N",
	    "text-to-video negatives drawn from the top N"),
	ARG(OPT_INT, "hard-start", "hard_start", hard_start, 0, BIG, "0", 0, "E",
	    "first epoch (0-based) with hard negatives"),
	ARG(OPT_ENUM, "schedule", "schedule", schedule, 0, 0, "exp", 0, "S",
	    "none | fixed | linear | exp | sigmoid", .parse = sched_parse, .name = sched_name),
	ARG(OPT_DOUBLE, "lambda", "lambda", lambda, 0, 1e4, "0.1", 0, "L",
	    "w(e) = lambda * rho(e) + w0: lambda"),
	ARG(OPT_DOUBLE, "w0", "w0", w0, 0, 1e4, "0", 0, "W", "w0"),
	/* no default here: the schedule's (ckpt_config_cli) */
	ARG(OPT_DOUBLE, "sched-k", "sched_k", sched_k, -1e6, 1e6, NULL, OPTF_OWNDEF, "K",
	    "schedule k (default: exp 0.95, linear -0.01, sigmoid 800)"),
	ARG(OPT_DOUBLE, "sched-b", "sched_b", sched_b, -1e6, 1e6, NULL, OPTF_OWNDEF, "B",
	    "linear schedule b (default 1)"),
	{ .type = OPT_SECTION, .help = "optimisation:" },
	ARG(OPT_INT, "batch", "batch", batch, 2, BIG, "128", 0, "N",
	    "videos per step, each with all its queries"),
	ARG(OPT_INT, "epochs", "epochs", epochs, 1, BIG, "100", 0, "N",
	    "epochs; planned steps = ceil(videos / batch) x N"),
	ARG(OPT_INT, "patience", "patience", patience, 1, BIG, "10", 0, "N",
	    "stop after N epochs without a better validation SumR"),
	ARG(OPT_DOUBLE, "lr", "lr", lr, 0, 10, "2.5e-4", 0, "LR", "peak learning rate"),
	ARG(OPT_DOUBLE, "warmup", "warmup", warmup, 1e-9, 1 - 1e-9, "0.01", 0, "F",
	    "warm-up fraction of planned steps"),
	/* BertAdam's constants: no flags; their defaults are adam_defaults' */
	KEY(OPT_DOUBLE, "adam_beta1", adam.beta1, 0, 1),
	KEY(OPT_DOUBLE, "adam_beta2", adam.beta2, 0, 1),
	KEY(OPT_DOUBLE, "adam_eps", adam.eps, 0, 1),
	KEY(OPT_DOUBLE, "weight_decay", adam.weight_decay, 0, 1e4),
	KEY(OPT_DOUBLE, "max_grad_norm", adam.max_grad_norm, -1e9, 1e9),
	ARG(OPT_DOUBLE, "beta", "beta", beta, 0, 1, "0.3", 0, "B",
	    "validation score beta * exp + (1 - beta) * inh"),
	ARG(OPT_U64, "seed", "seed", seed, 0, 9.3e18, "0", 0, "S", "random seed"),
	ARG(OPT_BOOL, "deterministic", "deterministic", deterministic, 0, 1, NULL, 0, NULL,
	    "dropout 0 and hard pool 1 (reproducible losses for tests)"),
	/* from the training data */
	KEY(OPT_LONG, "train_videos", train_videos, 0, INT32_MAX),
	KEY(OPT_LONG, "train_queries", train_queries, 0, INT32_MAX),
	KEY(OPT_LONG, "steps_per_epoch", steps_per_epoch, 0, INT32_MAX),
	KEY(OPT_LONG, "total_steps", total_steps, 0, 9.3e18),
};
const int ntrain_opts = (int)(sizeof(train_opts) / sizeof(train_opts[0]));

#undef F
#undef BIG
#undef KEY
#undef ARG

/* what the preset and the KD words imply; 0 ok, -1 an unknown kind */
static int
resolve(TrainConfig *c)
{
	int p = preset_of(c->branches);

	CHECK(p >= 0);             /* train_opts accepted only known presets */
	for (int b = 0; b < NBRANCH; b++) {
		c->mc.has_branch[b] = presets[p].has[b];
		c->kd_branch[b] = presets[p].kd[b];
	}
	if ((c->kd = kd_find(c->kd_on, c->kd_loss)) == KD_NONE)
		return -1;
	for (int b = 0; b < NBRANCH; b++)
		c->mc.feat_kd[b] = kd_kinds[c->kd].on == KD_ON_FEAT && c->kd_branch[b] &&
		                   ckpt_uses_kd(c);
	return 0;
}

void
ckpt_config_defaults(TrainConfig *c)
{
	opts_defaults(train_opts, ntrain_opts, c, sizeof(*c));
	adam_defaults(&c->adam);
	c->sched_k = sched_default_k(c->schedule);
	c->sched_b = sched_default_b(c->schedule);
	CHECK(resolve(c) == 0);
}

int
ckpt_set_branches(TrainConfig *c, const char *preset)
{
	if (!preset_valid(preset) || strlen(preset) >= sizeof(c->branches))
		return -1;
	strcpy(c->branches, preset);
	return resolve(c);
}

void
ckpt_config_cli(TrainConfig *c, const unsigned char *given)
{
	if (c->preset[0]) {
		int p = run_preset_of(c->preset);
		CHECK(p >= 0);     /* train_opts accepted only known presets */
		for (int k = 0; run_presets[p].set[k]; k += 2)
			if (!given[opts_index(train_opts, ntrain_opts, run_presets[p].set[k])])
				opts_set(train_opts, ntrain_opts, c, run_presets[p].set[k],
				         run_presets[p].set[k + 1]);
	}
	if (!given[opts_index(train_opts, ntrain_opts, "sched-k")])
		c->sched_k = sched_default_k(c->schedule);
	if (!given[opts_index(train_opts, ntrain_opts, "sched-b")])
		c->sched_b = sched_default_b(c->schedule);
	if (c->mc.D % c->mc.NH)
		usage_error("--hidden %d is not a multiple of --heads %d", c->mc.D, c->mc.NH);
	if (c->deterministic) {
		c->mc.dropout = 0;
		c->hard_pool = 1;
	}
	if (resolve(c))
		usage_error("--kd %s --kd-loss %s: no such distillation kind",
		            kd_on_name(c->kd_on), c->kd_loss);
}

int
ckpt_config_resume(const TrainConfig *cli, const unsigned char *given, const TrainConfig *c,
                   const char *path)
{
	int ignored = 0;
	char a[64], b[64];

	for (int i = 0; i < ntrain_opts; i++) {
		if (!given[i])
			continue;
		if (!(train_opts[i].flags & OPTF_SHAPE)) {
			ignored++;
			continue;
		}
		if (!opts_equal(train_opts, i, cli, c))
			usage_error("--%s %s, but %s has %s", train_opts[i].flag,
			            opts_value(train_opts, i, cli, a, sizeof(a)), path,
			            opts_value(train_opts, i, c, b, sizeof(b)));
	}
	return ignored;
}

int
ckpt_uses_kd(const TrainConfig *c)
{
	if (!c->kd_branch[BR_INH] && !c->kd_branch[BR_EXP])
		return 0;
	return !(c->schedule == SCHED_NONE && c->w0 == 0.0) && !(c->lambda == 0.0 && c->w0 == 0.0);
}

int
ckpt_uses_teacher_scores(const TrainConfig *c)
{
	return c->soft_align && c->mc.has_branch[BR_INH];
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
		lc->kd = c->kd;
		for (int b = 0; b < NBRANCH; b++)
			lc->kd_branch[b] = c->kd_branch[b];
		lc->kd_weight = (float)kd_weight_at_epoch(c->schedule, e, c->lambda, c->w0,
		                                          c->sched_k, c->sched_b);
	}
	lc->kd_temp = c->kd_temp;
	lc->soft = c->soft_align;
	if (lc->soft) {
		lc->soft_alpha = softnce_alpha_at_epoch(e);
		lc->soft_beta = softnce_beta_at_epoch(e);
		lc->soft_detach = c->soft_detach;
	}
	lc->train = train;
}

void
ckpt_pack_config(MpWriter *w, const TrainConfig *c)
{
	opts_pack(w, train_opts, ntrain_opts, c);
}

static int
need_bool(const MpReader *r, const msgpack_object *m, const char *key)
{
	int v = mpr_bool_or(r, m, key, -1);

	if (v < 0)
		mpr_die(r, "config: missing key '%s'", key);
	return v;
}

static void
read_config(const MpReader *r, const msgpack_object *m, TrainConfig *c)
{
	ModelConfig *mc = &c->mc;

	opts_read(r, m, train_opts, ntrain_opts, c, sizeof(*c));
	if (mc->D % mc->NH)
		mpr_die(r, "config: hidden %d is not a multiple of heads %d", mc->D, mc->NH);
	/* readers of this model buffer whole padded sequences: keep one under 16 MiB */
	if ((long)mc->max_frames * mc->dv > CKPT_MAXSEQ || (long)mc->max_tokens * mc->dt > CKPT_MAXSEQ)
		mpr_die(r, "config: max_frames x video_dim or max_tokens x token_dim over %ld floats",
		        (long)CKPT_MAXSEQ);
	if (resolve(c))
		mpr_die(r, "config: no distillation kind kd '%s' kd_loss '%s'", kd_on_name(c->kd_on),
		        c->kd_loss);
	if ((mc->feat_kd[0] || mc->feat_kd[1]) && mc->E < 1)
		mpr_die(r, "config: feature distillation needs teacher_dim >= 1");
	if (ckpt_uses_teacher_scores(c) && mc->E < 1)
		mpr_die(r, "config: soft alignment with an inheritance branch needs teacher_dim >= 1");
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
	const msgpack_object *h = schema_header(r, "checkpoint"), *o;
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
