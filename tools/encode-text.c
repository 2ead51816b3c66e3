/* encode-text: one embedding per query of a reduced student query-features stream with every
 * branch of a trained checkpoint (kind encoded-queries, schemas/encoded-queries.md), read and
 * written a chunk of queries at a time, so memory does not grow with the corpus.
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
"encode-text - query embeddings with a trained checkpoint\n"
"\n"
"usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT] < QUERY_STUDENT > ENCODED_QUERIES\n"
"  encode-text encodes every query of a reduced student query-features stream with every\n"
"  branch of the checkpoint (kind checkpoint, from distill-step) and writes an encoded-queries\n"
"  stream: header {dim, branches, split}, items {id, video, inh f32[dim], exp f32[dim]}.\n"
"  -c CKPT     checkpoint (required)\n"
"  -j THREADS  threads in all, BLAS included (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -n CHUNK    queries encoded per call (default 256)\n"
"  -o OUT      output file, written atomically (default: stdout)\n"
"  Exit 1 on any error (wrong dims, more tokens than the model's max, bad stream).\n", argv0);
	exit(0);
}

int
main(int argc, char *argv[])
{
	return encode_cli(ENC_TEXT, argc, argv, help);
}
