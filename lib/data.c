/* data: feature streams in memory and batches; see data.h. */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "mpio.h"
#include "util.h"
#include "vidset.h"

#define GROW(p, cap, need) do { \
	if ((size_t)(need) > (cap)) { \
		size_t nc_ = (cap) ? (cap) : 64; \
		while (nc_ < (size_t)(need)) \
			nc_ *= 2; \
		(p) = erealloc((p), nc_ * sizeof(*(p))); \
		(cap) = nc_; \
	} \
} while (0)

/* ---- id lookup: vidset.h's IdIndex ---- */

/* sorted index of ids[0..n-1]; dies on a duplicate id */
static void
index_ids(IdIndex *x, char **ids, int n, const char *what, const char *file)
{
	int a, b;

	idindex_sort(x, ids, n);
	if (idindex_dup(x, &a, &b))
		die("%s: record %d: duplicate %s id '%s' (also record %d)", file, MAX(a, b) + 1, what,
		    ids[b], MIN(a, b) + 1);
}

/* ---- stream headers ---- */

static int
read_header(MpReader *r, const char *kind, const char *role, char *split, size_t nsplit)
{
	const msgpack_object *h = mpr_header(r, kind), *o;
	char s[32];
	long dim;

	if (role) {
		mpr_strcpy(r, h, "role", s, sizeof(s));
		if (strcmp(s, role) != 0)
			mpr_die(r, "role '%s', expected '%s'", s, role);
	}
	if (split) {
		o = mp_find(h, "split");
		split[0] = '\0';
		if (o && o->type == MSGPACK_OBJECT_STR)
			mpr_strcpy(r, h, "split", split, nsplit);
	}
	if (!role)
		return 0;
	dim = mpr_int(r, h, "dim");
	if (dim < 1 || dim > (1L << 20))
		mpr_die(r, "dim %ld out of range", dim);
	return (int)dim;
}

static long
item_n(const MpReader *r, const msgpack_object *o, long max, const char *what)
{
	long n = mpr_int(r, o, "n");

	if (n < 1)
		mpr_die(r, "n = %ld: a %s needs at least one row", n, what);
	if (n > max)
		mpr_die(r, "n = %ld %ss, more than %ld (HINT: reduce the stream with feat-reduce)",
		        n, what, max);
	return n;
}

/* ---- loading ---- */

static void
load_videos(Dataset *d, const char *path, int max_frames)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *o;
	size_t cap_id = 0, cap_len = 0, cap_off = 0, cap_x = 0;
	long rows = 0;

	d->dv = read_header(r, "video-features", "student", d->split, sizeof(d->split));
	while ((o = mpr_next(r))) {
		long n = item_n(r, o, max_frames, "frame");
		mpr_f32n(r, o, "x", (size_t)n * d->dv);
		GROW(d->vid, cap_id, d->nv + 1);
		GROW(d->vlen, cap_len, d->nv + 1);
		GROW(d->voff, cap_off, d->nv + 2);
		GROW(d->video, cap_x, (size_t)(rows + n) * d->dv);
		d->vid[d->nv] = mpr_strdup(r, o, "id");
		d->vlen[d->nv] = (int)n;
		d->voff[d->nv] = rows;
		mpr_f32(r, o, "x", d->video + (size_t)rows * d->dv, (size_t)n * d->dv);
		rows += n;
		d->max_vlen = MAX(d->max_vlen, (int)n);
		d->nv++;
	}
	if (d->nv == 0)
		die("%s: no videos", r->name);
	d->voff[d->nv] = rows;
	mpr_close(r);
}

static void
load_queries(Dataset *d, const IdIndex *vx, const char *path, int max_tokens)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *o;
	size_t cap_id = 0, cap_v = 0, cap_len = 0, cap_off = 0, cap_x = 0;
	long rows = 0;
	char vid[512];

	d->dt = read_header(r, "query-features", "student", NULL, 0);
	while ((o = mpr_next(r))) {
		long n = item_n(r, o, max_tokens, "token");
		int v;
		mpr_f32n(r, o, "x", (size_t)n * d->dt);
		mpr_strcpy(r, o, "video", vid, sizeof(vid));
		if ((v = idindex_find(vx, vid)) < 0)
			mpr_die(r, "query's video '%s' is not in the video stream", vid);
		GROW(d->qid, cap_id, d->nq + 1);
		GROW(d->qvid, cap_v, d->nq + 1);
		GROW(d->qlen, cap_len, d->nq + 1);
		GROW(d->qoff, cap_off, d->nq + 2);
		GROW(d->query, cap_x, (size_t)(rows + n) * d->dt);
		d->qid[d->nq] = mpr_strdup(r, o, "id");
		d->qvid[d->nq] = v;
		d->qlen[d->nq] = (int)n;
		d->qoff[d->nq] = rows;
		mpr_f32(r, o, "x", d->query + (size_t)rows * d->dt, (size_t)n * d->dt);
		rows += n;
		d->max_qlen = MAX(d->max_qlen, (int)n);
		d->nq++;
	}
	if (d->nq == 0)
		die("%s: no queries", r->name);
	d->qoff[d->nq] = rows;
	mpr_close(r);
}

