/* data: the training and validation data of distill-step (and de-train), and its batches.
 * Indexes reduced feature streams (schemas/video-features.md, query-features.md, teacher-sim.md):
 * student videos and queries, optionally the teacher similarities tau(q, v) and the teacher frame
 * features, checking that ids are unique, that every query's video exists, that teacher streams
 * describe the same videos and queries with the same frame counts, that every tensor has its
 * size and finite values, and (for training) that every video has at least one query.
 * Only ids, lengths and record numbers stay in memory (a few dozen bytes per video and query):
 * the features are read again from the stream files (lib/recfile) when a batch or an encoding
 * call needs them, so memory does not grow with the corpus; the streams must be uncompressed
 * regular files, and a file that changes during the run is an error naming it and the record.
 * A batch (method.md) is B videos, each with all of its queries, frames padded to the batch's
 * longest video and tokens to its longest query.
 * Not here: the model, the order of videos (distill-step shuffles with the run's Rng). */
#ifndef DATA_H
#define DATA_H

#include "model.h"
#include "recfile.h"

typedef struct {
	int nv, nq;
	int dv, dt, E;             /* E: teacher dim, 0 without teacher frames or queries */
	char split[32];
	/* videos, in stream order (video v is record v + 1 of the student video stream): frames
	 * of video v are rows voff[v] .. voff[v] + vlen[v] - 1 of the split's frames */
	char **vid;
	int *vlen;
	long *voff;
	/* queries, in stream order (record q + 1 of the query stream); own video qvid[q] */
	char **qid;
	int *qvid, *qlen;
	/* queries of video v, in stream order: vq[vq_off[v] .. vq_off[v + 1] - 1] */
	int *vq_off, *vq;
	int max_vlen, max_qlen;
	/* the streams: student videos and queries; teacher similarities (query q: record trec[q]),
	 * teacher frames (video v: record erec[v], elen[v] frames) and teacher query embeddings
	 * (query q: record crec[q]), NULL when not loaded */
	RecFile *fv, *fq, *ft, *fe, *fc;
	long *trec, *erec, *crec;
	/* frames of video v in a batch: elen[v] <= vlen[v] with DATA_RESAMPLE, else (NULL) vlen */
	int *elen;
} Dataset;

enum {
	DATA_EVERY_QUERIED = 1,    /* die when a video has no query (training data) */
	/* a teacher video may have fewer frames than its student one: in a batch the student's
	 * frames are resampled to the teacher's count (DL-DKD++'s training, doc/method.md) */
	DATA_RESAMPLE = 2
};

/* video and query are required; tsim (teacher-sim) and tvideo (teacher video-features) may be
 * NULL. Streams must be reduced: at most max_frames frames and max_tokens tokens. flags:
 * DATA_*. With DATA_RESAMPLE the teacher similarities have the teacher's frame count. */
Dataset *data_load(const char *video, const char *query, const char *tsim, const char *tvideo,
                   int max_frames, int max_tokens, int flags);
/* the teacher's query embeddings (query-features, role teacher, n = 1; dim that of the teacher
 * frames when loaded) of every query of d, from path */
void     data_load_teacher_queries(Dataset *d, const char *path);
/* an evaluation set (validation or test): data_load(video, query, NULL, NULL, max_frames,
 * max_tokens, 0), dying "VIDEO, QUERY: dims ... differ from the training streams' ..." when its
 * feature dims are not those of train */
Dataset *data_load_eval(const char *video, const char *query, int max_frames, int max_tokens,
                        const Dataset *train);
void     data_free(Dataset *d);

typedef struct {
	Batch b;                   /* points into the buffers below */
	float *video, *query, *tau, *tvideo, *tquery, *raw;
	int *vlen, *qlen, *qvid;
	size_t cap_video, cap_query, cap_tau, cap_tvideo, cap_tquery, cap_raw, cap_v, cap_q,
	       cap_qvid;
} BatchBuf;

/* the features, read from the streams: frames (dv wide) of videos v0 .. v0 + n - 1 concatenated
 * (rows voff[v0] .. voff[v0 + n] - 1), their teacher frames (E wide, elen rows each),
 * tokens (dt wide) of queries q0 .. q0 + n - 1 concatenated, tau of query q (the teacher frame
 * count of its video) */
void data_videos(const Dataset *d, int v0, int n, float *dst);
void data_teacher_videos(const Dataset *d, int v0, int n, float *dst);
void data_queries(const Dataset *d, int q0, int n, float *dst);
void data_tau(const Dataset *d, int q, float *dst);
/* the teacher's embedding of query q (E floats), after data_load_teacher_queries */
void data_teacher_query(const Dataset *d, int q, float *dst);

int  data_steps_per_epoch(const Dataset *d, int batch);   /* ceil(nv / batch) */
/* batch of videos vids[0..B-1] (dataset indices), each with all its queries; tau, tvideo and
 * tquery are set when the dataset has them (ft, fe, fc). A video whose teacher has fewer
 * frames (DATA_RESAMPLE) gets its student frames segment-averaged to that count (the rule of
 * reduce_segments, as the release's uniform_feature_sampling) and re-normalised. */
void data_make_batch(const Dataset *d, const int *vids, int B, BatchBuf *bb);
/* the same batch for rank c->rank of a data-parallel step (model_loss_dp): only the student
 * features of its share of the videos and of the queries are read and held (v_first, q_first);
 * lengths, query owners and the teacher's tau and frames, which the whole-batch loss needs,
 * are read whole */
void data_make_batch_share(const Dataset *d, const int *vids, int B, const Comm *c,
                           BatchBuf *bb);
void data_batch_free(BatchBuf *bb);

#endif
