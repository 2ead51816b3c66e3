/* fuzz_data: the data loading of distill-step (lib/data): student videos, student queries,
 * teacher similarities and teacher video features (the input's four parts), loaded as training
 * data, then every video put into one batch. */
#include <stdlib.h>

#include "data.h"
#include "fuzz.h"

/* student videos, student queries, teacher similarities, teacher videos */
static void
load(void *arg)
{
	const char **f = arg;
	Dataset *d = data_load(f[0], f[1], f[2], f[3], 128, 30, 1);
	BatchBuf bb = { 0 };
	int *vids = malloc((size_t)d->nv * sizeof(*vids));

	for (int i = 0; i < d->nv; i++)
		vids[i] = i;
	data_make_batch(d, vids, d->nv, &bb);
	data_batch_free(&bb);
	free(vids);
	data_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const name[4] = { "video.mp", "query.mp", "tsim.mp", "tvideo.mp" };
	const char *f[4];

	fuzz_stream_parts(data, size, 4, name, f);
	fuzz_run(load, f);
	return 0;
}
