/* metrics: retrieval metrics of a ranking or scores stream. For each query it finds the rank of
 * its own video (a ranking stream states it; a scores stream is ranked here with the tie rule of
 * lib/evalm.h: descending score, lower corpus index first) and reports R@1, R@5, R@10, R@100,
 * SumR, medR, meanR and mAP as one metrics record, or as text for people and scripts. Streams
 * one query at a time: memory is O(videos + queries), never O(queries x videos). For a scores
 * stream with branches inh and exp the score is fused (beta * exp + (1 - beta) * inh).
 * Not here: scoring or top-K lists (rank), the metric formulas (lib/evalm.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evalm.h"
#include "mpio.h"
#include "score.h"
#include "util.h"

enum { OUT_MP, OUT_TABLE, OUT_TSV, OUT_JSON };

static void
help(void)
{
	printf("metrics - R@K, SumR, medR, meanR and mAP of a ranking or scores stream\n"
	       "\n"
	       "usage: %s [-f mp|table|tsv|json] [-i FILE] [-o FILE] [-r RANKS.tsv] [-b BETA | -B NAME]\n"
	       "       [-l LABEL] [-q]\n"
	       "\n"
	       "Reads a ranking stream (each item states the rank of the query's own video) or a\n"
	       "scores stream (each item has a score per video and branch; ranked here: descending\n"
	       "score, ties broken by lower corpus index) from stdin or -i FILE. R@K is the percent\n"
	       "of queries whose own video has rank <= K, SumR = R@1 + R@5 + R@10 + R@100, medR the\n"
	       "median rank (mean of the two middle ranks for an even count), meanR the mean rank,\n"
	       "mAP the mean of 1/rank.\n"
	       "\n"
	       "  -f FORMAT  mp: a metrics stream with one item (default); table: aligned text;\n"
	       "             tsv: a line of names and a line of values; json: one JSON object\n"
	       "  -i FILE    input stream (default stdin; - is stdin)\n"
	       "  -o FILE    output for -f mp (default stdout), written atomically\n"
	       "  -r FILE    also write per-query ranks as TSV lines: query id, own video id, rank\n"
	       "  -b BETA    scores stream: fuse BETA * exp + (1 - BETA) * inh, 0..1 (default 0.3;\n"
	       "             the default score when the stream has branches inh and exp)\n"
	       "  -B NAME    scores stream: use branch NAME alone (default: the only branch)\n"
	       "  -l LABEL   the metrics header's source (default: the input's name)\n"
	       "  -q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error.\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s [-f mp|table|tsv|json] [-i FILE] [-o FILE] [-r RANKS.tsv] [-b BETA | -B NAME] "
	    "[-l LABEL] [-q]", argv0);
}

/* ---- video id -> column index: open addressing over FNV-1a ---- */

typedef struct {
	char **ids;      /* the header's videos, column order */
	int *slot;       /* cap entries: column index, or -1 empty */
	size_t cap;      /* power of two >= 2 * nv */
} IdIndex;

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* column of id (s, n), or -1 */
static int
idx_find(const IdIndex *x, const char *s, size_t n)
{
	for (size_t i = fnv1a(s, n) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		int v = x->slot[i];
		if (v < 0)
			return -1;
		if (strlen(x->ids[v]) == n && memcmp(x->ids[v], s, n) == 0)
			return v;
	}
}

static void
idx_build(IdIndex *x, const MpReader *r, char **ids, size_t nv)
{
	x->ids = ids;
	for (x->cap = 16; x->cap < 2 * nv; x->cap *= 2)
		;
	x->slot = emalloc(x->cap * sizeof(*x->slot));
	for (size_t i = 0; i < x->cap; i++)
		x->slot[i] = -1;
	for (size_t v = 0; v < nv; v++) {
		size_t n = strlen(ids[v]), i;
		if (idx_find(x, ids[v], n) >= 0)
			mpr_die(r, "'videos': duplicate id '%s'", ids[v]);
		for (i = fnv1a(ids[v], n) & (x->cap - 1); x->slot[i] >= 0; i = (i + 1) & (x->cap - 1))
			;
		x->slot[i] = (int)v;
	}
}

/* ---- input ---- */

static const msgpack_object *
need_strobj(const MpReader *r, const msgpack_object *o, const char *key)
{
	const msgpack_object *v = mp_find(o, key);

	if (!v)
		mpr_die(r, "missing key '%s'", key);
	if (v->type != MSGPACK_OBJECT_STR)
		mpr_die(r, "'%s': expected a string", key);
	return v;
}

