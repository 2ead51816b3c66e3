/* bench_step: time DL-DKD training steps on random inputs of the TVR or ActivityNet Captions
 * batch shape (tests/stepshape.h: B = 128 videos of L = 128 frames, all frames valid, the worst
 * case; both branches, similarity-KL distillation on the inheritance branch), phase by phase, at
 * each thread count of -j:
 *   data      the copies that assemble a batch, as data_make_batch makes them (zero the padded
 *             buffers, one memcpy per video and per query from corpus-shaped arrays): a model
 *             of lib/data.c's work, timed here because the step's inputs are random
 *   forward, loss, backward   model_loss's phases (model_time of model.h)
 *   adam      adam_step over all parameters
 * Per preset and thread count it prints the median of each phase and of the step, the matmul
 * GFLOP (layers_flops), and the step's ratio to its sgemm floor: FLOP / the rate of a reference
 * sgemm of the input projection's shape measured just before and after each step at the same
 * thread count (the machine may be shared). At each count n > 1 it also measures each phase's
 * serial fraction from CPU time (threads.h, Clock): with threads that sleep while they wait
 * (run with OMP_WAIT_POLICY=passive), serial work S and parallel work P give the main thread
 * S + P/n and the process S + P CPU seconds, so s = S / (S + P) holds on a busy machine too;
 * from it, the serial work's share of the 1-thread step and the projected step at 16, 32 and
 * 64 threads (T(1) of each phase times s + (1 - s) / threads): projections, not measurements.
 * With 1 and 2 among the counts it prints the wall-time Amdahl fit s = 2 T(2) / T(1) - 1 too,
 * which is only meaningful on an idle machine. Not a test: no pass/fail.
 * usage: bench_step [-p tvr|activitynet|all] [-n steps] [-j N[,N...]] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adam.h"
#include "layers.h"
#include "model.h"
#include "rng.h"
#include "stepshape.h"
#include "threads.h"
#include "util.h"

enum { B = STEP_B, L = STEP_L, T = STEP_T, MAXJ = 8 };
enum { PH_DATA, PH_FWD, PH_LOSS, PH_BWD, PH_ADAM, NPH };
static const char *phname[NPH] = { "data", "forward", "loss", "backward", "adam" };

/* GFLOP/s of a reference sgemm of the input projection's shape (8192 x 384 x 3072) right now */
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

/* what data_make_batch does for this batch: zero the padded buffers, copy each video's frames,
 * each query's tokens and teacher similarities from the corpus arrays */
static void
make_batch(Batch *bt, float *video, float *query, float *tau, const float *cv, const float *cq,
           const float *ct, int dv, int dt)
{
	memset(video, 0, (size_t)B * L * dv * sizeof(float));
	memset(query, 0, (size_t)bt->Nq * T * dt * sizeof(float));
	memset(tau, 0, (size_t)bt->Nq * L * sizeof(float));
	for (int b = 0; b < B; b++)
		memcpy(video + (size_t)b * L * dv, cv + (size_t)b * L * dv,
		       (size_t)bt->vlen[b] * dv * sizeof(float));
	for (int q = 0; q < bt->Nq; q++) {
		memcpy(query + (size_t)q * T * dt, cq + (size_t)q * T * dt,
		       (size_t)bt->qlen[q] * dt * sizeof(float));
		memcpy(tau + (size_t)q * L, ct + (size_t)q * L, (size_t)L * sizeof(float));
	}
}

