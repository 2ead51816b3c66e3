/* fuzz_rank: rank on encoded videos and encoded queries (parts 1 and 2 of the input: the load of
 * lib/vidset, scoring, top-k) and on a scores stream (part 3). */
#include "fuzz.h"

int rank_main(int argc, char **argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[3];
	size_t n[3];
	const char *v, *q, *s, *out = fuzz_path("out.mp");

	fuzz_split(data, size, p, n, 3);
	v = fuzz_stream_file("videos.mp", p[0], n[0]);
	q = fuzz_stream_file("queries.mp", p[1], n[1]);
	s = fuzz_stream_file("scores.mp", p[2], n[2]);
	fuzz_main(rank_main, "rank", "-Q", "-j", "1", "-k", "3", "-v", v, "-q", q, "-o", out, NULL);
	fuzz_main(rank_main, "rank", "-Q", "-k", "3", "-s", s, "-o", out, NULL);
	return 0;
}
