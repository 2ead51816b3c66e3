/* schema: the table of stream kinds and the validator behind prvr-cat -c; see schema.h and
 * schemas/<kind>.md (the two must agree). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idindex.h"
#include "mpio.h"
#include "schema.h"
#include "util.h"

/* ---- the table ---- */

#define END { NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL }
#define STR(k, req)           { k, ST_STR, req, NULL, NULL, NULL, NULL, NULL, NULL }
#define STRNIL(k, req)        { k, ST_STRNIL, req, NULL, NULL, NULL, NULL, NULL, NULL }
#define ONEOF(k, req, set)    { k, ST_STR, req, NULL, NULL, NULL, set, NULL, NULL }
#define INT(k, req, lo, hi)   { k, ST_INT, req, NULL, lo, hi, NULL, NULL, NULL }
#define NUM(k, req)           { k, ST_NUM, req, NULL, NULL, NULL, NULL, NULL, NULL }
#define NUMNIL(k, req)        { k, ST_NUMNIL, req, NULL, NULL, NULL, NULL, NULL, NULL }
#define BOOL(k, req)          { k, ST_BOOL, req, NULL, NULL, NULL, NULL, NULL, NULL }
#define MAP(k, req, sub, each) { k, ST_MAP, req, NULL, NULL, NULL, NULL, sub, each }
#define STRS(k, req)          { k, ST_STRS, req, NULL, NULL, NULL, NULL, NULL, NULL }
#define INTS(k, req, lo, hi)  { k, ST_INTS, req, NULL, lo, hi, NULL, NULL, NULL }
#define F32(k, req, size)     { k, ST_F32, req, size, NULL, NULL, NULL, NULL, NULL }
#define I32(k, req, size, lo, hi) { k, ST_I32, req, size, lo, hi, NULL, NULL, NULL }

static const SchemaKey common_header[] = {
	ONEOF("magic", 1, MP_MAGIC),
	INT("version", 1, "1", "1"),
	STR("kind", 1),
	INT("count", 1, "-1", NULL),
	STR("cmd", 1),
	END
};

static const SchemaKey corpus_dims[] = {
	INT("video_student", 1, "1", NULL), INT("video_teacher", 1, "1", NULL),
	INT("query_student", 1, "1", NULL), INT("query_teacher", 1, "1", NULL), END
};
static const SchemaKey corpus_split[] = {
	INT("videos", 1, "0", NULL), INT("queries", 1, "0", NULL), END
};
static const SchemaKey corpus_header[] = {
	STR("name", 1), ONEOF("source", 1, "synthetic|import"), INT("seed", 1, NULL, NULL),
	MAP("dims", 1, corpus_dims, NULL), MAP("splits", 1, NULL, corpus_split),
	MAP("knobs", 1, NULL, NULL), MAP("import", 0, NULL, NULL), END
};
static const SchemaKey corpus_item[] = {
	ONEOF("split", 1, "train|val|test"), STR("id", 1), STR("video", 1),
	INT("start", 1, "0", NULL), INT("end", 1, "start+1", NULL), END
};

static const SchemaKey feat_header[] = {
	ONEOF("role", 1, "student|teacher"), INT("dim", 1, "1", NULL), STR("split", 1),
	BOOL("reduced", 1), BOOL("normalized", 1), END
};
static const SchemaKey vfeat_item[] = {
	STR("id", 1), INT("n", 1, "1", NULL), F32("x", 1, "n*dim"), END
};
static const SchemaKey qfeat_item[] = {
	STR("id", 1), STR("video", 1), INT("n", 1, "1", NULL), F32("x", 1, "n*dim"), END
};

static const SchemaKey split_header[] = { STR("split", 1), END };
static const SchemaKey tsim_item[] = {
	STR("id", 1), STR("video", 1), INT("n", 1, "1", NULL), F32("tau", 1, "n"), END
};

static const SchemaKey enc_header[] = {
	INT("dim", 1, "1", NULL), STRS("branches", 1), STRNIL("split", 1), STR("model", 0), END
};
static const SchemaKey encv_item[] = { STR("id", 1), INT("n", 1, "1", NULL), END };
static const SchemaKey encq_item[] = { STR("id", 1), STR("video", 1), END };

static const SchemaKey scores_header[] = {
	STRS("videos", 1), STRS("branches", 1), STRNIL("split", 1), END
};
static const SchemaKey scores_item[] = { STR("id", 1), STR("video", 1), END };

