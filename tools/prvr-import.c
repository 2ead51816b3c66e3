/* prvr-import: a released PRVR feature bundle (the MS-SL / DL-DKD layout of TVR, ActivityNet
 * Captions and Charades-STA, or a custom set laid out the same way; doc/import.md) -> a corpus
 * directory of raw feature streams (schemas/README.md): per split the student and teacher video
 * streams and the student and teacher query streams, plus corpus.mp.
 *
 * Streaming, two passes per split: a check pass reads every item (feature.bin memory-mapped, one
 * video at a time; every HDF5 dataset once) and decides what is kept, then a write pass reads the
 * kept items again (mostly from the page cache) and writes them. Two passes because a stream's
 * header, written first, holds its item count, and a NaN is only found by reading the data.
 * Nothing but the id tables is held for the whole run.
 * The three readers are library files: feature.bin, shape.txt and id.txt lib/bigfile.h,
 * video2frames.txt lib/pylit.h, the HDF5 files lib/h5.h (float16 converted by HDF5). This file is
 * the import: which keys hold what, the checks, the two passes, the summary. When a video's
 * teacher and student sequences differ in length, the longer is segment-averaged (lib/reduce.h,
 * the rule of method.md) to the length of the shorter.
 * Every missing or inconsistent item is reported with the file, the key and what was expected;
 * --strict exits 1 on the first one (and leaves no output), the default skips the item, counts it
 * and prints a summary. Problems of the bundle as a whole (a missing file, feature.bin not the
 * size shape.txt says) are fatal in both modes.
 * Not here: reduction to 128 frames, token truncation, normalisation (feat-reduce does those), and
 * no ground-truth moments (imported corpora have count 0). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigfile.h"
#include "h5.h"
#include "idindex.h"
#include "mpio.h"
#include "pylit.h"
#include "reduce.h"
#include "util.h"

#define NSPLITS 3
static const char *split_names[NSPLITS] = { "train", "val", "test" };

/* ---- problems: strict dies, default counts, warns (capped) and skips ---- */

enum {
	P_CAPLINE, P_DUPCAP, P_V2F, P_NOVIDEO, P_NOCLIPS, P_UNKCLIP, P_DUPCLIP,
	P_TMISSING, P_TSHAPE, P_QMISSING, P_QSHAPE, P_CMISSING, P_CSHAPE, P_NONFINITE, NPROB
};
static const char *prob_name[NPROB] = {
	"malformed caption line", "duplicate query id", "video2frames.txt syntax error",
	"video not in video2frames.txt", "video with no clips", "clip id not in id.txt",
	"clip id repeated in id.txt", "teacher video key missing", "teacher video bad shape or type",
	"RoBERTa query key missing", "RoBERTa query bad shape or type", "CLIP query key missing",
	"CLIP query bad shape or type", "NaN or Inf in features",
};
static long nprob[NPROB];
static int strict;
static int writing;       /* the write pass: every item it meets passed the check pass */
static long maxwarn = 10;

/* what: the problem (file, key, expected); skipped: what the default mode drops because of it */
static void __attribute__((format(printf, 3, 4)))
problem(int kind, const char *skipped, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (writing)
		die("%s (it passed the check pass: did the file change during the import?)", msg);
	if (strict)
		die("%s (--strict: no output written)", msg);
	nprob[kind]++;
	if (nprob[kind] <= maxwarn)
		warnf("warning: %s; %s skipped", msg, skipped);
	else if (nprob[kind] == maxwarn + 1)
		warnf("warning: further '%s' problems not shown (counted in the summary)",
		      prob_name[kind]);
}

static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- video2frames.txt: which rows of feature.bin make each video ---- */

#define TEXT_MAX ((size_t)1 << 32)   /* a caption file or video2frames.txt: far above any release */

typedef struct {
	long off, n;          /* its rows: rows[off .. off + n) */
	const char *badclip;  /* first clip id not in id.txt */
	const char *dupclip;  /* first clip id that repeats in id.txt */
} V2fEntry;

typedef struct {
	char *path;
	PyDict d;             /* video id -> clip ids (lib/pylit.h) */
	V2fEntry *e;          /* (d.ne) */
	int32_t *rows;        /* (d.nitem) the row of each clip id in feature.bin, -1 when absent */
	IdIndex broken;       /* video ids whose entry does not parse -> its line */
	unsigned char *used;  /* (d.ne) the video is in a caption file of an imported split */
} V2f;

