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

int
main(void)
{
	char dir[] = "/tmp/test_mpio.XXXXXX", path[256];
	Rng rng;

	argv0 = "test_mpio";
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.mp", dir);
	write_sample(path, 0, 100, 1000);      /* records bigger than the 64 KiB buffer */
	read_sample(path, 100, 1000);
	write_sample(path, 1, 50, 7);
	read_sample(path, 50, 7);
	EXPECT(access(path, F_OK) == 0);
	unlink(path);

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
