/* encode-text: one embedding per query of a reduced student query-features stream with every
 * branch of a trained checkpoint (kind encoded-queries, schemas/encoded-queries.md), read and
 * written a chunk of queries at a time, so memory does not grow with the corpus.
 * This file is the command line; the loop is lib/encode.c, shared with encode-video.
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
"encode-text - query embeddings with a trained checkpoint\n"
"\n"
"usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT] < QUERY_STUDENT > ENCODED_QUERIES\n"
"  encode-text encodes every query of a reduced student query-features stream with every\n"
"  branch of the checkpoint (kind checkpoint, from distill-step) and writes an encoded-queries\n"
"  stream: header {dim, branches, split}, items {id, video, inh f32[dim], exp f32[dim]}.\n"
"  -c CKPT     checkpoint (required)\n"
"  -j THREADS  BLAS threads (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -n CHUNK    queries encoded per call (default 256)\n"
"  -o OUT      output file, written atomically (default: stdout)\n"
"  Exit 1 on any error (wrong dims, more tokens than the model's max, bad stream).\n", argv0);
	exit(status);
}

int
main(int argc, char *argv[])
{
	const char *ckpt = NULL, *outpath = "-", *env = getenv("OPENBLAS_NUM_THREADS");
	int c, threads = 2, chunk = 256;

	argv0 = "encode-text";
	set_cmdline(argc, argv);
	if (want_help(argc, argv))
		usage(0);
	if (env && *env)
		threads = (int)estrtol(env, 1, 1024);
	while ((c = getopt(argc, argv, "c:j:n:o:")) != -1) {
		switch (c) {
		case 'c': ckpt = optarg; break;
		case 'j': threads = (int)estrtol(optarg, 1, 1024); break;
		case 'n': chunk = (int)estrtol(optarg, 1, 1 << 20); break;
		case 'o': outpath = optarg; break;
		default: usage(1);
		}
	}
	if (optind != argc || !ckpt)
		usage(1);
	encode_stream(ENC_TEXT, ckpt, "-", outpath, threads, chunk);
	return 0;
}