static const SchemaKey ranking_header[] = {
	STRS("videos", 1), INT("k", 1, "1", NULL), NUMNIL("beta", 1), STR("score", 1),
	STRNIL("split", 1), END
};
static const SchemaKey ranking_item[] = {
	STR("id", 1), STR("video", 1), INT("rank", 1, "1", "#videos"),
	I32("top", 1, "min(k,#videos)", "0", "#videos-1"), F32("topscore", 1, "min(k,#videos)"),
	END
};

static const SchemaKey metrics_header[] = {
	INT("count", 1, "1", "1"), STR("source", 0), ONEOF("input", 0, "ranking|scores"),
	STRNIL("score", 0), NUMNIL("beta", 0), STRNIL("split", 0), END
};
static const SchemaKey metrics_item[] = {
	INT("queries", 1, "1", NULL), INT("videos", 1, "1", NULL), NUM("r1", 1), NUM("r5", 1),
	NUM("r10", 1), NUM("r100", 1), NUM("sumr", 1), NUM("medr", 1), NUM("meanr", 1),
	NUM("map", 1), END
};

static const SchemaKey log_header[] = { MAP("config", 1, NULL, NULL), BOOL("eval_loss", 0), END };
static const SchemaKey log_step[] = {
	ONEOF("type", 1, "step"), INT("epoch", 1, "0", NULL), INT("step", 1, "0", NULL),
	NUM("lr", 1), NUM("kd_weight", 1), NUM("loss", 1), END
};
static const SchemaKey log_epoch[] = {
	ONEOF("type", 1, "epoch"), INT("epoch", 1, "0", NULL), INT("step", 1, "0", NULL),
	NUM("loss", 1), NUM("val_r1", 0), NUM("val_r5", 0), NUM("val_r10", 0), NUM("val_r100", 0),
	NUM("val_sumr", 0), NUM("val_medr", 0), NUM("val_meanr", 0), NUM("val_map", 0),
	NUM("val_sumr_inh", 0), NUM("val_sumr_exp", 0), BOOL("best", 1), NUM("seconds", 1), END
};

static const SchemaKey ckpt_header[] = {
	MAP("config", 1, NULL, NULL), INT("epoch", 1, "0", NULL), INT("step", 1, "0", NULL),
	NUM("best_sumr", 1), INT("best_epoch", 1, "-1", NULL), INT("bad_epochs", 1, "0", NULL),
	I32("rng", 1, "8", NULL, NULL), INT("nparams", 1, "1", NULL), END
};
static const SchemaKey ckpt_item[] = {
	STR("name", 1), INTS("shape", 1, "1", NULL), BOOL("decay", 1),
	F32("w", 1, "prod(shape)"), F32("m", 1, "prod(shape)"), F32("v", 1, "prod(shape)"), END
};

static const SchemaKey tdiff_header[] = {
	STR("a", 1), STR("b", 1), NUM("tol", 1), INT("differ", 1, "0", "count"), END
};
static const SchemaKey tdiff_item[] = {
	STR("name", 1), ONEOF("array", 1, "w|m|v"), ONEOF("status", 1, "equal|differ|shape|only-a|only-b"),
	INTS("shape_a", 1, "1", NULL), INTS("shape_b", 1, "1", NULL), INT("n", 1, "0", NULL),
	NUM("max_abs", 1), NUM("max_rel", 1), INT("over", 1, "0", "n"), END
};

#define ONE(t) (const SchemaItem[]){ { NULL, t }, { NULL, NULL } }

static void check_feat(SchemaState *, int, const msgpack_object *);
static void check_enc(SchemaState *, int, const msgpack_object *);
static void check_scores(SchemaState *, int, const msgpack_object *);
static void check_ranking(SchemaState *, int, const msgpack_object *);
static void check_metrics(SchemaState *, int, const msgpack_object *);
static void check_ckpt(SchemaState *, int, const msgpack_object *);
static void check_tdiff(SchemaState *, int, const msgpack_object *);

