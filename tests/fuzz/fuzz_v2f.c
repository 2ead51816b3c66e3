/* fuzz_v2f: the video2frames.txt parser of prvr-import (lib/pylit.h: a Python dict literal of
 * clip-id lists), on one file read as prvr-import reads it. */
#include <stdlib.h>

#include "fuzz.h"
#include "pylit.h"
#include "util.h"

static void
parse(void *path)
{
	char *text = slurp(path, (size_t)1 << 24, NULL);
	PyDict d;

	pylit_dict(&d, text, path);
	free(text);
	pylit_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(parse, (void *)fuzz_file("video2frames.txt", data, size));
	return 0;
}
