/* test_import: prvr-import on small trees in the released layout (doc/import.md), written here
 * with the HDF5 library: float32 and float16 datasets (one written from raw half bits computed by
 * hand), a leading axis of 1, both key forms of the CLIP text file, Python-2 u'' strings, teacher
 * and student sequences of different lengths, missing keys, a NaN, a duplicate query, a malformed
 * caption line, caption text with any UTF-8 and trailing spaces or tabs, an unknown clip id and a broken video2frames line. Runs "$BIN"/prvr-import (BIN
 * default "bin"), reads every output stream with mpio and compares it element by element with what
 * the fixture wrote (length matching checked against segment boundaries computed by hand), and
 * checks the messages and exit codes of the default and --strict modes.
 * Not tested here: speed (tests/bench_import.c). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "mpio.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); \
	failures++; } } while (0)

static char bin[1024];

/* ---- fixture writing ---- */

static void
put_text(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	CHECK(fp);
	fputs(text, fp);
	CHECK(fclose(fp) == 0);
}

static hid_t half_type;   /* IEEE binary16, little endian, as h5py makes it */

static hid_t
h5_create(const char *dir, const char *name)
{
	char path[1024];
	hid_t f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(f >= 0);
	return f;
}

/* dataset key at the root of file type ftype (float32 or half) from float32 x */
static void
h5_put(hid_t f, const char *key, int half, int rank, const hsize_t *dims, const float *x)
{
	hid_t sp = H5Screate_simple(rank, dims, NULL);
	hid_t ds = H5Dcreate2(f, key, half ? half_type : H5T_IEEE_F32LE, sp, H5P_DEFAULT,
	                      H5P_DEFAULT, H5P_DEFAULT);

	CHECK(ds >= 0);
	CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
	H5Dclose(ds);
	H5Sclose(sp);
}

/* a half dataset written from its raw bits (no conversion on the way in) */
static void
h5_put_bits(hid_t f, const char *key, int rank, const hsize_t *dims, const uint16_t *bits)
{
	hid_t sp = H5Screate_simple(rank, dims, NULL);
	hid_t ds = H5Dcreate2(f, key, half_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

	CHECK(ds >= 0);
	CHECK(H5Dwrite(ds, half_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bits) >= 0);
	H5Dclose(ds);
	H5Sclose(sp);
}

static char *
mkdirs(const char *root, const char *coll, const char *feat)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", root, coll);
	CHECK(mkdir(p, 0777) == 0);
	snprintf(p, sizeof(p), "%s/%s/TextData", root, coll);
	CHECK(mkdir(p, 0777) == 0);
	snprintf(p, sizeof(p), "%s/%s/FeatureData", root, coll);
	CHECK(mkdir(p, 0777) == 0);
	snprintf(p, sizeof(p), "%s/%s/FeatureData/%s", root, coll, feat);
	CHECK(mkdir(p, 0777) == 0);
	snprintf(p, sizeof(p), "%s/%s", root, coll);
	return estrdup(p);
}

/* values the fixtures write; all exactly representable in binary16 where stored as half */
static float fs(int row, int j) { return (float)row + j / 8.0f; }             /* feature.bin */
static float ft(int v, int t, int j) { return (v * 8 + t) / 4.0f + j / 16.0f; } /* teacher frames */
static float fq(int q, int k, int j) { return q + k / 4.0f + j / 64.0f; }      /* RoBERTa */
static float fc(int q, int j) { return -q - j / 32.0f; }                        /* CLIP text */

static void
write_features(const char *dir, const char *feat, const char **clips, int nclips, int D)
{
	char path[1024], *ids;
	float *x = efloats((size_t)nclips * D);
	FILE *fp;
	size_t n = 0;

	for (int r = 0; r < nclips; r++)
		for (int j = 0; j < D; j++)
			x[r * D + j] = fs(r, j);
	snprintf(path, sizeof(path), "%s/FeatureData/%s/feature.bin", dir, feat);
	fp = fopen(path, "wb");
	CHECK(fp && fwrite(x, sizeof(float), (size_t)nclips * D, fp) == (size_t)nclips * D);
	CHECK(fclose(fp) == 0);
	snprintf(path, sizeof(path), "%d %d\n", nclips, D);
	{
		char name[256];
		snprintf(name, sizeof(name), "FeatureData/%s/shape.txt", feat);
		put_text(dir, name, path);
		ids = emalloc(64 * (size_t)nclips + 1);
		for (int r = 0; r < nclips; r++)
			n += (size_t)sprintf(ids + n, "%s%s", clips[r], r % 3 == 2 ? "\n" : " ");
		snprintf(name, sizeof(name), "FeatureData/%s/id.txt", feat);
		put_text(dir, name, ids);
		free(ids);
	}
	free(x);
}

