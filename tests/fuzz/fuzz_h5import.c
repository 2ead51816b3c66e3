/* fuzz_h5import: prvr-import's HDF5 path (lib/h5: h5_open, h5_probe_dim, h5_read with its shape,
 * type and size checks, and what import_video / import_query do with what it returns) through the
 * importer's whole main, on a fixed small release (6 clips of dim 4, videos v0..v2, captions in
 * train and val) whose three HDF5 files (teacher frames, RoBERTa tokens, CLIP text) are built here
 * for each input by libhdf5 from the input's three parts. libhdf5 is not instrumented and its own
 * parsing of a damaged file is not what is fuzzed: each part is a recipe of objects, which the
 * harness writes as a well-formed file (the importer is compiled in, its main renamed, so that its
 * statics can be reset between runs).
 * A recipe is a sequence of records, byte by byte:
 *   name   low 4 bits: the object's path (names[] below); high 4 bits: what it is: 0..9 a dataset,
 *          10..11 a group, 12 a soft link (maybe dangling), 13 a hard link, 14..15 a dataset with
 *          an attribute
 *   for a dataset:
 *   form   bits 0-2 the file type (f32le, f64le, f16 as h5py writes it, f32be, i32, u8, a string,
 *          a compound of one float); bits 3-4 the layout (contiguous, chunked, chunked + deflate,
 *          compact); bit 5 data left unwritten (fill value, no storage)
 *   rank   % 6 (0: a scalar)
 *   dims   one byte each: below 0xe0 its value % 9, else 2^(12 + byte - 0xe0) (up to 2^43;
 *          claims above 4096 elements are chunked and left unwritten)
 *   value  the values are (i * 7 + value) % 32 / 8 - 2; with bit 7, element (value >> 2) % n is
 *          NaN, Inf, -Inf, 1e30, 7e4 (Inf as f16), 1e-40, -0 or 1e39 (value & 7)
 *   for a link: target  low 4 bits: the path it points to
 * Runs --strict when part 0 has an odd length, else the default (skip and count). */
#include "fuzz.h"

#define main prvr_import_main
#include "../../tools/prvr-import.c"
#undef main

static const char *const names[16] = {
	"v0", "v1", "v2", "v3", "v0#enc#0", "v0#enc#1", "v1#enc#0", "v1#enc#1", "v2#enc#0",
	"v0#0", "v0#1", "v1#0", "v1#1", "v2#0", "g", "g/v1",
};
static const char *const h5name[3] = {
	"FeatureData/new_clip_vit_32_fz_vid_features.hdf5", "TextData/roberta_fz_query_feat.hdf5",
	"TextData/clip_ViT_B_32_fz_query_feat.hdf5",
};
static char root[128];

typedef struct {
	const uint8_t *p, *end;
} Bytes;

static int
take(Bytes *b)
{
	return b->p < b->end ? *b->p++ : 0;
}

static void
put(const char *rel, const void *p, size_t n)   /* n 0: strlen */
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	n = n ? n : strlen(p);
	if (!(f = fopen(path, "w")) || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		abort();
	}
}

static hid_t
file_type(int t)
{
	hid_t ty;

	switch (t) {
	case 0: return H5Tcopy(H5T_IEEE_F32LE);
	case 1: return H5Tcopy(H5T_IEEE_F64LE);
	case 2:                  /* IEEE binary16 as h5py defines it */
		ty = H5Tcopy(H5T_IEEE_F32LE);
		H5Tset_fields(ty, 15, 10, 5, 0, 10);
		H5Tset_size(ty, 2);
		H5Tset_ebias(ty, 15);
		return ty;
	case 3: return H5Tcopy(H5T_IEEE_F32BE);
	case 4: return H5Tcopy(H5T_STD_I32LE);
	case 5: return H5Tcopy(H5T_STD_U8LE);
	case 6:
		ty = H5Tcopy(H5T_C_S1);
		H5Tset_size(ty, 4);
		return ty;
	default:
		ty = H5Tcreate(H5T_COMPOUND, 4);
		H5Tinsert(ty, "x", 0, H5T_IEEE_F32LE);
		return ty;
	}
}

