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
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const name[2] = { "ck.mp", "in.mp" };
	const char *f[2];
	struct args a;

	fuzz_stream_parts(data, size, 2, name, f);
	a.ck = f[0];
	a.in = f[1];
	a.out = fuzz_path("out.mp");
	a.side = ENC_VIDEO;
	fuzz_run(encode, &a);
	a.side = ENC_TEXT;
	fuzz_run(encode, &a);
	return 0;
}
