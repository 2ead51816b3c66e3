/* bench_rank: the helper behind tests/bench.sh (make bench) for the encode + rank benchmark at
 * full test-set scale: writes random reduced streams of any size quickly, a randomly initialised
 * checkpoint, random scores streams, and measures the machine's sgemm rate and the model's
 * analytic FLOPs. Each command does one thing and prints numbers as "name value" lines.
 * Not a benchmark of its own and not a test: the timings are taken by bench.sh around the tools.
 *
 *   bench_rank videos N L DIM SEED        video-features (student, reduced, normalised) on stdout
 *   bench_rank queries NQ NV T DIM SEED   query-features (student, reduced), NQ / NV per video
 *   bench_rank scores NQ NV SEED          scores stream, branches inh and exp, on stdout
 *   bench_rank ckpt DV DT BRANCHES PATH   checkpoint (BRANCHES: dual, inh, ...), method.md init
 *   bench_rank sgemm M K N THREADS REPS   best-of-REPS sgemm (M,K)x(K,N): seconds, GFLOP/s
 *   bench_rank flops DV DT L T            model_flops_video(L), model_flops_query(T), 1 branch
 *   bench_rank cosmax NQ NV L D THREADS   time score_cosmax alone on random data: seconds, GFLOP/s
 *
 * Random rows come from a pool of normalised rows (rows of a video are a slice of the pool at a
 * random place), so writing 2,179 x 128 x 3072 floats costs little more than the write itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ckpt.h"
#include "model.h"
#include "mpio.h"
#include "rng.h"
#include "score.h"
#include "threads.h"
#include "util.h"

#define POOL_ROWS 4096

static void
usage(void)
{
	die("usage: bench_rank videos N L DIM SEED | queries NQ NV T DIM SEED | scores NQ NV SEED | "
	    "ckpt DV DT BRANCHES PATH | sgemm M K N THREADS REPS | flops DV DT L T | "
	    "cosmax NQ NV L D THREADS");
}

/* pool (rows, dim) of L2-normalised random rows */
static float *
make_pool(Rng *rng, long rows, long dim)
{
	float *p = efloats((size_t)(rows * dim));

	for (long i = 0; i < rows; i++) {
		double ss = 0;
		for (long j = 0; j < dim; j++) {
			float x = rng_uniform(rng) - 0.5f;
			p[i * dim + j] = x;
			ss += (double)x * x;
		}
		for (long j = 0; j < dim; j++)
			p[i * dim + j] /= (float)(sqrt(ss) + 1e-5);
	}
	return p;
}

static void
header_features(MpWriter *w, const char *kind, long count, long dim)
{
	mpw_header(w, kind, count, 5);
	mpw_kv_str(w, "role", "student");
	mpw_kv_int(w, "dim", dim);
	mpw_kv_str(w, "split", "test");
	mpw_kv_bool(w, "reduced", 1);
	mpw_kv_bool(w, "normalized", 1);
	mpw_record_done(w);
}

static void
cmd_videos(long n, long L, long dim, Rng *rng)
{
	float *pool = make_pool(rng, POOL_ROWS, dim);
	MpWriter *w = mpw_open("-", 0);
	char id[32];

	CHECK(L <= POOL_ROWS);
	header_features(w, "video-features", n, dim);
	for (long v = 0; v < n; v++) {
		long at = rng_below(rng, (uint32_t)(POOL_ROWS - L + 1));
		snprintf(id, sizeof(id), "v%05ld", v);
		mpw_map(w, 3);
		mpw_kv_str(w, "id", id);
		mpw_kv_int(w, "n", L);
		mpw_kv_f32(w, "x", pool + at * dim, (size_t)(L * dim));
		mpw_record_done(w);
	}
	mpw_close(w);
	free(pool);
}

static void
cmd_queries(long nq, long nv, long T, long dim, Rng *rng)
{
	float *pool = make_pool(rng, POOL_ROWS, dim);
	MpWriter *w = mpw_open("-", 0);
	char id[64], vid[32];
	long per = (nq + nv - 1) / nv;

	CHECK(T <= POOL_ROWS);
	header_features(w, "query-features", nq, dim);
	for (long i = 0; i < nq; i++) {
		long at = rng_below(rng, (uint32_t)(POOL_ROWS - T + 1));
		snprintf(vid, sizeof(vid), "v%05ld", MIN(i / per, nv - 1));
		snprintf(id, sizeof(id), "%s#enc#%ld", vid, i % per);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", id);
		mpw_kv_str(w, "video", vid);
		mpw_kv_int(w, "n", T);
		mpw_kv_f32(w, "x", pool + at * dim, (size_t)(T * dim));
		mpw_record_done(w);
	}
	mpw_close(w);
	free(pool);
}

