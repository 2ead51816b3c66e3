/* data: feature streams indexed, read again per batch; see data.h. */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "mpio.h"
#include "reduce.h"
#include "schema.h"
#include "util.h"
#include "vidset.h"

/* ---- id lookup: lib/idindex.h ---- */

/* index of ids[0..n-1]; dies on a duplicate id */
static void
index_ids(IdIndex *x, char **ids, int n, const char *what, const char *file)
{
	int a, b;

	if (idindex_of(x, ids, n, &a, &b))
		die("%s: record %d: duplicate %s id '%s' (also record %d)", file, b + 1, what, ids[b],
		    a + 1);
}

/* ---- stream headers ---- */

static int
read_header(RecFile *f, const char *kind, const char *role, char *split, size_t nsplit)
{
	MpReader *r = f->r;
	const msgpack_object *h = rf_header(f, kind), *o;
	char s[32];
	long dim;

	schema_check_header(r, h);
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

/* the pass checks every tensor (size, finite values) through a buffer of one record */
static void
check_f32(const MpReader *r, const msgpack_object *o, const char *key, size_t n, float **x,
          size_t *cap)
{
	mpr_f32n(r, o, key, n);        /* n is claimed: the bin's length backs it before it is allocated */
	*x = efloats_grow(*x, cap, n);
	mpr_f32(r, o, key, *x, n);
}

/* frames of video v in a batch: the teacher's count (DATA_RESAMPLE), else the student's */
static int
tframes(const Dataset *d, int v)
{
	return d->elen ? d->elen[v] : d->vlen[v];
}

/* ---- the pass over each stream ---- */

static void
load_videos(Dataset *d, const char *path, int max_frames)
{
	RecFile *f = d->fv = rf_open(path);
	MpReader *r = f->r;
	const msgpack_object *o;
	size_t cap_id = 0, cap_len = 0, cap_off = 0, cap_x = 0;
	float *x = NULL;
	long rows = 0;

	d->dv = read_header(f, "video-features", "student", d->split, sizeof(d->split));
	while ((o = rf_next(f))) {
		long n = item_n(r, o, max_frames, "frame");
		d->vid = egrow(d->vid, &cap_id, (size_t)(d->nv + 1), sizeof(*d->vid));
		d->vlen = egrow(d->vlen, &cap_len, (size_t)(d->nv + 1), sizeof(*d->vlen));
		d->voff = egrow(d->voff, &cap_off, (size_t)(d->nv + 2), sizeof(*d->voff));
		d->vid[d->nv] = mpr_strdup(r, o, "id");
		d->vlen[d->nv] = (int)n;
		d->voff[d->nv] = rows;
		check_f32(r, o, "x", (size_t)n * d->dv, &x, &cap_x);
		rows += n;
		d->max_vlen = MAX(d->max_vlen, (int)n);
		d->nv++;
	}
	if (d->nv == 0)
		die("%s: no videos", r->name);
	d->voff[d->nv] = rows;
	rf_pass_done(f);
	free(x);
}

static void
load_queries(Dataset *d, const IdIndex *vx, const char *path, int max_tokens)
{
	RecFile *f = d->fq = rf_open(path);
	MpReader *r = f->r;
	const msgpack_object *o;
	size_t cap_id = 0, cap_v = 0, cap_len = 0, cap_x = 0;
	float *x = NULL;
	char vid[512];

	d->dt = read_header(f, "query-features", "student", NULL, 0);
	while ((o = rf_next(f))) {
		long n = item_n(r, o, max_tokens, "token");
		int v;
		mpr_strcpy(r, o, "video", vid, sizeof(vid));
		if ((v = idindex_find(vx, vid)) < 0)
			mpr_die(r, "query's video '%s' is not in the video stream", vid);
		d->qid = egrow(d->qid, &cap_id, (size_t)(d->nq + 1), sizeof(*d->qid));
		d->qvid = egrow(d->qvid, &cap_v, (size_t)(d->nq + 1), sizeof(*d->qvid));
		d->qlen = egrow(d->qlen, &cap_len, (size_t)(d->nq + 1), sizeof(*d->qlen));
		d->qid[d->nq] = mpr_strdup(r, o, "id");
		d->qvid[d->nq] = v;
		d->qlen[d->nq] = (int)n;
		check_f32(r, o, "x", (size_t)n * d->dt, &x, &cap_x);
		d->max_qlen = MAX(d->max_qlen, (int)n);
		d->nq++;
	}
	if (d->nq == 0)
		die("%s: no queries", r->name);
	rf_pass_done(f);
	free(x);
}

/* item o of a per-query teacher stream: the index of its query, which must be in the query
 * stream, with the same video, not seen before (rec[q] still 0); its record goes to rec[q] */
static int
teacher_query_item(const Dataset *d, const IdIndex *qx, const MpReader *r,
                   const msgpack_object *o, long *rec)
{
	char id[512], vid[512];
	int q;

	mpr_strcpy(r, o, "id", id, sizeof(id));
	if ((q = idindex_find(qx, id)) < 0)
		mpr_die(r, "query '%s' is not in the query stream", id);
	if (rec[q])
		mpr_die(r, "query '%s' appears twice", id);
	mpr_strcpy(r, o, "video", vid, sizeof(vid));
	if (strcmp(vid, d->vid[d->qvid[q]]) != 0)
		mpr_die(r, "query '%s': video '%s', but the query stream says '%s'", id, vid,
		        d->vid[d->qvid[q]]);
	rec[q] = r->rec;
	return q;
}

/* after the pass over a per-query teacher stream: every query has a record */
static void
every_query_in(const Dataset *d, const long *rec, const char *file, const char *what)
{
	for (int q = 0; q < d->nq; q++)
		if (!rec[q])
			die("%s: no %s for query '%s'", file, what, d->qid[q]);
}

static void
load_tau(Dataset *d, const IdIndex *qx, const char *path)
{
	RecFile *f = d->ft = rf_open(path);
	MpReader *r = f->r;
	const msgpack_object *o;
	size_t cap_x = 0;
	float *x = NULL;

	read_header(f, "teacher-sim", NULL, NULL, 0);
	d->trec = ecalloc((size_t)d->nq, sizeof(*d->trec));
	while ((o = rf_next(f))) {
		int q = teacher_query_item(d, qx, r, o, d->trec), v = d->qvid[q];
		long n = mpr_int(r, o, "n");
		if (n != tframes(d, v))
			mpr_die(r, "query '%s': n = %ld, but video '%s' has %d frames", d->qid[q], n,
			        d->vid[v], tframes(d, v));
		check_f32(r, o, "tau", (size_t)n, &x, &cap_x);
	}
	every_query_in(d, d->trec, r->name, "teacher similarities");
	rf_pass_done(f);
	free(x);
}

static void
load_teacher_queries(Dataset *d, const IdIndex *qx, const char *path)
{
	RecFile *f = d->fc = rf_open(path);
	MpReader *r = f->r;
	const msgpack_object *o;
	size_t cap_x = 0;
	float *x = NULL;
	int E = read_header(f, "query-features", "teacher", NULL, 0);

	if (d->fe && E != d->E)
		mpr_die(r, "dim %d, but the teacher frames have dim %d", E, d->E);
	d->E = E;
	d->crec = ecalloc((size_t)d->nq, sizeof(*d->crec));
	while ((o = rf_next(f))) {
		int q = teacher_query_item(d, qx, r, o, d->crec);
		long n = mpr_int(r, o, "n");
		if (n != 1)
			mpr_die(r, "query '%s': n = %ld, expected 1 (one teacher embedding per query)",
			        d->qid[q], n);
		check_f32(r, o, "x", (size_t)E, &x, &cap_x);
	}
	every_query_in(d, d->crec, r->name, "teacher embedding");
	rf_pass_done(f);
	free(x);
}

static void
load_teacher_videos(Dataset *d, const IdIndex *vx, const char *path, int resample)
{
	RecFile *f = d->fe = rf_open(path);
	MpReader *r = f->r;
	const msgpack_object *o;
	char id[512];
	size_t cap_x = 0;
	float *x = NULL;

	d->E = read_header(f, "video-features", "teacher", NULL, 0);
	d->erec = ecalloc((size_t)d->nv, sizeof(*d->erec));
	if (resample)
		d->elen = ecalloc((size_t)d->nv, sizeof(*d->elen));
	while ((o = rf_next(f))) {
		int v;
		long n;
		mpr_strcpy(r, o, "id", id, sizeof(id));
		if ((v = idindex_find(vx, id)) < 0)
			mpr_die(r, "video '%s' is not in the student video stream", id);
		if (d->erec[v])
			mpr_die(r, "video '%s' appears twice", id);
		n = mpr_int(r, o, "n");
		/* resampling only shrinks the student, as the release's sampling can */
		if (resample ? n < 1 || n > d->vlen[v] : n != d->vlen[v])
			mpr_die(r, "video '%s': n = %ld, but the student stream has %d frames%s", id, n,
			        d->vlen[v], resample ? " (a teacher may have fewer, not more)" : "");
		check_f32(r, o, "x", (size_t)n * d->E, &x, &cap_x);
		d->erec[v] = r->rec;
		if (resample)
			d->elen[v] = (int)n;
	}
	for (int v = 0; v < d->nv; v++)
		if (!d->erec[v])
			die("%s: no teacher features for video '%s'", r->name, d->vid[v]);
	rf_pass_done(f);
	free(x);
}

Dataset *
data_load(const char *video, const char *query, const char *tsim, const char *tvideo,
          int max_frames, int max_tokens, int flags)
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
		if ((flags & DATA_EVERY_QUERIED) && d->vq_off[v + 1] == 0)
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
	/* the teacher frames first: they fix the frame counts tau must have */
	if (tvideo)
		load_teacher_videos(d, &vx, tvideo, flags & DATA_RESAMPLE);
	if (tsim)
		load_tau(d, &qx, tsim);
	idindex_free(&vx);
	idindex_free(&qx);
	return d;
}

