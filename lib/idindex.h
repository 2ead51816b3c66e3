/* idindex: the one table from string ids to numbers (a video's or query's index, a file row, a
 * line number): open addressing over FNV-1a, keys not copied (they belong to the caller and must
 * outlive the table). Built from an array of ids (value: the position) or filled one id at a
 * time; looked up by NUL-terminated string or by pointer and length (msgpack strings).
 * Not here: owning or freeing the ids, ordering (iterate over key[0..cap) for the ids). */
#ifndef IDINDEX_H
#define IDINDEX_H

#include <stddef.h>

typedef struct {
	const char **key;          /* (cap) NULL: empty slot */
	long *val;                 /* (cap) */
	size_t cap, n;             /* cap a power of two (or 0), n < cap / 2 */
} IdIndex;

/* index of id[0..n-1] (value i); 1 when an id repeats, with *a < *b the positions of the first
 * repeat in array order (the index keeps *a) */
int  idindex_of(IdIndex *x, char **id, int n, int *a, int *b);
/* idindex_of, dying "FILE: video id 'X' appears twice" on a repeat */
void idindex_build(IdIndex *x, char **id, int n, const char *file);
/* the value of id s, or -1 */
int  idindex_find(const IdIndex *x, const char *s);
/* the value of s (NUL-terminated) or of the n bytes at s, or NULL; writable */
long *idindex_get(const IdIndex *x, const char *s);
long *idindex_getn(const IdIndex *x, const char *s, size_t n);
/* adds s with value v and returns NULL, or returns the value s already has (left as it is) */
long *idindex_add(IdIndex *x, const char *s, long v);
void idindex_free(IdIndex *x);

#endif
