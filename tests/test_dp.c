/* test_dp: the data-parallel step of lib/model.c (model_loss_dp) without MPI. P ranks are P
 * threads in this process, each with its own Model (same weights) and Rng (same state), joined
 * by a communicator of comm.h over shared memory (a barrier, and every rank reading the others'
 * buffers; the sum of allreduce taken in rank order). For P = 1 (comm_self), 2, 3 and 6 (more
 * ranks than videos: a rank with none), dual branches with dropout on and hard negatives drawn
 * from a pool, similarity or feature distillation, and queries not grouped by video, checks:
 * - each rank's batch has NaN in every row outside its share, so a rank that read another's
 *   input would give NaN;
 * - every rank ends with the same loss, components and gradient bit for bit, and the Rng in
 *   the state one process leaves it in;
 * - the loss and components equal one process's (model_loss) to 1e-6 relative, every
 *   gradient tensor to 1e-5 of its largest element (only float sums are ordered differently);
 * - P = 1 through the same threads and communicator is model_loss bit for bit. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "gradcheck.h"
#include "model.h"
#include "rng.h"
#include "threads.h"
#include "util.h"

enum { B = 5, L = 6, NQ = 9, T = 4, DV = 12, DT = 10, E = 8, D = 8, NH = 2, MAXP = 6 };

static float video[B * L * DV], query[NQ * T * DT], tau[NQ * L], tvideo[B * L * E];
static int vlen[B] = {6, 3, 2, 5, 1}, qlen[NQ] = {4, 2, 1, 3, 4, 2, 4, 1, 3};
static int qvid[NQ] = {0, 3, 1, 2, 4, 0, 2, 3, 1};

/* ---- a communicator over shared memory */

typedef struct {
	pthread_barrier_t bar;
	void *buf[MAXP];
	float *sum;
} Shared;

static void
sh_allgather(Comm *c, float *buf, const int *lo, size_t unit)
{
	Shared *s = c->impl;

	s->buf[c->rank] = buf;
	pthread_barrier_wait(&s->bar);
	for (int r = 0; r < c->size; r++)
		if (r != c->rank)
			memcpy(buf + lo[r] * unit, (float *)s->buf[r] + lo[r] * unit,
			       (lo[r + 1] - lo[r]) * unit * sizeof(float));
	pthread_barrier_wait(&s->bar);
}

static void
sh_allreduce(Comm *c, float *buf, size_t n)
{
	Shared *s = c->impl;

	s->buf[c->rank] = buf;
	pthread_barrier_wait(&s->bar);
	if (c->rank == 0) {
		s->sum = efloats(n);
		for (int r = 0; r < c->size; r++)
			for (size_t i = 0; i < n; i++)
				s->sum[i] += ((float *)s->buf[r])[i];
	}
	pthread_barrier_wait(&s->bar);
	memcpy(buf, s->sum, n * sizeof(float));
	pthread_barrier_wait(&s->bar);
	if (c->rank == 0)
		free(s->sum);
}

static void
sh_bcast(Comm *c, void *buf, size_t bytes)
{
	Shared *s = c->impl;

	s->buf[c->rank] = buf;
	pthread_barrier_wait(&s->bar);
	if (c->rank)
		memcpy(buf, s->buf[0], bytes);
	pthread_barrier_wait(&s->bar);
}

/* ---- one rank */

typedef struct {
	Comm comm;
	const ModelConfig *mc;
	const LossConfig *lc;
	Batch bt;
	float *video, *query;      /* this rank's copy: NaN outside its share */
	Rng rng;
	float loss, *g;
	LossParts parts;
} Rank;

static Model *
new_model(const ModelConfig *c)
{
	Model *m = model_new(c);
	Rng r;

	rng_seed(&r, 3);
	model_init(m, &r);
	model_zero_grad(m);
	return m;
}

static void *
rank_main(void *arg)
{
	Rank *k = arg;
	Model *m = new_model(k->mc);
	size_t np = model_num_params(m);

	k->loss = model_loss_dp(m, &k->bt, k->lc, &k->rng, &k->parts, 1, &k->comm);
	k->g = efloats(np);
	memcpy(k->g, model_tensor(m, 0).g, np * sizeof(float));
	model_free(m);
	return NULL;
}

/* the batch of rank r of P: its rows of video and query, NaN everywhere else */
static void
share_batch(Rank *k)
{
	int vlo[MAXP + 1], qlo[MAXP + 1], r = k->comm.rank;

	comm_share(&k->comm, B, vlo);
	comm_share(&k->comm, NQ, qlo);
	k->video = efloats(B * L * DV);
	k->query = efloats(NQ * T * DT);
	for (int i = 0; i < B * L * DV; i++)
		k->video[i] = i / (L * DV) >= vlo[r] && i / (L * DV) < vlo[r + 1] ? video[i] : NAN;
	for (int i = 0; i < NQ * T * DT; i++)
		k->query[i] = i / (T * DT) >= qlo[r] && i / (T * DT) < qlo[r + 1] ? query[i] : NAN;
	k->bt = (Batch){B, L, k->video, vlen, NQ, T, k->query, qlen, qvid, tau, tvideo, NULL, 0, 0};
}

static float
max_abs(const float *x, size_t n)
{
	float m = 0.0f;

	for (size_t i = 0; i < n; i++)
		m = fmaxf(m, fabsf(x[i]));
	return m;
}

