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
#include "rng.h"
#include "schedule.h"
#include "threads.h"
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
	int kd, schedule;          /* KDM_*, SCHED_* (the schedule of w(e)) */
	double lambda, sched_k, sched_b;
	int batch, captions, epochs, patience, deterministic, max_frames, max_tokens;
	double lr, warmup;
	long seed;
} Config;

static void
help(void)
{
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
"model:\n"
"      --hidden N         GRU hidden size per direction (default 512)\n"
"      --filters N        convolution filters per kernel size (default 512)\n"
"      --dim N            common space dimension (default 1024)\n"
"      --dropout P        dropout before the last Linear (default 0.2)\n"
"      --no-bn            no batch normalisation after the last Linear (the original has\n"
"                         it; without it the hardest-negative loss tends to collapse)\n"
"      --max-frames N     frames per video at most (default 128)\n"
"      --max-tokens N     tokens per caption at most (default 30)\n"
"loss:\n"
"      --margin M         triplet margin (default 0.2)\n"
"      --kd K             none | fixed | dynamic (default dynamic): w(e) = 0, lambda, or\n"
"                         lambda * rho(e) with the --schedule decay\n"
"      --schedule S       the dynamic decay: exp | linear | sigmoid (default exp)\n"
"      --lambda L         distillation weight lambda (default 0.1)\n"
"      --sched-k K        schedule k (default: exp 0.95, linear -0.01, sigmoid 800)\n"
"      --sched-b B        linear schedule b (default 1)\n"
"      --kd-temp T        temperature of both softmaxes over videos (default 0.2)\n"
"optimisation:\n"
"      --batch N          videos per step at most (default 128); an epoch has\n"
"                         ceil(videos / N) steps of nearly equal size\n"
"      --captions N       captions per video and epoch, drawn at random each epoch; 0 = all\n"
"                         (default 0: every caption once per epoch, as the original's epoch)\n"
"      --lr LR            peak learning rate (default 1e-4)\n"
"      --warmup F         warm-up fraction of the planned steps (default 0.01)\n"
"      --epochs N         epochs (default 50)\n"
"      --patience N       with validation: stop after N epochs without a better SumR\n"
"                         (default 10)\n"
"      --seed S           random seed (default 0)\n"
"      --deterministic    dropout 0\n"
"  Same seed, threads and inputs give the same scores. Progress (epoch, loss, validation SumR,\n"
"  seconds) on stderr. Exit 1 on any error, leaving no SCORES or LOG behind.\n", argv0);
	exit(0);
}

enum {
	O_TV = 256, O_TQ, O_VALV, O_VALQ, O_TESTV, O_TESTQ, O_HIDDEN, O_FILTERS, O_DIM, O_DROPOUT,
	O_MAXF, O_MAXT, O_MARGIN, O_KD, O_SCHED, O_LAMBDA, O_SK, O_SB, O_KDTEMP, O_BATCH,
	O_CAPTIONS, O_LR, O_WARMUP, O_EPOCHS, O_PATIENCE, O_SEED, O_DET, O_NOBN
};

static const struct option longopts[] = {
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
	{ "hidden", required_argument, NULL, O_HIDDEN },
	{ "filters", required_argument, NULL, O_FILTERS },
	{ "dim", required_argument, NULL, O_DIM },
	{ "dropout", required_argument, NULL, O_DROPOUT },
	{ "no-bn", no_argument, NULL, O_NOBN },
	{ "max-frames", required_argument, NULL, O_MAXF },
	{ "max-tokens", required_argument, NULL, O_MAXT },
	{ "margin", required_argument, NULL, O_MARGIN },
	{ "kd", required_argument, NULL, O_KD },
	{ "schedule", required_argument, NULL, O_SCHED },
	{ "lambda", required_argument, NULL, O_LAMBDA },
	{ "sched-k", required_argument, NULL, O_SK },
	{ "sched-b", required_argument, NULL, O_SB },
	{ "kd-temp", required_argument, NULL, O_KDTEMP },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "captions", required_argument, NULL, O_CAPTIONS },
	{ "lr", required_argument, NULL, O_LR },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "epochs", required_argument, NULL, O_EPOCHS },
	{ "patience", required_argument, NULL, O_PATIENCE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "deterministic", no_argument, NULL, O_DET },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* ---- the teacher: unit clip embeddings (mean of frames) and unit caption embeddings ---- */

static void
unit_rows(float *x, long n, int E)
{
	for (long i = 0; i < n; i++) {
		float *r = x + (size_t)i * E;
		double s = 0;
		for (int j = 0; j < E; j++)
			s += (double)r[j] * r[j];
		s = sqrt(s);
		s = s > 1e-12 ? s : 1e-12;
		for (int j = 0; j < E; j++)
			r[j] = (float)(r[j] / s);
	}
}

