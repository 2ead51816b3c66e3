/* bigfile: a released feature (shape.txt, id.txt, feature.bin) opened and mapped; see bigfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigfile.h"
#include "util.h"

#define TEXT_MAX ((size_t)1 << 32)   /* shape.txt and id.txt: far above any released id list */

void
bigfile_open(BigFile *f, const char *dir)
{
	char *shapepath = estrfmt("%s/%s", dir, "shape.txt"), *s, *end, *tok;
	union { uint32_t u; unsigned char b[4]; } endian = { 1 };
	long i = 0;
	struct stat st;
	int fd;

	if (endian.b[0] != 1)
		die("feature.bin is little-endian float32; this big-endian host is not supported");
	memset(f, 0, sizeof(*f));
	f->dir = estrdup(dir);
	f->binpath = estrfmt("%s/%s", dir, "feature.bin");
	f->idpath = estrfmt("%s/%s", dir, "id.txt");
	s = slurp(shapepath, TEXT_MAX, NULL);
	errno = 0;
	f->N = strtol(s, &end, 10);
	f->D = strtol(end, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno || *end || f->N < 1 || f->D < 1 || f->N > INT32_MAX || f->D > 1 << 20)
		die("%s: expected \"N D\" (two positive integers: rows and dimension), found \"%.40s\"",
		    shapepath, s);
	free(s);

	fd = open(f->binpath, O_RDONLY);
	if (fd < 0)
		die("open %s:", f->binpath);
	if (fstat(fd, &st))
		die("stat %s:", f->binpath);
	f->maplen = (size_t)f->N * (size_t)f->D * sizeof(float);
	if ((size_t)st.st_size != f->maplen)
		die("%s: %lld bytes, expected %zu (= %ld x %ld float32 from %s)", f->binpath,
		    (long long)st.st_size, f->maplen, f->N, f->D, shapepath);
	f->x = mmap(NULL, f->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->x == MAP_FAILED)
		die("mmap %s:", f->binpath);
	close(fd);
	free(shapepath);

	f->idbuf = slurp(f->idpath, TEXT_MAX, NULL);
	f->rowid = ecalloc((size_t)f->N, sizeof(*f->rowid));
	for (tok = strtok(f->idbuf, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n"), i++) {
		long *v;
		if (i >= f->N)
			continue;   /* counted, reported as a count mismatch below */
		f->rowid[i] = tok;
		if ((v = idindex_add(&f->id2row, tok, i)) && *v >= 0) {
			*v = -1 - *v;
			f->ndupids++;
		}
	}
	if (i != f->N)
		die("%s: %ld ids, expected %ld (one per row of feature.bin, from shape.txt)",
		    f->idpath, i, f->N);
}

void
bigfile_close(BigFile *f)
{
	if (f->x)
		munmap((void *)f->x, f->maplen);
	free(f->dir), free(f->binpath), free(f->idpath), free(f->idbuf), free(f->rowid);
	idindex_free(&f->id2row);
	memset(f, 0, sizeof(*f));
}

/* madvise over the whole pages holding rows [r0, r1) */
static void
advise(const BigFile *f, long r0, long r1, int advice)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)(f->x + (size_t)r0 * f->D), b = (uintptr_t)(f->x + (size_t)r1 * f->D);

	a = a / pg * pg;
	b = (b + pg - 1) / pg * pg;
	madvise((void *)a, b - a, advice);
}

void
bigfile_willneed(const BigFile *f, long r0, long r1)
{
	advise(f, r0, r1, MADV_WILLNEED);
}

void
bigfile_dontneed(const BigFile *f, long r0, long r1)
{
	advise(f, r0, r1, MADV_DONTNEED);
}
