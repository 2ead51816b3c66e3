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
 * HDF5 is read through the HDF5 C library; float16 datasets are converted by HDF5 (memory type
 * H5T_NATIVE_FLOAT). When a video's teacher and student sequences differ in length, the longer is
 * segment-averaged (lib/reduce.h, the rule of method.md) to the length of the shorter.
 * Every missing or inconsistent item is reported with the file, the key and what was expected;
 * --strict exits 1 on the first one (and leaves no output), the default skips the item, counts it
 * and prints a summary. Problems of the bundle as a whole (a missing file, feature.bin not the
 * size shape.txt says) are fatal in both modes.
 * Not here: reduction to 128 frames, token truncation, normalisation (feat-reduce does those), and
 * no ground-truth moments (imported corpora have count 0). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "mpio.h"
#include "reduce.h"
#include "util.h"

#define NSPLITS 3
static const char *split_names[NSPLITS] = { "train", "val", "test" };

/* ---- string arena and hash map (string -> long) ---- */

typedef struct Chunk {
	struct Chunk *next;
	size_t used, cap;
	char mem[];
} Chunk;

static Chunk *arena;

static char *
arena_strndup(const char *s, size_t n)
{
	if (!arena || arena->used + n + 1 > arena->cap) {
		size_t cap = MAX((size_t)1 << 20, n + 1);
		Chunk *c = emalloc(sizeof(*c) + cap);
		c->next = arena;
		c->used = 0;
		c->cap = cap;
		arena = c;
	}
	char *p = arena->mem + arena->used;
	memcpy(p, s, n);
	p[n] = '\0';
	arena->used += n + 1;
	return p;
}

typedef struct {
	const char **key;   /* NULL: empty slot; keys are owned by someone else (arena, buffers) */
	long *val;
	size_t cap, n;      /* cap a power of two, n < cap / 2 */
} Map;

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void map_put(Map *m, const char *k, long v);

static void
map_grow(Map *m)
{
	Map old = *m;

	m->cap = old.cap ? old.cap * 2 : 1024;
	m->key = ecalloc(m->cap, sizeof(*m->key));
	m->val = ecalloc(m->cap, sizeof(*m->val));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i])
			map_put(m, old.key[i], old.val[i]);
	free(old.key);
	free(old.val);
}

