/* teacher-sim: the teacher's frame-level similarities of doc/method.md ("Similarities"):
 * tau(q, v)_t = cos(c_q, C_{v,t}) of each query's CLIP text embedding c_q with the reduced CLIP
 * frame features C_v of its own video, the distillation target of distill-step. With -S it writes
 * instead the teacher's video scores max_t tau(q, v) against every video (a scores stream with
 * branch "teacher", the zero-shot teacher baseline, ranked by rank -s).
 * The teacher videos are held in memory; queries are streamed (in blocks of QBLOCK for -S).
 * Not here: reducing the features (feat-reduce), loading the videos (lib/vidset), ranking (rank),
 * the KD loss (lib/loss). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "mpio.h"
#include "rownorm.h"
#include "schema.h"
#include "score.h"
#include "threads.h"
#include "util.h"
#include "vidset.h"

#define QBLOCK 4096       /* queries scored per round with -S, at most */
#define SBUDGET (1L << 25) /* floats of scores held at once (fewer queries with many videos) */

static void
help(void)
{
	printf("teacher-sim - teacher (CLIP) frame similarities of each query to its own video\n"
	       "\n"
	       "usage: %s -v VIDEO_TEACHER -q QUERY_TEACHER [-S] [-j N] [-o FILE] [-z] [-Q]\n"
	       "\n"
	       "Reads a reduced teacher video-features stream (VIDEO_TEACHER: {id, n, x f32[n, dim]},\n"
	       "held in memory) and a teacher query-features stream (QUERY_TEACHER: {id, video, n = 1,\n"
	       "x f32[dim]}, streamed) of the same dim. Cosines normalise by max(|x|, 1e-12).\n"
	       "Writes a teacher-sim stream: header {split}; per query {id, video, n (frames of its\n"
	       "video), tau f32[n]} with tau[t] = cos(c_q, C_video,t).\n"
	       "With -S, writes a scores stream instead: header {videos (ids in VIDEO_TEACHER order),\n"
	       "branches [\"teacher\"], split}; per query {id, video, teacher f32[videos]} with the\n"
	       "score max_t cos(c_q, C_v,t) against every video v (rank it with rank -s).\n"
	       "A query whose video is not in VIDEO_TEACHER is an error.\n"
	       "\n"
	       "  -v FILE    reduced teacher video-features (- is stdin)\n"
	       "  -q FILE    teacher query-features (- is stdin)\n"
	       "  -S         write the scores stream against every video\n"
	       "  -j N       threads for -S, BLAS included (default $OPENBLAS_NUM_THREADS or 2)\n"
	       "  -o FILE    output stream (default stdout; written atomically)\n"
	       "  -z         gzip the output\n"
	       "  -Q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (nothing is left at -o FILE).\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s -v VIDEO_TEACHER -q QUERY_TEACHER [-S] [-j N] [-o FILE] [-z] [-Q]", argv0);
}

/* the header of kind (lib/schema checks it), with role "teacher" */
static const msgpack_object *
teacher_header(MpReader *r, const char *kind)
{
	const msgpack_object *h = schema_header(r, kind);
	char role[32];

	mpr_strcpy(r, h, "role", role, sizeof(role));
	if (strcmp(role, "teacher") != 0)
		mpr_die(r, "role '%s', expected 'teacher'", role);
	return h;
}

/* a similarity of query id that is not finite: the features' values overflow float32 */
static void
check_finite(const MpReader *r, const float *x, long n, const char *id)
{
	for (long i = 0; i < n; i++)
		if (!isfinite(x[i]))
			mpr_die(r, "query '%s': a similarity overflows float32 (feature values too large; "
			        "rescale them)", id);
}

/* one query item, checked by lib/schema (keys, n = 1, x finite of dim floats): id, video (own
 * index via *own), c (D); dies naming the query. ids keeps every id read, for the duplicate
 * check at the end */
static void
read_query(MpReader *r, SchemaState *ss, const msgpack_object *o, const VidSet *V, long D,
           const char *vpath, char **id, char **video, int *own, float *c, IdList *ids)
{
	schema_item(ss, o);
	*id = mpr_strdup(r, o, "id");
	idlist_add(ids, *id);
	*video = mpr_strdup(r, o, "video");
	if ((*own = vidset_find(V, *video)) < 0)
		mpr_die(r, "query '%s': video '%s' is not in %s", *id, *video, vpath);
	mpr_f32(r, o, "x", c, (size_t)D);
}

