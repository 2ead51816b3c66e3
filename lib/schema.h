/* schema: the machine-readable table of every stream kind of doc/design.md and schemas/<kind>.md:
 * for the header and the items of each kind, the required and optional keys, their types,
 * integer ranges, allowed strings, and tensor sizes tied to other keys (e.g. x holds n*dim
 * float32, top holds min(k,#videos) int32; '#key' is the length of an array key), plus a few
 * invariants no table can say (own video listed in the header's videos, top agrees with rank,
 * checkpoint nparams equals its tensors' sizes). Used by prvr-cat -c, by the readers for their
 * headers (schema_header) and by tests.
 * Not here: reading or printing streams (mpio, prvr-cat); cross-stream agreement (data). */
#ifndef SCHEMA_H
#define SCHEMA_H

#include <stddef.h>

#include "mpio.h"

typedef enum {
	ST_STR = 1,   /* string; oneof restricts it ("a|b") */
	ST_STRNIL,    /* string or nil */
	ST_INT,       /* integer in [lo, hi] */
	ST_NUM,       /* finite number (integer or float) */
	ST_NUMNIL,    /* finite number or nil */
	ST_BOOL,
	ST_MAP,       /* map; sub: keys it must have; each: table every value (a map) must satisfy */
	ST_STRS,      /* array of strings */
	ST_INTS,      /* array of integers, each in [lo, hi] */
	ST_F32,       /* bin of `size` little-endian float32, all finite */
	ST_I32        /* bin of `size` little-endian int32, each in [lo, hi] */
} SchemaType;

typedef struct SchemaKey {
	const char *key;              /* NULL ends a table */
	SchemaType type;
	int required;
	const char *size;             /* tensors: element count expression; NULL: any */
	const char *lo, *hi;          /* integer bounds (expressions, inclusive); NULL: none */
	const char *oneof;            /* strings: allowed values separated by '|' */
	const struct SchemaKey *sub;  /* ST_MAP: keys of the map */
	const struct SchemaKey *each; /* ST_MAP: keys of every value of the map */
} SchemaKey;

typedef struct {
	const char *value;            /* value of the kind's discriminator key; NULL: every item */
	const SchemaKey *keys;        /* NULL ends the list of variants */
} SchemaItem;

typedef struct SchemaState SchemaState;

typedef struct {
	const char *kind;
	const SchemaKey *header;      /* beyond magic, version, kind, count, cmd (always checked) */
	const char *disc;             /* item key choosing a variant of items, or NULL */
	const SchemaItem *items;
	const char *branch_size;      /* each name in the header's 'branches' is an f32 item key of
	                                 this size; NULL: no branch keys */
	/* invariants beyond the table; phase 0 header, 1 item o, 2 end of stream (o NULL) */
	void (*check)(SchemaState *s, int phase, const msgpack_object *o);
} SchemaKind;

extern const SchemaKind schema_kinds[];   /* ended by kind NULL */

const SchemaKind *schema_kind(const char *kind);   /* NULL when unknown */

/* Keep a copy of the header hdr of reader r (read with mpr_header). With check set, validate
 * the header against its kind (dying via mpr_die on the first violation, also for an unknown
 * kind); without, only remember it (for schema_dtype) whatever it holds. */
SchemaState *schema_open(const MpReader *r, const msgpack_object *hdr, int check);
/* The header hdr of r (from mpr_header) validated against its kind's table (types, ranges,
 * allowed strings, required keys; dies via mpr_die naming the file and the key): the header
 * check of every reader of a known kind, instead of checks by hand. */
void schema_check_header(const MpReader *r, const msgpack_object *hdr);
/* mpr_header(r, kind), then schema_check_header */
const msgpack_object *schema_header(MpReader *r, const char *kind);
/* validate the item just returned by mpr_next; dies via mpr_die on the first violation */
void schema_item(SchemaState *s, const msgpack_object *item);
/* end-of-stream invariants (with check), then free */
void schema_close(SchemaState *s);
/* element type of tensor key (k, n bytes) in the header (header set) or an item: 'f' float32,
 * 'i' int32, 0 unknown */
int  schema_dtype(const SchemaState *s, int header, const char *k, size_t n);

#endif
