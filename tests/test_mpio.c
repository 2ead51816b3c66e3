/* test_mpio: the stream library round-trips every type and rejects damaged input.
 * Truncation, garbage and count checks are also exercised end to end by tests/streams.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpio.h"
#include "rng.h"
#include "threads.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static void
write_sample(const char *path, int gzip, int n, int d)
{
	MpWriter *w = mpw_open(path, gzip);
	float *x = efloats((size_t)d);

	mpw_header(w, "test", n, 1);
	mpw_kv_int(w, "dim", d);
	mpw_record_done(w);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < d; j++)
			x[j] = i + j * 0.25f;
		mpw_map(w, 3);
		mpw_kv_int(w, "i", i);
		mpw_kv_str(w, "id", "v#enc#0");
		mpw_kv_f32(w, "x", x, (size_t)d);
		mpw_record_done(w);
	}
	mpw_close(w);
	free(x);
}

static void
read_sample(const char *path, int n, int d)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *h = mpr_header(r, "test"), *o;
	float *x = efloats((size_t)d);
	char id[32];
	int i = 0;

	EXPECT(mpr_int(r, h, "dim") == d);
	EXPECT(r->count == n);
	while ((o = mpr_next(r))) {
		EXPECT(mpr_int(r, o, "i") == i);
		mpr_strcpy(r, o, "id", id, sizeof(id));
		EXPECT(strcmp(id, "v#enc#0") == 0);
		mpr_f32(r, o, "x", x, (size_t)d);
		for (int j = 0; j < d; j++)
			EXPECT(x[j] == i + j * 0.25f);
		i++;
	}
	EXPECT(i == n);
	mpr_close(r);
	free(x);
}

/* one record holding a value of every msgpack type and length form, then a plain record: the
 * reader finds where each record ends by walking the type bytes, so every form must be sized
 * right (the second record reads back, and the first has all its keys) */
static void
every_type(const char *path)
{
	static char body[70000];
	MpWriter *w = mpw_open(path, 0);
	MpReader *r;
	const msgpack_object *v;
	msgpack_object o;
	size_t ext[] = { 1, 2, 4, 8, 16, 3, 300, 66000 }, str[] = { 5, 40, 300, 66000 };
	size_t items[] = { 0, 15, 16, 70000 };
	int64_t ints[] = { 5, -5, 200, -100, 40000, -30000, 3000000000LL, -2000000000LL,
	                   (int64_t)1 << 40, -((int64_t)1 << 40) };
	char key[16];
	int nk = 0;

	mpw_header(w, "test", 2, 0);
	mpw_record_done(w);
	mpw_map(w, 8 + 8 + 4 + 4 + 10 + 2 + 2 + 1);
	for (size_t i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", nk++);
		mpw_key(w, key);
		o.type = MSGPACK_OBJECT_EXT;
		o.via.ext = (msgpack_object_ext){ .type = 7, .size = (uint32_t)ext[i], .ptr = body };
		mpw_obj(w, &o);
	}
	for (size_t i = 0; i < 8; i++) {        /* arrays and maps of 15, 16 and 70000 items */
		size_t n = items[i % 4];
		snprintf(key, sizeof(key), "k%d", nk++);
		mpw_key(w, key);
		if (i < 4) {
			mpw_array(w, n);
			for (size_t j = 0; j < n; j++)
				mpw_nil(w);
		} else {
			mpw_map(w, n);
			for (size_t j = 0; j < n; j++)
				mpw_bool(w, 1), mpw_bool(w, 0);
		}
	}
	for (size_t i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", nk++);
		mpw_key(w, key);
		o.type = MSGPACK_OBJECT_STR;
		o.via.str = (msgpack_object_str){ .size = (uint32_t)str[i], .ptr = body };
		mpw_obj(w, &o);
		snprintf(key, sizeof(key), "k%d", nk++);
		mpw_key(w, key);
		o.type = MSGPACK_OBJECT_BIN;
		o.via.bin = (msgpack_object_bin){ .size = (uint32_t)str[i], .ptr = body };
		mpw_obj(w, &o);
	}
	for (size_t i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", nk++);
		mpw_key(w, key);
		mpw_int(w, ints[i]);
	}
	snprintf(key, sizeof(key), "k%d", nk++);
	mpw_key(w, key);
	o.type = MSGPACK_OBJECT_FLOAT32;
	o.via.f64 = 1.5;
	mpw_obj(w, &o);
	snprintf(key, sizeof(key), "k%d", nk++);
	mpw_key(w, key);
	mpw_f64(w, 2.5);
	snprintf(key, sizeof(key), "k%d", nk++);
	mpw_key(w, key);
	o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	o.via.u64 = UINT64_MAX;
	mpw_obj(w, &o);
	snprintf(key, sizeof(key), "k%d", nk++);
	mpw_key(w, key);
	mpw_int(w, -1);
	snprintf(key, sizeof(key), "k%d", nk++);
	mpw_key(w, key);
	mpw_nil(w);
	mpw_record_done(w);
	mpw_map(w, 1);
	mpw_kv_int(w, "last", 42);
	mpw_record_done(w);
	mpw_close(w);

	r = mpr_open(path);
	mpr_header(r, "test");
	v = mpr_next(r);
	EXPECT(v && v->via.map.size == (uint32_t)nk);
	EXPECT(mpr_num(r, v, "k34") == 1.5 && mpr_num(r, v, "k35") == 2.5);
	EXPECT(mpr_int(r, v, "k24") == 5 && mpr_int(r, v, "k33") == -((int64_t)1 << 40));
	v = mpr_next(r);
	EXPECT(v && mpr_int(r, v, "last") == 42);
	EXPECT(!mpr_next(r));
	mpr_close(r);
}