/* slot of k: its own, or the empty one where it would go */
static size_t
map_slot(const Map *m, const char *k)
{
	size_t i = hash_str(k) & (m->cap - 1);

	while (m->key[i] && strcmp(m->key[i], k) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static long *
map_get(const Map *m, const char *k)
{
	if (!m->cap)
		return NULL;
	size_t i = map_slot(m, k);
	return m->key[i] ? &m->val[i] : NULL;
}

/* insert or overwrite */
static void
map_put(Map *m, const char *k, long v)
{
	if (2 * (m->n + 1) > m->cap)
		map_grow(m);
	size_t i = map_slot(m, k);
	if (!m->key[i]) {
		m->key[i] = k;
		m->n++;
	}
	m->val[i] = v;
}

static void
map_free(Map *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

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

/* ---- text files ---- */

static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static char *
pathcat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = emalloc(n);

	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static char * __attribute__((format(printf, 1, 2)))
strfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = emalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* whole file, NUL-terminated; dies naming the file */
static char *
slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fd < 0)
		die("open %s:", path);
	if (fstat(fd, &st))
		die("stat %s:", path);
	buf = emalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read %s:", path);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	if (strlen(buf) != n)
		die("%s: contains a NUL byte at offset %zu (not a text file?)", path, strlen(buf));
	if (len)
		*len = n;
	return buf;
}

static long
line_of(const char *start, const char *p)
{
	long l = 1;

	for (; start < p; start++)
		l += *start == '\n';
	return l;
}

static long
col_of(const char *start, const char *p)
{
	const char *q = p;

	while (q > start && q[-1] != '\n')
		q--;
	return (long)(p - q) + 1;
}

/* ---- the released feature: feature.bin (mmap), shape.txt, id.txt ---- */

typedef struct {
	char *dir, *binpath, *idpath;
	long N, D;
	const float *x;       /* mmap of feature.bin, N x D little-endian float32 */
	size_t maplen;
	char *idbuf;          /* id.txt, tokenised in place; the map's keys point into it */
	Map id2row;           /* clip id -> row, or -1 - first row when the id repeats */
	const char **rowid;   /* row -> clip id */
	long ndupids;
} Feature;

static void
feature_open(Feature *f, const char *featdir)
{
	char *shapepath = pathcat(featdir, "shape.txt"), *s, *end, *tok;
	long i = 0;
	struct stat st;
	int fd;

	f->dir = estrdup(featdir);
	f->binpath = pathcat(featdir, "feature.bin");
	f->idpath = pathcat(featdir, "id.txt");
	s = slurp(shapepath, NULL);
	errno = 0;
	f->N = strtol(s, &end, 10);
	f->D = strtol(end, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno || *end || f->N < 1 || f->D < 1 || f->N > INT32_MAX || f->D > 1 << 20)
		die("%s: expected \"N D\" (two positive integers: rows and dimension), found \"%.40s\"",
		    shapepath, s);
	free(s);

	fd = open(f->binpath, O_RDONLY);
	if (fd < 0)
		die("open %s:", f->binpath);
	if (fstat(fd, &st))
		die("stat %s:", f->binpath);
	f->maplen = (size_t)f->N * (size_t)f->D * sizeof(float);
	if ((size_t)st.st_size != f->maplen)
		die("%s: %lld bytes, expected %zu (= %ld x %ld float32 from %s)", f->binpath,
		    (long long)st.st_size, f->maplen, f->N, f->D, shapepath);
	f->x = mmap(NULL, f->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->x == MAP_FAILED)
		die("mmap %s:", f->binpath);
	close(fd);
	free(shapepath);

	f->idbuf = slurp(f->idpath, NULL);
	f->rowid = ecalloc((size_t)f->N, sizeof(*f->rowid));
	for (tok = strtok(f->idbuf, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n"), i++) {
		long *v;
		if (i >= f->N)
			continue;   /* counted below, reported as a count mismatch */
		f->rowid[i] = tok;
		if ((v = map_get(&f->id2row, tok))) {
			if (*v >= 0) {
				*v = -1 - *v;
				f->ndupids++;
			}
			continue;
		}
		map_put(&f->id2row, tok, i);
	}
	if (i != f->N)
		die("%s: %ld ids, expected %ld (one per row of feature.bin, from shape.txt)",
		    f->idpath, i, f->N);
}

/* ---- video2frames.txt: a Python dict literal {video_id: [clip ids]}, parsed, never evaluated ---- */

typedef struct {
	long off, n;          /* rows in v2f rows[off .. off + n) */
	const char *badclip;  /* first clip id not in id.txt (row -1) */
	const char *dupclip;  /* first clip id that repeats in id.txt */
} V2fEntry;

typedef struct {
	char *path, *buf;
	Map vid;              /* video id -> entry index; keys in the arena */
	V2fEntry *e;
	long ne, cap;
	int32_t *rows;
	long nrows, rcap;
	Map broken;           /* video ids whose entry failed to parse -> line */
	long nerr;
} V2f;

typedef struct {
	const char *s, *p;
	const char *err;      /* what was expected, NULL when fine */
	const char *errp;
} Lex;

static void
skipws(Lex *L)
{
	while (*L->p == ' ' || *L->p == '\t' || *L->p == '\n' || *L->p == '\r')
		L->p++;
}

static int
lexfail(Lex *L, const char *expected)
{
	if (!L->err) {
		L->err = expected;
		L->errp = L->p;
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* a letter of a string prefix; not the terminating NUL, which strchr would match */
static int
is_prefix(int c)
{
	return c && strchr("uUbBrR", c);
}

/* a Python str literal with an optional u/b/r prefix; *out in the arena */
static int
lex_str(Lex *L, char **out)
{
	static char *tmp;
	static size_t tcap;
	size_t n = 0;
	int raw = 0, q;

	while (is_prefix(L->p[0]) && (L->p[1] == '\'' || L->p[1] == '"' ||
	       (is_prefix(L->p[1]) && (L->p[2] == '\'' || L->p[2] == '"')))) {
		raw |= *L->p == 'r' || *L->p == 'R';
		L->p++;
	}
	if (*L->p != '\'' && *L->p != '"')
		return lexfail(L, "a quoted string");
	q = *L->p++;
	for (;;) {
		int c = (unsigned char)*L->p;
		if (n + 4 >= tcap) {
			tcap = tcap ? 2 * tcap : 256;
			tmp = erealloc(tmp, tcap);
		}
		if (c == '\0' || c == '\n')
			return lexfail(L, "the closing quote of a string");
		L->p++;
		if (c == q)
			break;
		if (c != '\\' || raw) {
			tmp[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*L->p++;
		switch (c) {
		case '\\': case '\'': case '"': tmp[n++] = (char)c; break;
		case 'n': tmp[n++] = '\n'; break;
		case 't': tmp[n++] = '\t'; break;
		case 'r': tmp[n++] = '\r'; break;
		case 'x':
			if (hexval(L->p[0]) < 0 || hexval(L->p[1]) < 0 || hexval(L->p[0]) * 16 + hexval(L->p[1]) == 0) {
				L->p -= 2;
				return lexfail(L, "a \\xHH escape of a non-zero byte");
			}
			tmp[n++] = (char)(hexval(L->p[0]) * 16 + hexval(L->p[1]));
			L->p += 2;
			break;
		default:
			L->p -= 2;
			return lexfail(L, "a supported escape (\\\\ \\' \\\" \\n \\t \\r \\xHH)");
		}
	}
	*out = arena_strndup(tmp, n);
	return 1;
}

/* value list of one entry: [ 'a', 'b', ... ] or ( ... ); rows appended to v */
static int
lex_list(Lex *L, V2f *v, const Feature *f, V2fEntry *e)
{
	int close;
	char *clip;

	if (*L->p != '[' && *L->p != '(')
		return lexfail(L, "'[' starting the list of clip ids");
	close = *L->p++ == '[' ? ']' : ')';
	skipws(L);
	while (*L->p != close) {
		long *row;
		if (!lex_str(L, &clip))
			return 0;
		if (v->nrows == v->rcap) {
			v->rcap = v->rcap ? 2 * v->rcap : 1 << 16;
			v->rows = erealloc(v->rows, (size_t)v->rcap * sizeof(*v->rows));
		}
		row = map_get(&f->id2row, clip);
		if (!row && !e->badclip)
			e->badclip = clip;
		if (row && *row < 0 && !e->dupclip)
			e->dupclip = clip;
		v->rows[v->nrows++] = row ? (int32_t)(*row >= 0 ? *row : -1 - *row) : -1;
		e->n++;
		skipws(L);
		if (*L->p == ',') {
			L->p++;
			skipws(L);
		} else if (*L->p != close)
			return lexfail(L, close == ']' ? "',' or ']' in a list of clip ids" :
			                                 "',' or ')' in a tuple of clip ids");
	}
	L->p++;
	return 1;
}

static void
v2f_parse(V2f *v, const char *path, const Feature *f)
{
	Lex L = { 0 };
	int multiline;

	v->path = estrdup(path);
	v->buf = slurp(path, NULL);
	L.s = L.p = v->buf;
	multiline = line_of(v->buf, v->buf + strlen(v->buf)) > 2;
	skipws(&L);
	if (*L.p != '{')
		die("%s:%ld:%ld: expected '{' starting a Python dict literal {video_id: [clip ids]}",
		    path, line_of(L.s, L.p), col_of(L.s, L.p));
	L.p++;
	for (;;) {
		char *key = NULL;
		const char *start;
		V2fEntry e = { 0 };
		long save_nrows = v->nrows;

		skipws(&L);
		if (*L.p == '}')
			break;
		if (*L.p == '\0') {
			lexfail(&L, "'}' closing the dict");
			goto bad;
		}
		start = L.p;
		if (!lex_str(&L, &key))
			goto bad;
		skipws(&L);
		if (*L.p != ':') {
			lexfail(&L, "':' after the video id");
			goto bad;
		}
		L.p++;
		skipws(&L);
		e.off = v->nrows;
		if (!lex_list(&L, v, f, &e))
			goto bad;
		skipws(&L);
		if (*L.p != ',' && *L.p != '}') {
			lexfail(&L, "',' or '}' after an entry");
			goto bad;
		}
		if (*L.p == ',')
			L.p++;
		if (map_get(&v->vid, key)) {
			problem(P_V2F, "the repeated entry", "%s:%ld: video id '%s' appears twice in the dict "
			        "(expected unique keys)", path, line_of(L.s, start), key);
			continue;
		}
		if (v->ne == v->cap) {
			v->cap = v->cap ? 2 * v->cap : 1 << 12;
			v->e = erealloc(v->e, (size_t)v->cap * sizeof(*v->e));
		}
		v->e[v->ne] = e;
		map_put(&v->vid, key, v->ne++);
		continue;
bad:
		v->nerr++;
		v->nrows = save_nrows;
		{
			char found[16];
			const char *skipped = "this entry";
			if (*L.errp == '\0')
				snprintf(found, sizeof(found), "end of file");
			else if (*L.errp == '\n')
				snprintf(found, sizeof(found), "end of line");
			else
				snprintf(found, sizeof(found), "'%c'", *L.errp);
			if (key) {
				map_put(&v->broken, key, line_of(L.s, L.errp));
				skipped = strfmt("the entry of video '%s'", key);
			}
			problem(P_V2F, skipped, "%s:%ld:%ld: expected %s, found %s", path,
			        line_of(L.s, L.errp), col_of(L.s, L.errp), L.err, found);
			if (key)
				free((char *)skipped);
		}
		/* resynchronise after the end of this entry's list (or of the line, when entries
		 * are one a line), then continue with the next entry */
		L.p = L.errp;
		if (*L.p == '\0')
			break;
		{
			const char *p0 = L.p;
			while (*L.p && *L.p != ']' && *L.p != ')' && *L.p != '}' && !(multiline && *L.p == '\n'))
				L.p++;
			if (*L.p == ']' || *L.p == ')')
				L.p++;
			skipws(&L);
			if (*L.p == ',')
				L.p++;
			if (L.p == p0 && *L.p != '}')
				L.p++;
		}
		L.err = NULL;
	}
	if (*L.p == '}') {       /* else the file ended early, reported above */
		L.p++;
		skipws(&L);
		if (*L.p)
			problem(P_V2F, "the rest of the file", "%s:%ld:%ld: expected end of file after '}'",
			        path, line_of(L.s, L.p), col_of(L.s, L.p));
	}
	free(v->buf);
	v->buf = NULL;
}

/* ---- HDF5 ---- */

typedef struct {
	char *path;
	hid_t f;
	long dim;             /* last-axis length most datasets of the file have */
	int fd;               /* of the sec2 driver, for read-ahead hints; -1 unknown */
	haddr_t ra_end;       /* end of the range last asked to be read ahead */
} H5;

enum { H5_OK, H5_MISSING, H5_NOTDS, H5_NOTFLOAT, H5_BADRANK, H5_READERR, H5_TOOBIG };

static void
h5_open(H5 *h, const char *path, const char *what)
{
	h->path = estrdup(path);
	if (!exists(path))
		die("%s: no such file (%s)", path, what);
	h->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (h->f < 0)
		die("%s: cannot open as HDF5 (%s)", path, what);
	h->fd = -1;
	{
		void *hp = NULL;
		if (H5Fget_vfd_handle(h->f, H5P_DEFAULT, &hp) >= 0 && hp)
			h->fd = *(int *)hp;
	}
}

/* datasets are usually stored in the order they are read (the order the release wrote them):
 * ask the kernel to read ahead of the one at off, so small reads do not each wait for the disk */
#define H5_RA (16 << 20)
static void
h5_readahead(H5 *h, hid_t ds)
{
	haddr_t off = H5Dget_offset(ds);

	if (h->fd < 0 || off == HADDR_UNDEF)
		return;
	if (off + H5_RA / 2 > h->ra_end || off + H5_RA < h->ra_end) {
		posix_fadvise(h->fd, (off_t)off, H5_RA, POSIX_FADV_WILLNEED);
		h->ra_end = off + H5_RA;
	}
}

typedef struct {
	long dims[8];
	int n;
} Probe;

static herr_t
probe_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
	Probe *p = data;
	hid_t ds, sp;
	hsize_t d[8];
	int r;

	if ((ds = H5Dopen2(g, name, H5P_DEFAULT)) < 0)
		return 0;
	sp = H5Dget_space(ds);
	r = H5Sget_simple_extent_ndims(sp);
	if (r >= 1 && r <= 8 && H5Sget_simple_extent_dims(sp, d, NULL) == r)
		p->dims[p->n++] = (long)d[r - 1];
	H5Sclose(sp);
	H5Dclose(ds);
	return p->n == 8;
}

/* the last-axis length of most of the first 8 datasets at the root */
static void
h5_probe_dim(H5 *h)
{
	Probe p = { 0 };
	hsize_t idx = 0;
	int best = 0;

	H5Literate(h->f, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, probe_cb, &p);
	if (p.n == 0)
		die("%s: no dataset at the root (expected one dataset per key, h5py style)", h->path);
	for (int i = 0; i < p.n; i++) {
		int c = 0;
		for (int j = 0; j < p.n; j++)
			c += p.dims[j] == p.dims[i];
		if (c > best) {
			best = c;
			h->dim = p.dims[i];
		}
	}
	if (h->dim < 1)
		die("%s: most datasets at the root have a last axis of length 0 (expected feature "
		    "vectors of length >= 1)", h->path);
}

static void
fmt_dims(char *buf, size_t size, const hsize_t *d, int r)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n, "(");
	for (int i = 0; i < r && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
	if (n < size)
		snprintf(buf + n, size - n, "%s)", r == 1 ? "," : "");
}

/* read dataset key as float32 (HDF5 converts float16/float64); shape in dims[0..*rank) */
static int
h5_read(H5 *h, const char *key, float **buf, size_t *cap, hsize_t *dims, int *rank)
{
	hid_t ds, sp, ty;
	size_t n = 1;
	int st = H5_OK;

	if ((ds = H5Dopen2(h->f, key, H5P_DEFAULT)) < 0)
		return H5Lexists(h->f, key, H5P_DEFAULT) > 0 ? H5_NOTDS : H5_MISSING;
	h5_readahead(h, ds);
	ty = H5Dget_type(ds);
	sp = H5Dget_space(ds);
	*rank = H5Sget_simple_extent_ndims(sp);
	if (H5Tget_class(ty) != H5T_FLOAT)
		st = H5_NOTFLOAT;
	else if (*rank < 1 || *rank > 4 || H5Sget_simple_extent_dims(sp, dims, NULL) != *rank)
		st = H5_BADRANK;
	if (st == H5_OK) {
		/* the claimed shape is checked against the bytes the file holds for the dataset before
		 * anything is allocated: a compressed dataset may expand, by at most 64x past 16 MiB */
		size_t tsize = H5Tget_size(ty), held = (size_t)H5Dget_storage_size(ds);
		for (int i = 0; i < *rank && st == H5_OK; i++)
			if (dims[i] && n > SIZE_MAX / sizeof(float) / (size_t)dims[i])
				st = H5_TOOBIG;
			else
				n *= (size_t)dims[i];
		if (st == H5_OK && tsize && n / 64 > MAX(held, (size_t)16 << 20) / tsize)
			st = H5_TOOBIG;
	}
	if (st == H5_OK) {
		if (n > *cap) {
			*cap = MAX(n, 2 * *cap);
			free(*buf);
			*buf = efloats(*cap);
		}
		if (n && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0)
			st = H5_READERR;
	}
	H5Tclose(ty);
	H5Sclose(sp);
	H5Dclose(ds);
	return st;
}

/* leading axes of length 1 are dropped while more than want remain; rows = dims[0] for rank 2 */
static int
squeeze(hsize_t *dims, int rank, int want)
{
	while (rank > want && dims[0] == 1) {
		memmove(dims, dims + 1, (size_t)(rank - 1) * sizeof(*dims));
		rank--;
	}
	return rank;
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

	o->path = pathcat(dir, name);
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
	Feature feat;
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
	Map used;             /* video ids in some caption file (keys in the arena) */
} Ctx;

typedef struct {
	char *cap;            /* query id */
	long vi;              /* index into the split's videos */
	long line;
} Query;

static void
growf(float **b, size_t *cap, size_t n)
{
	if (n > *cap) {
		*cap = MAX(n, 2 * *cap);
		free(*b);
		*b = efloats(*cap);
	}
}

/* release the pages of rows [r0, r1) of feature.bin from this process (page cache keeps them) */
static void
drop_rows(const Feature *f, long r0, long r1)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)(f->x + (size_t)r0 * f->D), b = (uintptr_t)(f->x + (size_t)r1 * f->D);

	a = a / pg * pg;
	b = (b + pg - 1) / pg * pg;
	madvise((void *)a, b - a, MADV_DONTNEED);
}

/* rows of a video are not needed again: keep RSS at one video, not the whole file */
static void
drop_video_rows(const Feature *f, const int32_t *rows, long n)
{
	for (long i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && rows[j] == rows[j - 1] + 1; j++)
			;
		drop_rows(f, rows[i], rows[j - 1] + 1);
	}
}

/* start reading the rows of video vid from disk while the current one is processed */
static void
prefetch_video(const Ctx *c, const char *vid)
{
	const long *ix = map_get(&c->v2f.vid, vid);
	const V2fEntry *e;
	long lo = LONG_MAX, hi = -1, pg = sysconf(_SC_PAGESIZE);
	uintptr_t a, b;

	if (!ix)
		return;
	e = &c->v2f.e[*ix];
	for (long i = 0; i < e->n; i++) {
		long r = c->v2f.rows[e->off + i];
		if (r < 0)
			return;
		lo = MIN(lo, r);
		hi = MAX(hi, r);
	}
	if (hi < 0 || hi - lo + 1 > 4 * e->n)
		return;   /* scattered rows: let the page faults read them */
	a = (uintptr_t)(c->feat.x + (size_t)lo * c->feat.D) / pg * pg;
	b = (uintptr_t)(c->feat.x + (size_t)(hi + 1) * c->feat.D);
	madvise((void *)a, b - a, MADV_WILLNEED);
}

static const char *
h5_why(int st)
{
	switch (st) {
	case H5_NOTDS: return "is not a dataset";
	case H5_NOTFLOAT: return "is not floating point";
	case H5_BADRANK: return "has an unsupported rank";
	case H5_TOOBIG: return "claims more elements than the file stores for it";
	default: return "could not be read";
	}
}

/* one video: checks (reading all its data), then, when os and ot are given, length matching and
 * the two items. 1 fine (written), 0 skipped */
static int
import_video(Ctx *c, int si, const char *vid, Out *os, Out *ot)
{
	const Feature *f = &c->feat;
	const V2fEntry *e;
	long *ix = map_get(&c->v2f.vid, vid), n, T, bad;
	const int32_t *rows;
	const float *xs, *xt;
	hsize_t dims[4];
	char sh[96];
	int rank, st, contiguous = 1;

	if (!ix) {
		long *bl = map_get(&c->v2f.broken, vid);
		char *where = bl ? strfmt(" (its entry, line %ld, does not parse)", *bl) : estrdup("");
		problem(P_NOVIDEO, "the video and its queries", "%s: no entry for video '%s'%s "
		        "(expected '%s': [clip ids])", c->v2f.path, vid, where, vid);
		free(where);
		return 0;
	}
	e = &c->v2f.e[*ix];
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
		rank = squeeze(dims, rank, 2);
	if (st != H5_OK || rank != 2 || (long)dims[1] != c->tvid.dim || dims[0] < 1) {
		if (st == H5_OK) {
			fmt_dims(sh, sizeof(sh), dims, rank);
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
		growf(&c->buf, &c->bufcap, (size_t)n * f->D);
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
			growf(&c->buf2, &c->buf2cap, (size_t)T * f->D);
			reduce_segments(c->buf2, xs, n, T, f->D);
			xs = c->buf2;
			n = T;
		} else {
			growf(&c->buf2, &c->buf2cap, (size_t)n * c->tvid.dim);
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
	return strfmt("%s#%s", vid, k + 5);
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
		rank = squeeze(dims, rank, 2);
	if (st != H5_OK || rank != 2 || (long)dims[1] != D || dims[0] < 1) {
		if (st == H5_OK) {
			fmt_dims(sh, sizeof(sh), dims, rank);
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
	growf(&c->buf, &c->bufcap, (size_t)ntok * D);
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
		rank = squeeze(dims, rank, 1);
	if (st != H5_OK || rank != 1 || (long)dims[0] != Dc) {
		if (st == H5_OK) {
			fmt_dims(sh, sizeof(sh), dims, rank);
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

static void
feature_header(Out *o, const char *role, long dim, const char *split)
{
	mpw_kv_str(o->w, "role", role);
	mpw_kv_int(o->w, "dim", dim);
	mpw_kv_str(o->w, "split", split);
	mpw_kv_bool(o->w, "reduced", 0);
	mpw_kv_bool(o->w, "normalized", 0);
	mpw_record_done(o->w);
}

static void
import_split(Ctx *c, int si)
{
	const char *split = split_names[si];
	char *path = strfmt("%s/TextData/%s%s.caption.txt", c->root, c->coll, split), *buf, *line, *next;
	char name[64];
	Map capseen = { 0 }, vidix = { 0 };
	Query *q = NULL;
	char **vids = NULL;
	long nq = 0, qcap = 0, nv = 0, vcap = 0, lineno = 0;
	unsigned char *vkept, *qkept;
	long *vq, nvk = 0, nqk = 0;
	Out *vs, *vt, *qs, *qt;

	if (!exists(path)) {
		if (c->splits_given)
			die("%s: no such file (caption file of split %s, asked for by --splits)", path, split);
		warnf("note: no %s: split %s not imported", path, split);
		free(path);
		return;
	}
	buf = slurp(path, NULL);
	for (line = buf; line && *line; line = next) {
		char *sp, *cap, *vid, *hash;
		long *prev;
		size_t len;

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
		if ((prev = map_get(&capseen, cap))) {
			c->skipq[si]++;
			problem(P_DUPCAP, "the repeated query", "%s:%ld: query id '%s' already on line %ld "
			        "(expected unique query ids)", path, lineno, cap, *prev);
			continue;
		}
		map_put(&capseen, cap, lineno);
		vid = arena_strndup(cap, hash ? (size_t)(hash - cap) : strlen(cap));
		if (nq == qcap) {
			qcap = qcap ? 2 * qcap : 4096;
			q = erealloc(q, (size_t)qcap * sizeof(*q));
		}
		q[nq].cap = cap;
		q[nq].line = lineno;
		{
			long *vi = map_get(&vidix, vid);
			if (!vi) {
				if (nv == vcap) {
					vcap = vcap ? 2 * vcap : 1024;
					vids = erealloc(vids, (size_t)vcap * sizeof(*vids));
				}
				vids[nv] = vid;
				map_put(&vidix, vid, nv);
				map_put(&c->used, vid, 1);
				q[nq].vi = nv++;
			} else
				q[nq].vi = *vi;
		}
		nq++;
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
	snprintf(name, sizeof(name), "%s-video-student.mp", split);
	vs = out_open(c->outdir, name, "video-features", nvk);
	feature_header(vs, "student", c->feat.D, split);
	snprintf(name, sizeof(name), "%s-video-teacher.mp", split);
	vt = out_open(c->outdir, name, "video-features", nvk);
	feature_header(vt, "teacher", c->tvid.dim, split);
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

	snprintf(name, sizeof(name), "%s-query-student.mp", split);
	qs = out_open(c->outdir, name, "query-features", nqk);
	feature_header(qs, "student", c->qrob.dim, split);
	snprintf(name, sizeof(name), "%s-query-teacher.mp", split);
	qt = out_open(c->outdir, name, "query-features", nqk);
	feature_header(qt, "teacher", c->qclip.dim, split);
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
	free(vids);
	free(q);
	map_free(&capseen);
	map_free(&vidix);
	free(buf);
	free(path);
}

static void
write_corpus(Ctx *c, const char *featname)
{
	char *path = pathcat(c->outdir, "corpus.mp");
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
	H5 *h[3] = { &c->tvid, &c->qrob, &c->qclip };

	for (int i = 0; i < 3; i++) {
		H5Fclose(h[i]->f);
		free(h[i]->path);
	}
	munmap((void *)c->feat.x, c->feat.maplen);
	free(c->feat.dir);
	free(c->feat.binpath);
	free(c->feat.idpath);
	free(c->feat.idbuf);
	free(c->feat.rowid);
	map_free(&c->feat.id2row);
	free(c->v2f.path);
	free(c->v2f.e);
	free(c->v2f.rows);
	map_free(&c->v2f.vid);
	map_free(&c->v2f.broken);
	map_free(&c->used);
	free(c->buf);
	free(c->buf2);
	free(c->hbuf);
	free(c->root);
	free(c->coll);
	while (arena) {
		Chunk *n = arena->next;
		free(arena);
		arena = n;
	}
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
		fb = strfmt("%s/%s/feature.bin", featroot, de->d_name);
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
	union { uint32_t u; unsigned char b[4]; } endian = { 1 };

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
	if (endian.b[0] != 1)
		die("feature.bin is little-endian float32; this big-endian host is not supported");
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* errors are reported here, per key */
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
	p = pathcat(c.outdir, "corpus.mp");   /* before any work: the directory takes files */
	check_outputs(NULL, 0, (const char *const[]){ p }, 1);
	free(p);
	featroot = strfmt("%s/FeatureData", c.root);
	if (!featname) {
		const char *d = default_feature(c.coll);
		featname = d ? estrdup(d) : find_feature(featroot);
	}
	{
		char *fd = strfmt("%s/%s", featroot, featname);
		if (!exists(fd))
			die("%s: no such directory (student features '%s' of collection '%s'; "
			    "see --feature)", fd, featname, c.coll);
		feature_open(&c.feat, fd);
		free(fd);
	}
	{
		char *v = strfmt("%s/%s/video2frames.txt", featroot, featname);
		v2f_parse(&c.v2f, v, &c.feat);
		free(v);
	}
	if (c.feat.ndupids)
		warnf("warning: %s: %ld clip ids appear more than once (expected unique); videos "
		      "using them are skipped", c.feat.idpath, c.feat.ndupids);
	{
		char *t = strfmt("%s/new_clip_vit_32_%s_vid_features.hdf5", featroot, c.coll);
		char *r = strfmt("%s/TextData/roberta_%s_query_feat.hdf5", c.root, c.coll);
		char *q = strfmt("%s/TextData/clip_ViT_B_32_%s_query_feat.hdf5", c.root, c.coll);
		h5_open(&c.tvid, t, "teacher frame features: video_id -> (T, 512)");
		h5_open(&c.qrob, r, "RoBERTa query features: cap_id -> (n_tokens, D)");
		h5_open(&c.qclip, q, "CLIP query features: cap_id -> (1, 512)");
		free(t);
		free(r);
		free(q);
	}
	h5_probe_dim(&c.tvid);
	h5_probe_dim(&c.qrob);
	h5_probe_dim(&c.qclip);
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
	for (size_t i = 0; i < c.v2f.vid.cap; i++)
		if (c.v2f.vid.key[i] && !map_get(&c.used, c.v2f.vid.key[i]))
			unused++;
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
