/* test_synth_world: a synthetic corpus directory is consistent and its world is learnable.
 *
 * With an argument DIR it checks that directory (as written by prvr-synth; -c DIR: consistency
 * only, for corpora too small or too odd for the statistical checks); without one it
 * writes tvr-tiny, activitynet-tiny and msrvtt-tiny corpora into a temporary directory through
 * lib/synth and checks each. Consistency: headers (kind, role, dim, split, reduced/normalized
 * false, counts equal to corpus.mp's splits), ids unique and of the form <video>#enc#<k>, every
 * query's video in its split, student and teacher videos in the same order with equal n,
 * queries in the order of corpus.mp, moments inside their videos. World: student frames are
 * centred (the mean row is small beside a typical row: < 0.35 of its norm; uncentred
 * ReLU-like features put most of a row's energy in the mean direction); the teacher's own-moment frames are
 * closer to the query than the same video's background frames; the zero-shot teacher ranks the
 * own video far better than chance on the test split but is not perfect (a mediocre teacher).
 * Expected values are properties of the specification, not numbers copied from a run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpio.h"
#include "synth.h"
#include "util.h"

static int failures;
static int world = 1;          /* 0: consistency checks only (-c) */
static double train_ratio, train_over128, train_maxtok;   /* of the last check_dir */

#define EXPECT(c, ...) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s: ", __FILE__, __LINE__, #c); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

typedef struct {
	char id[96], video[64];
	int start, end;
} Moment;

typedef struct {
	long nv, nq;
	char (*vid)[64];
	int *n;
	Moment *m;            /* corpus.mp items of this split, in order */
	long nm;
} SplitInfo;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static long
find_video(const SplitInfo *si, const char *id)
{
	for (long i = 0; i < si->nv; i++)
		if (!strcmp(si->vid[i], id))
			return i;
	return -1;
}

static void
check_feature_header(MpReader *r, const msgpack_object *h, const char *role, long dim,
                     const char *split, long count)
{
	char buf[32];

	mpr_strcpy(r, h, "role", buf, sizeof(buf));
	EXPECT(!strcmp(buf, role), "%s: role %s, expected %s", r->name, buf, role);
	mpr_strcpy(r, h, "split", buf, sizeof(buf));
	EXPECT(!strcmp(buf, split), "%s: split %s", r->name, buf);
	EXPECT(mpr_int(r, h, "dim") == dim, "%s: dim %ld, expected %ld", r->name, mpr_int(r, h, "dim"), dim);
	EXPECT(mpr_bool_or(r, h, "reduced", 1) == 0, "%s: reduced", r->name);
	EXPECT(mpr_bool_or(r, h, "normalized", 1) == 0, "%s: normalized", r->name);
	EXPECT(r->count == count, "%s: count %ld, expected %ld", r->name, r->count, count);
}

static double
cosine(const float *a, const float *b, int d)
{
	double ab = 0, aa = 0, bb = 0;

	for (int j = 0; j < d; j++) {
		ab += (double)a[j] * b[j];
		aa += (double)a[j] * a[j];
		bb += (double)b[j] * b[j];
	}
	return ab / (sqrt(aa * bb) + 1e-12);
}