const SchemaKind schema_kinds[] = {
	{ "corpus", corpus_header, NULL, ONE(corpus_item), NULL, NULL },
	{ "video-features", feat_header, NULL, ONE(vfeat_item), NULL, NULL },
	{ "query-features", feat_header, NULL, ONE(qfeat_item), NULL, check_feat },
	{ "teacher-sim", split_header, NULL, ONE(tsim_item), NULL, NULL },
	{ "encoded-videos", enc_header, NULL, ONE(encv_item), "n*dim", check_enc },
	{ "encoded-queries", enc_header, NULL, ONE(encq_item), "dim", check_enc },
	{ "scores", scores_header, NULL, ONE(scores_item), "#videos", check_scores },
	{ "ranking", ranking_header, NULL, ONE(ranking_item), NULL, check_ranking },
	{ "metrics", metrics_header, NULL, ONE(metrics_item), NULL, check_metrics },
	{ "train-log", log_header, "type",
	  (const SchemaItem[]){ { "step", log_step }, { "epoch", log_epoch }, { NULL, NULL } },
	  NULL, NULL },
	{ "checkpoint", ckpt_header, NULL, ONE(ckpt_item), NULL, check_ckpt },
	{ "tensor-diff", tdiff_header, NULL, ONE(tdiff_item), NULL, check_tdiff },
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

const SchemaKind *
schema_kind(const char *kind)
{
	for (const SchemaKind *k = schema_kinds; k->kind; k++)
		if (strcmp(k->kind, kind) == 0)
			return k;
	return NULL;
}

/* ---- state ---- */

struct SchemaState {
	const MpReader *r;
	const SchemaKind *k;       /* NULL: unknown kind (only without check) */
	int check;
	msgpack_sbuffer sb;        /* the header, re-packed: hdr points into it */
	msgpack_unpacked hu;
	const msgpack_object *hdr;
	char **vid;                /* header 'videos', copied NUL-terminated */
	size_t nvids;
	IdIndex vix;               /* over vid */
	unsigned char *listed;     /* (nvids) ranking: the videos of the item's top so far */
	long sum;                  /* checkpoint: elements of the tensors so far; tensor-diff: items
	                              that differ so far */
};

/* ---- typed access (types already checked by the table) ---- */

static int
str_eq(const msgpack_object *o, const char *s, size_t n)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

static const msgpack_object *
find_n(const msgpack_object *map, const char *k, size_t n)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (str_eq(&map->via.map.ptr[i].key, k, n))
			return &map->via.map.ptr[i].val;
	return NULL;
}

static const char *
type_name(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "a float";
	case MSGPACK_OBJECT_STR: return "a string";
	case MSGPACK_OBJECT_ARRAY: return "an array";
	case MSGPACK_OBJECT_MAP: return "a map";
	case MSGPACK_OBJECT_BIN: return "a bin";
	default: return "an extension";
	}
}

/* ---- size and bound expressions: integers, keys (item first, then header), #key (array
 * length), prod(key) (product of an integer array), min(a,b), + - * ---- */

typedef struct {
	const char *p, *expr;
	SchemaState *s;
	const msgpack_object *item;
} Ev;

static long ev_sum(Ev *e);

static _Noreturn void
ev_die(Ev *e, const char *what)
{
	mpr_die(e->s->r, "%s (in '%s')", what, e->expr);
}

static const msgpack_object *
ev_key(Ev *e, char *name, size_t size)
{
	size_t n = 0;
	const msgpack_object *o;

	while (isalnum((unsigned char)*e->p) || *e->p == '_') {
		if (n + 1 < size)
			name[n++] = *e->p;
		e->p++;
	}
	name[n] = '\0';
	if (!n)
		ev_die(e, "schema: bad expression");
	o = e->item ? find_n(e->item, name, n) : NULL;
	if (!o)
		o = find_n(e->s->hdr, name, n);
	return o;
}

static long
ev_factor(Ev *e)
{
	char name[64], msg[128];
	const msgpack_object *o;
	long v, w;

	if (*e->p == '-') {
		e->p++;
		if (__builtin_sub_overflow(0, ev_factor(e), &v))
			ev_die(e, "value out of range");
		return v;
	}
	if (isdigit((unsigned char)*e->p))
		return strtol(e->p, (char **)&e->p, 10);
	if (*e->p == '#') {
		e->p++;
		o = ev_key(e, name, sizeof(name));
		if (!o || o->type != MSGPACK_OBJECT_ARRAY) {
			snprintf(msg, sizeof(msg), "key '%s': missing or not an array", name);
			ev_die(e, msg);
		}
		return (long)o->via.array.size;
	}
	if (strncmp(e->p, "min(", 4) == 0) {
		e->p += 4;
		v = ev_sum(e);
		if (*e->p++ != ',')
			ev_die(e, "schema: bad expression");
		w = ev_sum(e);
		if (*e->p++ != ')')
			ev_die(e, "schema: bad expression");
		return MIN(v, w);
	}
	if (strncmp(e->p, "prod(", 5) == 0) {
		e->p += 5;
		o = ev_key(e, name, sizeof(name));
		if (*e->p++ != ')')
			ev_die(e, "schema: bad expression");
		if (!o || o->type != MSGPACK_OBJECT_ARRAY) {
			snprintf(msg, sizeof(msg), "key '%s': missing or not an array", name);
			ev_die(e, msg);
		}
		v = 1;
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (!mp_as_int(&o->via.array.ptr[i], &w) || w < 0 || (w && v > (1L << 40) / w)) {
				snprintf(msg, sizeof(msg), "key '%s': bad or too large shape", name);
				ev_die(e, msg);
			}
			v *= w;
		}
		return v;
	}
	o = ev_key(e, name, sizeof(name));
	if (!o || !mp_as_int(o, &v)) {
		snprintf(msg, sizeof(msg), "key '%s': missing or not an integer", name);
		ev_die(e, msg);
	}
	return v;
}

