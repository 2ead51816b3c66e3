/* mpio: msgpack stream reading/writing; see mpio.h. */
#define _GNU_SOURCE           /* F_GETPIPE_SZ, F_SETPIPE_SZ (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mpio.h"
#include "util.h"

#define WBUF (1 << 16)
#define RMIN (1 << 16)        /* smallest read: a record's head and a few small records */
#define PIECE (1 << 16)       /* bytes: below this a checksum or check stays on one thread */
#define MAXPIECES 256
#define PIPE_BYTES (1 << 20)  /* a pipe's buffer: Linux's default cap for an unprivileged process */

/* ---- checksums and finiteness of large payloads, on the pool ----
 * A video record's tensor is megabytes; checking it on one thread while the pool waits was the
 * serial part of the encoders (doc/performance.md). Both results are independent of how the
 * bytes are cut: CRC-32 pieces are joined exactly by crc32_combine, and the first non-finite
 * element is the least index any piece finds. */

/* pieces of at least PIECE bytes, one per thread; 1 inside a parallel region (a nested one
 * would run on one thread anyway) */
static int
pieces(size_t n)
{
#ifdef _OPENMP
	size_t t = omp_in_parallel() ? 1 : (size_t)omp_get_max_threads();
	return (int)MAX((size_t)1, MIN(MIN(t, (size_t)MAXPIECES), n / PIECE));
#else
	(void)n;
	return 1;
#endif
}

static size_t
cut(size_t n, int i, int np)
{
	return n / (size_t)np * (size_t)i + MIN(n % (size_t)np, (size_t)i);
}

/* CRC-32 of p[0..n) continued from crc */
static unsigned long
crc_more(unsigned long crc, const unsigned char *p, size_t n)
{
	unsigned long part[MAXPIECES];
	int np = pieces(n);

	if (np == 1)
		return crc32_z(crc, p, n);
#pragma omp parallel for schedule(static) num_threads(np)
	for (int i = 0; i < np; i++)
		part[i] = crc32_z(0, p + cut(n, i, np), cut(n, i + 1, np) - cut(n, i, np));
	for (int i = 0; i < np; i++)
		crc = crc32_combine(crc, part[i], (z_off_t)(cut(n, i + 1, np) - cut(n, i, np)));
	return crc;
}

/* copies n floats from src (any alignment) to dst unless dst is NULL; returns the index of
 * the first NaN or Inf of them, or n */
static size_t
copy_finite(float *dst, const void *src, size_t n)
{
	size_t bad[MAXPIECES];
	int np = pieces(n * sizeof(float));

#pragma omp parallel for schedule(static) num_threads(np) if (np > 1)
	for (int i = 0; i < np; i++) {
		size_t a = cut(n, i, np), b = cut(n, i + 1, np);
		const float *x = dst ? dst : src;
		if (dst)
			memcpy(dst + a, (const char *)src + a * sizeof(float), (b - a) * sizeof(float));
		bad[i] = n;
		for (size_t k = a; k < b; k++)
			if (!isfinite(x[k])) {
				bad[i] = k;
				break;
			}
	}
	for (int i = 0; i < np; i++)
		if (bad[i] < n)
			return bad[i];
	return n;
}

/* A pipe between two tools holds 64 KiB by default, a fraction of one video's record: writer
 * and reader then take turns, each waking the other several times a record, and on a busy
 * machine every wake-up waits for a core (a gallery piped into prvr-index beside two fuzzers:
 * hundreds of sleeps a second each). A larger buffer lets them overlap. Best-effort: a pipe
 * already larger, or a limit that refuses, is left as it is; not Linux, nothing. */
static void
pipe_widen(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat sb;

	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode) && fcntl(fd, F_GETPIPE_SZ) < PIPE_BYTES)
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES);
#else
	(void)fd;
#endif
}

/* ---- reading ---- */

MpReader *
mpr_open(const char *path)
{
	MpReader *r = ecalloc(1, sizeof(*r));
	struct stat sb;
	int fd;

	if (strcmp(path, "-") == 0) {
		r->name = estrdup("<stdin>");
		fd = dup(0);
	} else {
		r->name = estrdup(path);
		fd = open(path, O_RDONLY);
	}
	if (fd < 0)
		die("open %s:", r->name);
	pipe_widen(fd);
	r->fsize = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1;
	r->gz = gzdopen(fd, "rb");
	if (!r->gz)
		die("%s: gzdopen: out of memory", r->name);
	gzbuffer(r->gz, 1 << 17);
	r->buf = emalloc(RMIN);         /* never NULL: next_object offsets it */
	r->cap = RMIN;
	msgpack_unpacked_init(&r->r);
	r->rec = -1;
	r->count = -1;
	return r;
}