/* a record whose map promises `promised` pairs, with `written` (and nested maps, counted
 * apart): the writer must die (exit 1) at the record's end, leaving no file, exactly when the
 * two differ */
static void
miscount(const char *path, int promised, int written)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		MpWriter *w;
		fclose(stderr);        /* the child's die() line is expected */
		w = mpw_open(path, 0);
		mpw_header(w, "test", 1, 0);
		mpw_record_done(w);
		mpw_map(w, (size_t)promised);
		mpw_key(w, "sub");
		mpw_map(w, 2);
		mpw_kv_int(w, "a", 1);
		mpw_key(w, "b");
		mpw_array(w, 2);
		mpw_int(w, 1);
		mpw_str(w, "x");
		for (int i = 1; i < written; i++) {
			char k[16];
			snprintf(k, sizeof(k), "k%d", i);
			mpw_kv_int(w, k, i);
		}
		mpw_record_done(w);
		mpw_close(w);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (promised == written)
		EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(path, F_OK) == 0);
	else
		EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 1 && access(path, F_OK) != 0);
	unlink(path);
}

/* records of 1.2 MB tensors between small ones: their checksums and finiteness checks run in
 * pieces on the pool above 64 KiB, and the reader keeps a large record where it lands. Written
 * at 3 threads and at 1, the files are byte-identical (the CRC-32 of the pieces, joined, is
 * zlib's of the whole), and each reads back at the other count */
static float
big_value(int i, int j)
{
	return (float)i - (float)(j % 1000) * 0.5f;
}

static int
big_dim(int i)
{
	return i % 3 == 0 ? 300000 + 1001 * i : 5 + i;
}

static void
write_big(const char *path, int threads)
{
	MpWriter *w = mpw_open(path, 0);
	float *x = efloats(400000);

	threads_set(threads);
	mpw_header(w, "test", 12, 0);
	mpw_record_done(w);
	for (int i = 0; i < 12; i++) {
		for (int j = 0; j < big_dim(i); j++)
			x[j] = big_value(i, j);
		mpw_map(w, 1);
		mpw_kv_f32(w, "x", x, (size_t)big_dim(i));
		mpw_record_done(w);
	}
	mpw_close(w);
	free(x);
}

static void
read_big(const char *path, int threads)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *o;
	float *x = efloats(400000);
	int i = 0, bad = 0;

	threads_set(threads);
	mpr_header(r, "test");
	while ((o = mpr_next(r))) {
		mpr_f32(r, o, "x", x, (size_t)big_dim(i));
		for (int j = 0; j < big_dim(i); j++)
			bad += x[j] != big_value(i, j);
		i++;
	}
	EXPECT(i == 12 && bad == 0);
	mpr_close(r);
	free(x);
}

static char *
slurp_file(const char *path, long *n)
{
	FILE *f = fopen(path, "rb");
	char *b;

	CHECK(f && fseek(f, 0, SEEK_END) == 0 && (*n = ftell(f)) > 0);
	rewind(f);
	b = emalloc((size_t)*n);
	CHECK(fread(b, 1, (size_t)*n, f) == (size_t)*n);
	fclose(f);
	return b;
}

