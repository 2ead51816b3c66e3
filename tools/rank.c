/* rank: the test-time retrieval of doc/method.md ("Evaluation"). Scores every encoded query
 * against every encoded video, s_b(q, v) = max_t cos(q_b, F_{b,v,t}) per branch b (lib/score),
 * fuses beta * exp + (1 - beta) * inh (or takes one branch), and writes a ranking stream: per
 * query the 1-based rank of its own video (rank_of, ties to the lower corpus index) and its top K
 * videos. With -S it writes the scores of every branch instead, and with -s it re-ranks such a
 * scores stream (rank -S or teacher-sim -S), so a beta sweep does not re-score.
 * Videos are held in memory (only the branches needed); queries are streamed in rounds
 * (lib/ranking's ranking_block), each scored, fused, ranked and written before the
 * next is read, so memory is the videos plus a bounded block of scores.
 * With -V the order is transposed, for galleries too large to hold: the queries are held and
 * the videos streamed in blocks, each scored against every query and its (fused) scores kept,
 * so memory is the queries' scores (bounded: VSCORES) plus one block of frames. The blocks end
 * where score_cosmax's runs end and the queries are scored in the default order's rounds, so
 * every sgemm sees the same operands as in the default order and the output is the same bytes.
 * Not here: the cosine-max kernel (lib/score.c), loading the videos (lib/vidset.c), metrics
 * (tools/metrics.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "evalm.h"
#include "gt.h"
#include "mpio.h"
#include "ranking.h"
#include "schema.h"
#include "score.h"
#include "threads.h"
#include "util.h"
#include "vidset.h"

#define MAXBR VIDSET_MAXKEYS /* branches in one stream */

/* what is ranked: one branch, or beta * branch[a] + (1 - beta) * branch[b] */
typedef struct {
	int fused;
	int a, b;             /* indices into the needed-branch list: a = exp, b = inh; a alone if !fused */
	double beta;
	const char *name;     /* "fused" or the branch name */
} Choice;

static void
help(void)
{
	printf("rank - score encoded queries against encoded videos and rank the videos\n"
	       "\n"
	       "usage: %s -v VIDEOS -q QUERIES [-V] [-S] [-b BETA] [-B BRANCH] [-k K] [-g GT] [-j N] [-o FILE] [-z]\n"
	       "       %s -s SCORES [-b BETA] [-B BRANCH] [-k K] [-g GT] [-o FILE] [-z]\n"
	       "\n"
	       "Reads an encoded-videos stream (VIDEOS, held in memory) and an encoded-queries stream\n"
	       "(QUERIES, streamed) of the same dim. Per branch b (header 'branches': inh, exp), the\n"
	       "score of query q and video v is s_b(q,v) = max over v's frames t of cos(q_b, F_b,v,t)\n"
	       "(vectors normalised by max(|x|, 1e-12)). The ranked score is\n"
	       "  beta * s_exp + (1 - beta) * s_inh  when both inh and exp are present ('fused'),\n"
	       "  s_b                                 when there is one branch b, or -B b is given.\n"
	       "Videos are ordered by descending score, ties by lower index in VIDEOS.\n"
	       "Writes a ranking stream: header {videos, k, beta (nil for one branch), score, split};\n"
	       "per query {id, video, rank (1-based rank of its own video), top i32[min(K, videos)],\n"
	       "topscore f32[same]}.\n"
	       "With -S, writes a scores stream instead: header {videos, branches, split}; per query\n"
	       "{id, video, <branch> f32[videos]} for every branch (or the -B branch).\n"
	       "With -s, reads such a scores stream (from rank -S or teacher-sim -S) and ranks it as\n"
	       "above, giving the same ranking as the direct run.\n"
	       "With -V, the queries are held and the videos streamed (a pipe will do) in blocks, so\n"
	       "memory is the scores (queries x videos floats, x branches with -S; at most 2^30,\n"
	       "4 GiB, checked from the headers' counts) and one block, not the videos; the output\n"
	       "is the same bytes as without -V at the same -j (but the header's cmd).\n"
	       "\n"
	       "  -v FILE    encoded-videos stream (- is stdin)\n"
	       "  -q FILE    encoded-queries stream (- is stdin)\n"
	       "  -s FILE    scores stream to rank instead of -v/-q\n"
	       "  -S         write the scores of every branch instead of a ranking\n"
	       "  -V         hold the queries and stream the videos (headers with counts needed)\n"
	       "  -b BETA    weight of the exploration branch, 0..1 (default 0.3)\n"
	       "  -B BRANCH  rank this branch alone (inh, exp, teacher, ...)\n"
	       "  -k K       videos listed per query, 1..1073741824 (default 100)\n"
	       "  -g FILE    relevance file (JSON lines {\"query_id\", \"gt_video_ids\"}): rank only\n"
	       "             its queries (others skipped and counted); an item's video and rank are\n"
	       "             those of the query's first relevant video (metrics -g for mAP)\n"
	       "  -j N       threads in all, BLAS included (default $OPENBLAS_NUM_THREADS or 2)\n"
	       "  -o FILE    output stream (default stdout; written atomically)\n"
	       "  -z         gzip the output\n"
	       "  -Q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (nothing is left at -o FILE).\n",
	       argv0, argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s {-v VIDEOS -q QUERIES [-V] [-S] [-j N] | -s SCORES} [-b BETA | -B BRANCH] [-k K] "
	    "[-g GT] [-o FILE] [-z] [-Q]", argv0);
}

