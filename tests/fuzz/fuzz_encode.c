/* fuzz_encode: encode-video and encode-text (lib/encode) on a checkpoint (the input's first part)
 * and a reduced student feature stream (second part), in chunks of 2 items. */
#include "encode.h"
#include "fuzz.h"

struct args {
	int side;
	const char *ck, *in, *out;
};

static void
encode(void *arg)
{
	struct args *a = arg;

	encode_stream(a->side, a->ck, a->in, a->out, 1, 2);
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
	const uint8_t *p[2];
	size_t n[2];
	struct args a;

	fuzz_split(data, size, p, n, 2);
	a.ck = fuzz_stream_file("ck.mp", p[0], n[0]);
	a.in = fuzz_stream_file("in.mp", p[1], n[1]);
	a.out = fuzz_path("out.mp");
	a.side = ENC_VIDEO;
	fuzz_run(encode, &a);
	a.side = ENC_TEXT;
	fuzz_run(encode, &a);
	return 0;
}
