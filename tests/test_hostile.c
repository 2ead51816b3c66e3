/* test_hostile: crafted inputs whose size claims would allocate far more than the input holds
 * are refused by every reader, quickly, naming the file and record, with 64 MiB of address space
 * beyond what the tool starts with (ulimit -v; the OpenMP OpenBLAS alone reserves ~128 MiB at
 * load; skipped under ASan, which reserves terabytes of shadow: PRVR_SANITIZED=1).
 * The crafted streams are written here with the stream library (so their checksums are right
 * and only the claim is wrong); the tools in $BIN read them. Times are printed, not asserted.
 * A tool that gets as far as computing (encode-video on a checkpoint whose frame limit is far
 * above its input) is measured by its peak resident memory instead, against the same run with
 * a small limit: OpenBLAS's first product maps 128 MiB, beyond any ulimit -v headroom here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <zlib.h>

#include "ckpt.h"
#include "model.h"
#include "mpio.h"
#include "rng.h"
#include "util.h"
#include "vindex.h"

static int failures;
static char bin[1024], dir[64], limit[64], lastline[1024];

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* The address space a tool has when main() starts (libraries mapped, OpenMP OpenBLAS's
 * start-up buffer of about 128 MiB reserved), in KiB: the tool is started on a FIFO as its
 * input ("%s" in args), which it opens from main(); when our end of the FIFO opens, VmPeak of
 * /proc/PID/status is read, and the FIFO is closed (the tool then fails on the empty stream). */
static long
start_kib(const char *tool, const char *args)
{
	char fifo[128], cmd[4096], a[1200], st[64], line[256];
	long kib = -1;
	int fd = -1, status;
	pid_t pid;
	FILE *f;

	snprintf(fifo, sizeof(fifo), "%s/start.fifo", dir);
	unlink(fifo);
	CHECK(mkfifo(fifo, 0600) == 0);
	snprintf(a, sizeof(a), args, fifo);
	snprintf(cmd, sizeof(cmd), "exec env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s/%s %s "
	         "</dev/null >/dev/null 2>/dev/null", bin, tool, a);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000 && fd < 0; i++) {      /* up to 10 s for the tool to open it */
		if ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) < 0)
			usleep(10000);
		if (fd < 0 && waitpid(pid, &status, WNOHANG) == pid)
			die("%s %s exited before opening its input", tool, a);
	}
	CHECK(fd >= 0);
	snprintf(st, sizeof(st), "/proc/%ld/status", (long)pid);
	CHECK((f = fopen(st, "r")));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPeak: %ld kB", &kib) == 1)
			break;
	fclose(f);
	close(fd);
	CHECK(waitpid(pid, &status, 0) == pid);
	unlink(fifo);
	CHECK(kib > 0);
	return kib;
}

/* ulimit -v: 64 MiB beyond the address space the tool starts with (see start_kib) */
static void
limit_for(const char *tool, const char *args)
{
	long kib;

	if (!*limit)
		return;
	kib = start_kib(tool, args) + 65536;
	snprintf(limit, sizeof(limit), "ulimit -v %ld;", kib);
	printf("# %s starts with %ld KiB of address space: run under ulimit -v %ld\n", tool,
	       kib - 65536, kib);
}

