/* opts: a configuration declared once. A tool's configuration struct is described by one array
 * of OptDesc, in the order its keys are stored; that array alone drives the defaults, the
 * getopt_long table, the option section of --help, the range checks of the command line and
 * of a stored configuration, and the msgpack map a checkpoint or train-log header holds
 * (key order = array order, so the bytes follow the array). An entry may be a flag only, a
 * stored key only (a dimension taken from the data, a count derived from it), or both.
 * Not here: options that are not configuration (inputs, outputs, -j), what the configuration
 * means (ckpt for distill-step, de-train for itself), checks between options. */
#ifndef OPTS_H
#define OPTS_H

#include <getopt.h>
#include <stddef.h>

#include "mpio.h"

enum {
	OPT_SECTION,               /* a help heading ("model:"); no field */
	OPT_INT, OPT_LONG, OPT_U64,/* integers in [lo, hi] */
	OPT_FLOAT, OPT_DOUBLE,     /* numbers in [lo, hi] */
	OPT_BOOL,                  /* int 0/1; the flag (no argument) sets it to hi */
	OPT_ENUM,                  /* int; on the command line and stored as a word (parse, name) */
	OPT_WORD,                  /* char[size]; valid() accepts it */
	OPT_DERIVED                /* stored by pack() from other fields; not read back, no flag */
};

enum {
	OPTF_SHAPE = 1,            /* fixes the model's shape: given with --resume it must match */
	OPTF_OWNDEF = 2            /* the default depends on other options: help says which */
};

typedef struct {
	int type;
	const char *flag;          /* long option without "--"; NULL: not on the command line */
	const char *key;           /* key of the stored map; NULL: not stored */
	size_t off, size;          /* the field: offsetof and sizeof in the configuration struct */
	double lo, hi;             /* range of numbers */
	const char *def;           /* default, parsed like the command line; NULL: 0 or set by the
	                              caller (a value derived from other options) */
	int flags;                 /* OPTF_* */
	const char *arg;           /* the argument's name in --help ("N") */
	const char *help;          /* help text; '\n' continues on an indented line */
	int (*parse)(const char *);/* OPT_ENUM: word -> value, -1 unknown */
	const char *(*name)(int);  /* OPT_ENUM: value -> word */
	int (*valid)(const char *);/* OPT_WORD: 1 when a known word */
	void (*pack)(MpWriter *, const void *cfg); /* OPT_DERIVED: writes the value */
} OptDesc;

/* the designated initializers of field F of struct S */
#define OPT_FIELD(S, F) .off = offsetof(S, F), .size = sizeof(((S *)0)->F)

/* every field with a default set to it, the others 0 */
void opts_defaults(const OptDesc *t, int n, void *cfg, size_t cfg_size);
/* fixed (the tool's other options, ending with a NULL entry) followed by one entry per flag
 * of t, whose getopt_long value is OPTS_CODE + its index; free() the result */
#define OPTS_CODE 1024
struct option *opts_longopts(const struct option *fixed, const OptDesc *t, int n);
/* the index of the entry with this flag (it must exist) */
int  opts_index(const OptDesc *t, int n, const char *flag);
/* getopt_long returned code with arg: set the field, dying with a one-line usage error naming
 * the flag on a bad value. Returns the entry's index, or -1 when code is not one of t's. */
int  opts_parse(const OptDesc *t, int n, void *cfg, int code, const char *arg);
/* set the option with this flag (it must exist) from text, as the command line would; a
 * boolean from "0" or "1" */
void opts_set(const OptDesc *t, int n, void *cfg, const char *flag, const char *value);
/* the flags of t with their help and default (def, else the value in dflt when not NULL),
 * under their section headings */
void opts_help(const OptDesc *t, int n, const void *dflt);
/* 1 when entry i of t holds the same value in a and b */
int  opts_equal(const OptDesc *t, int i, const void *a, const void *b);
/* the value of entry i as text (for messages); buf of n bytes */
const char *opts_value(const OptDesc *t, int i, const void *cfg, char *buf, size_t n);

/* the stored keys of t as one map value */
void opts_pack(MpWriter *w, const OptDesc *t, int n, const void *cfg);
/* defaults, then every stored key of t from the map m, each checked like the command line;
 * a key with a default may be absent (a map written before its option was added) and keeps
 * the default. Dies naming the reader's file and record on a missing key or a bad value. */
void opts_read(const MpReader *r, const msgpack_object *m, const OptDesc *t, int n, void *cfg,
               size_t cfg_size);

#endif