/* ---- reading the outputs ---- */

typedef struct {
	const char *id, *video;
	int n;
	float x[64 * 16];
} Item;

/* the stream at dir/name has exactly the items e[0..ne) (ids, n, every float) */
static void
check_stream(const char *dir, const char *name, const char *kind, const char *role, int dim,
             const Item *e, int ne)
{
	char path[1024], buf[256];
	MpReader *r;
	const msgpack_object *h, *o;
	float *x = efloats(64 * 1024);
	int i = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK)) {
		fprintf(stderr, "NOT OK %s: missing\n", path);
		failures++;
		return;
	}
	r = mpr_open(path);
	h = mpr_header(r, kind);
	mpr_strcpy(r, h, "role", buf, sizeof(buf));
	EXPECT(strcmp(buf, role) == 0);
	EXPECT(mpr_int(r, h, "dim") == dim);
	EXPECT(mpr_bool_or(r, h, "reduced", 1) == 0);
	EXPECT(mpr_bool_or(r, h, "normalized", 1) == 0);
	EXPECT(r->count == ne);
	while ((o = mpr_next(r))) {
		if (i >= ne) {
			i++;
			continue;
		}
		mpr_strcpy(r, o, "id", buf, sizeof(buf));
		if (strcmp(buf, e[i].id) != 0) {
			fprintf(stderr, "NOT OK %s: item %d id '%s', expected '%s'\n", name, i, buf, e[i].id);
			failures++;
		}
		if (e[i].video) {
			mpr_strcpy(r, o, "video", buf, sizeof(buf));
			EXPECT(strcmp(buf, e[i].video) == 0);
		}
		if (mpr_int(r, o, "n") != e[i].n) {
			fprintf(stderr, "NOT OK %s: item %d (%s) n %ld, expected %d\n", name, i, e[i].id,
			        mpr_int(r, o, "n"), e[i].n);
			failures++;
		} else {
			mpr_f32(r, o, "x", x, (size_t)e[i].n * dim);
			for (int k = 0; k < e[i].n * dim; k++)
				if (x[k] != e[i].x[k] && !bad++)
					fprintf(stderr, "NOT OK %s: %s element %d: %g, expected %g\n", name,
					        e[i].id, k, x[k], e[i].x[k]);
		}
		i++;
	}
	EXPECT(i == ne);
	failures += bad > 0;
	mpr_close(r);
	free(x);
	printf("%s %s (%d items)\n", bad || i != ne ? "NOT OK" : "OK", name, ne);
}

