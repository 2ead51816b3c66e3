/* de-train: traditional text-to-video retrieval on pre-trimmed clips (doc/method.md,
 * "Variants", supplementary Table 1): trains the Dual Encoding student (lib/dualenc.h) on
 * reduced MSR-VTT-shaped streams, with no, fixed or dynamic distillation from the teacher over
 * each batch's videos, and writes the test split's query x video scores (kind scores, branch
 * "de") for metrics. Each epoch shuffles the training videos with the run's Rng and takes
 * batches of B videos, each with all its captions (default; so every caption is seen once per
 * epoch, as in the original, whose batches are 128 caption-clip pairs) or with --captions N of
 * them drawn anew every epoch. A video is encoded once for all its captions, which is what makes
 * whole epochs affordable on a CPU, and no batch holds a false negative. Optimiser: Adam
 * in lib/adam.h's BERT form (no bias correction, each tensor's gradient clipped to norm 1) with
 * no weight decay, learning rate warmed up over 1% of the planned steps then decayed linearly
 * to 0 (lib/schedule.h lr_at_step); the original used plain Adam at a constant 1e-4 with a
 * per-epoch decay. Distillation weight of epoch e: kd_weight_at_epoch (none 0, fixed lambda,
 * dynamic lambda * k^e by default). Teacher similarity tau(q, v) = cosine between the teacher's
 * query embedding and the mean of the teacher's frame features of v.
 * With validation streams, the weights of the best epoch by validation SumR score the test
 * split, and training stops after --patience epochs without improvement.
 * Not here: the model's numerics (dualenc), metrics (bin/metrics), checkpoints (a run is
 * minutes long at the shapes it is used at; it writes scores, not weights). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "adam.h"
#include "data.h"
#include "dualenc.h"
#include "evalm.h"
#include "mpio.h"
#include "opts.h"
#include "rownorm.h"
#include "rng.h"
#include "schedule.h"
#include "threads.h"
#include "trainlog.h"
#include "util.h"
#include "vidset.h"

#define ENC_VIDEOS 128         /* videos per encoding call */
#define ENC_QUERIES 512        /* captions per encoding call */
#define SCORE_BLOCK 256        /* captions scored at a time */

enum { KDM_NONE = 0, KDM_FIXED, KDM_DYNAMIC };
static const char *kdname[] = { "none", "fixed", "dynamic" };

typedef struct {
	DeConfig mc;
	float margin, kd_temp;
	int kd, schedule;          /* KDM_*, SCHED_* (the schedule of w(e), from kd and dyn_sched) */
	int dyn_sched;             /* --schedule: the decay of --kd dynamic */
	double lambda, sched_k, sched_b;
	int batch, captions, epochs, patience, deterministic, max_frames, max_tokens;
	double lr, warmup;
	long seed;
	long train_videos, train_queries;
} Config;

static int
kd_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, kdname[i]) == 0)
			return i;
	return -1;
}

static const char *
kd_name(int kd)
{
	return kdname[kd];
}

/* the decays of --kd dynamic */
static int
dyn_parse(const char *s)
{
	int k = sched_parse(s);

	return k == SCHED_EXP || k == SCHED_LINEAR || k == SCHED_SIGMOID ? k : -1;
}

static void
pack_model(MpWriter *w, const void *c)
{
	mpw_str(w, "dual-encoding");
}

static void
pack_kernels(MpWriter *w, const int *k, int n)
{
	mpw_array(w, (size_t)n);
	for (int i = 0; i < n; i++)
		mpw_int(w, k[i]);
}

static void
pack_kv(MpWriter *w, const void *c)
{
	pack_kernels(w, ((const Config *)c)->mc.kv, ((const Config *)c)->mc.nkv);
}

static void
pack_kt(MpWriter *w, const void *c)
{
	pack_kernels(w, ((const Config *)c)->mc.kt, ((const Config *)c)->mc.nkt);
}

static void
pack_schedule(MpWriter *w, const void *c)
{
	mpw_str(w, sched_name(((const Config *)c)->schedule));
}

#define F(f) OPT_FIELD(Config, f)
#define BIG (1 << 20)
#define KEY(T, k, f) { .type = T, .key = k, F(f) }
#define ARG(T, fl, k, f, lo_, hi_, d, a, h, ...) \
	{ .type = T, .flag = fl, .key = k, F(f), .lo = lo_, .hi = hi_, .def = d, .arg = a, \
	  .help = h, __VA_ARGS__ }

