/* fuzz_bigfile: the BigFile feature reader of prvr-import (lib/bigfile.h: shape.txt, id.txt,
 * feature.bin, the input's three parts; feature.bin mapped). */
#include <stdio.h>
#include <string.h>

#include "bigfile.h"
#include "fuzz.h"

static void
open_feature(void *dir)
{
	BigFile f;

	bigfile_open(&f, dir);
	bigfile_close(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[128];
	const uint8_t *p[3];
	size_t n[3];
	const char *shape;

	fuzz_split(data, size, p, n, 3);
	shape = fuzz_file("shape.txt", p[0], n[0]);
	fuzz_file("id.txt", p[1], n[1]);
	fuzz_file("feature.bin", p[2], n[2]);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(shape, '/') - shape), shape);
	fuzz_run(open_feature, dir);
	return 0;
}