static void
check_dir(const char *dir)
{
	static const char *const split[3] = { "train", "val", "test" };
	char path[4096], name[32], source[32], buf[128];
	long dv, dt, de, total, seen = 0;
	SplitInfo si[3];
	MpReader *r;
	const msgpack_object *h, *o, *p;

	memset(si, 0, sizeof(si));
	snprintf(path, sizeof(path), "%s/corpus.mp", dir);
	r = mpr_open(path);
	h = mpr_header(r, "corpus");
	mpr_strcpy(r, h, "name", name, sizeof(name));
	mpr_strcpy(r, h, "source", source, sizeof(source));
	EXPECT(!strcmp(source, "synthetic"), "source %s", source);
	(void)mpr_int(r, h, "seed");
	EXPECT((o = mp_find(h, "knobs")) && o->type == MSGPACK_OBJECT_MAP, "corpus header: knobs map");
	o = mp_find(h, "dims");
	EXPECT(o != NULL, "corpus header: dims");
	if (!o)
		exit(1);
	dv = mpr_int(r, o, "video_student");
	dt = mpr_int(r, o, "query_student");
	de = mpr_int(r, o, "video_teacher");
	EXPECT(mpr_int(r, o, "query_teacher") == de, "teacher dims differ");
	o = mp_find(h, "splits");
	EXPECT(o != NULL, "corpus header: splits");
	if (!o)
		exit(1);
	total = 0;
	for (int s = 0; s < 3; s++) {
		p = mp_find(o, split[s]);
		EXPECT(p != NULL, "splits.%s", split[s]);
		if (!p)
			exit(1);
		si[s].nv = mpr_int(r, p, "videos");
		si[s].nq = mpr_int(r, p, "queries");
		EXPECT(si[s].nv >= 1 && si[s].nq >= si[s].nv, "%s: %ld videos %ld queries", split[s], si[s].nv, si[s].nq);
		si[s].m = ecalloc((size_t)si[s].nq, sizeof(Moment));
		total += si[s].nq;
	}
	EXPECT(r->count == total, "corpus count %ld, expected %ld", r->count, total);
	while ((o = mpr_next(r))) {
		int s;
		mpr_strcpy(r, o, "split", buf, sizeof(buf));
		for (s = 0; s < 3 && strcmp(buf, split[s]); s++)
			;
		EXPECT(s < 3, "record %ld: split %s", r->rec, buf);
		if (s == 3 || si[s].nm >= si[s].nq) {
			EXPECT(0, "record %ld: too many items for split", r->rec);
			break;
		}
		Moment *m = &si[s].m[si[s].nm++];
		mpr_strcpy(r, o, "id", m->id, sizeof(m->id));
		mpr_strcpy(r, o, "video", m->video, sizeof(m->video));
		m->start = (int)mpr_int(r, o, "start");
		m->end = (int)mpr_int(r, o, "end");
		seen++;
	}
	mpr_close(r);
	EXPECT(seen == total, "corpus items %ld", seen);

	for (int s = 0; s < 3; s++) {
		SplitInfo *S = &si[s];
		MpReader *rv[2], *rq[2];
		float *x = NULL, **te = ecalloc((size_t)S->nv, sizeof(float *)), *qt = efloats((size_t)de);
		double *mean = ecalloc((size_t)dv, sizeof(double)), rownorm = 0, mnorm = 0;
		double dsum = 0, nmom = 0, over128 = 0, ratio = 0, maxtok = 0;
		long rows = 0, ndiff = 0, npos = 0, r1 = 0, sumrank = 0;
		char **qids = ecalloc((size_t)S->nq, sizeof(char *));
		long qi = 0;

		S->vid = ecalloc((size_t)S->nv, sizeof(*S->vid));
		S->n = ecalloc((size_t)S->nv, sizeof(int));
		for (int k = 0; k < 2; k++) {
			snprintf(path, sizeof(path), "%s/%s-video-%s.mp", dir, split[s], k ? "teacher" : "student");
			rv[k] = mpr_open(path);
			check_feature_header(rv[k], mpr_header(rv[k], "video-features"), k ? "teacher" : "student",
			                     k ? de : dv, split[s], S->nv);
			snprintf(path, sizeof(path), "%s/%s-query-%s.mp", dir, split[s], k ? "teacher" : "student");
			rq[k] = mpr_open(path);
			check_feature_header(rq[k], mpr_header(rq[k], "query-features"), k ? "teacher" : "student",
			                     k ? de : dt, split[s], S->nq);
		}
		/* videos: student and teacher in step */
		for (long i = 0; i < S->nv; i++) {
			const msgpack_object *a = mpr_next(rv[0]), *b;
			int n;
			if (!a) {
				EXPECT(0, "%s: video stream ends early", split[s]);
				exit(1);
			}
			mpr_strcpy(rv[0], a, "id", S->vid[i], sizeof(S->vid[i]));
			n = S->n[i] = (int)mpr_int(rv[0], a, "n");
			EXPECT(n >= 1, "%s: n %d", S->vid[i], n);
			x = realloc(x, (size_t)n * dv * sizeof(float));
			mpr_f32(rv[0], a, "x", x, (size_t)n * dv);
			for (int t = 0; t < n; t++) {
				double nn = 0;
				for (long j = 0; j < dv; j++) {
					mean[j] += x[(size_t)t * dv + j];
					nn += (double)x[(size_t)t * dv + j] * x[(size_t)t * dv + j];
				}
				rownorm += sqrt(nn);
				rows++;
			}
			over128 += n > 128;
			b = mpr_next(rv[1]);
			if (!b) {
				EXPECT(0, "%s: teacher video stream ends early", split[s]);
				exit(1);
			}
			mpr_strcpy(rv[1], b, "id", buf, sizeof(buf));
			EXPECT(!strcmp(buf, S->vid[i]), "teacher video %ld is %s, student %s", i, buf, S->vid[i]);
			EXPECT(mpr_int(rv[1], b, "n") == n, "%s: teacher n differs", buf);
			te[i] = efloats((size_t)n * de);
			mpr_f32(rv[1], b, "x", te[i], (size_t)n * de);
			EXPECT(find_video(S, S->vid[i]) == i, "video id %s repeated", S->vid[i]);
		}
		EXPECT(mpr_next(rv[0]) == NULL && mpr_next(rv[1]) == NULL, "%s: extra videos", split[s]);
		for (long j = 0; j < dv; j++)
			mnorm += (mean[j] / rows) * (mean[j] / rows);
		mnorm = sqrt(mnorm);
		rownorm /= rows;
		/* centred: a dominant mean direction would make |mean| close to a row's norm */
		EXPECT(!world || mnorm < 0.35 * rownorm, "%s: student mean row norm %.3f vs row norm %.3f", split[s], mnorm, rownorm);

		/* queries */
		for (qi = 0; qi < S->nq; qi++) {
			const msgpack_object *a = mpr_next(rq[0]), *b;
			char id[96], vid[64], id2[96], vid2[64];
			long v, nt;
			const Moment *m = &S->m[qi];
			if (!a) {
				EXPECT(0, "%s: query stream ends early", split[s]);
				exit(1);
			}
			mpr_strcpy(rq[0], a, "id", id, sizeof(id));
			mpr_strcpy(rq[0], a, "video", vid, sizeof(vid));
			nt = mpr_int(rq[0], a, "n");
			EXPECT(nt >= 1 && nt <= 64, "%s: %ld tokens", id, nt);
			maxtok = MAX(maxtok, nt);
			x = realloc(x, (size_t)nt * dt * sizeof(float));
			mpr_f32(rq[0], a, "x", x, (size_t)nt * dt);
			qids[qi] = estrdup(id);
			b = mpr_next(rq[1]);
			if (!b) {
				EXPECT(0, "%s: teacher query stream ends early", split[s]);
				exit(1);
			}
			mpr_strcpy(rq[1], b, "id", id2, sizeof(id2));
			mpr_strcpy(rq[1], b, "video", vid2, sizeof(vid2));
			EXPECT(!strcmp(id, id2) && !strcmp(vid, vid2), "teacher query %ld: %s/%s vs %s/%s", qi, id2, vid2, id, vid);
			EXPECT(mpr_int(rq[1], b, "n") == 1, "%s: teacher n != 1", id2);
			mpr_f32(rq[1], b, "x", qt, (size_t)de);
			/* id = <video>#enc#<k> */
			snprintf(buf, sizeof(buf), "%s#enc#", vid);
			EXPECT(!strncmp(id, buf, strlen(buf)) && id[strlen(buf)] >= '0' && id[strlen(buf)] <= '9',
			       "query id %s for video %s", id, vid);
			v = find_video(S, vid);
			EXPECT(v >= 0, "%s: video %s not in split %s", id, vid, split[s]);
			EXPECT(!strcmp(m->id, id) && !strcmp(m->video, vid), "query %ld: %s, corpus.mp has %s", qi, id, m->id);
			if (v < 0)
				continue;
			EXPECT(m->start >= 0 && m->start < m->end && m->end <= S->n[v], "%s: moment [%d, %d) of %d clips",
			       id, m->start, m->end, S->n[v]);
			ratio += (double)(m->end - m->start) / S->n[v];
			/* teacher: own moment vs background of the same video */
			if (m->end - m->start < S->n[v]) {
				double in = 0, out = 0;
				for (int t = 0; t < S->n[v]; t++) {
					double c = cosine(qt, te[v] + (size_t)t * de, (int)de);
					if (t >= m->start && t < m->end)
						in += c;
					else
						out += c;
				}
				in /= m->end - m->start;
				out /= S->n[v] - (m->end - m->start);
				dsum += in - out;
				ndiff++;
				npos += in > out;
			}
			nmom++;
			/* zero-shot teacher: rank of the own video by max-over-frames cosine; ties count against */
			if (s == 2) {
				double own = -2, best;
				long rank = 1;
				double *sc = ecalloc((size_t)S->nv, sizeof(double));
				for (long u = 0; u < S->nv; u++) {
					best = -2;
					for (int t = 0; t < S->n[u]; t++)
						best = MAX(best, cosine(qt, te[u] + (size_t)t * de, (int)de));
					sc[u] = best;
				}
				own = sc[v];
				for (long u = 0; u < S->nv; u++)
					rank += u != v && sc[u] >= own;
				r1 += rank == 1;
				sumrank += rank;
				free(sc);
			}
		}
		EXPECT(mpr_next(rq[0]) == NULL && mpr_next(rq[1]) == NULL, "%s: extra queries", split[s]);
		qsort(qids, (size_t)S->nq, sizeof(char *), cmp_str);
		for (long i = 1; i < S->nq; i++)
			EXPECT(strcmp(qids[i - 1], qids[i]) != 0, "query id %s repeated", qids[i]);

		ratio /= nmom;
		if (s == 0) {
			train_ratio = ratio;
			train_over128 = over128 / S->nv;
			train_maxtok = maxtok;
		}
		printf("%s %s: %ld videos, %ld queries, mean moment/video %.3f, %.0f%% videos > 128 clips, "
		       "max tokens %.0f, |mean row|/|row| %.3f\n", name, split[s], S->nv, S->nq, ratio,
		       100.0 * over128 / S->nv, maxtok, mnorm / rownorm);
		if (ndiff && world) {
			printf("%s %s: teacher cos(own moment) - cos(background) = %+.4f on average, > 0 for %.0f%% of %ld queries\n",
			       name, split[s], dsum / ndiff, 100.0 * npos / ndiff, ndiff);
			EXPECT(dsum / ndiff > 0.02, "%s: teacher does not prefer the moment (%.4f)", split[s], dsum / ndiff);
			EXPECT(npos > 0.6 * ndiff, "%s: teacher prefers the moment for only %ld of %ld", split[s], npos, ndiff);
		}
		if (s == 2 && world) {
			double chance_r1 = 1.0 / S->nv, chance_rank = (S->nv + 1) / 2.0;
			double tr1 = (double)r1 / S->nq, trank = (double)sumrank / S->nq;
			printf("%s test: zero-shot teacher R@1 %.1f%% (chance %.1f%%), mean rank %.2f (chance %.1f)\n",
			       name, 100 * tr1, 100 * chance_r1, trank, chance_rank);
			EXPECT(tr1 > 2 * chance_r1, "teacher R@1 %.3f not above 2x chance", tr1);
			EXPECT(trank < 0.85 * chance_rank, "teacher mean rank %.2f not well below chance", trank);
			EXPECT(tr1 < 0.95, "teacher R@1 %.3f: nothing left for the student", tr1);
		}
		for (int k = 0; k < 2; k++) {
			mpr_close(rv[k]);
			mpr_close(rq[k]);
		}
		for (long i = 0; i < S->nv; i++)
			free(te[i]);
		for (long i = 0; i < S->nq; i++)
			free(qids[i]);
		free(qids);
		free(te);
		free(qt);
		free(mean);
		free(x);
		free(S->vid);
		free(S->n);
		free(S->m);
	}
}