/* run "cmd" under the memory limit; expect exit 1 and want in the last stderr line */
static void
refused(const char *what, const char *cmd, const char *want)
{
	char sh[4096], err[256], line[1024] = "", buf[1024];
	double t0 = now_seconds(), secs;
	FILE *f;
	int st, rc;

	snprintf(err, sizeof(err), "%s/err", dir);
	if (snprintf(sh, sizeof(sh), "%s OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s 2>%s",
	             limit, cmd, err) >= (int)sizeof(sh))
		die("command too long");
	st = system(sh);
	secs = now_seconds() - t0;
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if ((f = fopen(err, "r"))) {
		while (fgets(buf, sizeof(buf), f))
			memcpy(line, buf, sizeof(buf));
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	memcpy(lastline, line, sizeof(line));
	if (rc != 1 || !strstr(line, want)) {
		printf("NOT OK %s: exit %d, last stderr line \"%s\" (want exit 1 and \"%s\")\n", what,
		       rc, line, want);
		failures++;
	} else
		printf("OK %s: refused in %.3f s: %s\n", what, secs, line);
}

/* run "cmd" (no memory limit: OpenBLAS's first product maps a buffer of 128 MiB, which ulimit -v
 * would refuse) in a child, which reports the peak resident memory of its descendants in KiB;
 * -1 unless it exits 0 */
static long
run_peak_kib(const char *cmd)
{
	char sh[4096];
	int fd[2], st;
	long kib = -1;
	pid_t pid;

	snprintf(sh, sizeof(sh), "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s 2>%s/err", cmd, dir);
	CHECK(pipe(fd) == 0);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		struct rusage ru;
		st = system(sh);
		getrusage(RUSAGE_CHILDREN, &ru);
		kib = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ru.ru_maxrss : -1;
		_exit(write(fd[1], &kib, sizeof(kib)) == sizeof(kib) ? 0 : 1);
	}
	close(fd[1]);
	if (read(fd[0], &kib, sizeof(kib)) != sizeof(kib))
		kib = -1;
	close(fd[0]);
	CHECK(waitpid(pid, &st, 0) == pid);
	return kib;
}

static void
path(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", dir, name);
}

/* a checkpoint header of configuration mc claiming count tensors and np parameters, and no
 * tensor records at all: a few hundred bytes */
