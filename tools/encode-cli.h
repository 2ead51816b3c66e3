/* encode-cli: the command line of encode-video and encode-text, the two tools that include it
 * (nothing else does): -c CKPT -j THREADS -n CHUNK -o OUT, then stdin encoded by lib/encode.c.
 * The tools differ only in their usage text and their side. */
#include <unistd.h>

#include "encode.h"
#include "threads.h"
#include "util.h"

/* main of the tool for side (ENC_VIDEO or ENC_TEXT); help() prints the usage text and exits */
static int
encode_cli(int side, int argc, char *argv[], void (*help)(void))
{
	const char *ckpt = NULL, *outpath = "-", *jarg = NULL;
	int c, max, chunk = encode_chunk(side, &max);

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":c:j:n:o:")) != -1) {
		switch (c) {
		case 'c': ckpt = optarg; break;
		case 'j': jarg = optarg; break;
		case 'n': chunk = (int)estrtol(optarg, 1, max); break;
		case 'o': outpath = optarg; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || !ckpt)
		die("usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT]", argv0);
	check_outputs(&ckpt, 1, &outpath, 1);
	encode_stream(side, ckpt, "-", outpath, threads_parse(jarg), chunk);
	return 0;
}