static int
run(const char *args, const char *errfile)
{
	char cmd[4096];
	int st;

	if (snprintf(cmd, sizeof(cmd), "%s/prvr-import -q %s 2>%s", bin, args, errfile) >=
	    (int)sizeof(cmd))
		die("command too long");
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *errtext;

static void
load_err(const char *errfile)
{
	free(errtext);
	errtext = slurp(errfile, 1 << 20, NULL);
}

static void
expect_msg(const char *what)
{
	if (!strstr(errtext, what)) {
		fprintf(stderr, "NOT OK stderr lacks \"%s\"; it was:\n%s\n", what, errtext);
		failures++;
	} else
		printf("OK message \"%s\"\n", what);
}

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- fixture 1: tvr, problems of every kind ---- */

enum { D1 = 6, DQ1 = 8, DC = 16 };

static const char *clips1[] = {
	"vG_1", "vA_0", "vA_1", "vA_2", "vA_3", "vG_0", "vB_0", "vB_1", "vB_2", "vB_3", "vB_4",
	"vC_0", "vC_1", "vC_2", "vC_3", "vD_0", "vD_1", "vE_0", "vF_0", "vF_1", "vH_0",
};

static const char *v2f1 =
	"{'vA': ['vA_0', 'vA_1', 'vA_2', 'vA_3'],\n"
	" 'vB': ['vB_0', 'vB_1', 'vB_2', 'vB_3', 'vB_4'],\n"
	" 'vC': [\"vC_0\", \"vC_1\", \"vC_2\", \"vC_3\"],\n"
	" 'vD': ['vD_0', vD_1],\n"
	" 'vE': ['vE_0', 'vE_9'],\n"
	" 'vF': ['vF_0', 'vF_1'],\n"
	" 'vG': ('vG_0', 'vG_1'),\n"
	" 'vH': ['vH_0'],\n"
	"}\n";

static const char *train1 =
	"vA#enc#0 a man opens the door\n"
	"vB#enc#0 she sits down \xE2\x80\x94 \xC2\xAB" "caf\xC3\xA9\xC2\xBB \xE6\x97\xA5\xE6\x9C\xAC "
	"\xF0\x9F\x8E\xAC\t \n"                          /* UTF-8, trailing tab and space */
	"vA#enc#1 he leaves\t\r\n"
	"vC#enc#0 they\ttalk   \n"
	"vD#enc#0 broken video2frames entry\n"
	"\n"
	"vE#enc#0 unknown clip\n"
	"vF#enc#0 no teacher key\n"
	"vA#enc#2 no roberta key\n"
	"vB#enc#1 no clip key\n"
	"vA#enc#0 a duplicate\n"
	"vC#enc#1 a NaN\n"
	" a malformed line\n";

static const char *val1 = "vG#enc#0 val one\t\t\nvG#enc#1 val two  \xE2\x82\xAC \xEF\xBB\xBF\n";

static int
row_of(const char **clips, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(clips[i], id) == 0)
			return i;
	CHECK(0);
	return -1;
}

/* the query number the fixture uses for values, from its position in this list */
static const char *qnum[] = {
	"vA#enc#0", "vB#enc#0", "vA#enc#1", "vC#enc#0", "vD#enc#0", "vE#enc#0", "vF#enc#0",
	"vA#enc#2", "vB#enc#1", "vC#enc#1", "vG#enc#0", "vG#enc#1",
};
static int
qn(const char *cap)
{
	for (int i = 0; i < (int)(sizeof(qnum) / sizeof(qnum[0])); i++)
		if (strcmp(qnum[i], cap) == 0)
			return i;
	CHECK(0);
	return -1;
}
static int ntok(int q) { return 2 + q % 3; }

/* hand-made binary16 bit patterns and their values */
static const uint16_t hbits[DC] = {
	0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x8000, 0x0400, 0x3800,
	0xBC00, 0x4248, 0x03FF, 0x5640, 0xB400, 0x0000, 0x3E00, 0xC900,
};
static const double hvals[DC] = {
	1.0, -2.0, 0.333251953125, 5.9604644775390625e-8, 65504.0, -0.0, 6.103515625e-5, 0.5,
	-1.0, 3.140625, 6.0975551605224609375e-5, 100.0, -0.25, 0.0, 1.5, -10.0,
};