static long
ev_term(Ev *e)
{
	long v = ev_factor(e), w;

	while (*e->p == '*') {
		e->p++;
		w = ev_factor(e);
		if (v < 0 || w < 0 || (w && v > (1L << 40) / w))
			ev_die(e, "size out of range");
		v *= w;
	}
	return v;
}

static long
ev_sum(Ev *e)
{
	long v = ev_term(e);

	for (;;) {
		/* values come from the stream: start + 1 of a start near INT64_MAX must not wrap */
		if (*e->p == '+') {
			e->p++;
			if (__builtin_add_overflow(v, ev_term(e), &v))
				ev_die(e, "value out of range");
		} else if (*e->p == '-') {
			e->p++;
			if (__builtin_sub_overflow(v, ev_term(e), &v))
				ev_die(e, "value out of range");
		} else {
			return v;
		}
	}
}

static long
eval(SchemaState *s, const msgpack_object *item, const char *expr)
{
	Ev e = { expr, expr, s, item };
	long v = ev_sum(&e);

	if (*e.p)
		ev_die(&e, "schema: bad expression");
	return v;
}

/* ---- checking one key ---- */

static void
check_range(SchemaState *s, const msgpack_object *item, const SchemaKey *k, long v, const char *at)
{
	if (k->lo && v < eval(s, item, k->lo))
		mpr_die(s->r, "key '%s'%s: %ld is below %ld (%s)", k->key, at, v, eval(s, item, k->lo), k->lo);
	if (k->hi && v > eval(s, item, k->hi))
		mpr_die(s->r, "key '%s'%s: %ld is above %ld (%s)", k->key, at, v, eval(s, item, k->hi), k->hi);
}

static int
in_set(const char *set, const char *p, size_t n)
{
	for (;;) {
		const char *bar = strchr(set, '|');
		size_t m = bar ? (size_t)(bar - set) : strlen(set);
		if (m == n && memcmp(set, p, n) == 0)
			return 1;
		if (!bar)
			return 0;
		set = bar + 1;
	}
}

static void check_map(SchemaState *s, const msgpack_object *map, const SchemaKey *keys,
                      const msgpack_object *ctx, const char *where);