static void
bench(const StepPreset *p, int steps, const int *js, int nj)
{
	ModelConfig c = {0};
	LossConfig lc = {0};
	AdamConfig ac;
	Model *m;
	Rng r;
	float *video, *query, *tau, *cv, *cq, *ct;
	int *vlen, *qlen, *qvid, Nq = p->Nq, i1 = -1, i2 = -1;
	double *t = ecalloc((size_t)steps * (NPH + 2), sizeof(double)), flops = 0.0;
	double med[MAXJ][NPH + 2];     /* per thread count: phases, step, ratio to the floor */
	double ser[MAXJ][NPH];         /* per thread count: serial fraction from CPU time */
	Batch bt;

	step_config(p, &c, &lc);
	adam_defaults(&ac);

	rng_seed(&r, 1);
	video = efloats((size_t)B * L * p->dv);
	query = efloats((size_t)Nq * T * p->dt);
	tau = efloats((size_t)Nq * L);
	cv = efloats((size_t)B * L * p->dv);
	cq = efloats((size_t)Nq * T * p->dt);
	ct = efloats((size_t)Nq * L);
	vlen = ecalloc(B, sizeof(int));
	qlen = ecalloc(Nq, sizeof(int));
	qvid = ecalloc(Nq, sizeof(int));
	fill_unit_rows(cv, (size_t)B * L, p->dv, &r);
	fill_unit_rows(cq, (size_t)Nq * T, p->dt, &r);
	step_fill(p, vlen, qlen, qvid, ct, &r);
	bt = (Batch){B, L, video, vlen, Nq, T, query, qlen, qvid, tau, NULL, NULL, 0, 0};

	m = model_new(&c);
	model_init(m, &r);
	for (int j = 0; j < nj; j++) {
		threads_set(js[j]);
		Clock cpu[NPH] = {{0}};

		for (int s = -1; s < steps; s++) {   /* step -1 warms up (allocation) */
			double rate = sgemm_rate(), ph[NPH], f0, step = 0.0;
			Clock c0, c1, m0[NPHASE], s0 = clock_now();

			c0 = s0;
			make_batch(&bt, video, query, tau, cv, cq, ct, p->dv, p->dt);
			c1 = clock_now();
			ph[PH_DATA] = c1.wall - c0.wall;
			if (s >= 0)
				clock_add(&cpu[PH_DATA], c0, c1);
			memcpy(m0, model_time, sizeof(m0));
			f0 = layers_flops;
			model_zero_grad(m);
			model_loss(m, &bt, &lc, &r, NULL, 1);
			for (int k = 0; k < NPHASE; k++) {
				int q = k == PHASE_FORWARD ? PH_FWD : k == PHASE_LOSS ? PH_LOSS : PH_BWD;
				ph[q] = model_time[k].wall - m0[k].wall;
				if (s >= 0)
					clock_add(&cpu[q], m0[k], model_time[k]);
			}
			flops = layers_flops - f0;
			c0 = clock_now();
			adam_step(m, 1e-4f, &ac);
			c1 = clock_now();
			ph[PH_ADAM] = c1.wall - c0.wall;
			if (s >= 0)
				clock_add(&cpu[PH_ADAM], c0, c1);
			rate = 0.5 * (rate + sgemm_rate());
			for (int k = 0; k < NPH; k++)
				step += ph[k];
			/* c1 - s0: the step's CPU seconds, all threads (tests/bench_torch.py compares them) */
			fprintf(stderr, "%s -j %d step %d: %.3f s (data %.3f fwd %.3f loss %.3f bwd %.3f "
			        "adam %.3f), cpu %.3f s, sgemm %.0f GFLOP/s now\n", p->name, js[j], s, step,
			        ph[PH_DATA], ph[PH_FWD], ph[PH_LOSS], ph[PH_BWD], ph[PH_ADAM],
			        c1.all - s0.all, rate);
			if (s < 0)
				continue;
			for (int k = 0; k < NPH; k++)
				t[(size_t)k * steps + s] = ph[k];
			t[(size_t)NPH * steps + s] = step;
			t[(size_t)(NPH + 1) * steps + s] = step / (flops / 1e9 / rate);
		}
		/* S = (n self - all) / (n - 1), the rest parallel */
		for (int k = 0; k < NPH; k++) {
			double n = js[j], S = (n * cpu[k].self - cpu[k].all) / (n - 1.0);
			ser[j][k] = js[j] < 2 || cpu[k].all <= 0 ? -1.0 : S / cpu[k].all;
			ser[j][k] = ser[j][k] > 1 ? 1 : js[j] >= 2 && ser[j][k] < 0 ? 0 : ser[j][k];
		}
		for (int k = 0; k < NPH + 2; k++)
			med[j][k] = median_sort(t + (size_t)k * steps, steps);
		i1 = js[j] == 1 ? j : i1;
		i2 = js[j] == 2 ? j : i2;
	}

	printf("%s: B=%d L=%d dv=%d Nq=%d T=%d dt=%d, %zu parameters, %.1f GFLOP (matmuls) per step, "
	       "medians of %d steps, peak RSS %.0f MiB\n", p->name, B, L, p->dv, Nq, T, p->dt,
	       model_num_params(m), flops / 1e9, steps, peak_rss_kib() / 1024.0);
	printf("  %-8s", "threads");
	for (int k = 0; k < NPH; k++)
		printf(" %9s", phname[k]);
	printf(" %9s %9s\n", "step s", "/ floor");
	for (int j = 0; j < nj; j++) {
		printf("  %-8d", js[j]);
		for (int k = 0; k < NPH + 2; k++)
			printf(" %9.3f", med[j][k]);
		printf("\n");
	}
	if (i1 >= 0 && i2 >= 0) {
		printf("  %-8s", "fit");
		for (int k = 0; k < NPH; k++) {
			double f = med[i1][k] > 0 ? 2.0 * med[i2][k] / med[i1][k] - 1.0 : 0.0;
			printf(" %9.3f", f < 0 ? 0 : f > 1 ? 1 : f);
		}
		printf("   serial fraction, wall-time Amdahl fit of 1 and 2 threads (idle machine only)\n");
	}
	for (int j = 0; j < nj; j++) {
		static const int proj[] = {16, 32, 64};
		double t1 = 0.0, sw = 0.0;

		if (js[j] < 2 || i1 < 0)
			continue;
		printf("  %-8s", "serial");
		for (int k = 0; k < NPH; k++) {
			printf(" %9.3f", ser[j][k]);
			t1 += med[i1][k];
			sw += ser[j][k] * med[i1][k];
		}
		printf("   serial fraction from CPU time at %d threads (measured)\n", js[j]);
		printf("  serial work %.3f s = %.1f %% of the 1-thread step; projected step (speedup):",
		       sw, 100.0 * sw / t1);
		for (size_t n = 0; n < sizeof(proj) / sizeof(proj[0]); n++) {
			double tn = 0.0;
			for (int k = 0; k < NPH; k++)
				tn += med[i1][k] * (ser[j][k] + (1.0 - ser[j][k]) / proj[n]);
			printf(" %d: %.3f s (%.1fx)", proj[n], tn, t1 / tn);
		}
		printf("\n");
	}
	model_free(m);
	free(video); free(query); free(tau); free(cv); free(cq); free(ct);
	free(vlen); free(qlen); free(qvid); free(t);
}

int
main(int argc, char *argv[])
{
	const char *which = "all", *jarg = "1,2";
	char *jl, *tok, *save;
	int steps = 3, js[MAXJ], nj = 0, c;

	argv0 = argv[0];
	while ((c = getopt(argc, argv, "p:n:j:h")) != -1) {
		switch (c) {
		case 'p': which = optarg; break;
		case 'n': steps = (int)estrtol(optarg, 1, 100); break;
		case 'j': jarg = optarg; break;
		default: die("usage: %s [-p tvr|activitynet|all] [-n steps] [-j N[,N...]]", argv0);
		}
	}
	jl = estrdup(jarg);
	for (tok = strtok_r(jl, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nj == MAXJ)
			die("-j: at most %d thread counts", MAXJ);
		js[nj++] = threads_parse(tok);
	}
	free(jl);
	if (nj == 0)
		die("-j: no thread count");
	for (int i = 0; i < STEP_NPRESETS; i++)
		if (!strcmp(which, "all") || !strcmp(which, step_presets[i].name))
			bench(&step_presets[i], steps, js, nj);
	return 0;
}