static void
build1(const char *root)
{
	char *dir = mkdirs(root, "tvr", "i3d_resnet");
	int nclips = (int)(sizeof(clips1) / sizeof(clips1[0]));
	hid_t f;
	float x[64 * 16];
	hsize_t d[3];

	write_features(dir, "i3d_resnet", clips1, nclips, D1);
	put_text(dir, "FeatureData/i3d_resnet/video2frames.txt", v2f1);
	put_text(dir, "TextData/tvrtrain.caption.txt", train1);
	put_text(dir, "TextData/tvrval.caption.txt", val1);

	/* teacher frames: vA 4 (f32), vB 3 (f16), vC (1, 7, DC) f32, vD..vE present, vF missing,
	 * vG 2 (f16), vH 1 */
	f = h5_create(dir, "FeatureData/new_clip_vit_32_tvr_vid_features.hdf5");
	{
		const char *vid[] = { "vA", "vB", "vC", "vD", "vE", "vG", "vH" };
		const int vnum[] = { 0, 1, 2, 3, 4, 6, 7 }, T[] = { 4, 3, 7, 2, 2, 2, 1 };
		const int half[] = { 0, 1, 0, 0, 0, 1, 0 };
		for (int v = 0; v < 7; v++) {
			for (int t = 0; t < T[v]; t++)
				for (int j = 0; j < DC; j++)
					x[t * DC + j] = ft(vnum[v], t, j);
			if (v == 2) {
				d[0] = 1, d[1] = (hsize_t)T[v], d[2] = DC;
				h5_put(f, vid[v], half[v], 3, d, x);
			} else {
				d[0] = (hsize_t)T[v], d[1] = DC;
				h5_put(f, vid[v], half[v], 2, d, x);
			}
		}
	}
	H5Fclose(f);

	/* RoBERTa: all but vA#enc#2; vC#enc#0 and vG#enc#0 f16 with a leading axis; NaN in vC#enc#1 */
	f = h5_create(dir, "TextData/roberta_tvr_query_feat.hdf5");
	for (int q = 0; q < 12; q++) {
		int lead = q == 3 || q == 10, half = q == 3 || q == 10;
		if (q == 7)
			continue;
		for (int k = 0; k < ntok(q); k++)
			for (int j = 0; j < DQ1; j++)
				x[k * DQ1 + j] = fq(q, k, j);
		if (q == 9)
			x[1 * DQ1 + 3] = NAN;
		d[0] = 1;
		d[lead] = (hsize_t)ntok(q);
		d[lead + 1] = DQ1;
		h5_put(f, qnum[q], half, 2 + lead, d, x);
	}
	H5Fclose(f);

	/* CLIP text: keys cap_id, (1, DC); vB#enc#1 missing; vG#enc#1 raw half bits */
	f = h5_create(dir, "TextData/clip_ViT_B_32_tvr_query_feat.hdf5");
	for (int q = 0; q < 12; q++) {
		d[0] = 1, d[1] = DC;
		if (q == 8)
			continue;
		if (q == 11) {
			h5_put_bits(f, qnum[q], 2, d, hbits);
			continue;
		}
		for (int j = 0; j < DC; j++)
			x[j] = fc(q, j);
		h5_put(f, qnum[q], q % 2, 2, d, x);
	}
	H5Fclose(f);
	free(dir);
}

static void
student_rows(Item *it, const char **clips, int nclips, const char **names, int n, int D)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < D; j++)
			it->x[i * D + j] = fs(row_of(clips, nclips, names[i]), j);
	it->n = n;
}

static void
teacher_rows(Item *it, int v, int T)
{
	for (int t = 0; t < T; t++)
		for (int j = 0; j < DC; j++)
			it->x[t * DC + j] = ft(v, t, j);
	it->n = T;
}

static void
query_item(Item *it, const char *cap, const char *video, int D)
{
	int q = qn(cap);

	it->id = cap;
	it->video = video;
	it->n = ntok(q);
	for (int k = 0; k < it->n; k++)
		for (int j = 0; j < D; j++)
			it->x[k * D + j] = fq(q, k, j);
}

static void
clip_item(Item *it, const char *cap, const char *video)
{
	int q = qn(cap);

	it->id = cap;
	it->video = video;
	it->n = 1;
	for (int j = 0; j < DC; j++)
		it->x[j] = q == 11 ? (float)hvals[j] : fc(q, j);
}