static void
check_key(SchemaState *s, const msgpack_object *map, const SchemaKey *k, const msgpack_object *ctx,
          const char *where)
{
	const msgpack_object *o = find_n(map, k->key, strlen(k->key));
	const char *want = NULL;
	char at[96];
	long v, n;
	size_t nb;

	if (!o) {
		if (k->required)
			mpr_die(s->r, "missing key '%s'%s", k->key, where);
		return;
	}
	switch (k->type) {
	case ST_STR:
	case ST_STRNIL:
		if (k->type == ST_STRNIL && o->type == MSGPACK_OBJECT_NIL)
			break;
		if (o->type != MSGPACK_OBJECT_STR)
			want = k->type == ST_STR ? "a string" : "a string or nil";
		else if (memchr(o->via.str.ptr, 0, o->via.str.size))
			mpr_die(s->r, "key '%s'%s: string contains a NUL byte", k->key, where);
		else if (k->oneof && !in_set(k->oneof, o->via.str.ptr, o->via.str.size))
			mpr_die(s->r, "key '%s'%s: '%.*s' is not one of %s", k->key, where,
			        (int)MIN(o->via.str.size, 64), o->via.str.ptr, k->oneof);
		break;
	case ST_INT:
		if (!mp_as_int(o, &v))
			want = "an integer";
		else
			check_range(s, ctx, k, v, where);
		break;
	case ST_NUM:
	case ST_NUMNIL:
		if (k->type == ST_NUMNIL && o->type == MSGPACK_OBJECT_NIL)
			break;
		if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) {
			if (!isfinite(o->via.f64))
				mpr_die(s->r, "key '%s'%s: NaN or Inf", k->key, where);
		} else if (!mp_as_int(o, &v)) {
			want = k->type == ST_NUM ? "a number" : "a number or nil";
		}
		break;
	case ST_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			want = "a boolean";
		break;
	case ST_MAP:
		if (o->type != MSGPACK_OBJECT_MAP) {
			want = "a map";
			break;
		}
		snprintf(at, sizeof(at), " in '%s'", k->key);
		if (k->sub)
			check_map(s, o, k->sub, NULL, at);
		if (k->each)
			for (uint32_t i = 0; i < o->via.map.size; i++) {
				const msgpack_object *kk = &o->via.map.ptr[i].key;
				snprintf(at, sizeof(at), " in '%s'.'%.*s'", k->key,
				         kk->type == MSGPACK_OBJECT_STR ? (int)MIN(kk->via.str.size, 32) : 1,
				         kk->type == MSGPACK_OBJECT_STR ? kk->via.str.ptr : "?");
				if (o->via.map.ptr[i].val.type != MSGPACK_OBJECT_MAP)
					mpr_die(s->r, "key '%s'%s: expected a map, got %s", k->key, where,
					        type_name(&o->via.map.ptr[i].val));
				check_map(s, &o->via.map.ptr[i].val, k->each, NULL, at);
			}
		break;
	case ST_STRS:
	case ST_INTS:
		if (o->type != MSGPACK_OBJECT_ARRAY) {
			want = k->type == ST_STRS ? "an array of strings" : "an array of integers";
			break;
		}
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			const msgpack_object *e = &o->via.array.ptr[i];
			snprintf(at, sizeof(at), "%s[%u]", where, i);
			if (k->type == ST_STRS && e->type != MSGPACK_OBJECT_STR)
				mpr_die(s->r, "key '%s'%s: expected a string, got %s", k->key, at, type_name(e));
			if (k->type == ST_INTS) {
				if (!mp_as_int(e, &v))
					mpr_die(s->r, "key '%s'%s: expected an integer, got %s", k->key, at,
					        type_name(e));
				check_range(s, ctx, k, v, at);
			}
		}
		break;
	case ST_F32:
	case ST_I32:
		if (o->type != MSGPACK_OBJECT_BIN) {
			want = k->type == ST_F32 ? "a bin of float32" : "a bin of int32";
			break;
		}
		nb = o->via.bin.size;
		if (nb % 4)
			mpr_die(s->r, "key '%s'%s: bin of %zu bytes is not a multiple of 4", k->key, where, nb);
		if (k->size && (n = eval(s, ctx, k->size)) != (long)(nb / 4))
			mpr_die(s->r, "key '%s'%s: expected %ld %s, got %zu", k->key, where, n,
			        k->type == ST_F32 ? "float32" : "int32", nb / 4);
		for (size_t i = 0; i < nb / 4; i++) {
			if (k->type == ST_F32) {
				float f;
				memcpy(&f, o->via.bin.ptr + 4 * i, 4);
				if (!isfinite(f))
					mpr_die(s->r, "key '%s'%s: NaN or Inf at element %zu", k->key, where, i);
			} else if (k->lo || k->hi) {
				int32_t x;
				memcpy(&x, o->via.bin.ptr + 4 * i, 4);
				snprintf(at, sizeof(at), "%s[%zu]", where, i);
				check_range(s, ctx, k, x, at);
			}
		}
		break;
	}
	if (want)
		mpr_die(s->r, "key '%s'%s: expected %s, got %s", k->key, where, want, type_name(o));
}

static void
check_map(SchemaState *s, const msgpack_object *map, const SchemaKey *keys, const msgpack_object *ctx,
          const char *where)
{
	for (const SchemaKey *k = keys; k->key; k++)
		check_key(s, map, k, ctx, where);
}

/* ---- invariants beyond the table ---- */