static void
load_tau(Dataset *d, const IdIndex *qx, const char *path)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *o;
	char *seen = ecalloc((size_t)d->nq, 1);
	char id[512], vid[512];
	long total = 0;
	int nseen = 0;

	read_header(r, "teacher-sim", NULL, NULL, 0);
	d->toff = emalloc((size_t)(d->nq + 1) * sizeof(*d->toff));
	for (int q = 0; q < d->nq; q++) {
		d->toff[q] = total;
		total += d->vlen[d->qvid[q]];
	}
	d->toff[d->nq] = total;
	d->tau = efloats((size_t)total);
	while ((o = mpr_next(r))) {
		int q, v;
		long n;
		mpr_strcpy(r, o, "id", id, sizeof(id));
		if ((q = idindex_find(qx, id)) < 0)
			mpr_die(r, "query '%s' is not in the query stream", id);
		if (seen[q])
			mpr_die(r, "query '%s' appears twice", id);
		v = d->qvid[q];
		mpr_strcpy(r, o, "video", vid, sizeof(vid));
		if (strcmp(vid, d->vid[v]) != 0)
			mpr_die(r, "query '%s': video '%s', but the query stream says '%s'", id, vid,
			        d->vid[v]);
		n = mpr_int(r, o, "n");
		if (n != d->vlen[v])
			mpr_die(r, "query '%s': n = %ld, but video '%s' has %d frames", id, n, vid,
			        d->vlen[v]);
		mpr_f32(r, o, "tau", d->tau + d->toff[q], (size_t)n);
		seen[q] = 1;
		nseen++;
	}
	for (int q = 0; nseen < d->nq && q < d->nq; q++)
		if (!seen[q])
			die("%s: no teacher similarities for query '%s'", r->name, d->qid[q]);
	mpr_close(r);
	free(seen);
}

static void
load_teacher_videos(Dataset *d, const IdIndex *vx, const char *path)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *o;
	char *seen = ecalloc((size_t)d->nv, 1);
	char id[512];
	int nseen = 0;

	d->E = read_header(r, "video-features", "teacher", NULL, 0);
	while ((o = mpr_next(r))) {
		int v;
		long n;
		mpr_strcpy(r, o, "id", id, sizeof(id));
		if ((v = idindex_find(vx, id)) < 0)
			mpr_die(r, "video '%s' is not in the student video stream", id);
		if (seen[v])
			mpr_die(r, "video '%s' appears twice", id);
		n = mpr_int(r, o, "n");
		if (n != d->vlen[v])
			mpr_die(r, "video '%s': n = %ld, but the student stream has %d frames", id, n,
			        d->vlen[v]);
		if (!d->tvideo) {       /* the header's dim is allocated from once a record has it */
			mpr_f32n(r, o, "x", (size_t)n * d->E);
			d->tvideo = efloats((size_t)d->voff[d->nv] * d->E);
		}
		mpr_f32(r, o, "x", d->tvideo + (size_t)d->voff[v] * d->E, (size_t)n * d->E);
		seen[v] = 1;
		nseen++;
	}
	for (int v = 0; nseen < d->nv && v < d->nv; v++)
		if (!seen[v])
			die("%s: no teacher features for video '%s'", r->name, d->vid[v]);
	mpr_close(r);
	free(seen);
}

Dataset *
data_load(const char *video, const char *query, const char *tsim, const char *tvideo,
          int max_frames, int max_tokens, int every_video_queried)
{
	Dataset *d = ecalloc(1, sizeof(*d));
	IdIndex vx, qx;

	load_videos(d, video, max_frames);
	index_ids(&vx, d->vid, d->nv, "video", video);
	load_queries(d, &vx, query, max_tokens);
	index_ids(&qx, d->qid, d->nq, "query", query);

	/* queries of each video: counting sort, stable */
	d->vq_off = ecalloc((size_t)d->nv + 1, sizeof(*d->vq_off));
	d->vq = emalloc((size_t)d->nq * sizeof(*d->vq));
	for (int q = 0; q < d->nq; q++)
		d->vq_off[d->qvid[q] + 1]++;
	for (int v = 0; v < d->nv; v++) {
		if (every_video_queried && d->vq_off[v + 1] == 0)
			die("%s: record %d: video '%s' has no query in %s", video, v + 1, d->vid[v],
			    query);
		d->vq_off[v + 1] += d->vq_off[v];
	}
	{
		int *fill = emalloc((size_t)d->nv * sizeof(*fill));
		memcpy(fill, d->vq_off, (size_t)d->nv * sizeof(*fill));
		for (int q = 0; q < d->nq; q++)
			d->vq[fill[d->qvid[q]]++] = q;
		free(fill);
	}
	if (tsim)
		load_tau(d, &qx, tsim);
	if (tvideo)
		load_teacher_videos(d, &vx, tvideo);
	idindex_free(&vx);
	idindex_free(&qx);
	return d;
}

