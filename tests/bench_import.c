/* bench_import: times prvr-import on a synthetic tree in the released layout at the real TVR scale
 * (17,435 train + 2,179 val videos, 5 queries each, 3072-d student clips, 512-d teacher frames,
 * 768-d RoBERTa tokens, 512-d CLIP text; about 15 GB of input) and prints MB/s and peak RSS.
 * The tree is generated here (feature.bin with stdio, the three HDF5 files with the HDF5 library,
 * one dataset per key at the root as h5py writes them), its files are flushed and evicted from the
 * page cache (posix_fadvise) so the import reads from disk, then "$BIN"/prvr-import runs as a
 * child (wall time, peak RSS from wait4), and the tree and the output are deleted. 4% of the
 * videos have teacher and student sequences of different lengths.
 *
 *   bench_import [-s SCALE] [-d DIR] [-k]
 *     -s  fraction of the TVR video count, 0 < SCALE <= 1 (default 1)
 *     -d  where the tree is made (default $TMPDIR or /tmp); its free space is checked first and
 *         the scale lowered, with a note, when the tree and the output would not fit
 *     -k  keep the tree and the output (paths printed)
 * Output: "name value" lines (bench.sh style) after a human-readable summary.
 * Not a test: nothing is compared; tests/test_import.c checks values. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpio.h"
#include "util.h"

#if defined(__has_include)
#if __has_include(<hdf5.h>)
#define HAVE_HDF5 1
#endif
#endif

#ifdef HAVE_HDF5
#include <hdf5.h>

enum { TRAIN = 17435, VAL = 2179, QPV = 5, DS = 3072, DT = 512, DQ = 768 };

static uint32_t
hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static int nclips(long v) { return 10 + (int)(hash32((uint32_t)v) % 51); }      /* 10..60 */
static int nteach(long v)
{
	int n = nclips(v);
	return v % 50 == 7 ? n + 3 : v % 50 == 32 ? n - 2 : n;
}
static int ntok(long q) { return 8 + (int)(hash32((uint32_t)q * 7919U + 1) % 17); } /* 8..24 */

/* cheap pseudo-random floats in [-0.5, 0.5): xorshift32 */
static void
fill(float *x, size_t n, uint32_t *s)
{
	uint32_t v = *s;

	for (size_t i = 0; i < n; i++) {
		v ^= v << 13;
		v ^= v >> 17;
		v ^= v << 5;
		x[i] = (float)(v >> 8) * (1.0f / 16777216.0f) - 0.5f;
	}
	*s = v;
}

static void
text(const char *path, const char *s, size_t n)
{
	FILE *fp = fopen(path, "w");

	if (!fp || fwrite(s, 1, n, fp) != n || fclose(fp))
		die("write %s:", path);
}

/* flush a file and drop it from the page cache, so the import reads it from disk */
static double
evict(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		die("open %s:", path);
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return (double)st.st_size;
}

static void
h5put(hid_t f, const char *key, hsize_t r, hsize_t c, const float *x)
{
	hsize_t d[2] = { r, c };
	hid_t sp = H5Screate_simple(2, d, NULL);
	hid_t ds = H5Dcreate2(f, key, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

	if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0)
		die("HDF5: cannot write dataset '%s'", key);
	H5Dclose(ds);
	H5Sclose(sp);
}

static hid_t
h5new(const char *path)
{
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

	if (f < 0)
		die("HDF5: cannot create %s", path);
	return f;
}

