/* test_recfile: training data read again from its streams by offset (lib/recfile, lib/data).
 * Batches and ranges hold exactly the values written, teacher streams in another order than the
 * student's included; a stream replaced by rename during a run changes nothing (the run reads
 * the file it indexed); a stream cut, damaged or rewritten in place after it was indexed makes
 * the next read die with one line naming the file and the record; gzip and non-regular files
 * are refused when indexing. The teacher's query embeddings (DL-DKD++) reach the batch; with
 * DATA_RESAMPLE a teacher video with fewer frames gets the student's frames segment-averaged
 * and re-normalised to its count (values computed here by hand), one with more is refused.
 * Deaths run in a forked child whose stderr is checked. */
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data.h"
#include "mpio.h"
#include "util.h"

#define NV 12
#define DV 8
#define DT 4
#define DE 6
#define QPV 2                  /* queries per video */

static int failures;
static char dir[] = "/tmp/test_recfile.XXXXXX";
static char pv[256], pq[256], pt[256], pe[256], pc[256], errpath[256];

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static int vlen_of(int v) { return 1 + (v * 5) % 7; }
/* a teacher with fewer frames (DATA_RESAMPLE), one with more (refused) */
static int half_of(int v) { return (vlen_of(v) + 1) / 2; }
static int more_of(int v) { return vlen_of(v) + (v == 5); }
static int qlen_of(int q) { return 1 + q % 3; }
/* the value at (record, row, column) of each stream, distinct across streams */
static float val(int s, int i, int t, int j) { return (float)(s * 10000 + i * 100 + t * 10 + j) / 64; }

/* a header lib/schema.c accepts: the loader checks it against the kind's table */
static void
header(MpWriter *w, const char *kind, const char *role, int dim, long count)
{
	mpw_header(w, kind, count, role ? 5 : 1);
	if (role) {
		mpw_kv_str(w, "role", role);
		mpw_kv_int(w, "dim", dim);
		mpw_kv_bool(w, "reduced", 1);
		mpw_kv_bool(w, "normalized", 0);
	}
	mpw_kv_str(w, "split", "train");
	mpw_record_done(w);
}

/* a video-features stream of role and dim at path, values of stream s, records in reverse
 * order when rev, len(v) frames for video v */
static void
write_videos(const char *path, int gzip, const char *prefix, const char *role, int dim, int s,
             int rev, int (*len)(int))
{
	MpWriter *w = mpw_open(path, gzip);
	float x[16 * DV];
	char id[64];

	header(w, "video-features", role, dim, NV);
	for (int i = 0; i < NV; i++) {
		int v = rev ? NV - 1 - i : i;
		for (int t = 0; t < len(v); t++)
			for (int j = 0; j < dim; j++)
				x[t * dim + j] = val(s, v, t, j);
		snprintf(id, sizeof(id), "%s%02d", prefix, v);
		mpw_map(w, 3);
		mpw_kv_str(w, "id", id);
		mpw_kv_int(w, "n", len(v));
		mpw_kv_f32(w, "x", x, (size_t)len(v) * dim);
		mpw_record_done(w);
	}
	mpw_close(w);
}

/* the four streams; ids start with prefix (same length for every prefix); gzip: all gzipped */
static void
write_streams(const char *prefix, int gzip)
{
	MpWriter *w;
	float x[16 * DV];
	char id[64], vid[64];

	write_videos(pv, gzip, prefix, "student", DV, 1, 0, vlen_of);
	w = mpw_open(pq, gzip);
	header(w, "query-features", "student", DT, NV * QPV);
	for (int q = 0; q < NV * QPV; q++) {
		for (int t = 0; t < qlen_of(q); t++)
			for (int j = 0; j < DT; j++)
				x[t * DT + j] = val(2, q, t, j);
		snprintf(id, sizeof(id), "%s%02d#%d", prefix, q % NV, q / NV);
		snprintf(vid, sizeof(vid), "%s%02d", prefix, q % NV);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", id);
		mpw_kv_str(w, "video", vid);
		mpw_kv_int(w, "n", qlen_of(q));
		mpw_kv_f32(w, "x", x, (size_t)qlen_of(q) * DT);
		mpw_record_done(w);
	}
	mpw_close(w);
	/* teacher streams in reverse order: found by id, not by position */
	w = mpw_open(pt, gzip);
	header(w, "teacher-sim", NULL, 0, NV * QPV);
	for (int q = NV * QPV - 1; q >= 0; q--) {
		int v = q % NV;
		for (int t = 0; t < vlen_of(v); t++)
			x[t] = val(3, q, t, 0);
		snprintf(id, sizeof(id), "%s%02d#%d", prefix, v, q / NV);
		snprintf(vid, sizeof(vid), "%s%02d", prefix, v);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", id);
		mpw_kv_str(w, "video", vid);
		mpw_kv_int(w, "n", vlen_of(v));
		mpw_kv_f32(w, "tau", x, (size_t)vlen_of(v));
		mpw_record_done(w);
	}
	mpw_close(w);
	write_videos(pe, gzip, prefix, "teacher", DE, 4, 1, vlen_of);
	/* the teacher's query embeddings, also in reverse order */
	w = mpw_open(pc, gzip);
	header(w, "query-features", "teacher", DE, NV * QPV);
	for (int q = NV * QPV - 1; q >= 0; q--) {
		for (int j = 0; j < DE; j++)
			x[j] = val(5, q, 0, j);
		snprintf(id, sizeof(id), "%s%02d#%d", prefix, q % NV, q / NV);
		snprintf(vid, sizeof(vid), "%s%02d", prefix, q % NV);
		mpw_map(w, 4);
		mpw_kv_str(w, "id", id);
		mpw_kv_str(w, "video", vid);
		mpw_kv_int(w, "n", 1);
		mpw_kv_f32(w, "x", x, DE);
		mpw_record_done(w);
	}
	mpw_close(w);
}

