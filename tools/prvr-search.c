/* prvr-search: encoded queries against a frame index (prvr-index) -> a ranking stream, as rank
 * writes it (schemas/ranking.md).
 * Approximate (default), in two passes. First, per used branch, every video met by FAISS gets an
 * approximate best frame score: an IVF index scans its NPROBE nearest lists and keeps the best
 * code score per video (so one video's many frames cannot crowd the others out); an HNSW index
 * returns its F nearest frames. A video's first-pass score is fused as the final one, a branch
 * that did not meet it counting as the lowest best that branch met. Then the C best by first
 * pass (at least min(K, videos), padded with the first other videos) are re-scored with the
 * DL-DKD score from the stored codes, s_b = max over its frames of the cosine, fused
 * beta * s_exp + (1 - beta) * s_inh, and ranked (ties to the lower corpus index). The own
 * video's rank is its rank among the re-scored, or (their number + 1) when it is not one.
 * Exact (-E, an index of f32 codes): rank's exhaustive scoring (lib/score's score_cosmax over
 * the mapped frames, in rank's rounds of queries), so the ranking equals rank's bit for bit.
 * Not here: the index file and codecs (lib/vindex.c), FAISS (lib/faissw.cpp), ranking I/O
 * (lib/ranking.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <omp.h>

#include "evalm.h"
#include "faissw.h"
#include "mpio.h"
#include "ranking.h"
#include "score.h"
#include "sq8nib.h"
#include "util.h"
#include "vidset.h"
#include "vindex.h"

#define QB 256                 /* queries given to FAISS at once (approximate search) */
#define DEFAULT_C 4            /* re-scored videos a query: DEFAULT_C x K */
#define SEEN_AHEAD 16          /* seen videos whose bests are fetched ahead (pick_candidates) */

static void
help(void)
{
	printf("prvr-search - rank the videos of a frame index for encoded queries\n"
	       "\n"
	       "usage: %s -x INDEX -q QUERIES [-E] [-k K] [-C C] [-p NPROBE] [-e EF] [-f F] [-F]\n"
	       "       [-b BETA | -B BRANCH] [-j N] [-o FILE] [-z] [-Q]\n"
	       "\n"
	       "Reads a frame index (prvr-index) and an encoded-queries stream of the same model and\n"
	       "dim, and writes a ranking stream as rank does: per query {id, video, rank, top, topscore}.\n"
	       "First pass: per branch, the videos FAISS meets get their best approximate frame score\n"
	       "(IVF: every code in the NPROBE nearest lists; HNSW: the F nearest frames), fused as below.\n"
	       "Then the C best of them are re-scored exactly as rank scores, s_b = max over the video's\n"
	       "frames of cos(q_b, F_b,t), from the stored codes, fused beta * s_exp + (1 - beta) * s_inh,\n"
	       "and ranked (ties: lower index first); sq8 codes: the float score only of the frames whose\n"
	       "integer score is within its rounding bound of the video's best (the same maximum).\n"
	       "'rank' is the own video's rank among the re-scored,\n"
	       "or their number + 1 when it is not one.\n"
	       "With -E, every video is scored from f32 codes as rank does: the same ranking, bit for bit.\n"
	       "\n"
	       "  -x FILE    frame index\n"
	       "  -q FILE    encoded-queries stream (- is stdin)\n"
	       "  -E         exhaustive, exact search (an index built with -c f32)\n"
	       "  -k K       videos listed per query, 1..1073741824 (default 100)\n"
	       "  -C C       videos re-scored per query, at least K (default 4 K)\n"
	       "  -p NPROBE  ivf-*: lists scanned (default: the index's)\n"
	       "  -e EF      hnsw*: efSearch (default: the index's)\n"
	       "  -f F       hnsw*: frames fetched per branch and query (default 16 K)\n"
	       "  -F         sq8: re-score every frame in floats (the reference: the same output, slower)\n"
	       "  -b BETA    weight of the exploration branch, 0..1 (default 0.3)\n"
	       "  -B BRANCH  rank this branch alone (inh or exp)\n"
	       "  -j N       threads (default $OPENBLAS_NUM_THREADS or 2)\n"
	       "  -o FILE    output stream (default stdout; written atomically)\n"
	       "  -z         gzip the output\n"
	       "  -Q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (nothing is left at -o FILE).\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s -x INDEX -q QUERIES [-E] [-k K] [-C C] [-p NPROBE] [-e EF] [-f F] [-F] "
	    "[-b BETA | -B BRANCH] [-j N] [-o FILE] [-z] [-Q]", argv0);
}

