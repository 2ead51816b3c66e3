/* idindex: string id -> number, open addressing; see idindex.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idindex.h"
#include "util.h"

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a, its high bits folded into the low */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/* the slot of (s, n): its own, or the empty one where it would go */
static size_t
slot(const IdIndex *x, const char *s, size_t n)
{
	size_t i = hash(s, n) & (x->cap - 1);

	while (x->key[i] && !(strncmp(x->key[i], s, n) == 0 && x->key[i][n] == '\0'))
		i = (i + 1) & (x->cap - 1);
	return i;
}

long *
idindex_getn(const IdIndex *x, const char *s, size_t n)
{
	size_t i;

	if (!x->cap || memchr(s, '\0', n))
		return NULL;
	i = slot(x, s, n);
	return x->key[i] ? &x->val[i] : NULL;
}

long *
idindex_get(const IdIndex *x, const char *s)
{
	return idindex_getn(x, s, strlen(s));
}

int
idindex_find(const IdIndex *x, const char *s)
{
	const long *v = idindex_get(x, s);

	return v ? (int)*v : -1;
}

static void
grow(IdIndex *x)
{
	IdIndex old = *x;

	x->cap = old.cap ? 2 * old.cap : 64;
	x->key = ecalloc(x->cap, sizeof(*x->key));
	x->val = emalloc(x->cap * sizeof(*x->val));
	x->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i])
			idindex_add(x, old.key[i], old.val[i]);
	free(old.key);
	free(old.val);
}

long *
idindex_add(IdIndex *x, const char *s, long v)
{
	size_t n = strlen(s), i;

	if (2 * (x->n + 1) > x->cap)
		grow(x);
	i = slot(x, s, n);
	if (x->key[i])
		return &x->val[i];
	x->key[i] = s;
	x->val[i] = v;
	x->n++;
	return NULL;
}

int
idindex_of(IdIndex *x, char **id, int n, int *a, int *b)
{
	int dup = 0;

	memset(x, 0, sizeof(*x));
	for (int i = 0; i < n; i++) {
		const long *v = idindex_add(x, id[i], i);
		if (v && !dup) {
			*a = (int)*v;
			*b = i;
			dup = 1;
		}
	}
	return dup;
}

void
idindex_build(IdIndex *x, char **id, int n, const char *file)
{
	int a, b;

	if (idindex_of(x, id, n, &a, &b))
		die("%s: video id '%s' appears twice", file, id[b]);
}

void
idindex_free(IdIndex *x)
{
	free(x->key);
	free(x->val);
	memset(x, 0, sizeof(*x));
}
