/* vidset: a whole stream of videos held in memory, as rank and teacher-sim score against it:
 * ids, frame offsets, the frames of one or more tensor keys concatenated (one (frames, D) array
 * per key), and an id -> index lookup (lib/idindex). Reads encoded-videos (keys: the branches wanted) or
 * video-features (key "x") items {id, n, <key> f32[n, D]} (or item by item, for rank -V, which
 * streams them), with the checks both tools need
 * (frame counts, total size, duplicate ids, empty input), the header checks shared by a
 * video stream and the query stream scored against it (same dim, same split), and the header
 * of a scores stream against the videos (rank -S, teacher-sim -S).
 * Not here: header kind/role checks particular to a tool, scoring (lib/score), the training
 * data (lib/data, which uses the id index alone). */
#ifndef VIDSET_H
#define VIDSET_H

#include "idindex.h"
#include "mpio.h"

#define VIDSET_MAXKEYS 8
#define VIDSET_MAXDIM (1L << 16)
#define VIDSET_MAXN (1L << 20)     /* frames per video accepted */

typedef struct {
	int nv;
	char **id;                 /* (nv) */
	int *off;                  /* (nv + 1) frame offsets: video v owns rows off[v] .. off[v+1]-1 */
	int nkeys;                 /* 0: the ids alone (rank -V streams the frames) */
	float *fr[VIDSET_MAXKEYS]; /* per key: (off[nv], D) */
	IdIndex ix;                /* over id */
} VidSet;

/* the ids of a stream's items, added as read (item i is record i + 1), checked at the end */
typedef struct {
	char **id;
	int n;
	size_t cap;
} IdList;
void idlist_add(IdList *l, const char *id);
/* dies "FILE: record I: WHAT id 'X' appears twice (also record J)"; then frees the list */
void idlist_check(IdList *l, const char *file, const char *what);

/* the frame count of video item o: 'n' in 1..VIDSET_MAXN, each tensor keys[k] n * D floats */
long vidset_item_frames(const MpReader *r, const msgpack_object *o, long D, char **keys, int nkeys);
/* copies item o's n frames (vidset_item_frames) of each keys[k] to fr[k] from row at, growing
 * fr[k] (capacity cap[k] floats) */
void vidset_item_copy(const MpReader *r, const msgpack_object *o, long D, char **keys, int nkeys,
                      long n, float **fr, size_t *cap, long at);
/* every item of r (header already read), keeping tensors keys[0..nkeys-1] of D floats a frame;
 * progress says "<nv> <what>, <frames> frames"; dies on a bad item, a duplicate id, no item */
void vidset_load(VidSet *V, MpReader *r, long D, char **keys, int nkeys, const char *what);
void vidset_free(VidSet *V);
static inline int vidset_find(const VidSet *V, const char *s) { return idindex_find(&V->ix, s); }

/* the 'dim' of video header hv (1..VIDSET_MAXDIM), which query header hq must share */
long vidset_dim(const MpReader *rv, const msgpack_object *hv, const MpReader *rq,
                const msgpack_object *hq);
/* a header's split: the string, or "" when absent or nil (free it) */
char *vidset_header_split(const MpReader *r, const msgpack_object *h);
/* the splits of both headers, which must agree when both are given */
void vidset_splits(const MpReader *rv, const msgpack_object *hv, const MpReader *rq,
                   const msgpack_object *hq, char **vsplit, char **qsplit);

/* header of a scores stream against V (schemas/scores.md): {videos (V's ids), branches, split} */
void vidset_scores_header(MpWriter *w, long count, const VidSet *V, char **br, int nbr,
                          const char *split);

#endif