/* what is ranked: branch a alone, or beta * a + (1 - beta) * b (a = exp, b = inh) */
typedef struct {
	int fused, a, b;
	double beta;
	const char *name;
} Choice;

typedef struct {
	VxIndex x;
	MpReader *rq;
	MpWriter *w;
	Choice c;
	int use[VX_MAXBR], nuse;   /* index branches scored */
	int qpos[VX_MAXBR];        /* where index branch b is in the query stream */
	int kk;                    /* min(K, videos) */
	int all;                   /* -F: sq8 re-scores take every frame's float score */
	long nq;
} Search;

static int
branch_of(const VxIndex *x, const char *s)
{
	for (int b = 0; b < x->nb; b++)
		if (strcmp(x->h.branch[b], s) == 0)
			return b;
	return -1;
}

/* the query header against the index: dim, model, split, branches; sets the choice */
static char *
check_queries(Search *S, const msgpack_object *hq, const char *bname, double beta)
{
	VxIndex *x = &S->x;
	MpReader *rq = S->rq;
	const msgpack_object *mo = mp_find(hq, "model");
	long D = mpr_int(rq, hq, "dim");
	size_t nbq;
	char **bq = mpr_strarray(rq, hq, "branches", &nbq), *split = vidset_header_split(rq, hq);

	if (D != x->Din)
		mpr_die(rq, "'dim' = %ld, but index %s has dim %d", D, x->path, x->Din);
	if (mo && mo->type == MSGPACK_OBJECT_STR && x->h.model[0]) {
		char *m = mpr_strdup(rq, hq, "model");
		if (strcmp(m, x->h.model) != 0)
			mpr_die(rq, "encoded by model %s, but index %s holds videos of model %s", m,
			        x->path, x->h.model);
		free(m);
	}
	if (*split && x->h.split[0] && strcmp(split, x->h.split) != 0)
		mpr_die(rq, "split '%s', but index %s has split '%s'", split, x->path, x->h.split);
	if (nbq != (size_t)x->nb)
		mpr_die(rq, "%zu branches, but index %s has %d", nbq, x->path, x->nb);
	for (int b = 0; b < x->nb; b++) {
		S->qpos[b] = -1;
		for (size_t i = 0; i < nbq; i++)
			if (strcmp(bq[i], x->h.branch[b]) == 0)
				S->qpos[b] = (int)i;
		if (S->qpos[b] < 0)
			mpr_die(rq, "no branch '%s', which index %s has", x->h.branch[b], x->path);
	}
	S->c = (Choice){ 0, 0, 0, beta, NULL };
	if (bname) {
		if ((S->c.a = branch_of(x, bname)) < 0)
			die("%s: no branch '%s'", x->path, bname);
		S->c.name = bname;
		S->use[S->nuse++] = S->c.a;
	} else if (x->nb == 1) {
		S->c.name = x->h.branch[0];
		S->use[S->nuse++] = 0;
	} else if ((S->c.a = branch_of(x, "exp")) >= 0 && (S->c.b = branch_of(x, "inh")) >= 0) {
		S->c.fused = 1;
		S->c.name = "fused";
		/* the query stream's order, as rank scores them */
		S->use[S->nuse++] = S->qpos[0] < S->qpos[1] ? 0 : 1;
		S->use[S->nuse++] = S->qpos[0] < S->qpos[1] ? 1 : 0;
	} else
		die("%s: branches %s and %s, not inh and exp: choose one with -B", x->path,
		    x->h.branch[0], x->h.branch[1]);
	for (size_t i = 0; i < nbq; i++)
		free(bq[i]);
	free(bq);
	return split;
}