/* ---- branches ---- */

static char **
header_branches(const MpReader *r, const msgpack_object *h, size_t *n)
{
	char **b = mpr_strarray(r, h, "branches", n);

	if (*n == 0)
		mpr_die(r, "'branches' is empty");
	if (*n > MAXBR)
		mpr_die(r, "'branches': more than %d", MAXBR);
	for (size_t i = 0; i < *n; i++)
		if (mp_strindex(b, i, b[i]) >= 0)
			mpr_die(r, "'branches': '%s' twice", b[i]);
	return b;
}

/* choose what to rank among names[n]: -B bname, the only branch, or inh and exp fused */
static Choice
choose(const MpReader *r, char **names, size_t n, const char *bname, double beta)
{
	Choice c = { 0, 0, 0, beta, NULL };

	if (bname) {
		if ((c.a = mp_strindex(names, n, bname)) < 0)
			mpr_die(r, "no branch '%s' (branches: %s%s%s)", bname, names[0],
			        n > 1 ? ", " : "", n > 1 ? names[1] : "");
		c.name = bname;
	} else if (n == 1) {
		c.name = names[0];
	} else if ((c.a = mp_strindex(names, n, "exp")) >= 0 &&
	           (c.b = mp_strindex(names, n, "inh")) >= 0 && n == 2) {
		c.fused = 1;
		c.name = "fused";
	} else
		mpr_die(r, "%zu branches and not exactly inh and exp: choose one with -B", n);
	return c;
}

/* ---- ranking ---- */

static void
write_ranking_header(MpWriter *w, long count, char **vid, int nv, long k, const Choice *c,
                     const char *split)
{
	ranking_header(w, count, vid, nv, k, c->fused, c->beta, c->name, split);
}

/* one ranking item from the (already fused) scores s (nv) */
static void
write_ranking_item(MpWriter *w, const char *id, const char *video, int own, const float *s,
                   int nv, int k, int32_t *top, float *topscore)
{
	int rk = rank_of(s, nv, own);

	top_k(top, topscore, s, nv, k);
	/* the heap's order and evalm's tie rule must agree */
	CHECK(rk > k || top[rk - 1] == own);
	ranking_item(w, id, video, rk, top, topscore, k);
}

/* ---- -g: the first relevant video stands for the own video ---- */

static GtSet *gt;              /* -g, or NULL */
static unsigned char *gt_seen; /* (gt->n) */
static long gt_skipped;

