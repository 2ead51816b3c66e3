/* fuzz_v2f: the video2frames.txt parser of prvr-import (a Python dict literal of clip ids), on
 * one file, against the ids c0..c8 of a feature whose id c9 repeats. The importer's file is
 * compiled into this harness (its parser is static), its main renamed prvr_import_main. */
#include "fuzz.h"

#define main prvr_import_main
#include "../../tools/prvr-import.c"
#undef main

static Feature feat;

static void
parse(void *path)
{
	V2f v = { 0 };

	v2f_parse(&v, path, &feat);
	free(v.path);
	free(v.e);
	free(v.rows);
	map_free(&v.vid);
	map_free(&v.broken);
	while (arena) {
		Chunk *n = arena->next;
		free(arena);
		arena = n;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *ids[] = { "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8" };

	fuzz_init();
	for (long i = 0; i < 9; i++)
		map_put(&feat.id2row, ids[i], i);
	map_put(&feat.id2row, "c9", -1 - 9);   /* repeated in id.txt: first at row 9 */
	maxwarn = 0;
	/* lex_str keeps a scratch buffer in a static, grown to the longest string met: grown here,
	 * outside any run, past the length of any input, so that a run that dies never holds it */
	{
		static char big[(1 << 20) + 16] = "{'v0': ['";
		memset(big + 9, 'c', 1 << 20);
		strcpy(big + 9 + (1 << 20), "']}");
		parse((void *)fuzz_file("video2frames.txt", (const uint8_t *)big, strlen(big)));
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(parse, (void *)fuzz_file("video2frames.txt", data, size));
	arena = NULL;                /* freed by parse, or with the rest of a run that died */
	return 0;
}
