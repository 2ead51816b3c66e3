/* ranking: the ranking stream's header and items, and the top K; see ranking.h. */
#include <stdlib.h>

#include "ranking.h"
#include "util.h"

#define QBLOCK 2048        /* queries scored, fused and written per round, at most */
#define SBUDGET (1L << 25) /* floats of per-branch scores held at once */

int
ranking_block(long nv, int nb)
{
	return (int)MAX(1, MIN(QBLOCK, SBUDGET / (nv * nb)));
}

static void
sift_down(const float *s, int *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i, t;
		/* root = worst of the kept ones */
		if (l < n && ranking_better(s, h[w], h[l]))
			w = l;
		if (r < n && ranking_better(s, h[w], h[r]))
			w = r;
		if (w == i)
			return;
		t = h[i], h[i] = h[w], h[w] = t;
		i = w;
	}
}

void
top_k(int32_t *top, float *topscore, const float *s, int nv, int k)
{
	int *h = emalloc((size_t)k * sizeof(*h)), n = 0;

	for (int v = 0; v < nv; v++) {
		if (n < k) {
			/* sift up */
			int i = n++;
			h[i] = v;
			while (i > 0 && ranking_better(s, h[(i - 1) / 2], h[i])) {
				int p = (i - 1) / 2, t = h[i];
				h[i] = h[p], h[p] = t;
				i = p;
			}
		} else if (ranking_better(s, v, h[0])) {
			h[0] = v;
			sift_down(s, h, n, 0);
		}
	}
	/* heap sort: the root is the worst kept, so it goes last */
	for (int i = n - 1; i >= 0; i--) {
		top[i] = h[0];
		topscore[i] = s[h[0]];
		h[0] = h[i];
		sift_down(s, h, i, 0);
	}
	free(h);
}

void
ranking_header(MpWriter *w, long count, char **vid, int nv, long k, int fused, double beta,
               const char *score, const char *split)
{
	mpw_header(w, "ranking", count, 5);
	mpw_key(w, "videos");
	mpw_array(w, (size_t)nv);
	for (int v = 0; v < nv; v++)
		mpw_str(w, vid[v]);
	mpw_kv_int(w, "k", k);
	mpw_key(w, "beta");
	if (fused)
		mpw_f64(w, beta);
	else
		mpw_nil(w);
	mpw_kv_str(w, "score", score);
	mpw_kv_str(w, "split", split);
	mpw_record_done(w);
}

void
ranking_item(MpWriter *w, const char *id, const char *video, int rank, const int32_t *top,
             const float *topscore, int k)
{
	mpw_map(w, 5);
	mpw_kv_str(w, "id", id);
	mpw_kv_str(w, "video", video);
	mpw_kv_int(w, "rank", rank);
	mpw_key(w, "top");
	mpw_i32bin(w, top, (size_t)k);
	mpw_kv_f32(w, "topscore", topscore, (size_t)k);
	mpw_record_done(w);
}
