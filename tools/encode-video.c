/* encode-video: frame embeddings of every video of a reduced student video-features stream with
 * every branch of a trained checkpoint (kind encoded-videos, schemas/encoded-videos.md), read and
 * written a chunk of videos at a time, so memory does not grow with the corpus.
 * This file is the usage text; the command line is tools/encode-cli.h, the loop lib/encode.c.
 * Not here: scoring and ranking (rank), training (distill-step). */
#include <stdio.h>
#include <stdlib.h>

#include "encode-cli.h"
#include "util.h"

static void
help(void)
{
	printf(
"encode-video - frame embeddings of videos with a trained checkpoint\n"
"\n"
"usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT] < VIDEO_STUDENT > ENCODED_VIDEOS\n"
"  encode-video encodes every video of a reduced student video-features stream with every\n"
"  branch of the checkpoint (kind checkpoint, from distill-step) and writes an encoded-videos\n"
"  stream: header {dim, branches, split}, items {id, n, inh f32[n, dim], exp f32[n, dim]}.\n"
"  -c CKPT     checkpoint (required)\n"
"  -j THREADS  threads in all, BLAS included (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -n CHUNK    videos encoded per call (default 64)\n"
"  -o OUT      output file, written atomically (default: stdout)\n"
"  Exit 1 on any error (wrong dims, more frames than the model's max, bad stream).\n", argv0);
	exit(0);
}

int
main(int argc, char *argv[])
{
	return encode_cli(ENC_VIDEO, argc, argv, help);
}