/* the column of query id's first relevant video in s (nv) by rank_of's order, its own video
 * own without -g, or -1: a query the relevance file does not list */
static int
relevant(const char *id, int own, const float *s, int nv, const IdIndex *ix, const char *in)
{
	int q, best = -1;

	if (!gt)
		return own;
	if ((q = gt_find(gt, id)) < 0) {
		gt_skipped++;
		return -1;
	}
	if (gt_seen[q]++)
		die("%s: query '%s' appears twice", in, id);
	for (int j = gt->off[q]; j < gt->off[q + 1]; j++) {
		int v = idindex_find(ix, gt->vid[j]);
		if (v < 0)
			die("%s:%ld: video '%s' of query '%s' is not among the videos of %s", gt->path,
			    gt->line[q], gt->vid[j], id, in);
		if (best < 0 || ranking_better(s, v, best))
			best = v;
	}
	return best;
}

/* the items the header promises: every query, or with -g the file's queries */
static long
gt_count(long count)
{
	return gt ? gt->n : count;
}

/* after the last query: each of the file's queries was ranked */
static void
gt_done(const char *in)
{
	if (!gt)
		return;
	for (int q = 0; q < gt->n; q++)
		if (!gt_seen[q])
			die("%s:%ld: query '%s' is not in %s", gt->path, gt->line[q], gt->qid[q], in);
	if (gt_skipped)
		warnf("%s: %ld queries not in %s skipped", in, gt_skipped, gt->path);
}

/* the ranked score of query i from per-branch scores sb[b] (nq, nv) into out (nv) */
static const float *
chosen(const Choice *c, float **sb, long i, int nv, float *out)
{
	if (!c->fused)
		return sb[c->a] + (size_t)i * nv;
	score_fuse(out, sb[c->a] + (size_t)i * nv, sb[c->b] + (size_t)i * nv, (float)c->beta, nv);
	return out;
}

/* ---- -s: re-rank a scores stream ---- */

static void
rank_scores(const char *path, const char *out, int gz, const char *bname, double beta, long k)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *h = schema_header(r, "scores"), *o;
	size_t nv, nb;
	char **vid = mpr_strarray(r, h, "videos", &nv), **br = header_branches(r, h, &nb);
	char *split = vidset_header_split(r, h), id[4096], video[4096];
	IdList qids = { 0 };
	IdIndex ix;
	int kk;
	float *sb[2], *fused, *topscore;
	int32_t *top;
	Choice c;
	MpWriter *w;
	long nq = 0;

	if (nv == 0 || nv > (1L << 30))
		mpr_die(r, "'videos': %zu videos", nv);
	idindex_build(&ix, vid, (int)nv, r->name);
	c = choose(r, br, nb, bname, beta);
	kk = (int)MIN(k, (long)nv);
	sb[0] = efloats(nv);
	sb[1] = efloats(nv);
	fused = efloats(nv);
	top = emalloc((size_t)kk * sizeof(*top));
	topscore = efloats((size_t)kk);
	if (r->count == 0)
		die("%s: no queries", r->name);
	w = mpw_open(out, gz);
	write_ranking_header(w, gt_count(r->count), vid, (int)nv, k, &c, split);
	while ((o = mpr_next(r))) {
		int own;
		float *p[2] = { sb[0], sb[1] };
		Choice c1 = c;

		mpr_strcpy(r, o, "id", id, sizeof(id));
		idlist_add(&qids, id);
		mpr_strcpy(r, o, "video", video, sizeof(video));
		if ((own = idindex_find(&ix, video)) < 0)
			mpr_die(r, "query '%s': video '%s' is not in the header's videos", id, video);
		mpr_f32(r, o, br[c.a], sb[0], nv);
		if (c.fused)
			mpr_f32(r, o, br[c.b], sb[1], nv);
		c1.a = 0, c1.b = 1;
		const float *s = chosen(&c1, p, 0, (int)nv, fused);
		if ((own = relevant(id, own, s, (int)nv, &ix, r->name)) >= 0)
			write_ranking_item(w, id, vid[own], own, s, (int)nv, kk, top, topscore);
		progress(0, "%ld queries ranked", ++nq);
	}
	if (nq == 0)
		die("%s: no queries", r->name);
	idlist_check(&qids, r->name, "query");
	gt_done(r->name);
	mpr_close(r);
	mpw_close(w);
	progress(1, "%ld queries x %zu videos ranked by %s", nq, nv, c.name);
	for (size_t i = 0; i < nv; i++)
		free(vid[i]);
	for (size_t i = 0; i < nb; i++)
		free(br[i]);
	free(vid), free(br), free(split);
	idindex_free(&ix);
	free(sb[0]), free(sb[1]), free(fused), free(top), free(topscore);
}