/* up to n queries of the stream: ids, own videos, embeddings qb[b] (n, Din) per used branch */
static int
read_block(Search *S, int n, char **qid, char **qvid, int *own, float **qb)
{
	const msgpack_object *o;
	int i = 0;

	while (i < n && (o = mpr_next(S->rq))) {
		qid[i] = mpr_strdup(S->rq, o, "id");
		qvid[i] = mpr_strdup(S->rq, o, "video");
		if ((own[i] = idindex_find(&S->x.ix, qvid[i])) < 0)
			mpr_die(S->rq, "query '%s': video '%s' is not in index %s", qid[i], qvid[i],
			        S->x.path);
		for (int u = 0; u < S->nuse; u++)
			mpr_f32(S->rq, o, S->x.h.branch[S->use[u]], qb[u] + (size_t)i * S->x.Din,
			        (size_t)S->x.Din);
		i++;
	}
	return i;
}

/* the fused (or single-branch) score from per-used-branch scores s[u] */
static const float *
chosen(const Search *S, float **s, long i, int nv, float *out)
{
	int a = 0, b = 1;

	if (!S->c.fused)
		return s[0] + (size_t)i * nv;
	if (S->use[0] != S->c.a)
		a = 1, b = 0;
	score_fuse(out, s[a] + (size_t)i * nv, s[b] + (size_t)i * nv, (float)S->c.beta, nv);
	return out;
}

/* ---- -E: rank's exhaustive scoring over the mapped f32 frames ---- */

static void
search_exact(Search *S)
{
	VxIndex *x = &S->x;
	int nblk = ranking_block(x->nv, S->nuse), n;
	float *qb[VX_MAXBR], *sb[VX_MAXBR], *fused = efloats((size_t)x->nv);
	float *topscore = efloats((size_t)S->kk);
	int32_t *top = emalloc((size_t)S->kk * sizeof(*top));
	char **qid = ecalloc((size_t)nblk, sizeof(*qid)), **qvid = ecalloc((size_t)nblk, sizeof(*qvid));
	int *own = emalloc((size_t)nblk * sizeof(*own));

	if (x->h.code != VX_F32)
		die("%s: -E needs the frames as f32 (prvr-index -c f32); this index stores %s",
		    x->path, vx_code_name[x->h.code]);
	for (int u = 0; u < S->nuse; u++) {
		qb[u] = efloats((size_t)nblk * x->D);
		sb[u] = efloats((size_t)nblk * x->nv);
	}
	while ((n = read_block(S, nblk, qid, qvid, own, qb)) > 0) {
		for (int u = 0; u < S->nuse; u++)
			score_cosmax(sb[u], qb[u], n, (const float *)x->codes[S->use[u]], x->off, x->nv,
			             x->D);
		for (int i = 0; i < n; i++) {
			const float *s = chosen(S, sb, i, x->nv, fused);
			int rk = rank_of(s, x->nv, own[i]);
			top_k(top, topscore, s, x->nv, S->kk);
			CHECK(rk > S->kk || top[rk - 1] == own[i]);
			ranking_item(S->w, qid[i], qvid[i], rk, top, topscore, S->kk);
			free(qid[i]), free(qvid[i]);
		}
		S->nq += n;
		progress(0, "%ld queries ranked", S->nq);
	}
	for (int u = 0; u < S->nuse; u++)
		free(qb[u]), free(sb[u]);
	free(fused), free(topscore), free(top), free(qid), free(qvid), free(own);
}

/* ---- approximate: FAISS candidates, the best re-scored from the codes ---- */

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

enum { ST_IVF, ST_FAISS_IVF, ST_HNSW };

/* what the candidate stage handed over for a block of queries, per used branch: IVF (the
 * index's own lists, or FAISS's): the lists to scan (QB, nprobe) and their centroid scores;
 * HNSW: the F nearest frames (QB, F) */
typedef struct {
	int kind, width;           /* ST_*; nprobe or F */
	int64_t *row[VX_MAXBR];
	float *score[VX_MAXBR];
	float *cs;                 /* ST_IVF: (QB, nlist) centroid scores */
	int32_t *pick;             /* ST_IVF: (nprobe) */
} Stage;