/* the tree ROOT/tvr for V videos (the first ntrain in train); returns input bytes */
static double
generate(const char *root, long V, long ntrain)
{
	char p[8192], key[64];
	size_t cap = 1 << 20, n;
	char *s = emalloc(cap);
	float *x = efloats((size_t)64 * DS);
	long rows = 0;
	uint32_t seed = 12345;
	FILE *fp;
	hid_t ft, fr, fc;
	double bytes = 0;
	char *tpath, *rpath, *cpath;

	snprintf(p, sizeof(p), "%s/tvr", root);
	mkdir(p, 0777);
	snprintf(p, sizeof(p), "%s/tvr/TextData", root);
	mkdir(p, 0777);
	snprintf(p, sizeof(p), "%s/tvr/FeatureData", root);
	mkdir(p, 0777);
	snprintf(p, sizeof(p), "%s/tvr/FeatureData/i3d_resnet", root);
	if (mkdir(p, 0777))
		die("mkdir %s:", p);

	/* feature.bin, rows of a video contiguous, videos in order */
	snprintf(p, sizeof(p), "%s/tvr/FeatureData/i3d_resnet/feature.bin", root);
	if (!(fp = fopen(p, "wb")))
		die("open %s:", p);
	for (long v = 0; v < V; v++) {
		int m = nclips(v);
		fill(x, (size_t)m * DS, &seed);
		if (fwrite(x, sizeof(float), (size_t)m * DS, fp) != (size_t)m * DS)
			die("write %s:", p);
		rows += m;
		progress(0, "generating feature.bin: video %ld/%ld", v + 1, V);
	}
	if (fclose(fp))
		die("write %s:", p);
	bytes += evict(p);
	snprintf(p, sizeof(p), "%s/tvr/FeatureData/i3d_resnet/shape.txt", root);
	n = (size_t)snprintf(s, cap, "%ld %d\n", rows, DS);
	text(p, s, n);

	/* id.txt and video2frames.txt (one line, like the released one) */
	{
		size_t ni = 0, nv = 0, ci = (size_t)rows * 40 + 64, cv = ci + (size_t)V * 64;
		char *ids = emalloc(ci), *v2f = emalloc(cv);
		nv += (size_t)sprintf(v2f, "{");
		for (long v = 0; v < V; v++) {
			nv += (size_t)sprintf(v2f + nv, "%s'tvrbench_s01e%05ld_seg02': [", v ? ", " : "", v);
			for (int k = 0; k < nclips(v); k++) {
				ni += (size_t)sprintf(ids + ni, "tvrbench_s01e%05ld_seg02_%d ", v, k);
				nv += (size_t)sprintf(v2f + nv, "%s'tvrbench_s01e%05ld_seg02_%d'", k ? ", " : "", v, k);
			}
			nv += (size_t)sprintf(v2f + nv, "]");
		}
		nv += (size_t)sprintf(v2f + nv, "}\n");
		snprintf(p, sizeof(p), "%s/tvr/FeatureData/i3d_resnet/id.txt", root);
		text(p, ids, ni);
		bytes += evict(p);
		snprintf(p, sizeof(p), "%s/tvr/FeatureData/i3d_resnet/video2frames.txt", root);
		text(p, v2f, nv);
		bytes += evict(p);
		free(ids);
		free(v2f);
	}

	/* captions */
	for (int sp = 0; sp < 2; sp++) {
		FILE *c;
		snprintf(p, sizeof(p), "%s/tvr/TextData/tvr%s.caption.txt", root, sp ? "val" : "train");
		if (!(c = fopen(p, "w")))
			die("open %s:", p);
		for (long v = sp ? ntrain : 0; v < (sp ? V : ntrain); v++)
			for (int k = 0; k < QPV; k++)
				fprintf(c, "tvrbench_s01e%05ld_seg02#enc#%d a synthetic query number %d about "
				        "something that happens in this clip\n", v, k, k);
		if (fclose(c))
			die("write %s:", p);
		bytes += evict(p);
	}

	/* HDF5: teacher frames, RoBERTa tokens, CLIP text */
	tpath = estrfmt("%s/%s", root, "tvr/FeatureData/new_clip_vit_32_tvr_vid_features.hdf5");
	rpath = estrfmt("%s/%s", root, "tvr/TextData/roberta_tvr_query_feat.hdf5");
	cpath = estrfmt("%s/%s", root, "tvr/TextData/clip_ViT_B_32_tvr_query_feat.hdf5");
	ft = h5new(tpath);
	fr = h5new(rpath);
	fc = h5new(cpath);
	for (long v = 0; v < V; v++) {
		snprintf(key, sizeof(key), "tvrbench_s01e%05ld_seg02", v);
		fill(x, (size_t)nteach(v) * DT, &seed);
		h5put(ft, key, (hsize_t)nteach(v), DT, x);
		for (int k = 0; k < QPV; k++) {
			long q = v * QPV + k;
			snprintf(key, sizeof(key), "tvrbench_s01e%05ld_seg02#enc#%d", v, k);
			fill(x, (size_t)ntok(q) * DQ, &seed);
			h5put(fr, key, (hsize_t)ntok(q), DQ, x);
			fill(x, DT, &seed);
			h5put(fc, key, 1, DT, x);
		}
		progress(0, "generating HDF5 files: video %ld/%ld", v + 1, V);
	}
	H5Fclose(ft);
	H5Fclose(fr);
	H5Fclose(fc);
	bytes += evict(tpath) + evict(rpath) + evict(cpath);
	free(tpath);
	free(rpath);
	free(cpath);
	free(s);
	free(x);
	return bytes;
}
#endif