/* ---- -v/-q: score, then rank or write scores ---- */

/* what both orders (-V or not) write: the output stream and what an item needs */
typedef struct {
	MpWriter *w;
	const char *qname;    /* the queries' stream, for messages (open until out_close) */
	int scores_out;       /* -S */
	char **use;           /* the branches scored */
	int nuse;
	Choice c;             /* what is ranked (the header's) */
	int kk;
	float *fused, *topscore;
	int32_t *top;
} Out;

/* opens the output with its header: count queries against the videos of V */
static void
out_open(Out *o, const char *path, int gz, long count, const VidSet *V, long k, const char *split)
{
	o->w = mpw_open(path, gz);
	if (o->scores_out)
		vidset_scores_header(o->w, count, V, o->use, o->nuse, split);
	else
		write_ranking_header(o->w, gt_count(count), V->id, V->nv, k, &o->c, split);
	o->kk = (int)MIN(k, (long)V->nv);
	o->fused = efloats((size_t)V->nv);
	o->top = emalloc((size_t)o->kk * sizeof(*o->top));
	o->topscore = efloats((size_t)o->kk);
}

/* query i of the per-branch scores sb (rows of V->nv; c says which rank): with -S its scores,
 * else its ranking item */
static void
out_query(Out *o, const Choice *c, const VidSet *V, float **sb, long i, const char *qid,
          const char *qvid, int own)
{
	if (o->scores_out) {
		mpw_map(o->w, 2 + (size_t)o->nuse);
		mpw_kv_str(o->w, "id", qid);
		mpw_kv_str(o->w, "video", qvid);
		for (int b = 0; b < o->nuse; b++)
			mpw_kv_f32(o->w, o->use[b], sb[b] + (size_t)i * V->nv, (size_t)V->nv);
		mpw_record_done(o->w);
	} else {
		const float *s = chosen(c, sb, i, V->nv, o->fused);
		int v = relevant(qid, own, s, V->nv, &V->ix, o->qname);
		if (v >= 0)
			write_ranking_item(o->w, qid, V->id[v], v, s, V->nv, o->kk, o->top, o->topscore);
	}
}

/* after the last query: -g's check, the input streams closed (a damaged gzip end is an error
 * before the output is kept), the output put in place */
static void
out_close(Out *o, MpReader *rq)
{
	gt_done(o->qname);
	mpr_close(rq);
	mpw_close(o->w);
	free(o->fused), free(o->top), free(o->topscore);
}

/* query item it into row i of qb[b] (the scored branches) and its ids (kept in ids too) */
static void
read_query(MpReader *rq, const msgpack_object *it, const Out *o, long D, float **qb, long i,
           IdList *ids, char **qid, char **qvid)
{
	*qid = mpr_strdup(rq, it, "id");
	idlist_add(ids, *qid);
	*qvid = mpr_strdup(rq, it, "video");
	for (int b = 0; b < o->nuse; b++)
		mpr_f32(rq, it, o->use[b], qb[b] + (size_t)i * D, (size_t)D);
}

