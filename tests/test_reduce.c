/* test_reduce: the reduction rule of lib/reduce.c against hand-computed cases (N = 1, 127, 128,
 * 129, 1000, N < M with empty segments, half-way rounding) and against an independent float64
 * re-implementation of the authors' uniform_feature_sampling on random inputs.
 * With arguments it is also the shell tests' stream maker (no golden files needed):
 *   test_reduce gen-video ROLE NVIDEOS DIM SEED   raw video-features on stdout
 *   test_reduce gen-query ROLE NQUERIES DIM SEED  raw query-features on stdout
 *   test_reduce gen-bad nan|dim|version|magic|kind|count|role   a small broken stream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpio.h"
#include "reduce.h"
#include "rng.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* ---- independent reference (float64 throughout) ---- */

/* round half to even without rint: floor, then compare the fraction with one half */
static long
round_half_even(double t)
{
	double f = floor(t), d = t - f;

	if (d > 0.5)
		return (long)f + 1;
	if (d < 0.5)
		return (long)f;
	return ((long)f % 2 == 0) ? (long)f : (long)f + 1;
}

/* numpy: idxs = np.round(np.arange(0, M+1, 1.0) / M * N); idxs[idxs > N-1] = N-1;
 * row i = mean(x[idxs[i]:idxs[i+1]]) if idxs[i] < idxs[i+1] else x[idxs[i]] */
static void
ref_segments(double *out, const float *x, long N, long M, long D)
{
	long *idx = emalloc((size_t)(M + 1) * sizeof(*idx));

	for (long i = 0; i <= M; i++) {
		double a = (double)i / (double)M;
		idx[i] = round_half_even(a * (double)N);
		if (idx[i] > N - 1)
			idx[i] = N - 1;
	}
	for (long i = 0; i < M; i++) {
		for (long j = 0; j < D; j++)
			out[i * D + j] = 0;
		if (idx[i] < idx[i + 1]) {
			for (long r = idx[i]; r < idx[i + 1]; r++)
				for (long j = 0; j < D; j++)
					out[i * D + j] += x[r * D + j];
			for (long j = 0; j < D; j++)
				out[i * D + j] /= (double)(idx[i + 1] - idx[i]);
		} else {
			for (long j = 0; j < D; j++)
				out[i * D + j] = x[idx[i] * D + j];
		}
	}
	free(idx);
}

/* ---- hand-computed cases ---- */

/* x (N, 2): row r = (r, r^2), so a segment mean is easy to compute by hand */
static float *
ramp(long N)
{
	float *x = efloats((size_t)(2 * N));

	for (long r = 0; r < N; r++) {
		x[2 * r] = (float)r;
		x[2 * r + 1] = (float)(r * r);
	}
	return x;
}

static void
test_bounds(void)
{
	long b[129];

	/* N = 1000, M = 128: (i/128)*1000 = 7.8125 i */
	reduce_bounds(b, 1000, 128);
	EXPECT(b[0] == 0 && b[1] == 8 && b[7] == 55);
	EXPECT(b[8] == 62);      /* 62.5: half to even */
	EXPECT(b[24] == 188);    /* 187.5: half to even */
	EXPECT(b[127] == 992);   /* 992.1875 */
	EXPECT(b[128] == 999);   /* 1000 clipped to N - 1 */
	/* N = 129, M = 128: i + i/128 */
	reduce_bounds(b, 129, 128);
	EXPECT(b[63] == 63 && b[64] == 64 && b[65] == 66 && b[127] == 128 && b[128] == 128);
	/* N = 3, M = 5: 0, .6, 1.2, 1.8, 2.4, 3 -> 0 1 1 2 2 2 (3 clipped) */
	reduce_bounds(b, 3, 5);
	EXPECT(b[0] == 0 && b[1] == 1 && b[2] == 1 && b[3] == 2 && b[4] == 2 && b[5] == 2);
	/* N = 5, M = 2: 0, 2.5 -> 2, 5 -> 4 */
	reduce_bounds(b, 5, 2);
	EXPECT(b[0] == 0 && b[1] == 2 && b[2] == 4);
	printf("%s bounds\n", failures ? "NOT OK" : "OK");
}

