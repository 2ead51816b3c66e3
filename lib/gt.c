/* gt: reader of multi-positive relevance files (JSON lines); see gt.h. A recursive-descent
 * parser over one line at a time (RFC 8259 grammar), keeping only the two keys it needs. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt.h"
#include "util.h"

#define MAXDEPTH 64          /* nesting of skipped values */
#define MAXQUERIES (1 << 30)

typedef struct {
	const char *path;
	long line;
	const unsigned char *p, *s, *end;   /* cursor, line start, line end */
	char *buf;                          /* the string being decoded */
	size_t len, cap;
} Parser;

__attribute__((format(printf, 2, 3))) _Noreturn static void
perr(const Parser *ps, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die("%s:%ld:%ld: %s", ps->path, ps->line, (long)(ps->p - ps->s) + 1, msg);
}

static void
ws(Parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static void
expect(Parser *ps, char c)
{
	ws(ps);
	if (ps->p >= ps->end)
		perr(ps, "expected '%c', found the end of the line", c);
	if (*ps->p != c)
		perr(ps, "expected '%c'", c);
	ps->p++;
}

static void
put(Parser *ps, unsigned char c)
{
	ps->buf = egrow(ps->buf, &ps->cap, ps->len + 2, 1);
	ps->buf[ps->len++] = (char)c;
	ps->buf[ps->len] = 0;
}

/* code point u (valid, not a surrogate) as UTF-8 */
static void
put_utf8(Parser *ps, unsigned long u)
{
	if (u < 0x80) {
		put(ps, (unsigned char)u);
	} else if (u < 0x800) {
		put(ps, 0xC0 | u >> 6);
		put(ps, 0x80 | (u & 0x3F));
	} else if (u < 0x10000) {
		put(ps, 0xE0 | u >> 12);
		put(ps, 0x80 | (u >> 6 & 0x3F));
		put(ps, 0x80 | (u & 0x3F));
	} else {
		put(ps, 0xF0 | u >> 18);
		put(ps, 0x80 | (u >> 12 & 0x3F));
		put(ps, 0x80 | (u >> 6 & 0x3F));
		put(ps, 0x80 | (u & 0x3F));
	}
}

static unsigned long
hex4(Parser *ps)
{
	unsigned long u = 0;

	for (int i = 0; i < 4; i++, ps->p++) {
		int c = ps->p < ps->end ? *ps->p : -1, d;
		if (c >= '0' && c <= '9') d = c - '0';
		else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
		else perr(ps, "\\u: expected 4 hex digits");
		u = u << 4 | (unsigned long)d;
	}
	return u;
}

/* length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 (RFC 3629 table 3-7) */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	int n;

	if (c >= 0xC2 && c <= 0xDF) n = 2;
	else if (c >= 0xE0 && c <= 0xEF) n = 3;
	else if (c >= 0xF0 && c <= 0xF4) n = 4;
	else return 0;
	if (c == 0xE0) lo = 0xA0;
	if (c == 0xED) hi = 0x9F;     /* no surrogates */
	if (c == 0xF0) lo = 0x90;
	if (c == 0xF4) hi = 0x8F;     /* <= U+10FFFF */
	if (end - p < n || p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* a string at the cursor, decoded into ps->buf; keep: ids may not hold NUL */
static void
string(Parser *ps, int keep)
{
	ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		perr(ps, "expected a string");
	ps->p++;
	ps->len = 0;
	put(ps, 0);                /* so that "" is an allocated, terminated buffer */
	ps->len = 0;
	for (;;) {
		unsigned char c;
		if (ps->p >= ps->end)
			perr(ps, "unterminated string");
		c = *ps->p;
		if (c == '"') {
			ps->p++;
			return;
		}
		if (c < 0x20)
			perr(ps, "control character 0x%02x in a string (escape it)", c);
		if (c >= 0x80) {
			int n = utf8_len(ps->p, ps->end);
			if (!n)
				perr(ps, "invalid UTF-8");
			for (int i = 0; i < n; i++)
				put(ps, *ps->p++);
			continue;
		}
		ps->p++;
		if (c != '\\') {
			put(ps, c);
			continue;
		}
		if (ps->p >= ps->end)
			perr(ps, "unterminated string");
		switch (c = *ps->p++) {
		case '"': case '\\': case '/': put(ps, c); break;
		case 'b': put(ps, '\b'); break;
		case 'f': put(ps, '\f'); break;
		case 'n': put(ps, '\n'); break;
		case 'r': put(ps, '\r'); break;
		case 't': put(ps, '\t'); break;
		case 'u': {
			unsigned long u = hex4(ps);
			if (u >= 0xDC00 && u <= 0xDFFF)
				perr(ps, "\\u%04lX: a low surrogate without a high one", u);
			if (u >= 0xD800 && u <= 0xDBFF) {
				unsigned long l;
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
					perr(ps, "\\u%04lX: a high surrogate without a low one", u);
				ps->p += 2;
				l = hex4(ps);
				if (l < 0xDC00 || l > 0xDFFF)
					perr(ps, "\\u%04lX\\u%04lX: not a surrogate pair", u, l);
				u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
			}
			if (u == 0 && keep)
				perr(ps, "\\u0000 in an id");
			put_utf8(ps, u);
			break;
		}
		default:
			ps->p--;
			perr(ps, "invalid escape '\\%c'", c);
		}
	}
}

static void value(Parser *ps, int depth);

static void
literal(Parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		perr(ps, "expected a JSON value");
	ps->p += n;
}

static int
digits(Parser *ps)
{
	int n = 0;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++, n++;
	return n;
}

static void
number(Parser *ps)
{
	if (*ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (!digits(ps))
		perr(ps, "malformed number");
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!digits(ps))
			perr(ps, "malformed number");
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!digits(ps))
			perr(ps, "malformed number");
	}
}

