/* distill-step: train the DL-DKD student (doc/method.md) on reduced feature streams and
 * write its checkpoint. Each epoch shuffles the training videos with the run's Rng, takes
 * batches of B videos with all their queries, and makes one BertAdam step per batch (lr: BERT
 * warm-up/decay over steps per epoch x epochs; distillation weight: the schedule of the epoch).
 * With validation streams, each epoch ends by encoding the validation videos and queries with
 * every branch, ranking all videos for every query with the fused score and computing SumR; the
 * best checkpoint is kept and training stops after `patience` epochs without improvement.
 * A checkpoint holds the whole configuration and state, so --resume continues a run bit for bit.
 * --eval-loss evaluates (no update, no dropout) the loss components of a checkpoint on the
 * batches its next epoch would see.
 * Started by mpirun (or srun) with P > 1 ranks, it trains the same model data-parallel
 * (doc/scale.md): every rank draws the same batches and random numbers, reads and encodes its
 * share of each batch (model_loss_dp), and makes the same Adam step; rank 0 alone validates,
 * writes the checkpoint and the log, and prints progress. Not here: the model's numerics
 * (model), ranking of test sets (rank, metrics), encoding for retrieval (encode-video,
 * encode-text). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>

#include "adam.h"
#include "ckpt.h"
#include "comm.h"
#include "data.h"
#include "evalm.h"
#include "kd.h"
#include "model.h"
#include "mpio.h"
#include "schedule.h"
#include "schema.h"
#include "threads.h"
#include "trainlog.h"
#include "score.h"
#include "util.h"

#define ENC_VIDEOS 64          /* videos per encoding call during validation */
#define ENC_QUERIES 256        /* queries per encoding call */
#define SCORE_BLOCK 256        /* queries scored at a time */

static const char *brname[NBRANCH] = { "inh", "exp" };

static void
help(void)
{
	printf(
"distill-step - train the DL-DKD student (dual branches, dynamic distillation)\n"
"\n"
"usage: %s -v VIDEO -q QUERY [-t TEACHER_SIM] [-T VIDEO_TEACHER] [--teacher-query F]\n"
"       [--val-video F --val-query F] -o CKPT [-l LOG] [options]\n"
"\n"
"Trains the student of doc/method.md and writes its checkpoint (kind checkpoint) to\n"
"CKPT: the best one by validation SumR of the fused score, or the last one without\n"
"validation. Reads reduced streams: VIDEO video-features (student), QUERY query-features\n"
"(student), TEACHER_SIM teacher-sim (similarity distillation), VIDEO_TEACHER video-features\n"
"(teacher; feature distillation, soft alignment), all uncompressed files: only their index\n"
"stays in memory\n"
"and each batch is read again from them. LOG (kind train-log): one record per step and per\n"
"epoch.\n"
"Nothing is written to stdout except the --eval-loss log without -l.\n"
"\n"
"data and output:\n"
"  -v, --video F          training videos (required)\n"
"  -q, --query F          training queries (required)\n"
"  -t, --teacher-sim F    teacher similarities tau(q, v) (needed by --kd sim when distilling)\n"
"  -T, --teacher-video F  teacher frame features (needed by --kd feat and --soft-align)\n"
"      --teacher-query F  teacher query embeddings, query-features with role teacher\n"
"                         (needed by --soft-align with an inheritance branch)\n"
"      --val-video F      validation videos   } both or neither: per-epoch validation,\n"
"      --val-query F      validation queries  } best-checkpoint selection, early stopping\n"
"  -o, --output CKPT      checkpoint written atomically (required unless --eval-loss);\n"
"                         while training, each better epoch goes to CKPT.best, renamed to\n"
"                         CKPT when training ends, so an interrupted run leaves no CKPT\n"
"  -l, --log LOG          training log (default: none; with --eval-loss: stdout), renamed\n"
"                         into place after every epoch; --resume continues an existing LOG\n"
"      --save-every-epoch DIR   also write DIR/epoch-N.mp after every epoch (N = epochs done)\n"
"      --resume CKPT      continue the run of CKPT with its configuration: the options\n"
"                         below are ignored, except that those fixing the model's shape\n"
"                         (--hidden, --heads, --max-frames, --max-tokens, --branches,\n"
"                         --shared-query-proj, --kd) must match CKPT's\n"
"      --eval-loss        with --resume: log the loss of CKPT's weights on the batches of its\n"
"                         next epoch, with no update and no dropout (and validate if given)\n"
"  -j, --threads N        threads in all, BLAS included (default: $OPENBLAS_NUM_THREADS or 2)\n", argv0);
	opts_help(train_opts, ntrain_opts, NULL);
	printf("distillation kinds:\n");
	kd_help(stdout);
	printf("presets (--preset NAME:DATASET):\n");
	ckpt_preset_help(stdout);
	printf(
"  Under mpirun -np P (built with MPI): the same training data-parallel over P ranks, -j\n"
"  threads each; rank 0 validates and writes CKPT and LOG (doc/scale.md).\n"
"  Progress (epoch, loss, validation SumR, seconds) goes to stderr. Exit 1 on any error,\n"
"  leaving no CKPT behind (LOG: the epochs completed). Outputs are checked to be creatable,\n"
"  and not to be inputs, before any work.\n");
	exit(0);
}

