/* vidset: a video stream in memory, with an id index; see vidset.h. */
#include <stdlib.h>
#include <string.h>

#include "mpio.h"
#include "util.h"
#include "vidset.h"

/* ---- ids of a stream ---- */

void
idlist_add(IdList *l, const char *id)
{
	l->id = egrow(l->id, &l->cap, (size_t)l->n + 1, sizeof(*l->id));
	l->id[l->n++] = estrdup(id);
}

void
idlist_check(IdList *l, const char *file, const char *what)
{
	IdIndex x;
	int a, b;

	if (idindex_of(&x, l->id, l->n, &a, &b))
		die("%s: record %d: %s id '%s' appears twice (also record %d)", file, b + 1, what,
		    l->id[b], a + 1);
	idindex_free(&x);
	for (int i = 0; i < l->n; i++)
		free(l->id[i]);
	free(l->id);
	memset(l, 0, sizeof(*l));
}

/* ---- videos ---- */

long
vidset_item_frames(const MpReader *r, const msgpack_object *o, long D, char **keys, int nkeys)
{
	long n = mpr_int(r, o, "n");

	if (n < 1 || n > VIDSET_MAXN)
		mpr_die(r, "'n' = %ld: expected 1..%ld frames", n, VIDSET_MAXN);
	for (int k = 0; k < nkeys; k++)
		mpr_f32n(r, o, keys[k], (size_t)(n * D));
	return n;
}

void
vidset_item_copy(const MpReader *r, const msgpack_object *o, long D, char **keys, int nkeys,
                 long n, float **fr, size_t *cap, long at)
{
	for (int k = 0; k < nkeys; k++) {
		fr[k] = egrow(fr[k], &cap[k], (size_t)((at + n) * D), sizeof(float));
		mpr_f32(r, o, keys[k], fr[k] + (size_t)at * D, (size_t)(n * D));
	}
}

void
vidset_load(VidSet *V, MpReader *r, long D, char **keys, int nkeys, const char *what)
{
	const msgpack_object *o;
	size_t icap = 0, ocap = 0, fcap[VIDSET_MAXKEYS] = { 0 };
	long tot = 0;

	CHECK(nkeys >= 1 && nkeys <= VIDSET_MAXKEYS);
	memset(V, 0, sizeof(*V));
	V->nkeys = nkeys;
	V->off = egrow(NULL, &ocap, 1, sizeof(*V->off));
	V->off[0] = 0;
	while ((o = mpr_next(r))) {
		long n = vidset_item_frames(r, o, D, keys, nkeys);

		if (tot + n > (1L << 31) / 2)
			mpr_die(r, "more than %ld frames in all", (1L << 31) / 2);
		V->id = egrow(V->id, &icap, (size_t)V->nv + 1, sizeof(*V->id));
		V->off = egrow(V->off, &ocap, (size_t)V->nv + 2, sizeof(*V->off));
		V->id[V->nv] = mpr_strdup(r, o, "id");
		vidset_item_copy(r, o, D, keys, nkeys, n, V->fr, fcap, tot);
		tot += n;
		V->off[++V->nv] = (int)tot;
		progress(0, "%d %s, %ld frames", V->nv, what, tot);
	}
	if (V->nv == 0)
		die("%s: no videos", r->name);
	idindex_build(&V->ix, V->id, V->nv, r->name);
}

void
vidset_free(VidSet *V)
{
	for (int v = 0; v < V->nv; v++)
		free(V->id[v]);
	for (int k = 0; k < V->nkeys; k++)
		free(V->fr[k]);
	free(V->id), free(V->off);
	idindex_free(&V->ix);
	memset(V, 0, sizeof(*V));
}

/* ---- headers of a video stream and the queries scored against it ---- */

long
vidset_dim(const MpReader *rv, const msgpack_object *hv, const MpReader *rq,
           const msgpack_object *hq)
{
	long D = mpr_int(rv, hv, "dim"), Dq = mpr_int(rq, hq, "dim");

	if (D < 1 || D > VIDSET_MAXDIM)
		mpr_die(rv, "'dim' = %ld: expected 1..%ld", D, VIDSET_MAXDIM);
	if (Dq != D)
		mpr_die(rq, "'dim' = %ld, but %s has dim %ld", Dq, rv->name, D);
	return D;
}

char *
vidset_header_split(const MpReader *r, const msgpack_object *h)
{
	const msgpack_object *o = mp_find(h, "split");

	return o && o->type != MSGPACK_OBJECT_NIL ? mpr_strdup(r, h, "split") : estrdup("");
}

void
vidset_splits(const MpReader *rv, const msgpack_object *hv, const MpReader *rq,
              const msgpack_object *hq, char **vsplit, char **qsplit)
{
	*vsplit = vidset_header_split(rv, hv);
	*qsplit = vidset_header_split(rq, hq);
	if (**vsplit && **qsplit && strcmp(*vsplit, *qsplit) != 0)
		mpr_die(rq, "split '%s', but %s has split '%s'", *qsplit, rv->name, *vsplit);
}

void
vidset_scores_header(MpWriter *w, long count, const VidSet *V, char **br, int nbr,
                     const char *split)
{
	mpw_header(w, "scores", count, 3);
	mpw_key(w, "videos");
	mpw_array(w, (size_t)V->nv);
	for (int v = 0; v < V->nv; v++)
		mpw_str(w, V->id[v]);
	mpw_key(w, "branches");
	mpw_array(w, (size_t)nbr);
	for (int b = 0; b < nbr; b++)
		mpw_str(w, br[b]);
	mpw_kv_str(w, "split", split);
	mpw_record_done(w);
}