void
mpr_die(const MpReader *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->rec < 0)
		die("%s: %s", r->name, msg);
	if (r->rec == 0)
		die("%s: header: %s", r->name, msg);
	die("%s: record %ld: %s", r->name, r->rec, msg);
}

long long
mpr_end_offset(const MpReader *r)
{
	return r->consumed + (long long)r->used;
}

size_t
mpr_bytes_left(const MpReader *r)
{
	if (r->fsize < 0)
		return SIZE_MAX;
	if (!gzdirect(r->gz))
		return (size_t)r->fsize * 1032;  /* deflate's largest expansion */
	return (size_t)(r->fsize - MIN(r->fsize, r->consumed));
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* Length of the msgpack object at the start of p[0..len): 0 while incomplete, -1 if malformed.
 * Walks headers only (a bin or str body is skipped by its length), counting the objects still
 * owed by arrays and maps, so it needs no memory whatever the sizes claimed. When incomplete,
 * *need gets a length the object has at least (> len): a claim of the input, to size reads by,
 * never allocations. */
static long long
object_extent(const unsigned char *p, size_t len, size_t *need)
{
	uint64_t owed = 1, pos = 0;

	while (owed > 0) {
		unsigned b;
		uint64_t head = 1, body = 0, items = 0;
		if (pos >= len) {
			*need = pos + 1;
			return 0;
		}
		b = p[pos];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
			;
		else if (b <= 0x8f)
			items = 2 * (b & 0x0f);
		else if (b <= 0x9f)
			items = b & 0x0f;
		else if (b <= 0xbf)
			body = b & 0x1f;
		else if (b == 0xc1)
			return -1;
		else {
			/* c4..df: the width of the length or value field after the type byte */
			static const unsigned char w[] = {
				1, 2, 4, 1, 2, 4, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8,   /* c4 bin..d3 int64 */
				1, 1, 1, 1, 1, 1, 2, 4, 2, 4, 2, 4 };             /* d4 fixext..df map32 */
			int k = w[b - 0xc4];
			uint64_t v;
			if (pos + 1 + k > len) {
				*need = pos + 1 + k;
				return 0;
			}
			v = be(p + pos + 1, k);
			head = 1 + k;
			if (b <= 0xc6 || (b >= 0xd9 && b <= 0xdb))
				body = v;                        /* bin, str */
			else if (b <= 0xc9)
				body = v, head++;                /* ext: length, then a type byte */
			else if (b <= 0xd3)
				head = 1 + k;                    /* float, (u)int: k value bytes */
			else if (b <= 0xd8)
				head = 2, body = 1u << (b - 0xd4);  /* fixext: type byte, 1..16 bytes */
			else if (b <= 0xdd)
				items = v;                       /* array16/32 */
			else
				items = 2 * v;                   /* map16/32 */
		}
		pos += head + body;
		owed += items;
		owed--;
	}
	*need = pos;
	return pos <= len ? (long long)pos : 0;
}

/* next msgpack object into r->r: 1 ok, 0 clean end of input */
static int
next_object(MpReader *r)
{
	long long ext;
	size_t off = 0, need = 0;
	z_off_t z0 = gzoffset(r->gz);

	/* drop the previous record: its objects point into buf and are no longer needed */
	r->start += r->used;
	r->consumed += (long long)r->used;
	r->used = 0;
	if (r->start == r->len)
		r->start = r->len = 0;
	while ((ext = object_extent((unsigned char *)r->buf + r->start, r->len - r->start,
	                            &need)) == 0) {
		size_t have = r->len - r->start;
		int n;
		/* the partial record moves to the front only when the rest of it cannot follow it in
		 * place: small records are read many per read, a large one mostly where it lands */
		if (r->start > 0 && (r->len == r->cap || r->start + need > r->cap)) {
			memmove(r->buf, r->buf + r->start, have);
			r->len = have;
			r->start = 0;
		}
		if (r->len == r->cap) {
			size_t nc = 2 * r->cap;
			if (!gzdirect(r->gz) && nc > MP_GZ_FLOOR &&
			    nc / MP_GZ_RATIO > (size_t)(gzoffset(r->gz) - z0) + (1 << 17))
				die("%s: record %ld: gzip expands more than %dx past %zu MiB (a "
				    "decompression bomb?)", r->name, r->rec + 1, MP_GZ_RATIO,
				    MP_GZ_FLOOR >> 20);
			if (!(r->buf = realloc(r->buf, nc)))
				die("%s: record %ld: out of memory for %zu bytes", r->name, r->rec + 1, nc);
			r->cap = nc;
		}
		/* what the record is known to lack (all of its tensor once its head is in) and RMIN
		 * more, for its last pairs and the next record's head: two reads per large record */
		n = gzread(r->gz, r->buf + r->len,
		           (unsigned)MIN(MIN(r->cap - r->len, need - have + RMIN), (size_t)1 << 30));
		if (n < 0) {
			int e;
			const char *m = gzerror(r->gz, &e);
			die("%s: read: %s", r->name, e == Z_ERRNO ? strerror(errno) : m);
		}
		if (n == 0) {
			if (have != 0)
				die("%s: record %ld: truncated stream", r->name, r->rec + 1);
			return 0;
		}
		r->len += (size_t)n;
	}
	if (ext < 0)
		die("%s: record %ld: malformed msgpack", r->name, r->rec + 1);
	switch (msgpack_unpack_next(&r->r, r->buf + r->start, (size_t)ext, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		die("%s: record %ld: out of memory decoding msgpack", r->name, r->rec + 1);
	default:
		die("%s: record %ld: malformed msgpack", r->name, r->rec + 1);
	}
	if (off != (size_t)ext)
		die("%s: record %ld: malformed msgpack", r->name, r->rec + 1);
	r->used = (size_t)ext;
	return 1;
}

static int
crc_write(void *data, const char *p, size_t n)
{
	unsigned long *crc = data;

	*crc = crc_more(*crc, (const unsigned char *)p, n);
	return 0;
}

/* a record whose last pair is "crc32" must match the CRC-32 of its bytes before that pair;
 * msgpack-c packs every value in its shortest form, so re-packing the parsed pairs gives back
 * the bytes the writer checksummed. The verified pair is then dropped from the map. */
static void
verify_crc(MpReader *r, msgpack_object *o)
{
	const msgpack_object_kv *last;
	unsigned long crc = crc32_z(0, NULL, 0);
	msgpack_packer pk;
	uint32_t n;

	if (o->type != MSGPACK_OBJECT_MAP || (n = o->via.map.size) == 0)
		return;
	last = &o->via.map.ptr[n - 1];
	if (last->key.type != MSGPACK_OBJECT_STR || last->key.via.str.size != 5 ||
	    memcmp(last->key.via.str.ptr, "crc32", 5) != 0) {
		if (r->checksums)
			mpr_die(r, "no checksum, though the header promised one per record");
		return;
	}
	if (last->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER || last->val.via.u64 > 0xffffffffu)
		mpr_die(r, "'crc32': expected an unsigned 32-bit integer");
	msgpack_packer_init(&pk, &crc, crc_write);
	msgpack_pack_map(&pk, n);
	for (uint32_t i = 0; i + 1 < n; i++) {
		msgpack_pack_object(&pk, o->via.map.ptr[i].key);
		msgpack_pack_object(&pk, o->via.map.ptr[i].val);
	}
	if (crc != last->val.via.u64)
		mpr_die(r, "checksum mismatch (corrupted record)");
	o->via.map.size--;              /* a transport detail: consumers never see it */
}

static int
str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *
mpr_header(MpReader *r, const char *kind)
{
	const msgpack_object *h, *o;
	long v;

	CHECK(r->rec == -1);
	oom_where(r->name, &r->rec);
	if (!next_object(r))
		die("%s: empty stream (no header record; did the producer fail?)", r->name);
	r->rec = 0;
	h = &r->r.data;
	if (h->type != MSGPACK_OBJECT_MAP || !str_is(mp_find(h, "magic"), MP_MAGIC))
		mpr_die(r, "not a prvr stream (no magic \"prvr\")");
	verify_crc(r, &r->r.data);
	r->checksums = mpr_bool_or(r, h, "checksums", 0);
	v = mpr_int(r, h, "version");
	if (v != MP_VERSION)
		mpr_die(r, "stream version %ld, expected %d (HINT: regenerate it with this release)",
		        v, MP_VERSION);
	mpr_strcpy(r, h, "kind", r->kind, sizeof(r->kind));
	if (kind && strcmp(r->kind, kind) != 0)
		mpr_die(r, "stream kind '%s', expected '%s'", r->kind, kind);
	o = mp_find(h, "count");
	r->count = o ? mpr_int(r, h, "count") : -1;
	if (r->count < -1)
		mpr_die(r, "count %ld is negative", r->count);
	return h;
}

const msgpack_object *
mpr_next(MpReader *r)
{
	CHECK(r->rec >= 0);
	oom_where(r->name, &r->rec);
	if (!next_object(r)) {
		if (r->count >= 0 && r->rec != r->count)
			die("%s: truncated stream: %ld records, header promised %ld",
			    r->name, r->rec, r->count);
		return NULL;
	}
	r->rec++;
	if (r->count >= 0 && r->rec > r->count)
		mpr_die(r, "more records than the header's count %ld", r->count);
	mpr_record(r, &r->r.data, r->rec);
	return &r->r.data;
}

void
mpr_record(MpReader *r, msgpack_object *o, long rec)
{
	r->rec = rec;
	if (o->type != MSGPACK_OBJECT_MAP)
		mpr_die(r, "not a map");
	verify_crc(r, o);
}

void
mpr_close(MpReader *r)
{
	int e = gzclose(r->gz);

	if (e != Z_OK)
		die("%s: %s", r->name, e == Z_BUF_ERROR ? "truncated gzip stream" : "gzip read error");
	oom_where(NULL, &r->rec);
	msgpack_unpacked_destroy(&r->r);
	free(r->buf);
	free(r->name);
	free(r);
}

const msgpack_object *
mp_find(const msgpack_object *map, const char *key)
{
	size_t n = strlen(key);

	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    memcmp(k->via.str.ptr, key, n) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

static const msgpack_object *
need(const MpReader *r, const msgpack_object *map, const char *key)
{
	const msgpack_object *o = mp_find(map, key);

	if (!o)
		mpr_die(r, "missing key '%s'", key);
	return o;
}

int
mp_as_int(const msgpack_object *o, long *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) {
		*v = (long)o->via.u64;
		return 1;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = (long)o->via.i64;
		return 1;
	}
	return 0;
}

long
mpr_int(const MpReader *r, const msgpack_object *map, const char *key)
{
	long v;

	if (!mp_as_int(need(r, map, key), &v))
		mpr_die(r, "'%s': expected an integer", key);
	return v;
}

long
mpr_int_or(const MpReader *r, const msgpack_object *map, const char *key, long dflt)
{
	return mp_find(map, key) ? mpr_int(r, map, key) : dflt;
}

double
mpr_num(const MpReader *r, const msgpack_object *map, const char *key)
{
	const msgpack_object *o = need(r, map, key);
	long v;

	if (mp_as_int(o, &v))
		return (double)v;
	if (o->type != MSGPACK_OBJECT_FLOAT64 && o->type != MSGPACK_OBJECT_FLOAT32)
		mpr_die(r, "'%s': expected a number", key);
	if (!isfinite(o->via.f64))
		mpr_die(r, "'%s': NaN or Inf", key);
	return o->via.f64;
}

double
mpr_num_or(const MpReader *r, const msgpack_object *map, const char *key, double dflt)
{
	return mp_find(map, key) ? mpr_num(r, map, key) : dflt;
}

int
mpr_bool_or(const MpReader *r, const msgpack_object *map, const char *key, int dflt)
{
	const msgpack_object *o = mp_find(map, key);

	if (!o)
		return dflt;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		mpr_die(r, "'%s': expected a boolean", key);
	return o->via.boolean;
}

static const msgpack_object *
need_str(const MpReader *r, const msgpack_object *map, const char *key)
{
	const msgpack_object *o = need(r, map, key);

	if (o->type != MSGPACK_OBJECT_STR)
		mpr_die(r, "'%s': expected a string", key);
	return o;
}

char *
mpr_strdup(const MpReader *r, const msgpack_object *map, const char *key)
{
	const msgpack_object *o = need_str(r, map, key);
	char *s = emalloc(o->via.str.size + 1);

	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	if (strlen(s) != o->via.str.size)
		mpr_die(r, "'%s': string contains a NUL byte", key);
	return s;
}

void
mpr_strcpy(const MpReader *r, const msgpack_object *map, const char *key, char *buf, size_t size)
{
	const msgpack_object *o = need_str(r, map, key);

	if (o->via.str.size >= size)
		mpr_die(r, "'%s': string longer than %zu bytes", key, size - 1);
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	if (strlen(buf) != o->via.str.size)
		mpr_die(r, "'%s': string contains a NUL byte", key);
}

size_t
mpr_binlen(const MpReader *r, const msgpack_object *map, const char *key, size_t elem)
{
	const msgpack_object *o = need(r, map, key);

	if (o->type != MSGPACK_OBJECT_BIN)
		mpr_die(r, "'%s': expected bin", key);
	if (o->via.bin.size % elem)
		mpr_die(r, "'%s': bin of %u bytes is not a multiple of %zu", key, o->via.bin.size, elem);
	return o->via.bin.size;
}

void
mpr_f32n(const MpReader *r, const msgpack_object *map, const char *key, size_t n)
{
	size_t len = mpr_binlen(r, map, key, 4);

	if (len / 4 != n)
		mpr_die(r, "'%s': expected bin of %zu float32, got %zu", key, n, len / 4);
}

void
mpr_f32(const MpReader *r, const msgpack_object *map, const char *key, float *dst, size_t n)
{
	size_t i;

	mpr_f32n(r, map, key, n);
	if ((i = copy_finite(dst, mp_find(map, key)->via.bin.ptr, n)) < n)
		mpr_die(r, "'%s': NaN or Inf at element %zu", key, i);
}

void
mpr_i32(const MpReader *r, const msgpack_object *map, const char *key, int32_t *dst, size_t n)
{
	size_t len = mpr_binlen(r, map, key, 4);

	if (len != n * 4)
		mpr_die(r, "'%s': expected bin of %zu int32, got %zu", key, n, len / 4);
	memcpy(dst, mp_find(map, key)->via.bin.ptr, len);
}

char **
mpr_strarray(const MpReader *r, const msgpack_object *map, const char *key, size_t *n)
{
	const msgpack_object *o = need(r, map, key);
	char **v;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		mpr_die(r, "'%s': expected an array", key);
	*n = o->via.array.size;
	v = ecalloc(*n, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		const msgpack_object *s = &o->via.array.ptr[i];
		if (s->type != MSGPACK_OBJECT_STR)
			mpr_die(r, "'%s'[%zu]: expected a string", key, i);
		if (memchr(s->via.str.ptr, '\0', s->via.str.size))
			mpr_die(r, "'%s'[%zu]: string contains a NUL byte", key, i);
		v[i] = emalloc(s->via.str.size + 1);
		memcpy(v[i], s->via.str.ptr, s->via.str.size);
		v[i][s->via.str.size] = '\0';
	}
	return v;
}

int
mp_strindex(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (int)i;
	return -1;
}

size_t
mpr_intarray(const MpReader *r, const msgpack_object *map, const char *key, long *dst, size_t max)
{
	const msgpack_object *o = need(r, map, key);

	if (o->type != MSGPACK_OBJECT_ARRAY)
		mpr_die(r, "'%s': expected an array", key);
	if (o->via.array.size > max)
		mpr_die(r, "'%s': more than %zu elements", key, max);
	for (size_t i = 0; i < o->via.array.size; i++)
		if (!mp_as_int(&o->via.array.ptr[i], &dst[i]))
			mpr_die(r, "'%s'[%zu]: expected an integer", key, i);
	return o->via.array.size;
}

/* ---- writing ---- */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
flush_buf(MpWriter *w)
{
	if (!w->nbuf)
		return;
	if (w->gz) {
		if (gzwrite(w->gz, w->buf, (unsigned)w->nbuf) != (int)w->nbuf)
			die("write %s: gzip write failed", w->name);
	} else if (write_all(w->fd, w->buf, w->nbuf))
		die("write %s:", w->name);
	w->nbuf = 0;
}

static int
pack_write(void *data, const char *p, size_t n)
{
	MpWriter *w = data;

	if (n == 0)   /* msgpack-c may pass NULL for an empty body: crc32_z(c, NULL, 0) is 0, not c */
		return 0;
	if (w->crc_on)
		w->crc = crc_more(w->crc, (const unsigned char *)p, n);
	if (w->nbuf + n > WBUF)
		flush_buf(w);
	if (n >= WBUF) {              /* large bins bypass the buffer */
		if (w->gz) {
			while (n > 0) {
				unsigned k = (unsigned)MIN(n, (size_t)1 << 30);
				if (gzwrite(w->gz, p, k) != (int)k)
					die("write %s: gzip write failed", w->name);
				p += k;
				n -= k;
			}
		} else if (write_all(w->fd, p, n))
			die("write %s:", w->name);
		return 0;
	}
	memcpy(w->buf + w->nbuf, p, n);
	w->nbuf += n;
	return 0;
}

MpWriter *
mpw_open(const char *path, int gzip)
{
	MpWriter *w = ecalloc(1, sizeof(*w));

	if (strcmp(path, "-") == 0) {
		w->name = estrdup("<stdout>");
		w->fd = 1;
	} else if (written_in_place(path)) {
		w->name = estrdup(path);
		if ((w->fd = open(path, O_WRONLY)) < 0)
			die("open %s:", path);
	} else {
		w->name = estrdup(path);
		w->tmp = tmp_path(path);
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (w->fd < 0)
			die("open %s:", w->tmp);
	}
	pipe_widen(w->fd);
	if (gzip) {
		int fd = dup(w->fd);
		if (fd < 0 || !(w->gz = gzdopen(fd, "wb6")))
			die("%s: gzdopen failed", w->name);
	}
	w->buf = emalloc(WBUF);
	w->count = -1;
	msgpack_packer_init(&w->pk, w, pack_write);
	return w;
}

void
mpw_header(MpWriter *w, const char *kind, long count, int nextra)
{
	mpw_header_cmd(w, kind, count, cmdline(), nextra);
}

void
mpw_header_cmd(MpWriter *w, const char *kind, long count, const char *cmd, int nextra)
{
	CHECK(w->rec == 0);
	w->count = count;
	mpw_map(w, 6 + nextra);
	mpw_kv_str(w, "magic", MP_MAGIC);
	mpw_kv_int(w, "version", MP_VERSION);
	mpw_kv_str(w, "kind", kind);
	mpw_kv_int(w, "count", count);
	mpw_kv_str(w, "cmd", cmd);
	mpw_kv_bool(w, "checksums", 1);
}

#define PACK(call) do { if (call) die("write %s: msgpack pack failed", w->name); } while (0)

/* one value (or key) of the open map or array; containers: before their elements */
static void
count_value(MpWriter *w)
{
	if (w->depth == 0)
		die("write %s: record %ld: more values than its maps promised", w->name, w->rec);
	w->left[w->depth - 1]--;
}

/* close every container whose last value has been written */
static void
settle(MpWriter *w)
{
	while (w->depth > 0 && w->left[w->depth - 1] == 0)
		w->depth--;
}

static void
open_container(MpWriter *w, size_t values)
{
	if (values == 0) {
		settle(w);
		return;
	}
	if (w->depth == (int)(sizeof(w->left) / sizeof(w->left[0])))
		die("write %s: record %ld: maps nested too deep", w->name, w->rec);
	w->left[w->depth++] = values;
}

void
mpw_map(MpWriter *w, size_t n)
{
	if (!w->in_record) {            /* a record: one more pair, the trailing crc32 */
		w->in_record = 1;
		w->crc_on = 1;
		w->crc = crc32_z(0, NULL, 0);
		w->depth = 0;
		n++;
	} else
		count_value(w);
	PACK(msgpack_pack_map(&w->pk, n));
	open_container(w, 2 * n);
}

void
mpw_array(MpWriter *w, size_t n)
{
	count_value(w);
	PACK(msgpack_pack_array(&w->pk, n));
	open_container(w, n);
}

/* a scalar, string, bin or whole object: one value */
#define VALUE(call) do { count_value(w); PACK(call); settle(w); } while (0)

void mpw_key(MpWriter *w, const char *k) { VALUE(msgpack_pack_str_with_body(&w->pk, k, strlen(k))); }
void mpw_str(MpWriter *w, const char *s) { VALUE(msgpack_pack_str_with_body(&w->pk, s, strlen(s))); }
void mpw_int(MpWriter *w, long v) { VALUE(msgpack_pack_int64(&w->pk, v)); }
void mpw_bool(MpWriter *w, int v) { VALUE(v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk)); }
void mpw_nil(MpWriter *w) { VALUE(msgpack_pack_nil(&w->pk)); }

void
mpw_f64(MpWriter *w, double v)
{
	if (!isfinite(v))
		die("write %s: record %ld: refusing to write NaN or Inf", w->name, w->rec);
	VALUE(msgpack_pack_double(&w->pk, v));
}

void
mpw_f32bin(MpWriter *w, const float *x, size_t n)
{
	size_t i;

	if ((i = copy_finite(NULL, x, n)) < n)
		die("write %s: record %ld: NaN or Inf at element %zu (diverged?)", w->name, w->rec, i);
	VALUE(msgpack_pack_bin_with_body(&w->pk, x, n * sizeof(*x)));
}

void
mpw_i32bin(MpWriter *w, const int32_t *x, size_t n)
{
	VALUE(msgpack_pack_bin_with_body(&w->pk, x, n * sizeof(*x)));
}

void
mpw_obj(MpWriter *w, const msgpack_object *o)
{
	VALUE(msgpack_pack_object(&w->pk, *o));
}

void
mpw_record_done(MpWriter *w)
{
	CHECK(w->in_record);
	/* what is left is the crc32 pair, in the record's own map */
	if (w->depth != 1 || w->left[0] != 2)
		die("write %s: record %ld: %s values than its maps promised", w->name, w->rec,
		    w->depth == 0 || w->left[0] < 2 ? "more" : "fewer");
	w->crc_on = 0;
	mpw_key(w, "crc32");
	VALUE(msgpack_pack_uint32(&w->pk, (uint32_t)w->crc));
	w->in_record = 0;
	w->rec++;
}

void
mpw_copy(MpWriter *w, const msgpack_object *map)
{
	CHECK(map->type == MSGPACK_OBJECT_MAP);
	mpw_map(w, map->via.map.size);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		mpw_obj(w, &map->via.map.ptr[i].key);
		mpw_obj(w, &map->via.map.ptr[i].val);
	}
	mpw_record_done(w);
}