/* the default order: the videos held, the queries streamed in rounds (ranking_block) */
static void
stream_queries(Out *o, MpReader *rv, MpReader *rq, long D, const char *out, int gz, long k,
               const char *split, const char *vpath)
{
	const msgpack_object *it;
	VidSet V;
	float *qb[MAXBR], *sb[MAXBR];
	char **qid, **qvid;
	IdList qids = { 0 };
	int *qown, nblk;
	long nq = 0;
	double t0 = now_seconds(), tscore = 0;

	vidset_load(&V, rv, D, o->use, o->nuse, "videos");
	mpr_close(rv);
	progress(1, "%d videos, %d frames, dim %ld, loaded in %.1f s", V.nv, V.off[V.nv], D,
	         now_seconds() - t0);

	nblk = ranking_block(V.nv, o->nuse);
	for (int b = 0; b < o->nuse; b++) {
		qb[b] = efloats((size_t)nblk * D);
		sb[b] = efloats((size_t)nblk * V.nv);
	}
	qid = ecalloc((size_t)nblk, sizeof(*qid));
	qvid = ecalloc((size_t)nblk, sizeof(*qvid));
	qown = emalloc((size_t)nblk * sizeof(*qown));

	if (rq->count == 0)
		die("%s: no queries", rq->name);
	out_open(o, out, gz, rq->count, &V, k, split);

	for (;;) {
		int n = 0;
		double t;

		while (n < nblk && (it = mpr_next(rq))) {
			read_query(rq, it, o, D, qb, n, &qids, &qid[n], &qvid[n]);
			if ((qown[n] = vidset_find(&V, qvid[n])) < 0)
				mpr_die(rq, "query '%s': video '%s' is not in %s", qid[n], qvid[n], vpath);
			n++;
		}
		if (n == 0)
			break;
		t = now_seconds();
		for (int b = 0; b < o->nuse; b++)
			score_cosmax(sb[b], qb[b], n, V.fr[b], V.off, V.nv, (int)D);
		tscore += now_seconds() - t;
		for (int i = 0; i < n; i++) {
			out_query(o, &o->c, &V, sb, i, qid[i], qvid[i], qown[i]);
			free(qid[i]);
			free(qvid[i]);
		}
		nq += n;
		progress(0, "%ld queries scored", nq);
	}
	if (nq == 0)
		die("%s: no queries", rq->name);
	idlist_check(&qids, rq->name, "query");
	out_close(o, rq);
	progress(1, "%ld queries x %d videos (%s) in %.1f s, scoring %.1f s", nq, V.nv,
	         o->scores_out ? "scores" : o->c.name, now_seconds() - t0, tscore);

	for (int b = 0; b < o->nuse; b++)
		free(qb[b]), free(sb[b]);
	vidset_free(&V);
	free(qid), free(qvid), free(qown);
}

/* ---- -V: the queries held, the videos streamed ---- */

/* a block of videos ends at the first run's end (lib/score) after VBLOCK frames or VBLOCK_FLOATS
 * frame floats (all branches): a few sgemm runs, and bounded memory whatever the dim */
#define VBLOCK (1L << 15)
#define VBLOCK_FLOATS (1L << 25)
#define VSCORES (1L << 30) /* score floats -V holds at most (4 GiB) */

/* the kept scores of a block of videos v0 .. v0+nv-1: (queries, nv) per kept matrix */
typedef struct {
	int v0, nv;
	float *s[MAXBR];
} Block;

/* what -V holds: the queries (rows of qb) and the scores of every block so far */
typedef struct {
	long nq, D;
	int nblk;             /* queries per score_cosmax call: the default order's rounds */
	int nmat;             /* matrices kept: -S every branch, else the ranked score */
	float *qb[MAXBR];
	Block *blk;
	int nb;
	size_t bcap;
	float *tmp[MAXBR];    /* one round's per-branch scores */
	size_t tcap[MAXBR];
} Held;

