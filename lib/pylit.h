/* pylit: a Python dict literal of string lists, {'key': ['a', 'b', ...], ...} (lists or tuples,
 * str literals with u/b/r prefixes and the escapes \\ \' \" \n \t \r \xHH of a non-zero byte),
 * parsed, never evaluated: the video2frames.txt of a released feature (doc/import.md). A broken
 * entry is recorded (where, what was expected, what was found, its key when read) and skipped:
 * the parse goes on after the end of its list, or of its line when entries are one a line; so
 * is a key met again (the first entry kept) and text after the closing '}'.
 * Not here: what the strings name (prvr-import looks the clip ids up), reporting (the caller
 * words the problems), any other Python syntax (numbers, nesting, comments). */
#ifndef PYLIT_H
#define PYLIT_H

#include <stddef.h>

#include "idindex.h"

typedef struct {
	char *key;
	long line;                 /* where its entry starts */
	long off, n;               /* its strings: item[off .. off + n) */
} PyEntry;

enum { PY_SYNTAX, PY_DUPKEY, PY_TRAILING };

typedef struct {
	int kind;                  /* PY_SYNTAX: a broken entry; PY_DUPKEY: key already seen;
	                            * PY_TRAILING: text after the closing '}' */
	long line, col;
	const char *expected;      /* PY_SYNTAX: what was expected there ("a quoted string") */
	char found[16];            /* PY_SYNTAX: "'c'", "end of line" or "end of file" */
	char *key;                 /* the entry's key, when read before the problem; else NULL */
} PyProblem;

typedef struct {
	PyEntry *e;                /* (ne) entries in file order, keys unique */
	long ne;
	IdIndex index;             /* key -> entry */
	long *item;                /* (nitem) offsets into pool of the entries' strings */
	long nitem;
	char *pool;                /* the strings, decoded, NUL-terminated, back to back */
	PyProblem *prob;           /* (nprob) in file order */
	long nprob;
	size_t ecap, icap, pcap, prcap, npool;
} PyDict;

/* parses text (NUL-terminated; path names it in the one fatal error: no '{' at the start) */
void pylit_dict(PyDict *d, const char *text, const char *path);
static inline const char *pylit_item(const PyDict *d, long i) { return d->pool + d->item[i]; }
void pylit_free(PyDict *d);

#endif
