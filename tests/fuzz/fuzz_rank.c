/* fuzz_rank: rank on encoded videos and encoded queries (parts 1 and 2 of the input: the load of
 * lib/vidset, scoring, top-k), the same in the transposed order (-V: the queries held, the videos
 * streamed in blocks, the bound on the scores held from the headers' counts), and on a scores
 * stream (part 3). */
#include "fuzz.h"

int rank_main(int argc, char **argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const name[3] = { "videos.mp", "queries.mp", "scores.mp" };
	const char *f[3], *out = fuzz_path("out.mp");

	fuzz_stream_parts(data, size, 3, name, f);
	fuzz_main(rank_main, "rank", "-Q", "-j", "1", "-k", "3", "-v", f[0], "-q", f[1], "-o", out,
	          NULL);
	fuzz_main(rank_main, "rank", "-Q", "-V", "-j", "1", "-k", "3", "-v", f[0], "-q", f[1], "-o",
	          out, NULL);
	fuzz_main(rank_main, "rank", "-Q", "-k", "3", "-s", f[2], "-o", out, NULL);
	return 0;
}
