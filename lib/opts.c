/* opts: a configuration declared once; see opts.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "util.h"

#define FIELD(cfg, d) ((char *)(cfg) + (d)->off)
#define CFIELD(cfg, d) ((const char *)(cfg) + (d)->off)

/* a double range bound as a long (INT64_MAX does not survive the round trip through double) */
static long
lbound(double x)
{
	return x >= 9.2e18 ? INT64_MAX : x <= -9.2e18 ? INT64_MIN : (long)x;
}

/* the value of d from text: the command line (flag set) or a default */
static void
set_text(const OptDesc *d, void *cfg, const char *s)
{
	char *f = FIELD(cfg, d);
	int v;

	switch (d->type) {
	case OPT_INT: *(int *)f = (int)estrtol(s, lbound(d->lo), lbound(d->hi)); break;
	case OPT_LONG: *(long *)f = estrtol(s, lbound(d->lo), lbound(d->hi)); break;
	case OPT_U64: *(uint64_t *)f = (uint64_t)estrtol(s, lbound(d->lo), lbound(d->hi)); break;
	case OPT_FLOAT: *(float *)f = (float)estrtod(s, d->lo, d->hi); break;
	case OPT_DOUBLE: *(double *)f = estrtod(s, d->lo, d->hi); break;
	case OPT_BOOL: *(int *)f = strcmp(s, "0") != 0; break;
	case OPT_ENUM:
		if ((v = d->parse(s)) < 0)
			usage_error("--%s: unknown value '%s'", d->flag, s);
		*(int *)f = v;
		break;
	case OPT_WORD:
		if (!d->valid(s) || strlen(s) >= d->size)
			usage_error("--%s: unknown value '%s'", d->flag, s);
		memcpy(f, s, strlen(s) + 1);
		break;
	default: CHECK(!"settable type");
	}
}

void
opts_defaults(const OptDesc *t, int n, void *cfg, size_t cfg_size)
{
	memset(cfg, 0, cfg_size);
	for (int i = 0; i < n; i++)
		if (t[i].def)
			set_text(&t[i], cfg, t[i].def);
}

struct option *
opts_longopts(const struct option *fixed, const OptDesc *t, int n)
{
	int nf = 0, k;
	struct option *o;

	while (fixed[nf].name)
		nf++;
	o = ecalloc((size_t)(nf + n + 1), sizeof(*o));
	memcpy(o, fixed, (size_t)nf * sizeof(*o));
	k = nf;
	for (int i = 0; i < n; i++)
		if (t[i].flag)
			o[k++] = (struct option){ t[i].flag,
			                          t[i].type == OPT_BOOL ? no_argument : required_argument,
			                          NULL, OPTS_CODE + i };
	return o;
}

int
opts_index(const OptDesc *t, int n, const char *flag)
{
	for (int i = 0; i < n; i++)
		if (t[i].flag && strcmp(t[i].flag, flag) == 0)
			return i;
	die("opts_index: no option --%s", flag);
}

int
opts_parse(const OptDesc *t, int n, void *cfg, int code, const char *arg)
{
	int i = code - OPTS_CODE;

	if (i < 0 || i >= n)
		return -1;
	if (t[i].type == OPT_BOOL)
		*(int *)FIELD(cfg, &t[i]) = (int)t[i].hi;
	else
		set_text(&t[i], cfg, arg);
	return i;
}

void
opts_set(const OptDesc *t, int n, void *cfg, const char *flag, const char *value)
{
	set_text(&t[opts_index(t, n, flag)], cfg, value);
}

void
opts_help(const OptDesc *t, int n, const void *dflt)
{
	char buf[64];

	for (int i = 0; i < n; i++) {
		const OptDesc *d = &t[i];
		const char *h = d->help, *nl;
		int w;
		if (d->type == OPT_SECTION) {
			printf("%s\n", h);
			continue;
		}
		if (!d->flag)
			continue;
		w = printf("      --%s%s%s", d->flag, d->arg && d->type != OPT_BOOL ? " " : "",
		           d->type != OPT_BOOL && d->arg ? d->arg : "");
		/* the help column starts at 25; a longer flag pushes its first line right */
		printf("%*s", w < 23 ? 25 - w : 2, "");
		while ((nl = strchr(h, '\n'))) {
			printf("%.*s\n%25s", (int)(nl - h), h, "");
			h = nl + 1;
		}
		printf("%s", h);
		if (d->type != OPT_BOOL && !(d->flags & OPTF_OWNDEF) && (d->def || dflt))
			printf(" (default %s)", d->def ? d->def : opts_value(t, i, dflt, buf, sizeof(buf)));
		printf("\n");
	}
}