/* elements of an array or members of an object, each parsed by value() and skipped */
static void
skip_container(Parser *ps, int depth, char close, int object)
{
	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return;
	}
	for (;;) {
		if (object) {
			string(ps, 0);
			expect(ps, ':');
		}
		value(ps, depth + 1);
		ws(ps);
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return;
		}
		expect(ps, ',');
	}
}

/* any JSON value, not kept */
static void
value(Parser *ps, int depth)
{
	ws(ps);
	if (depth > MAXDEPTH)
		perr(ps, "nested deeper than %d", MAXDEPTH);
	if (ps->p >= ps->end)
		perr(ps, "expected a JSON value, found the end of the line");
	switch (*ps->p) {
	case '{': skip_container(ps, depth, '}', 1); break;
	case '[': skip_container(ps, depth, ']', 0); break;
	case '"': string(ps, 0); break;
	case 't': literal(ps, "true"); break;
	case 'f': literal(ps, "false"); break;
	case 'n': literal(ps, "null"); break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			number(ps);
		else
			perr(ps, "expected a JSON value");
	}
}

/* ---- the file ---- */

typedef struct {
	char **v;
	size_t n, cap;
} StrVec;

static void
push(StrVec *s, char *x)
{
	s->v = egrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = x;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the string just decoded is k (a key may hold \u0000, so compare lengths too) */
static int
is_key(const Parser *ps, const char *k)
{
	return ps->len == strlen(k) && memcmp(ps->buf, k, ps->len) == 0;
}

/* a non-empty string value of key, decoded and copied; empty says what an empty one is */
static char *
id_value(Parser *ps, const char *key, const char *empty)
{
	ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		perr(ps, "'%s': expected a string", key);
	string(ps, 1);
	if (ps->len == 0)
		perr(ps, "'%s': %s", key, empty);
	return estrdup(ps->buf);
}

/* one line {"query_id": ..., "gt_video_ids": [...], ...}: appends the query and its videos */
static void
parse_line(Parser *ps, StrVec *q, StrVec *v, GtSet *g, size_t cap[2])
{
	char *qid = NULL;
	size_t v0 = v->n;
	int have_vids = 0;

	expect(ps, '{');
	ws(ps);
	if (ps->p < ps->end && *ps->p == '}')
		perr(ps, "empty object: expected keys 'query_id' and 'gt_video_ids'");
	for (;;) {
		string(ps, 0);
		if (is_key(ps, "query_id")) {
			if (qid)
				perr(ps, "key 'query_id' twice");
			expect(ps, ':');
			qid = id_value(ps, "query_id", "empty");
		} else if (is_key(ps, "gt_video_ids")) {
			if (have_vids)
				perr(ps, "key 'gt_video_ids' twice");
			have_vids = 1;
			expect(ps, ':');
			expect(ps, '[');
			ws(ps);
			if (ps->p < ps->end && *ps->p == ']')
				perr(ps, "'gt_video_ids': empty (a query needs a relevant video)");
			for (;;) {
				push(v, id_value(ps, "gt_video_ids", "an empty id"));
				ws(ps);
				if (ps->p < ps->end && *ps->p == ']') {
					ps->p++;
					break;
				}
				expect(ps, ',');
			}
		} else {
			expect(ps, ':');
			value(ps, 1);
		}
		ws(ps);
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		expect(ps, ',');
	}
	ws(ps);
	if (ps->p < ps->end)
		perr(ps, "text after the object");
	/* a video listed twice is one relevant video: sort the query's ids, drop repeats */
	qsort(v->v + v0, v->n - v0, sizeof(*v->v), cmp_str);
	size_t j = v0;
	for (size_t i = v0; i < v->n; i++)
		if (j > v0 && strcmp(v->v[i], v->v[j - 1]) == 0)
			free(v->v[i]);
		else
			v->v[j++] = v->v[i];
	v->n = j;
	if (!qid)
		perr(ps, "no key 'query_id'");
	if (!have_vids)
		perr(ps, "no key 'gt_video_ids'");
	if (q->n >= MAXQUERIES || v->n > (size_t)INT32_MAX)
		perr(ps, "more than %d queries or videos", MAXQUERIES);
	g->off = egrow(g->off, &cap[0], q->n + 2, sizeof(*g->off));
	g->line = egrow(g->line, &cap[1], q->n + 1, sizeof(*g->line));
	g->line[q->n] = ps->line;
	push(q, qid);
	g->off[q->n] = (int)v->n;
}

void
gt_load(GtSet *g, const char *path)
{
	FILE *f = fopen(path, "r");
	Parser ps = { 0 };
	StrVec q = { 0 }, v = { 0 };
	size_t cap[2] = { 0, 0 }, lcap = 0;   /* of off and line */
	char *line = NULL;
	ssize_t n;
	int a, b;

	if (!f)
		die("open %s:", path);
	memset(g, 0, sizeof(*g));
	g->path = estrdup(path);
	g->off = egrow(NULL, &cap[0], 1, sizeof(*g->off));
	g->off[0] = 0;
	ps.path = path;
	while ((n = getline(&line, &lcap, f)) > 0) {
		ps.line++;
		ps.s = ps.p = (const unsigned char *)line;
		ps.end = ps.s + n;
		if (memchr(line, 0, (size_t)n)) {
			ps.p = memchr(ps.s, 0, (size_t)n);
			perr(&ps, "NUL byte");
		}
		/* a UTF-8 byte order mark before the first line */
		if (ps.line == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
			ps.p += 3;
		ws(&ps);
		if (ps.p == ps.end)
			continue;
		parse_line(&ps, &q, &v, g, cap);
	}
	if (ferror(f))
		die("read %s:", path);
	fclose(f);
	free(line);
	free(ps.buf);
	if (q.n == 0)
		die("%s: no queries", path);
	g->n = (int)q.n;
	g->qid = q.v;
	g->vid = v.v;
	if (idindex_of(&g->ix, g->qid, g->n, &a, &b))
		die("%s:%ld: query '%s' is also on line %ld", path, g->line[b], g->qid[a], g->line[a]);
}

int
gt_find(const GtSet *g, const char *s)
{
	return idindex_find(&g->ix, s);
}

void
gt_free(GtSet *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->qid[i]);
	for (int i = 0; g->off && i < g->off[g->n]; i++)
		free(g->vid[i]);
	free(g->qid);
	free(g->vid);
	free(g->off);
	free(g->line);
	free(g->path);
	idindex_free(&g->ix);
	memset(g, 0, sizeof(*g));
}
