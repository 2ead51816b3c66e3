/* mpio: the project's stream format on msgpack-c, read and written over files, stdin and pipes.
 *
 * A stream is a sequence of msgpack maps. Record 0 is the header
 *   {"magic":"prvr", "version":1, "kind":K, "count":N, "cmd":"...", ...kind-specific keys}
 * and records 1..N are items (count -1: unknown, e.g. a training log). Tensors are msgpack bin
 * of little-endian float32 (or int32) with their shape given by the header or a nearby key.
 * Readers hold one record at a time (constant memory per record), read gzip transparently and
 * die with "NAME: record I: problem" on anything truncated, corrupt, mis-typed or non-finite.
 * Nothing is allocated from a size read from input before the bytes behind it have arrived: a
 * record is decoded only once all its bytes are in memory (so msgpack's own allocations are
 * bounded by the record's length), and a gzip record may not expand more than MP_GZ_RATIO times
 * past MP_GZ_FLOOR bytes (a decompression bomb is refused, not allocated).
 * Writers to a path write NAME.tmp.PID and rename on mpw_close, so a failed run leaves no file.
 * Every record a writer emits ends with a pair "crc32": CRC-32 (zlib) of the record's bytes up to
 * that pair (the map header, which counts the crc32 pair, and every other pair, in order);
 * readers verify it when present, so a flipped byte inside a tensor is an error, not a silently
 * different number. Producers outside the project may omit it.
 * Not a generic msgpack wrapper: only the types the schemas use. See schemas/README.md. */
#ifndef MPIO_H
#define MPIO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <zlib.h>

#define MP_MAGIC "prvr"
#define MP_VERSION 1
#define MP_GZ_FLOOR ((size_t)16 << 20)
#define MP_GZ_RATIO 64

typedef struct {
	char *name;            /* path, or "<stdin>": used in every message */
	gzFile gz;
	char *buf;             /* bytes read: the current record from start, then what follows */
	size_t cap, len;       /* allocated, filled */
	size_t start, used;    /* offset and bytes of the current record */
	long long fsize;       /* size of a regular file, -1 otherwise */
	long long consumed;    /* decoded bytes of the records before the current one */
	msgpack_unpacked r;
	long rec;              /* index of the record last returned; 0 = header, -1 none yet */
	long count;            /* items promised by the header, -1 unknown */
	int checksums;         /* header promised a crc32 in every record */
	char kind[64];
} MpReader;

typedef struct {
	char *name;            /* final path, or "<stdout>" */
	char *tmp;             /* temp path renamed to name on close; NULL for stdout */
	int fd;
	gzFile gz;             /* non-NULL when writing gzip */
	msgpack_packer pk;
	char *buf;             /* write-behind buffer: msgpack packs in many small pieces */
	size_t nbuf;
	long rec;              /* records written so far, header included */
	int in_record;         /* a top-level map has been started and not finished */
	int crc_on;            /* bytes packed now belong to the record's checksum */
	unsigned long crc;
	long count;            /* items the header promised, checked at close; -1 unknown */
	/* values each open map or array of the record still expects (a map of n pairs: 2n), so
	 * that a map's promised size that differs from what was written dies at the writer */
	size_t left[16];
	int depth;
} MpWriter;

/* ---- reading ---- */

MpReader *mpr_open(const char *path);                 /* "-" = stdin */
/* read record 0, check magic, version and kind (NULL accepts any); returns the header map */
const msgpack_object *mpr_header(MpReader *r, const char *kind);
/* next item map, or NULL at a clean end; dies on truncation, non-map, or a count mismatch */
const msgpack_object *mpr_next(MpReader *r);
/* the checks mpr_next makes on item map o, read as record rec by other means (lib/recfile):
 * a map, its crc32 (then dropped from o); messages name record rec from then on */
void mpr_record(MpReader *r, msgpack_object *o, long rec);
void mpr_close(MpReader *r);                          /* also reports deferred gzip errors */
/* offset in the decoded stream of the end of the record last returned (for an uncompressed
 * file, its offset in the file) */
long long mpr_end_offset(const MpReader *r);
/* most bytes the rest of the stream can decode to: from the file's size for a regular file
 * (times the deflate limit 1032 when gzip), SIZE_MAX for a pipe */
