/* score: s(q, v) = max_t cos(q, F_{v,t}) for every query x video pair of a corpus; see score.h.
 *
 * Queries are taken SCORE_QB at a time and normalised into a copy; videos are grouped into runs
 * of whole videos of at most SCORE_FCHUNK frames (one longer video is a run on its own). One
 * cblas_sgemm per (query block, run) gives the dot products of the normalised queries with the
 * raw frames, which are then scaled by each frame's 1 / max(|F_t|, 1e-12) (computed once per call)
 * and reduced by a max over each video's frame range. Scaling after the product is the cosine of
 * the normalised vectors (up to float rounding) without a normalised copy of all frames, so memory
 * is SCORE_QB x SCORE_FCHUNK floats plus one float per frame, whatever the corpus size.
 * Threads: the sgemm uses OpenBLAS's threads; the norms and the per-video maxima run over rows and
 * videos on the same pool (static schedules, no sums across threads), so scores do not depend
 * on the thread count beyond the sgemm's own.
 * Not here: ranking, fusion policy, stream I/O (tools/rank.c, tools/teacher-sim.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "rownorm.h"
#include "score.h"
#include "threads.h"
#include "util.h"

#ifndef SCORE_QB              /* both overridable with -D, for tuning */
#define SCORE_QB 1024         /* queries per sgemm */
#endif
#ifndef SCORE_FCHUNK
#define SCORE_FCHUNK 2048     /* frames per sgemm (whole videos) */
#endif
#define SCORE_LANES 16        /* query block padded to a multiple of this */

/* m (nb) = max over rows t < n of x[t, :] * inv[t]; x (n, nb), nb a multiple of SCORE_LANES
 * (the fixed-length inner loop is what gcc -O2 vectorises) */
static void
max_rows(float *restrict m, const float *restrict x, const float *restrict inv, long n, int nb)
{
	for (int i = 0; i < nb; i++)
		m[i] = x[i] * inv[0];
	for (long t = 1; t < n; t++) {
		const float *restrict row = x + t * nb;
		float w = inv[t];
		for (int i = 0; i < nb; i += SCORE_LANES)
			for (int j = 0; j < SCORE_LANES; j++) {
				float y = row[i + j] * w;
				m[i + j] = y > m[i + j] ? y : m[i + j];
			}
	}
}

void
score_cosmax(float *s, const float *q, int Nq, const float *frames, const int *off, int Nv,
             int D)
{
	long F0, nf, maxrun = 0;
	float *inv, *qn, *buf, *mx;
	int *run, nrun = 0;

	CHECK(Nq >= 0 && Nv >= 1 && D >= 1);
	for (int v = 0; v < Nv; v++)
		CHECK(off[v + 1] > off[v]);
	if (Nq == 0)
		return;
	F0 = off[0];
	nf = (long)off[Nv] - F0;

	/* runs of whole videos: run[r] .. run[r+1]-1 */
	run = emalloc(((size_t)Nv + 1) * sizeof(*run));
	run[0] = 0;
	for (int v = 0; v < Nv; ) {
		int e = v + 1;
		while (e < Nv && score_run_joins((long)off[e] - off[v], (long)off[e + 1] - off[e]))
			e++;
		maxrun = MAX(maxrun, (long)off[e] - off[v]);
		run[++nrun] = v = e;
	}

	inv = efloats((size_t)nf);
	rownorm_inv(inv, frames + F0 * D, nf, D);
	qn = efloats((size_t)SCORE_QB * D);
	buf = efloats((size_t)SCORE_QB * maxrun);
	mx = efloats((size_t)SCORE_QB * max_threads());

	for (int i0 = 0; i0 < Nq; i0 += SCORE_QB) {
		int nb = MIN(SCORE_QB, Nq - i0);
		int nbp = (nb + SCORE_LANES - 1) / SCORE_LANES * SCORE_LANES;  /* columns nb.. are computed, ignored */

		memcpy(qn, q + (size_t)i0 * D, (size_t)nb * D * sizeof(*qn));
		rownorm_unit(qn, nb, D);
		for (int r = 0; r < nrun; r++) {
			int v0 = run[r], v1 = run[r + 1];
			long f0 = off[v0], n = (long)off[v1] - f0;

			/* buf (n, nb) = F[f0 .. f0+n) (n, D) . qn (nb, D)^T: a frame's row holds its dot
			 * products with every query, so the max over frames is an elementwise max of
			 * rows (SIMD over queries, no horizontal reduction) */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, nbp, D,
			            1.0f, frames + f0 * D, D, qn, D, 0.0f, buf, nbp);
			/* one video per thread at a time; mx holds a row of maxima per thread */
#pragma omp parallel for schedule(static) if (v1 - v0 > 1 && n * nbp >= 32768)
			for (int v = v0; v < v1; v++) {
				long a = off[v] - f0, e = off[v + 1] - f0;
				float *m = mx + (size_t)thread_id() * nbp;

				max_rows(m, buf + a * nbp, inv + (f0 - F0) + a, e - a, nbp);
				for (int i = 0; i < nb; i++)
					s[(size_t)(i0 + i) * Nv + v] = m[i];
			}
		}
	}
	free(mx);
	free(buf);
	free(qn);
	free(inv);
	free(run);
}

int
score_run_joins(long run, long n)
{
	return run + n <= SCORE_FCHUNK;
}

void
score_fuse(float *out, const float *a, const float *b, float beta, long n)
{
	for (long i = 0; i < n; i++)
		out[i] = beta * a[i] + (1.0f - beta) * b[i];
}