int
main(int argc, char *argv[])
{
	const char *vpath = NULL, *qpath = NULL, *out = "-";
	const char *jarg = NULL;
	const msgpack_object *hv, *hq, *o;
	long nthreads, D, nq = 0;
	int c, gz = 0, scores_out = 0;
	char *vsplit, *qsplit;
	MpReader *rv, *rq;
	MpWriter *w;
	VidSet V;
	char *x = "x", *teacher = "teacher";
	IdList qids = { 0 };
	SchemaState *ss;
	double t0 = now_seconds();

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":v:q:Sj:o:zQ")) != -1) {
		switch (c) {
		case 'v': vpath = optarg; break;
		case 'q': qpath = optarg; break;
		case 'S': scores_out = 1; break;
		case 'j': jarg = optarg; break;
		case 'o': out = optarg; break;
		case 'z': gz = 1; break;
		case 'Q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || !vpath || !qpath)
		usage();
	if (strcmp(vpath, "-") == 0 && strcmp(qpath, "-") == 0)
		die("-v and -q cannot both be stdin");
	check_outputs((const char *[]){ vpath, qpath }, 2, &out, 1);
	nthreads = threads_parse(jarg);
	threads_set(scores_out ? (int)nthreads : 1);

	rv = mpr_open(vpath);
	hv = teacher_header(rv, "video-features");
	rq = mpr_open(qpath);
	hq = teacher_header(rq, "query-features");
	ss = schema_open(rq, hq, 1);
	if (!mpr_bool_or(rv, hv, "reduced", 0))
		mpr_die(rv, "not reduced (HINT: feat-reduce it first, so frames match the student's)");
	D = vidset_dim(rv, hv, rq, hq);
	vidset_splits(rv, hv, rq, hq, &vsplit, &qsplit);

	vidset_load(&V, rv, D, &x, 1, "teacher videos");
	mpr_close(rv);
	progress(1, "%d teacher videos, %d frames, dim %ld", V.nv, V.off[V.nv], D);
	if (rq->count == 0)
		die("%s: no queries", rq->name);

	w = mpw_open(out, gz);
	if (!scores_out) {
		float *inv = efloats((size_t)V.off[V.nv]), *cq = efloats((size_t)D), *tau;
		int maxn = 0;

		for (int v = 0; v < V.nv; v++)
			maxn = MAX(maxn, V.off[v + 1] - V.off[v]);
		tau = efloats((size_t)maxn);
		rownorm_inv(inv, V.fr[0], V.off[V.nv], D);
		mpw_header(w, "teacher-sim", rq->count, 1);
		mpw_kv_str(w, "split", qsplit);
		mpw_record_done(w);
		while ((o = mpr_next(rq))) {
			char *id, *video;
			int own, n;
			float cinv;

			read_query(rq, ss, o, &V, D, vpath, &id, &video, &own, cq, &qids);
			rownorm_inv(&cinv, cq, 1, D);
			n = V.off[own + 1] - V.off[own];
			/* tau (n) = C_v (n, D) . c (D), then scaled by both inverse norms */
			cblas_sgemv(CblasRowMajor, CblasNoTrans, n, (int)D, 1.0f,
			            V.fr[0] + (size_t)V.off[own] * D, (int)D, cq, 1, 0.0f, tau, 1);
			for (int t = 0; t < n; t++)
				tau[t] = tau[t] * cinv * inv[V.off[own] + t];
			check_finite(rq, tau, n, id);
			mpw_map(w, 4);
			mpw_kv_str(w, "id", id);
			mpw_kv_str(w, "video", video);
			mpw_kv_int(w, "n", n);
			mpw_kv_f32(w, "tau", tau, (size_t)n);
			mpw_record_done(w);
			free(id), free(video);
			progress(0, "%ld queries", ++nq);
		}
		free(inv), free(cq), free(tau);
	} else {
		int own, nblk = (int)MAX(1, MIN(QBLOCK, SBUDGET / V.nv));
		float *cq = efloats((size_t)nblk * D), *s = efloats((size_t)nblk * V.nv);
		char **id = ecalloc((size_t)nblk, sizeof(*id)), **video = ecalloc((size_t)nblk, sizeof(*video));

		vidset_scores_header(w, rq->count, &V, &teacher, 1, qsplit);
		for (;;) {
			int n = 0;

			while (n < nblk && (o = mpr_next(rq))) {
				read_query(rq, ss, o, &V, D, vpath, &id[n], &video[n], &own,
				           cq + (size_t)n * D, &qids);
				n++;
			}
			if (n == 0)
				break;
			score_cosmax(s, cq, n, V.fr[0], V.off, V.nv, (int)D);
			for (int i = 0; i < n; i++) {
				check_finite(rq, s + (size_t)i * V.nv, V.nv, id[i]);
				mpw_map(w, 3);
				mpw_kv_str(w, "id", id[i]);
				mpw_kv_str(w, "video", video[i]);
				mpw_kv_f32(w, "teacher", s + (size_t)i * V.nv, (size_t)V.nv);
				mpw_record_done(w);
				free(id[i]), free(video[i]);
			}
			nq += n;
			progress(0, "%ld queries scored", nq);
		}
		free(cq), free(s), free(id), free(video);
	}
	if (nq == 0)
		die("%s: no queries", rq->name);
	idlist_check(&qids, rq->name, "query");
	schema_close(ss);
	mpr_close(rq);
	mpw_close(w);
	progress(1, "%ld queries x %d videos (%s) in %.1f s", nq, V.nv,
	         scores_out ? "scores" : "own video", now_seconds() - t0);
	vidset_free(&V);
	free(vsplit), free(qsplit);
	return 0;
}