size_t mpr_bytes_left(const MpReader *r);
_Noreturn void mpr_die(const MpReader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* map access; the "r" variants die naming r, the record and the key when absent or mis-typed */
const msgpack_object *mp_find(const msgpack_object *map, const char *key);
/* 1 and *v = o's value when o is an integer that fits a long, else 0 */
int         mp_as_int(const msgpack_object *o, long *v);
long        mpr_int(const MpReader *r, const msgpack_object *map, const char *key);
long        mpr_int_or(const MpReader *r, const msgpack_object *map, const char *key, long dflt);
double      mpr_num(const MpReader *r, const msgpack_object *map, const char *key);
double      mpr_num_or(const MpReader *r, const msgpack_object *map, const char *key, double dflt);
int         mpr_bool_or(const MpReader *r, const msgpack_object *map, const char *key, int dflt);
char       *mpr_strdup(const MpReader *r, const msgpack_object *map, const char *key);
/* copy string into buf (size bytes incl. NUL); dies if it does not fit */
void        mpr_strcpy(const MpReader *r, const msgpack_object *map, const char *key, char *buf, size_t size);
/* dies unless key is a bin of exactly n float32: the check before allocating from a claimed n */
void        mpr_f32n(const MpReader *r, const msgpack_object *map, const char *key, size_t n);
/* bin of exactly n float32: memcpy into dst and check every value is finite */
void        mpr_f32(const MpReader *r, const msgpack_object *map, const char *key, float *dst, size_t n);
void        mpr_i32(const MpReader *r, const msgpack_object *map, const char *key, int32_t *dst, size_t n);
/* length in bytes of bin key; dies unless it is a bin whose length is a multiple of elem */
size_t      mpr_binlen(const MpReader *r, const msgpack_object *map, const char *key, size_t elem);
/* array of strings, each strdup'ed; *n gets the length; dies on a NUL byte inside one */
char      **mpr_strarray(const MpReader *r, const msgpack_object *map, const char *key, size_t *n);
/* index of s in such an array of n strings, or -1 */
int         mp_strindex(char **v, size_t n, const char *s);
/* array of ints into dst (size max); returns the length */
size_t      mpr_intarray(const MpReader *r, const msgpack_object *map, const char *key, long *dst, size_t max);

/* ---- writing ---- */

MpWriter *mpw_open(const char *path, int gzip);       /* "-" = stdout */
/* map of (6 + nextra) pairs: magic, version, kind, count, cmd, checksums; the caller packs
 * nextra pairs next */
void mpw_header(MpWriter *w, const char *kind, long count, int nextra);
/* the same with another command line (a resumed run keeps the one that started it) */
void mpw_header_cmd(MpWriter *w, const char *kind, long count, const char *cmd, int nextra);
/* at top level: starts a record. n pairs must follow (an array: n values), or the record's
 * mpw_record_done (or the next value past the end) dies naming the file and record */
void mpw_map(MpWriter *w, size_t n);
void mpw_array(MpWriter *w, size_t n);
void mpw_key(MpWriter *w, const char *k);
void mpw_str(MpWriter *w, const char *s);
void mpw_int(MpWriter *w, long v);
void mpw_f64(MpWriter *w, double v);
void mpw_bool(MpWriter *w, int v);
void mpw_nil(MpWriter *w);
void mpw_f32bin(MpWriter *w, const float *x, size_t n);
void mpw_i32bin(MpWriter *w, const int32_t *x, size_t n);
/* copy one msgpack object as is (e.g. a header map passed through) */
void mpw_obj(MpWriter *w, const msgpack_object *o);
void mpw_record_done(MpWriter *w);                    /* appends crc32, counts the record */
/* one record: the pairs of map (e.g. a record read from another stream), with a new crc32 */
void mpw_copy(MpWriter *w, const msgpack_object *map);
/* the records so far, at the final name now, while writing goes on (a copy of the temporary
 * file renamed into place): a run killed later leaves them there. Stdout: a flush. No gzip. */
void mpw_publish(MpWriter *w);
void mpw_close(MpWriter *w);                          /* flush, check count, rename into place */

/* key/value shorthands */
#define mpw_kv_str(w, k, v)  (mpw_key(w, k), mpw_str(w, v))
#define mpw_kv_int(w, k, v)  (mpw_key(w, k), mpw_int(w, v))
#define mpw_kv_f64(w, k, v)  (mpw_key(w, k), mpw_f64(w, v))
#define mpw_kv_bool(w, k, v) (mpw_key(w, k), mpw_bool(w, v))
#define mpw_kv_f32(w, k, x, n) (mpw_key(w, k), mpw_f32bin(w, x, n))

#endif