/* largest relative difference of the total and the components of a and b */
static double
parts_diff(const LossParts *a, const LossParts *b)
{
	double d = fabs(a->total - b->total) / fabs(a->total);

	for (int br = 0; br < NBRANCH; br++) {
		float x[] = {a->trip_t2v[br], a->trip_v2t[br], a->nce_t2v[br], a->nce_v2t[br], a->kd[br]};
		float y[] = {b->trip_t2v[br], b->trip_v2t[br], b->nce_t2v[br], b->nce_v2t[br], b->kd[br]};
		for (int j = 0; j < 5; j++)
			d = fmax(d, fabs(x[j] - y[j]) / fmax(fabs(x[j]), 1e-30));
	}
	return d;
}

static void
run(const char *label, const ModelConfig *mc, const LossConfig *lc, int P)
{
	Model *m = new_model(mc);
	size_t np = model_num_params(m);
	Batch bt = {B, L, video, vlen, NQ, T, query, qlen, qvid, tau, tvideo, NULL, 0, 0};
	Rank k[MAXP];
	pthread_t th[MAXP];
	Shared sh;
	LossParts parts;
	Rng rng, rng0;
	float loss, *g = efloats(np);
	double dloss, dg = 0.0;
	int same = 1, nt = model_num_tensors(m);
	char what[256];

	rng_seed(&rng, 77);
	rng0 = rng;
	loss = model_loss(m, &bt, lc, &rng, &parts, 1);
	memcpy(g, model_tensor(m, 0).g, np * sizeof(float));

	pthread_barrier_init(&sh.bar, NULL, P);
	for (int r = 0; r < P; r++) {
		k[r] = (Rank){ .mc = mc, .lc = lc, .rng = rng0 };
		k[r].comm = (Comm){ r, P, sh_allgather, sh_allreduce, sh_bcast, 0.0, &sh };
		share_batch(&k[r]);
		if (pthread_create(&th[r], NULL, rank_main, &k[r]))
			die("pthread_create:");
	}
	for (int r = 0; r < P; r++)
		pthread_join(th[r], NULL);
	pthread_barrier_destroy(&sh.bar);

	for (int r = 0; r < P; r++) {
		same &= k[r].loss == k[0].loss && memcmp(&k[r].parts, &k[0].parts, sizeof(parts)) == 0 &&
		        memcmp(k[r].g, k[0].g, np * sizeof(float)) == 0 &&
		        memcmp(&k[r].rng, &rng, sizeof(rng)) == 0;
	}
	dloss = parts_diff(&parts, &k[0].parts);
	for (int i = 0; i < nt; i++) {
		ParamInfo t = model_tensor(m, i);
		size_t off = (size_t)(t.g - model_tensor(m, 0).g);
		float sc = max_abs(g + off, t.n);
		for (size_t j = 0; j < t.n; j++)
			dg = fmax(dg, fabs(k[0].g[off + j] - g[off + j]) / (sc > 0 ? sc : 1.0f));
	}
	snprintf(what, sizeof(what), "%s, P = %d: every rank the same (Rng included), loss and "
	         "components as one process's to 1e-6 (%.2g), gradients to 1e-5", label, P, dloss);
	gc_report(what, same && isfinite(k[0].loss) && dloss <= 1e-6 && dg <= 1e-5, dg);
	if (P == 1) {
		snprintf(what, sizeof(what), "%s, P = 1 through the threads' communicator: model_loss "
		         "bit for bit", label);
		gc_report(what, k[0].loss == loss && memcmp(k[0].g, g, np * sizeof(float)) == 0, dg);
	}
	for (int r = 0; r < P; r++) {
		free(k[r].g);
		free(k[r].video);
		free(k[r].query);
	}
	free(g);
	model_free(m);
}

int
main(void)
{
	static const int Ps[] = { 1, 2, 3, 6 };
	ModelConfig c = {0};
	LossConfig l = {0};
	Rng r;

	threads_set(1);
	rng_seed(&r, 11);
	for (int i = 0; i < B * L * DV; i++)
		video[i] = i % (L * DV) < vlen[i / (L * DV)] * DV ? rng_normal(&r) : 0.0f;
	for (int i = 0; i < NQ * T * DT; i++)
		query[i] = i % (T * DT) < qlen[i / (T * DT)] * DT ? rng_normal(&r) : 0.0f;
	for (int i = 0; i < NQ * L; i++)
		tau[i] = rng_uniform(&r) * 0.6f - 0.1f;
	for (int i = 0; i < B * L * E; i++)
		tvideo[i] = rng_normal(&r);

	c.dv = DV, c.dt = DT, c.E = E, c.D = D, c.NH = NH, c.max_frames = L, c.max_tokens = T;
	c.has_branch[BR_INH] = c.has_branch[BR_EXP] = 1;
	c.dropout = 0.1f;
	l.margin = 0.2f, l.nce_weight = 0.04f, l.hard_pool = 3, l.hard_negatives = 1;
	l.kd_temp = 0.2f, l.kd_branch[BR_INH] = 1, l.train = 1;
	for (size_t i = 0; i < sizeof(Ps) / sizeof(Ps[0]); i++) {
		l.kd = KD_SIM_KL, l.kd_weight = 0.5f;
		c.feat_kd[BR_INH] = c.feat_kd[BR_EXP] = 0, c.shared_query_proj = 0;
		run("dropout, hard pool 3, sim-kl on inh", &c, &l, Ps[i]);
		l.kd = KD_FEAT_MSE, l.kd_weight = 0.05f, l.kd_branch[BR_EXP] = 1;
		c.feat_kd[BR_INH] = c.feat_kd[BR_EXP] = 1, c.shared_query_proj = 1;
		run("dropout, hard pool 3, feat-mse on both, shared query projection", &c, &l, Ps[i]);
		l.kd_branch[BR_EXP] = 0;
	}
	return gc_finish();
}