static void
cmd_scores(long nq, long nv, Rng *rng)
{
	MpWriter *w = mpw_open("-", 0);
	float *s = efloats((size_t)nv);
	char id[64], vid[32];
	long per = (nq + nv - 1) / nv;

	mpw_header(w, "scores", nq, 3);
	mpw_key(w, "videos");
	mpw_array(w, (size_t)nv);
	for (long v = 0; v < nv; v++) {
		snprintf(vid, sizeof(vid), "v%05ld", v);
		mpw_str(w, vid);
	}
	mpw_key(w, "branches");
	mpw_array(w, 2);
	mpw_str(w, "inh");
	mpw_str(w, "exp");
	mpw_kv_str(w, "split", "test");
	mpw_record_done(w);
	for (long i = 0; i < nq; i++) {
		snprintf(vid, sizeof(vid), "v%05ld", MIN(i / per, nv - 1));
		snprintf(id, sizeof(id), "%s#enc#%ld", vid, i % per);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", id);
		mpw_kv_str(w, "video", vid);
		for (int b = 0; b < 2; b++) {
			for (long v = 0; v < nv; v++)
				s[v] = 2 * rng_uniform(rng) - 1;
			mpw_kv_f32(w, b ? "exp" : "inh", s, (size_t)nv);
		}
		mpw_record_done(w);
	}
	mpw_close(w);
	free(s);
}

static void
cmd_ckpt(int dv, int dt, const char *branches, const char *path)
{
	TrainConfig tc;
	TrainState st;
	Model *m;

	ckpt_config_defaults(&tc);
	if (ckpt_set_branches(&tc, branches))
		die("unknown branches '%s'", branches);
	tc.mc.dv = dv;
	tc.mc.dt = dt;
	tc.mc.E = 512;
	memset(&st, 0, sizeof(st));
	st.best_sumr = -1;
	st.best_epoch = -1;
	rng_seed(&st.rng, tc.seed);
	m = model_new(&tc.mc);
	model_init(m, &st.rng);
	ckpt_write(path, &tc, &st, m);
	model_free(m);
}

static void
cmd_sgemm(int M, int K, int N, int threads, int reps)
{
	float *a = efloats((size_t)M * K), *b = efloats((size_t)K * N), *c = efloats((size_t)M * N);
	double best = 1e30, flop = 2.0 * M * K * N;
	Rng rng;

	rng_seed(&rng, 1);
	for (long i = 0; i < (long)M * K; i++)
		a[i] = rng_uniform(&rng);
	for (long i = 0; i < (long)K * N; i++)
		b[i] = rng_uniform(&rng);
	threads_set(threads);
	/* one untimed warm-up call (thread start, page faults) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
	for (int r = 0; r < reps; r++) {
		double t = now_seconds();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
		t = now_seconds() - t;
		best = MIN(best, t);
	}
	printf("seconds %.6f\ngflops %.3f\n", best, flop / best * 1e-9);
	free(a), free(b), free(c);
}

/* GFLOP/s of the sgemm score_cosmax makes, (M, D) x (N, D)^T into c, best of 5, right now: the
 * machine may be shared, so the kernel is also compared with plain sgemm at the same moment */
static double
sgemm_rate_now(const float *a, const float *b, int M, int N, int D)
{
	float *c = efloats((size_t)M * N);
	double best = 1e30;

	for (int r = 0; r < 5; r++) {
		double t = now_seconds();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, D, 1, a, D, b, D, 0, c, N);
		best = MIN(best, now_seconds() - t);
	}
	free(c);
	return 2.0 * M * N * D / best * 1e-9;
}