/* tv (nv, E) from the teacher frames data_load put in d->tvideo */
static float *
teacher_clips(const Dataset *d)
{
	int E = d->E;
	float *tv = efloats((size_t)d->nv * E);

	for (int v = 0; v < d->nv; v++) {
		float *o = tv + (size_t)v * E;
		for (int t = 0; t < d->vlen[v]; t++) {
			const float *x = d->tvideo + (size_t)(d->voff[v] + t) * E;
			for (int j = 0; j < E; j++)
				o[j] += x[j];
		}
		for (int j = 0; j < E; j++)
			o[j] /= (float)d->vlen[v];
	}
	unit_rows(tv, d->nv, E);
	return tv;
}

/* tq (nq, E): the teacher query stream, matched to d's captions by id */
static float *
teacher_captions(const char *path, const Dataset *d)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *h = mpr_header(r, "query-features"), *o;
	IdIndex x;
	char *seen = ecalloc((size_t)d->nq, 1), role[32], id[512], vid[512];
	float *tq;
	long dim, n;
	int nseen = 0;

	mpr_strcpy(r, h, "role", role, sizeof(role));
	if (strcmp(role, "teacher") != 0)
		mpr_die(r, "role '%s', expected 'teacher'", role);
	dim = mpr_int(r, h, "dim");
	if (dim != d->E)
		mpr_die(r, "dim %ld, but the teacher video stream has %d", dim, d->E);
	tq = efloats((size_t)d->nq * d->E);
	idindex_sort(&x, d->qid, d->nq);
	while ((o = mpr_next(r))) {
		int q;
		mpr_strcpy(r, o, "id", id, sizeof(id));
		if ((q = idindex_find(&x, id)) < 0)
			mpr_die(r, "caption '%s' is not in the student caption stream", id);
		if (seen[q])
			mpr_die(r, "caption '%s' appears twice", id);
		mpr_strcpy(r, o, "video", vid, sizeof(vid));
		if (strcmp(vid, d->vid[d->qvid[q]]) != 0)
			mpr_die(r, "caption '%s': video '%s', but the student stream says '%s'", id, vid,
			        d->vid[d->qvid[q]]);
		if ((n = mpr_int(r, o, "n")) != 1)
			mpr_die(r, "caption '%s': n = %ld, a teacher caption is one embedding", id, n);
		mpr_f32(r, o, "x", tq + (size_t)q * d->E, (size_t)d->E);
		seen[q] = 1;
		nseen++;
	}
	for (int q = 0; nseen < d->nq && q < d->nq; q++)
		if (!seen[q])
			die("%s: no teacher embedding for caption '%s'", r->name, d->qid[q]);
	mpr_close(r);
	unit_rows(tq, d->nq, d->E);
	idindex_free(&x);
	free(seen);
	return tq;
}

/* ---- batches: B videos, each with `captions` of its captions (0: all) ---- */

typedef struct {
	DeBatch b;
	float *video, *query, *tau, *tqb, *tvb;
	int *vlen, *qlen, *qvid, *pick;
	size_t capv, capq, capt, captq, captv;
} DeBatchBuf;