void
data_load_teacher_queries(Dataset *d, const char *path)
{
	IdIndex qx;

	CHECK(!d->fc);
	index_ids(&qx, d->qid, d->nq, "query", d->fq->r->name);
	load_teacher_queries(d, &qx, path);
	idindex_free(&qx);
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
	free(d->qid);
	free(d->qvid);
	free(d->qlen);
	free(d->vq_off);
	free(d->vq);
	free(d->trec);
	free(d->erec);
	free(d->crec);
	free(d->elen);
	rf_close(d->fv);
	rf_close(d->fq);
	rf_close(d->ft);
	rf_close(d->fe);
	rf_close(d->fc);
	free(d);
}

/* ---- features, read again ---- */

/* record rec of f into dst: n * width floats of key, from a record with the id and n the pass
 * saw there (else the file changed since) */
static void
reread(RecFile *f, long rec, const char *id, long n, const char *key, float *dst, size_t width)
{
	const msgpack_object *o = rf_read(f, rec);
	char s[512];
	long m;

	mpr_strcpy(f->r, o, "id", s, sizeof(s));
	m = mpr_int(f->r, o, "n");
	if (strcmp(s, id) != 0 || m != n)
		mpr_die(f->r, "'%s' with n = %ld, where the first read found '%s' with n = %ld "
		        "(the file changed since?)", s, m, id, n);
	mpr_f32(f->r, o, key, dst, (size_t)n * width);
}