/* the parse, its problems reported, and each clip id looked up in id.txt */
static void
v2f_read(V2f *v, const char *path, const BigFile *f)
{
	char *text = slurp(path, TEXT_MAX, NULL);

	v->path = estrdup(path);
	pylit_dict(&v->d, text, path);
	free(text);
	for (long i = 0; i < v->d.nprob; i++) {
		const PyProblem *p = &v->d.prob[i];
		char *skipped;
		if (p->kind == PY_DUPKEY) {
			problem(P_V2F, "the repeated entry", "%s:%ld: video id '%s' appears twice in the "
			        "dict (expected unique keys)", path, p->line, p->key);
			continue;
		}
		if (p->kind == PY_TRAILING) {
			problem(P_V2F, "the rest of the file", "%s:%ld:%ld: expected end of file after "
			        "'}'", path, p->line, p->col);
			continue;
		}
		if (p->key)
			idindex_add(&v->broken, p->key, p->line);
		skipped = p->key ? estrfmt("the entry of video '%s'", p->key) : estrdup("this entry");
		problem(P_V2F, skipped, "%s:%ld:%ld: expected %s, found %s", path, p->line, p->col,
		        p->expected, p->found);
		free(skipped);
	}
	v->e = ecalloc((size_t)v->d.ne + 1, sizeof(*v->e));
	v->used = ecalloc((size_t)v->d.ne + 1, 1);
	v->rows = emalloc(((size_t)v->d.nitem + 1) * sizeof(*v->rows));
	for (long i = 0; i < v->d.ne; i++) {
		V2fEntry *e = &v->e[i];
		e->off = v->d.e[i].off;
		e->n = v->d.e[i].n;
		for (long k = e->off; k < e->off + e->n; k++) {
			const char *clip = pylit_item(&v->d, k);
			const long *row = idindex_get(&f->id2row, clip);
			if (!row && !e->badclip)
				e->badclip = clip;
			if (row && *row < 0 && !e->dupclip)
				e->dupclip = clip;
			v->rows[k] = row ? (int32_t)(*row >= 0 ? *row : -1 - *row) : -1;
		}
	}
}

static void
v2f_free(V2f *v)
{
	free(v->path), free(v->e), free(v->rows), free(v->used);
	pylit_free(&v->d);
	idindex_free(&v->broken);
}

/* first non-finite element, or -1 */
static long
nonfinite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return (long)i;
	return -1;
}

/* ---- output streams ---- */

typedef struct {
	MpWriter *w;
	char *path;
	long n;               /* items written */
} Out;

static char **done_paths;
static int ndone;
static double bytes_out;

/* header with the count the check pass found, then the caller's 5 keys */
static Out *
out_open(const char *dir, const char *name, const char *kind, long count)
{
	Out *o = ecalloc(1, sizeof(*o));

	o->path = estrfmt("%s/%s", dir, name);
	o->w = mpw_open(o->path, 0);
	mpw_header(o->w, kind, count, 5);
	return o;
}

/* the file is renamed into place: from now on die() must remove it (all or nothing) */
static void
keep_path(char *path)
{
	tmp_register(path);
	done_paths = erealloc(done_paths, (size_t)(ndone + 1) * sizeof(*done_paths));
	done_paths[ndone++] = path;
}

static void
out_close(Out *o)
{
	mpw_close(o->w);
	keep_path(o->path);
	free(o);
}

/* ---- import ---- */

typedef struct {
	char *root, *coll, *outdir;
	BigFile feat;
	V2f v2f;
	H5 tvid, qrob, qclip;
	int clipform;         /* 0 keys are cap_id, 1 keys are <video_id>#<k>; the form found last */
	long clipform_n[2];
	float *buf, *buf2, *hbuf;
	size_t bufcap, buf2cap, hbufcap;
	double bytes_in;
	double t0;
	int splits_given;
	/* per split results */
	long nvid[NSPLITS], nq[NSPLITS], skipv[NSPLITS], skipq[NSPLITS], orphq[NSPLITS];
	long matched[NSPLITS], lonely[NSPLITS];
	int done[NSPLITS];
} Ctx;

typedef struct {
	char *cap;            /* query id */
	long vi;              /* index into the split's videos */
	long line;
} Query;

/* rows of a video are not needed again: keep RSS at one video, not the whole file */
static void
drop_video_rows(const BigFile *f, const int32_t *rows, long n)
{
	for (long i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && rows[j] == rows[j - 1] + 1; j++)
			;
		bigfile_dontneed(f, rows[i], rows[j - 1] + 1);
	}
}

/* start reading the rows of video vid from disk while the current one is processed */
static void
prefetch_video(const Ctx *c, const char *vid)
{
	long ix = idindex_find(&c->v2f.d.index, vid), lo = LONG_MAX, hi = -1;
	const V2fEntry *e;

	if (ix < 0)
		return;
	e = &c->v2f.e[ix];
	for (long i = 0; i < e->n; i++) {
		long r = c->v2f.rows[e->off + i];
		if (r < 0)
			return;
		lo = MIN(lo, r);
		hi = MAX(hi, r);
	}
	if (hi < 0 || hi - lo + 1 > 4 * e->n)
		return;   /* scattered rows: let the page faults read them */
	bigfile_willneed(&c->feat, lo, hi + 1);
}

/* one video: checks (reading all its data), then, when os and ot are given, length matching and
 * the two items. 1 fine (written), 0 skipped */
