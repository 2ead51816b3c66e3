/* bench_mpi: the data-parallel training step (model_loss_dp over MPI, doc/scale.md) at the TVR
 * batch shape of tests/bench_step.c (tests/stepshape.h: B = 128 videos of L = 128 frames,
 * 3072-d, all valid; 640 queries of 30 tokens, 768-d; both branches, similarity-KL distillation
 * on inh, dropout 0.1, hard negatives), on the ranks of mpirun with -j threads each (default 1).
 * Each rank holds only its share of the random inputs (Batch v_first, q_first). Rank 0 prints
 * one line: the median over -n steps (after one warm-up step) of the step (model_loss_dp and
 * adam_step) and of its phases, of rank 0's CPU seconds in the step (the work of one rank, which
 * a shared machine does not inflate the way it inflates wall time), and the bytes each rank
 * received per step (comm.h's count: the all-gathers plus a ring all-reduce), with rank 0's peak
 * resident memory. Not a test: no pass/fail.
 * usage: mpirun -np P bench_mpi [-n steps] [-j threads] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "adam.h"
#include "comm.h"
#include "model.h"
#include "rng.h"
#include "stepshape.h"
#include "threads.h"
#include "util.h"

enum { B = STEP_B, L = STEP_L, T = STEP_T, MAXN = 64 };

int
main(int argc, char *argv[])
{
	const StepPreset *p = &step_presets[STEP_TVR];
	ModelConfig c = {0};
	LossConfig lc = {0};
	AdamConfig ac;
	Comm *cm;
	Model *m;
	Rng r;
	Batch bt;
	struct rusage ru;
	float *video, *query, *tau;
	int *vlen, *qlen, *qvid, vlo[MAXN + 1], qlo[MAXN + 1], steps = 3, j = 1, o;
	/* step, forward, loss, backward (exchanges included), CPU seconds of rank 0's process */
	double t[5][MAXN], bytes = 0.0;
	size_t nv, nq;

	argv0 = argv[0];
	cm = comm_mpi_start(&argc, &argv);
	while ((o = getopt(argc, argv, "n:j:")) != -1) {
		if (o == 'n')
			steps = (int)estrtol(optarg, 1, MAXN);
		else if (o == 'j')
			j = (int)estrtol(optarg, 1, THREADS_MAX);
		else
			die("usage: mpirun -np P %s [-n steps] [-j threads]", argv0);
	}
	if (cm->size > MAXN)
		die("at most %d ranks", MAXN);
	threads_set(j);
	step_config(p, &c, &lc);
	adam_defaults(&ac);

	tau = efloats((size_t)p->Nq * L);
	vlen = ecalloc(B, sizeof(int));
	qlen = ecalloc(p->Nq, sizeof(int));
	qvid = ecalloc(p->Nq, sizeof(int));
	comm_share(cm, B, vlo);
	comm_share(cm, p->Nq, qlo);
	nv = (size_t)(vlo[cm->rank + 1] - vlo[cm->rank]) * L * p->dv;
	nq = (size_t)(qlo[cm->rank + 1] - qlo[cm->rank]) * T * p->dt;
	video = efloats(nv);
	query = efloats(nq);
	rng_seed(&r, 1 + cm->rank);
	for (size_t i = 0; i < nv; i++)
		video[i] = rng_normal(&r);
	for (size_t i = 0; i < nq; i++)
		query[i] = rng_normal(&r);
	rng_seed(&r, 1);
	step_fill(p, vlen, qlen, qvid, tau, &r);
	bt = (Batch){B, L, video, vlen, p->Nq, T, query, qlen, qvid, tau, NULL, NULL, vlo[cm->rank],
	             qlo[cm->rank]};
	m = model_new(&c);
	rng_seed(&r, 2);            /* the same weights and random stream on every rank */
	model_init(m, &r);

	for (int s = -1; s < steps; s++) {   /* step -1 warms up (allocation) */
		Clock m0[NPHASE], c0 = clock_now();
		double t0, b0 = cm->bytes;

		memcpy(m0, model_time, sizeof(m0));
		t0 = now_seconds();
		model_zero_grad(m);
		model_loss_dp(m, &bt, &lc, &r, NULL, 1, cm);
		adam_step(m, 1e-4f, &ac);
		if (s < 0)
			continue;
		t[0][s] = now_seconds() - t0;
		t[4][s] = clock_now().all - c0.all;
		for (int k = 0; k < NPHASE; k++)
			t[1 + k][s] = model_time[k].wall - m0[k].wall;
		bytes = cm->bytes - b0;
		if (cm->rank == 0)
			fprintf(stderr, "bench_mpi: P %d step %d: %.2f s\n", cm->size, s, t[0][s]);
	}
	getrusage(RUSAGE_SELF, &ru);
	if (cm->rank == 0)
		printf("mpi step, TVR shape, P = %d x %d thread%s: %.2f s/step (median of %d; forward "
		       "%.2f, loss %.2f, backward %.2f), rank 0 CPU %.2f s/step, received %.1f "
		       "MB/rank/step, rank 0 peak %.0f MiB\n", cm->size, j, j > 1 ? "s" : "",
		       median_sort(t[0], steps), steps, median_sort(t[1], steps),
		       median_sort(t[2], steps), median_sort(t[3], steps), median_sort(t[4], steps),
		       bytes / 1e6, ru.ru_maxrss / 1024.0);
	model_free(m);
	free(video); free(query); free(tau); free(vlen); free(qlen); free(qvid);
	comm_mpi_end(cm);
	return 0;
}