void
data_videos(const Dataset *d, int v0, int n, float *dst)
{
	for (int v = v0; v < v0 + n; v++)
		reread(d->fv, v + 1, d->vid[v], d->vlen[v], "x",
		       dst + (size_t)(d->voff[v] - d->voff[v0]) * d->dv, (size_t)d->dv);
}

void
data_teacher_videos(const Dataset *d, int v0, int n, float *dst)
{
	CHECK(d->fe);
	for (int v = v0; v < v0 + n; v++) {
		reread(d->fe, d->erec[v], d->vid[v], tframes(d, v), "x", dst, (size_t)d->E);
		dst += (size_t)tframes(d, v) * d->E;
	}
}

void
data_queries(const Dataset *d, int q0, int n, float *dst)
{
	for (int q = q0; q < q0 + n; q++) {
		reread(d->fq, q + 1, d->qid[q], d->qlen[q], "x", dst, (size_t)d->dt);
		dst += (size_t)d->qlen[q] * d->dt;
	}
}

void
data_tau(const Dataset *d, int q, float *dst)
{
	CHECK(d->ft);
	reread(d->ft, d->trec[q], d->qid[q], tframes(d, d->qvid[q]), "tau", dst, 1);
}

void
data_teacher_query(const Dataset *d, int q, float *dst)
{
	CHECK(d->fc);
	reread(d->fc, d->crec[q], d->qid[q], 1, "x", dst, (size_t)d->E);
}

/* ---- batches ---- */

int
data_steps_per_epoch(const Dataset *d, int batch)
{
	return (d->nv + batch - 1) / batch;
}

void
data_make_batch(const Dataset *d, const int *vids, int B, BatchBuf *bb)
{
	data_make_batch_share(d, vids, B, &comm_self, bb);
}