static void
check1(const char *out)
{
	int nc = (int)(sizeof(clips1) / sizeof(clips1[0]));
	static Item e[8];
	const char *a[] = { "vA_0", "vA_1", "vA_2", "vA_3" }, *c[] = { "vC_0", "vC_1", "vC_2", "vC_3" };
	const char *g[] = { "vG_0", "vG_1" };

	/* train students: vA as is; vB 5 rows -> 3 (teacher has 3): bounds round(i*5/3) =
	 * 0, 2, 3, 5 -> clipped to 4: rows mean(0,1), 2, 3; vC as is (teacher is longer) */
	e[0].id = "vA";
	student_rows(&e[0], clips1, nc, a, 4, D1);
	e[1].id = "vB";
	e[1].n = 3;
	for (int j = 0; j < D1; j++) {
		e[1].x[0 * D1 + j] = (fs(row_of(clips1, nc, "vB_0"), j) + fs(row_of(clips1, nc, "vB_1"), j)) / 2;
		e[1].x[1 * D1 + j] = fs(row_of(clips1, nc, "vB_2"), j);
		e[1].x[2 * D1 + j] = fs(row_of(clips1, nc, "vB_3"), j);
	}
	e[2].id = "vC";
	student_rows(&e[2], clips1, nc, c, 4, D1);
	check_stream(out, "train-video-student.mp", "video-features", "student", D1, e, 3);

	/* train teachers: vA, vB as is; vC 7 rows -> 4: round(i*7/4) = 0, 2, 4 (3.5 to even),
	 * 5 (5.25), 7 -> 6: rows mean(0,1), mean(2,3), 4, 5 */
	e[0].id = "vA";
	teacher_rows(&e[0], 0, 4);
	e[1].id = "vB";
	teacher_rows(&e[1], 1, 3);
	e[2].id = "vC";
	e[2].n = 4;
	for (int j = 0; j < DC; j++) {
		e[2].x[0 * DC + j] = (ft(2, 0, j) + ft(2, 1, j)) / 2;
		e[2].x[1 * DC + j] = (ft(2, 2, j) + ft(2, 3, j)) / 2;
		e[2].x[2 * DC + j] = ft(2, 4, j);
		e[2].x[3 * DC + j] = ft(2, 5, j);
	}
	check_stream(out, "train-video-teacher.mp", "video-features", "teacher", DC, e, 3);

	query_item(&e[0], "vA#enc#0", "vA", DQ1);
	query_item(&e[1], "vB#enc#0", "vB", DQ1);
	query_item(&e[2], "vA#enc#1", "vA", DQ1);
	query_item(&e[3], "vC#enc#0", "vC", DQ1);
	check_stream(out, "train-query-student.mp", "query-features", "student", DQ1, e, 4);
	clip_item(&e[0], "vA#enc#0", "vA");
	clip_item(&e[1], "vB#enc#0", "vB");
	clip_item(&e[2], "vA#enc#1", "vA");
	clip_item(&e[3], "vC#enc#0", "vC");
	check_stream(out, "train-query-teacher.mp", "query-features", "teacher", DC, e, 4);

	/* val: vG's rows are not contiguous in feature.bin (rows 5, 0) */
	e[0].id = "vG";
	e[0].video = NULL;
	student_rows(&e[0], clips1, nc, g, 2, D1);
	check_stream(out, "val-video-student.mp", "video-features", "student", D1, e, 1);
	teacher_rows(&e[0], 6, 2);
	check_stream(out, "val-video-teacher.mp", "video-features", "teacher", DC, e, 1);
	query_item(&e[0], "vG#enc#0", "vG", DQ1);
	query_item(&e[1], "vG#enc#1", "vG", DQ1);
	check_stream(out, "val-query-student.mp", "query-features", "student", DQ1, e, 2);
	clip_item(&e[0], "vG#enc#0", "vG");
	clip_item(&e[1], "vG#enc#1", "vG");
	check_stream(out, "val-query-teacher.mp", "query-features", "teacher", DC, e, 2);

	/* corpus.mp */
	{
		char path[1300];
		MpReader *r;
		const msgpack_object *h, *s, *t;
		snprintf(path, sizeof(path), "%s/corpus.mp", out);
		r = mpr_open(path);
		h = mpr_header(r, "corpus");
		EXPECT(r->count == 0);
		EXPECT(mpr_int(r, mp_find(h, "dims"), "video_student") == D1);
		EXPECT(mpr_int(r, mp_find(h, "dims"), "video_teacher") == DC);
		EXPECT(mpr_int(r, mp_find(h, "dims"), "query_student") == DQ1);
		EXPECT(mpr_int(r, mp_find(h, "dims"), "query_teacher") == DC);
		s = mp_find(h, "splits");
		EXPECT(s && (t = mp_find(s, "train")) && mpr_int(r, t, "videos") == 3 &&
		       mpr_int(r, t, "queries") == 4);
		EXPECT(s && (t = mp_find(s, "val")) && mpr_int(r, t, "videos") == 1 &&
		       mpr_int(r, t, "queries") == 2);
		EXPECT(s && !mp_find(s, "test"));
		EXPECT(mp_find(h, "source") && mp_find(h, "source")->via.str.size == 6 &&
		       memcmp(mp_find(h, "source")->via.str.ptr, "import", 6) == 0);
		EXPECT(!mpr_next(r));
		mpr_close(r);
		printf("OK corpus.mp\n");
	}
}