/* scores videos v0 .. v0+nv-1 (frames fr[b], offsets off from 0) against every held query, in
 * the default order's rounds of queries, and keeps them as a new block */
static void
score_block(Held *h, const Out *o, float **fr, const int *off, int v0, int nv)
{
	Block *B;

	h->blk = egrow(h->blk, &h->bcap, (size_t)h->nb + 1, sizeof(*h->blk));
	B = &h->blk[h->nb++];
	B->v0 = v0, B->nv = nv;
	for (int m = 0; m < h->nmat; m++)
		B->s[m] = efloats((size_t)h->nq * nv);
	for (long r0 = 0; r0 < h->nq; r0 += h->nblk) {
		int n = (int)MIN((long)h->nblk, h->nq - r0);

		for (int b = 0; b < o->nuse; b++) {
			h->tmp[b] = efloats_grow(h->tmp[b], &h->tcap[b], (size_t)n * nv);
			score_cosmax(h->tmp[b], h->qb[b] + (size_t)r0 * h->D, n, fr[b], off, nv,
			             (int)h->D);
		}
		/* fused (or -B's, or with -S each branch's) scores into the block's rows */
		for (int i = 0; i < n; i++)
			for (int m = 0; m < h->nmat; m++) {
				Choice cm = o->c;
				float *dst = B->s[m] + (size_t)(r0 + i) * nv;
				const float *s;

				if (o->scores_out)
					cm.fused = 0, cm.a = m;
				if ((s = chosen(&cm, h->tmp, i, nv, dst)) != dst)
					memcpy(dst, s, (size_t)nv * sizeof(*dst));
			}
	}
}

/* -V: the bound checked from the headers' counts; the queries read and held; the videos read in
 * blocks, each scored (score_block) and its frames dropped; then per query its row of scores
 * gathered from the blocks and written as the default order writes it */
