/* test_schemas: every schemas/KIND.md page against lib/schema.c's table, both ways. Each kind of
 * the table has its page (titled "# KIND") and is listed in schemas/README.md; every key of its
 * header and item tables (nested maps included) appears on the page as `key`; every key in the
 * first column of a table under the page's "## Header" or "## Items" heading is a key of the
 * kind's table (or of every stream's header, or a branch name for kinds with branch keys);
 * every page is a kind of the table. Keys written with a placeholder (`<b>_kd`) stand for a
 * family the table cannot list and are skipped.
 * Run from the repository root (make check does), or with SCHEMAS=dir. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "util.h"

static int failures;

static char *
slurp_page(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, R_OK) ? NULL : slurp(path, 1 << 20, NULL);
}

/* `key` on the page */
static int
mentions(const char *page, const char *key)
{
	char q[128];

	snprintf(q, sizeof(q), "`%s`", key);
	return strstr(page, q) != NULL;
}

static void
keys_on_page(const char *kind, const char *page, const SchemaKey *t)
{
	for (; t && t->key; t++) {
		if (!mentions(page, t->key)) {
			printf("NOT OK schemas/%s.md: key '%s' of lib/schema.c not on the page\n", kind,
			       t->key);
			failures++;
		}
		keys_on_page(kind, page, t->sub);
		keys_on_page(kind, page, t->each);
	}
}

static int
in_table(const SchemaKey *t, const char *key)
{
	for (; t && t->key; t++)
		if (strcmp(t->key, key) == 0 || in_table(t->sub, key) || in_table(t->each, key))
			return 1;
	return 0;
}

static int
in_kind(const SchemaKind *k, const char *key)
{
	static const char *const common[] = { "magic", "version", "kind", "count", "cmd",
	                                      "checksums", "crc32" };

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (strcmp(key, common[i]) == 0)
			return 1;
	/* item keys named by the header's branches: the model's branch names */
	static const char *const branch[] = { "inh", "exp" };

	if (in_table(k->header, key))
		return 1;
	for (size_t i = 0; k->branch_size && i < sizeof(branch) / sizeof(branch[0]); i++)
		if (strcmp(key, branch[i]) == 0)
			return 1;
	for (const SchemaItem *it = k->items; it && it->keys; it++)
		if (in_table(it->keys, key))
			return 1;
	return 0;
}

/* the backticked words of the first cell of every table row under "## Header" / "## Items"
 * (up to the next heading of any level) */
static void
page_keys_in_table(const SchemaKind *k, const char *page)
{
	int on = 0;

	for (const char *l = page; *l; ) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (l[0] == '#')
			on = strncmp(l, "## Header", 9) == 0 || strncmp(l, "## Items", 8) == 0;
		else if (on && l[0] == '|' && n > 2 && l[1] != '-') {
			const char *end = memchr(l + 1, '|', n - 1), *p = l + 1;
			while (end && (p = memchr(p, '`', (size_t)(end - p))) && p < end) {
				const char *q = memchr(p + 1, '`', (size_t)(end - p - 1));
				char key[128];
				if (!q)
					break;
				snprintf(key, sizeof(key), "%.*s", (int)(q - p - 1), p + 1);
				if (strcmp(key, "key") && !strchr(key, '<') && !in_kind(k, key)) {
					printf("NOT OK schemas/%s.md: key '%s' not in lib/schema.c's table\n",
					       k->kind, key);
					failures++;
				}
				p = q + 1;
			}
		}
		l += n + (e != NULL);
	}
}

int
main(void)
{
	const char *dir = getenv("SCHEMAS") ? getenv("SCHEMAS") : "schemas";
	char *readme = slurp_page(dir, "README.md"), *page, title[128];
	int nk = 0, np = 0;
	DIR *d;
	struct dirent *de;

	argv0 = "test_schemas";
	if (!readme)
		die("%s/README.md: cannot read (run from the repository root, or set SCHEMAS)", dir);
	for (const SchemaKind *k = schema_kinds; k->kind; k++, nk++) {
		char name[128];
		snprintf(name, sizeof(name), "%s.md", k->kind);
		if (!(page = slurp_page(dir, name))) {
			printf("NOT OK kind '%s' has no schemas/%s\n", k->kind, name);
			failures++;
			continue;
		}
		snprintf(title, sizeof(title), "# %s\n", k->kind);
		if (strncmp(page, title, strlen(title)) != 0) {
			printf("NOT OK schemas/%s does not start with '# %s'\n", name, k->kind);
			failures++;
		}
		if (!strstr(readme, k->kind)) {
			printf("NOT OK schemas/README.md does not list '%s'\n", k->kind);
			failures++;
		}
		keys_on_page(k->kind, page, k->header);
		for (const SchemaItem *it = k->items; it && it->keys; it++)
			keys_on_page(k->kind, page, it->keys);
		page_keys_in_table(k, page);
		free(page);
	}
	if (!(d = opendir(dir)))
		die("opendir %s:", dir);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char kind[128];
		if (n < 4 || strcmp(de->d_name + n - 3, ".md") || strcmp(de->d_name, "README.md") == 0)
			continue;
		np++;
		snprintf(kind, sizeof(kind), "%.*s", (int)(n - 3), de->d_name);
		if (!schema_kind(kind)) {
			printf("NOT OK schemas/%s: no kind '%s' in lib/schema.c\n", de->d_name, kind);
			failures++;
		}
	}
	closedir(d);
	free(readme);
	if (failures)
		return 1;
	printf("OK %d kinds of lib/schema.c and %d pages of schemas/ agree, both ways\n", nk, np);
	return 0;
}