/* one thread's scratch */
typedef struct {
	float *best[VX_MAXBR];     /* (nv) per used branch: the approximate max over the frames seen */
	int32_t *seen[VX_MAXBR];   /* (nv + 1) the videos whose best was raised from -inf */
	long nseen[VX_MAXBR];
	FwScan *scan[VX_MAXBR];
	int *cand, *pick;          /* (nv) */
	float *first;              /* (nv) first-pass scores of the candidates */
	float *tab[VX_MAXBR], *scratch, *sc[VX_MAXBR], *fused;
	float *ls;                 /* ST_IVF: (longest list) frame scores */
} Worker;

static void
worker_init(Worker *W, const Search *S, int faiss_ivf)
{
	const VxIndex *x = &S->x;
	size_t nv = (size_t)x->nv;

	memset(W, 0, sizeof(*W));
	for (int u = 0; u < S->nuse; u++) {
		W->best[u] = efloats(nv);
		for (size_t v = 0; v < nv; v++)
			W->best[u][v] = -INFINITY;
		W->seen[u] = emalloc((nv + 1) * sizeof(*W->seen[u]));   /* best_raise: one more */
		if (faiss_ivf && !(W->scan[u] = fw_scan_new(x->ann[S->use[u]])))
			die("%s: FAISS: %s", x->path, fw_error());
		W->tab[u] = efloats(vx_query_floats(x));
		W->sc[u] = efloats(nv);
	}
	W->cand = emalloc(nv * sizeof(*W->cand));
	W->pick = emalloc(nv * sizeof(*W->pick));
	W->first = efloats(nv);
	W->fused = efloats(nv);
	W->scratch = efloats((size_t)x->maxn * (x->D + 1));
	if (x->h.ann == VX_IVF) {
		int m = 1;
		for (int u = 0; u < S->nuse; u++)
			for (long l = 0; l < (long)x->h.nlist; l++)
				m = MAX(m, x->loff[S->use[u]][l + 1] - x->loff[S->use[u]][l]);
		W->ls = efloats((size_t)m);
	}
}

static void
worker_free(Worker *W, int nuse)
{
	for (int u = 0; u < nuse; u++) {
		free(W->best[u]), free(W->seen[u]), free(W->tab[u]), free(W->sc[u]);
		fw_scan_free(W->scan[u]);
	}
	free(W->cand), free(W->pick), free(W->first), free(W->fused), free(W->scratch);
	free(W->ls);
}

/* per used branch, the approximate best frame score of every video met by the candidate stage
 * (query i of the block; W->tab its tables): IVF scans the probed lists (the index's own: the
 * stored codes of their frames; FAISS's: its codes), HNSW reads its F frames */
static void
first_scores(const Search *S, const Stage *G, Worker *W, float **qn, long i)
{
	const VxIndex *x = &S->x;
	long nf = (long)x->h.nframe;

	for (int u = 0; u < S->nuse; u++) {
		const int64_t *row = G->row[u] + i * G->width;
		const float *sc = G->score[u] + i * G->width;
		float *best = W->best[u];
		long ns = 0;
		if (G->kind == ST_IVF) {
			int b = S->use[u];
			for (int j = 0; j < G->width; j++)
				ns = vx_scan_best(x, b, (int)row[j], W->tab[u], best, W->seen[u], ns,
				                  W->ls, W->scratch);
		} else if (G->kind == ST_FAISS_IVF) {
			ns = fw_scan_max(W->scan[u], qn[u] + i * x->D, G->width, row, sc, x->vid, nf,
			                 best, W->seen[u], 0);
			if (ns < 0)
				die("%s: FAISS structure of %s: %s", x->path, x->h.branch[S->use[u]],
				    fw_error());
		} else
			for (int j = 0; j < G->width; j++) {
				if (row[j] < 0)
					continue;
				if (row[j] >= nf)
					die("%s: FAISS structure of %s: a row out of range", x->path,
					    x->h.branch[S->use[u]]);
				ns = best_raise(best, W->seen[u], ns, x->vid[row[j]], sc[j]);
			}
		W->nseen[u] = ns;
	}
}