/* a preset's own statistics: moment ratio near the preset's, long ActivityNet videos exist */
static void
check_preset(const char *preset, const char *tmp)
{
	SynthConfig c;
	char dir[4096];

	EXPECT(synth_preset(&c, preset), "preset %s", preset);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, preset);
	EXPECT(mkdir(dir, 0777) == 0, "mkdir %s", dir);
	synth_write(&c, dir, 0);
	check_dir(dir);
	/* moments: the preset's mean ratio within 35% (TVR short, ActivityNet ~1/3, MSR-VTT whole) */
	EXPECT(fabs(train_ratio - c.moment) < 0.35 * c.moment, "%s: mean moment ratio %.3f, preset %.3f",
	       preset, train_ratio, c.moment);
	if (!strcmp(preset, "activitynet-tiny"))
		EXPECT(train_over128 > 0.02, "%s: no raw sequence longer than 128 (%.3f)", preset, train_over128);
	if (!strcmp(preset, "tvr-tiny"))
		EXPECT(train_maxtok > 30, "%s: no query longer than 30 tokens (max %.0f)", preset, train_maxtok);
}

/* the calibrated world knobs (doc/synth.md, "Calibration"): a changed default is a deliberate
 * change of this test. PRESET and PRESET-small live in the same world (same world knobs); the
 * tiny presets keep their own small world. */
