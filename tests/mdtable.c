/* mdtable: see mdtable.h */
#include <stdio.h>
#include <string.h>

#include "mdtable.h"

static int
is_head(const char *l, const char *const *heads)
{
	for (; *heads; heads++)
		if (strncmp(l, *heads, strlen(*heads)) == 0)
			return 1;
	return 0;
}

int
md_table_keys(const char *page, const char *const *heads,
              void (*fn)(const char *key, void *ctx), void *ctx)
{
	int on = 0, nkeys = 0;

	for (const char *l = page; *l; ) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (l[0] == '#')
			on = is_head(l, heads);
		else if (on && l[0] == '|' && n > 2 && l[1] != '-') {
			const char *end = memchr(l + 1, '|', n - 1), *p = l + 1;
			while (end && (p = memchr(p, '`', (size_t)(end - p))) && p < end) {
				const char *q = memchr(p + 1, '`', (size_t)(end - p - 1));
				char key[128];
				if (!q)
					break;
				snprintf(key, sizeof(key), "%.*s", (int)(q - p - 1), p + 1);
				fn(key, ctx);
				nkeys++;
				p = q + 1;
			}
		}
		l += n + (e != NULL);
	}
	return nkeys;
}
