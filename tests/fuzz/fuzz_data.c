/* fuzz_data: the data loading of distill-step (lib/data): student videos, student queries,
 * teacher similarities and teacher video features (the input's four parts), loaded as training
 * data, then every video put into one batch. */
#include <stdlib.h>

#include "data.h"
#include "fuzz.h"

struct files {
	const char *v, *q, *t, *tv;
};

static void
load(void *arg)
{
	struct files *f = arg;
	Dataset *d = data_load(f->v, f->q, f->t, f->tv, 128, 30, 1);
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
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[4];
	size_t n[4];
	struct files f;

	fuzz_split(data, size, p, n, 4);
	f.v = fuzz_stream_file("video.mp", p[0], n[0]);
	f.q = fuzz_stream_file("query.mp", p[1], n[1]);
	f.t = fuzz_stream_file("tsim.mp", p[2], n[2]);
	f.tv = fuzz_stream_file("tvideo.mp", p[3], n[3]);
	fuzz_run(load, &f);
	return 0;
}
