/* fuzz_de_train: de-train's main on student training videos and captions, teacher videos and
 * captions, test videos and captions (the input's six parts; the test pair is also the validation
 * pair), a tiny model for one epoch: with the teacher, and without it (--kd none) drawing one
 * caption per video. */
#include "fuzz.h"

int de_train_main(int argc, char **argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const name[6] = { "video.mp", "query.mp", "tvideo.mp", "tquery.mp",
	                                     "testv.mp", "testq.mp" };
	const char *f[6], *out = fuzz_path("out.mp"), *log = fuzz_path("log.mp");

	fuzz_stream_parts(data, size, 6, name, f);
	fuzz_main(de_train_main, "de-train", "-Q", "-j", "1", "-v", f[0], "-q", f[1],
	          "--teacher-video", f[2], "--teacher-query", f[3], "--val-video", f[4],
	          "--val-query", f[5], "--test-video", f[4], "--test-query", f[5], "--hidden", "2",
	          "--filters", "1", "--dim", "4", "--batch", "2", "--epochs", "1", "--max-frames", "8",
	          "--max-tokens", "8", "-o", out, "-l", log, NULL);
	fuzz_main(de_train_main, "de-train", "-Q", "-j", "1", "-v", f[0], "-q", f[1], "--kd", "none",
	          "--captions", "1", "--test-video", f[4], "--test-query", f[5], "--hidden", "2",
	          "--filters", "1", "--dim", "4", "--batch", "2", "--epochs", "1", "-o", out, NULL);
	return 0;
}