/* de-train's configuration, in the order of the train-log's config map; the model's defaults
 * (no def here) are de_defaults' */
static const OptDesc opts[] = {
	{ .type = OPT_DERIVED, .key = "model", .pack = pack_model },
	KEY(OPT_INT, "dv", mc.dv),
	KEY(OPT_INT, "dt", mc.dt),
	{ .type = OPT_SECTION, .help = "model:" },
	ARG(OPT_INT, "hidden", "hidden", mc.H, 1, 1 << 14, NULL, "N",
	    "GRU hidden size per direction"),
	ARG(OPT_INT, "filters", "filters", mc.r, 1, 1 << 14, NULL, "N",
	    "convolution filters per kernel size"),
	ARG(OPT_INT, "dim", "dim", mc.D, 1, 1 << 16, NULL, "N", "common space dimension"),
	{ .type = OPT_DERIVED, .key = "kernels_video", .pack = pack_kv },
	{ .type = OPT_DERIVED, .key = "kernels_text", .pack = pack_kt },
	ARG(OPT_FLOAT, "dropout", "dropout", mc.dropout, 0, 0.95, NULL, "P",
	    "dropout before the last Linear"),
	ARG(OPT_BOOL, "no-bn", "bn", mc.bn, 0, 0, NULL, NULL,
	    "no batch normalisation after the last Linear (the original has\n"
	    "it; without it the hardest-negative loss tends to collapse)"),
	ARG(OPT_INT, "max-frames", NULL, max_frames, 1, 1 << 14, "128", "N",
	    "frames per video at most"),
	ARG(OPT_INT, "max-tokens", NULL, max_tokens, 1, 1 << 14, "30", "N",
	    "tokens per caption at most"),
	{ .type = OPT_SECTION, .help = "loss:" },
	ARG(OPT_FLOAT, "margin", "margin", margin, 0, 10, "0.2", "M", "triplet margin"),
	ARG(OPT_ENUM, "kd", "kd", kd, 0, 0, "dynamic", "K",
	    "none | fixed | dynamic: w(e) = 0, lambda, or\nlambda * rho(e) with the --schedule decay",
	    .parse = kd_parse, .name = kd_name),
	ARG(OPT_ENUM, "schedule", NULL, dyn_sched, 0, 0, "exp", "S",
	    "the dynamic decay: exp | linear | sigmoid", .parse = dyn_parse, .name = sched_name),
	{ .type = OPT_DERIVED, .key = "schedule", .pack = pack_schedule },
	ARG(OPT_DOUBLE, "lambda", "lambda", lambda, 0, 1e4, "0.1", "L",
	    "distillation weight lambda"),
	ARG(OPT_DOUBLE, "sched-k", "sched_k", sched_k, -1e6, 1e6, NULL, "K",
	    "schedule k (default: exp 0.95, linear -0.01, sigmoid 800)", .flags = OPTF_OWNDEF),
	ARG(OPT_DOUBLE, "sched-b", "sched_b", sched_b, -1e6, 1e6, NULL, "B",
	    "linear schedule b (default 1)", .flags = OPTF_OWNDEF),
	ARG(OPT_FLOAT, "kd-temp", "kd_temp", kd_temp, 1e-4, 1e4, "0.2", "T",
	    "temperature of both softmaxes over videos"),
	{ .type = OPT_SECTION, .help = "optimisation:" },
	ARG(OPT_INT, "batch", "batch", batch, 2, BIG, "128", "N",
	    "videos per step at most; an epoch has\nceil(videos / N) steps of nearly equal size\n"
	    "(N = 2, odd count: one step of 3, as batch norm needs two)"),
	ARG(OPT_INT, "captions", "captions", captions, 0, BIG, "0", "N",
	    "captions per video and epoch, drawn at random each epoch; 0 = all:\n"
	    "every caption once per epoch, as the original's epoch"),
	ARG(OPT_DOUBLE, "lr", "lr", lr, 0, 10, "1e-4", "LR", "peak learning rate"),
	ARG(OPT_DOUBLE, "warmup", "warmup", warmup, 1e-9, 1 - 1e-9, "0.01", "F",
	    "warm-up fraction of the planned steps"),
	ARG(OPT_INT, "epochs", "epochs", epochs, 1, BIG, "50", "N", "epochs"),
	ARG(OPT_INT, "patience", NULL, patience, 1, BIG, "10", "N",
	    "with validation: stop after N epochs without a\nbetter SumR"),
	ARG(OPT_LONG, "seed", "seed", seed, 0, 9.3e18, "0", "S", "random seed"),
	ARG(OPT_BOOL, "deterministic", NULL, deterministic, 0, 1, NULL, NULL, "dropout 0"),
	KEY(OPT_LONG, "train_videos", train_videos),
	KEY(OPT_LONG, "train_queries", train_queries),
};
#define NOPTS ((int)(sizeof(opts) / sizeof(opts[0])))