static void
crafted_ckpt(const char *name, int D, int dv, long count, long np)
{
	TrainConfig c;
	char p[256];
	MpWriter *w;
	int32_t rng[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	ckpt_config_defaults(&c);
	c.mc.D = D;
	c.mc.dv = dv;
	c.mc.dt = dv;
	path(p, sizeof(p), name);
	w = mpw_open(p, 0);
	mpw_header(w, "checkpoint", count, 8);
	mpw_key(w, "config");
	ckpt_pack_config(w, &c);
	mpw_kv_int(w, "epoch", 0);
	mpw_kv_int(w, "step", 0);
	mpw_kv_f64(w, "best_sumr", -1);
	mpw_kv_int(w, "best_epoch", -1);
	mpw_kv_int(w, "bad_epochs", 0);
	mpw_key(w, "rng");
	mpw_i32bin(w, rng, 8);
	mpw_kv_int(w, "nparams", np);
	mpw_record_done(w);
	w->count = -1;             /* the records the header promises are not there */
	mpw_close(w);
}

/* the header of a reduced feature stream (kind video-features or query-features) of the train
 * split */
static void
feature_header(MpWriter *w, const char *kind, long count, const char *role, long dim)
{
	mpw_header(w, kind, count, 5);
	mpw_kv_str(w, "role", role);
	mpw_kv_int(w, "dim", dim);
	mpw_kv_str(w, "split", "train");
	mpw_kv_bool(w, "reduced", 1);
	mpw_kv_bool(w, "normalized", 0);
	mpw_record_done(w);
}

/* a video-features stream of nv videos claiming n frames of dim with nx floats in x */
static void
crafted_video_x(const char *name, const char *role, long dim, long n, size_t nx, int nv)
{
	float *x = efloats(nx);
	char p[256];
	MpWriter *w;

	path(p, sizeof(p), name);
	w = mpw_open(p, 0);
	feature_header(w, "video-features", nv, role, dim);
	for (int v = 0; v < nv; v++) {
		char id[16];
		snprintf(id, sizeof(id), "v%d", v);
		mpw_map(w, 3);
		mpw_kv_str(w, "id", id);
		mpw_kv_int(w, "n", n);
		mpw_kv_f32(w, "x", x, nx);
		mpw_record_done(w);
	}
	mpw_close(w);
	free(x);
}

static void
crafted_video(const char *name, const char *role, long dim, long n)
{
	crafted_video_x(name, role, dim, n, 4, 1);
}

/* a teacher query-features stream of one query of video v0 */
static void
crafted_query(const char *name, long dim)
{
	float *x = efloats((size_t)dim);
	char p[256];
	MpWriter *w;

	path(p, sizeof(p), name);
	w = mpw_open(p, 0);
	feature_header(w, "query-features", 1, "teacher", dim);
	mpw_map(w, 4);
	mpw_kv_str(w, "id", "q0");
	mpw_kv_str(w, "video", "v0");
	mpw_kv_int(w, "n", 1);
	mpw_kv_f32(w, "x", x, (size_t)dim);
	mpw_record_done(w);
	mpw_close(w);
	free(x);
}

/* a corpus stream whose one query's moment starts at INT64_MAX (start + 1 overflowed) */
static void
crafted_corpus(const char *name)
{
	static const char *dims[] = { "video_student", "video_teacher", "query_student",
	                              "query_teacher" };
	char p[256];
	MpWriter *w;

	path(p, sizeof(p), name);
	w = mpw_open(p, 0);
	mpw_header(w, "corpus", 1, 6);
	mpw_kv_str(w, "name", "crafted");
	mpw_kv_str(w, "source", "synthetic");
	mpw_kv_int(w, "seed", 1);
	mpw_key(w, "dims");
	mpw_map(w, 4);
	for (int i = 0; i < 4; i++)
		mpw_kv_int(w, dims[i], 1);
	mpw_key(w, "splits");
	mpw_map(w, 0);
	mpw_key(w, "knobs");
	mpw_map(w, 0);
	mpw_record_done(w);
	mpw_map(w, 5);
	mpw_kv_str(w, "split", "train");
	mpw_kv_str(w, "id", "v#enc#0");
	mpw_kv_str(w, "video", "v");
	mpw_kv_int(w, "start", INT64_MAX);
	mpw_kv_int(w, "end", INT64_MAX);
	mpw_record_done(w);
	mpw_close(w);
}

/* raw msgpack bytes into a file, gzip or not */
static void
raw(const char *name, int gz, const void *head, size_t nhead, size_t zeros)
{
	static char z[1 << 16];
	char p[256];
	gzFile f;

	path(p, sizeof(p), name);
	CHECK((f = gzopen(p, gz ? "wb9" : "wbT")));
	CHECK(gzwrite(f, head, (unsigned)nhead) == (int)nhead);
	for (size_t k; zeros > 0; zeros -= k) {
		k = MIN(zeros, sizeof(z));
		CHECK(gzwrite(f, z, (unsigned)k) == (int)k);
	}
	CHECK(gzclose(f) == Z_OK);
}

/* ---- FAISS structures of a frame index (prvr-index, prvr-search) ---- */

static uint32_t
crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* the index file src whole; h its header, *ann the FAISS section of branch 0 */
static unsigned char *
index_load(const char *src, size_t *n, VxHeader *h, unsigned char **ann)
{
	FILE *f = fopen(src, "rb");
	unsigned char *b;

	CHECK(f && fseek(f, 0, SEEK_END) == 0 && (*n = (size_t)ftell(f)) >= sizeof(*h));
	rewind(f);
	b = emalloc(*n);
	CHECK(fread(b, 1, *n, f) == *n);
	fclose(f);
	memcpy(h, b, sizeof(*h));
	*ann = b + h->sec_off[VX_ANN0];
	return b;
}

/* src with len bytes at offset off replaced by v, written to name with the CRCs of branch 0's
 * FAISS section and of the header made right: only the claim is wrong */
static void
index_patch(const char *src, const char *name, uint64_t off, const void *v, size_t len)
{
	char p[256];
	size_t n;
	VxHeader h;
	unsigned char *ann, *b = index_load(src, &n, &h, &ann);
	FILE *f;

	CHECK(off + len <= n);
	memcpy(b + off, v, len);
	memcpy(&h, b, sizeof(h));
	h.sec_crc[VX_ANN0] = crc(ann, h.sec_len[VX_ANN0]);
	h.hdr_crc = crc(&h, offsetof(VxHeader, hdr_crc));
	memcpy(b, &h, sizeof(h));
	path(p, sizeof(p), name);
	CHECK((f = fopen(p, "wb")) && fwrite(b, 1, n, f) == n && fclose(f) == 0);
	free(b);
}

/* where the vector (FAISS's READVECTOR: an 8-byte count, then the elements of esize bytes)
 * starting at byte at of s ends */
static uint64_t
skip_vector(const unsigned char *s, uint64_t at, size_t esize)
{
	uint64_t c;

	memcpy(&c, s + at, sizeof(c));
	return at + sizeof(c) + c * esize;
}

/* FAISS serialisation (faiss/impl/index_read.cpp): a 4-byte kind, then an index's fields (33
 * bytes: d, ntotal, two unused, is_trained, metric). An IVF's: nlist and nprobe, its flat
 * quantiser (kind, fields, nlist x d floats counted in 4-byte words), a direct map (type byte,
 * vector); this is where its next part starts */
static uint64_t
ivf_end(const VxHeader *h)
{
	return 4 + 33 + 16 + 4 + 33 + 8 + (uint64_t)h->nlist * h->dim * 4 + 1 + 8;
}

/* the crafted FAISS structures prvr-index's indexes could hide once their CRCs are right: each
 * refused by name before libfaiss reads it (which allocated from the claims, divided by zero,
 * or followed links out of range) */
static void
faiss_cases(void)
{
	char v[256], q[256], idx[3][256], cmd[4096], p[1100], args[600];
	static const char *const kind[3][2] = {
		{ "hnsw.idx", "-c f32 -a hnsw -M 4" },
		{ "ivf.idx", "-c f32 -a ivf-flat -n 2" },
		{ "pq.idx", "-c f32 -a ivf-pq -n 2 -s 2 -S 4" },
	};
	static const struct { const char *name, *what, *want; } c[] = {
		{ "probas.idx", "HNSW, a vector claiming 2^40 - 1 elements",
		  "probas.idx: FAISS structure of inh: HNSW level probabilities: 1099511627775 elements "
		  "of 8 bytes claimed" },
		{ "link.idx", "HNSW, a link to node 2^30",
		  "link.idx: FAISS structure of inh: HNSW node 0: link to 1073741824 at level 0" },
		{ "ef.idx", "a header's search width of 2^30 (FAISS sizes its heap by it)",
		  "ef.idx: header values out of range" },
		{ "nlist.idx", "IVF, a header claiming 2^24 lists and probes (prvr-search sized its "
		  "probe tables by them)",
		  "nlist.idx: FAISS structure of inh: 2 inverted lists, header says ivf-flat 16777216" },
		{ "list.idx", "IVF, a list claiming 2^26 frames (2.5 GiB)",
		  "list.idx: FAISS structure of inh: list 0: 67108864 codes of 32 bytes claimed" },
		{ "ondisk.idx", "IVF, on-disk lists (a file named in the data)",
		  "ondisk.idx: FAISS structure of inh: inverted lists: kind \"ilod\", expected \"ilar\"" },
		{ "pqm.idx", "IVF-PQ, 0 sub-vectors (libfaiss divides by it)",
		  "pqm.idx: FAISS structure of inh: product quantiser: 0 sub-vectors do not divide dim 8" },
	};
	uint64_t big = (1ULL << 40) - 1, zero = 0, list = 1ULL << 26, at;
	int32_t far = 1 << 30, probes = 1 << 24;
	size_t n;
	VxHeader h;
	unsigned char *ann, *b;

	snprintf(p, sizeof(p), "%s/prvr-index", bin);
	if (access(p, X_OK) != 0) {
		printf("# no %s (built without FAISS): FAISS cases skipped\n", p);
		return;
	}
	path(v, sizeof(v), "gallery.mp");
	path(q, sizeof(q), "galleryq.mp");
	snprintf(cmd, sizeof(cmd), "%s/prvr-gallery -Q -n 20 -q 2 -d 8 -c 4 -s 3 -o %s -O %s", bin, v,
	         q);
	CHECK(system(cmd) == 0);
	for (int k = 0; k < 3; k++) {
		path(idx[k], sizeof(idx[k]), kind[k][0]);
		snprintf(cmd, sizeof(cmd), "%s/prvr-index -Q -j 1 -v %s -o %s %s 2>/dev/null", bin, v,
		         idx[k], kind[k][1]);
		CHECK(system(cmd) == 0);
	}
	/* HNSW: the level probabilities' count after the kind and fields; the first link after the
	 * probabilities, links per level, levels, offsets and the links' count */
	b = index_load(idx[0], &n, &h, &ann);
	at = skip_vector(ann, skip_vector(ann, skip_vector(ann, skip_vector(ann, 37, 8), 4), 4), 8);
	index_patch(idx[0], c[0].name, h.sec_off[VX_ANN0] + 37, &big, sizeof(big));
	index_patch(idx[0], c[1].name, h.sec_off[VX_ANN0] + at + 8, &far, sizeof(far));
	index_patch(idx[0], c[2].name, offsetof(VxHeader, ef_search), &far, sizeof(far));
	free(b);
	/* IVF-Flat: the lists (kind "ilar", nlist, code size, "full", the sizes' count, sizes) */
	b = index_load(idx[1], &n, &h, &ann);
	at = ivf_end(&h);
	CHECK(memcmp(ann + at, "ilar", 4) == 0 && memcmp(ann + at + 20, "full", 4) == 0);
	index_patch(idx[1], c[3].name, offsetof(VxHeader, nlist), &probes, sizeof(probes));
	path(p, sizeof(p), c[3].name);
	index_patch(p, c[3].name, offsetof(VxHeader, nprobe), &probes, sizeof(probes));
	index_patch(idx[1], c[4].name, h.sec_off[VX_ANN0] + at + 32, &list, sizeof(list));
	index_patch(idx[1], c[5].name, h.sec_off[VX_ANN0] + at, "ilod", 4);
	free(b);
	/* IVF-PQ: by_residual and the code size, then the quantiser's d and M */
	b = index_load(idx[2], &n, &h, &ann);
	index_patch(idx[2], c[6].name, h.sec_off[VX_ANN0] + ivf_end(&h) + 1 + 8 + 8, &zero,
	            sizeof(zero));
	free(b);

	snprintf(args, sizeof(args), "-Q -j 1 -x %%s -q %s -o %s/out", q, dir);
	limit_for("prvr-search", args);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		path(p, sizeof(p), c[i].name);
		snprintf(cmd, sizeof(cmd), "%s/prvr-search -Q -j 1 -x %s -q %s -o %s/out", bin, p, q,
		         dir);
		refused(c[i].what, cmd, c[i].want);
	}
	/* the indexes they were made from are searched */
	for (int k = 0; k < 3; k++) {
		snprintf(cmd, sizeof(cmd), "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s/prvr-search -Q "
		         "-j 1 -x %s -q %s -o %s/out", bin, idx[k], q, dir);
		EXPECT(system(cmd) == 0);
	}
}