static float *
growf(float *p, size_t *cap, size_t need)
{
	if (need <= *cap && p)
		return p;
	free(p);
	*cap = need + need / 4;
	return efloats(*cap);
}

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
	bb->video = growf(bb->video, &bb->capv, (size_t)rv * d->dv);
	bb->query = growf(bb->query, &bb->capq, (size_t)rq * d->dt);
	rv = 0;
	for (int i = 0; i < B; i++) {
		memcpy(bb->video + (size_t)rv * d->dv, d->video + (size_t)d->voff[vids[i]] * d->dv,
		       (size_t)d->vlen[vids[i]] * d->dv * sizeof(float));
		rv += d->vlen[vids[i]];
	}
	rq = 0;
	for (int q = 0; q < Nq; q++) {
		int c = bb->pick[q];
		memcpy(bb->query + (size_t)rq * d->dt, d->query + (size_t)d->qoff[c] * d->dt,
		       (size_t)d->qlen[c] * d->dt * sizeof(float));
		rq += d->qlen[c];
	}
	if (tv) {
		/* tau (Nq, B) = teacher cosines of each caption to every video of the batch: the unit
		 * embeddings gathered, then one product */
		bb->tau = growf(bb->tau, &bb->capt, (size_t)Nq * B);
		bb->tqb = growf(bb->tqb, &bb->captq, (size_t)Nq * E);
		bb->tvb = growf(bb->tvb, &bb->captv, (size_t)B * E);
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

	for (int v0 = 0; v0 < d->nv; v0 += ENC_VIDEOS)
		de_encode_videos(m, d->video + (size_t)d->voff[v0] * d->dv, d->vlen + v0,
		                 MIN(ENC_VIDEOS, d->nv - v0), ve + (size_t)v0 * D);
	for (int q0 = 0; q0 < d->nq; q0 += ENC_QUERIES)
		de_encode_queries(m, d->query + (size_t)d->qoff[q0] * d->dt, d->qlen + q0,
		                  MIN(ENC_QUERIES, d->nq - q0), qe + (size_t)q0 * D);
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

static MpWriter *
log_open(const char *path, const Config *c, const Dataset *d)
{
	MpWriter *w;

	if (!path)
		return NULL;
	w = mpw_open(path, 0);
	mpw_header(w, "train-log", -1, 2);
	mpw_key(w, "config");
	mpw_map(w, 25);
	mpw_kv_str(w, "model", "dual-encoding");
	mpw_kv_int(w, "dv", c->mc.dv);
	mpw_kv_int(w, "dt", c->mc.dt);
	mpw_kv_int(w, "hidden", c->mc.H);
	mpw_kv_int(w, "filters", c->mc.r);
	mpw_kv_int(w, "dim", c->mc.D);
	mpw_key(w, "kernels_video");
	mpw_array(w, (size_t)c->mc.nkv);
	for (int i = 0; i < c->mc.nkv; i++)
		mpw_int(w, c->mc.kv[i]);
	mpw_key(w, "kernels_text");
	mpw_array(w, (size_t)c->mc.nkt);
	for (int i = 0; i < c->mc.nkt; i++)
		mpw_int(w, c->mc.kt[i]);
	mpw_kv_f64(w, "dropout", c->mc.dropout);
	mpw_kv_bool(w, "bn", c->mc.bn);
	mpw_kv_f64(w, "margin", c->margin);
	mpw_kv_str(w, "kd", kdname[c->kd]);
	mpw_kv_str(w, "schedule", sched_name(c->schedule));
	mpw_kv_f64(w, "lambda", c->lambda);
	mpw_kv_f64(w, "sched_k", c->sched_k);
	mpw_kv_f64(w, "sched_b", c->sched_b);
	mpw_kv_f64(w, "kd_temp", c->kd_temp);
	mpw_kv_int(w, "batch", c->batch);
	mpw_kv_int(w, "captions", c->captions);
	mpw_kv_f64(w, "lr", c->lr);
	mpw_kv_f64(w, "warmup", c->warmup);
	mpw_kv_int(w, "epochs", c->epochs);
	mpw_kv_int(w, "seed", c->seed);
	mpw_kv_int(w, "train_videos", d->nv);
	mpw_kv_int(w, "train_queries", d->nq);
	mpw_kv_bool(w, "eval_loss", 0);
	mpw_record_done(w);
	return w;
}

static void
log_step(MpWriter *w, int e, long step, double lr, double kdw, const DeLossParts *p)
{
	if (!w)
		return;
	mpw_map(w, 9);
	mpw_kv_str(w, "type", "step");
	mpw_kv_int(w, "epoch", e);
	mpw_kv_int(w, "step", step);
	mpw_kv_f64(w, "lr", lr);
	mpw_kv_f64(w, "kd_weight", kdw);
	mpw_kv_f64(w, "loss", p->total);
	mpw_kv_f64(w, "de_trip_t2v", p->trip_t2v);
	mpw_kv_f64(w, "de_trip_v2t", p->trip_v2t);
	mpw_kv_f64(w, "de_kd", p->kd);
	mpw_record_done(w);
}

static void
log_epoch(MpWriter *w, int e, long step, double loss, const Metrics *val, int best, double secs)
{
	if (!w)
		return;
	mpw_map(w, 6 + (val ? 8 : 0));
	mpw_kv_str(w, "type", "epoch");
	mpw_kv_int(w, "epoch", e);
	mpw_kv_int(w, "step", step);
	mpw_kv_f64(w, "loss", loss);
	if (val) {
		mpw_kv_f64(w, "val_r1", val->r1);
		mpw_kv_f64(w, "val_r5", val->r5);
		mpw_kv_f64(w, "val_r10", val->r10);
		mpw_kv_f64(w, "val_r100", val->r100);
		mpw_kv_f64(w, "val_sumr", val->sumr);
		mpw_kv_f64(w, "val_medr", val->medr);
		mpw_kv_f64(w, "val_meanr", val->meanr);
		mpw_kv_f64(w, "val_map", val->map);
	}
	mpw_kv_bool(w, "best", best);
	mpw_kv_f64(w, "seconds", secs);
	mpw_record_done(w);
}

/* ---- main ---- */

static int
parse_kd(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, kdname[i]) == 0)
			return i;
	die("usage: --kd: '%s' is not none, fixed or dynamic", s);
}