#undef F
#undef BIG
#undef KEY
#undef ARG

static void
config_defaults(Config *c)
{
	opts_defaults(opts, NOPTS, c, sizeof(*c));
	de_defaults(&c->mc);
}

static void
help(void)
{
	Config dflt;

	printf(
"usage: %s -v TRAIN_VIDEO -q TRAIN_QUERY [--teacher-video F --teacher-query F]\n"
"       [--val-video F --val-query F] --test-video F --test-query F [-o SCORES] [-l LOG]\n"
"       [options]\n"
"  de-train trains Dual Encoding (mean pooling | bi-GRU | 1-D CNN over the bi-GRU, both sides;\n"
"  triplet loss with the hardest negative of the batch, both directions) for text-to-video\n"
"  retrieval of trimmed clips, distilling the teacher's softmax over each batch's videos, and\n"
"  writes every test caption's cosine to every test video: kind scores, branch \"de\"\n"
"  (schemas/scores.md), read by `metrics`. All inputs are reduced streams (feat-reduce):\n"
"  video-features and query-features, role student (teacher for --teacher-*).\n"
"data and output:\n"
"  -v, --video F          training videos (required)\n"
"  -q, --query F          training captions (required)\n"
"      --teacher-video F  teacher frame features of the training videos   } needed unless\n"
"      --teacher-query F  teacher embeddings of the training captions    } --kd none\n"
"      --val-video F      validation videos    } both or neither: best epoch by validation\n"
"      --val-query F      validation captions  } SumR, early stopping\n"
"      --test-video F     test videos (required)\n"
"      --test-query F     test captions (required)\n"
"  -o, --output SCORES    scores stream, written atomically (default: stdout)\n"
"  -l, --log LOG          training log, kind train-log (default: none)\n"
"  -j, --threads N        threads in all, BLAS included (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -Q, --quiet            no progress on stderr\n"
"", argv0);
	config_defaults(&dflt);
	opts_help(opts, NOPTS, &dflt);
	printf(
"  Same seed, threads and inputs give the same scores. Progress (epoch, loss, validation SumR,\n"
"  seconds) on stderr. Exit 1 on any error, leaving no SCORES or LOG behind.\n");
	exit(0);
}

enum { O_TV = 256, O_TQ, O_VALV, O_VALQ, O_TESTV, O_TESTQ };