static void
dataset(hid_t f, const char *name, int withattr, Bytes *b)
{
	static const double special[8] = { NAN, INFINITY, -INFINITY, 1e30, 7e4, 1e-40, -0.0, 1e39 };
	int form = take(b), rank = take(b) % 6, layout = (form >> 3) & 3, unwritten = form & 32;
	hsize_t dims[5], maxd[5], chunk[5];
	double n = 1, *x;
	hid_t ty = file_type(form & 7), sp, dcpl = H5Pcreate(H5P_DATASET_CREATE), ds;
	int v;

	for (int i = 0; i < rank; i++) {
		int d = take(b);
		dims[i] = d < 0xe0 ? (hsize_t)(d % 9) : (hsize_t)1 << (12 + d - 0xe0);
		maxd[i] = H5S_UNLIMITED;
		chunk[i] = dims[i] < 1 ? 1 : dims[i] > 4 ? 4 : dims[i];
		n *= (double)dims[i];
	}
	v = take(b);
	if (n > 4096) {
		layout = 1;
		unwritten = 1;
	}
	if (rank && (layout == 1 || layout == 2)) {
		sp = H5Screate_simple(rank, dims, maxd);
		H5Pset_chunk(dcpl, rank, chunk);
		if (layout == 2)
			H5Pset_deflate(dcpl, 1);
	} else {
		sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
		if (layout == 3)
			H5Pset_layout(dcpl, H5D_COMPACT);
	}
	ds = H5Dcreate2(f, name, ty, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (ds >= 0 && !unwritten && n >= 1) {
		x = malloc((size_t)n * sizeof(*x));
		for (size_t i = 0; i < (size_t)n; i++)
			x[i] = (double)((i * 7 + (size_t)v) % 32) / 8 - 2;
		if (v & 128)
			x[(size_t)(v >> 2) % (size_t)n] = special[v & 7];
		H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
		free(x);
	}
	if (ds >= 0 && withattr) {
		hid_t as = H5Screate(H5S_SCALAR), a = H5Acreate2(ds, "shape", H5T_STD_I32LE, as,
		                                                 H5P_DEFAULT, H5P_DEFAULT);
		H5Awrite(a, H5T_NATIVE_INT, &v);
		H5Aclose(a);
		H5Sclose(as);
	}
	if (ds >= 0)
		H5Dclose(ds);
	H5Pclose(dcpl);
	H5Sclose(sp);
	H5Tclose(ty);
}

static void
build(const char *rel, Bytes b)
{
	char path[256];
	hid_t f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0)
		abort();
	for (int k = 0; k < 24 && b.p < b.end; k++) {
		int c = take(&b), kind = c >> 4;
		const char *name = names[c & 15];
		if (kind <= 9 || kind >= 14)
			dataset(f, name, kind >= 14, &b);
		else if (kind <= 11)
			H5Gclose(H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
		else if (kind == 12)
			H5Lcreate_soft(names[take(&b) & 15], f, name, H5P_DEFAULT, H5P_DEFAULT);
		else
			H5Lcreate_hard(f, names[take(&b) & 15], f, name, H5P_DEFAULT, H5P_DEFAULT);
	}
	H5Fclose(f);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const float x[24] = { 1, 2, 3, 4, 0, 1, 0, 1, -1, 2, -3, 4, 5, 5, 5, 5, 1, 0, 0, 0,
	                             0.5, 0.5, 0.5, 0.5 };
	static const char *const dirs[] = { "", "/TextData", "/FeatureData", "/FeatureData/feat" };
	char d[256];

	fuzz_init();
	snprintf(root, sizeof(root), "%s", fuzz_path("fz"));
	for (int i = 0; i < 4; i++) {
		snprintf(d, sizeof(d), "%s%s", root, dirs[i]);
		mkdir(d, 0700);
	}
	put("FeatureData/feat/shape.txt", "6 4\n", 0);
	put("FeatureData/feat/id.txt", "c0\nc1\nc2\nc3\nc4\nc5\n", 0);
	put("FeatureData/feat/feature.bin", x, sizeof(x));
	put("FeatureData/feat/video2frames.txt",
	    "{'v0': ['c0', 'c1'], 'v1': ['c2', 'c3', 'c4'], 'v2': ['c5']}\n", 0);
	put("TextData/fztrain.caption.txt", "v0#enc#0 a cat\nv0#enc#1 a dog\nv1#enc#0 the sun\n"
	    "v2#enc#0 rain\n", 0);
	put("TextData/fzval.caption.txt", "v1#enc#1 more\n", 0);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	fuzz_before_release = (void (*)(void))H5close;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[3];
	size_t n[3];
	const char *out = fuzz_path("out");

	fuzz_split(data, size, p, n, 3);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);          /* again after an H5close */
	for (int i = 0; i < 3; i++)
		build(h5name[i], (Bytes){ p[i], p[i] + n[i] });
	/* the importer's statics, as a fresh process has them (a run that died left them) */
	memset(nprob, 0, sizeof(nprob));
	strict = writing = 0;
	done_paths = NULL;
	ndone = 0;
	bytes_out = 0;
	if (n[0] % 2)
		fuzz_main(prvr_import_main, "prvr-import", "-q", "-w", "0", "-s", "-r", root, "-f",
		          "feat", "-o", out, NULL);
	else
		fuzz_main(prvr_import_main, "prvr-import", "-q", "-w", "0", "-r", root, "-f", "feat",
		          "-o", out, NULL);
	H5close();         /* its free lists would look like a leak to libFuzzer, which reruns */
	return 0;
}