int
main(int argc, char *argv[])
{
	Config c;
	const char *video = NULL, *query = NULL, *tvpath = NULL, *tqpath = NULL, *valv = NULL;
	const char *valq = NULL, *testv = NULL, *testq = NULL, *out = "-", *logpath = NULL;
	const char *jarg = NULL;
	int ch, threads, k_given = 0, b_given = 0, dyn_sched = SCHED_EXP, bad = 0;
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
	memset(&c, 0, sizeof(c));
	de_defaults(&c.mc);
	c.margin = 0.2f;
	c.kd_temp = 0.2f;
	c.kd = KDM_DYNAMIC;
	c.lambda = 0.1;
	c.batch = 128;
	c.captions = 0;
	c.epochs = 50;
	c.patience = 10;
	c.max_frames = 128;
	c.max_tokens = 30;
	c.lr = 1e-4;
	c.warmup = 0.01;
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
		case O_HIDDEN: c.mc.H = (int)estrtol(optarg, 1, 1 << 14); break;
		case O_FILTERS: c.mc.r = (int)estrtol(optarg, 1, 1 << 14); break;
		case O_DIM: c.mc.D = (int)estrtol(optarg, 1, 1 << 16); break;
		case O_DROPOUT: c.mc.dropout = (float)estrtod(optarg, 0, 0.95); break;
		case O_NOBN: c.mc.bn = 0; break;
		case O_MAXF: c.max_frames = (int)estrtol(optarg, 1, 1 << 14); break;
		case O_MAXT: c.max_tokens = (int)estrtol(optarg, 1, 1 << 14); break;
		case O_MARGIN: c.margin = (float)estrtod(optarg, 0, 10); break;
		case O_KD: c.kd = parse_kd(optarg); break;
		case O_SCHED:
			dyn_sched = sched_parse(optarg);
			if (dyn_sched != SCHED_EXP && dyn_sched != SCHED_LINEAR && dyn_sched != SCHED_SIGMOID)
				die("usage: --schedule: '%s' is not exp, linear or sigmoid", optarg);
			break;
		case O_LAMBDA: c.lambda = estrtod(optarg, 0, 1e4); break;
		case O_SK: c.sched_k = estrtod(optarg, -1e6, 1e6); k_given = 1; break;
		case O_SB: c.sched_b = estrtod(optarg, -1e6, 1e6); b_given = 1; break;
		case O_KDTEMP: c.kd_temp = (float)estrtod(optarg, 1e-4, 1e4); break;
		case O_BATCH: c.batch = (int)estrtol(optarg, 2, 1 << 20); break;
		case O_CAPTIONS: c.captions = (int)estrtol(optarg, 0, 1 << 20); break;
		case O_LR: c.lr = estrtod(optarg, 0, 10); break;
		case O_WARMUP: c.warmup = estrtod(optarg, 1e-9, 1 - 1e-9); break;
		case O_EPOCHS: c.epochs = (int)estrtol(optarg, 1, 1 << 20); break;
		case O_PATIENCE: c.patience = (int)estrtol(optarg, 1, 1 << 20); break;
		case O_SEED: c.seed = estrtol(optarg, 0, INT64_MAX); break;
		case O_DET: c.deterministic = 1; break;
		case 'h': help(); break;
		default: bad_option(ch);
		}
	}
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
	c.schedule = c.kd == KDM_NONE ? SCHED_NONE : c.kd == KDM_FIXED ? SCHED_FIXED : dyn_sched;
	if (!k_given)
		c.sched_k = sched_default_k(c.schedule);
	if (!b_given)
		c.sched_b = sched_default_b(c.schedule);
	if (c.deterministic)
		c.mc.dropout = 0;
	threads = threads_init(jarg);

	/* ---- data: everything is read and checked before the first step ---- */
	d = data_load(video, query, NULL, c.kd != KDM_NONE ? tvpath : NULL, c.max_frames,
	              c.max_tokens, 1);
	if (d->nv < 2)
		die("%s: %d video: training needs at least 2", video, d->nv);
	if (c.kd != KDM_NONE) {
		tv = teacher_clips(d);
		tq = teacher_captions(tqpath, d);
	}
	if (valv)
		val = data_load_eval(valv, valq, c.max_frames, c.max_tokens, d);
	test = data_load_eval(testv, testq, c.max_frames, c.max_tokens, d);
	c.mc.dv = d->dv;
	c.mc.dt = d->dt;

	m = de_new(&c.mc);
	rng_seed(&rng, (uint64_t)c.seed);
	de_init(m, &rng);
	adam_defaults(&ac);
	ac.weight_decay = 0;
	spe = (d->nv + c.batch - 1) / c.batch;
	total_steps = (long)spe * c.epochs;
	perm = emalloc((size_t)d->nv * sizeof(*perm));
	log = log_open(logpath, &c, d);
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
		log_epoch(log, e, step, sum / spe, val ? &vm : NULL, isbest, secs);
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