static int
import_video(Ctx *c, int si, const char *vid, Out *os, Out *ot)
{
	const BigFile *f = &c->feat;
	const V2fEntry *e;
	long ix = idindex_find(&c->v2f.d.index, vid), n, T, bad;
	const int32_t *rows;
	const float *xs, *xt;
	hsize_t dims[4];
	char sh[96];
	int rank, st, contiguous = 1;

	if (ix < 0) {
		const long *bl = idindex_get(&c->v2f.broken, vid);
		char *where = bl ? estrfmt(" (its entry, line %ld, does not parse)", *bl) : estrdup("");
		problem(P_NOVIDEO, "the video and its queries", "%s: no entry for video '%s'%s "
		        "(expected '%s': [clip ids])", c->v2f.path, vid, where, vid);
		free(where);
		return 0;
	}
	e = &c->v2f.e[ix];
	if (e->n == 0) {
		problem(P_NOCLIPS, "the video and its queries", "%s: video '%s' has an empty list of "
		        "clip ids (expected at least one)", c->v2f.path, vid);
		return 0;
	}
	if (e->badclip) {
		problem(P_UNKCLIP, "the video and its queries", "%s: video '%s': clip id '%s' is not in "
		        "%s", c->v2f.path, vid, e->badclip, f->idpath);
		return 0;
	}
	if (e->dupclip) {
		problem(P_DUPCLIP, "the video and its queries", "%s: video '%s': clip id '%s' appears "
		        "more than once in %s (which row is meant is ambiguous)", c->v2f.path, vid,
		        e->dupclip, f->idpath);
		return 0;
	}

	/* teacher: (T, dim) or (1, T, dim) */
	st = h5_read(&c->tvid, vid, &c->hbuf, &c->hbufcap, dims, &rank);
	if (st == H5_MISSING) {
		problem(P_TMISSING, "the video and its queries", "%s: no key '%s' (expected the "
		        "teacher frame features of video '%s', shape (T, %ld))", c->tvid.path, vid, vid,
		        c->tvid.dim);
		return 0;
	}
	if (st == H5_OK)
		rank = h5_squeeze(dims, rank, 2);
	if (st != H5_OK || rank != 2 || (long)dims[1] != c->tvid.dim || dims[0] < 1) {
		if (st == H5_OK) {
			h5_dims_str(sh, sizeof(sh), dims, rank);
			problem(P_TSHAPE, "the video and its queries", "%s: key '%s': shape %s, expected "
			        "(T, %ld) with T >= 1", c->tvid.path, vid, sh, c->tvid.dim);
		} else
			problem(P_TSHAPE, "the video and its queries", "%s: key '%s' %s (expected float "
			        "(T, %ld))", c->tvid.path, vid, h5_why(st), c->tvid.dim);
		return 0;
	}
	T = (long)dims[0];
	if (!writing)
		c->bytes_in += (double)T * c->tvid.dim * 4;
	if ((bad = nonfinite(c->hbuf, (size_t)T * c->tvid.dim)) >= 0) {
		problem(P_NONFINITE, "the video and its queries", "%s: key '%s': NaN or Inf at row %ld, "
		        "column %ld", c->tvid.path, vid, bad / c->tvid.dim, bad % c->tvid.dim);
		return 0;
	}

	/* student rows */
	n = e->n;
	rows = c->v2f.rows + e->off;
	for (long i = 1; i < n; i++)
		contiguous &= rows[i] == rows[i - 1] + 1;
	if (contiguous) {
		xs = f->x + (size_t)rows[0] * f->D;
	} else {
		c->buf = efloats_grow(c->buf, &c->bufcap, (size_t)n * f->D);
		for (long i = 0; i < n; i++)
			memcpy(c->buf + (size_t)i * f->D, f->x + (size_t)rows[i] * f->D,
			       (size_t)f->D * sizeof(float));
		xs = c->buf;
	}
	if (!writing)
		c->bytes_in += (double)n * f->D * 4;
	if ((bad = nonfinite(xs, (size_t)n * f->D)) >= 0) {
		long r = rows[bad / f->D];
		problem(P_NONFINITE, "the video and its queries", "%s: row %ld (clip '%s', frame %ld "
		        "of video '%s'): NaN or Inf at column %ld", f->binpath, r,
		        f->rowid[r], bad / f->D, vid, bad % f->D);
		return 0;
	}

	if (!os) {
		drop_video_rows(f, rows, e->n);
		return 1;
	}

	/* the longer sequence is segment-averaged to the length of the shorter */
	xt = c->hbuf;
	if (T != n) {
		c->matched[si]++;
		if (n > T) {
			c->buf2 = efloats_grow(c->buf2, &c->buf2cap, (size_t)T * f->D);
			reduce_segments(c->buf2, xs, n, T, f->D);
			xs = c->buf2;
			n = T;
		} else {
			c->buf2 = efloats_grow(c->buf2, &c->buf2cap, (size_t)n * c->tvid.dim);
			reduce_segments(c->buf2, c->hbuf, T, n, c->tvid.dim);
			xt = c->buf2;
			T = n;
		}
	}

	mpw_map(os->w, 3);
	mpw_kv_str(os->w, "id", vid);
	mpw_kv_int(os->w, "n", n);
	mpw_kv_f32(os->w, "x", xs, (size_t)n * f->D);
	mpw_record_done(os->w);
	os->n++;
	mpw_map(ot->w, 3);
	mpw_kv_str(ot->w, "id", vid);
	mpw_kv_int(ot->w, "n", n);
	mpw_kv_f32(ot->w, "x", xt, (size_t)n * c->tvid.dim);
	mpw_record_done(ot->w);
	ot->n++;
	bytes_out += (double)n * (f->D + c->tvid.dim) * 4;

	drop_video_rows(f, rows, e->n);
	return 1;
}

