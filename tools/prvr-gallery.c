/* prvr-gallery: a synthetic encoded gallery for search benchmarks and tests, without training:
 * an encoded-videos stream (both branches) and an encoded-queries stream, as encode-video and
 * encode-text would write them, of any size. Frame counts are drawn like TVR's (lognormal, mean
 * 50, log-sd 0.15, within [20, 120], as prvr-synth's tvr preset). Embeddings are clustered, so
 * that nearest-neighbour search is not trivial: C unit topic centres; a video is a noisy copy of
 * one topic; its frames fall into moments (one per 20 frames), each a noisy copy of the video;
 * a frame is its moment plus noise, times a random norm (0.5 .. 2, so normalising matters); the
 * branches add their own noise. A query is a noisy copy of one moment of its own video.
 * All of it is isotropic (every noise term spread evenly over the dims), the worst case for a
 * product quantiser; -a gives it the falling spectrum of a trained encoder's outputs instead.
 * Output is a function of the knobs and seed only (and, with -a, of the BLAS's rounding). Not here: real encodings (encode-video). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "mpio.h"
#include "rng.h"
#include "rownorm.h"
#include "threads.h"
#include "util.h"

#define NBR 2
static const char *const brname[NBR] = { "inh", "exp" };

static void
help(void)
{
	printf("prvr-gallery - write a synthetic encoded gallery and queries (no training)\n"
	       "\n"
	       "usage: %s -n VIDEOS -q QUERIES -o VIDEOS_OUT -O QUERIES_OUT [-d DIM] [-c TOPICS]\n"
	       "       [-s SEED] [-a DIMS] [-m MODEL] [-Q]\n"
	       "\n"
	       "Writes an encoded-videos stream (VIDEOS videos, branches inh and exp, TVR-like frame\n"
	       "counts) and an encoded-queries stream (QUERIES queries, each of a random video) with\n"
	       "clustered embeddings. Both headers carry 'model' = MODEL and split 'test'.\n"
	       "\n"
	       "  -n N       videos, 1..100000000\n"
	       "  -q N       queries, 1..100000000\n"
	       "  -o FILE    encoded-videos output (- is stdout)\n"
	       "  -O FILE    encoded-queries output\n"
	       "  -d DIM     embedding dim (default 384, the model's hidden size)\n"
	       "  -c TOPICS  topic centres (default 1000)\n"
	       "  -s SEED    seed (default 1)\n"
	       "  -a DIMS    anisotropic: every embedding through one random map whose spectrum\n"
	       "             falls by e every DIMS directions (participation ratio ~2 DIMS), like a\n"
	       "             trained encoder's outputs (default 0: isotropic)\n"
	       "  -m MODEL   the 'model' of both headers (default gallery-<seed>)\n"
	       "  -Q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (nothing is left at the outputs).\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s -n VIDEOS -q QUERIES -o VIDEOS_OUT -O QUERIES_OUT [-d DIM] [-c TOPICS] "
	    "[-s SEED] [-a DIMS] [-m MODEL] [-Q]", argv0);
}

/* out (D) = a + sd * N(0, I / D), so the noise has norm about sd */
static void
noisy(float *out, const float *a, float sd, int D, Rng *r)
{
	float s = sd / sqrtf((float)D);

	for (int j = 0; j < D; j++)
		out[j] = a[j] + s * rng_normal(r);
}

/* the moments of video v (nm of them, (nm, D)), from its own stream of random numbers, so that
 * queries can be drawn after the videos without holding them */
static int
video_moments(float *mom, long v, int n, const float *topics, int C, int D, uint64_t seed,
              float *tmp)
{
	Rng r;
	int nm = (n + 19) / 20;

	rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(v + 1)));
	noisy(tmp, topics + (size_t)rng_below(&r, (uint32_t)C) * D, 0.8f, D, &r);
	rownorm_unit(tmp, 1, D);
	for (int m = 0; m < nm; m++) {
		noisy(mom + (size_t)m * D, tmp, 0.6f, D, &r);
		rownorm_unit(mom + (size_t)m * D, 1, D);
	}
	return nm;
}

static int
frames_of(Rng *r)
{
	int n = (int)lround(50 * exp(0.15 * rng_normal(r) - 0.5 * 0.15 * 0.15));

	return MAX(20, MIN(120, n));
}

/* the map of -a: A (D, D) = Q diag(s), Q a random orthogonal matrix, s_j = exp(-j / (2 dims))
 * scaled so that sum s_j^2 = D: an isotropic x becomes A x, whose covariance has eigenvalues
 * falling by e every dims directions, in a basis no axis favours */
static float *
spectrum_map(long D, double dims, uint64_t seed)
{
	float *A = efloats((size_t)D * D);
	double *s = emalloc((size_t)D * sizeof(*s)), ss = 0;
	Rng r;

	rng_seed(&r, seed ^ 0x5bd1e9955bd1e995ULL);
	rng_orthogonal(&r, A, (int)D);
	for (long j = 0; j < D; j++) {
		s[j] = exp(-(double)j / (2 * dims));
		ss += s[j] * s[j];
	}
	for (long i = 0; i < D; i++)
		for (long j = 0; j < D; j++)
			A[i * D + j] = (float)(A[i * D + j] * s[j] * sqrt((double)D / ss));
	free(s);
	return A;
}

/* x (n, D) = x A^T in place (each row through the map of -a); tmp holds n D floats */
static void
apply_map(const float *A, float *x, float *tmp, int n, long D)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)D, (int)D, 1.0f, x, (int)D, A,
	            (int)D, 0.0f, tmp, (int)D);
	memcpy(x, tmp, (size_t)n * D * sizeof(*x));
}