/* the options that are not configuration; opts adds the others */
static const struct option io_opts[] = {
	{ "video", required_argument, NULL, 'v' },
	{ "query", required_argument, NULL, 'q' },
	{ "output", required_argument, NULL, 'o' },
	{ "log", required_argument, NULL, 'l' },
	{ "threads", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'Q' },
	{ "teacher-video", required_argument, NULL, O_TV },
	{ "teacher-query", required_argument, NULL, O_TQ },
	{ "val-video", required_argument, NULL, O_VALV },
	{ "val-query", required_argument, NULL, O_VALQ },
	{ "test-video", required_argument, NULL, O_TESTV },
	{ "test-query", required_argument, NULL, O_TESTQ },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* ---- the teacher: unit clip embeddings (mean of frames) and unit caption embeddings ---- */

/* tv (nv, E) from the teacher frames of d */
static float *
teacher_clips(const Dataset *d)
{
	int E = d->E;
	float *tv = efloats((size_t)d->nv * E), *fr = efloats((size_t)d->max_vlen * E);

	for (int v = 0; v < d->nv; v++) {
		float *o = tv + (size_t)v * E;
		data_teacher_videos(d, v, 1, fr);
		for (int t = 0; t < d->vlen[v]; t++) {
			const float *x = fr + (size_t)t * E;
			for (int j = 0; j < E; j++)
				o[j] += x[j];
		}
		for (int j = 0; j < E; j++)
			o[j] /= (float)d->vlen[v];
	}
	rownorm_unit(tv, d->nv, E);
	free(fr);
	return tv;
}

/* tq (nq, E) from the teacher query stream at path, which data_load_teacher_queries checks
 * against d's captions */
static float *
teacher_captions(Dataset *d, const char *path)
{
	float *tq;

	data_load_teacher_queries(d, path);
	tq = efloats((size_t)d->nq * d->E);
	for (int q = 0; q < d->nq; q++)
		data_teacher_query(d, q, tq + (size_t)q * d->E);
	rownorm_unit(tq, d->nq, d->E);
	return tq;
}

/* ---- batches: B videos, each with `captions` of its captions (0: all) ---- */

typedef struct {
	DeBatch b;
	float *video, *query, *tau, *tqb, *tvb;
	int *vlen, *qlen, *qvid, *pick;
	size_t capv, capq, capt, captq, captv;
} DeBatchBuf;

static void
make_batch(DeBatchBuf *bb, const Dataset *d, const int *vids, int B, int captions, const float *tv,
           const float *tq, Rng *rng)
{
	int Nq = 0, E = d->E;
	long rv = 0, rq = 0;

	bb->vlen = erealloc(bb->vlen, (size_t)B * sizeof(int));
	/* pick: the chosen captions, grouped by video */
	bb->pick = erealloc(bb->pick, (size_t)d->nq * sizeof(int));
	for (int i = 0; i < B; i++) {
		int v = vids[i], n = d->vq_off[v + 1] - d->vq_off[v], k = captions;
		int *p = bb->pick + Nq;
		memcpy(p, d->vq + d->vq_off[v], (size_t)n * sizeof(int));
		if (k == 0 || k > n)
			k = n;
		/* the first k of a partial Fisher-Yates shuffle: k distinct captions */
		if (k < n)
			for (int j = 0; j < k; j++) {
				int r = j + (int)rng_below(rng, (uint32_t)(n - j)), t = p[j];
				p[j] = p[r];
				p[r] = t;
			}
		Nq += k;
		bb->vlen[i] = d->vlen[v];
		rv += d->vlen[v];
	}
	bb->qlen = erealloc(bb->qlen, (size_t)Nq * sizeof(int));
	bb->qvid = erealloc(bb->qvid, (size_t)Nq * sizeof(int));
	for (int i = 0, q = 0; i < B; i++) {
		int v = vids[i], n = d->vq_off[v + 1] - d->vq_off[v], k = captions;
		if (k == 0 || k > n)
			k = n;
		for (int j = 0; j < k; j++, q++) {
			bb->qlen[q] = d->qlen[bb->pick[q]];
			bb->qvid[q] = i;
			rq += bb->qlen[q];
		}
	}
	bb->video = efloats_grow(bb->video, &bb->capv, (size_t)rv * d->dv);
	bb->query = efloats_grow(bb->query, &bb->capq, (size_t)rq * d->dt);
	rv = 0;
	for (int i = 0; i < B; i++) {
		data_videos(d, vids[i], 1, bb->video + (size_t)rv * d->dv);
		rv += d->vlen[vids[i]];
	}
	rq = 0;
	for (int q = 0; q < Nq; q++) {
		int c = bb->pick[q];
		data_queries(d, c, 1, bb->query + (size_t)rq * d->dt);
		rq += d->qlen[c];
	}
	if (tv) {
		/* tau (Nq, B) = teacher cosines of each caption to every video of the batch: the unit
		 * embeddings gathered, then one product */
		bb->tau = efloats_grow(bb->tau, &bb->capt, (size_t)Nq * B);
		bb->tqb = efloats_grow(bb->tqb, &bb->captq, (size_t)Nq * E);
		bb->tvb = efloats_grow(bb->tvb, &bb->captv, (size_t)B * E);
		for (int q = 0; q < Nq; q++)
			memcpy(bb->tqb + (size_t)q * E, tq + (size_t)bb->pick[q] * E,
			       (size_t)E * sizeof(float));
		for (int i = 0; i < B; i++)
			memcpy(bb->tvb + (size_t)i * E, tv + (size_t)vids[i] * E, (size_t)E * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Nq, B, E, 1.0f, bb->tqb, E,
		            bb->tvb, E, 0.0f, bb->tau, B);
	}
	bb->b = (DeBatch){ B, bb->video, bb->vlen, Nq, bb->query, bb->qlen, bb->qvid,
	                   tv ? bb->tau : NULL };
}

static void
batch_free(DeBatchBuf *bb)
{
	free(bb->video);
	free(bb->query);
	free(bb->tau);
	free(bb->tqb);
	free(bb->tvb);
	free(bb->vlen);
	free(bb->qlen);
	free(bb->qvid);
	free(bb->pick);
}

/* ---- encoding and evaluation ---- */

/* unit embeddings of every video (nv, D) and caption (nq, D) of d */
static void
encode_split(DeModel *m, const Dataset *d, float *ve, float *qe)
{
	int D = de_config(m)->D;
	float *in = efloats(MAX((size_t)ENC_VIDEOS * d->max_vlen * d->dv,
	                        (size_t)ENC_QUERIES * d->max_qlen * d->dt));

	for (int v0 = 0; v0 < d->nv; v0 += ENC_VIDEOS) {
		int n = MIN(ENC_VIDEOS, d->nv - v0);
		data_videos(d, v0, n, in);
		de_encode_videos(m, in, d->vlen + v0, n, ve + (size_t)v0 * D);
	}
	for (int q0 = 0; q0 < d->nq; q0 += ENC_QUERIES) {
		int n = MIN(ENC_QUERIES, d->nq - q0);
		data_queries(d, q0, n, in);
		de_encode_queries(m, in, d->qlen + q0, n, qe + (size_t)q0 * D);
	}
	free(in);
}

/* s (N, nv) = cosines of captions q0 .. q0+N-1 to every video */
static void
score_block(float *s, const float *qe, const float *ve, int q0, int N, int nv, int D)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, nv, D, 1.0f, qe + (size_t)q0 * D,
	            D, ve, D, 0.0f, s, nv);
}