/* the CLIP text key of a query: cap_id or <video_id>#<k> for cap_id <video_id>#enc#<k> */
static char *
clip_altkey(const char *cap, const char *vid)
{
	const char *k = strstr(cap, "#enc#");

	if (!k || (size_t)(k - cap) != strlen(vid) || strchr(k + 5, '#'))
		return NULL;
	return estrfmt("%s#%s", vid, k + 5);
}

/* one query: student tokens and teacher embedding, checked, then written when os and ot are
 * given. 1 fine (written), 0 skipped */
static int
import_query(Ctx *c, const Query *q, const char *vid, Out *os, Out *ot)
{
	hsize_t dims[4];
	char sh[96], *alt, *keys[2];
	int rank, st, form;
	long ntok, bad, D = c->qrob.dim, Dc = c->qclip.dim;

	st = h5_read(&c->qrob, q->cap, &c->hbuf, &c->hbufcap, dims, &rank);
	if (st == H5_MISSING) {
		problem(P_QMISSING, "the query", "%s: no key '%s' (expected the RoBERTa token "
		        "features of query '%s', shape (n_tokens, %ld))", c->qrob.path, q->cap, q->cap, D);
		return 0;
	}
	if (st == H5_OK)
		rank = h5_squeeze(dims, rank, 2);
	if (st != H5_OK || rank != 2 || (long)dims[1] != D || dims[0] < 1) {
		if (st == H5_OK) {
			h5_dims_str(sh, sizeof(sh), dims, rank);
			problem(P_QSHAPE, "the query", "%s: key '%s': shape %s, expected (n_tokens, %ld) "
			        "or (1, n_tokens, %ld) with n_tokens >= 1", c->qrob.path, q->cap, sh, D, D);
		} else
			problem(P_QSHAPE, "the query", "%s: key '%s' %s (expected float (n_tokens, %ld))",
			        c->qrob.path, q->cap, h5_why(st), D);
		return 0;
	}
	ntok = (long)dims[0];
	if (!writing)
		c->bytes_in += (double)ntok * D * 4;
	if ((bad = nonfinite(c->hbuf, (size_t)ntok * D)) >= 0) {
		problem(P_NONFINITE, "the query", "%s: key '%s': NaN or Inf at token %ld, column %ld",
		        c->qrob.path, q->cap, bad / D, bad % D);
		return 0;
	}
	c->buf = efloats_grow(c->buf, &c->bufcap, (size_t)ntok * D);
	memcpy(c->buf, c->hbuf, (size_t)ntok * D * sizeof(float));

	/* teacher: try the key form found last first, then the other */
	alt = clip_altkey(q->cap, vid);
	keys[0] = q->cap;
	keys[1] = alt;
	st = H5_MISSING;
	for (int t = 0; t < 2 && st == H5_MISSING; t++) {
		form = t ? !c->clipform : c->clipform;
		if (keys[form])
			st = h5_read(&c->qclip, keys[form], &c->hbuf, &c->hbufcap, dims, &rank);
	}
	if (st == H5_MISSING) {
		if (alt)
			problem(P_CMISSING, "the query", "%s: neither key '%s' nor '%s' (expected the CLIP "
			        "text embedding of query '%s', shape (1, %ld))", c->qclip.path, q->cap,
			        alt, q->cap, Dc);
		else
			problem(P_CMISSING, "the query", "%s: no key '%s' (expected the CLIP text embedding "
			        "of query '%s', shape (1, %ld))", c->qclip.path, q->cap, q->cap, Dc);
		free(alt);
		return 0;
	}
	c->clipform = form;
	if (st == H5_OK)
		rank = h5_squeeze(dims, rank, 1);
	if (st != H5_OK || rank != 1 || (long)dims[0] != Dc) {
		if (st == H5_OK) {
			h5_dims_str(sh, sizeof(sh), dims, rank);
			problem(P_CSHAPE, "the query", "%s: key '%s': shape %s after dropping leading axes "
			        "of 1, expected (1, %ld) or (%ld,)", c->qclip.path, keys[form], sh, Dc, Dc);
		} else
			problem(P_CSHAPE, "the query", "%s: key '%s' %s (expected float (1, %ld))",
			        c->qclip.path, keys[form], h5_why(st), Dc);
		free(alt);
		return 0;
	}
	if (!writing)
		c->bytes_in += (double)Dc * 4;
	if ((bad = nonfinite(c->hbuf, (size_t)Dc)) >= 0) {
		problem(P_NONFINITE, "the query", "%s: key '%s': NaN or Inf at column %ld",
		        c->qclip.path, keys[form], bad);
		free(alt);
		return 0;
	}
	free(alt);
	if (!os)
		return 1;
	c->clipform_n[form]++;

	mpw_map(os->w, 4);
	mpw_kv_str(os->w, "id", q->cap);
	mpw_kv_str(os->w, "video", vid);
	mpw_kv_int(os->w, "n", ntok);
	mpw_kv_f32(os->w, "x", c->buf, (size_t)ntok * D);
	mpw_record_done(os->w);
	os->n++;
	mpw_map(ot->w, 4);
	mpw_kv_str(ot->w, "id", q->cap);
	mpw_kv_str(ot->w, "video", vid);
	mpw_kv_int(ot->w, "n", 1);
	mpw_kv_f32(ot->w, "x", c->hbuf, (size_t)Dc);
	mpw_record_done(ot->w);
	ot->n++;
	bytes_out += (double)(ntok * D + Dc) * 4;
	return 1;
}

