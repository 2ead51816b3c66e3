/* test_idindex: the id table against a linear search over 20,000 ids (built from an array,
 * then grown one id at a time), lookups by pointer and length (a prefix, a longer string, an
 * embedded NUL), the first repeat of an array found in array order, idindex_add leaving a
 * present value as it is, and the refusal of idindex_build naming the file and the id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dies.h"
#include "idindex.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

enum { N = 20000 };

static char *dupid[] = { "a", "b", "c", "b", "a" };

static void
build_dup(void *unused)
{
	IdIndex x;

	idindex_build(&x, dupid, 5, "f.mp");
}

int
main(void)
{
	char **id = emalloc(N * sizeof(*id));
	IdIndex x;
	int a = -1, b = -1;

	for (int i = 0; i < N; i++) {
		char s[32];
		snprintf(s, sizeof(s), "v%d_%x", i, i * 7919u);
		id[i] = estrdup(s);
	}
	EXPECT(!idindex_of(&x, id, N / 2, &a, &b));
	for (int i = N / 2; i < N; i++)
		EXPECT(idindex_add(&x, id[i], i) == NULL);
	EXPECT(x.n == N && 2 * x.n < x.cap);
	for (int i = 0; i < N; i++)
		EXPECT(idindex_find(&x, id[i]) == i);
	EXPECT(idindex_find(&x, "v1") == -1 && idindex_find(&x, "") == -1);
	{
		char s[64];
		size_t n = strlen(id[12]);
		const long *v;
		snprintf(s, sizeof(s), "%sxyz", id[12]);
		EXPECT((v = idindex_getn(&x, s, n)) && *v == 12);       /* id[12] and more bytes */
		EXPECT(idindex_getn(&x, s, n - 1) == NULL);             /* a prefix of an id */
		EXPECT(idindex_getn(&x, s, n + 1) == NULL);             /* longer than the id */
		s[n] = '\0';
		EXPECT(idindex_getn(&x, s, n + 1) == NULL);             /* a NUL inside */
	}
	EXPECT(*idindex_add(&x, id[5], 99) == 5);                     /* present: kept */
	*idindex_get(&x, id[5]) = -6;                                 /* writable */
	EXPECT(idindex_find(&x, id[5]) == -6);
	idindex_free(&x);
	EXPECT(x.cap == 0 && idindex_find(&x, id[0]) == -1);          /* empty table */
	printf("%s 20000 ids, lookups\n", failures ? "NOT OK" : "OK");

	EXPECT(idindex_of(&x, dupid, 5, &a, &b) && a == 1 && b == 3);
	EXPECT(idindex_find(&x, "b") == 1);
	idindex_free(&x);
	EXPECT(dies_with(build_dup, NULL, "f.mp: video id 'b' appears twice"));
	printf("%s repeats\n", failures ? "NOT OK" : "OK");
	for (int i = 0; i < N; i++)
		free(id[i]);
	free(id);
	return failures ? 1 : 0;
}