static void
index_videos(SchemaState *s)
{
	const msgpack_object *v = find_n(s->hdr, "videos", 6);

	int a, b;

	s->nvids = v->via.array.size;
	if (!s->nvids)
		mpr_die(s->r, "key 'videos': empty");
	if (s->nvids > INT32_MAX)
		mpr_die(s->r, "key 'videos': %zu ids, more than %d", s->nvids, INT32_MAX);
	s->vid = ecalloc(s->nvids, sizeof(*s->vid));
	for (size_t i = 0; i < s->nvids; i++) {
		const msgpack_object *x = &v->via.array.ptr[i];
		if (memchr(x->via.str.ptr, '\0', x->via.str.size))
			mpr_die(s->r, "key 'videos': a NUL byte in id %zu", i);
		s->vid[i] = emalloc(x->via.str.size + 1);
		memcpy(s->vid[i], x->via.str.ptr, x->via.str.size);
		s->vid[i][x->via.str.size] = '\0';
	}
	if (idindex_of(&s->vix, s->vid, (int)s->nvids, &a, &b))
		mpr_die(s->r, "key 'videos': duplicate id '%.128s'", s->vid[b]);
	s->listed = ecalloc(s->nvids, 1);
}

/* column of the item's own video in the header's videos; dies when absent */
static int
own_video(SchemaState *s, const msgpack_object *o)
{
	const msgpack_object *v = find_n(o, "video", 5);
	const long *c = idindex_getn(&s->vix, v->via.str.ptr, v->via.str.size);

	if (!c)
		mpr_die(s->r, "key 'video': '%.*s' is not in the header's videos",
		        (int)MIN(v->via.str.size, 128), v->via.str.ptr);
	return (int)*c;
}

static void
check_feat(SchemaState *s, int phase, const msgpack_object *o)
{
	long n;

	if (phase == 1 && str_eq(find_n(s->hdr, "role", 4), "teacher", 7) &&
	    mp_as_int(find_n(o, "n", 1), &n) && n != 1)
		mpr_die(s->r, "key 'n': %ld, a teacher query embedding has n = 1", n);
}

static void
unique_branches(SchemaState *s)
{
	const msgpack_object *b = find_n(s->hdr, "branches", 8);

	if (!b->via.array.size)
		mpr_die(s->r, "key 'branches': empty");
	for (uint32_t i = 0; i < b->via.array.size; i++)
		for (uint32_t j = 0; j < i; j++)
			if (str_eq(&b->via.array.ptr[i], b->via.array.ptr[j].via.str.ptr,
			           b->via.array.ptr[j].via.str.size))
				mpr_die(s->r, "key 'branches': '%.*s' twice",
				        (int)b->via.array.ptr[i].via.str.size, b->via.array.ptr[i].via.str.ptr);
}

static void
check_enc(SchemaState *s, int phase, const msgpack_object *o)
{
	const msgpack_object *b = find_n(s->hdr, "branches", 8);
	uint32_t n = b->via.array.size;

	if (phase != 0)
		return;
	/* a subset of ["inh", "exp"] in that order */
	if (!((n == 1 && (str_eq(&b->via.array.ptr[0], "inh", 3) || str_eq(&b->via.array.ptr[0], "exp", 3))) ||
	      (n == 2 && str_eq(&b->via.array.ptr[0], "inh", 3) && str_eq(&b->via.array.ptr[1], "exp", 3))))
		mpr_die(s->r, "key 'branches': expected [\"inh\"], [\"exp\"] or [\"inh\",\"exp\"]");
}

static void
check_scores(SchemaState *s, int phase, const msgpack_object *o)
{
	if (phase == 0) {
		index_videos(s);
		unique_branches(s);
	} else if (phase == 1) {
		own_video(s, o);
	}
}

static void
check_ranking(SchemaState *s, int phase, const msgpack_object *o)
{
	const msgpack_object *top, *ts;
	long rank = 0;
	int own;
	float prev = INFINITY, f;

	if (phase == 0) {
		index_videos(s);
		return;
	}
	if (phase != 1)
		return;
	own = own_video(s, o);
	mp_as_int(find_n(o, "rank", 4), &rank);
	top = find_n(o, "top", 3);
	ts = find_n(o, "topscore", 8);
	for (uint32_t i = 0; i < top->via.bin.size / 4; i++) {
		int32_t t;
		memcpy(&t, top->via.bin.ptr + 4 * i, 4);
		if ((t == own) != (i + 1 == rank))
			mpr_die(s->r, "key 'top': disagrees with 'rank' %ld (own video is column %d, "
			        "top[%u] = %d)", rank, own, i, (int)t);
		if (s->listed[t]++)
			mpr_die(s->r, "key 'top': video %d listed twice", (int)t);
		memcpy(&f, ts->via.bin.ptr + 4 * i, 4);
		if (f > prev)
			mpr_die(s->r, "key 'topscore': increases at element %u", i);
		prev = f;
	}
	for (uint32_t i = 0; i < top->via.bin.size / 4; i++) {
		int32_t t;
		memcpy(&t, top->via.bin.ptr + 4 * i, 4);
		s->listed[t] = 0;
	}
}

