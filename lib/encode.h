/* encode: the loop shared by encode-video and encode-text. Reads a reduced student feature
 * stream (video-features or query-features) a chunk of items at a time, encodes each chunk with
 * every branch of a trained checkpoint (model_encode_videos / model_encode_queries) and writes
 * the encoded stream (encoded-videos: {id, n, <branch> f32[n, dim]}; encoded-queries:
 * {id, video, <branch> f32[dim]}), so memory does not grow with the corpus.
 * What differs between the two sides (input and output kind, feature dim and length limit of the
 * model, the model call, the item keys) is a row of a table in encode.c.
 * Not here: the command line (tools/encode-cli.h), scoring (rank, lib/score). */
#ifndef ENCODE_H
#define ENCODE_H

enum { ENC_VIDEO = 0, ENC_TEXT = 1 };

/* encode stream inpath ("-" = stdin) into outpath ("-" = stdout, else written atomically) with
 * checkpoint ckpt, threads in all (lib/threads.h), chunk items per model call; dies on any error */
void encode_stream(int side, const char *ckpt, const char *inpath, const char *outpath,
                   int threads, int chunk);
/* the default items per model call of a side (-n), and in *max the largest */
int encode_chunk(int side, int *max);

#endif
