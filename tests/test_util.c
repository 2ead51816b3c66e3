/* test_util: egrow (capacity doubling, contents kept), efloats_grow (a scratch buffer kept while
 * it is large enough, replaced by an aligned zeroed one when not; efloats_fit exactly of the size
 * asked), estrfmt, and slurp (a text
 * file, a binary file with NUL bytes and its length, an empty file, a pipe, and the refusals: a
 * missing file, a file over the cap, a NUL byte in a text file), each refusal one line naming
 * the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dies.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static char dir[] = "/tmp/test_util.XXXXXX";

static const char *
put(const char *name, const char *bytes, size_t n)
{
	static char path[8][256];
	static int k;
	char *p = path[k++ % 8];
	FILE *f;

	snprintf(p, 256, "%s/%s", dir, name);
	CHECK((f = fopen(p, "wb")) && fwrite(bytes, 1, n, f) == n && fclose(f) == 0);
	return p;
}

static void slurp_text(void *path) { free(slurp(path, 1 << 20, NULL)); }
static void slurp_small(void *path) { size_t n; free(slurp(path, 4, &n)); }

int
main(void)
{
	int *a = NULL;
	size_t cap = 0, n;
	char *s;
	const char *p;

	/* egrow: room for need, doubling from 16, contents kept */
	for (int i = 0; i < 1000; i++) {
		a = egrow(a, &cap, (size_t)i + 1, sizeof(*a));
		a[i] = i;
		EXPECT(cap >= (size_t)i + 1 && (cap & (cap - 1)) == 0 && cap >= 16);
	}
	for (int i = 0; i < 1000; i++)
		EXPECT(a[i] == i);
	EXPECT(cap == 1024);
	EXPECT(egrow(a, &cap, 10, sizeof(*a)) == a && cap == 1024);   /* enough: unchanged */
	free(a);
	printf("%s egrow\n", failures ? "NOT OK" : "OK");

	{
		size_t fc = 0;
		float *f = efloats_grow(NULL, &fc, 100), *g;
		EXPECT(f && fc >= 100 && ((uintptr_t)f & 63) == 0 && f[99] == 0);
		f[0] = 7;
		EXPECT(efloats_grow(f, &fc, 50) == f && f[0] == 7);    /* large enough: kept */
		g = efloats_grow(f, &fc, 10 * fc);
		EXPECT(fc >= 1000 && ((uintptr_t)g & 63) == 0 && g[0] == 0);
		free(g);
		fc = 0;
		f = efloats_fit(NULL, &fc, 100);
		EXPECT(f && fc == 100 && ((uintptr_t)f & 63) == 0 && f[99] == 0);
		f[0] = 7;
		EXPECT(efloats_fit(f, &fc, 100) == f && fc == 100 && f[0] == 7);
		g = efloats_fit(f, &fc, 101);
		EXPECT(fc == 101 && ((uintptr_t)g & 63) == 0 && g[0] == 0);
		free(g);
	}
	s = estrfmt("%s/%d%.2s", "dir", 42, "xyz");
	EXPECT(strcmp(s, "dir/42xy") == 0);
	free(s);
	printf("%s efloats_grow, efloats_fit, estrfmt\n", failures ? "NOT OK" : "OK");

	CHECK(mkdtemp(dir));
	s = slurp(put("t.txt", "ab\ncd\n", 6), 100, NULL);
	EXPECT(strcmp(s, "ab\ncd\n") == 0);
	free(s);
	s = slurp(put("b.bin", "x\0y", 3), 3, &n);
	EXPECT(n == 3 && memcmp(s, "x\0y", 3) == 0 && s[3] == '\0');
	free(s);
	s = slurp(put("e.txt", "", 0), 0, &n);
	EXPECT(n == 0 && s[0] == '\0');
	free(s);
	{
		int fd[2];
		char path[64];
		CHECK(pipe(fd) == 0);
		CHECK(write(fd[1], "piped text", 10) == 10);
		close(fd[1]);
		snprintf(path, sizeof(path), "/dev/fd/%d", fd[0]);
		s = slurp(path, 100, &n);
		EXPECT(n == 10 && strcmp(s, "piped text") == 0);
		free(s);
		close(fd[0]);
	}
	p = put("nul.txt", "ab\0cd", 5);
	EXPECT(dies_with(slurp_text, (void *)p, "nul.txt: a NUL byte at offset 2 (not a text file?)"));
	p = put("big.bin", "12345", 5);
	EXPECT(dies_with(slurp_small, (void *)p, "big.bin: 5 bytes, more than the 4 this file may have"));
	EXPECT(dies_with(slurp_text, (void *)"/nonexistent/x.txt", "open /nonexistent/x.txt:"));
	printf("%s slurp\n", failures ? "NOT OK" : "OK");

	unlink(put("t.txt", "", 0)), unlink(put("b.bin", "", 0)), unlink(put("e.txt", "", 0));
	unlink(put("nul.txt", "", 0)), unlink(put("big.bin", "", 0));
	rmdir(dir);
	return failures ? 1 : 0;
}