Dataset *
data_load_eval(const char *video, const char *query, int max_frames, int max_tokens,
               const Dataset *train)
{
	Dataset *d = data_load(video, query, NULL, NULL, max_frames, max_tokens, 0);

	if (d->dv != train->dv || d->dt != train->dt)
		die("%s, %s: dims %d, %d differ from the training streams' %d, %d", video, query,
		    d->dv, d->dt, train->dv, train->dt);
	return d;
}

void
data_free(Dataset *d)
{
	if (!d)
		return;
	for (int v = 0; v < d->nv; v++)
		free(d->vid[v]);
	for (int q = 0; q < d->nq; q++)
		free(d->qid[q]);
	free(d->vid);
	free(d->vlen);
	free(d->voff);
	free(d->video);
	free(d->tvideo);
	free(d->qid);
	free(d->qvid);
	free(d->qlen);
	free(d->qoff);
	free(d->toff);
	free(d->query);
	free(d->tau);
	free(d->vq_off);
	free(d->vq);
	free(d);
}

/* ---- batches ---- */

int
data_steps_per_epoch(const Dataset *d, int batch)
{
	return (d->nv + batch - 1) / batch;
}

static float *
grow_floats(float *p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return p;
	free(p);
	*cap = need + need / 4;
	return efloats(*cap);
}

void
data_make_batch(const Dataset *d, const int *vids, int B, BatchBuf *bb)
{
	int L = 0, T = 0, Nq = 0, dv = d->dv, dt = d->dt, E = d->E;
	Batch *b = &bb->b;

	CHECK(B >= 1);
	for (int i = 0; i < B; i++) {
		int v = vids[i];
		CHECK(v >= 0 && v < d->nv);
		L = MAX(L, d->vlen[v]);
		for (int k = d->vq_off[v]; k < d->vq_off[v + 1]; k++)
			T = MAX(T, d->qlen[d->vq[k]]);
		Nq += d->vq_off[v + 1] - d->vq_off[v];
	}
	CHECK(Nq >= 1 && T >= 1);
	bb->video = grow_floats(bb->video, &bb->cap_video, (size_t)B * L * dv);
	bb->query = grow_floats(bb->query, &bb->cap_query, (size_t)Nq * T * dt);
	if (B > (int)bb->cap_v) {
		bb->cap_v = (size_t)B;
		bb->vlen = erealloc(bb->vlen, bb->cap_v * sizeof(int));
	}
	if (Nq > (int)bb->cap_q) {
		bb->cap_q = (size_t)Nq + Nq / 4;
		bb->qlen = erealloc(bb->qlen, bb->cap_q * sizeof(int));
		bb->qvid = erealloc(bb->qvid, bb->cap_q * sizeof(int));
	}
	/* padding is zero: rows past vlen / qlen are ignored by the model */
	memset(bb->video, 0, (size_t)B * L * dv * sizeof(float));
	memset(bb->query, 0, (size_t)Nq * T * dt * sizeof(float));
	if (d->tau) {
		bb->tau = grow_floats(bb->tau, &bb->cap_tau, (size_t)Nq * L);
		memset(bb->tau, 0, (size_t)Nq * L * sizeof(float));
	}
	if (d->tvideo) {
		bb->tvideo = grow_floats(bb->tvideo, &bb->cap_tvideo, (size_t)B * L * E);
		memset(bb->tvideo, 0, (size_t)B * L * E * sizeof(float));
	}
	Nq = 0;
	for (int i = 0; i < B; i++) {
		int v = vids[i], n = d->vlen[v];
		bb->vlen[i] = n;
		memcpy(bb->video + (size_t)i * L * dv, d->video + (size_t)d->voff[v] * dv,
		       (size_t)n * dv * sizeof(float));
		if (d->tvideo)
			memcpy(bb->tvideo + (size_t)i * L * E, d->tvideo + (size_t)d->voff[v] * E,
			       (size_t)n * E * sizeof(float));
		for (int k = d->vq_off[v]; k < d->vq_off[v + 1]; k++, Nq++) {
			int q = d->vq[k];
			bb->qlen[Nq] = d->qlen[q];
			bb->qvid[Nq] = i;
			memcpy(bb->query + (size_t)Nq * T * dt, d->query + (size_t)d->qoff[q] * dt,
			       (size_t)d->qlen[q] * dt * sizeof(float));
			if (d->tau)
				memcpy(bb->tau + (size_t)Nq * L, d->tau + d->toff[q],
				       (size_t)n * sizeof(float));
		}
	}
	b->B = B;
	b->L = L;
	b->video = bb->video;
	b->vlen = bb->vlen;
	b->Nq = Nq;
	b->T = T;
	b->query = bb->query;
	b->qlen = bb->qlen;
	b->qvid = bb->qvid;
	b->tau = d->tau ? bb->tau : NULL;
	b->tvideo = d->tvideo ? bb->tvideo : NULL;
}

void
data_batch_free(BatchBuf *bb)
{
	free(bb->video);
	free(bb->query);
	free(bb->tau);
	free(bb->tvideo);
	free(bb->vlen);
	free(bb->qlen);
	free(bb->qvid);
	memset(bb, 0, sizeof(*bb));
}
