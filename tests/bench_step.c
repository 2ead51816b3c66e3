/* bench_step: time one DL-DKD training step (model_loss forward + backward, both branches,
 * similarity-KL distillation on the inheritance branch, dropout 0.1) on random inputs of the
 * TVR or ActivityNet Captions batch shape (B = 128 videos of L = 128 frames, all frames valid:
 * the worst case). Prints per preset the median step time, layers_flops per step (matrix
 * products only), the GFLOP/s that makes, and the process's peak RSS. Not a test: no pass/fail.
 * usage: bench_step [-p tvr|activitynet|all] [-n steps] [-j threads] */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layers.h"
#include "model.h"
#include "rng.h"
#include "util.h"

typedef struct {
	const char *name;
	int dv, dt, Nq;
} Preset;

static const Preset presets[] = {
	{"tvr", 3072, 768, 640},          /* 5 queries per video */
	{"activitynet", 1024, 1024, 480}, /* ~3.7 queries per video */
};

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* GFLOP/s of a reference sgemm of the input projection's shape (8192 x 384 x 3072) right now:
 * the machine may be shared, so step times are also reported relative to this rate */
static double
sgemm_rate(void)
{
	enum { M = 8192, N = 384, K = 3072 };
	float *a = efloats((size_t)M * K), *b = efloats((size_t)N * K), *c = efloats((size_t)M * N);
	double t = now_seconds();

	mm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
	t = now_seconds() - t;
	free(a); free(b); free(c);
	return 2.0 * M * N * K / t / 1e9;
}

static void
fill_unit_rows(float *x, size_t rows, int C, Rng *r)
{
	for (size_t i = 0; i < rows; i++) {
		double s = 0.0;
		for (int j = 0; j < C; j++) {
			x[i * C + j] = rng_normal(r);
			s += (double)x[i * C + j] * x[i * C + j];
		}
		for (int j = 0; j < C; j++)
			x[i * C + j] /= (float)(sqrt(s) + 1e-5);
	}
}

static void
bench(const Preset *p, int steps)
{
	enum { B = 128, L = 128, T = 30, D = 384, NH = 4, E = 512 };
	ModelConfig c = {0};
	LossConfig lc = {0};
	Model *m;
	Rng r;
	float *video, *query, *tau;
	int *vlen, *qlen, *qvid, Nq = p->Nq;
	double *t = ecalloc(steps, sizeof(double)), *ratio = ecalloc(steps, sizeof(double)), f0;
	double flops = 0.0, lf;
	Batch bt;

	c.dv = p->dv, c.dt = p->dt, c.E = E, c.D = D, c.NH = NH;
	c.max_frames = 128, c.max_tokens = 30;
	c.has_branch[BR_INH] = c.has_branch[BR_EXP] = 1;
	c.dropout = 0.1f;
	lc.margin = 0.1f, lc.nce_weight = 0.04f, lc.hard_pool = 20, lc.hard_negatives = 1;
	lc.kd = KD_SIM_KL, lc.kd_temp = 0.2f, lc.kd_weight = 0.1f, lc.kd_branch[BR_INH] = 1;
	lc.train = 1;

	rng_seed(&r, 1);
	video = efloats((size_t)B * L * p->dv);
	query = efloats((size_t)Nq * T * p->dt);
	tau = efloats((size_t)Nq * L);
	vlen = ecalloc(B, sizeof(int));
	qlen = ecalloc(Nq, sizeof(int));
	qvid = ecalloc(Nq, sizeof(int));
	fill_unit_rows(video, (size_t)B * L, p->dv, &r);
	fill_unit_rows(query, (size_t)Nq * T, p->dt, &r);
	for (int i = 0; i < Nq * L; i++)
		tau[i] = rng_uniform(&r) * 0.4f;
	for (int b = 0; b < B; b++)
		vlen[b] = L;
	for (int q = 0; q < Nq; q++) {
		qlen[q] = T;
		qvid[q] = q % B;
	}
	bt = (Batch){B, L, video, vlen, Nq, T, query, qlen, qvid, tau, NULL};

	m = model_new(&c);
	model_init(m, &r);
	for (int s = -1; s < steps; s++) {   /* step -1 warms up (allocation) */
		double t0, rate = sgemm_rate(), dt;
		float loss;

		t0 = now_seconds();
		model_zero_grad(m);
		f0 = layers_flops;
		loss = model_loss(m, &bt, &lc, &r, NULL, 1);
		dt = now_seconds() - t0;
		lf = layers_flops - f0;
		rate = 0.5 * (rate + sgemm_rate());
		if (s >= 0) {
			t[s] = dt;
			flops = lf;
			ratio[s] = dt / (lf / 1e9 / rate);
		}
		fprintf(stderr, "%s step %d: %.3f s, loss %.4f, sgemm %.0f GFLOP/s now, "
		        "step / (flops / sgemm rate) = %.2f\n", p->name, s, dt, loss, rate,
		        dt / (lf / 1e9 / rate));
	}
	qsort(t, steps, sizeof(double), cmpd);
	qsort(ratio, steps, sizeof(double), cmpd);
	printf("%-12s B=%d L=%d dv=%d Nq=%d T=%d dt=%d: step %.3f s (median of %d), "
	       "%.1f GFLOP (matmuls), %.1f GFLOP/s, %.2f x the time at the reference sgemm rate, "
	       "peak RSS %.0f MiB\n",
	       p->name, B, L, p->dv, Nq, T, p->dt, t[steps / 2], steps, flops / 1e9,
	       flops / 1e9 / t[steps / 2], ratio[steps / 2], peak_rss_kib() / 1024.0);
	printf("%-12s encode FLOPs per pair, one branch: video L=128 %.3f G, query T=30 %.3f G\n",
	       p->name, model_flops_video(&c, 128) / 1e9, model_flops_query(&c, 30) / 1e9);
	model_free(m);
	free(video); free(query); free(tau); free(vlen); free(qlen); free(qvid); free(t); free(ratio);
}

int
main(int argc, char *argv[])
{
	const char *which = "all";
	int steps = 3, threads = 2, c;

	argv0 = argv[0];
	while ((c = getopt(argc, argv, "p:n:j:h")) != -1) {
		switch (c) {
		case 'p': which = optarg; break;
		case 'n': steps = (int)estrtol(optarg, 1, 100); break;
		case 'j': threads = (int)estrtol(optarg, 1, 256); break;
		default: die("usage: %s [-p tvr|activitynet|all] [-n steps] [-j threads]", argv0);
		}
	}
	openblas_set_num_threads(threads);
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (!strcmp(which, "all") || !strcmp(which, presets[i].name))
			bench(&presets[i], steps);
	return 0;
}