int
main(void)
{
	const char *b = getenv("BIN"), *san = getenv("PRVR_SANITIZED");
	char cmd[2048], p[256], q[256];
	ModelConfig mc;
	int nt;
	size_t np;
	TrainConfig c;

	argv0 = "test_hostile";
	snprintf(bin, sizeof(bin), "%s", b && *b ? b : "bin");
	snprintf(dir, sizeof(dir), "/tmp/test_hostile.XXXXXX");
	CHECK(mkdtemp(dir));
	if (!(san && strcmp(san, "1") == 0))
		snprintf(limit, sizeof(limit), "ulimit -v;");   /* set per tool by limit_for */
	else
		printf("# PRVR_SANITIZED=1: no ulimit -v (ASan reserves a large address space)\n");

	/* checkpoint headers claiming a model of hidden 2^14 (the largest distill-step trains) over
	 * 1024-d features, with consistent tensor and parameter counts and no tensors, or with one
	 * tensor (ckpt_read built the whole model before comparing); hidden 2^15 and 2^12 */
	ckpt_config_defaults(&c);
	mc = c.mc;
	mc.dv = mc.dt = 1024;
	mc.D = 1 << 14;
	np = model_size(&mc, &nt);
	crafted_ckpt("big.mp", 1 << 14, 1024, nt, (long)np);
	crafted_ckpt("bigcount.mp", 1 << 14, 1024, 1, 1);
	crafted_ckpt("huge.mp", 1 << 15, 1024, 1, 1);
	/* distill-step and teacher-sim link the same libraries as encode-video: its start serves */
	limit_for("encode-video", "-c %s");
	path(p, sizeof(p), "big.mp");
	snprintf(cmd, sizeof(cmd), "%s/encode-video -c %s -o %s/out < /dev/null", bin, p, dir);
	refused("checkpoint claiming 2^14 x 1024, consistent counts", cmd, "big.mp: header: a model of");
	snprintf(cmd, sizeof(cmd), "%s/distill-step --resume %s --eval-loss -v %s -q %s", bin, p, p, p);
	refused("distill-step --resume of it", cmd, "big.mp: header: a model of");
	path(p, sizeof(p), "bigcount.mp");
	snprintf(cmd, sizeof(cmd), "%s/encode-video -c %s -o %s/out < /dev/null", bin, p, dir);
	refused("checkpoint claiming 2^14 x 1024, 1 tensor", cmd, "bigcount.mp: header: 1 tensors");
	path(p, sizeof(p), "huge.mp");
	snprintf(cmd, sizeof(cmd), "%s/encode-video -c %s -o %s/out < /dev/null", bin, p, dir);
	refused("checkpoint claiming 2^15 x 1024", cmd, "huge.mp: header: config: 'hidden' = 32768");
	mc.D = 1 << 12;                /* under the sane limit: the file's size refuses it */
	np = model_size(&mc, &nt);
	crafted_ckpt("mid.mp", 1 << 12, 1024, nt, (long)np);
	path(p, sizeof(p), "mid.mp");
	snprintf(cmd, sizeof(cmd), "%s/encode-video -c %s -o %s/out < /dev/null", bin, p, dir);
	refused("checkpoint claiming 2^12 x 1024, consistent counts", cmd, "bytes left in the file");

	/* real checkpoints of a model of 4096-d frames, hidden 4, at most 1024 frames (about
	 * 700 KiB) and at most 16: encode-video padded every chunk of 64 videos to the model's
	 * maximum before reading any (1 GiB for the first); on one video of one frame, the first
	 * must take less than 64 MiB more than the second */
	{
		static const int maxf[2] = { 1024, 16 };
		TrainState st = { .best_sumr = -1, .best_epoch = -1 };
		long peak[2];
		double secs;
		crafted_video_x("oneframe.mp", "student", 4096, 1, 4096, 1);
		path(q, sizeof(q), "oneframe.mp");
		for (int i = 0; i < 2; i++) {
			Model *m;
			char name[32];
			ckpt_config_defaults(&c);
			c.mc.dv = 4096;
			c.mc.dt = c.mc.E = 4;
			c.mc.D = 4;
			c.mc.NH = 1;
			c.mc.max_frames = maxf[i];
			rng_seed(&st.rng, 1);
			m = model_new(&c.mc);
			model_init(m, &st.rng);
			snprintf(name, sizeof(name), "max%d.mp", maxf[i]);
			path(p, sizeof(p), name);
			ckpt_write(p, &c, &st, m);
			model_free(m);
			snprintf(cmd, sizeof(cmd), "%s/encode-video -j 1 -c %s -o %s/out < %s", bin, p,
			         dir, q);
			secs = now_seconds();
			peak[i] = run_peak_kib(cmd);
			secs = now_seconds() - secs;
			printf("# encode-video, 1 frame, checkpoint of up to %d frames: peak %ld KiB in "
			       "%.3f s\n", maxf[i], peak[i], secs);
		}
		EXPECT(peak[0] > 0 && peak[1] > 0);
		printf("%s encode-video, 1 frame: a checkpoint of 1024 x 4096-d frames takes %ld KiB "
		       "more than one of 16 (under 65536)\n", peak[0] - peak[1] < 65536 ? "OK" : "NOT OK",
		       peak[0] - peak[1]);
		failures += peak[0] - peak[1] >= 65536;
	}

	/* videos claiming 2^31 frames, and 2^24 frames of 64 floats (1 GiB), with 4 floats */
	crafted_video("v31.mp", "student", 64, 1L << 31);
	crafted_video("v24.mp", "student", 64, 1L << 24);
	crafted_video("t24.mp", "teacher", 64, 1L << 20);
	limit_for("feat-reduce", "-q -i %s");
	path(p, sizeof(p), "v31.mp");
	snprintf(cmd, sizeof(cmd), "%s/feat-reduce -q -i %s -o %s/out", bin, p, dir);
	refused("feat-reduce, 2^31 frames", cmd, "v31.mp: record 1: 'n'");
	path(p, sizeof(p), "v24.mp");
	snprintf(cmd, sizeof(cmd), "%s/feat-reduce -q -i %s -o %s/out", bin, p, dir);
	refused("feat-reduce, 2^24 x 64 frames", cmd, "v24.mp: record 1: 'x': expected bin of 1073741824");
	limit_for("encode-video", "-c %s");
	crafted_video("wide.mp", "student", 1L << 20, 1L << 14);
	path(p, sizeof(p), "wide.mp");
	snprintf(cmd, sizeof(cmd), "%s/distill-step -v %s -q %s -o %s/out --schedule none "
	         "--max-frames 16384",
	         bin, p, p, dir);
	refused("distill-step, 2^14 x 2^20 frames", cmd, "wide.mp: record 1: 'x': expected bin of 17179869184");
	crafted_query("q.mp", 64);
	path(p, sizeof(p), "t24.mp");
	path(q, sizeof(q), "q.mp");
	snprintf(cmd, sizeof(cmd), "%s/teacher-sim -Q -v %s -q %s -o %s/out", bin, p, q, dir);
	refused("teacher-sim, 2^20 x 64 frames", cmd, "t24.mp: record 1: 'x': expected bin of 67108864");

	/* 96 MiB of real teacher videos with 64 MiB of address space to spare: teacher-sim holds
	 * them all and runs out of memory, naming the file and the record it had reached */
	if (*limit) {
		crafted_video_x("real.mp", "teacher", 64, 8192, (size_t)64 * 8192, 48);
		path(p, sizeof(p), "real.mp");
		snprintf(cmd, sizeof(cmd), "%s/teacher-sim -Q -v %s -q %s -o %s/out", bin, p, q, dir);
		refused("teacher-sim, 96 MiB of videos", cmd, "real.mp: record ");
		EXPECT(strstr(lastline, "out of memory"));
	}

	/* an array header claiming 2^28 elements in 5 bytes (msgpack-c allocated 6 GiB for it) */
	{
		static const unsigned char a[] = { 0xdd, 0x10, 0x00, 0x00, 0x00 };
		limit_for("prvr-cat", "%s");
		raw("array.mp", 0, a, sizeof(a), 0);
		path(p, sizeof(p), "array.mp");
		snprintf(cmd, sizeof(cmd), "%s/prvr-cat %s", bin, p);
		refused("array claiming 2^28 elements", cmd, "array.mp: record 0: truncated stream");
	}
	/* 256 MiB of gzip'ed zeros in one record: under 1 MiB of file */
	{
		static const unsigned char a[] = { 0x81, 0xa1, 'x', 0xc6, 0x10, 0x00, 0x00, 0x00 };
		raw("bomb.mp.gz", 1, a, sizeof(a), (size_t)1 << 28);
		path(p, sizeof(p), "bomb.mp.gz");
		snprintf(cmd, sizeof(cmd), "%s/prvr-cat %s", bin, p);
		refused("gzip bomb, 256 MiB record", cmd, "bomb.mp.gz: record 0: gzip expands more than");
	}

	faiss_cases();

	/* a moment starting at INT64_MAX: the bound "end >= start+1" must not wrap */
	crafted_corpus("corpus.mp");
	path(p, sizeof(p), "corpus.mp");
	snprintf(cmd, sizeof(cmd), "%s/prvr-cat -c %s", bin, p);
	refused("corpus item starting at INT64_MAX", cmd, "corpus.mp: record 1: value out of range");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	printf("%s test_hostile (%d failures)\n", failures ? "NOT OK" : "OK", failures);
	return failures != 0;
}
