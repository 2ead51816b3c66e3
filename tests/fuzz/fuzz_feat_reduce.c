/* fuzz_feat_reduce: feat-reduce on one video-features or query-features stream, with the default
 * limits and with -f 1 (every video reduced, a limit
 * below the token limit). */
#include "fuzz.h"

int feat_reduce_main(int argc, char **argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_stream_file("in.mp", data, size), *out = fuzz_path("out.mp");

	fuzz_main(feat_reduce_main, "feat-reduce", "-q", "-i", in, "-o", out, NULL);
	fuzz_main(feat_reduce_main, "feat-reduce", "-q", "-f", "1", "-i", in, "-o", out, NULL);
	return 0;
}