static Dataset *
load(void)
{
	return data_load(pv, pq, pt, pe, 16, 16, 1);
}

/* the teacher's embeddings of each query of a batch of vids */
static void
check_tquery(Dataset *d, const int *vids, int B)
{
	BatchBuf bb = { 0 };
	int Nq = 0, ok = 1;

	data_make_batch(d, vids, B, &bb);
	EXPECT(bb.b.tquery != NULL);
	for (int i = 0; i < B; i++)
		for (int k = 0; k < QPV; k++, Nq++)
			for (int j = 0; j < DE; j++)
				ok &= bb.b.tquery[(size_t)Nq * DE + j] == val(5, vids[i] + k * NV, 0, j);
	EXPECT(ok);
	data_batch_free(&bb);
}

/* with teacher videos of half_of(v) frames: the batch of video v has those frames, the
 * student's segment means (by hand: video 1, 6 frames -> 3, segments [0,2) [2,4) and the
 * clipped [4,5); video 0, 1 frame, unchanged) normalised as x / (|x| + 1e-5) */
static void
check_resampled(Dataset *d)
{
	static const int seg[3][2] = { { 0, 2 }, { 2, 4 }, { 4, 5 } };
	BatchBuf bb = { 0 };
	int vids[] = { 1, 0 }, ok = 1;
	const Batch *b = &bb.b;

	data_make_batch(d, vids, 2, &bb);
	EXPECT(vlen_of(1) == 6 && b->L == 3 && b->vlen[0] == 3 && b->vlen[1] == 1);
	for (int t = 0; t < 3; t++) {
		double row[DV], nrm = 0.0;
		for (int j = 0; j < DV; j++) {
			row[j] = 0.0;
			for (int u = seg[t][0]; u < seg[t][1]; u++)
				row[j] += val(1, 1, u, j) / (seg[t][1] - seg[t][0]);
			nrm += row[j] * row[j];
		}
		for (int j = 0; j < DV; j++)
			ok &= fabs(b->video[t * DV + j] - row[j] / (sqrt(nrm) + 1e-5)) < 1e-6;
		for (int j = 0; j < DE; j++)
			ok &= b->tvideo[t * DE + j] == val(4, 1, t, j);
	}
	for (int j = 0; j < DV; j++)
		ok &= b->video[3 * DV + j] == val(1, 0, 0, j) && b->video[4 * DV + j] == 0.0f;
	EXPECT(ok);
	data_batch_free(&bb);
}

static void
load_resample(Dataset *d, int arg)
{
	data_free(data_load(pv, pq, NULL, pe, 16, 16, DATA_EVERY_QUERIED | arg));
}