/* SPLIT-WHAT-ROLE.mp (WHAT: video or query) of count items of dim in the output folder, its
 * header written */
static Out *
features_open(const Ctx *c, const char *split, const char *what, const char *role, long count,
              long dim)
{
	char name[64], kind[32];
	Out *o;

	snprintf(name, sizeof(name), "%s-%s-%s.mp", split, what, role);
	snprintf(kind, sizeof(kind), "%s-features", what);
	o = out_open(c->outdir, name, kind, count);
	mpw_kv_str(o->w, "role", role);
	mpw_kv_int(o->w, "dim", dim);
	mpw_kv_str(o->w, "split", split);
	mpw_kv_bool(o->w, "reduced", 0);
	mpw_kv_bool(o->w, "normalized", 0);
	mpw_record_done(o->w);
	return o;
}

static void
import_split(Ctx *c, int si)
{
	const char *split = split_names[si];
	char *path = estrfmt("%s/TextData/%s%s.caption.txt", c->root, c->coll, split), *buf, *line, *next;
	IdIndex capseen = { 0 }, vidix = { 0 };
	Query *q = NULL;
	char **vids = NULL;
	long nq = 0, nv = 0, lineno = 0;
	size_t qcap = 0, vcap = 0;
	unsigned char *vkept, *qkept;
	long *vq, nvk = 0, nqk = 0, ix;
	Out *vs, *vt, *qs, *qt;

	if (!exists(path)) {
		if (c->splits_given)
			die("%s: no such file (caption file of split %s, asked for by --splits)", path, split);
		warnf("note: no %s: split %s not imported", path, split);
		free(path);
		return;
	}
	buf = slurp(path, TEXT_MAX, NULL);
	for (line = buf; line && *line; line = next) {
		char *sp, *cap, *hash;
		const long *prev, *vi;
		size_t len, vlen;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strspn(line, " \t") == len)
			continue;           /* blank line: no query */
		sp = strchr(line, ' ');
		if (sp)
			*sp = '\0';
		cap = line;
		hash = strchr(cap, '#');
		if (!*cap || hash == cap) {
			if (sp)
				*sp = ' ';
			c->skipq[si]++;
			problem(P_CAPLINE, "the line", "%s:%ld: expected \"<cap_id> <caption>\" with cap_id "
			        "<video_id>#enc#<k>, found \"%.60s%s\"", path, lineno, line, len > 60 ? "..." : "");
			continue;
		}
		if ((prev = idindex_add(&capseen, cap, lineno))) {
			c->skipq[si]++;
			problem(P_DUPCAP, "the repeated query", "%s:%ld: query id '%s' already on line %ld "
			        "(expected unique query ids)", path, lineno, cap, *prev);
			continue;
		}
		q = egrow(q, &qcap, (size_t)nq + 1, sizeof(*q));
		q[nq].cap = cap;
		q[nq].line = lineno;
		vlen = hash ? (size_t)(hash - cap) : strlen(cap);
		if ((vi = idindex_getn(&vidix, cap, vlen))) {
			q[nq++].vi = *vi;
			continue;
		}
		vids = egrow(vids, &vcap, (size_t)nv + 1, sizeof(*vids));
		vids[nv] = estrfmt("%.*s", (int)vlen, cap);
		idindex_add(&vidix, vids[nv], nv);
		if ((ix = idindex_find(&c->v2f.d.index, vids[nv])) >= 0)
			c->v2f.used[ix] = 1;
		q[nq++].vi = nv++;
	}

	/* check pass: every item read and checked, problems reported; decides what is written.
	 * (The header holds the count, and a NaN can only be found by reading, so the items are
	 * read twice; the second time mostly from the page cache.) */
	vkept = ecalloc((size_t)nv + 1, 1);
	qkept = ecalloc((size_t)nq + 1, 1);
	vq = ecalloc((size_t)nv + 1, sizeof(*vq));
	for (long i = 0; i < nv; i++) {
		if (i + 1 < nv)
			prefetch_video(c, vids[i + 1]);
		vkept[i] = (unsigned char)import_video(c, si, vids[i], NULL, NULL);
		nvk += vkept[i];
		progress(0, "%s: checking videos %ld/%ld, %.0f MB/s", split, i + 1, nv,
		         c->bytes_in / 1e6 / (now_seconds() - c->t0 + 1e-9));
	}
	for (long i = 0; i < nq; i++) {
		if (!vkept[q[i].vi])
			c->orphq[si]++;
		else if ((qkept[i] = (unsigned char)import_query(c, &q[i], vids[q[i].vi], NULL, NULL)))
			vq[q[i].vi]++;
		else
			c->skipq[si]++;
		nqk += qkept[i];
		progress(0, "%s: checking queries %ld/%ld, %.0f MB/s", split, i + 1, nq,
		         c->bytes_in / 1e6 / (now_seconds() - c->t0 + 1e-9));
	}
	for (long i = 0; i < nv; i++)
		c->lonely[si] += vkept[i] && !vq[i];

	/* write pass */
	writing = 1;
	vs = features_open(c, split, "video", "student", nvk, c->feat.D);
	vt = features_open(c, split, "video", "teacher", nvk, c->tvid.dim);
	for (long i = 0; i < nv; i++) {
		if (!vkept[i])
			continue;
		for (long j = i + 1; j < nv; j++)
			if (vkept[j]) {
				prefetch_video(c, vids[j]);
				break;
			}
		import_video(c, si, vids[i], vs, vt);
		progress(0, "%s: writing videos %ld/%ld, %.0f MB out", split, i + 1, nv, bytes_out / 1e6);
	}
	c->nvid[si] = vs->n;
	c->skipv[si] = nv - vs->n;
	out_close(vs);
	out_close(vt);

	qs = features_open(c, split, "query", "student", nqk, c->qrob.dim);
	qt = features_open(c, split, "query", "teacher", nqk, c->qclip.dim);
	for (long i = 0; i < nq; i++) {
		if (qkept[i])
			import_query(c, &q[i], vids[q[i].vi], qs, qt);
		progress(0, "%s: writing queries %ld/%ld, %.0f MB out", split, i + 1, nq, bytes_out / 1e6);
	}
	c->nq[si] = qs->n;
	out_close(qs);
	out_close(qt);
	writing = 0;
	c->done[si] = 1;
	if (c->lonely[si])
		warnf("warning: %s: %ld imported videos have no query left (all of theirs were skipped)",
		      split, c->lonely[si]);

	free(qkept);
	free(vkept);
	free(vq);
	for (long i = 0; i < nv; i++)
		free(vids[i]);
	free(vids);
	free(q);
	idindex_free(&capseen);
	idindex_free(&vidix);
	free(buf);
	free(path);
}