void
mpw_publish(MpWriter *w)
{
	char *pub = emalloc(strlen(w->name) + 8), *copy, buf[1 << 16];
	int in, out;
	ssize_t k;

	CHECK(!w->gz && !w->in_record);
	flush_buf(w);
	if (!w->tmp)
		return;
	sprintf(pub, "%s.pub", w->name);
	copy = tmp_path(pub);
	if ((in = open(w->tmp, O_RDONLY)) < 0)
		die("open %s:", w->tmp);
	if ((out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		die("open %s:", copy);
	while ((k = read(in, buf, sizeof(buf))) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read %s:", w->tmp);
		if (write_all(out, buf, (size_t)k))
			die("write %s:", copy);
	}
	close(in);
	if ((fsync(out) && errno != EINVAL) || close(out))
		die("write %s:", copy);
	if (rename(copy, w->name))
		die("rename %s to %s:", copy, w->name);
	tmp_unregister(copy);
	free(copy);
	free(pub);
}

void
mpw_close(MpWriter *w)
{
	CHECK(!w->in_record);
	flush_buf(w);
	if (w->count >= 0 && w->rec != w->count + 1)
		die("write %s: %ld records written, header promised %ld", w->name, w->rec - 1, w->count);
	if (w->gz && gzclose(w->gz) != Z_OK)
		die("write %s: gzip close failed", w->name);
	if (w->tmp) {
		if (fsync(w->fd) && errno != EINVAL)
			die("fsync %s:", w->tmp);
		if (close(w->fd))
			die("close %s:", w->tmp);
		if (rename(w->tmp, w->name))
			die("rename %s to %s:", w->tmp, w->name);
		tmp_unregister(w->tmp);
		free(w->tmp);
	}
	free(w->buf);
	free(w->name);
	free(w);
}
