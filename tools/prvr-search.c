/* prvr-search: encoded queries against a frame index (prvr-index) -> a ranking stream, as rank
 * writes it (schemas/ranking.md).
 * Approximate (default): per branch, FAISS returns the F frames nearest each normalised query;
 * the videos owning them, in both branches, are the candidates (F doubles until there are at
 * least min(K, videos)); each candidate is re-scored with the DL-DKD score from the stored codes,
 * s_b = max over its frames of the cosine, fused beta * s_exp + (1 - beta) * s_inh, and the
 * candidates are ranked (ties to the lower corpus index). The own video's rank is its rank among
 * the candidates, or (number of candidates + 1) when it is not one.
 * Exact (-E, an index of f32 codes): rank's exhaustive scoring (lib/score's score_cosmax over
 * the mapped frames, in rank's rounds of queries), so the ranking equals rank's bit for bit.
 * Not here: the index file and codecs (lib/vindex.c), FAISS (lib/faissw.cpp), ranking I/O
 * (lib/ranking.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "evalm.h"
#include "faissw.h"
#include "mpio.h"
#include "ranking.h"
#include "score.h"
#include "util.h"
#include "vidset.h"
#include "vindex.h"

#define QB 256                 /* queries given to FAISS at once (approximate search) */

static void
help(void)
{
	printf("prvr-search - rank the videos of a frame index for encoded queries\n"
	       "\n"
	       "usage: %s -x INDEX -q QUERIES [-E] [-k K] [-f F] [-p NPROBE] [-e EF]\n"
	       "       [-b BETA | -B BRANCH] [-j N] [-o FILE] [-z] [-Q]\n"
	       "\n"
	       "Reads a frame index (prvr-index) and an encoded-queries stream of the same model and\n"
	       "dim, and writes a ranking stream as rank does: per query {id, video, rank, top, topscore}.\n"
	       "Candidates are the videos owning the F frames nearest the query in each branch (FAISS;\n"
	       "F doubles until there are min(K, videos)); they are re-scored exactly as rank scores,\n"
	       "s_b = max over the video's frames of cos(q_b, F_b,t), from the stored codes, fused\n"
	       "beta * s_exp + (1 - beta) * s_inh, and ranked (ties: lower index first). 'rank' is the own\n"
	       "video's rank among the candidates, or the number of candidates + 1 when it is not one.\n"
	       "With -E, every video is scored from f32 codes as rank does: the same ranking, bit for bit.\n"
	       "\n"
	       "  -x FILE    frame index\n"
	       "  -q FILE    encoded-queries stream (- is stdin)\n"
	       "  -E         exhaustive, exact search (an index built with -c f32)\n"
	       "  -k K       videos listed per query, 1..1073741824 (default 100)\n"
	       "  -f F       frames fetched per branch and query (default 16 K)\n"
	       "  -p NPROBE  ivf-*: lists searched (default: the index's)\n"
	       "  -e EF      hnsw*: efSearch (default: the index's)\n"
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
	die("usage: %s -x INDEX -q QUERIES [-E] [-k K] [-f F] [-p NPROBE] [-e EF] "
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

	if (D != x->D)
		mpr_die(rq, "'dim' = %ld, but index %s has dim %d", D, x->path, x->D);
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

/* up to n queries of the stream: ids, own videos, embeddings qb[b] (n, D) per used branch */
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
			mpr_f32(S->rq, o, S->x.h.branch[S->use[u]], qb[u] + (size_t)i * S->x.D,
			        (size_t)S->x.D);
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

/* ---- approximate: FAISS candidates, re-scored from the codes ---- */

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* distinct videos owning rows[0..n) (-1 skipped), sorted, into cand; the rows are overwritten
 * with their videos */
static int
videos_of(const VxIndex *x, int64_t *rows, long n, int *cand)
{
	long m = 0;
	int u = 0;

	for (long i = 0; i < n; i++)
		if (rows[i] >= 0)
			rows[m++] = vx_video_of(x, (long)rows[i]);
	qsort(rows, (size_t)m, sizeof(*rows), cmp_i64);
	for (long i = 0; i < m; i++)
		if (i == 0 || rows[i] != rows[i - 1])
			cand[u++] = (int)rows[i];
	return u;
}

/* scratch of the candidate step, grown with F (serial: one for all queries) */
typedef struct {
	long cap;                  /* frames a branch it holds */
	int64_t *rows;             /* (nuse, cap) */
	float *dist;               /* (cap) */
	int *vid;                  /* (max(nuse x cap, kk)) */
} CandBuf;

/* candidates of query qn[u] (one per used branch): the videos of its F nearest frames in each
 * branch, F doubled until there are kk; then (all frames fetched, IVF missing some) padded with
 * the first other videos. *cand gets them sorted (free it); returns their number */
static int
candidates(Search *S, float **qn, long i, long F0, const int64_t *rows0, CandBuf *B, int **cand)
{
	VxIndex *x = &S->x;
	long F = F0, nf = (long)x->h.nframe;
	int nc;

	for (;;) {
		if (F > B->cap) {
			B->cap = F;
			B->rows = erealloc(B->rows, (size_t)S->nuse * F * sizeof(*B->rows));
			B->dist = erealloc(B->dist, (size_t)F * sizeof(*B->dist));
			B->vid = erealloc(B->vid, (size_t)MAX(S->nuse * F, S->kk) * sizeof(*B->vid));
		}
		for (int u = 0; u < S->nuse; u++)
			if (F == F0)
				memcpy(B->rows + u * F, rows0 + (size_t)u * QB * F0 + i * F0,
				       (size_t)F * sizeof(*B->rows));
			else if (fw_search(x->ann[S->use[u]], 1, qn[u] + i * x->D, (int)F, B->dist,
			                   B->rows + u * F))
				die("%s: FAISS search: %s", x->path, fw_error());
		nc = videos_of(x, B->rows, F * S->nuse, B->vid);
		if (nc >= S->kk || F == nf)
			break;
		F = MIN(2 * F, nf);
	}
	for (int v = 0; nc < S->kk; v++)
		if (!bsearch(&v, B->vid, (size_t)nc, sizeof(*B->vid), cmp_int)) {
			B->vid[nc++] = v;
			qsort(B->vid, (size_t)nc, sizeof(*B->vid), cmp_int);
		}
	*cand = emalloc((size_t)nc * sizeof(**cand));
	memcpy(*cand, B->vid, (size_t)nc * sizeof(**cand));
	return nc;
}

static void
search_approx(Search *S, long F, int nprobe, int ef, int nthreads)
{
	VxIndex *x = &S->x;
	long n;
	float *qb[VX_MAXBR], *dist = efloats((size_t)QB * F);
	int64_t *rows0 = emalloc((size_t)S->nuse * QB * F * sizeof(*rows0));
	CandBuf B = { 0, NULL, NULL, NULL };
	int *cand[QB], *nc = emalloc(QB * sizeof(*nc));
	int *rk = emalloc(QB * sizeof(*rk)), *own = emalloc(QB * sizeof(*own));
	int32_t *top = emalloc((size_t)QB * S->kk * sizeof(*top));
	float *topscore = efloats((size_t)QB * S->kk);
	char *qid[QB], *qvid[QB];

	for (int u = 0; u < S->nuse; u++) {
		qb[u] = efloats((size_t)QB * x->D);
		if (fw_set(x->ann[S->use[u]], nprobe, ef))
			die("%s: %s", x->path, fw_error());
	}
	while ((n = read_block(S, QB, qid, qvid, own, qb)) > 0) {
		for (int u = 0; u < S->nuse; u++) {
			vx_normalise(qb[u], n, x->D);
			if (fw_search(x->ann[S->use[u]], n, qb[u], (int)F, dist,
			              rows0 + (size_t)u * QB * F))
				die("%s: FAISS search: %s", x->path, fw_error());
		}
		for (long i = 0; i < n; i++)
			nc[i] = candidates(S, qb, i, F, rows0, &B, &cand[i]);
		/* re-scoring, one query a thread: no shared writes */
		#pragma omp parallel num_threads(nthreads)
		{
			float *scratch = efloats((size_t)x->maxn * (x->D + 1));
			float *sc[VX_MAXBR], *fused = efloats((size_t)x->nv);
			for (int u = 0; u < S->nuse; u++)
				sc[u] = efloats((size_t)x->nv);
			#pragma omp for schedule(dynamic, 1)
			for (long i = 0; i < n; i++) {
				const int *c = cand[i];
				const int *p;
				const float *s;
				for (int j = 0; j < nc[i]; j++)
					for (int u = 0; u < S->nuse; u++)
						sc[u][j] = vx_score(x, S->use[u], c[j],
						                    qb[u] + (size_t)i * x->D, scratch);
				s = chosen(S, sc, 0, nc[i], fused);
				p = bsearch(&own[i], c, (size_t)nc[i], sizeof(*c), cmp_int);
				rk[i] = p ? rank_of(s, nc[i], (int)(p - c)) : nc[i] + 1;
				top_k(top + i * S->kk, topscore + i * S->kk, s, nc[i], S->kk);
				for (int j = 0; j < S->kk; j++)
					top[i * S->kk + j] = c[top[i * S->kk + j]];
			}
			free(scratch), free(fused);
			for (int u = 0; u < S->nuse; u++)
				free(sc[u]);
		}
		for (long i = 0; i < n; i++) {
			CHECK(rk[i] > S->kk || top[i * S->kk + rk[i] - 1] == own[i]);
			ranking_item(S->w, qid[i], qvid[i], rk[i], top + i * S->kk,
			             topscore + i * S->kk, S->kk);
			free(qid[i]), free(qvid[i]), free(cand[i]);
		}
		S->nq += n;
		progress(0, "%ld queries ranked", S->nq);
	}
	for (int u = 0; u < S->nuse; u++)
		free(qb[u]);
	free(dist), free(rows0), free(B.rows), free(B.dist), free(B.vid), free(nc), free(rk), free(own);
	free(top), free(topscore);
}

int
main(int argc, char *argv[])
{
	const char *xpath = NULL, *qpath = NULL, *out = "-", *bname = NULL;
	const char *env = getenv("OPENBLAS_NUM_THREADS");
	double beta = 0.3, t0 = now_seconds();
	long k = 100, F = 0, nthreads = 2;
	int c, gz = 0, exact = 0, have_beta = 0, nprobe = 0, ef = 0;
	Search S = { 0 };
	const msgpack_object *hq;
	char *split;

	tool_start(argc, argv, help);
	if (env && *env)
		nthreads = estrtol(env, 1, 256);
	while ((c = getopt(argc, argv, ":x:q:Ek:f:p:e:b:B:j:o:zQ")) != -1) {
		switch (c) {
		case 'x': xpath = optarg; break;
		case 'q': qpath = optarg; break;
		case 'E': exact = 1; break;
		case 'k': k = estrtol(optarg, 1, 1L << 30); break;
		case 'f': F = estrtol(optarg, 1, 1L << 30); break;
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
	if (exact) {
		openblas_set_num_threads((int)nthreads);
		search_exact(&S);
	} else {
		openblas_set_num_threads(1);
		fw_threads((int)nthreads);
		search_approx(&S, F, nprobe, ef, (int)nthreads);
	}
	if (S.nq == 0)
		die("%s: no queries", S.rq->name);
	mpr_close(S.rq);
	mpw_close(S.w);
	progress(1, "%ld queries in %.2f s (%.1f queries/s), %s", S.nq, now_seconds() - t0,
	         S.nq / MAX(now_seconds() - t0, 1e-9), exact ? "exact" : "approximate");
	vx_close(&S.x);
	free(split);
	return 0;
}
