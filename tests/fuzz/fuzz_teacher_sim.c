/* fuzz_teacher_sim: teacher-sim on a teacher video-features stream and a teacher query-features
 * stream (the input's two parts), writing similarities and, with -S, scores. */
#include "fuzz.h"

int teacher_sim_main(int argc, char **argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const name[2] = { "video.mp", "query.mp" };
	const char *f[2], *out = fuzz_path("out.mp");

	fuzz_stream_parts(data, size, 2, name, f);
	fuzz_main(teacher_sim_main, "teacher-sim", "-Q", "-v", f[0], "-q", f[1], "-o", out, NULL);
	fuzz_main(teacher_sim_main, "teacher-sim", "-Q", "-S", "-j", "1", "-v", f[0], "-q", f[1],
	          "-o", out, NULL);
	return 0;
}