static int
find_branch(char **br, size_t nb, const char *name)
{
	for (size_t i = 0; i < nb; i++)
		if (strcmp(br[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- output ---- */

static void
print_text(FILE *f, int fmt, const Metrics *m)
{
	switch (fmt) {
	case OUT_TABLE:
		fprintf(f, "%8s %7s %6s %6s %6s %6s %7s %7s %8s %7s\n", "queries", "videos", "R@1",
		        "R@5", "R@10", "R@100", "SumR", "medR", "meanR", "mAP");
		fprintf(f, "%8ld %7ld %6.2f %6.2f %6.2f %6.2f %7.2f %7.1f %8.2f %7.4f\n", m->queries,
		        m->videos, m->r1, m->r5, m->r10, m->r100, m->sumr, m->medr, m->meanr, m->map);
		break;
	case OUT_TSV:
		fprintf(f, "queries\tvideos\tr1\tr5\tr10\tr100\tsumr\tmedr\tmeanr\tmap\n");
		fprintf(f, "%ld\t%ld\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.6f\n", m->queries,
		        m->videos, m->r1, m->r5, m->r10, m->r100, m->sumr, m->medr, m->meanr, m->map);
		break;
	case OUT_JSON:
		fprintf(f, "{\"queries\":%ld,\"videos\":%ld,\"r1\":%.17g,\"r5\":%.17g,\"r10\":%.17g,"
		        "\"r100\":%.17g,\"sumr\":%.17g,\"medr\":%.17g,\"meanr\":%.17g,\"map\":%.17g}\n",
		        m->queries, m->videos, m->r1, m->r5, m->r10, m->r100, m->sumr, m->medr,
		        m->meanr, m->map);
		break;
	}
}

int
main(int argc, char *argv[])
{
	const char *in = "-", *out = "-", *rpath = NULL, *label = NULL, *bname = NULL;
	const msgpack_object *h, *o, *v;
	int c, fmt = OUT_MP, scores, ib = -1, ie = -1, fused = 0, bset = 0, own, rk;
	double beta = 0.3;
	long nq = 0, cap = 0, k = 0, ntop = 0;
	size_t nv, nb = 0;
	char **videos, **br = NULL, *split = NULL, *score = NULL, *rtmp = NULL;
	float *sa = NULL, *sb = NULL, *tsc = NULL;
	int32_t *top = NULL;
	int *rank = NULL;
	double hbeta = 0;
	int has_beta = 0;
	FILE *rf = NULL;
	IdIndex idx;
	Metrics m;
	MpReader *r;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":f:i:o:r:b:B:l:q")) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "mp") == 0) fmt = OUT_MP;
			else if (strcmp(optarg, "table") == 0) fmt = OUT_TABLE;
			else if (strcmp(optarg, "tsv") == 0) fmt = OUT_TSV;
			else if (strcmp(optarg, "json") == 0) fmt = OUT_JSON;
			else die("-f %s: expected mp, table, tsv or json", optarg);
			break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'r': rpath = optarg; break;
		case 'b': beta = estrtod(optarg, 0, 1); bset = 1; break;
		case 'B': bname = optarg; break;
		case 'l': label = optarg; break;
		case 'q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || (bset && bname))
		usage();
	if (fmt != OUT_MP && strcmp(out, "-") != 0)
		die("-o is for -f mp; text formats go to stdout");

	r = mpr_open(in);
	h = mpr_header(r, NULL);
	if (strcmp(r->kind, "scores") == 0)
		scores = 1;
	else if (strcmp(r->kind, "ranking") == 0)
		scores = 0;
	else
		mpr_die(r, "stream kind '%s', expected 'scores' or 'ranking'", r->kind);
	videos = mpr_strarray(r, h, "videos", &nv);
	if (nv < 1 || nv > INT32_MAX / 2)
		mpr_die(r, "'videos': %zu entries, expected 1 to %d", nv, INT32_MAX / 2);
	idx_build(&idx, r, videos, nv);
	if ((v = mp_find(h, "split")) && v->type != MSGPACK_OBJECT_NIL)
		split = mpr_strdup(r, h, "split");

	if (scores) {
		br = mpr_strarray(r, h, "branches", &nb);
		if (nb < 1)
			mpr_die(r, "'branches': empty");
		if (bname) {
			if ((ib = find_branch(br, nb, bname)) < 0)
				mpr_die(r, "no branch '%s' in 'branches'", bname);
		} else if (nb == 1 && !bset) {
			ib = 0;
		} else {
			ib = find_branch(br, nb, "inh");
			ie = find_branch(br, nb, "exp");
			if (ib < 0 || ie < 0)
				mpr_die(r, "%s: needs branches 'inh' and 'exp' (HINT: pick one branch "
				        "with -B)", bset ? "-b" : "several branches");
			fused = 1;
		}
		score = estrdup(fused ? "fused" : br[ib]);
		sa = efloats(nv);
		sb = efloats(nv);
		tsc = efloats(nv);
	} else {
		if (bset || bname)
			die("-b and -B apply to scores streams; %s is a ranking", r->name);
		k = mpr_int(r, h, "k");
		if (k < 1)
			mpr_die(r, "'k': %ld, expected >= 1", k);
		ntop = MIN(k, (long)nv);
		top = emalloc((size_t)ntop * sizeof(*top));
		if (mp_find(h, "score"))
			score = mpr_strdup(r, h, "score");
		v = mp_find(h, "beta");
		if (v && v->type != MSGPACK_OBJECT_NIL) {
			hbeta = mpr_num(r, h, "beta");
			has_beta = 1;
		}
	}
	if (rpath) {
		size_t n = strlen(rpath) + 32;
		rtmp = emalloc(n);
		snprintf(rtmp, n, "%s.tmp.%ld", rpath, (long)getpid());
		tmp_register(rtmp);
		if (!(rf = fopen(rtmp, "w")))
			die("open %s:", rtmp);
	}

	while ((o = mpr_next(r))) {
		const msgpack_object *id = need_strobj(r, o, "id");
		v = need_strobj(r, o, "video");
		own = idx_find(&idx, v->via.str.ptr, v->via.str.size);
		if (own < 0)
			mpr_die(r, "own video '%.*s' is not in the header's videos", (int)v->via.str.size,
			        v->via.str.ptr);
		if (scores) {
			if (fused) {
				mpr_f32(r, o, br[ie], sa, nv);
				mpr_f32(r, o, br[ib], sb, nv);
				/* the same function rank uses, so ties order identically */
				score_fuse(tsc, sa, sb, (float)beta, (long)nv);
				rk = rank_of(tsc, (int)nv, own);
			} else {
				mpr_f32(r, o, br[ib], sa, nv);
				rk = rank_of(sa, (int)nv, own);
			}
		} else {
			long x = mpr_int(r, o, "rank");
			if (x < 1 || x > (long)nv)
				mpr_die(r, "'rank': %ld out of range [1, %zu]", x, nv);
			rk = (int)x;
			mpr_i32(r, o, "top", top, (size_t)ntop);
			for (long i = 0; i < ntop; i++)
				if (top[i] < 0 || top[i] >= (int32_t)nv)
					mpr_die(r, "'top'[%ld]: %d is not a video index", i, (int)top[i]);
				else if ((top[i] == own) != (i + 1 == rk))
					mpr_die(r, "'top' disagrees with 'rank' %d (own video at index %d)",
					        rk, own);
		}
		if (nq == cap) {
			cap = cap ? 2 * cap : 4096;
			rank = erealloc(rank, (size_t)cap * sizeof(*rank));
		}
		rank[nq++] = rk;
		if (rf && fprintf(rf, "%.*s\t%.*s\t%d\n", (int)id->via.str.size, id->via.str.ptr,
		                  (int)v->via.str.size, v->via.str.ptr, rk) < 0)
			die("write %s:", rtmp);
		if (nq % 1024 == 0)
			progress(0, "%ld queries", nq);
	}
	if (nq == 0)
		die("%s: no queries", r->name);
	metrics_from_ranks(&m, rank, nq, (long)nv);
	if (rf) {
		if (fflush(rf) || ferror(rf) || fclose(rf))
			die("write %s:", rtmp);
		if (rename(rtmp, rpath))
			die("rename %s to %s:", rtmp, rpath);
		tmp_unregister(rtmp);
	}

	if (fmt == OUT_MP) {
		MpWriter *w = mpw_open(out, 0);
		mpw_header(w, "metrics", 1, 4 + (split != NULL));
		mpw_kv_str(w, "source", label ? label : r->name);
		mpw_kv_str(w, "input", r->kind);
		mpw_key(w, "score");
		if (score)
			mpw_str(w, score);
		else
			mpw_nil(w);
		mpw_key(w, "beta");
		if (fused)
			mpw_f64(w, beta);
		else if (has_beta)
			mpw_f64(w, hbeta);
		else
			mpw_nil(w);
		if (split)
			mpw_kv_str(w, "split", split);
		mpw_record_done(w);
		mpw_map(w, 10);
		mpw_kv_int(w, "queries", m.queries);
		mpw_kv_int(w, "videos", m.videos);
		mpw_kv_f64(w, "r1", m.r1);
		mpw_kv_f64(w, "r5", m.r5);
		mpw_kv_f64(w, "r10", m.r10);
		mpw_kv_f64(w, "r100", m.r100);
		mpw_kv_f64(w, "sumr", m.sumr);
		mpw_kv_f64(w, "medr", m.medr);
		mpw_kv_f64(w, "meanr", m.meanr);
		mpw_kv_f64(w, "map", m.map);
		mpw_record_done(w);
		mpw_close(w);
	} else {
		print_text(stdout, fmt, &m);
		if (fflush(stdout) || ferror(stdout))
			die("write <stdout>:");
	}
	progress(1, "%ld queries x %zu videos (%s): SumR %.2f", nq, nv, score ? score : "ranking", m.sumr);
	mpr_close(r);
	for (size_t i = 0; i < nv; i++)
		free(videos[i]);
	for (size_t i = 0; i < nb; i++)
		free(br[i]);
	free(videos);
	free(br);
	free(idx.slot);
	free(sa);
	free(sb);
	free(tsc);
	free(top);
	free(rank);
	free(split);
	free(score);
	free(rtmp);
	return 0;
}
