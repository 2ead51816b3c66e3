/* test_opts: distill-step's configuration declared once (lib/opts over lib/ckpt's train_opts)
 * and the KD registry (lib/kd). The table is well formed (unique flags and keys, every flag has
 * its help, every enum its parser); every option set away from its default on the command line
 * survives a round trip through the stored map; every registry row names one function of the
 * kind it distils and is found by its words; schemas/checkpoint.md's config table lists the
 * same keys as the table (run from the repository root). Range errors, resume checks and byte-identical
 * checkpoints are exercised end to end by tests/test_train.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "kd.h"
#include "mdtable.h"
#include "opts.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static void
test_table(const OptDesc *t, int n)
{
	for (int i = 0; i < n; i++) {
		const OptDesc *d = &t[i];
		for (int j = 0; j < i; j++) {
			EXPECT(!(d->flag && t[j].flag && strcmp(d->flag, t[j].flag) == 0));
			EXPECT(!(d->key && t[j].key && strcmp(d->key, t[j].key) == 0));
		}
		if (d->type == OPT_SECTION) {
			EXPECT(d->help && !d->flag && !d->key);
			continue;
		}
		EXPECT(d->flag || d->key);
		EXPECT(!d->flag || d->help);
		EXPECT(!d->flag || d->type == OPT_BOOL || d->arg);
		EXPECT(d->type != OPT_ENUM || (d->parse && d->name));
		EXPECT(d->type != OPT_WORD || d->valid);
		EXPECT(d->type != OPT_DERIVED || (d->pack && d->key && !d->flag));
		EXPECT(!d->def || d->type != OPT_DERIVED);
	}
	printf("OK train_opts: %d entries, unique flags and keys, help for every flag\n", n);
}

/* a command-line value of entry d that differs from the field's value in cfg, or NULL */
static const char *
other_value(const OptDesc *d, const void *cfg, char *buf, size_t size)
{
	const char *f = (const char *)cfg + d->off;
	double cur, v;

	switch (d->type) {
	case OPT_INT: cur = *(const int *)f; break;
	case OPT_LONG: cur = (double)*(const long *)f; break;
	case OPT_U64: cur = (double)*(const uint64_t *)f; break;
	case OPT_FLOAT: cur = *(const float *)f; break;
	case OPT_DOUBLE: cur = *(const double *)f; break;
	case OPT_ENUM:
		for (int k = 0; k < 64; k++)
			if (k != *(const int *)f && d->parse(d->name(k)) == k)
				return d->name(k);
		return NULL;
	default: return NULL;
	}
	v = cur != d->lo ? d->lo : d->lo + (d->hi - d->lo) / 3;
	if (d->type == OPT_FLOAT || d->type == OPT_DOUBLE)
		snprintf(buf, size, "%.17g", v);
	else
		snprintf(buf, size, "%.0f", v);
	return buf;
}

/* *a packed as the table t[0..n) stores it, written to a file and read back into *b with the
 * full table, as a checkpoint's config is */
static void
through_map(const OptDesc *t, int n, const TrainConfig *a, TrainConfig *b)
{
	char dir[] = "/tmp/test_opts.XXXXXX", path[256];
	MpWriter *w;
	MpReader *r;

	EXPECT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/config.mp", dir);
	w = mpw_open(path, 0);
	mpw_header(w, "test", 0, 1);
	mpw_key(w, "config");
	opts_pack(w, t, n, a);
	mpw_record_done(w);
	mpw_close(w);
	r = mpr_open(path);
	opts_read(r, mp_find(mpr_header(r, "test"), "config"), train_opts, ntrain_opts, b,
	          sizeof(*b));
	mpr_close(r);
	unlink(path);
	rmdir(dir);
}

static void
test_roundtrip(void)
{
	TrainConfig a, b;
	char buf[64];
	const char *val;
	int changed = 0;

	ckpt_config_defaults(&a);
	for (int i = 0; i < ntrain_opts; i++) {
		const OptDesc *d = &train_opts[i];
		if (!d->flag)
			continue;
		if (d->type == OPT_BOOL) {
			EXPECT(opts_parse(train_opts, ntrain_opts, &a, OPTS_CODE + i, NULL) == i);
			changed++;
		} else if ((val = other_value(d, &a, buf, sizeof(buf)))) {
			TrainConfig before = a;
			EXPECT(opts_parse(train_opts, ntrain_opts, &a, OPTS_CODE + i, val) == i);
			EXPECT(!opts_equal(train_opts, i, &a, &before));
			changed++;
		}
	}
	EXPECT(opts_parse(train_opts, ntrain_opts, &a, 'v', "x") == -1);
	a.mc.dv = 7, a.mc.dt = 5, a.mc.E = 3, a.train_videos = 11, a.total_steps = 1L << 40;

	through_map(train_opts, ntrain_opts, &a, &b);
	for (int i = 0; i < ntrain_opts; i++)
		if (train_opts[i].key && train_opts[i].type != OPT_DERIVED &&
		    !opts_equal(train_opts, i, &a, &b)) {
			fprintf(stderr, "NOT OK round trip of '%s'\n", train_opts[i].key);
			failures++;
		}
	printf("OK %d options set away from their defaults survive the stored map\n", changed);
}