/* every value of a batch of vids: the streams' values, zero padding */
static void
check_batch(Dataset *d, const int *vids, int B)
{
	BatchBuf bb = { 0 };
	const Batch *b = &bb.b;
	int L = 0, T = 0, Nq = 0;

	data_make_batch(d, vids, B, &bb);
	for (int i = 0; i < B; i++) {
		L = MAX(L, vlen_of(vids[i]));
		for (int k = 0; k < QPV; k++)        /* the queries of video v: v + k * NV */
			T = MAX(T, qlen_of(vids[i] + k * NV));
	}
	EXPECT(b->B == B && b->L == L && b->T == T && b->Nq == B * QPV);
	for (int i = 0; i < B; i++) {
		int v = vids[i];
		EXPECT(b->vlen[i] == vlen_of(v));
		for (int t = 0; t < L; t++) {
			for (int j = 0; j < DV; j++)
				EXPECT(b->video[((size_t)i * L + t) * DV + j] ==
				       (t < vlen_of(v) ? val(1, v, t, j) : 0));
			for (int j = 0; j < DE; j++)
				EXPECT(b->tvideo[((size_t)i * L + t) * DE + j] ==
				       (t < vlen_of(v) ? val(4, v, t, j) : 0));
		}
		for (int k = 0; k < QPV; k++, Nq++) {
			int q = v + k * NV;
			EXPECT(b->qvid[Nq] == i && b->qlen[Nq] == qlen_of(q));
			for (int t = 0; t < T; t++)
				for (int j = 0; j < DT; j++)
					EXPECT(b->query[((size_t)Nq * T + t) * DT + j] ==
					       (t < qlen_of(q) ? val(2, q, t, j) : 0));
			for (int t = 0; t < L; t++)
				EXPECT(b->tau[(size_t)Nq * L + t] == (t < vlen_of(v) ? val(3, q, t, 0) : 0));
		}
	}
	data_batch_free(&bb);
}

/* fn(d, arg) in a child: it must exit 1 with a last stderr line holding want and want2 */
static void
expect_death(const char *what, void (*fn)(Dataset *, int), Dataset *d, int arg,
             const char *want, const char *want2)
{
	char line[1024] = "", buf[1024];
	int status;
	FILE *f;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		if (!freopen(errpath, "w", stderr))
			_exit(3);
		fn(d, arg);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	if ((f = fopen(errpath, "r"))) {
		while (fgets(buf, sizeof(buf), f))
			memcpy(line, buf, sizeof(line));
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || !strstr(line, want) ||
	    !strstr(line, want2)) {
		fprintf(stderr, "NOT OK %s: status %d, last line '%s' (want '%s' and '%s')\n", what,
		        status, line, want, want2);
		failures++;
	} else
		printf("OK %s: %s\n", what, line);
}

static void
batch_of(Dataset *d, int v)
{
	BatchBuf bb = { 0 };

	data_make_batch(d, &v, 1, &bb);
	data_batch_free(&bb);
}

static void
load_only(Dataset *d, int arg)
{
	data_free(load());
}

/* the offset of record rec of f plus frac of its length */
static off_t
inside(const RecFile *f, long rec, double frac)
{
	return f->end[rec - 1] + (off_t)((double)(f->end[rec] - f->end[rec - 1]) * frac);
}

static void
flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	CHECK(fd >= 0 && pread(fd, &c, 1, at) == 1);
	c ^= 0x5a;
	CHECK(pwrite(fd, &c, 1, at) == 1 && close(fd) == 0);
}

/* copy src over dst in place (same file, as cp does), not by rename */
static void
overwrite(const char *dst, const char *src)
{
	char buf[1 << 14];
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_TRUNC);
	ssize_t k;

	CHECK(in >= 0 && out >= 0);
	while ((k = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, (size_t)k) == k);
	CHECK(k == 0 && close(in) == 0 && close(out) == 0);
}