static void
write_corpus(Ctx *c, const char *featname)
{
	char *path = estrfmt("%s/%s", c->outdir, "corpus.mp");
	MpWriter *w = mpw_open(path, 0);
	int ns = 0, np = 0;

	for (int s = 0; s < NSPLITS; s++)
		ns += c->done[s];
	for (int p = 0; p < NPROB; p++)
		np += nprob[p] > 0;
	mpw_header(w, "corpus", 0, 7);
	mpw_kv_str(w, "name", c->coll);
	mpw_kv_str(w, "source", "import");
	mpw_kv_int(w, "seed", 0);
	mpw_key(w, "dims");
	mpw_map(w, 4);
	mpw_kv_int(w, "video_student", c->feat.D);
	mpw_kv_int(w, "video_teacher", c->tvid.dim);
	mpw_kv_int(w, "query_student", c->qrob.dim);
	mpw_kv_int(w, "query_teacher", c->qclip.dim);
	mpw_key(w, "splits");
	mpw_map(w, (size_t)ns);
	for (int s = 0; s < NSPLITS; s++)
		if (c->done[s]) {
			mpw_key(w, split_names[s]);
			mpw_map(w, 2);
			mpw_kv_int(w, "videos", c->nvid[s]);
			mpw_kv_int(w, "queries", c->nq[s]);
		}
	mpw_key(w, "knobs");
	mpw_map(w, 4);
	mpw_kv_str(w, "root", c->root);
	mpw_kv_str(w, "collection", c->coll);
	mpw_kv_str(w, "feature", featname);
	mpw_kv_bool(w, "strict", strict);
	/* what the import changed or left out, so a corpus says it in its own header */
	mpw_key(w, "import");
	mpw_map(w, 5);
	mpw_key(w, "length_matched");
	mpw_map(w, (size_t)ns);
	for (int s = 0; s < NSPLITS; s++)
		if (c->done[s])
			mpw_kv_int(w, split_names[s], c->matched[s]);
	mpw_key(w, "skipped_videos");
	mpw_map(w, (size_t)ns);
	for (int s = 0; s < NSPLITS; s++)
		if (c->done[s])
			mpw_kv_int(w, split_names[s], c->skipv[s]);
	mpw_key(w, "skipped_queries");
	mpw_map(w, (size_t)ns);
	for (int s = 0; s < NSPLITS; s++)
		if (c->done[s])
			mpw_kv_int(w, split_names[s], c->skipq[s] + c->orphq[s]);
	mpw_key(w, "problems");
	mpw_map(w, (size_t)np);
	for (int p = 0; p < NPROB; p++)
		if (nprob[p])
			mpw_kv_int(w, prob_name[p], nprob[p]);
	mpw_kv_str(w, "clip_text_keys", c->clipform_n[1] > c->clipform_n[0] ? "<video_id>#<k>" :
	                                                                     "<video_id>#enc#<k>");
	mpw_record_done(w);
	mpw_close(w);
	keep_path(path);
}

static void
ctx_free(Ctx *c)
{
	h5_close(&c->tvid);
	h5_close(&c->qrob);
	h5_close(&c->qclip);
	bigfile_close(&c->feat);
	v2f_free(&c->v2f);
	free(c->buf);
	free(c->buf2);
	free(c->hbuf);
	free(c->root);
	free(c->coll);
}

/* ---- main ---- */