void
data_make_batch_share(const Dataset *d, const int *vids, int B, const Comm *c, BatchBuf *bb)
{
	int L = 0, T = 0, Nq = 0, dv = d->dv, dt = d->dt, E = d->E, r = c->rank, nvr, nqr;
	int *vlo = emalloc(((size_t)c->size + 1) * sizeof(*vlo));
	int *qlo = emalloc(((size_t)c->size + 1) * sizeof(*qlo));
	Batch *b = &bb->b;

	CHECK(B >= 1);
	for (int i = 0; i < B; i++) {
		int v = vids[i];
		CHECK(v >= 0 && v < d->nv);
		L = MAX(L, tframes(d, v));
		for (int k = d->vq_off[v]; k < d->vq_off[v + 1]; k++)
			T = MAX(T, d->qlen[d->vq[k]]);
		Nq += d->vq_off[v + 1] - d->vq_off[v];
	}
	CHECK(Nq >= 1 && T >= 1);
	comm_share(c, B, vlo);
	comm_share(c, Nq, qlo);
	nvr = vlo[r + 1] - vlo[r];   /* 0 with more ranks than videos: one row is allocated */
	nqr = qlo[r + 1] - qlo[r];
	bb->video = efloats_grow(bb->video, &bb->cap_video, (size_t)MAX(nvr, 1) * L * dv);
	bb->query = efloats_grow(bb->query, &bb->cap_query, (size_t)MAX(nqr, 1) * T * dt);
	bb->vlen = egrow(bb->vlen, &bb->cap_v, (size_t)B, sizeof(*bb->vlen));
	bb->qlen = egrow(bb->qlen, &bb->cap_q, (size_t)Nq, sizeof(*bb->qlen));
	bb->qvid = egrow(bb->qvid, &bb->cap_qvid, (size_t)Nq, sizeof(*bb->qvid));
	/* padding is zero: rows past vlen / qlen are ignored by the model */
	memset(bb->video, 0, (size_t)nvr * L * dv * sizeof(float));
	memset(bb->query, 0, (size_t)nqr * T * dt * sizeof(float));
	if (d->ft) {
		bb->tau = efloats_grow(bb->tau, &bb->cap_tau, (size_t)Nq * L);
		memset(bb->tau, 0, (size_t)Nq * L * sizeof(float));
	}
	if (d->fe) {
		bb->tvideo = efloats_grow(bb->tvideo, &bb->cap_tvideo, (size_t)B * L * E);
		memset(bb->tvideo, 0, (size_t)B * L * E * sizeof(float));
	}
	if (d->fc)
		bb->tquery = efloats_grow(bb->tquery, &bb->cap_tquery, (size_t)Nq * E);
	Nq = 0;
	for (int i = 0; i < B; i++) {
		int v = vids[i], n = tframes(d, v);
		bb->vlen[i] = n;
		if (i >= vlo[r] && i < vlo[r + 1]) {
			float *x = bb->video + (size_t)(i - vlo[r]) * L * dv;

			if (n == d->vlen[v]) {
				data_videos(d, v, 1, x);
			} else {
				/* the student's rows of a reduced stream are unit rows: their segment means
				 * are normalised again, as the release normalises after sampling */
				bb->raw = efloats_grow(bb->raw, &bb->cap_raw, (size_t)d->vlen[v] * dv);
				data_videos(d, v, 1, bb->raw);
				reduce_segments(x, bb->raw, d->vlen[v], n, dv);
				reduce_l2norm_rows(x, n, dv);
			}
		}
		if (d->fe)
			data_teacher_videos(d, v, 1, bb->tvideo + (size_t)i * L * E);
		for (int k = d->vq_off[v]; k < d->vq_off[v + 1]; k++, Nq++) {
			int q = d->vq[k];
			bb->qlen[Nq] = d->qlen[q];
			bb->qvid[Nq] = i;
			if (Nq >= qlo[r] && Nq < qlo[r + 1])
				data_queries(d, q, 1, bb->query + (size_t)(Nq - qlo[r]) * T * dt);
			if (d->ft)
				data_tau(d, q, bb->tau + (size_t)Nq * L);
			if (d->fc)
				data_teacher_query(d, q, bb->tquery + (size_t)Nq * E);
		}
	}
	b->B = B;
	b->L = L;
	b->video = bb->video;
	b->v_first = vlo[r];
	b->q_first = qlo[r];
	b->vlen = bb->vlen;
	b->Nq = Nq;
	b->T = T;
	b->query = bb->query;
	b->qlen = bb->qlen;
	b->qvid = bb->qvid;
	b->tau = d->ft ? bb->tau : NULL;
	b->tvideo = d->fe ? bb->tvideo : NULL;
	b->tquery = d->fc ? bb->tquery : NULL;
	free(vlo);
	free(qlo);
}

void
data_batch_free(BatchBuf *bb)
{
	free(bb->video);
	free(bb->query);
	free(bb->tau);
	free(bb->tvideo);
	free(bb->tquery);
	free(bb->raw);
	free(bb->vlen);
	free(bb->qlen);
	free(bb->qvid);
	memset(bb, 0, sizeof(*bb));
}