static void
evaluate(DeModel *m, const Dataset *d, Metrics *res)
{
	int D = de_config(m)->D;
	float *ve = efloats((size_t)d->nv * D), *qe = efloats((size_t)d->nq * D);
	float *s = efloats((size_t)SCORE_BLOCK * d->nv);
	int *rank = emalloc((size_t)d->nq * sizeof(int));

	encode_split(m, d, ve, qe);
	for (int q0 = 0; q0 < d->nq; q0 += SCORE_BLOCK) {
		int N = MIN(SCORE_BLOCK, d->nq - q0);
		score_block(s, qe, ve, q0, N, d->nv, D);
		for (int i = 0; i < N; i++)
			rank[q0 + i] = rank_of(s + (size_t)i * d->nv, d->nv, d->qvid[q0 + i]);
	}
	metrics_from_ranks(res, rank, d->nq, d->nv);
	free(ve);
	free(qe);
	free(s);
	free(rank);
}

static void
write_scores(const char *path, DeModel *m, const Dataset *d)
{
	int D = de_config(m)->D;
	float *ve = efloats((size_t)d->nv * D), *qe = efloats((size_t)d->nq * D);
	float *s = efloats((size_t)SCORE_BLOCK * d->nv);
	MpWriter *w;

	encode_split(m, d, ve, qe);
	w = mpw_open(path, 0);
	mpw_header(w, "scores", d->nq, 3);
	mpw_key(w, "videos");
	mpw_array(w, (size_t)d->nv);
	for (int v = 0; v < d->nv; v++)
		mpw_str(w, d->vid[v]);
	mpw_key(w, "branches");
	mpw_array(w, 1);
	mpw_str(w, "de");
	mpw_key(w, "split");
	if (d->split[0])
		mpw_str(w, d->split);
	else
		mpw_nil(w);
	mpw_record_done(w);
	for (int q0 = 0; q0 < d->nq; q0 += SCORE_BLOCK) {
		int N = MIN(SCORE_BLOCK, d->nq - q0);
		score_block(s, qe, ve, q0, N, d->nv, D);
		for (int i = 0; i < N; i++) {
			mpw_map(w, 3);
			mpw_kv_str(w, "id", d->qid[q0 + i]);
			mpw_kv_str(w, "video", d->vid[d->qvid[q0 + i]]);
			mpw_kv_f32(w, "de", s + (size_t)i * d->nv, (size_t)d->nv);
			mpw_record_done(w);
		}
	}
	mpw_close(w);
	free(ve);
	free(qe);
	free(s);
}