static const char *
default_feature(const char *coll)
{
	if (strcmp(coll, "tvr") == 0)
		return "i3d_resnet";
	if (strcmp(coll, "activitynet") == 0)
		return "i3d";
	if (strcmp(coll, "charades") == 0)
		return "i3d_rgb_lgi";
	return NULL;
}

static void
help(void)
{
	printf(
"usage: %s -r ROOT/COLLECTION -o DIR [--strict] [--feature NAME] [--collection NAME]\n"
"       [--splits LIST] [--max-warnings N] [-q]\n"
"prvr-import - released PRVR features (MS-SL/DL-DKD layout, HDF5 + feature.bin) to a corpus directory\n"
"\n"
"Reads ROOT/COLLECTION (layout: doc/import.md):\n"
"  TextData/<collection><split>.caption.txt         \"<cap_id> <caption>\" a line\n"
"  TextData/roberta_<collection>_query_feat.hdf5      cap_id -> (n_tokens, D) or (1, n_tokens, D)\n"
"  TextData/clip_ViT_B_32_<collection>_query_feat.hdf5  cap_id or <video_id>#<k> -> (1, 512)\n"
"  FeatureData/<feature>/{feature.bin,shape.txt,id.txt,video2frames.txt}\n"
"  FeatureData/new_clip_vit_32_<collection>_vid_features.hdf5  video_id -> (T, 512)\n"
"Writes DIR/corpus.mp (kind corpus, source \"import\", count 0) and, per split,\n"
"DIR/<split>-video-{student,teacher}.mp (video-features) and DIR/<split>-query-{student,teacher}.mp\n"
"(query-features), raw: not reduced, not normalised. The videos of a split are those its caption\n"
"file names, in order of first appearance; queries in file order. When a video's teacher and\n"
"student lengths differ, the longer is segment-averaged to the shorter (method.md's rule).\n"
"\n"
"  -r, --root DIR          the collection directory (required)\n"
"  -o, --output DIR        output directory, created if missing (required)\n"
"  -s, --strict            exit 1 on the first missing or inconsistent item, writing nothing\n"
"                          (default: skip it with a warning, count it, summarise at the end)\n"
"  -f, --feature NAME      FeatureData/NAME (default: i3d_resnet for tvr, i3d for activitynet,\n"
"                          i3d_rgb_lgi for charades, else the only FeatureData/*/feature.bin)\n"
"  -c, --collection NAME   file-name prefix of the collection (default: basename of ROOT)\n"
"  -S, --splits LIST       comma-separated subset of train,val,test (default: all three;\n"
"                          a split without a caption file is then left out with a note,\n"
"                          while a split given here must exist)\n"
"  -w, --max-warnings N    warnings printed per kind of problem, 0..1000000 (default 10)\n"
"  -q, --quiet             no progress lines\n"
"  -h, --help              this text\n"
"Exit status: 0 when the corpus was written (skipped items are summarised on stderr and in\n"
"corpus.mp), 1 on any fatal problem or on any problem with --strict (then no output is left).\n",
	        argv0);
	exit(0);
}