static void
check_calibration(void)
{
	static const struct {
		const char *base;
		int concepts;
		double similarity, mention, student_noise, teacher_noise;
	} cal[] = {
		{ "tvr", 24, 0, 0.85, 1.5, 1.0 },
		{ "activitynet", 24, 0, 0.85, 2.0, 2.5 },
		{ "charades", 24, 0, 0.85, 2.0, 4.0 },
		{ "msrvtt", 48, 0.5, 0.6, 0.3, 2.75 },
	};
	SynthConfig c, s;
	char name[32];

	for (size_t i = 0; i < sizeof(cal) / sizeof(cal[0]); i++) {
		EXPECT(synth_preset(&c, cal[i].base), "preset %s", cal[i].base);
		EXPECT(c.concepts == cal[i].concepts && c.similarity == cal[i].similarity &&
		       c.mention == cal[i].mention && c.student_noise == cal[i].student_noise &&
		       c.teacher_noise == cal[i].teacher_noise && c.sensor_noise == 0.5 &&
		       c.text_noise == 0.5 && c.latent_noise == 0.3 && c.gap == 1,
		       "%s: calibrated knobs changed (concepts %d similarity %g mention %g student noise %g "
		       "teacher noise %g)", cal[i].base, c.concepts, c.similarity, c.mention, c.student_noise,
		       c.teacher_noise);
		snprintf(name, sizeof(name), "%s-small", cal[i].base);
		EXPECT(synth_preset(&s, name), "preset %s", name);
		memcpy(s.videos, c.videos, sizeof(c.videos));
		memcpy(s.name, c.name, sizeof(c.name));
		EXPECT(!memcmp(&s, &c, sizeof(c)), "%s: not the world of %s but for the split sizes", name, cal[i].base);
		snprintf(name, sizeof(name), "%s-tiny", cal[i].base);
		EXPECT(synth_preset(&s, name) && s.concepts == 8 && s.similarity == 0 && s.mention == 0.7 &&
		       s.student_noise == 0.3 && s.teacher_noise == 1, "%s: tiny world changed", name);
	}
}

