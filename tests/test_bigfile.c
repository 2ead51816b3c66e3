/* test_bigfile: a BigFile feature (shape.txt, id.txt, feature.bin) written here and opened:
 * the mapped rows equal what was written, ids map to rows (a repeated id marked -1 - first row
 * and counted), any white space separates ids; and the refusals, each naming the file: shape.txt
 * not "N D", feature.bin not N x D float32, fewer or more ids than rows, a missing file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigfile.h"
#include "dies.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static char dir[] = "/tmp/test_bigfile.XXXXXX";

static void
put(const char *name, const void *bytes, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK((f = fopen(path, "wb")) && fwrite(bytes, 1, n, f) == n && fclose(f) == 0);
}

static void
puts_file(const char *name, const char *text)
{
	put(name, text, strlen(text));
}

static void
open_close(void *d)
{
	BigFile f;

	bigfile_open(&f, d);
	bigfile_close(&f);
}

int
main(void)
{
	float x[4 * 3];
	BigFile f;

	CHECK(mkdtemp(dir));
	for (int i = 0; i < 12; i++)
		x[i] = (float)i / 4 - 1;
	put("feature.bin", x, sizeof(x));
	puts_file("shape.txt", "4 3\n");
	puts_file("id.txt", "c0 c1\r\nc2\tc1\n");
	bigfile_open(&f, dir);
	EXPECT(f.N == 4 && f.D == 3 && memcmp(f.x, x, sizeof(x)) == 0);
	EXPECT(idindex_find(&f.id2row, "c0") == 0 && idindex_find(&f.id2row, "c2") == 2);
	EXPECT(idindex_find(&f.id2row, "c1") == -1 - 1 && f.ndupids == 1);
	EXPECT(strcmp(f.rowid[3], "c1") == 0 && idindex_find(&f.id2row, "c3") == -1);
	bigfile_willneed(&f, 1, 3);
	bigfile_dontneed(&f, 0, 4);
	EXPECT(memcmp(f.x, x, sizeof(x)) == 0);           /* read again from the page cache */
	bigfile_close(&f);
	printf("%s rows and ids\n", failures ? "NOT OK" : "OK");

	puts_file("id.txt", "c0 c1 c2\n");
	EXPECT(dies_with(open_close, dir, "id.txt: 3 ids, expected 4 (one per row of feature.bin"));
	puts_file("id.txt", "c0 c1 c2 c3 c4\n");
	EXPECT(dies_with(open_close, dir, "id.txt: 5 ids, expected 4"));
	puts_file("shape.txt", "4 3 2\n");
	EXPECT(dies_with(open_close, dir, "shape.txt: expected \"N D\" (two positive integers"));
	puts_file("shape.txt", "4 0\n");
	EXPECT(dies_with(open_close, dir, "shape.txt: expected \"N D\""));
	puts_file("shape.txt", "5 3\n");
	EXPECT(dies_with(open_close, dir, "feature.bin: 48 bytes, expected 60 (= 5 x 3 float32 from"));
	{
		char p[300];
		snprintf(p, sizeof(p), "%s/shape.txt", dir);
		unlink(p);
		EXPECT(dies_with(open_close, dir, "shape.txt:"));
		snprintf(p, sizeof(p), "%s/feature.bin", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/id.txt", dir);
		unlink(p);
	}
	rmdir(dir);
	printf("%s refusals\n", failures ? "NOT OK" : "OK");
	return failures ? 1 : 0;
}