static void
stream_videos(Out *o, MpReader *rv, MpReader *rq, long D, const char *out, int gz, long k,
              const char *split, const char *vpath)
{
	const msgpack_object *it;
	Held h = { 0 };
	VidSet V = { 0 };     /* the ids alone */
	float *fr[MAXBR] = { 0 }, *row[MAXBR];
	size_t fcap[MAXBR] = { 0 }, qcap[MAXBR] = { 0 }, icap = 0, ncap = 0, vcap = 0, ocap = 0;
	char **qid = NULL, **qvid = NULL;
	IdList qids = { 0 };
	int *off = NULL, *qown, nvb = 0;
	long nf = 0, run = 0, most;
	double t0 = now_seconds();
	Choice held = { 0, 0, 0, o->c.beta, o->c.name }; /* a ranking's matrix is the ranked score */

	h.D = D;
	h.nmat = o->scores_out ? o->nuse : 1;
	if (rv->count < 0 || rq->count < 0)
		mpr_die(rv->count < 0 ? rv : rq, "count -1 (unknown): -V needs the count of items");
	if (rq->count == 0)
		die("%s: no queries", rq->name);
	if (rv->count == 0)
		die("%s: no videos", rv->name);
	/* the bound, from the headers' counts, before anything is held */
	if ((most = VSCORES / h.nmat / rv->count) < 1)
		mpr_die(rv, "%ld videos: more than -V holds scores for (2^30 floats)", rv->count);
	if (rq->count > most)
		die("%s: %ld queries x %ld videos of %s x %d = more score floats than -V holds (2^30, "
		    "4 GiB): give at most %ld queries", rq->name, rq->count, rv->count, rv->name, h.nmat,
		    most);

	for (; (it = mpr_next(rq)); h.nq++) {
		qid = egrow(qid, &icap, (size_t)h.nq + 1, sizeof(*qid));
		qvid = egrow(qvid, &ncap, (size_t)h.nq + 1, sizeof(*qvid));
		for (int b = 0; b < o->nuse; b++)
			h.qb[b] = egrow(h.qb[b], &qcap[b], (size_t)(h.nq + 1) * D, sizeof(float));
		read_query(rq, it, o, D, h.qb, h.nq, &qids, &qid[h.nq], &qvid[h.nq]);
	}
	idlist_check(&qids, rq->name, "query");
	progress(1, "%ld queries held", h.nq);

	/* blocks of whole runs (lib/score), scored as the default order scores them */
	h.nblk = ranking_block(rv->count, o->nuse);
	off = egrow(off, &ocap, 1, sizeof(*off));
	off[0] = 0;
	while ((it = mpr_next(rv))) {
		long n = vidset_item_frames(rv, it, D, o->use, o->nuse);
		int joins = nvb > 0 && score_run_joins(run, n);

		if (!joins && (nf >= VBLOCK || nf * D * o->nuse >= VBLOCK_FLOATS)) {
			score_block(&h, o, fr, off, V.nv - nvb, nvb);
			nvb = 0, nf = 0;
		}
		run = joins ? run + n : n;
		V.id = egrow(V.id, &vcap, (size_t)V.nv + 1, sizeof(*V.id));
		V.id[V.nv++] = mpr_strdup(rv, it, "id");
		vidset_item_copy(rv, it, D, o->use, o->nuse, n, fr, fcap, nf);
		off = egrow(off, &ocap, (size_t)nvb + 2, sizeof(*off));
		off[++nvb] = (int)(nf += n);
		progress(0, "%d videos read, %d scored", V.nv, V.nv - nvb);
	}
	if (nvb > 0)
		score_block(&h, o, fr, off, V.nv - nvb, nvb);
	idindex_build(&V.ix, V.id, V.nv, rv->name);
	mpr_close(rv);
	progress(1, "%ld queries x %d videos scored in %.1f s (%d blocks)", h.nq, V.nv,
	         now_seconds() - t0, h.nb);

	qown = emalloc((size_t)h.nq * sizeof(*qown));
	for (long i = 0; i < h.nq; i++)
		if ((qown[i] = vidset_find(&V, qvid[i])) < 0)
			die("%s: record %ld: query '%s': video '%s' is not in %s", rq->name, i + 1, qid[i],
			    qvid[i], vpath);
	for (int m = 0; m < h.nmat; m++)
		row[m] = efloats((size_t)V.nv);
	out_open(o, out, gz, h.nq, &V, k, split);
	for (long i = 0; i < h.nq; i++) {
		for (int j = 0; j < h.nb; j++)
			for (int m = 0; m < h.nmat; m++)
				memcpy(row[m] + h.blk[j].v0, h.blk[j].s[m] + (size_t)i * h.blk[j].nv,
				       (size_t)h.blk[j].nv * sizeof(float));
		out_query(o, &held, &V, row, 0, qid[i], qvid[i], qown[i]);
	}
	out_close(o, rq);
	progress(1, "%ld queries x %d videos (%s) in %.1f s", h.nq, V.nv,
	         o->scores_out ? "scores" : o->c.name, now_seconds() - t0);

	for (long i = 0; i < h.nq; i++)
		free(qid[i]), free(qvid[i]);
	for (int j = 0; j < h.nb; j++)
		for (int m = 0; m < h.nmat; m++)
			free(h.blk[j].s[m]);
	for (int b = 0; b < o->nuse; b++)
		free(h.qb[b]), free(h.tmp[b]), free(fr[b]);
	for (int m = 0; m < h.nmat; m++)
		free(row[m]);
	vidset_free(&V);
	free(h.blk), free(off), free(qid), free(qvid), free(qown);
}