/* the C candidates to re-score, sorted (rank's tie rule is by corpus index): the videos met in
 * any branch, ranked by their first-pass score (a branch that did not meet a video counts as
 * the lowest best it met), padded with the first other videos when fewer than kk were met.
 * A video is a candidate at its first meeting: in branch u's seen list when no earlier branch
 * met it. The bests are scattered over the gallery (4 MB a branch at a million videos), so
 * each is fetched ahead of its turn, and read twice at most */
/* whether any of branches 0..n-1 met video v (raised its best from -inf) */
static int
met_by(float *const *best, int n, int v)
{
	int met = 0;

	for (int t = 0; t < n; t++)
		met |= best[t][v] != -INFINITY;
	return met;
}

/* candidate nc is video v, with its bests of every branch (-inf where not met) in s */
static int
add_candidate(Worker *W, float **s, int nu, int nc, int v)
{
	for (int t = 0; t < nu; t++)
		s[t][nc] = W->best[t][v];
	W->cand[nc] = v;
	return nc + 1;
}

static int
pick_candidates(const Search *S, Worker *W, int C)
{
	int nv = S->x.nv, nu = S->nuse, nc = 0, np;
	float floor[VX_MAXBR], *s[VX_MAXBR], *const *best = W->best;

	for (int u = 0; u < nu; u++)
		s[u] = W->sc[u];
	for (int u = 0; u < nu; u++) {
		const int32_t *seen = W->seen[u];
		long ns = W->nseen[u];
		floor[u] = ns ? INFINITY : 0;
		for (long j = 0; j < ns; j++) {
			int v = seen[j];
			if (j + SEEN_AHEAD < ns)
				for (int t = 0; t < nu; t++)
					__builtin_prefetch(best[t] + seen[j + SEEN_AHEAD]);
			floor[u] = best[u][v] < floor[u] ? best[u][v] : floor[u];   /* never NaN */
			if (!met_by(best, u, v))
				nc = add_candidate(W, s, nu, nc, v);
		}
	}
	for (int v = 0; nc < S->kk && v < nv; v++)
		if (!met_by(best, nu, v))
			nc = add_candidate(W, s, nu, nc, v);
	/* first-pass scores: the branches' bests (floor where not met), then the final score */
	for (int u = 0; u < nu; u++)
		for (int j = 0; j < nc; j++)
			if (s[u][j] == -INFINITY)
				s[u][j] = floor[u];
	np = MIN(C, nc);
	if (np < nc) {
		const float *f = chosen(S, s, 0, nc, W->first);
		top_k(W->pick, W->fused, f, nc, np);
		for (int j = 0; j < np; j++)
			W->pick[j] = W->cand[W->pick[j]];
	} else
		memcpy(W->pick, W->cand, (size_t)nc * sizeof(*W->pick));
	qsort(W->pick, (size_t)np, sizeof(*W->pick), cmp_int);
	/* clear for the next query: only what was set */
	for (int u = 0; u < nu; u++)
		for (long j = 0; j < W->nseen[u]; j++)
			best[u][W->seen[u][j]] = -INFINITY;
	return np;
}

/* ST_IVF: the nprobe lists of branch b whose centroids score best with each of the n unit
 * queries q (n, D), into used branch u's rows of the stage */
static void
probe(const VxIndex *x, int b, Stage *G, int u, const float *q, long n)
{
	int nl = (int)x->h.nlist;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, nl, x->D, 1.0f, q, x->D,
	            x->cent[b], x->D, 0.0f, G->cs, nl);
	for (long i = 0; i < n; i++) {
		top_k(G->pick, G->score[u] + i * G->width, G->cs + i * nl, nl, G->width);
		for (int j = 0; j < G->width; j++)
			G->row[u][i * G->width + j] = G->pick[j];
	}
}