/* a number already checked by the table */
static double
num_of(const msgpack_object *o)
{
	long v;

	return mp_as_int(o, &v) ? (double)v : o->via.f64;
}

static void
check_metrics(SchemaState *s, int phase, const msgpack_object *o)
{
	static const char *const pct[] = { "r1", "r5", "r10", "r100" };
	double v[4], sum = 0, x;
	long nv = 0;

	if (phase != 1)
		return;
	for (int i = 0; i < 4; i++) {
		v[i] = num_of(find_n(o, pct[i], strlen(pct[i])));
		if (v[i] < 0 || v[i] > 100 || (i && v[i] < v[i - 1]))
			mpr_die(s->r, "key '%s': %g is not a percentage at least R@K of smaller K",
			        pct[i], v[i]);
		sum += v[i];
	}
	x = num_of(find_n(o, "sumr", 4));
	if (fabs(x - sum) > 1e-6 * MAX(1.0, sum))
		mpr_die(s->r, "key 'sumr': %g, but R@1 + R@5 + R@10 + R@100 = %g", x, sum);
	mp_as_int(find_n(o, "videos", 6), &nv);
	for (int i = 0; i < 3; i++) {
		static const char *const rk[] = { "medr", "meanr", "map" };
		x = num_of(find_n(o, rk[i], strlen(rk[i])));
		if (i < 2 ? (x < 1 || x > nv) : (x <= 0 || x > 1))
			mpr_die(s->r, "key '%s': %g out of range", rk[i], x);
	}
}

static void
check_ckpt(SchemaState *s, int phase, const msgpack_object *o)
{
	long np = 0;

	if (phase == 1) {
		s->sum += eval(s, o, "prod(shape)");
	} else if (phase == 2) {
		mp_as_int(find_n(s->hdr, "nparams", 7), &np);
		if (np != s->sum)
			mpr_die(s->r, "header 'nparams' %ld, but the tensors hold %ld", np, s->sum);
	}
}

/* the status of a tensor-diff item agrees with its numbers and shapes; the header's differ
 * counts the items that are not equal */
static void
check_tdiff(SchemaState *s, int phase, const msgpack_object *o)
{
	const msgpack_object *st, *sa, *sb;
	long n = 0, over = 0, differ = 0;
	int cmp, eq;

	if (phase == 0) {
		double tol = num_of(find_n(s->hdr, "tol", 3));
		if (tol < 0 || tol > 2)
			mpr_die(s->r, "key 'tol': %g is not in 0..2", tol);
	} else if (phase == 1) {
		st = find_n(o, "status", 6);
		sa = find_n(o, "shape_a", 7);
		sb = find_n(o, "shape_b", 7);
		mp_as_int(find_n(o, "n", 1), &n);
		mp_as_int(find_n(o, "over", 4), &over);
		eq = str_eq(st, "equal", 5);
		cmp = eq || str_eq(st, "differ", 6);
		if (num_of(find_n(o, "max_abs", 7)) < 0 || num_of(find_n(o, "max_rel", 7)) < 0 ||
		    num_of(find_n(o, "max_rel", 7)) > 2)
			mpr_die(s->r, "key 'max_abs' or 'max_rel': negative, or 'max_rel' above 2");
		if (cmp && (n != eval(s, o, "prod(shape_a)") || n != eval(s, o, "prod(shape_b)") ||
		            !sa->via.array.size || sa->via.array.size != sb->via.array.size))
			mpr_die(s->r, "key 'n': %ld, but the item compares shapes of %ld and %ld values", n,
			        eval(s, o, "prod(shape_a)"), eval(s, o, "prod(shape_b)"));
		if (cmp && (over == 0) != eq)
			mpr_die(s->r, "key 'status': '%s' with %ld values over the tolerance",
			        eq ? "equal" : "differ", over);
		if (!cmp && n)
			mpr_die(s->r, "key 'n': %ld values compared, but the status says none", n);
		if ((str_eq(st, "only-a", 6) && (!sa->via.array.size || sb->via.array.size)) ||
		    (str_eq(st, "only-b", 6) && (sa->via.array.size || !sb->via.array.size)))
			mpr_die(s->r, "key 'status': only in one checkpoint, but shapes of both or neither");
		s->sum += !eq;
	} else {
		mp_as_int(find_n(s->hdr, "differ", 6), &differ);
		if (differ != s->sum)
			mpr_die(s->r, "header 'differ' %ld, but %ld items differ", differ, s->sum);
	}
}