int
main(int argc, char *argv[])
{
	char tmp[] = "/tmp/test_synth_worldXXXXXX", cmd[4200];
	SynthConfig c;

	argv0 = "test_synth_world";
	progress_quiet = 1;
	if (argc == 3 && !strcmp(argv[1], "-c"))
		world = 0;
	if (argc == 2 || !world) {
		check_dir(argv[argc - 1]);
		printf("%s %s\n", failures ? "NOT OK" : "OK", argv[argc - 1]);
		return failures ? 1 : 0;
	}
	/* sizes the specification fixes */
	EXPECT(synth_preset(&c, "tvr-tiny") && c.videos[0] == 60 && c.videos[1] == 30 && c.videos[2] == 30, "tvr-tiny sizes");
	EXPECT(synth_preset(&c, "tvr") && c.videos[0] == 17435 && synth_queries(&c, 0) == 87175 &&
	       c.videos[2] == 2179 && synth_queries(&c, 2) == 10895 && c.dv == 3072 && c.dt == 768 && c.de == 512, "tvr sizes");
	EXPECT(synth_preset(&c, "activitynet") && c.videos[0] == 9043 && synth_queries(&c, 0) == 33721 &&
	       c.videos[2] == 4430 && synth_queries(&c, 2) == 15753 && c.dv == 1024 && c.dt == 1024, "activitynet sizes");
	EXPECT(synth_preset(&c, "charades") && c.videos[0] == 5538 && synth_queries(&c, 0) == 12408 &&
	       c.videos[2] == 1334 && synth_queries(&c, 2) == 3720, "charades sizes");
	EXPECT(synth_preset(&c, "msrvtt") && c.videos[0] == 6513 && synth_queries(&c, 0) == 130260 &&
	       c.videos[1] == 497 && c.videos[2] == 2990 && synth_queries(&c, 2) == 59800 && c.dv == 2048 && c.dt == 500,
	       "msrvtt sizes");
	EXPECT(synth_preset(&c, "tvr-small") && c.videos[0] == 1744 && c.videos[2] == 218, "tvr-small sizes");
	EXPECT(!synth_preset(&c, "tvr-huge") && !synth_preset(&c, "tv") && !synth_preset(&c, ""), "unknown presets");
	check_calibration();

	if (!mkdtemp(tmp))
		die("mkdtemp:");
	check_preset("tvr-tiny", tmp);
	check_preset("activitynet-tiny", tmp);
	check_preset("msrvtt-tiny", tmp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmp);
	printf("%s\n", failures ? "NOT OK" : "OK");
	return failures ? 1 : 0;
}
