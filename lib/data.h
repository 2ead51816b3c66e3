/* data: the training and validation data of distill-step held in memory, and its batches.
 * Loads reduced feature streams (schemas/video-features.md, query-features.md, teacher-sim.md):
 * student videos and queries, optionally the teacher similarities tau(q, v) and the teacher frame
 * features, checking that ids are unique, that every query's video exists, that teacher streams
 * describe the same videos and queries with the same frame counts, and (for training) that every
 * video has at least one query. A batch (method.md) is B videos, each with all of its queries,
 * frames padded to the batch's longest video and tokens to its longest query.
 * Not here: the model, the order of videos (distill-step shuffles with the run's Rng). */
#ifndef DATA_H
#define DATA_H

#include "model.h"

typedef struct {
	int nv, nq;
	int dv, dt, E;             /* E: teacher frame dim, 0 without teacher frames */
	char split[32];
	/* videos: frames of video v are rows voff[v] .. voff[v] + vlen[v] - 1 of video (dv wide)
	 * and, with teacher frames, of tvideo (E wide) */
	char **vid;
	int *vlen;
	long *voff;
	float *video, *tvideo;
	/* queries, in stream order: tokens rows qoff[q] .. of query (dt wide); own video qvid[q];
	 * with teacher similarities, tau[toff[q] .. toff[q] + vlen[qvid[q]] - 1] */
	char **qid;
	int *qvid, *qlen;
	long *qoff, *toff;
	float *query, *tau;
	/* queries of video v, in stream order: vq[vq_off[v] .. vq_off[v + 1] - 1] */
	int *vq_off, *vq;
	int max_vlen, max_qlen;
} Dataset;

/* video and query are required; tsim (teacher-sim) and tvideo (teacher video-features) may be
 * NULL. Streams must be reduced: at most max_frames frames and max_tokens tokens.
 * every_video_queried: die when a video has no query (training data). */
Dataset *data_load(const char *video, const char *query, const char *tsim, const char *tvideo,
                   int max_frames, int max_tokens, int every_video_queried);
/* an evaluation set (validation or test): data_load(video, query, NULL, NULL, max_frames,
 * max_tokens, 0), dying "VIDEO, QUERY: dims ... differ from the training streams' ..." when its
 * feature dims are not those of train */
Dataset *data_load_eval(const char *video, const char *query, int max_frames, int max_tokens,
                        const Dataset *train);
void     data_free(Dataset *d);

typedef struct {
	Batch b;                   /* points into the buffers below */
	float *video, *query, *tau, *tvideo;
	int *vlen, *qlen, *qvid;
	size_t cap_video, cap_query, cap_tau, cap_tvideo, cap_v, cap_q;
} BatchBuf;

int  data_steps_per_epoch(const Dataset *d, int batch);   /* ceil(nv / batch) */
/* batch of videos vids[0..B-1] (dataset indices), each with all its queries; tau and tvideo
 * are set when the dataset has them */
void data_make_batch(const Dataset *d, const int *vids, int B, BatchBuf *bb);
void data_batch_free(BatchBuf *bb);

#endif