/* ---- the validator ---- */

SchemaState *
schema_open(const MpReader *r, const msgpack_object *hdr, int check)
{
	SchemaState *s = ecalloc(1, sizeof(*s));
	msgpack_packer pk;
	size_t off = 0;

	s->r = r;
	s->check = check;
	msgpack_sbuffer_init(&s->sb);
	msgpack_packer_init(&pk, &s->sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, *hdr))
		die("schema: out of memory");
	msgpack_unpacked_init(&s->hu);
	if (msgpack_unpack_next(&s->hu, s->sb.data, s->sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
		die("schema: cannot copy the header");
	s->hdr = &s->hu.data;
	s->k = schema_kind(r->kind);
	if (!check)
		return s;
	if (!s->k)
		mpr_die(r, "unknown kind '%s' (no schema)", r->kind);
	check_map(s, s->hdr, common_header, NULL, "");
	check_map(s, s->hdr, s->k->header, NULL, "");
	if (s->k->check)
		s->k->check(s, 0, NULL);
	return s;
}

void
schema_check_header(const MpReader *r, const msgpack_object *hdr)
{
	SchemaState *s = schema_open(r, hdr, 1);

	s->check = 0;                  /* the header alone: no end-of-stream invariants */
	schema_close(s);
}

const msgpack_object *
schema_header(MpReader *r, const char *kind)
{
	const msgpack_object *h = mpr_header(r, kind);

	schema_check_header(r, h);
	return h;
}

void
schema_item(SchemaState *s, const msgpack_object *o)
{
	const SchemaItem *it = s->k->items;

	CHECK(s->check);
	if (s->k->disc) {
		const msgpack_object *d = find_n(o, s->k->disc, strlen(s->k->disc));
		char set[128] = "";
		if (!d)
			mpr_die(s->r, "missing key '%s'", s->k->disc);
		if (d->type != MSGPACK_OBJECT_STR)
			mpr_die(s->r, "key '%s': expected a string, got %s", s->k->disc, type_name(d));
		for (; it->keys; it++) {
			if (str_eq(d, it->value, strlen(it->value)))
				break;
			snprintf(set + strlen(set), sizeof(set) - strlen(set), "%s%s", *set ? "|" : "",
			         it->value);
		}
		if (!it->keys)
			mpr_die(s->r, "key '%s': '%.*s' is not one of %s", s->k->disc,
			        (int)MIN(d->via.str.size, 64), d->via.str.ptr, set);
	}
	check_map(s, o, it->keys, o, "");
	if (s->k->branch_size) {
		const msgpack_object *b = find_n(s->hdr, "branches", 8);
		for (uint32_t i = 0; i < b->via.array.size; i++) {
			char name[64];
			const msgpack_object *e = &b->via.array.ptr[i];
			snprintf(name, sizeof(name), "%.*s", (int)e->via.str.size, e->via.str.ptr);
			SchemaKey k = F32(name, 1, s->k->branch_size);
			check_key(s, o, &k, o, "");
		}
	}
	if (s->k->check)
		s->k->check(s, 1, o);
}

void
schema_close(SchemaState *s)
{
	if (s->check && s->k->check)
		s->k->check(s, 2, NULL);
	for (size_t i = 0; s->vid && i < s->nvids; i++)
		free(s->vid[i]);
	free(s->vid), free(s->listed);
	idindex_free(&s->vix);
	msgpack_unpacked_destroy(&s->hu);
	msgpack_sbuffer_destroy(&s->sb);
	free(s);
}

static int
table_dtype(const SchemaKey *t, const char *k, size_t n)
{
	for (; t->key; t++)
		if (strlen(t->key) == n && memcmp(t->key, k, n) == 0)
			return t->type == ST_F32 ? 'f' : t->type == ST_I32 ? 'i' : 0;
	return 0;
}

int
schema_dtype(const SchemaState *s, int header, const char *k, size_t n)
{
	const msgpack_object *b;
	int t;

	if (!s->k)
		return 0;
	if (header)
		return table_dtype(s->k->header, k, n);
	for (const SchemaItem *it = s->k->items; it->keys; it++)
		if ((t = table_dtype(it->keys, k, n)))
			return t;
	b = find_n(s->hdr, "branches", 8);
	if (s->k->branch_size && b && b->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t i = 0; i < b->via.array.size; i++)
			if (str_eq(&b->via.array.ptr[i], k, n))
				return 'f';
	return 0;
}
