/* test_schemas: every schemas/KIND.md page against lib/schema.c's table, both ways. Each kind of
 * the table has its page (titled "# KIND") and is listed in schemas/README.md; every key of its
 * header and item tables (nested maps included) appears on the page as `key`; every key in the
 * first column of a table under the page's "## Header" or "## Items" heading is a key of the
 * kind's table (or of every stream's header, or a branch name for kinds with branch keys);
 * every page is a kind of the table. Keys written with a placeholder (`<b>_kd`) stand for a
 * family the table cannot list and are skipped.
 * The invariants of tensor-diff (check_tdiff): items whose status, counts and shapes agree pass,
 * each kind of disagreement is refused, in a child, with its message.
 * Run from the repository root (make check does), or with SCHEMAS=dir. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dies.h"
#include "mdtable.h"
#include "mpio.h"
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

static void
key_in_kind(const char *key, void *ctx)
{
	const SchemaKind *k = ctx;

	if (strcmp(key, "key") && !strchr(key, '<') && !in_kind(k, key)) {
		printf("NOT OK schemas/%s.md: key '%s' not in lib/schema.c's table\n", k->kind, key);
		failures++;
	}
}

/* ---- tensor-diff's invariants (check_tdiff): one item written by hand ---- */

typedef struct {
	const char *status;
	int na, nb;                /* dims of shape_a, shape_b ([2, 2] or []) */
	long n, over, differ;
} Tdiff;

static char tdpath[64];

static void
write_tdiff(const Tdiff *t)
{
	MpWriter *w = mpw_open(tdpath, 0);

	mpw_header(w, "tensor-diff", 1, 4);
	mpw_kv_str(w, "a", "A");
	mpw_kv_str(w, "b", "B");
	mpw_kv_f64(w, "tol", 0);
	mpw_kv_int(w, "differ", t->differ);
	mpw_record_done(w);
	mpw_map(w, 9);
	mpw_kv_str(w, "name", "x.w");
	mpw_kv_str(w, "array", "w");
	mpw_kv_str(w, "status", t->status);
	mpw_key(w, "shape_a");
	mpw_array(w, (size_t)t->na);
	for (int i = 0; i < t->na; i++)
		mpw_int(w, 2);
	mpw_key(w, "shape_b");
	mpw_array(w, (size_t)t->nb);
	for (int i = 0; i < t->nb; i++)
		mpw_int(w, 2);
	mpw_kv_int(w, "n", t->n);
	mpw_kv_f64(w, "max_abs", t->over ? 0.5 : 0);
	mpw_kv_f64(w, "max_rel", t->over ? 0.25 : 0);
	mpw_kv_int(w, "over", t->over);
	mpw_record_done(w);
	mpw_close(w);
}

/* the stream at tdpath through the validator, as prvr-cat -c reads it */
static void
validate(void *unused)
{
	MpReader *r = mpr_open(tdpath);
	SchemaState *s = schema_open(r, mpr_header(r, NULL), 1);
	const msgpack_object *o;

	while ((o = mpr_next(r)))
		schema_item(s, o);
	schema_close(s);
	mpr_close(r);
}

static void
test_tdiff(void)
{
	static const struct { Tdiff t; const char *why; } bad[] = {
		{ { "equal", 2, 2, 4, 1, 0 }, "'status': 'equal' with 1 values over" },
		{ { "differ", 2, 2, 4, 0, 1 }, "'status': 'differ' with 0 values over" },
		{ { "equal", 2, 2, 3, 0, 0 }, "key 'n': 3" },
		{ { "equal", 2, 1, 4, 0, 0 }, "key 'n': 4" },
		{ { "shape", 2, 1, 4, 0, 1 }, "the status says none" },
		{ { "only-a", 2, 2, 0, 0, 1 }, "only in one checkpoint" },
		{ { "only-b", 0, 0, 0, 0, 1 }, "only in one checkpoint" },
		{ { "differ", 2, 2, 4, 3, 0 }, "header 'differ' 0, but 1 items differ" },
		{ { "equal", 2, 2, 4, 5, 0 }, "'over': 5 is above 4" },
	};
	static const Tdiff good[] = {
		{ "equal", 2, 2, 4, 0, 0 }, { "differ", 2, 2, 4, 4, 1 }, { "shape", 2, 1, 0, 0, 1 },
		{ "only-a", 2, 0, 0, 0, 1 }, { "only-b", 0, 2, 0, 0, 1 },
	};
	int fd;

	snprintf(tdpath, sizeof(tdpath), "/tmp/test_schemas.XXXXXX");
	if ((fd = mkstemp(tdpath)) < 0)
		die("mkstemp:");
	close(fd);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		write_tdiff(&good[i]);
		validate(NULL);         /* dies (failing the test) when refused */
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_tdiff(&bad[i].t);
		if (!dies_with(validate, NULL, bad[i].why)) {
			printf("NOT OK tensor-diff case %zu (%s) not refused with '%s'\n", i, bad[i].t.status,
			       bad[i].why);
			failures++;
		}
	}
	unlink(tdpath);
	printf("OK tensor-diff: %zu consistent items pass, %zu inconsistent ones are refused\n",
	       sizeof(good) / sizeof(good[0]), sizeof(bad) / sizeof(bad[0]));
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
		md_table_keys(page, (const char *const[]){ "## Header", "## Items", NULL }, key_in_kind,
		              (void *)k);
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
	test_tdiff();
	if (failures)
		return 1;
	printf("OK %d kinds of lib/schema.c and %d pages of schemas/ agree, both ways\n", nk, np);
	return 0;
}
