/* fuzz_bigfile: the BigFile feature reader of prvr-import (shape.txt, id.txt, feature.bin, the
 * input's three parts; feature.bin mapped). The importer's file is compiled into this harness
 * (its reader is static), its main renamed prvr_import_main. */
#include "fuzz.h"

#define main prvr_import_main
#include "../../tools/prvr-import.c"
#undef main

static void
open_feature(void *dir)
{
	Feature f = { 0 };

	feature_open(&f, dir);
	munmap((void *)f.x, f.maplen);
	free(f.dir);
	free(f.binpath);
	free(f.idpath);
	free(f.idbuf);
	free(f.rowid);
	map_free(&f.id2row);
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
