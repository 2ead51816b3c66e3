/* pylit: a Python dict literal of string lists, parsed; see pylit.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pylit.h"
#include "util.h"

typedef struct {
	const char *s, *p;
	const char *err;           /* what was expected, NULL when fine */
	const char *errp;
	char *tmp;                 /* the string being decoded */
	size_t tcap;
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

/* a str literal with an optional u/b/r prefix, decoded into L->tmp (*n bytes, NUL-terminated) */
static int
lex_str(Lex *L, size_t *len)
{
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
		L->tmp = egrow(L->tmp, &L->tcap, n + 2, 1);
		if (c == '\0' || c == '\n')
			return lexfail(L, "the closing quote of a string");
		L->p++;
		if (c == q)
			break;
		if (c != '\\' || raw) {
			L->tmp[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*L->p++;
		switch (c) {
		case '\\': case '\'': case '"': L->tmp[n++] = (char)c; break;
		case 'n': L->tmp[n++] = '\n'; break;
		case 't': L->tmp[n++] = '\t'; break;
		case 'r': L->tmp[n++] = '\r'; break;
		case 'x':
			if (hexval(L->p[0]) < 0 || hexval(L->p[1]) < 0 ||
			    hexval(L->p[0]) * 16 + hexval(L->p[1]) == 0) {
				L->p -= 2;
				return lexfail(L, "a \\xHH escape of a non-zero byte");
			}
			L->tmp[n++] = (char)(hexval(L->p[0]) * 16 + hexval(L->p[1]));
			L->p += 2;
			break;
		default:
			L->p -= 2;
			return lexfail(L, "a supported escape (\\\\ \\' \\\" \\n \\t \\r \\xHH)");
		}
	}
	L->tmp[n] = '\0';
	*len = n;
	return 1;
}

/* the decoded string appended to the pool; its offset */
static long
pool_add(PyDict *d, const char *s, size_t n)
{
	long off = (long)d->npool;

	d->pool = egrow(d->pool, &d->pcap, d->npool + n + 1, 1);
	memcpy(d->pool + d->npool, s, n + 1);
	d->npool += n + 1;
	return off;
}

/* the list of one entry: [ 'a', 'b', ... ] or ( ... ), its strings appended to item */
static int
lex_list(Lex *L, PyDict *d, PyEntry *e)
{
	int close;
	size_t n;

	if (*L->p != '[' && *L->p != '(')
		return lexfail(L, "'[' starting the list of clip ids");
	close = *L->p++ == '[' ? ']' : ')';
	skipws(L);
	while (*L->p != close) {
		if (!lex_str(L, &n))
			return 0;
		d->item = egrow(d->item, &d->icap, (size_t)d->nitem + 1, sizeof(*d->item));
		d->item[d->nitem++] = pool_add(d, L->tmp, n);
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

static PyProblem *
problem(PyDict *d, int kind, const Lex *L, const char *at, const char *key)
{
	PyProblem *p;

	d->prob = egrow(d->prob, &d->prcap, (size_t)d->nprob + 1, sizeof(*d->prob));
	p = &d->prob[d->nprob++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->line = line_of(L->s, at);
	p->col = col_of(L->s, at);
	p->key = key ? estrdup(key) : NULL;
	return p;
}

/* after a broken entry: on after the end of its list, or of its line when entries are one a
 * line, and a ',' after it */
static void
resync(Lex *L, int multiline)
{
	const char *p0 = L->p;

	while (*L->p && *L->p != ']' && *L->p != ')' && *L->p != '}' && !(multiline && *L->p == '\n'))
		L->p++;
	if (*L->p == ']' || *L->p == ')')
		L->p++;
	skipws(L);
	if (*L->p == ',')
		L->p++;
	if (L->p == p0 && *L->p != '}')
		L->p++;
}

void
pylit_dict(PyDict *d, const char *text, const char *path)
{
	Lex L = { 0 };
	int multiline = line_of(text, text + strlen(text)) > 2;

	memset(d, 0, sizeof(*d));
	L.s = L.p = text;
	skipws(&L);
	if (*L.p != '{')
		die("%s:%ld:%ld: expected '{' starting a Python dict literal {video_id: [clip ids]}",
		    path, line_of(L.s, L.p), col_of(L.s, L.p));
	L.p++;
	for (;;) {
		PyEntry e = { 0 };
		long save = d->nitem;
		size_t save_pool = d->npool, n;
		const char *start;

		skipws(&L);
		if (*L.p == '}')
			break;
		if (*L.p == '\0') {
			lexfail(&L, "'}' closing the dict");
			goto bad;
		}
		start = L.p;
		if (!lex_str(&L, &n))
			goto bad;
		e.key = estrdup(L.tmp);
		skipws(&L);
		if (*L.p != ':') {
			lexfail(&L, "':' after the video id");
			goto bad;
		}
		L.p++;
		skipws(&L);
		e.off = d->nitem;
		e.line = line_of(L.s, start);
		if (!lex_list(&L, d, &e))
			goto bad;
		skipws(&L);
		if (*L.p != ',' && *L.p != '}') {
			lexfail(&L, "',' or '}' after an entry");
			goto bad;
		}
		if (*L.p == ',')
			L.p++;
		if (idindex_get(&d->index, e.key)) {
			problem(d, PY_DUPKEY, &L, start, e.key);
			free(e.key);
			d->nitem = save;
			d->npool = save_pool;
			continue;
		}
		d->e = egrow(d->e, &d->ecap, (size_t)d->ne + 1, sizeof(*d->e));
		d->e[d->ne] = e;
		idindex_add(&d->index, e.key, d->ne++);
		continue;
bad:
		d->nitem = save;
		d->npool = save_pool;
		{
			PyProblem *p = problem(d, PY_SYNTAX, &L, L.errp, e.key);
			p->expected = L.err;
			if (*L.errp == '\0')
				snprintf(p->found, sizeof(p->found), "end of file");
			else if (*L.errp == '\n')
				snprintf(p->found, sizeof(p->found), "end of line");
			else
				snprintf(p->found, sizeof(p->found), "'%c'", *L.errp);
		}
		free(e.key);
		L.p = L.errp;
		if (*L.p == '\0')
			break;
		resync(&L, multiline);
		L.err = NULL;
	}
	if (*L.p == '}') {       /* else the file ended early, recorded above */
		L.p++;
		skipws(&L);
		if (*L.p)
			problem(d, PY_TRAILING, &L, L.p, NULL);
	}
	free(L.tmp);
}

void
pylit_free(PyDict *d)
{
	for (long i = 0; i < d->ne; i++)
		free(d->e[i].key);
	for (long i = 0; i < d->nprob; i++)
		free(d->prob[i].key);
	free(d->e), free(d->item), free(d->pool), free(d->prob);
	idindex_free(&d->index);
	memset(d, 0, sizeof(*d));
}