/* the only FeatureData/<name> holding a feature.bin */
static char *
find_feature(const char *featroot)
{
	char *found = NULL;
	DIR *d = opendir(featroot);
	struct dirent *de;
	int n = 0;

	if (!d)
		die("open %s:", featroot);
	while ((de = readdir(d))) {
		char *fb;
		if (de->d_name[0] == '.')
			continue;
		fb = estrfmt("%s/%s/feature.bin", featroot, de->d_name);
		if (exists(fb)) {
			n++;
			free(found);
			found = estrdup(de->d_name);
		}
		free(fb);
	}
	closedir(d);
	if (n != 1)
		die("%s: %d subdirectories with a feature.bin; name the one to import with --feature",
		    featroot, n);
	return found;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "strict", no_argument, NULL, 's' },
		{ "feature", required_argument, NULL, 'f' },
		{ "collection", required_argument, NULL, 'c' },
		{ "splits", required_argument, NULL, 'S' },
		{ "max-warnings", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	Ctx c = { 0 };
	char *featname = NULL, *featroot, *p;
	int ch, want[NSPLITS] = { 1, 1, 1 };
	long total_skipv = 0, total_skipq = 0, total_orph = 0, total_match = 0, unused = 0, nprobs = 0;
	double dt;

	tool_start(argc, argv, help);
	while ((ch = getopt_long(argc, argv, ":r:o:sf:c:S:w:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': c.root = estrdup(optarg); break;
		case 'o': c.outdir = optarg; break;
		case 's': strict = 1; break;
		case 'f': featname = estrdup(optarg); break;
		case 'c': c.coll = estrdup(optarg); break;
		case 'S': {
			char *l = estrdup(optarg), *t;
			c.splits_given = 1;
			memset(want, 0, sizeof(want));
			for (t = strtok(l, ","); t; t = strtok(NULL, ",")) {
				int k;
				for (k = 0; k < NSPLITS && strcmp(t, split_names[k]); k++)
					;
				if (k == NSPLITS)
					die("--splits: '%s' is not one of train, val, test", t);
				want[k] = 1;
			}
			free(l);
			break;
		}
		case 'w': maxwarn = estrtol(optarg, 0, 1000000); break;
		case 'q': progress_quiet = 1; break;
		case 'h': help(); break;
		default: bad_option(ch);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!c.root || !c.outdir)
		usage_error("-r ROOT/COLLECTION and -o DIR are required");
	c.t0 = now_seconds();

	for (p = c.root + strlen(c.root); p > c.root + 1 && p[-1] == '/'; )
		*--p = '\0';
	if (!c.coll) {
		p = strrchr(c.root, '/');
		c.coll = estrdup(p ? p + 1 : c.root);
	}
	if (!exists(c.root))
		die("%s: no such directory (expected ROOT/<collection>)", c.root);
	if (mkdir(c.outdir, 0777) && errno != EEXIST)
		die("mkdir %s:", c.outdir);
	p = estrfmt("%s/corpus.mp", c.outdir);   /* before any work: the directory takes files */
	check_outputs(NULL, 0, (const char *const[]){ p }, 1);
	free(p);
	featroot = estrfmt("%s/FeatureData", c.root);
	if (!featname) {
		const char *d = default_feature(c.coll);
		featname = d ? estrdup(d) : find_feature(featroot);
	}
	{
		char *fd = estrfmt("%s/%s", featroot, featname);
		if (!exists(fd))
			die("%s: no such directory (student features '%s' of collection '%s'; "
			    "see --feature)", fd, featname, c.coll);
		bigfile_open(&c.feat, fd);
		free(fd);
	}
	{
		char *v = estrfmt("%s/%s/video2frames.txt", featroot, featname);
		v2f_read(&c.v2f, v, &c.feat);
		free(v);
	}
	if (c.feat.ndupids)
		warnf("warning: %s: %ld clip ids appear more than once (expected unique); videos "
		      "using them are skipped", c.feat.idpath, c.feat.ndupids);
	{
		char *t = estrfmt("%s/new_clip_vit_32_%s_vid_features.hdf5", featroot, c.coll);
		char *r = estrfmt("%s/TextData/roberta_%s_query_feat.hdf5", c.root, c.coll);
		char *q = estrfmt("%s/TextData/clip_ViT_B_32_%s_query_feat.hdf5", c.root, c.coll);
		h5_open(&c.tvid, t, "teacher frame features: video_id -> (T, 512)");
		h5_open(&c.qrob, r, "RoBERTa query features: cap_id -> (n_tokens, D)");
		h5_open(&c.qclip, q, "CLIP query features: cap_id -> (1, 512)");
		free(t);
		free(r);
		free(q);
	}
	if (c.tvid.dim != c.qclip.dim)
		die("teacher dimensions differ: %s has %ld-d frames, %s has %ld-d queries (expected "
		    "the same CLIP space)", c.tvid.path, c.tvid.dim, c.qclip.path, c.qclip.dim);

	for (int s = 0; s < NSPLITS; s++)
		if (want[s])
			import_split(&c, s);
	{
		int any = 0;
		for (int s = 0; s < NSPLITS; s++)
			any |= c.done[s];
		if (!any)
			die("%s/TextData: no caption file of any split (expected %s{train,val,test}.caption.txt)",
			    c.root, c.coll);
	}
	write_corpus(&c, featname);

	/* summary */
	dt = now_seconds() - c.t0;
	for (int s = 0; s < NSPLITS; s++) {
		if (!c.done[s])
			continue;
		warnf("%s: %ld videos, %ld queries; length-matched %ld videos; skipped %ld "
		         "videos (and their %ld queries) and %ld more queries", split_names[s], c.nvid[s],
		         c.nq[s], c.matched[s], c.skipv[s], c.orphq[s], c.skipq[s]);
		total_skipv += c.skipv[s];
		total_skipq += c.skipq[s];
		total_orph += c.orphq[s];
		total_match += c.matched[s];
	}
	if (total_match)
		warnf("%ld videos had teacher and student sequences of different lengths: the "
		         "longer was segment-averaged to the length of the shorter", total_match);
	for (long i = 0; i < c.v2f.d.ne; i++)
		unused += !c.v2f.used[i];
	if (unused)
		warnf("note: %ld videos of %s are in no caption file of the imported splits "
		         "(not imported)", unused, c.v2f.path);
	for (int k = 0; k < NPROB; k++)
		if (nprob[k]) {
			warnf("  %ld x %s", nprob[k], prob_name[k]);
			nprobs += nprob[k];
		}
	if (nprobs)
		warnf("warning: %ld problems: skipped %ld videos (and their %ld queries) and %ld queries "
		      "(use --strict to fail instead); see the warnings above", nprobs, total_skipv,
		      total_orph, total_skipq);
	progress(1, "wrote %s: %.0f MB of features in (read twice: check and write pass), %.0f MB out, "
	         "in %.1f s (%.0f MB/s in), peak RSS %ld MiB", c.outdir, c.bytes_in / 1e6,
	         bytes_out / 1e6, dt, c.bytes_in / 1e6 / dt, peak_rss_kib() / 1024);

	for (int i = 0; i < ndone; i++) {
		tmp_unregister(done_paths[i]);
		free(done_paths[i]);
	}
	free(done_paths);
	ctx_free(&c);
	free(featname);
	free(featroot);
	return 0;
}