/* an encoded stream at path and its header: both streams share all but the kind and count */
static MpWriter *
open_encoded(const char *path, const char *kind, long count, long D, const char *model)
{
	MpWriter *w = mpw_open(path, 0);

	mpw_header(w, kind, count, 4);
	mpw_kv_int(w, "dim", D);
	mpw_key(w, "branches");
	mpw_array(w, NBR);
	for (int b = 0; b < NBR; b++)
		mpw_str(w, brname[b]);
	mpw_kv_str(w, "split", "test");
	mpw_kv_str(w, "model", model);
	mpw_record_done(w);
	return w;
}

int
main(int argc, char *argv[])
{
	const char *vout = NULL, *qout = NULL, *model = NULL;
	long nv = 0, nq = 0, D = 384, C = 1000, seed = 1;
	double aniso = 0;
	int c;
	char id[64], qid[128], mname[64];
	Rng r, rq;
	float *topics, *mom, *tmp, *fr[NBR], *q[NBR], *A = NULL, *mapped = NULL;
	int *nfr;
	MpWriter *w;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":n:q:o:O:d:c:s:a:m:Q")) != -1) {
		switch (c) {
		case 'n': nv = estrtol(optarg, 1, 100000000); break;
		case 'q': nq = estrtol(optarg, 1, 100000000); break;
		case 'o': vout = optarg; break;
		case 'O': qout = optarg; break;
		case 'd': D = estrtol(optarg, 1, 1 << 14); break;
		case 'c': C = estrtol(optarg, 1, 1 << 20); break;
		case 's': seed = estrtol(optarg, 0, 1L << 62); break;
		case 'a': aniso = estrtod(optarg, 0, 1e6); break;
		case 'm': model = optarg; break;
		case 'Q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || !nv || !nq || !vout || !qout)
		usage();
	if (!model) {
		snprintf(mname, sizeof(mname), "gallery-%ld", seed);
		model = mname;
	}

	threads_set(1);
	if (aniso > 0) {
		A = spectrum_map(D, aniso, (uint64_t)seed);
		mapped = efloats((size_t)120 * D);
	}
	rng_seed(&r, (uint64_t)seed);
	topics = efloats((size_t)C * D);
	for (long t = 0; t < C; t++) {
		for (long j = 0; j < D; j++)
			topics[t * D + j] = rng_normal(&r);
		rownorm_unit(topics + t * D, 1, D);
	}
	mom = efloats((size_t)6 * D);
	tmp = efloats((size_t)D);
	for (int b = 0; b < NBR; b++) {
		fr[b] = efloats((size_t)120 * D);
		q[b] = efloats((size_t)D);
	}
	nfr = emalloc((size_t)nv * sizeof(*nfr));

	/* videos */
	w = open_encoded(vout, "encoded-videos", nv, D, model);
	for (long v = 0; v < nv; v++) {
		int n = nfr[v] = frames_of(&r);
		int nm = video_moments(mom, v, n, topics, (int)C, (int)D, (uint64_t)seed, tmp);
		for (int t = 0; t < n; t++) {
			float scale = 0.5f + 1.5f * rng_uniform(&r);
			noisy(tmp, mom + (size_t)(t * nm / n) * D, 0.3f, (int)D, &r);
			for (int b = 0; b < NBR; b++) {
				noisy(fr[b] + (size_t)t * D, tmp, 0.3f, (int)D, &r);
				for (long j = 0; j < D; j++)
					fr[b][t * D + j] *= scale;
			}
		}
		if (A)
			for (int b = 0; b < NBR; b++)
				apply_map(A, fr[b], mapped, n, D);
		snprintf(id, sizeof(id), "g%08ld", v);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", id);
		mpw_kv_int(w, "n", n);
		for (int b = 0; b < NBR; b++)
			mpw_kv_f32(w, brname[b], fr[b], (size_t)n * D);
		mpw_record_done(w);
		progress(0, "%ld videos", v + 1);
	}
	mpw_close(w);

	/* queries */
	rng_seed(&rq, (uint64_t)seed + 1);
	w = open_encoded(qout, "encoded-queries", nq, D, model);
	for (long i = 0; i < nq; i++) {
		long v = (long)(rng_u64(&rq) % (uint64_t)nv);
		int nm = video_moments(mom, v, nfr[v], topics, (int)C, (int)D, (uint64_t)seed, tmp);
		const float *m = mom + (size_t)rng_below(&rq, (uint32_t)nm) * D;
		snprintf(id, sizeof(id), "g%08ld", v);
		snprintf(qid, sizeof(qid), "%s#enc#%ld", id, i);
		noisy(tmp, m, 0.5f, (int)D, &rq);
		for (int b = 0; b < NBR; b++)
			noisy(q[b], tmp, 0.3f, (int)D, &rq);
		if (A)
			for (int b = 0; b < NBR; b++)
				apply_map(A, q[b], mapped, 1, D);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", qid);
		mpw_kv_str(w, "video", id);
		for (int b = 0; b < NBR; b++)
			mpw_kv_f32(w, brname[b], q[b], (size_t)D);
		mpw_record_done(w);
	}
	mpw_close(w);
	progress(1, "%ld videos, %ld queries, dim %ld", nv, nq, D);
	free(topics), free(mom), free(tmp), free(nfr), free(A), free(mapped);
	for (int b = 0; b < NBR; b++)
		free(fr[b]), free(q[b]);
	return 0;
}