int
main(void)
{
	char moved[300], msg[600];
	Dataset *d;
	int vids[] = { 7, 0, 11, 3 }, all[NV];

	argv0 = "test_recfile";
	CHECK(mkdtemp(dir));
	snprintf(pv, sizeof(pv), "%s/video.mp", dir);
	snprintf(pq, sizeof(pq), "%s/query.mp", dir);
	snprintf(pt, sizeof(pt), "%s/tsim.mp", dir);
	snprintf(pe, sizeof(pe), "%s/tvideo.mp", dir);
	snprintf(pc, sizeof(pc), "%s/tquery.mp", dir);
	snprintf(errpath, sizeof(errpath), "%s/err", dir);
	snprintf(moved, sizeof(moved), "%s/video-old.mp", dir);

	/* values and padding of batches; a range read concatenates */
	write_streams("v", 0);
	d = load();
	EXPECT(d->nv == NV && d->nq == NV * QPV && d->dv == DV && d->dt == DT && d->E == DE);
	check_batch(d, vids, 4);
	for (int v = 0; v < NV; v++)
		all[v] = NV - 1 - v;
	check_batch(d, all, NV);
	{
		float *x = efloats((size_t)d->voff[NV] * DV);
		int ok = 1;
		data_videos(d, 2, 5, x);
		for (int v = 2; v < 7; v++)
			for (int t = 0; t < vlen_of(v); t++)
				for (int j = 0; j < DV; j++)
					ok &= x[(d->voff[v] - d->voff[2] + t) * DV + j] == val(1, v, t, j);
		EXPECT(ok);
		free(x);
	}

	/* the teacher's query embeddings, by id */
	data_load_teacher_queries(d, pc);
	check_tquery(d, vids, 4);

	/* replaced by rename (as every tool writes): the run keeps the file it indexed */
	write_streams("w", 0);
	check_batch(d, vids, 4);
	data_free(d);

	/* cut after indexing: the read of a record past the cut dies naming file and record */
	write_streams("v", 0);
	d = load();
	CHECK(truncate(pv, inside(d->fv, 6, 0.5)) == 0);
	batch_of(d, 4);                        /* before the cut: still fine */
	snprintf(msg, sizeof(msg), "%s: record 6: cut short", pv);
	expect_death("video stream cut inside record 6", batch_of, d, 5, msg, "");
	snprintf(msg, sizeof(msg), "%s: record 9: cut short", pv);
	expect_death("video stream cut before record 9", batch_of, d, 8, msg, "");
	data_free(d);

	/* a flipped byte inside a query's tokens, and inside a teacher record */
	write_streams("v", 0);
	d = load();
	flip_byte(pq, inside(d->fq, 3 + NV, 0.7));
	snprintf(msg, sizeof(msg), "%s: record %d: checksum mismatch", pq, 3 + NV);
	expect_death("query record damaged", batch_of, d, 2, msg, "");
	flip_byte(pe, inside(d->fe, d->erec[9], 0.6));
	snprintf(msg, sizeof(msg), "%s: record %ld: checksum mismatch", pe, d->erec[9]);
	expect_death("teacher video record damaged", batch_of, d, 9, msg, "");
	flip_byte(pt, inside(d->ft, d->trec[10], 0.5));
	snprintf(msg, sizeof(msg), "%s: record %ld: checksum mismatch", pt, d->trec[10]);
	expect_death("teacher-sim record damaged", batch_of, d, 10, msg, "");
	data_free(d);

	/* rewritten in place with other ids of the same sizes: checksums agree, ids do not */
	write_streams("v", 0);
	d = load();
	CHECK(rename(pv, moved) == 0);
	write_streams("w", 0);
	overwrite(moved, pv);
	CHECK(rename(moved, pv) == 0);
	snprintf(msg, sizeof(msg), "%s: record 4: 'w03'", pv);
	expect_death("video stream rewritten in place", batch_of, d, 3, msg, "'v03'");
	data_free(d);

	/* DL-DKD++'s resampling to a shorter teacher; a longer one, or a shorter one without
	 * DATA_RESAMPLE, is refused */
	write_streams("v", 0);
	write_videos(pe, 0, "v", "teacher", DE, 4, 0, half_of);
	d = data_load(pv, pq, NULL, pe, 16, 16, DATA_EVERY_QUERIED | DATA_RESAMPLE);
	check_resampled(d);
	data_free(d);
	snprintf(msg, sizeof(msg), "%s: record 2: video 'v01': n = 3, but the student stream has 6",
	         pe);
	expect_death("shorter teacher without DATA_RESAMPLE", load_resample, NULL, 0, msg, "");
	write_videos(pe, 0, "v", "teacher", DE, 4, 0, more_of);
	snprintf(msg, sizeof(msg), "%s: record 6: video 'v05': n = 6, but the student stream has 5", pe);
	expect_death("longer teacher with DATA_RESAMPLE", load_resample, NULL, DATA_RESAMPLE, msg,
	             "a teacher may have fewer, not more");

	/* refused when indexing: gzip, not a regular file */
	write_streams("v", 1);
	snprintf(msg, sizeof(msg), "%s: gzip-compressed", pv);
	expect_death("gzip stream", load_only, NULL, 0, msg, "gunzip");
	CHECK(rename(pv, moved) == 0 && mkdir(pv, 0700) == 0);
	snprintf(msg, sizeof(msg), "%s: not a regular file", pv);
	expect_death("not a regular file", load_only, NULL, 0, msg, "");

	rmdir(pv);
	unlink(moved);
	unlink(pq);
	unlink(pt);
	unlink(pe);
	unlink(pc);
	unlink(errpath);
	rmdir(dir);
	printf("%s\n", failures ? "NOT OK" : "OK");
	return failures != 0;
}