enum { O_VALV = 256, O_VALQ, O_SAVE, O_RESUME, O_EVAL, O_TQUERY };

/* the options that are not configuration; train_opts (lib/ckpt.c) adds the others */
static const struct option io_opts[] = {
	{ "video", required_argument, NULL, 'v' },
	{ "query", required_argument, NULL, 'q' },
	{ "teacher-sim", required_argument, NULL, 't' },
	{ "teacher-video", required_argument, NULL, 'T' },
	{ "teacher-query", required_argument, NULL, O_TQUERY },
	{ "output", required_argument, NULL, 'o' },
	{ "log", required_argument, NULL, 'l' },
	{ "threads", required_argument, NULL, 'j' },
	{ "val-video", required_argument, NULL, O_VALV },
	{ "val-query", required_argument, NULL, O_VALQ },
	{ "save-every-epoch", required_argument, NULL, O_SAVE },
	{ "resume", required_argument, NULL, O_RESUME },
	{ "eval-loss", no_argument, NULL, O_EVAL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* ---- validation: encode every video and query, rank all videos for every query ---- */

typedef struct {
	Metrics fused, br[NBRANCH];  /* fused: beta-fusion with two branches, else the one branch */
} ValResult;

/* frame embeddings (total frames, D) of every video of d with branch br */
static void
encode_all_videos(Model *m, int br, const Dataset *d, float *frames)
{
	int D = model_config(m)->D, dv = d->dv;
	float *in = NULL, *out = NULL;
	int *vlen = emalloc(ENC_VIDEOS * sizeof(*vlen));

	in = efloats((size_t)ENC_VIDEOS * d->max_vlen * dv);
	out = efloats((size_t)ENC_VIDEOS * d->max_vlen * D);
	for (int v0 = 0; v0 < d->nv; v0 += ENC_VIDEOS) {
		int B = MIN(ENC_VIDEOS, d->nv - v0), L = 0;
		for (int i = 0; i < B; i++)
			L = MAX(L, d->vlen[v0 + i]);
		memset(in, 0, (size_t)B * L * dv * sizeof(float));
		for (int i = 0; i < B; i++) {
			vlen[i] = d->vlen[v0 + i];
			data_videos(d, v0 + i, 1, in + (size_t)i * L * dv);
		}
		model_encode_videos(m, br, in, vlen, B, L, out);
		for (int i = 0; i < B; i++)
			memcpy(frames + (size_t)d->voff[v0 + i] * D, out + (size_t)i * L * D,
			       (size_t)vlen[i] * D * sizeof(float));
	}
	free(in);
	free(out);
	free(vlen);
}

/* query embeddings (nq, D) of every query of d with branch br */
static void
encode_all_queries(Model *m, int br, const Dataset *d, float *emb)
{
	int D = model_config(m)->D, dt = d->dt;
	float *in = efloats((size_t)ENC_QUERIES * d->max_qlen * dt);
	int *qlen = emalloc(ENC_QUERIES * sizeof(*qlen));

	for (int q0 = 0; q0 < d->nq; q0 += ENC_QUERIES) {
		int N = MIN(ENC_QUERIES, d->nq - q0), T = 0;
		for (int i = 0; i < N; i++)
			T = MAX(T, d->qlen[q0 + i]);
		memset(in, 0, (size_t)N * T * dt * sizeof(float));
		for (int i = 0; i < N; i++) {
			qlen[i] = d->qlen[q0 + i];
			data_queries(d, q0 + i, 1, in + (size_t)i * T * dt);
		}
		model_encode_queries(m, br, in, qlen, N, T, emb + (size_t)q0 * D);
	}
	free(in);
	free(qlen);
}

static void
validate(Model *m, double beta, const Dataset *d, ValResult *res)
{
	const ModelConfig *mc = model_config(m);
	int D = mc->D, nv = d->nv, nq = d->nq, both = mc->has_branch[0] && mc->has_branch[1];
	float *frames[NBRANCH] = { NULL }, *qemb[NBRANCH] = { NULL }, *s[NBRANCH] = { NULL };
	float *fused = efloats((size_t)SCORE_BLOCK * nv);
	int *off = emalloc((size_t)(nv + 1) * sizeof(*off));
	int *rank[NBRANCH + 1];

	for (int v = 0; v <= nv; v++)
		off[v] = (int)d->voff[v];
	for (int b = 0; b <= NBRANCH; b++)
		rank[b] = emalloc((size_t)nq * sizeof(int));
	for (int b = 0; b < NBRANCH; b++) {
		if (!mc->has_branch[b])
			continue;
		frames[b] = efloats((size_t)d->voff[nv] * D);
		qemb[b] = efloats((size_t)nq * D);
		s[b] = efloats((size_t)SCORE_BLOCK * nv);
		encode_all_videos(m, b, d, frames[b]);
		encode_all_queries(m, b, d, qemb[b]);
	}
	for (int q0 = 0; q0 < nq; q0 += SCORE_BLOCK) {
		int N = MIN(SCORE_BLOCK, nq - q0);
		const float *f = NULL;
		for (int b = 0; b < NBRANCH; b++) {
			if (!s[b])
				continue;
			score_cosmax(s[b], qemb[b] + (size_t)q0 * D, N, frames[b], off, nv, D);
			for (int i = 0; i < N; i++)
				rank[b][q0 + i] = rank_of(s[b] + (size_t)i * nv, nv, d->qvid[q0 + i]);
			f = s[b];
		}
		if (both) {
			score_fuse(fused, s[BR_EXP], s[BR_INH], (float)beta, (long)N * nv);
			f = fused;
		}
		for (int i = 0; i < N; i++)
			rank[NBRANCH][q0 + i] = rank_of(f + (size_t)i * nv, nv, d->qvid[q0 + i]);
	}
	memset(res, 0, sizeof(*res));
	metrics_from_ranks(&res->fused, rank[NBRANCH], nq, nv);
	for (int b = 0; b < NBRANCH; b++)
		if (mc->has_branch[b])
			metrics_from_ranks(&res->br[b], rank[b], nq, nv);
	for (int b = 0; b < NBRANCH; b++) {
		free(frames[b]);
		free(qemb[b]);
		free(s[b]);
	}
	for (int b = 0; b <= NBRANCH; b++)
		free(rank[b]);
	free(fused);
	free(off);
}

/* ---- the training log ---- */

/* the step record (lib/trainlog) with each branch's unweighted components */
static void
log_step(MpWriter *w, const ModelConfig *mc, long epoch, long step, double lr, float kdw,
         const LossParts *p)
{
	static const char *what[5] = { "trip_t2v", "trip_v2t", "nce_t2v", "nce_v2t", "kd" };
	char key[NBRANCH * 5][32];
	LogPart part[NBRANCH * 5];
	int n = 0;

	for (int b = 0; b < NBRANCH; b++) {
		const double v[5] = { p->trip_t2v[b], p->trip_v2t[b], p->nce_t2v[b], p->nce_v2t[b], p->kd[b] };
		if (!mc->has_branch[b])
			continue;
		for (int i = 0; i < 5; i++, n++) {
			snprintf(key[n], sizeof(key[n]), "%s_%s", brname[b], what[i]);
			part[n] = (LogPart){ key[n], v[i] };
		}
	}
	trainlog_step(w, epoch, step, lr, kdw, p->total, part, n);
}

/* the epoch record: the fused validation, and each branch's SumR when there are two */
static void
log_epoch(MpWriter *w, const ModelConfig *mc, long epoch, long step, double loss,
          const ValResult *val, int best, double seconds)
{
	double br[2] = { val ? val->br[BR_INH].sumr : 0, val ? val->br[BR_EXP].sumr : 0 };

	trainlog_epoch(w, epoch, step, loss, val ? &val->fused : NULL,
	               val && mc->has_branch[0] && mc->has_branch[1] ? br : NULL, best, seconds);
}

/* ---- epochs ---- */

/* one pass over the batches of epoch e, in the order drawn from rng. update: Adam steps (else
 * the loss is only evaluated, without dropout). Returns the mean loss over the steps. */
static double
run_epoch(Model *m, const TrainConfig *tc, const Dataset *d, int e, long *step, Rng *rng,
          int update, BatchBuf *bb, int *perm, MpWriter *log, Comm *cm)
{
	LossConfig lc;
	LossParts parts;
	int spe = data_steps_per_epoch(d, tc->batch);
	double sum = 0;

	ckpt_loss_config(tc, e, update, &lc);
	for (int v = 0; v < d->nv; v++)
		perm[v] = v;
	rng_shuffle(rng, perm, d->nv);
	for (int s = 0; s < spe; s++) {
		int v0 = s * tc->batch, B = MIN(tc->batch, d->nv - v0);
		double lr = lr_at_step(tc->lr, *step, tc->total_steps, tc->warmup);
		float loss;
		data_make_batch_share(d, perm + v0, B, cm, bb);
		if (update)
			model_zero_grad(m);
		memset(&parts, 0, sizeof(parts));
		loss = model_loss_dp(m, &bb->b, &lc, rng, &parts, update, cm);
		if (!isfinite(loss))
			die("epoch %d step %ld: loss is %f (diverged; lower --lr?)", e, *step + 1, loss);
		if (update)
			adam_step(m, (float)lr, &tc->adam);
		++*step;
		sum += loss;
		log_step(log, &tc->mc, e, *step, lr, lc.kd_weight, &parts);
		progress(0, "epoch %d step %d/%d loss %.4f", e + 1, s + 1, spe, loss);
	}
	return sum / spe;
}

/* every rank's weights must stay rank 0's bit for bit (MPI does not promise that an all-reduce
 * gives every rank the same float sums; Open MPI's algorithms for large blocks do): compared by
 * a hash after each epoch, a divergence is an error rather than a silent mix of models */
static void
check_same_weights(const Model *m, int epoch, Comm *cm)
{
	const unsigned char *w = (const unsigned char *)model_tensor(m, 0).w;
	uint64_t h = 14695981039346656037u, h0;   /* FNV-1a */

	if (cm->size == 1)
		return;
	for (size_t i = 0; i < model_num_params(m) * sizeof(float); i++)
		h = (h ^ w[i]) * 1099511628211u;
	h0 = h;
	comm_bcast(cm, &h0, sizeof(h0));
	if (h != h0)
		die("epoch %d: the weights of rank %d differ from rank 0's (the all-reduce gave the ranks "
		    "different sums)", epoch + 1, cm->rank);
}

/* validation on rank 0 alone; its result to every rank (they decide on early stopping alike) */
static void
validate_once(Model *m, double beta, const Dataset *d, ValResult *res, Comm *cm)
{
	if (cm->rank == 0)
		validate(m, beta, d, res);
	comm_bcast(cm, res, sizeof(*res));
}

static void
save_epoch(const char *dir, const TrainConfig *tc, const TrainState *st, const Model *m)
{
	char path[4096];

	if (mkdir(dir, 0777) && errno != EEXIST)
		die("mkdir %s:", dir);
	snprintf(path, sizeof(path), "%s/epoch-%ld.mp", dir, st->epoch);
	ckpt_write(path, tc, st, m);
}

static void
write_bytes(const char *path, const char *buf, size_t n)
{
	MpWriter *w = mpw_open(path, 0);

	while (n > 0) {
		ssize_t k = write(w->fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write %s:", path);
		buf += k;
		n -= (size_t)k;
	}
	mpw_close(w);
}

/* 1 when path exists and is a checkpoint of epoch st->best_epoch with SumR st->best_sumr */
static int
holds_best(const char *path, const TrainState *st)
{
	MpReader *r;
	const msgpack_object *h;
	int ok;

	if (access(path, F_OK))
		return 0;
	r = mpr_open(path);
	h = schema_header(r, "checkpoint");
	ok = mpr_int(r, h, "epoch") == st->best_epoch && mpr_num(r, h, "best_sumr") == st->best_sumr;
	mpr_close(r);
	return ok;
}

int
main(int argc, char *argv[])
{
	TrainConfig tc;
	TrainState st;
	const char *video = NULL, *query = NULL, *tsim = NULL, *tvideo = NULL, *valv = NULL;
	const char *valq = NULL, *out = NULL, *logpath = NULL, *savedir = NULL, *resume = NULL;
	const char *jarg = NULL, *tquery = NULL;
	int c, threads, eval_loss = 0, wrote_out = 0, feat;
	unsigned char *given = ecalloc((size_t)ntrain_opts, 1);
	struct option *longopts = opts_longopts(io_opts, train_opts, ntrain_opts);
	Dataset *d, *val = NULL;
	Model *m;
	MpWriter *log;
	BatchBuf bb = { 0 };
	int *perm, k;
	char *resume_bytes = NULL, best_path[4096] = "", save_probe[4096];
	size_t resume_n = 0;
	Comm *cm = &comm_self;

	tool_start(argc, argv, help);
	/* MPI only when a launcher started several ranks: a plain run does not start MPI's runtime
	 * (doc/scale.md) */
	if (comm_launched() > 1) {
#ifdef HAVE_MPI
		cm = comm_mpi_start(&argc, &argv);
		progress_quiet |= cm->rank != 0;
#else
		die("started as one of %d MPI ranks, but built without MPI (no mpicc when it was "
		    "compiled): run one process, or rebuild with Open MPI installed", comm_launched());
#endif
	}
	ckpt_config_defaults(&tc);
	while ((c = getopt_long(argc, argv, ":v:q:t:T:o:l:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': video = optarg; break;
		case 'q': query = optarg; break;
		case 't': tsim = optarg; break;
		case 'T': tvideo = optarg; break;
		case 'o': out = optarg; break;
		case 'l': logpath = optarg; break;
		case 'j': jarg = optarg; break;
		case O_VALV: valv = optarg; break;
		case O_VALQ: valq = optarg; break;
		case O_SAVE: savedir = optarg; break;
		case O_RESUME: resume = optarg; break;
		case O_EVAL: eval_loss = 1; break;
		case O_TQUERY: tquery = optarg; break;
		case 'h': help(); break;
		default:
			if ((k = opts_parse(train_opts, ntrain_opts, &tc, c, optarg)) < 0)
				bad_option(c);
			given[k] = 1;
		}
	}
	free(longopts);
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!video || !query)
		usage_error("-v VIDEO and -q QUERY are required");
	if (!valv != !valq)
		die("usage: --val-video and --val-query go together");
	if (eval_loss && !resume)
		die("usage: --eval-loss needs --resume CKPT (the weights to evaluate)");
	if (eval_loss && (out || savedir))
		die("usage: --eval-loss writes no checkpoint (no -o, no --save-every-epoch)");
	if (!eval_loss && !out)
		die("usage: -o CKPT is required");
	if (out && snprintf(best_path, sizeof(best_path), "%s.best", out) >= (int)sizeof(best_path))
		die("%s: path too long", out);
	if (savedir && ((mkdir(savedir, 0777) && errno != EEXIST) ||
	                snprintf(save_probe, sizeof(save_probe), "%s/epoch-0.mp", savedir) >=
	                (int)sizeof(save_probe)))
		die("mkdir %s:", savedir);
	if (cm->rank == 0) {   /* the one writer */
		check_outputs((const char *[]){ video, query, tsim, tvideo, valv, valq, tquery }, 7,
		              (const char *[]){ out, out ? best_path : NULL, logpath,
		                                savedir ? save_probe : NULL }, 4);
		/* resuming from CKPT.best is how an interrupted run continues: it is read before
		 * any write */
		check_outputs(&resume, 1, (const char *[]){ out, logpath }, 2);
	}
	threads = threads_init(jarg);

	/* ---- configuration: from the command line, or the checkpoint's when resuming ---- */
	if (resume) {
		TrainConfig cli = tc;
		int ignored;
		m = ckpt_read(resume, &tc, &st, 1);
		if ((ignored = ckpt_config_resume(&cli, given, &tc, resume)))
			warnf("--resume: model and training options come from %s; %d given ignored",
			      resume, ignored);
		if (st.epoch >= tc.epochs && !eval_loss)
			die("%s: all %d epochs are done", resume, tc.epochs);
		if (!eval_loss && st.bad_epochs >= tc.patience)
			die("%s: the run already stopped early (%ld epochs without improvement)",
			    resume, st.bad_epochs);
	} else {
		ckpt_config_cli(&tc, given);
		m = NULL;
	}
	free(given);
	feat = kd_kinds[tc.kd].on == KD_ON_FEAT;
	if (ckpt_uses_kd(&tc) && !feat && !tsim)
		die("usage: --branches %s distils with --kd sim: -t TEACHER_SIM is required "
		    "(or --schedule none)", tc.branches);
	if (ckpt_uses_kd(&tc) && feat && !tvideo)
		die("usage: --kd feat needs -T VIDEO_TEACHER");
	if (ckpt_uses_teacher_scores(&tc) && (!tvideo || !tquery))
		die("usage: --soft-align with an inheritance branch needs -T VIDEO_TEACHER and "
		    "--teacher-query F (the teacher's batch scores)");

	/* ---- data ---- */
	d = data_load(video, query, ckpt_uses_kd(&tc) && !feat ? tsim : NULL,
	              (ckpt_uses_kd(&tc) && feat) || ckpt_uses_teacher_scores(&tc) ? tvideo : NULL,
	              tc.mc.max_frames, tc.mc.max_tokens,
	              DATA_EVERY_QUERIED | (tc.soft_align ? DATA_RESAMPLE : 0));
	if (ckpt_uses_teacher_scores(&tc))
		data_load_teacher_queries(d, tquery);
	if (d->nv < 2)
		die("%s: %d video: training needs at least 2", video, d->nv);
	if (valv)
		val = data_load_eval(valv, valq, tc.mc.max_frames, tc.mc.max_tokens, d);
	if (resume) {
		if (d->dv != tc.mc.dv || d->dt != tc.mc.dt)
			die("%s, %s: dims %d, %d, but %s was trained on %d, %d", video, query, d->dv,
			    d->dt, resume, tc.mc.dv, tc.mc.dt);
		if (d->nv != tc.train_videos || d->nq != tc.train_queries)
			die("%s: %d videos and %d queries, but %s was trained on %ld and %ld", video,
			    d->nv, d->nq, resume, tc.train_videos, tc.train_queries);
		if (((ckpt_uses_kd(&tc) && feat) || ckpt_uses_teacher_scores(&tc)) && d->E != tc.mc.E)
			die("%s: teacher dim %d, but %s has %d", tvideo, d->E, resume, tc.mc.E);
		if (val && !eval_loss && st.epoch == st.best_epoch && out)
			resume_bytes = slurp(resume, SIZE_MAX / 2, &resume_n);   /* re-emitted as is */
	} else {
		tc.mc.dv = d->dv;
		tc.mc.dt = d->dt;
		tc.mc.E = d->E;     /* 0 without feature distillation or teacher scores */
		tc.train_videos = d->nv;
		tc.train_queries = d->nq;
		tc.steps_per_epoch = data_steps_per_epoch(d, tc.batch);
		tc.total_steps = tc.steps_per_epoch * (long)tc.epochs;
		m = model_new(&tc.mc);
		memset(&st, 0, sizeof(st));
		rng_seed(&st.rng, tc.seed);
		model_init(m, &st.rng);
		st.best_sumr = -1;
		st.best_epoch = -1;
	}
	progress(1, "%d videos, %d queries, %zu parameters, %ld steps/epoch, branches %s, "
	         "%d threads x %d ranks", d->nv, d->nq, model_num_params(m), tc.steps_per_epoch,
	         tc.branches, threads, cm->size);
	perm = emalloc((size_t)d->nv * sizeof(*perm));
	log = cm->rank ? NULL : trainlog_open(eval_loss && !logpath ? "-" : logpath, train_opts,
	                                      ntrain_opts, &tc, eval_loss,
	                                      resume && !eval_loss ? st.epoch : 0);

	/* ---- --eval-loss: one pass without updates ---- */
	if (eval_loss) {
		double t0 = now_seconds(), loss;
		long step = st.step;
		ValResult vr;
		loss = run_epoch(m, &tc, d, (int)st.epoch, &step, &st.rng, 0, &bb, perm, log, cm);
		if (val)
			validate_once(m, tc.beta, val, &vr, cm);
		log_epoch(log, &tc.mc, st.epoch, st.step, loss, val ? &vr : NULL, 0,
		          now_seconds() - t0);
		progress(1, "eval-loss: epoch %ld mean loss %.6f", st.epoch, loss);
		if (val)
			progress(1, "eval-loss: validation SumR %.2f", vr.fused.sumr);
		if (log)
			mpw_close(log);
		goto done;
	}

	/* ---- training ---- */
	for (int e = (int)st.epoch; e < tc.epochs; e++) {
		double t0 = now_seconds(), loss, secs;
		ValResult vr;
		int best = 0;
		loss = run_epoch(m, &tc, d, e, &st.step, &st.rng, 1, &bb, perm, log, cm);
		check_same_weights(m, e, cm);
		st.epoch = e + 1;
		if (val) {
			validate_once(m, tc.beta, val, &vr, cm);
			if (vr.fused.sumr > st.best_sumr) {
				st.best_sumr = vr.fused.sumr;
				st.best_epoch = st.epoch;
				st.bad_epochs = 0;
				best = 1;
			} else
				st.bad_epochs++;
		}
		secs = now_seconds() - t0;
		/* the log first, then the checkpoints: a run killed between the two resumes from an
		 * older CKPT.best and cuts the log back to it, where the other order would leave a
		 * CKPT.best whose epoch the log lacks */
		log_epoch(log, &tc.mc, e, st.step, loss, val ? &vr : NULL, best, secs);
		if (log)
			mpw_publish(log);  /* a killed run keeps its log up to here */
		if (best) {
			if (cm->rank == 0)
				ckpt_write(best_path, &tc, &st, m);
			wrote_out = 1;
		}
		if (savedir && cm->rank == 0)
			save_epoch(savedir, &tc, &st, m);
		if (val)
			progress(1, "epoch %d/%d loss %.4f val SumR %.2f%s (best %.2f at %ld) %.1f s/epoch",
			         e + 1, tc.epochs, loss, vr.fused.sumr, best ? " *" : "",
			         st.best_sumr, st.best_epoch, secs);
		else
			progress(1, "epoch %d/%d loss %.4f %.1f s/epoch", e + 1, tc.epochs, loss, secs);
		if (val && st.bad_epochs >= tc.patience) {
			progress(1, "no improvement for %ld epochs: stopping", st.bad_epochs);
			break;
		}
	}
	if (cm->rank)
		;   /* rank 0 writes */
	else if (!val)
		ckpt_write(out, &tc, &st, m);
	else if (wrote_out || holds_best(best_path, &st)) {
		/* only a finished run has CKPT: an interrupted one leaves CKPT.best behind */
		if (rename(best_path, out))
			die("rename %s to %s:", best_path, out);
	} else if (resume_bytes) {
		/* resumed, and no epoch after the resumed one was better: the best checkpoint is
		 * the resumed one, or one written by the interrupted run before it */
		write_bytes(out, resume_bytes, resume_n);
	} else if (!holds_best(out, &st))
		die("no improvement after the resumed epoch; the best checkpoint (epoch %ld) is "
		    "neither %s nor in %s or %s", st.best_epoch, resume, best_path, out);
	else
		progress(1, "%s already holds the best checkpoint (epoch %ld)", out, st.best_epoch);
	if (log)
		mpw_close(log);
done:
#ifdef HAVE_MPI
	if (cm != &comm_self)
		comm_mpi_end(cm);
#endif
	free(resume_bytes);
	free(st.cmd);
	free(perm);
	data_batch_free(&bb);
	data_free(d);
	data_free(val);
	model_free(m);
	return 0;
}