/* score_cosmax of NQ queries against NV videos of L frames (one branch of rank) */
static void
cmd_cosmax(int nq, int nv, int L, int D, int threads)
{
	float *q = efloats((size_t)nq * D), *f = efloats((size_t)nv * L * D);
	float *s = efloats((size_t)nq * nv);
	int *off = emalloc(((size_t)nv + 1) * sizeof(*off));
	double t, flop = 2.0 * nq * nv * L * D;
	Rng rng;

	rng_seed(&rng, 1);
	for (long i = 0; i < (long)nq * D; i++)
		q[i] = rng_uniform(&rng) - 0.5f;
	for (long i = 0; i < (long)nv * L * D; i++)
		f[i] = rng_uniform(&rng) - 0.5f;
	for (int v = 0; v <= nv; v++)
		off[v] = v * L;
	threads_set(threads);
	score_cosmax(s, q, MIN(nq, 64), f, off, nv, D);     /* warm-up */
	t = now_seconds();
	score_cosmax(s, q, nq, f, off, nv, D);
	t = now_seconds() - t;
	printf("seconds %.6f\ngflops %.3f\nsgemm_now %.3f\n", t, flop / t * 1e-9,
	       sgemm_rate_now(f, q, MIN(nv * L, 2048), MIN(nq, 1024), D));
	free(q), free(f), free(s), free(off);
}

int
main(int argc, char *argv[])
{
	Rng rng;

	argv0 = "bench_rank";
	set_cmdline(argc, argv);
	progress_quiet = 1;
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "videos") == 0 && argc == 6) {
		rng_seed(&rng, (uint64_t)estrtol(argv[5], 0, 1L << 62));
		cmd_videos(estrtol(argv[2], 1, 1 << 24), estrtol(argv[3], 1, POOL_ROWS),
		           estrtol(argv[4], 1, 1 << 16), &rng);
	} else if (strcmp(argv[1], "queries") == 0 && argc == 7) {
		rng_seed(&rng, (uint64_t)estrtol(argv[6], 0, 1L << 62));
		cmd_queries(estrtol(argv[2], 1, 1 << 24), estrtol(argv[3], 1, 1 << 24),
		            estrtol(argv[4], 1, POOL_ROWS), estrtol(argv[5], 1, 1 << 16), &rng);
	} else if (strcmp(argv[1], "scores") == 0 && argc == 5) {
		rng_seed(&rng, (uint64_t)estrtol(argv[4], 0, 1L << 62));
		cmd_scores(estrtol(argv[2], 1, 1 << 24), estrtol(argv[3], 1, 1 << 24), &rng);
	} else if (strcmp(argv[1], "ckpt") == 0 && argc == 6) {
		cmd_ckpt((int)estrtol(argv[2], 1, 1 << 16), (int)estrtol(argv[3], 1, 1 << 16), argv[4],
		         argv[5]);
	} else if (strcmp(argv[1], "sgemm") == 0 && argc == 7) {
		cmd_sgemm((int)estrtol(argv[2], 1, 1 << 16), (int)estrtol(argv[3], 1, 1 << 16),
		          (int)estrtol(argv[4], 1, 1 << 16), (int)estrtol(argv[5], 1, 256),
		          (int)estrtol(argv[6], 1, 1000));
	} else if (strcmp(argv[1], "cosmax") == 0 && argc == 7) {
		cmd_cosmax((int)estrtol(argv[2], 1, 1 << 24), (int)estrtol(argv[3], 1, 1 << 24),
		           (int)estrtol(argv[4], 1, 1 << 16), (int)estrtol(argv[5], 1, 1 << 16),
		           (int)estrtol(argv[6], 1, 256));
	} else if (strcmp(argv[1], "flops") == 0 && argc == 6) {
		ModelConfig c;
		memset(&c, 0, sizeof(c));
		c.dv = (int)estrtol(argv[2], 1, 1 << 16);
		c.dt = (int)estrtol(argv[3], 1, 1 << 16);
		c.E = 512, c.D = 384, c.NH = 4, c.max_frames = 128, c.max_tokens = 30;
		printf("video %.6g\nquery %.6g\n",
		       model_flops_video(&c, (int)estrtol(argv[4], 1, 1 << 16)),
		       model_flops_query(&c, (int)estrtol(argv[5], 1, 1 << 16)));
	} else
		usage();
	if (fflush(stdout) || ferror(stdout))
		die("write <stdout>:");
	return 0;
}
