/* reduce: the feature reduction rule of doc/method.md, on flat float arrays.
 * Frame sequences of N rows are averaged to at most M rows by uniform segments (the authors'
 * uniform_feature_sampling), token sequences are cut to the first T rows, and rows are
 * L2-normalised as x / (|x| + 1e-5). Every function works on one sequence in place or into a
 * caller's buffer: no allocation, no I/O. Not here: streams and headers (tools/feat-reduce.c). */
#ifndef REDUCE_H
#define REDUCE_H

#include <stddef.h>

#define REDUCE_EPS 1e-5   /* the authors' l2_normalize_np_array eps, added to the norm */

/* Boundaries b[0..M] (M + 1 longs) of the segment rule for N rows to M segments:
 *   b_i = min(round_half_even((i / M) * N), N - 1)
 * computed in float64 exactly as numpy's np.round(np.arange(0, M + 1, 1.0) / M * N) then
 * idxs[idxs > N - 1] = N - 1. N >= 1, M >= 1. Valid for any M, also M >= N. */
void reduce_bounds(long *b, long N, long M);

/* out (M, D) from x (N, D) by the segment rule with M segments, for any N >= 1, M >= 1:
 * row i = mean of x rows [b_i, b_{i+1}) when b_i < b_{i+1}, else row b_i. Means are
 * accumulated in float64 (numpy averages float32 in float32: last-bit differences). Because b_M
 * is clipped to N - 1, the last input row enters no mean unless its segment is empty (the
 * authors' code does exactly this). Empty segments: with N > M consecutive unclipped boundaries
 * differ by N/M > 1, so only the last segment can be empty, when b_{M-1} = N - 1 (N/M below
 * about 1.5, e.g. N = 129, M = 128: row 127 is x[128]); with N < M many are. */
void reduce_segments(float *out, const float *x, long N, long M, long D);

/* rows after reduce_frames: N when N <= M (kept as is), else M */
long reduce_rows(long N, long M);

/* the frame rule of method.md: N <= M rows are copied unchanged, N > M are segment-averaged
 * to M. out must hold reduce_rows(N, M) * D floats; returns that row count. */
long reduce_frames(float *out, const float *x, long N, long M, long D);

/* each of the N rows of x (N, D) becomes x / (|x| + 1e-5), norm in float64; in place */
void reduce_l2norm_rows(float *x, long N, long D);

#endif