static void
search_approx(Search *S, long F, int nprobe, int ef, int C, int nthreads)
{
	VxIndex *x = &S->x;
	long n;
	float *qin[VX_MAXBR], *qb[VX_MAXBR];   /* the queries as read; unit and projected */
	Stage G = { 0 };
	Worker *W = emalloc((size_t)nthreads * sizeof(*W));
	int *rk = emalloc(QB * sizeof(*rk)), *own = emalloc(QB * sizeof(*own));
	int32_t *top = emalloc((size_t)QB * S->kk * sizeof(*top));
	float *topscore = efloats((size_t)QB * S->kk);
	char *qid[QB], *qvid[QB];

	G.kind = x->h.ann == VX_IVF ? ST_IVF : x->h.ann <= VX_IVFPQ ? ST_FAISS_IVF : ST_HNSW;
	G.width = G.kind != ST_HNSW ? (int)MIN(nprobe, (long)x->h.nlist) : (int)F;
	for (int u = 0; u < S->nuse; u++) {
		qin[u] = efloats((size_t)QB * x->Din);
		qb[u] = efloats((size_t)QB * x->D);
		G.row[u] = emalloc((size_t)QB * G.width * sizeof(*G.row[u]));
		G.score[u] = efloats((size_t)QB * G.width);
		if (G.kind != ST_IVF && fw_set(x->ann[S->use[u]], nprobe, ef))
			die("%s: %s", x->path, fw_error());
	}
	if (G.kind == ST_IVF) {
		G.cs = efloats((size_t)QB * x->h.nlist);
		G.pick = emalloc((size_t)G.width * sizeof(*G.pick));
	}
	for (int t = 0; t < nthreads; t++)
		worker_init(&W[t], S, G.kind == ST_FAISS_IVF);
	while ((n = read_block(S, QB, qid, qvid, own, qin)) > 0) {
		/* the candidate stage, a block of queries per FAISS call */
		for (int u = 0; u < S->nuse; u++) {
			const FwIndex *a = x->ann[S->use[u]];
			vx_queries(x, S->use[u], qin[u], n, qb[u]);
			if (G.kind == ST_IVF)
				probe(x, S->use[u], &G, u, qb[u], n);
			else if (G.kind == ST_FAISS_IVF ?
			         fw_probe(a, n, qb[u], G.width, G.score[u], G.row[u]) :
			         fw_search(a, n, qb[u], G.width, G.score[u], G.row[u]))
				die("%s: FAISS search: %s", x->path, fw_error());
		}
		/* one query a thread: no shared writes */
		#pragma omp parallel num_threads(nthreads)
		{
			Worker *w = &W[omp_get_thread_num()];
			#pragma omp for schedule(dynamic, 1)
			for (long i = 0; i < n; i++) {
				const int *c = w->pick;
				const int *p;
				const float *s;
				int nc;
				for (int u = 0; u < S->nuse; u++)
					vx_query(x, S->use[u], qb[u] + (size_t)i * x->D, w->tab[u]);
				first_scores(S, &G, w, qb, i);
				nc = pick_candidates(S, w, C);
				for (int u = 0; u < S->nuse; u++) {
					for (int j = 0; j < nc; j++)
						w->sc[u][j] = vx_score(x, S->use[u], c[j], w->tab[u],
						                       w->scratch, S->all);
				}
				s = chosen(S, w->sc, 0, nc, w->fused);
				p = bsearch(&own[i], c, (size_t)nc, sizeof(*c), cmp_int);
				rk[i] = p ? rank_of(s, nc, (int)(p - c)) : nc + 1;
				top_k(top + i * S->kk, topscore + i * S->kk, s, nc, S->kk);
				for (int j = 0; j < S->kk; j++)
					top[i * S->kk + j] = c[top[i * S->kk + j]];
			}
		}
		for (long i = 0; i < n; i++) {
			CHECK(rk[i] > S->kk || top[i * S->kk + rk[i] - 1] == own[i]);
			ranking_item(S->w, qid[i], qvid[i], rk[i], top + i * S->kk,
			             topscore + i * S->kk, S->kk);
			free(qid[i]), free(qvid[i]);
		}
		S->nq += n;
		progress(0, "%ld queries ranked", S->nq);
	}
	for (int t = 0; t < nthreads; t++)
		worker_free(&W[t], S->nuse);
	for (int u = 0; u < S->nuse; u++)
		free(qin[u]), free(qb[u]), free(G.row[u]), free(G.score[u]);
	free(G.cs), free(G.pick);
	free(W), free(rk), free(own), free(top), free(topscore);
}