static void
test_hand(void)
{
	int before = failures;
	float *x, *y = efloats(2 * 1000);
	long m;

	/* N <= M: kept exactly */
	for (long N = 1; N <= 128; N += N == 1 ? 126 : 1) {   /* 1, 127, 128 */
		x = ramp(N);
		m = reduce_frames(y, x, N, 128, 2);
		EXPECT(m == N);
		EXPECT(memcmp(x, y, (size_t)(2 * N) * sizeof(float)) == 0);
		free(x);
	}
	/* N = 129: rows 0..63 kept; row 64 = mean(x64, x65); rows 65..126 = x_{i+1};
	 * row 127: segment [128, 128) is empty, so row 128 itself */
	x = ramp(129);
	m = reduce_frames(y, x, 129, 128, 2);
	EXPECT(m == 128);
	EXPECT(y[2 * 0] == 0 && y[2 * 63] == 63 && y[2 * 63 + 1] == 3969);
	EXPECT(y[2 * 64] == 64.5f && y[2 * 64 + 1] == (64 * 64 + 65 * 65) / 2.0f);
	EXPECT(y[2 * 65] == 66 && y[2 * 126] == 127);
	EXPECT(y[2 * 127] == 128 && y[2 * 127 + 1] == 16384);
	free(x);
	/* N = 1000: row 7 = mean of rows 55..61, row 8 = mean of rows 62..69 (b_8 = 62 by
	 * half-to-even), row 127 = mean of rows 992..998 (row 999 is in no segment) */
	x = ramp(1000);
	m = reduce_frames(y, x, 1000, 128, 2);
	EXPECT(m == 128);
	EXPECT(y[2 * 7] == 58 && y[2 * 7 + 1] == 3368);
	EXPECT(y[2 * 8] == 65.5f && y[2 * 8 + 1] == 4295.5f);
	EXPECT(y[2 * 127] == 995 && y[2 * 127 + 1] == 990029);
	free(x);
	/* the segment rule itself with N < M: N = 3, M = 5 -> x0, x1 (empty), x1, x2 (empty),
	 * x2 (empty) */
	x = ramp(3);
	reduce_segments(y, x, 3, 5, 2);
	EXPECT(y[0] == 0 && y[2] == 1 && y[4] == 1 && y[6] == 2 && y[8] == 2 && y[9] == 4);
	free(x);
	/* N = 1 with any M: every segment empty, every row x0 */
	x = ramp(1);
	x[0] = 3;
	x[1] = -2;
	reduce_segments(y, x, 1, 128, 2);
	for (int i = 0; i < 128; i++)
		EXPECT(y[2 * i] == 3 && y[2 * i + 1] == -2);
	free(x);
	/* normalisation: (3, 4) -> (3, 4) / (5 + 1e-5); zero rows stay zero */
	y[0] = 3, y[1] = 4, y[2] = 0, y[3] = 0;
	reduce_l2norm_rows(y, 2, 2);
	EXPECT(y[0] == (float)(3 / 5.00001) && y[1] == (float)(4 / 5.00001));
	EXPECT(y[2] == 0 && y[3] == 0);
	free(y);
	printf("%s hand-computed reductions (N = 1, 127, 128, 129, 1000; N < M)\n",
	       failures == before ? "OK" : "NOT OK");
}

static void
test_reference(void)
{
	static const long Ms[] = { 1, 2, 7, 64, 128, 300 };
	int before = failures;
	double maxrel = 0;
	Rng g;

	rng_seed(&g, 7);
	for (int t = 0; t < 200; t++) {
		long N = 1 + rng_below(&g, 1000), M = Ms[t % 6], D = 1 + rng_below(&g, 17);
		float *x = efloats((size_t)(N * D)), *y = efloats((size_t)(M * D));
		double *ref = emalloc((size_t)(M * D) * sizeof(*ref));
		for (long i = 0; i < N * D; i++)
			x[i] = rng_normal(&g);
		reduce_segments(y, x, N, M, D);
		ref_segments(ref, x, N, M, D);
		for (long i = 0; i < M * D; i++) {
			double e = fabs(y[i] - ref[i]) / (fabs(ref[i]) + 1e-3);
			maxrel = MAX(maxrel, e);
		}
		/* reduce_frames: the same as the segment rule when N > M, the input when N <= M */
		long m = reduce_frames(y, x, N, M, D);
		EXPECT(m == (N > M ? M : N));
		if (N <= M)
			EXPECT(memcmp(y, x, (size_t)(N * D) * sizeof(float)) == 0);
		/* normalised rows: x / (|x| + 1e-5), float64 reference */
		reduce_l2norm_rows(y, m, D);
		for (long i = 0; i < m; i++) {
			double s = 0;
			float *src = N > M ? NULL : x + i * D;
			for (long j = 0; j < D; j++) {
				double v = src ? src[j] : ref[i * D + j];
				s += v * v;
			}
			for (long j = 0; j < D; j++) {
				double v = src ? src[j] : ref[i * D + j];
				double want = v / (sqrt(s) + 1e-5);
				maxrel = MAX(maxrel, fabs(y[i * D + j] - want) / (fabs(want) + 1e-3));
			}
		}
		free(x);
		free(y);
		free(ref);
	}
	EXPECT(maxrel < 1e-5);
	printf("%s independent float64 reference, 200 random cases (max rel diff %.2g)\n",
	       failures == before ? "OK" : "NOT OK", maxrel);
}

/* ---- stream maker for tests/test_tools.sh ---- */