/* ---- the training log ---- */

/* the step record (lib/trainlog) with the Dual Encoding's components */
static void
log_step(MpWriter *w, int e, long step, double lr, double kdw, const DeLossParts *p)
{
	const LogPart part[3] = {
		{ "de_trip_t2v", p->trip_t2v }, { "de_trip_v2t", p->trip_v2t }, { "de_kd", p->kd },
	};

	trainlog_step(w, e, step, lr, kdw, p->total, part, 3);
}

/* ---- main ---- */

int
main(int argc, char *argv[])
{
	Config c;
	const char *video = NULL, *query = NULL, *tvpath = NULL, *tqpath = NULL, *valv = NULL;
	const char *valq = NULL, *testv = NULL, *testq = NULL, *out = "-", *logpath = NULL;
	const char *jarg = NULL;
	int ch, threads, bad = 0, k;
	unsigned char *given = ecalloc(NOPTS, 1);
	struct option *longopts = opts_longopts(io_opts, opts, NOPTS);
	Dataset *d, *val = NULL, *test;
	float *tv = NULL, *tq = NULL, *best = NULL;
	double best_sumr = -1;
	int best_epoch = -1, spe, *perm;
	long step = 0, total_steps;
	DeModel *m;
	MpWriter *log;
	DeBatchBuf bb = { 0 };
	AdamConfig ac;
	Rng rng;
	char capdesc[32];

	tool_start(argc, argv, help);
	config_defaults(&c);
	while ((ch = getopt_long(argc, argv, ":v:q:o:l:j:Qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v': video = optarg; break;
		case 'q': query = optarg; break;
		case 'o': out = optarg; break;
		case 'l': logpath = optarg; break;
		case 'j': jarg = optarg; break;
		case 'Q': progress_quiet = 1; break;
		case O_TV: tvpath = optarg; break;
		case O_TQ: tqpath = optarg; break;
		case O_VALV: valv = optarg; break;
		case O_VALQ: valq = optarg; break;
		case O_TESTV: testv = optarg; break;
		case O_TESTQ: testq = optarg; break;
		case 'h': help(); break;
		default:
			if ((k = opts_parse(opts, NOPTS, &c, ch, optarg)) < 0)
				bad_option(ch);
			given[k] = 1;
		}
	}
	free(longopts);
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!video || !query || !testv || !testq)
		usage_error("-v, -q, --test-video and --test-query are required");
	if (!valv != !valq)
		die("usage: --val-video and --val-query go together");
	if (!tvpath != !tqpath)
		die("usage: --teacher-video and --teacher-query go together");
	if (c.kd != KDM_NONE && !tvpath)
		die("usage: --kd %s needs --teacher-video and --teacher-query (or --kd none)",
		    kdname[c.kd]);
	c.schedule = c.kd == KDM_NONE ? SCHED_NONE : c.kd == KDM_FIXED ? SCHED_FIXED : c.dyn_sched;
	if (!given[opts_index(opts, NOPTS, "sched-k")])
		c.sched_k = sched_default_k(c.schedule);
	if (!given[opts_index(opts, NOPTS, "sched-b")])
		c.sched_b = sched_default_b(c.schedule);
	if (c.deterministic)
		c.mc.dropout = 0;
	check_outputs((const char *[]){ video, query, tvpath, tqpath, valv, valq, testv, testq }, 8,
	              (const char *[]){ out, logpath }, 2);
	free(given);
	threads = threads_init(jarg);

	/* ---- data: everything is read and checked before the first step ---- */
	d = data_load(video, query, NULL, c.kd != KDM_NONE ? tvpath : NULL, c.max_frames,
	              c.max_tokens, 1);
	if (d->nv < 2)
		die("%s: %d video: training needs at least 2", video, d->nv);
	if (c.kd != KDM_NONE) {
		tv = teacher_clips(d);
		tq = teacher_captions(d, tqpath);
	}
	if (valv)
		val = data_load_eval(valv, valq, c.max_frames, c.max_tokens, d);
	test = data_load_eval(testv, testq, c.max_frames, c.max_tokens, d);
	c.mc.dv = d->dv;
	c.mc.dt = d->dt;
	c.train_videos = d->nv;
	c.train_queries = d->nq;

	m = de_new(&c.mc);
	rng_seed(&rng, (uint64_t)c.seed);
	de_init(m, &rng);
	adam_defaults(&ac);
	ac.weight_decay = 0;
	/* ceil(videos / batch) steps, fewer where that would leave a batch of one video (--batch 2
	 * and an odd count): batch norm needs two */
	spe = MIN((d->nv + c.batch - 1) / c.batch, d->nv / 2);
	total_steps = (long)spe * c.epochs;
	perm = emalloc((size_t)d->nv * sizeof(*perm));
	log = trainlog_open(logpath, opts, NOPTS, &c, 0, 0);
	snprintf(capdesc, sizeof(capdesc), "%d", c.captions);
	progress(1, "%d videos, %d captions (%s per video and epoch), %zu parameters, %d steps/epoch,"
	         " kd %s (%s), %d threads", d->nv, d->nq, c.captions ? capdesc : "all",
	         de_num_params(m), spe, kdname[c.kd], sched_name(c.schedule), threads);
	if (val)
		best = efloats(de_num_params(m));

	/* ---- training ---- */
	for (int e = 0; e < c.epochs; e++) {
		double t0 = now_seconds(), sum = 0, secs;
		double kdw = kd_weight_at_epoch(c.schedule, e, c.lambda, 0, c.sched_k, c.sched_b);
		DeLossConfig lc = { c.margin, (float)kdw, c.kd_temp, 1 };
		Metrics vm;
		int isbest = 0;

		for (int v = 0; v < d->nv; v++)
			perm[v] = v;
		rng_shuffle(&rng, perm, d->nv);
		for (int s = 0, v0 = 0; s < spe; s++) {
			/* spe batches of nearly equal size (never one video: batch norm needs two) */
			int B = d->nv / spe + (s < d->nv % spe);
			double lr = lr_at_step(c.lr, step, total_steps, c.warmup);
			DeLossParts parts;
			float loss;
			make_batch(&bb, d, perm + v0, B, c.captions, tv, tq, &rng);
			de_zero_grad(m);
			loss = de_loss(m, &bb.b, &lc, &rng, &parts, 1);
			if (!isfinite(loss))
				die("epoch %d step %ld: loss is %f (diverged; lower --lr?)", e, step + 1, loss);
			for (int i = 0; i < de_num_tensors(m); i++) {
				ParamInfo p = de_tensor(m, i);
				adam_update(p.w, p.g, p.m, p.v, p.n, p.decay, (float)lr, &ac);
			}
			step++;
			sum += loss;
			log_step(log, e, step, lr, kdw, &parts);
			progress(0, "epoch %d step %d/%d loss %.4f", e + 1, s + 1, spe, loss);
			v0 += B;
		}
		if (val) {
			evaluate(m, val, &vm);
			if (vm.sumr > best_sumr) {
				best_sumr = vm.sumr;
				best_epoch = e;
				bad = 0;
				isbest = 1;
				de_get_weights(m, best);
			} else
				bad++;
		}
		secs = now_seconds() - t0;
		trainlog_epoch(log, e, step, sum / spe, val ? &vm : NULL, NULL, isbest, secs);
		if (val)
			progress(1, "epoch %d/%d loss %.4f w %.4f val SumR %.2f%s (best %.2f at %d) "
			         "%.1f s/epoch", e + 1, c.epochs, sum / spe, kdw, vm.sumr,
			         isbest ? " *" : "", best_sumr, best_epoch + 1, secs);
		else
			progress(1, "epoch %d/%d loss %.4f w %.4f %.1f s/epoch", e + 1, c.epochs, sum / spe,
			         kdw, secs);
		if (val && bad >= c.patience) {
			progress(1, "no improvement for %d epochs: stopping", bad);
			break;
		}
	}
	if (val)
		de_set_weights(m, best);

	/* ---- the test split's scores ---- */
	write_scores(out, m, test);
	if (log)
		mpw_close(log);
	free(best);
	free(perm);
	free(tv);
	free(tq);
	batch_free(&bb);
	de_free(m);
	data_free(d);
	data_free(val);
	data_free(test);
	return 0;
}