/* both orders: the headers' checks, the branches scored, then the order's scoring and output */
static void
rank_encoded(const char *vpath, const char *qpath, const char *out, int gz, int scores_out,
             int transposed, const char *bname, double beta, long k)
{
	MpReader *rv = mpr_open(vpath), *rq;
	const msgpack_object *hv = schema_header(rv, "encoded-videos"), *hq;
	size_t nbv, nbq;
	char **bv, **bq, *use[MAXBR], *vsplit, *qsplit;
	long D;
	Out o = { 0 };

	if (strcmp(vpath, "-") == 0 && strcmp(qpath, "-") == 0)
		die("-v and -q cannot both be stdin");
	rq = mpr_open(qpath);
	hq = schema_header(rq, "encoded-queries");
	D = vidset_dim(rv, hv, rq, hq);
	bv = header_branches(rv, hv, &nbv);
	bq = header_branches(rq, hq, &nbq);
	vidset_splits(rv, hv, rq, hq, &vsplit, &qsplit);

	/* the branches to score: -B, or every branch of the queries (all must be in the videos) */
	if (bname) {
		if (mp_strindex(bq, nbq, bname) < 0)
			mpr_die(rq, "no branch '%s'", bname);
		use[o.nuse++] = (char *)bname;
	} else
		for (size_t i = 0; i < nbq; i++)
			use[o.nuse++] = bq[i];
	for (int i = 0; i < o.nuse; i++)
		if (mp_strindex(bv, nbv, use[i]) < 0)
			mpr_die(rv, "no branch '%s', which %s has", use[i], rq->name);
	if (!bname && nbv != nbq)
		mpr_die(rv, "%zu branches, but %s has %zu", nbv, rq->name, nbq);
	o.c = (Choice){ 0, 0, 0, beta, NULL };
	if (!scores_out)
		o.c = choose(rq, use, (size_t)o.nuse, NULL, beta);
	o.qname = rq->name;
	o.scores_out = scores_out;
	o.use = use;

	if (transposed)
		stream_videos(&o, rv, rq, D, out, gz, k, qsplit, vpath);
	else
		stream_queries(&o, rv, rq, D, out, gz, k, qsplit, vpath);

	for (size_t i = 0; i < nbv; i++)
		free(bv[i]);
	for (size_t i = 0; i < nbq; i++)
		free(bq[i]);
	free(bv), free(bq), free(vsplit), free(qsplit);
}

int
main(int argc, char *argv[])
{
	const char *vpath = NULL, *qpath = NULL, *spath = NULL, *out = "-", *bname = NULL;
	const char *jarg = NULL, *gpath = NULL;
	double beta = 0.3;
	long k = 100;
	int c, gz = 0, scores_out = 0, transposed = 0, have_beta = 0;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":v:q:s:SVb:B:k:g:j:o:zQ")) != -1) {
		switch (c) {
		case 'v': vpath = optarg; break;
		case 'q': qpath = optarg; break;
		case 's': spath = optarg; break;
		case 'S': scores_out = 1; break;
		case 'V': transposed = 1; break;
		case 'b': beta = estrtod(optarg, 0, 1); have_beta = 1; break;
		case 'B': bname = optarg; break;
		case 'k': k = estrtol(optarg, 1, 1L << 30); break;
		case 'g': gpath = optarg; break;
		case 'j': jarg = optarg; break;
		case 'o': out = optarg; break;
		case 'z': gz = 1; break;
		case 'Q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc)
		usage();
	if (spath ? (vpath || qpath || scores_out || transposed) : (!vpath || !qpath))
		usage();
	if (have_beta && bname)
		die("usage: -b and -B exclude each other");
	check_outputs((const char *[]){ vpath, qpath, spath, gpath }, 4, &out, 1);
	if (gpath) {
		if (scores_out)
			die("usage: -g ranks; -S writes every query's scores (give -g to metrics instead)");
		gt = emalloc(sizeof(*gt));
		gt_load(gt, gpath);
		gt_seen = ecalloc((size_t)gt->n, 1);
	}

	if (spath) {
		threads_set(1);
		rank_scores(spath, out, gz, bname, beta, k);
	} else {
		threads_init(jarg);
		rank_encoded(vpath, qpath, out, gz, scores_out, transposed, bname, beta, k);
	}
	if (gt) {
		gt_free(gt);
		free(gt);
		free(gt_seen);
	}
	return 0;
}