static int
gen(int argc, char *argv[])
{
	int video = strcmp(argv[1], "gen-video") == 0;
	const char *role = argv[2];
	long n = estrtol(argv[3], 0, 100000), dim = estrtol(argv[4], 1, 4096), k;
	Rng g;
	MpWriter *w = mpw_open("-", 0);
	float *x = efloats((size_t)(300 * dim));
	char id[96], vid[64];

	rng_seed(&g, (uint64_t)estrtol(argv[5], 0, 1L << 40));
	mpw_header(w, video ? "video-features" : "query-features", n, 5);
	mpw_kv_str(w, "role", role);
	mpw_kv_int(w, "dim", dim);
	mpw_kv_str(w, "split", "test");
	mpw_kv_bool(w, "reduced", 0);
	mpw_kv_bool(w, "normalized", 0);
	mpw_record_done(w);
	for (long i = 0; i < n; i++) {
		/* frame counts around the interesting boundaries, tokens 1..40 */
		static const long fr[] = { 1, 2, 127, 128, 129, 200, 300 };
		if (video)
			k = fr[i % 7];
		else
			k = strcmp(role, "teacher") == 0 ? 1 : 1 + (long)rng_below(&g, 40);
		for (long j = 0; j < k * dim; j++)
			x[j] = rng_normal(&g) + 0.5f;
		snprintf(vid, sizeof(vid), "v%ld", video ? i : i / 3);
		snprintf(id, sizeof(id), "%s#enc#%ld", vid, i % 3);
		mpw_map(w, video ? 3 : 4);
		mpw_kv_str(w, "id", video ? vid : id);
		if (!video)
			mpw_kv_str(w, "video", vid);
		mpw_kv_int(w, "n", k);
		mpw_kv_f32(w, "x", x, (size_t)(k * dim));
		mpw_record_done(w);
	}
	mpw_close(w);
	free(x);
	return 0;
}

/* a small student video-features stream (dim 8, 4 videos of 5 frames) broken one way:
 * nan, dim (x of 39 floats for n 5), version, magic, kind, count (promises 5, has 4), role */
static int
gen_bad(const char *how)
{
	MpWriter *w = mpw_open("-", 0);
	float x[40];
	char id[16];
	msgpack_object bin = { .type = MSGPACK_OBJECT_BIN };

	bin.via.bin.ptr = (const char *)x;
	for (int j = 0; j < 40; j++)
		x[j] = (float)j / 40 - 0.3f;
	mpw_map(w, 10);
	mpw_kv_str(w, "magic", strcmp(how, "magic") ? "prvr" : "prvx");
	mpw_kv_int(w, "version", strcmp(how, "version") ? 1 : 2);
	mpw_kv_str(w, "kind", strcmp(how, "kind") ? "video-features" : "video-feature");
	mpw_kv_int(w, "count", strcmp(how, "count") ? 4 : 5);
	mpw_kv_str(w, "cmd", "test_reduce gen-bad");
	mpw_kv_str(w, "role", strcmp(how, "role") ? "student" : "teachr");
	mpw_kv_int(w, "dim", 8);
	mpw_kv_str(w, "split", "test");
	mpw_kv_bool(w, "reduced", 0);
	mpw_kv_bool(w, "normalized", 0);
	mpw_record_done(w);
	w->count = strcmp(how, "count") ? 4 : 5;
	for (int i = 0; i < 4; i++) {
		if (i == 2 && strcmp(how, "nan") == 0)
			x[13] = NAN;
		snprintf(id, sizeof(id), "v%d", i);
		mpw_map(w, 3);
		mpw_kv_str(w, "id", id);
		mpw_kv_int(w, "n", 5);
		mpw_key(w, "x");
		/* as a raw object: mpw_f32bin refuses non-finite values, which is what we want to test */
		bin.via.bin.size = (i == 1 && strcmp(how, "dim") == 0 ? 39 : 40) * 4;
		mpw_obj(w, &bin);
		mpw_record_done(w);
	}
	if (strcmp(how, "count") == 0)
		w->count = 4;   /* let mpw_close accept the short stream */
	mpw_close(w);
	return 0;
}

int
main(int argc, char *argv[])
{
	argv0 = "test_reduce";
	if (argc == 6 && (strcmp(argv[1], "gen-video") == 0 || strcmp(argv[1], "gen-query") == 0))
		return gen(argc, argv);
	if (argc == 3 && strcmp(argv[1], "gen-bad") == 0)
		return gen_bad(argv[2]);
	if (argc != 1)
		die("usage: test_reduce [gen-video|gen-query ROLE N DIM SEED | gen-bad HOW]");
	test_bounds();
	test_hand();
	test_reference();
	printf("%s\n", failures ? "NOT OK test_reduce" : "OK test_reduce");
	return failures ? 1 : 0;
}