/* ---- fixture 2: charades, clean, CLIP keys <video_id>#<k>, u'' strings, one-line dict ---- */

enum { D2 = 5, DQ2 = 12 };
static const char *clips2[] = { "c1_0", "c1_1", "c1_2", "c2_0", "c2_1", "c3_0" };

static void
build2(const char *root)
{
	char *dir = mkdirs(root, "charades", "i3d_rgb_lgi");
	hid_t f;
	float x[64 * 16];
	hsize_t d[3];

	write_features(dir, "i3d_rgb_lgi", clips2, 6, D2);
	put_text(dir, "FeatureData/i3d_rgb_lgi/video2frames.txt",
	         "{u'c1': [u'c1_0', u'c1_1', u'c1_2'], u\"c2\": [u\"c2_0\", u\"c2_1\"], 'c3': ['c3_0']}");
	put_text(dir, "TextData/charadestrain.caption.txt",
	         "c1#enc#0 person opens a door\nc2#enc#0 person sits\nc1#enc#1 person leaves\n");
	put_text(dir, "TextData/charadestest.caption.txt", "c3#enc#0 person eats\n");
	f = h5_create(dir, "FeatureData/new_clip_vit_32_charades_vid_features.hdf5");
	for (int v = 1; v <= 3; v++) {
		int T = v == 1 ? 3 : v == 2 ? 2 : 1;
		for (int t = 0; t < T; t++)
			for (int j = 0; j < DC; j++)
				x[t * DC + j] = ft(v, t, j);
		d[0] = (hsize_t)T, d[1] = DC;
		char k[16];
		snprintf(k, sizeof(k), "c%d", v);
		h5_put(f, k, v == 1, 2, d, x);
	}
	H5Fclose(f);
	f = h5_create(dir, "TextData/roberta_charades_query_feat.hdf5");
	{
		const char *caps[] = { "c1#enc#0", "c2#enc#0", "c1#enc#1", "c3#enc#0" };
		for (int i = 0; i < 4; i++) {
			for (int k = 0; k < 3; k++)
				for (int j = 0; j < DQ2; j++)
					x[k * DQ2 + j] = fq(20 + i, k, j);
			d[0] = 3, d[1] = DQ2;
			h5_put(f, caps[i], 0, 2, d, x);
		}
	}
	H5Fclose(f);
	f = h5_create(dir, "TextData/clip_ViT_B_32_charades_query_feat.hdf5");
	{
		const char *keys[] = { "c1#0", "c2#0", "c1#1", "c3#0" };
		for (int i = 0; i < 4; i++) {
			for (int j = 0; j < DC; j++)
				x[j] = fc(20 + i, j);
			d[0] = 1, d[1] = DC;
			h5_put(f, keys[i], 1, 2, d, x);
		}
	}
	H5Fclose(f);
	free(dir);
}

static void
check2(const char *out)
{
	static Item e[4];
	const char *caps[] = { "c1#enc#0", "c2#enc#0", "c1#enc#1" }, *vids[] = { "c1", "c2", "c1" };

	for (int v = 0; v < 2; v++) {
		const char *n1[] = { "c1_0", "c1_1", "c1_2" }, *n2[] = { "c2_0", "c2_1" };
		e[v].id = v ? "c2" : "c1";
		e[v].video = NULL;
		student_rows(&e[v], clips2, 6, v ? n2 : n1, v ? 2 : 3, D2);
	}
	check_stream(out, "train-video-student.mp", "video-features", "student", D2, e, 2);
	teacher_rows(&e[0], 1, 3);
	teacher_rows(&e[1], 2, 2);
	check_stream(out, "train-video-teacher.mp", "video-features", "teacher", DC, e, 2);
	for (int i = 0; i < 3; i++) {
		e[i].id = caps[i];
		e[i].video = vids[i];
		e[i].n = 3;
		for (int k = 0; k < 3; k++)
			for (int j = 0; j < DQ2; j++)
				e[i].x[k * DQ2 + j] = fq(20 + i, k, j);
	}
	check_stream(out, "train-query-student.mp", "query-features", "student", DQ2, e, 3);
	for (int i = 0; i < 3; i++) {
		e[i].n = 1;
		for (int j = 0; j < DC; j++)
			e[i].x[j] = fc(20 + i, j);
	}
	check_stream(out, "train-query-teacher.mp", "query-features", "teacher", DC, e, 3);
	e[0].id = "c3#enc#0";
	e[0].video = "c3";
	for (int j = 0; j < DC; j++)
		e[0].x[j] = fc(23, j);
	check_stream(out, "test-query-teacher.mp", "query-features", "teacher", DC, e, 1);
}