/* reading path at 3 threads (test_mpio read3 PATH) dies (exit 1) with a message containing
 * want */
static void
read_dies(const char *path, const char *want)
{
	char log[300], msg[512] = "";
	pid_t pid;
	int status;
	FILE *f;

	snprintf(log, sizeof(log), "%s.log", path);
	/* a new process, not a fork: libgomp's pool does not survive fork() */
	if ((pid = fork()) == 0) {
		CHECK(freopen(log, "w", stderr));
		execl("/proc/self/exe", "test_mpio", "read3", path, (char *)NULL);
		_exit(2);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	if ((f = fopen(log, "r"))) {
		if (!fgets(msg, sizeof(msg), f))
			msg[0] = '\0';
		fclose(f);
	}
	EXPECT(strstr(msg, want) != NULL);
	if (!strstr(msg, want))
		fprintf(stderr, "  expected '%s' in: %s", want, msg);
	unlink(log);
}

static void
big_records(const char *path)
{
	char other[300];
	char *a, *b;
	long na, nb;
	float nan = NAN;
	MpWriter *w;

	snprintf(other, sizeof(other), "%s.1", path);
	write_big(path, 3);
	write_big(other, 1);
	read_big(path, 1);
	read_big(other, 3);
	a = slurp_file(path, &na);
	b = slurp_file(other, &nb);
	EXPECT(na == nb && memcmp(a, b, (size_t)na) == 0);

	/* a flipped byte late in a large tensor (another piece than the first) */
	a[na - 600000] ^= 4;
	w = mpw_open(path, 0);
	CHECK(write(w->fd, a, (size_t)na) == na);
	w->rec = 13;
	w->count = 12;
	mpw_close(w);
	read_dies(path, "checksum mismatch");

	/* NaNs in the last piece and in the first: the first is named, whatever the pieces */
	for (int k = 0; k < 2; k++) {
		int32_t *x = emalloc(300000 * sizeof(*x));
		for (int j = 0; j < 300000; j++)
			memcpy(&x[j], &(float){ big_value(0, j) }, 4);
		memcpy(&x[299999], &nan, 4);
		if (k)
			memcpy(&x[70001], &nan, 4);
		w = mpw_open(path, 0);
		mpw_header(w, "test", 1, 0);
		mpw_record_done(w);
		mpw_map(w, 1);
		mpw_key(w, "x");
		mpw_i32bin(w, x, 300000);
		mpw_record_done(w);
		mpw_close(w);
		read_dies(path, k ? "NaN or Inf at element 70001" : "NaN or Inf at element 299999");
		free(x);
	}
	threads_set(1);
	free(a);
	free(b);
	unlink(other);
	unlink(path);
}

int
main(int argc, char *argv[])
{
	char dir[] = "/tmp/test_mpio.XXXXXX", path[256];
	Rng rng;

	argv0 = "test_mpio";
	if (argc == 3 && strcmp(argv[1], "read3") == 0) {
		read_big(argv[2], 3);
		return 0;
	}
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.mp", dir);
	write_sample(path, 0, 100, 1000);      /* records bigger than the 64 KiB buffer */
	read_sample(path, 100, 1000);
	write_sample(path, 1, 50, 7);
	read_sample(path, 50, 7);
	every_type(path);
	EXPECT(access(path, F_OK) == 0);
	unlink(path);
	big_records(path);

	/* a map's promised size is checked by the writer */
	miscount(path, 3, 3);
	miscount(path, 4, 3);
	miscount(path, 2, 3);
	miscount(path, 1, 1);

	/* rng: same seed, same sequence; below() stays in range; normal has unit variance */
	Rng a, b;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		EXPECT(rng_u64(&a) == rng_u64(&b));
	rng_seed(&rng, 7);
	double s = 0, s2 = 0;
	for (int i = 0; i < 100000; i++) {
		float z = rng_normal(&rng);
		s += z;
		s2 += (double)z * z;
		EXPECT(rng_below(&rng, 13) < 13);
	}
	EXPECT(fabs(s / 1e5) < 0.02 && fabs(s2 / 1e5 - 1) < 0.02);

	unlink(path);
	rmdir(dir);
	printf("%s\n", failures ? "NOT OK" : "OK");
	return failures != 0;
}