/* CPU seconds of the process, all its threads */
static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char *argv[])
{
	const char *xpath = NULL, *qpath = NULL, *out = "-", *bname = NULL;
	const char *env = getenv("OPENBLAS_NUM_THREADS");
	double beta = 0.3, t0 = now_seconds(), c0;
	long k = 100, F = 0, C = 0, nthreads = 2;
	int c, gz = 0, exact = 0, have_beta = 0, nprobe = 0, ef = 0;
	Search S = { 0 };
	const msgpack_object *hq;
	char *split;

	tool_start(argc, argv, help);
	if (env && *env)
		nthreads = estrtol(env, 1, 256);
	while ((c = getopt(argc, argv, ":x:q:Ek:f:FC:p:e:b:B:j:o:zQ")) != -1) {
		switch (c) {
		case 'x': xpath = optarg; break;
		case 'q': qpath = optarg; break;
		case 'E': exact = 1; break;
		case 'k': k = estrtol(optarg, 1, 1L << 30); break;
		case 'f': F = estrtol(optarg, 1, 1L << 30); break;
		case 'F': S.all = 1; break;
		case 'C': C = estrtol(optarg, 1, 1L << 30); break;
		case 'p': nprobe = (int)estrtol(optarg, 1, 1 << 24); break;
		case 'e': ef = (int)estrtol(optarg, 1, 1 << 20); break;
		case 'b': beta = estrtod(optarg, 0, 1); have_beta = 1; break;
		case 'B': bname = optarg; break;
		case 'j': nthreads = estrtol(optarg, 1, 256); break;
		case 'o': out = optarg; break;
		case 'z': gz = 1; break;
		case 'Q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || !xpath || !qpath)
		usage();
	if (have_beta && bname)
		die("usage: -b and -B exclude each other");

	vx_open(&S.x, xpath);
	S.rq = mpr_open(qpath);
	hq = mpr_header(S.rq, "encoded-queries");
	split = check_queries(&S, hq, bname, beta);
	S.kk = (int)MIN(k, (long)S.x.nv);
	if (!F)
		F = 16 * (long)S.kk;
	F = MIN(F, (long)S.x.h.nframe);
	if (!C)
		C = DEFAULT_C * (long)S.kk;
	C = MAX(C, (long)S.kk);
	if (!nprobe)
		nprobe = (int)S.x.h.nprobe;
	if (!ef)
		ef = (int)S.x.h.ef_search;
	if (!exact)
		vx_load_ann(&S.x);
	if (S.rq->count == 0)
		die("%s: no queries", S.rq->name);
	progress(1, "%s: %d videos, %llu frames, %s codes, %s; ready in %.1f s", xpath, S.x.nv,
	         (unsigned long long)S.x.h.nframe, vx_code_name[S.x.h.code], vx_ann_name[S.x.h.ann],
	         now_seconds() - t0);

	S.w = mpw_open(out, gz);
	ranking_header(S.w, S.rq->count, S.x.id, S.x.nv, k, S.c.fused, S.c.beta, S.c.name, split);
	t0 = now_seconds();
	c0 = cpu_seconds();
	if (exact) {
		openblas_set_num_threads((int)nthreads);
		search_exact(&S);
	} else {
		openblas_set_num_threads(1);
		fw_threads((int)nthreads);
		search_approx(&S, F, nprobe, ef, (int)MIN(C, (long)S.x.nv), (int)nthreads);
	}
	if (S.nq == 0)
		die("%s: no queries", S.rq->name);
	mpr_close(S.rq);
	mpw_close(S.w);
	/* CPU time as well as wall: on a shared machine the wall rate is mostly other load's */
	progress(1, "%ld queries in %.2f s (%.1f queries/s), %.2f ms of CPU a query, %s", S.nq,
	         now_seconds() - t0, S.nq / MAX(now_seconds() - t0, 1e-9),
	         1e3 * (cpu_seconds() - c0) / S.nq, exact ? "exact" : "approximate");
	vx_close(&S.x);
	free(split);
	return 0;
}