int
main(void)
{
	char root[] = "/tmp/test_import.XXXXXX", out[1200], errf[1200], args[4096], cmd[2400];
	const char *b = getenv("BIN");

	argv0 = "test_import";
	snprintf(bin, sizeof(bin), "%s", b && *b ? b : "bin");
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	half_type = H5Tcopy(H5T_IEEE_F32LE);   /* h5py's float16: fields, then size, then bias */
	CHECK(H5Tset_fields(half_type, 15, 10, 5, 0, 10) >= 0);
	CHECK(H5Tset_size(half_type, 2) >= 0);
	CHECK(H5Tset_ebias(half_type, 15) >= 0);
	CHECK(mkdtemp(root));
	snprintf(errf, sizeof(errf), "%s/stderr.txt", root);

	/* fixture 1, --strict: the first problem (the video2frames line) fails, nothing written */
	build1(root);
	snprintf(out, sizeof(out), "%s/out1", root);
	snprintf(args, sizeof(args), "--strict -r %s/tvr -o %s", root, out);
	EXPECT(run(args, errf) == 1);
	load_err(errf);
	expect_msg("video2frames.txt:4:17: expected a quoted string, found 'v'");
	expect_msg("--strict");
	EXPECT(count_files(out) == 0);
	printf("%s strict: exit 1, no output files\n", count_files(out) ? "NOT OK" : "OK");

	/* fixture 1, default: every broken item skipped and named, the rest exact */
	snprintf(args, sizeof(args), "-r %s/tvr/ -o %s", root, out);
	EXPECT(run(args, errf) == 0);
	load_err(errf);
	expect_msg("video2frames.txt:4:17: expected a quoted string, found 'v'; the entry of video 'vD' skipped");
	expect_msg("no entry for video 'vD' (its entry, line 4, does not parse)");
	expect_msg("video 'vE': clip id 'vE_9' is not in");
	expect_msg("new_clip_vit_32_tvr_vid_features.hdf5: no key 'vF'");
	expect_msg("roberta_tvr_query_feat.hdf5: no key 'vA#enc#2'");
	expect_msg("clip_ViT_B_32_tvr_query_feat.hdf5: neither key 'vB#enc#1' nor 'vB#1'");
	expect_msg("tvrtrain.caption.txt:11: query id 'vA#enc#0' already on line 1");
	expect_msg("roberta_tvr_query_feat.hdf5: key 'vC#enc#1': NaN or Inf at token 1, column 3");
	expect_msg("tvrtrain.caption.txt:13: expected \"<cap_id> <caption>\" with cap_id <video_id>#enc#<k>, found \" a malformed line\"; the line skipped");
	expect_msg("tvrtest.caption.txt: split test not imported");
	expect_msg("train: 3 videos, 4 queries; length-matched 2 videos; skipped 3 videos (and their 3 queries) and 5 more queries");
	expect_msg("2 videos had teacher and student sequences of different lengths");
	expect_msg("note: 1 videos of");
	expect_msg("9 problems: skipped 3 videos (and their 3 queries) and 5 queries");
	check1(out);
	EXPECT(count_files(out) == 9);

	/* fixture 2: clean, strict passes; both key forms found; --splits must exist */
	build2(root);
	snprintf(out, sizeof(out), "%s/out2", root);
	snprintf(args, sizeof(args), "--strict -r %s/charades -o %s", root, out);
	EXPECT(run(args, errf) == 0);
	load_err(errf);
	expect_msg("note: no ");
	check2(out);
	EXPECT(count_files(out) == 9);
	snprintf(args, sizeof(args), "-r %s/charades -o %s/out3 --splits train,val", root, root);
	EXPECT(run(args, errf) == 1);
	load_err(errf);
	expect_msg("charadesval.caption.txt: no such file (caption file of split val, asked for by --splits)");
	snprintf(out, sizeof(out), "%s/out3", root);
	EXPECT(count_files(out) == 0);

	/* strict failing in the last split leaves none of the earlier splits' files behind */
	{
		char p[1200];
		hid_t f;
		snprintf(p, sizeof(p), "%s/charades/TextData/clip_ViT_B_32_charades_query_feat.hdf5", root);
		f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
		CHECK(f >= 0 && H5Ldelete(f, "c3#0", H5P_DEFAULT) >= 0);
		H5Fclose(f);
	}
	snprintf(out, sizeof(out), "%s/out5", root);
	snprintf(args, sizeof(args), "--strict -r %s/charades -o %s", root, out);
	EXPECT(run(args, errf) == 1);
	load_err(errf);
	expect_msg("clip_ViT_B_32_charades_query_feat.hdf5: neither key 'c3#enc#0' nor 'c3#0' (expected the CLIP text embedding of query 'c3#enc#0', shape (1, 16)) (--strict: no output written)");
	EXPECT(count_files(out) == 0);
	printf("%s strict failure in split test: no output files\n", count_files(out) ? "NOT OK" : "OK");

	/* a dataset claiming 2^50 elements that the file does not hold (HDF5 allocates storage
	 * late): refused before anything is allocated for it */
	{
		char p[1200];
		hsize_t d[2] = { (hsize_t)1 << 30, (hsize_t)1 << 20 };
		hid_t f, sp, dcpl, ds;
		snprintf(p, sizeof(p), "%s/charades/TextData/clip_ViT_B_32_charades_query_feat.hdf5", root);
		CHECK((f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT)) >= 0);
		CHECK((sp = H5Screate_simple(2, d, NULL)) >= 0);
		CHECK((dcpl = H5Pcreate(H5P_DATASET_CREATE)) >= 0);
		CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE) >= 0);
		CHECK((ds = H5Dcreate2(f, "c3#0", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0);
		H5Dclose(ds);
		H5Pclose(dcpl);
		H5Sclose(sp);
		H5Fclose(f);
	}
	snprintf(out, sizeof(out), "%s/out6", root);
	snprintf(args, sizeof(args), "--strict -r %s/charades -o %s", root, out);
	EXPECT(run(args, errf) == 1);
	load_err(errf);
	expect_msg("clip_ViT_B_32_charades_query_feat.hdf5: key 'c3#0' claims more elements than the file stores for it");
	EXPECT(count_files(out) == 0);
	printf("%s dataset claiming 2^50 elements: refused, no output files\n",
	       count_files(out) ? "NOT OK" : "OK");

	/* feature.bin of the wrong size is fatal in both modes */
	snprintf(cmd, sizeof(cmd), "truncate -s -4 %s/charades/FeatureData/i3d_rgb_lgi/feature.bin", root);
	CHECK(system(cmd) == 0);
	snprintf(args, sizeof(args), "-r %s/charades -o %s/out4", root, root);
	EXPECT(run(args, errf) == 1);
	load_err(errf);
	expect_msg("feature.bin: 116 bytes, expected 120 (= 6 x 5 float32 from");

	/* --help on stdout, exit 0 */
	snprintf(cmd, sizeof(cmd), "%s/prvr-import --help | grep -q '^usage: .*prvr-import -r'", bin);
	EXPECT(system(cmd) == 0);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (!failures && !getenv("KEEP_FIXTURES"))
		CHECK(system(cmd) == 0);
	else
		fprintf(stderr, "fixtures kept in %s\n", root);
	H5Tclose(half_type);
	printf("%s test_import (%d failures)\n", failures ? "NOT OK" : "OK", failures);
	return failures ? 1 : 0;
}
