/* fuzz_metrics: metrics on one ranking or scores stream, writing its msgpack output and the
 * per-query ranks (-r). */
#include "fuzz.h"

int metrics_main(int argc, char **argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_stream_file("in.mp", data, size);

	fuzz_main(metrics_main, "metrics", "-q", "-i", in, "-o", fuzz_path("out.mp"),
	          "-r", fuzz_path("ranks.tsv"), NULL);
	return 0;
}