int
main(int argc, char *argv[])
{
#ifndef HAVE_HDF5
	argv0 = argv[0];
	die("built without HDF5: the Makefile needs $(OBJ)/tests/bench_import.o: CPPFLAGS += "
	    "$(HDF5_CFLAGS) and $(BINDIR)/bench_import: LDLIBS := $(HDF5_LIBS) $(LDLIBS)");
#else
	double scale = 1.0, est, gbytes, t0, tgen, timp, outbytes = 0;
	const char *tmp = getenv("TMPDIR"), *bindir = getenv("BIN");
	char dir[4096], root[4200], out[4300], cmd[8800], exe[4200];
	int c, keep = 0, st;
	long V, ntrain, nval;
	struct statvfs vf;
	struct rusage ru;
	pid_t pid;

	argv0 = argv[0];
	set_cmdline(argc, argv);
	if (want_help(argc, argv)) {
		printf("usage: %s [-s SCALE] [-d DIR] [-k]\n"
		       "time prvr-import on a synthetic released-layout tree at TVR scale (x SCALE,\n"
		       "default 1), made in DIR (default $TMPDIR or /tmp) and deleted after (-k keeps it);\n"
		       "prints MB/s and peak RSS. BIN (default bin) is where prvr-import is.\n", argv0);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", tmp && *tmp ? tmp : "/tmp");
	while ((c = getopt(argc, argv, "s:d:k")) != -1) {
		switch (c) {
		case 's': scale = estrtod(optarg, 1e-4, 1.0); break;
		case 'd': snprintf(dir, sizeof(dir), "%s", optarg); break;
		case 'k': keep = 1; break;
		default: die("usage: %s [-s SCALE] [-d DIR] [-k]", argv0);
		}
	}
	if (optind != argc)
		die("usage: %s [-s SCALE] [-d DIR] [-k]", argv0);
	snprintf(exe, sizeof(exe), "%s/prvr-import", bindir && *bindir ? bindir : "bin");
	if (access(exe, X_OK))
		die("%s:", exe);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

	/* about 760 KB of input per video (35 clips x (3072 + 512) floats, 5 x 16 tokens x 768),
	 * the same again for the output, plus 10% */
	if (statvfs(dir, &vf))
		die("statvfs %s:", dir);
	est = (double)(TRAIN + VAL) * scale * 2 * (35.0 * (DS + DT) * 4 + QPV * (16.0 * DQ + DT) * 4) * 1.1;
	if ((double)vf.f_bavail * vf.f_frsize < est) {
		double s2 = scale * (double)vf.f_bavail * vf.f_frsize / est * 0.9;
		if (s2 < 1e-4)
			die("%s: %.1f GB free, not enough even for a small tree", dir,
			    (double)vf.f_bavail * vf.f_frsize / 1e9);
		fprintf(stderr, "%s: note: %s has %.1f GB free, the tree and output need %.1f GB: scale "
		        "lowered from %g to %.3f\n", argv0, dir, (double)vf.f_bavail * vf.f_frsize / 1e9,
		        est / 1e9, scale, s2);
		scale = s2;
	}
	ntrain = MAX(1, (long)(TRAIN * scale + 0.5));
	nval = MAX(1, (long)(VAL * scale + 0.5));
	V = ntrain + nval;

	snprintf(root, sizeof(root), "%s/bench_import.XXXXXX", dir);
	if (!mkdtemp(root))
		die("mkdtemp %s:", root);
	snprintf(out, sizeof(out), "%s/out", root);
	t0 = now_seconds();
	gbytes = generate(root, V, ntrain);
	tgen = now_seconds() - t0;
	fprintf(stderr, "%s: generated %ld + %ld videos, %.2f GB in %.1f s (%s)\n", argv0, ntrain, nval,
	        gbytes / 1e9, tgen, root);

	sync();   /* nothing of the generation left to write back while the import runs */
	t0 = now_seconds();
	pid = fork();
	if (pid < 0)
		die("fork:");
	if (pid == 0) {
		char rarg[4300];
		snprintf(rarg, sizeof(rarg), "%s/tvr", root);
		execl(exe, exe, "-q", "-r", rarg, "-o", out, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		die("wait4:");
	timp = now_seconds() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (status %d); tree kept in %s", exe, st, root);

	/* output size and a sanity check of the counts */
	{
		const char *names[] = { "train-video-student.mp", "train-video-teacher.mp",
			"train-query-student.mp", "train-query-teacher.mp", "val-video-student.mp",
			"val-video-teacher.mp", "val-query-student.mp", "val-query-teacher.mp", "corpus.mp" };
		for (int i = 0; i < 9; i++) {
			struct stat sb;
			snprintf(cmd, sizeof(cmd), "%s/%s", out, names[i]);
			if (stat(cmd, &sb))
				die("%s:", cmd);
			outbytes += (double)sb.st_size;
		}
		snprintf(cmd, sizeof(cmd), "%s/corpus.mp", out);
		MpReader *r = mpr_open(cmd);
		const msgpack_object *h = mpr_header(r, "corpus"), *s = mp_find(h, "splits");
		if (!s || mpr_int(r, mp_find(s, "train"), "videos") != ntrain ||
		    mpr_int(r, mp_find(s, "val"), "queries") != nval * QPV)
			die("%s: split sizes differ from the generated tree", cmd);
		mpr_close(r);
	}

	printf("prvr-import on a TVR-layout tree: %ld + %ld videos (scale %g), %ld + %ld queries\n",
	       ntrain, nval, scale, ntrain * QPV, nval * QPV);
	printf("input %.2f GB (read from disk: evicted from the page cache), output %.2f GB\n",
	       gbytes / 1e9, outbytes / 1e9);
	printf("import %.1f s: %.0f MB/s read, %.0f MB/s written; peak RSS %.0f MiB; CPU %.1f s user "
	       "%.1f s system\n", timp, gbytes / 1e6 / timp, outbytes / 1e6 / timp,
	       ru.ru_maxrss / 1024.0, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	printf("import_videos %ld\nimport_input_bytes %.0f\nimport_output_bytes %.0f\n"
	       "import_seconds %.2f\nimport_mb_per_s %.1f\nimport_peak_rss_mib %.1f\n"
	       "import_generate_seconds %.1f\n", V, gbytes, outbytes, timp, gbytes / 1e6 / timp,
	       ru.ru_maxrss / 1024.0, tgen);
	if (keep)
		fprintf(stderr, "%s: kept %s\n", argv0, root);
	else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd))
			die("%s failed", cmd);
	}
	return 0;
#endif
}
