/* reduce: segment averaging, token truncation and row normalisation; see reduce.h.
 * Threads: segments and rows are independent and run on the pool (lib/threads.h); each output
 * row is computed by one thread in the serial order. */
#include <math.h>
#include <string.h>

#include "reduce.h"
#include "rownorm.h"
#include "util.h"

void
reduce_bounds(long *b, long N, long M)
{
	CHECK(N >= 1 && M >= 1);
	for (long i = 0; i <= M; i++) {
		/* numpy: np.arange(0, M + 1, 1.0) / M * N, i.e. (i / M) first, then * N, in
		 * float64; np.round rounds half to even, which is rint() in the default rounding
		 * mode (e.g. N = 1000, M = 128, i = 8: 62.5 -> 62) */
		double t = (double)i / (double)M * (double)N;
		long v = (long)rint(t);
		b[i] = v > N - 1 ? N - 1 : v;
	}
}

void
reduce_segments(float *out, const float *x, long N, long M, long D)
{
	long b0, b1;
	double t;

	CHECK(N >= 1 && M >= 1 && D >= 1);
	/* boundaries computed one at a time (same formula as reduce_bounds): no buffer */
#pragma omp parallel for schedule(static) if (N * D >= 32768) private(b0, b1, t)
	for (long i = 0; i < M; i++) {
		t = (double)i / (double)M * (double)N;
		b0 = MIN((long)rint(t), N - 1);
		t = (double)(i + 1) / (double)M * (double)N;
		b1 = MIN((long)rint(t), N - 1);
		float *o = out + i * D;
		if (b0 >= b1) {
			memcpy(o, x + b0 * D, (size_t)D * sizeof(*o));
			continue;
		}
		for (long j = 0; j < D; j++) {
			double s = 0;
			for (long r = b0; r < b1; r++)
				s += x[r * D + j];
			o[j] = (float)(s / (double)(b1 - b0));
		}
	}
}

long
reduce_rows(long N, long M)
{
	return N <= M ? N : M;
}

long
reduce_frames(float *out, const float *x, long N, long M, long D)
{
	if (N <= M) {
		memmove(out, x, (size_t)(N * D) * sizeof(*out));
		return N;
	}
	reduce_segments(out, x, N, M, D);
	return M;
}

void
reduce_l2norm_rows(float *x, long N, long D)
{
	rownorm_eps(x, N, D, REDUCE_EPS);
}