/* a map written without a key (as by a version before that option) loads with its default,
 * or as 0 / "" (off) for an option flagged OPTF_ADDED: what checkpoints of before DL-DKD++'s
 * preset, soft-align and soft-detach hold */
static void
test_missing_default(void)
{
	OptDesc *old = emalloc((size_t)ntrain_opts * sizeof(*old));
	int n = 0, nadded = 0, k = opts_index(train_opts, ntrain_opts, "kd-temp");
	TrainConfig a, b;

	for (int i = 0; i < ntrain_opts; i++) {
		if (train_opts[i].flags & OPTF_ADDED)
			nadded++;
		if (i != k && !(train_opts[i].flags & OPTF_ADDED))
			old[n++] = train_opts[i];
	}
	EXPECT(nadded == 3);
	ckpt_config_defaults(&a);
	a.mc.dv = a.mc.dt = 4;
	a.kd_temp = 3.0f;
	a.soft_align = a.soft_detach = 1;
	snprintf(a.preset, sizeof(a.preset), "dldkd++:tvr");
	through_map(old, n, &a, &b);
	EXPECT(b.kd_temp == 0.2f && b.mc.dv == 4);
	EXPECT(b.soft_align == 0 && b.soft_detach == 0 && b.preset[0] == 0);
	free(old);
	printf("OK a stored map without kd_temp loads with its default, without the %d added "
	       "options as off\n", nadded);
}

/* a key of the config table: marked in train_opts, or a failure */
static void
config_key(const char *key, void *ctx)
{
	char *listed = ctx;

	for (int i = 0; i < ntrain_opts; i++)
		if (train_opts[i].key && strcmp(train_opts[i].key, key) == 0) {
			listed[i] = 1;
			return;
		}
	fprintf(stderr, "NOT OK schemas/checkpoint.md: config key '%s' not in train_opts\n", key);
	failures++;
}

/* schemas/checkpoint.md's config table and train_opts name the same keys */
static void
test_page(void)
{
	char *page = slurp("schemas/checkpoint.md", 1 << 20, NULL), listed[256] = { 0 };
	int rows;

	CHECK(ntrain_opts <= (int)sizeof(listed));
	rows = md_table_keys(page, (const char *const[]){ "### `config`", NULL }, config_key, listed);
	for (int i = 0; i < ntrain_opts; i++)
		if (train_opts[i].key && !listed[i]) {
			fprintf(stderr, "NOT OK config key '%s' not in schemas/checkpoint.md's config "
			        "table\n", train_opts[i].key);
			failures++;
		}
	EXPECT(rows > 0);
	free(page);
	printf("OK schemas/checkpoint.md's config table and train_opts agree (%d keys)\n", rows);
}

static void
test_registry(void)
{
	for (int k = 1; k < NKD; k++) {
		const KdKind *x = &kd_kinds[k];
		EXPECT(x->loss && x->help);
		EXPECT(x->on == KD_ON_SIM ? x->sim && !x->feat : x->on == KD_ON_FEAT && x->feat && !x->sim);
		EXPECT(kd_find(x->on, x->loss) == k);
		EXPECT(kd_on_parse(kd_on_name(x->on)) == x->on);
		EXPECT(kd_loss_valid(x->loss));
	}
	EXPECT(kd_find(KD_ON_SIM, "nope") == KD_NONE);
	EXPECT(!kd_loss_valid("nope"));
	EXPECT(kd_on_parse("nope") == -1);
	printf("OK KD registry: %d kinds, each found by its words, one function of its input\n",
	       NKD - 1);
}

int
main(void)
{
	test_table(train_opts, ntrain_opts);
	test_roundtrip();
	test_missing_default();
	test_page();
	test_registry();
	if (failures)
		return 1;
	printf("all OK\n");
	return 0;
}
