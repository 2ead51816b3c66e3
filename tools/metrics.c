/* metrics: retrieval metrics of a ranking or scores stream. For each query it finds the rank of
 * its own video (a ranking stream states it; a scores stream is ranked here with the tie rule of
 * lib/evalm.h: descending score, lower corpus index first) and reports R@1, R@5, R@10, R@100,
 * SumR, medR, meanR and mAP as one metrics record, or as text for people and scripts. Streams
 * one query at a time: memory is O(videos + queries), never O(queries x videos). For a scores
 * stream with branches inh and exp the score is fused (beta * exp + (1 - beta) * inh).
 * With -g a relevance file names every relevant video of each query (multi-positive metrics:
 * lib/evalm.h); with --compare it evaluates pairs of streams query by query and reports B - A
 * with a paired bootstrap interval and a permutation p-value.
 * Not here: scoring or top-K lists (rank), the metric formulas and the resampling
 * (lib/evalm.c), the relevance file's JSON (lib/gt.c). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evalm.h"
#include "gt.h"
#include "idindex.h"
#include "mpio.h"
#include "schema.h"
#include "score.h"
#include "util.h"

enum { OUT_MP, OUT_TABLE, OUT_TSV, OUT_JSON };

static void
help(void)
{
	printf("metrics - R@K, SumR, medR, meanR and mAP of a ranking or scores stream\n"
	       "\n"
	       "usage: %s [-f mp|table|tsv|json] [-i FILE] [-o FILE] [-r RANKS.tsv] [-b BETA | -B NAME]\n"
	       "       [-g GT.jsonl] [-l LABEL] [-q]\n"
	       "       %s --compare [-f table|tsv|json] [-b BETA | -B NAME] [-g GT.jsonl]\n"
	       "       [--resamples N] [--seed S] [-q] A B [A2 B2 ...]\n"
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
	       "             (with -g: the rank of the first relevant video)\n"
	       "  -b BETA    scores stream: fuse BETA * exp + (1 - BETA) * inh, 0..1 (default 0.3;\n"
	       "             the default score when the stream has branches inh and exp)\n"
	       "  -B NAME    scores stream: use branch NAME alone (default: the only branch)\n"
	       "  -g FILE    relevance file, JSON lines {\"query_id\": ..., \"gt_video_ids\": [...]}:\n"
	       "             evaluate its queries (others are skipped and counted) with every listed\n"
	       "             video relevant: R@K = a relevant video within the top K, medR and meanR\n"
	       "             of the first relevant video, mAP over all relevant videos. Exact from a\n"
	       "             scores stream; a ranking must list every video (rank -k >= videos)\n"
	       "  -l LABEL   the metrics header's source (default: the input's name)\n"
	       "  -q         no progress on stderr\n"
	       "  --compare A B [A2 B2 ...]\n"
	       "             paired comparison of system B against A (pairs of runs, e.g. seeds, on\n"
	       "             the same queries): per metric A, B, the difference B - A (averaged over\n"
	       "             the pairs), its 95%% paired-bootstrap percentile interval over queries\n"
	       "             and a two-sided paired permutation p-value (default -f table)\n"
	       "  --resamples N  bootstrap resamples and permutations, 1..1000000 (default 10000)\n"
	       "  --seed S   seed of lib/rng for both, 0..2^40 (default 1)\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error.\n", argv0, argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s [-f mp|table|tsv|json] [-i FILE] [-o FILE] [-r RANKS.tsv] [-b BETA | -B NAME] "
	    "[-g GT] [-l LABEL] [-q] | --compare [-f FMT] [--resamples N] [--seed S] A B [A2 B2 ...]",
	    argv0);
}

/* ---- input ---- */

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* string key of item o (there: lib/schema checked it), fit for the TSV of -r */
static const msgpack_object *
tsv_id(const MpReader *r, const msgpack_object *o, const char *key)
{
	const msgpack_object *v = mp_find(o, key);

	for (uint32_t i = 0; i < v->via.str.size; i++)   /* ids go into the TSV of -r as they are */
		if (strchr("\t\n\r", v->via.str.ptr[i]))    /* (NUL matches too) */
			mpr_die(r, "'%s': a tab, newline, CR or NUL byte in an id", key);
	return v;
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

/* ---- one stream evaluated ---- */

typedef struct {
	double beta;
	int bset;
	const char *bname;
	const GtSet *gt;           /* NULL: the own video is the one relevant video */
	int keep_ids;              /* keep the query ids (--compare pairs them) */
	FILE *rf;                  /* -r: per-query ranks, or NULL */
	const char *rtmp;
} Opts;

typedef struct {
	long nq;
	size_t cap[3];             /* of first, ap, qid */
	int *first;                /* (nq) rank of the first relevant (the own) video */
	double *ap;                /* (nq) average precision with -g, else NULL */
	char **qid;                /* (nq) with keep_ids */
	size_t nv;
	char *name, *kind, *split, *score;
	int fused, has_beta;
	double beta;               /* fused: -b; a ranking: its header's beta when has_beta */
} Eval;

static void
evaluate(Eval *e, const char *in, const Opts *op)
{
	const msgpack_object *h, *o, *v;
	int scores, ib = -1, ie = -1, own, rk, a, b;
	long k = 0, ntop = 0, skipped = 0;
	size_t nb = 0;
	char **videos, **br = NULL;
	float *sa = NULL, *sb = NULL, *tsc = NULL;
	int32_t *top = NULL;
	int *gcol = NULL, *rel = NULL, *pos = NULL, *rr = NULL, maxrel = 0;
	unsigned char *seen = NULL;
	const GtSet *gt = op->gt;
	IdIndex idx;
	MpReader *r;
	SchemaState *ss;

	memset(e, 0, sizeof(*e));
	r = mpr_open(in);
	h = mpr_header(r, NULL);
	if (strcmp(r->kind, "scores") == 0)
		scores = 1;
	else if (strcmp(r->kind, "ranking") == 0)
		scores = 0;
	else
		mpr_die(r, "stream kind '%s', expected 'scores' or 'ranking'", r->kind);
	/* header and items checked by lib/schema: types, ranges, sizes, a finite score, the own
	 * video among the header's videos, top agreeing with rank, no video listed twice */
	ss = schema_open(r, h, 1);
	e->name = estrdup(r->name);
	e->kind = estrdup(r->kind);
	videos = mpr_strarray(r, h, "videos", &e->nv);
	if (e->nv > INT32_MAX / 2)
		mpr_die(r, "'videos': %zu entries, expected 1 to %d", e->nv, INT32_MAX / 2);
	CHECK(!idindex_of(&idx, videos, (int)e->nv, &a, &b));   /* schema_open refused repeats */
	if ((v = mp_find(h, "split")) && v->type != MSGPACK_OBJECT_NIL)
		e->split = mpr_strdup(r, h, "split");

	if (scores) {
		br = mpr_strarray(r, h, "branches", &nb);
		if (op->bname) {
			if ((ib = mp_strindex(br, nb, op->bname)) < 0)
				mpr_die(r, "no branch '%s' in 'branches'", op->bname);
		} else if (nb == 1 && !op->bset) {
			ib = 0;
		} else {
			ib = mp_strindex(br, nb, "inh");
			ie = mp_strindex(br, nb, "exp");
			if (ib < 0 || ie < 0)
				mpr_die(r, "%s: needs branches 'inh' and 'exp' (HINT: pick one branch "
				        "with -B)", op->bset ? "-b" : "several branches");
			e->fused = 1;
			e->beta = op->beta;
		}
		e->score = estrdup(e->fused ? "fused" : br[ib]);
		sa = efloats(e->nv);
		sb = efloats(e->nv);
		tsc = efloats(e->nv);
	} else {
		if (op->bset || op->bname)
			die("-b and -B apply to scores streams; %s is a ranking", r->name);
		k = mpr_int(r, h, "k");
		ntop = MIN(k, (long)e->nv);
		/* a relevant video below the top k has no known rank, and mAP needs them all */
		if (gt && ntop < (long)e->nv)
			mpr_die(r, "-g needs every video's rank: the ranking lists %ld of %zu videos "
			        "(HINT: evaluate the scores stream, rank -S, or rank -k %zu)", ntop, e->nv,
			        e->nv);
		top = emalloc((size_t)ntop * sizeof(*top));
		if (mp_find(h, "score"))
			e->score = mpr_strdup(r, h, "score");
		v = mp_find(h, "beta");
		if (v && v->type != MSGPACK_OBJECT_NIL) {
			e->beta = mpr_num(r, h, "beta");
			e->has_beta = 1;
		}
	}
	if (gt) {
		/* every relevant video of the file as a column of this stream */
		gcol = emalloc((size_t)MAX(gt->off[gt->n], 1) * sizeof(*gcol));
		for (int q = 0; q < gt->n; q++) {
			maxrel = MAX(maxrel, gt->off[q + 1] - gt->off[q]);
			for (int j = gt->off[q]; j < gt->off[q + 1]; j++)
				if ((gcol[j] = idindex_find(&idx, gt->vid[j])) < 0)
					die("%s:%ld: video '%s' of query '%s' is not among the videos of %s",
					    gt->path, gt->line[q], gt->vid[j], gt->qid[q], r->name);
		}
		seen = ecalloc((size_t)gt->n, 1);
		rel = emalloc((size_t)maxrel * sizeof(*rel));
		rr = emalloc((size_t)maxrel * sizeof(*rr));
		if (!scores)
			pos = emalloc(e->nv * sizeof(*pos));
	}

	while ((o = mpr_next(r))) {
		const msgpack_object *id;
		const float *row = NULL;
		const long *col;
		char *qs = NULL;
		int gi = -1, nrel = 0;

		schema_item(ss, o);
		id = tsv_id(r, o, "id");
		v = tsv_id(r, o, "video");
		col = idindex_getn(&idx, v->via.str.ptr, v->via.str.size);
		own = (int)*col;
		if (gt || op->keep_ids) {
			qs = emalloc(id->via.str.size + 1);
			memcpy(qs, id->via.str.ptr, id->via.str.size);
			qs[id->via.str.size] = 0;
			if (strlen(qs) != id->via.str.size)
				mpr_die(r, "'id': a NUL byte");
		}
		if (gt) {
			if ((gi = gt_find(gt, qs)) < 0) {
				skipped++;
				free(qs);
				continue;
			}
			if (seen[gi]++)
				mpr_die(r, "query '%s' appears twice", qs);
			nrel = gt->off[gi + 1] - gt->off[gi];
			memcpy(rel, gcol + gt->off[gi], (size_t)nrel * sizeof(*rel));
		}
		if (scores) {
			if (e->fused) {
				mpr_f32(r, o, br[ie], sa, e->nv);
				mpr_f32(r, o, br[ib], sb, e->nv);
				/* the same function rank uses, so ties order identically */
				score_fuse(tsc, sa, sb, (float)e->beta, (long)e->nv);
				row = tsc;
			} else {
				mpr_f32(r, o, br[ib], sa, e->nv);
				row = sa;
			}
			rk = rank_of(row, (int)e->nv, own);
		} else {
			rk = (int)mpr_int(r, o, "rank");
			mpr_i32(r, o, "top", top, (size_t)ntop);
		}
		e->first = egrow(e->first, &e->cap[0], (size_t)e->nq + 1, sizeof(*e->first));
		if (gt)
			e->ap = egrow(e->ap, &e->cap[1], (size_t)e->nq + 1, sizeof(*e->ap));
		if (op->keep_ids)
			e->qid = egrow(e->qid, &e->cap[2], (size_t)e->nq + 1, sizeof(*e->qid));
		if (gt) {
			if (scores) {
				ranks_of(rr, row, (int)e->nv, rel, nrel);
			} else {
				/* the ranking lists every video once: position = rank */
				for (long i = 0; i < ntop; i++)
					pos[top[i]] = (int)i + 1;
				for (int j = 0; j < nrel; j++)
					rr[j] = pos[rel[j]];
				qsort(rr, (size_t)nrel, sizeof(*rr), cmp_int);
			}
			rk = rr[0];
			e->ap[e->nq] = avg_precision(rr, nrel);
		}
		e->first[e->nq] = rk;
		if (op->keep_ids)
			e->qid[e->nq] = qs;
		else
			free(qs);
		e->nq++;
		if (op->rf && fprintf(op->rf, "%.*s\t%.*s\t%d\n", (int)id->via.str.size, id->via.str.ptr,
		                      (int)v->via.str.size, v->via.str.ptr, rk) < 0)
			die("write %s:", op->rtmp);
		if (e->nq % 1024 == 0)
			progress(0, "%ld queries", e->nq);
	}
	if (gt) {
		for (int q = 0; q < gt->n; q++)
			if (!seen[q])
				die("%s:%ld: query '%s' is not in %s", gt->path, gt->line[q], gt->qid[q],
				    r->name);
		if (skipped)
			warnf("%s: %ld queries not in %s skipped", r->name, skipped, gt->path);
	}
	if (e->nq == 0)
		die("%s: no queries", r->name);
	schema_close(ss);
	mpr_close(r);
	for (size_t i = 0; i < e->nv; i++)
		free(videos[i]);
	for (size_t i = 0; i < nb; i++)
		free(br[i]);
	free(videos);
	free(br);
	idindex_free(&idx);
	free(sa), free(sb), free(tsc), free(top);
	free(gcol), free(rel), free(pos), free(rr), free(seen);
}

static void
eval_free(Eval *e)
{
	for (long i = 0; e->qid && i < e->nq; i++)
		free(e->qid[i]);
	free(e->qid), free(e->first), free(e->ap);
	free(e->name), free(e->kind), free(e->split), free(e->score);
}

/* ---- --compare ---- */

/* reorder x's per-query arrays to the query order of ref (same id set, or die) */
static void
align(Eval *x, const Eval *ref)
{
	IdIndex ix;
	int *f = emalloc((size_t)ref->nq * sizeof(*f)), a, b;
	double *ap = x->ap ? emalloc((size_t)ref->nq * sizeof(*ap)) : NULL;
	char **q = emalloc((size_t)ref->nq * sizeof(*q));
	unsigned char *used = ecalloc((size_t)x->nq, 1);

	if (x->nv != ref->nv)
		die("--compare: %s ranks %zu videos, %s %zu", x->name, x->nv, ref->name, ref->nv);
	if (x->nq != ref->nq)
		die("--compare: %s has %ld queries, %s %ld", x->name, x->nq, ref->name, ref->nq);
	if (idindex_of(&ix, x->qid, (int)x->nq, &a, &b))
		die("--compare: %s: query '%s' appears twice", x->name, x->qid[a]);
	for (long i = 0; i < ref->nq; i++) {
		int j = idindex_find(&ix, ref->qid[i]);
		if (j < 0)
			die("--compare: query '%s' of %s is not in %s", ref->qid[i], ref->name, x->name);
		CHECK(!used[j]);
		used[j] = 1;
		f[i] = x->first[j];
		if (ap)
			ap[i] = x->ap[j];
		q[i] = x->qid[j];
	}
	idindex_free(&ix);
	free(x->first), free(x->ap), free(x->qid), free(used);
	x->first = f, x->ap = ap, x->qid = q;
}

static void
print_compare(int fmt, const Compare *c, const Eval *e0, long R, long seed, int pairs)
{
	const char *test = "paired permutation (swap A and B per query)";

	switch (fmt) {
	case OUT_TABLE:
		printf("B - A over %ld queries x %zu videos, %d pair%s of runs; 95%% paired bootstrap "
		       "percentile interval (%ld resamples, seed %ld); p: two-sided %s\n", e0->nq, e0->nv,
		       pairs, pairs > 1 ? "s" : "", R, seed, test);
		printf("%-6s %10s %10s %10s %10s %10s %8s\n", "metric", "A", "B", "B-A", "lo", "hi", "p");
		for (int k = 0; k < NMETRIC; k++)
			printf("%-6s %10.4f %10.4f %10.4f %10.4f %10.4f %8.4f\n", metric_key[k], c->a[k],
			       c->b[k], c->diff[k], c->lo[k], c->hi[k], c->p[k]);
		break;
	case OUT_TSV:
		printf("metric\ta\tb\tdiff\tlo\thi\tp\n");
		for (int k = 0; k < NMETRIC; k++)
			printf("%s\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n", metric_key[k], c->a[k], c->b[k],
			       c->diff[k], c->lo[k], c->hi[k], c->p[k]);
		break;
	case OUT_JSON:
		printf("{\"queries\":%ld,\"videos\":%zu,\"pairs\":%d,\"resamples\":%ld,\"seed\":%ld,"
		       "\"difference\":\"b - a\",\"interval\":\"95%% paired bootstrap percentile\","
		       "\"test\":\"two-sided %s\",\"metrics\":{", e0->nq, e0->nv, pairs, R, seed, test);
		for (int k = 0; k < NMETRIC; k++)
			printf("%s\"%s\":{\"a\":%.17g,\"b\":%.17g,\"diff\":%.17g,\"lo\":%.17g,\"hi\":%.17g,"
			       "\"p\":%.17g}", k ? "," : "", metric_key[k], c->a[k], c->b[k], c->diff[k],
			       c->lo[k], c->hi[k], c->p[k]);
		printf("}}\n");
		break;
	}
}

static void
compare(char **paths, int n, const Opts *op, int fmt, long R, long seed)
{
	int S = n / 2;
	Eval *e = ecalloc((size_t)n, sizeof(*e));
	int **fa = emalloc((size_t)S * sizeof(*fa)), **fb = emalloc((size_t)S * sizeof(*fb));
	double **apa = emalloc((size_t)S * sizeof(*apa)), **apb = emalloc((size_t)S * sizeof(*apb));
	Compare c;

	for (int i = 0; i < n; i++) {
		evaluate(&e[i], paths[i], op);
		progress(1, "%s: %ld queries", e[i].name, e[i].nq);
		if (i > 0)
			align(&e[i], &e[0]);
	}
	for (int s = 0; s < S; s++) {
		fa[s] = e[2 * s].first, apa[s] = e[2 * s].ap;
		fb[s] = e[2 * s + 1].first, apb[s] = e[2 * s + 1].ap;
	}
	compare_paired(&c, S, fa, apa, fb, apb, e[0].nq, (long)e[0].nv, R, (uint64_t)seed);
	print_compare(fmt, &c, &e[0], R, seed, S);
	if (fflush(stdout) || ferror(stdout))
		die("write <stdout>:");
	progress(1, "SumR B - A %.2f [%.2f, %.2f], p %.4f", c.diff[M_SUMR], c.lo[M_SUMR],
	         c.hi[M_SUMR], c.p[M_SUMR]);
	for (int i = 0; i < n; i++)
		eval_free(&e[i]);
	free(e), free(fa), free(fb), free(apa), free(apb);
}

/* ---- main ---- */

int
main(int argc, char *argv[])
{
	const char *in = "-", *out = "-", *rpath = NULL, *label = NULL, *gpath = NULL;
	int c, fmt = -1, cmp = 0;
	long R = 10000, seed = 1;
	char *rtmp = NULL;
	Opts op = { .beta = 0.3 };
	GtSet gt;
	Eval e;
	Metrics m;
	enum { O_COMPARE = 256, O_RESAMPLES, O_SEED };
	static const struct option lo[] = {
		{ "compare", no_argument, NULL, O_COMPARE },
		{ "resamples", required_argument, NULL, O_RESAMPLES },
		{ "seed", required_argument, NULL, O_SEED },
		{ NULL, 0, NULL, 0 }
	};

	tool_start(argc, argv, help);
	while ((c = getopt_long(argc, argv, ":f:i:o:r:b:B:g:l:q", lo, NULL)) != -1) {
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
		case 'b': op.beta = estrtod(optarg, 0, 1); op.bset = 1; break;
		case 'B': op.bname = optarg; break;
		case 'g': gpath = optarg; break;
		case 'l': label = optarg; break;
		case 'q': progress_quiet = 1; break;
		case O_COMPARE: cmp = 1; break;
		case O_RESAMPLES: R = estrtol(optarg, 1, 1000000); break;
		case O_SEED: seed = estrtol(optarg, 0, 1L << 40); break;
		default: bad_option(c);
		}
	}
	if (op.bset && op.bname)
		usage();
	if (gpath) {
		gt_load(&gt, gpath);
		op.gt = &gt;
	}
	if (cmp) {
		if (argc - optind < 2 || (argc - optind) % 2 || strcmp(in, "-") != 0 || rpath || label ||
		    strcmp(out, "-") != 0)
			usage();
		if (fmt == OUT_MP)
			die("--compare writes -f table, tsv or json");
		op.keep_ids = 1;
		compare(argv + optind, argc - optind, &op, fmt < 0 ? OUT_TABLE : fmt, R, seed);
		if (gpath)
			gt_free(&gt);
		return 0;
	}
	if (optind != argc)
		usage();
	if (fmt < 0)
		fmt = OUT_MP;
	if (fmt != OUT_MP && strcmp(out, "-") != 0)
		die("-o is for -f mp; text formats go to stdout");
	check_outputs((const char *[]){ in, gpath }, 2, (const char *[]){ out, rpath }, 2);

	if (rpath) {
		rtmp = written_in_place(rpath) ? estrdup(rpath) : tmp_path(rpath);
		if (!(op.rf = fopen(rtmp, "w")))
			die("open %s:", rtmp);
		op.rtmp = rtmp;
	}
	evaluate(&e, in, &op);
	metrics_from_firsts(&m, e.first, e.ap, e.nq, (long)e.nv);
	if (op.rf) {
		if (fflush(op.rf) || ferror(op.rf) || fclose(op.rf))
			die("write %s:", rtmp);
		if (strcmp(rtmp, rpath) != 0 && rename(rtmp, rpath))
			die("rename %s to %s:", rtmp, rpath);
		tmp_unregister(rtmp);
	}

	if (fmt == OUT_MP) {
		MpWriter *w = mpw_open(out, 0);
		mpw_header(w, "metrics", 1, 4 + (e.split != NULL));
		mpw_kv_str(w, "source", label ? label : e.name);
		mpw_kv_str(w, "input", e.kind);
		mpw_key(w, "score");
		if (e.score)
			mpw_str(w, e.score);
		else
			mpw_nil(w);
		mpw_key(w, "beta");
		if (e.fused || e.has_beta)
			mpw_f64(w, e.beta);
		else
			mpw_nil(w);
		if (e.split)
			mpw_kv_str(w, "split", e.split);
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
	progress(1, "%ld queries x %zu videos (%s): SumR %.2f", e.nq, e.nv,
	         e.score ? e.score : "ranking", m.sumr);
	eval_free(&e);
	if (gpath)
		gt_free(&gt);
	free(rtmp);
	return 0;
}