int
opts_equal(const OptDesc *t, int i, const void *a, const void *b)
{
	const OptDesc *d = &t[i];

	if (d->type == OPT_WORD)
		return strcmp(CFIELD(a, d), CFIELD(b, d)) == 0;
	return memcmp(CFIELD(a, d), CFIELD(b, d), d->size) == 0;
}

const char *
opts_value(const OptDesc *t, int i, const void *cfg, char *buf, size_t n)
{
	const OptDesc *d = &t[i];
	const char *f = CFIELD(cfg, d);

	switch (d->type) {
	case OPT_INT: case OPT_BOOL: snprintf(buf, n, "%d", *(const int *)f); break;
	case OPT_LONG: snprintf(buf, n, "%ld", *(const long *)f); break;
	case OPT_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)f); break;
	case OPT_FLOAT: snprintf(buf, n, "%g", *(const float *)f); break;
	case OPT_DOUBLE: snprintf(buf, n, "%g", *(const double *)f); break;
	case OPT_ENUM: snprintf(buf, n, "%s", d->name(*(const int *)f)); break;
	case OPT_WORD: snprintf(buf, n, "%s", f); break;
	default: snprintf(buf, n, "?");
	}
	return buf;
}

void
opts_pack(MpWriter *w, const OptDesc *t, int n, const void *cfg)
{
	int nk = 0;

	for (int i = 0; i < n; i++)
		nk += t[i].key != NULL;
	mpw_map(w, (size_t)nk);
	for (int i = 0; i < n; i++) {
		const OptDesc *d = &t[i];
		const char *f = CFIELD(cfg, d);
		if (!d->key)
			continue;
		mpw_key(w, d->key);
		switch (d->type) {
		case OPT_INT: mpw_int(w, *(const int *)f); break;
		case OPT_LONG: mpw_int(w, *(const long *)f); break;
		case OPT_U64: mpw_int(w, (long)*(const uint64_t *)f); break;
		case OPT_FLOAT: mpw_f64(w, *(const float *)f); break;
		case OPT_DOUBLE: mpw_f64(w, *(const double *)f); break;
		case OPT_BOOL: mpw_bool(w, *(const int *)f); break;
		case OPT_ENUM: mpw_str(w, d->name(*(const int *)f)); break;
		case OPT_WORD: mpw_str(w, f); break;
		case OPT_DERIVED: d->pack(w, cfg); break;
		default: CHECK(!"stored type");
		}
	}
}

void
opts_read(const MpReader *r, const msgpack_object *m, const OptDesc *t, int n, void *cfg,
          size_t cfg_size)
{
	char s[64];

	if (!m || m->type != MSGPACK_OBJECT_MAP)
		mpr_die(r, "'config': expected a map");
	opts_defaults(t, n, cfg, cfg_size);
	for (int i = 0; i < n; i++) {
		const OptDesc *d = &t[i];
		char *f = FIELD(cfg, d);
		double x = 0;
		int v;
		if (!d->key || d->type == OPT_DERIVED)
			continue;
		/* stored before the option existed: its default, which was the behaviour then */
		if (d->def && !mp_find(m, d->key))
			continue;
		switch (d->type) {
		case OPT_INT: case OPT_LONG: case OPT_U64:
			x = (double)mpr_int(r, m, d->key);
			break;
		case OPT_FLOAT: case OPT_DOUBLE:
			x = mpr_num(r, m, d->key);
			break;
		case OPT_BOOL:
			if ((v = mpr_bool_or(r, m, d->key, -1)) < 0)
				mpr_die(r, "config: missing key '%s'", d->key);
			*(int *)f = v;
			continue;
		case OPT_ENUM:
			mpr_strcpy(r, m, d->key, s, sizeof(s));
			if ((v = d->parse(s)) < 0)
				mpr_die(r, "config: unknown %s '%s'", d->key, s);
			*(int *)f = v;
			continue;
		case OPT_WORD:
			mpr_strcpy(r, m, d->key, s, sizeof(s));
			if (!d->valid(s) || strlen(s) >= d->size)
				mpr_die(r, "config: unknown %s '%s'", d->key, s);
			memcpy(f, s, strlen(s) + 1);
			continue;
		}
		/* a float field holds the float nearest its option's value: compare as floats */
		if (d->type == OPT_FLOAT ? !((float)x >= (float)d->lo && (float)x <= (float)d->hi)
		                         : !(x >= d->lo && x <= d->hi))
			mpr_die(r, "config: '%s' = %g out of range [%g, %g]", d->key, x, d->lo, d->hi);
		switch (d->type) {
		case OPT_INT: *(int *)f = (int)x; break;
		case OPT_LONG: *(long *)f = mpr_int(r, m, d->key); break;
		case OPT_U64: *(uint64_t *)f = (uint64_t)mpr_int(r, m, d->key); break;
		case OPT_FLOAT: *(float *)f = (float)x; break;
		case OPT_DOUBLE: *(double *)f = x; break;
		}
	}
}
