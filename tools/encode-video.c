/* encode-video: frame embeddings of every video of a reduced student video-features stream with
 * every branch of a trained checkpoint (kind encoded-videos, schemas/encoded-videos.md), read and
 * written a chunk of videos at a time, so memory does not grow with the corpus.
 * This file is the command line; the loop is lib/encode.c, shared with encode-text.
 * Not here: scoring and ranking (rank), training (distill-step). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "encode.h"
#include "util.h"

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"encode-video - frame embeddings of videos with a trained checkpoint\n"
"\n"
"usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT] < VIDEO_STUDENT > ENCODED_VIDEOS\n"
"  encode-video encodes every video of a reduced student video-features stream with every\n"
"  branch of the checkpoint (kind checkpoint, from distill-step) and writes an encoded-videos\n"
"  stream: header {dim, branches, split}, items {id, n, inh f32[n, dim], exp f32[n, dim]}.\n"
"  -c CKPT     checkpoint (required)\n"
"  -j THREADS  BLAS threads (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -n CHUNK    videos encoded per call (default 64)\n"
"  -o OUT      output file, written atomically (default: stdout)\n"
"  Exit 1 on any error (wrong dims, more frames than the model's max, bad stream).\n", argv0);
	exit(status);
}

int
main(int argc, char *argv[])
{
	const char *ckpt = NULL, *outpath = "-", *env = getenv("OPENBLAS_NUM_THREADS");
	int c, threads = 2, chunk = 64;

	argv0 = "encode-video";
	set_cmdline(argc, argv);
	if (want_help(argc, argv))
		usage(0);
	if (env && *env)
		threads = (int)estrtol(env, 1, 1024);
	while ((c = getopt(argc, argv, "c:j:n:o:")) != -1) {
		switch (c) {
		case 'c': ckpt = optarg; break;
		case 'j': threads = (int)estrtol(optarg, 1, 1024); break;
		case 'n': chunk = (int)estrtol(optarg, 1, 1 << 16); break;
		case 'o': outpath = optarg; break;
		default: usage(1);
		}
	}
	if (optind != argc || !ckpt)
		usage(1);
	encode_stream(ENC_VIDEO, ckpt, "-", outpath, threads, chunk);
	return 0;
}
