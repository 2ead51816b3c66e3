/* fuzz_teacher_sim: teacher-sim on a teacher video-features stream and a teacher query-features
 * stream (the input's two parts), writing similarities and, with -S, scores. */
#include "fuzz.h"

int teacher_sim_main(int argc, char **argv);

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
	const char *v, *q, *out = fuzz_path("out.mp");

	fuzz_split(data, size, p, n, 2);
	v = fuzz_stream_file("video.mp", p[0], n[0]);
	q = fuzz_stream_file("query.mp", p[1], n[1]);
	fuzz_main(teacher_sim_main, "teacher-sim", "-Q", "-v", v, "-q", q, "-o", out, NULL);
	fuzz_main(teacher_sim_main, "teacher-sim", "-Q", "-S", "-j", "1", "-v", v, "-q", q, "-o", out,
	          NULL);
	return 0;
}
