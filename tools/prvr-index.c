/* prvr-index: an encoded-videos stream -> a frame index file (lib/vindex, doc/frame-index.md)
 * for prvr-search: the frames of every branch stored as codes (f32, f16, sq8 or pq) and a
 * candidate structure over them (inverted lists over the codes, or FAISS's IVF-Flat/SQ8/PQ or
 * HNSW-Flat/SQ8). The stream is read once,
 * one video at a time; the first -t frames train the codecs and FAISS.
 * Not here: the file format, codecs and FAISS calls (lib/vindex.c, lib/faissw.cpp); search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "faissw.h"
#include "mpio.h"
#include "util.h"
#include "vidset.h"
#include "vindex.h"

static void
help(void)
{
	printf("prvr-index - build a compressed frame index of encoded videos for prvr-search\n"
	       "\n"
	       "usage: %s -o INDEX [-v VIDEOS] [-c CODE] [-m M] [-a ANN] [-n NLIST] [-s M] [-S BITS]\n"
	       "       [-M M] [-p NPROBE] [-e EF] [-t FRAMES] [-r DIMS] [-j N] [-Q]\n"
	       "\n"
	       "Reads an encoded-videos stream (every branch) and writes INDEX: the video ids, frame\n"
	       "counts, each branch's frames as codes and a candidate structure over the L2-normalised\n"
	       "frames (inner product = cosine): lists of frame rows over the codes (ivf; FAISS's k-means\n"
	       "and assignment) or a FAISS index. The first FRAMES frames train the codes and lists.\n"
	       "INDEX appears complete or not at all.\n"
	       "\n"
	       "  -v FILE    encoded-videos stream (default stdin)\n"
	       "  -o FILE    index file to write\n"
	       "  -c CODE    stored frames: f32 (the encodings as they are; needed by prvr-search -E),\n"
	       "             f16, sq8 (8-bit per dim) or pq (product quantised) (default sq8)\n"
	       "  -m M       pq: bytes a frame, dividing the dim (default dim/4; with -r, DIMS/4)\n"
	       "  -a ANN     candidate structure: ivf (lists over the stored codes), or FAISS's ivf-flat,\n"
	       "             ivf-sq, ivf-pq, hnsw, hnsw-sq (default ivf)\n"
	       "  -n NLIST   ivf*: inverted lists (default 256)\n"
	       "  -s M       ivf-pq: sub-vectors, dividing the dim (default dim/8; with -r, DIMS/8)\n"
	       "  -S BITS    ivf-pq: bits a sub-vector, 4..8 (default 8)\n"
	       "  -M M       hnsw*: links a node (default 32)\n"
	       "  -p NPROBE  ivf*: lists scanned, prvr-search's default (default 8)\n"
	       "  -e EF      hnsw*: efSearch, prvr-search's default (default 128)\n"
	       "  -t FRAMES  frames sampled for training, from the start (default 100000)\n"
	       "  -r DIMS    project the normalised frames onto the DIMS principal directions of the\n"
	       "             training frames (each branch its own) and code those: fewer bytes a\n"
	       "             frame where the encodings' variance lies in few directions (not f32;\n"
	       "             default: no projection)\n"
	       "  -j N       threads (default 2)\n"
	       "  -Q         no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (nothing is left at INDEX).\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s -o INDEX [-v VIDEOS] [-c CODE] [-m M] [-a ANN] [-n NLIST] [-s M] [-S BITS] "
	    "[-M M] [-p NPROBE] [-e EF] [-t FRAMES] [-r DIMS] [-j N] [-Q]", argv0);
}

static int
lookup(const char *s, const char *const *names, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	die("usage: %s '%s' is not one of %s .. %s", what, s, names[0], names[n - 1]);
}

int
main(int argc, char *argv[])
{
	const char *vpath = "-", *out = NULL;
	VxConfig c = { VX_SQ8, 0, VX_IVF, 256, 0, 8, 32, 8, 128, 100000, 0 };
	long nthreads = 2, D, nv = 0;
	int opt;
	MpReader *r;
	const msgpack_object *h, *o, *mo;
	size_t nb;
	char **br, *split, *model, id[4096];
	float *fr[VX_MAXBR] = { NULL };
	long cap = 0;
	VxWriter *w;
	double t0 = now_seconds();

	tool_start(argc, argv, help);
	while ((opt = getopt(argc, argv, ":v:o:c:m:a:n:s:S:M:p:e:t:r:j:Q")) != -1) {
		switch (opt) {
		case 'v': vpath = optarg; break;
		case 'o': out = optarg; break;
		case 'c': c.code = lookup(optarg, vx_code_name, VX_NCODE, "-c"); break;
		case 'm': c.pq_m = (int)estrtol(optarg, 1, 1 << 16); break;
		case 'a': c.ann = lookup(optarg, vx_ann_name, VX_NANN, "-a"); break;
		case 'n': c.nlist = (int)estrtol(optarg, 1, FW_LISTS_MAX); break;
		case 's': c.ivf_m = (int)estrtol(optarg, 1, 1 << 16); break;
		case 'S': c.ivf_bits = (int)estrtol(optarg, 4, 8); break;
		case 'M': c.hnsw_m = (int)estrtol(optarg, 2, 1024); break;
		case 'p': c.nprobe = (int)estrtol(optarg, 1, FW_LISTS_MAX); break;
		case 'e': c.ef_search = (int)estrtol(optarg, 1, FW_EF_MAX); break;
		case 't': c.train = estrtol(optarg, 1, 1L << 30); break;
		case 'r': c.pdim = (int)estrtol(optarg, 1, VIDSET_MAXDIM); break;
		case 'j': nthreads = estrtol(optarg, 1, 256); break;
		case 'Q': progress_quiet = 1; break;
		default: bad_option(opt);
		}
	}
	if (optind != argc || !out)
		usage();
	openblas_set_num_threads((int)nthreads);
	fw_threads((int)nthreads);

	r = mpr_open(vpath);
	h = mpr_header(r, "encoded-videos");
	D = mpr_int(r, h, "dim");
	if (D < 1 || D > VIDSET_MAXDIM)
		mpr_die(r, "'dim' = %ld: expected 1..%ld", D, VIDSET_MAXDIM);
	br = mpr_strarray(r, h, "branches", &nb);
	if (nb < 1 || nb > VX_MAXBR)
		mpr_die(r, "'branches': %zu, expected 1..%d", nb, VX_MAXBR);
	if (nb == 2 && strcmp(br[0], br[1]) == 0)
		mpr_die(r, "'branches': '%s' twice", br[0]);
	split = vidset_header_split(r, h);
	mo = mp_find(h, "model");
	model = mo && mo->type == MSGPACK_OBJECT_STR ? mpr_strdup(r, h, "model") : estrdup("");
	if (!c.pq_m)
		c.pq_m = (int)MAX(1, (c.pdim ? c.pdim : D) / 4);
	if (!c.ivf_m)
		c.ivf_m = (int)MAX(1, (c.pdim ? c.pdim : D) / 8);
	w = vx_create(out, &c, (int)D, br, (int)nb, model, split, r->name);

	while ((o = mpr_next(r))) {
		long n = mpr_int(r, o, "n");

		if (n < 1 || n > VIDSET_MAXN)
			mpr_die(r, "'n' = %ld: expected 1..%ld frames", n, VIDSET_MAXN);
		if (n > cap) {
			cap = MAX(n, 2 * cap);
			for (size_t b = 0; b < nb; b++) {
				free(fr[b]);
				fr[b] = efloats((size_t)cap * D);
			}
		}
		mpr_strcpy(r, o, "id", id, sizeof(id));
		for (size_t b = 0; b < nb; b++)
			mpr_f32(r, o, br[b], fr[b], (size_t)(n * D));
		vx_add(w, id, (int)n, (const float *const *)fr);
		progress(0, "%ld videos indexed", ++nv);
	}
	if (nv == 0)
		die("%s: no videos", r->name);
	vx_finish(w, r->name);
	mpr_close(r);
	progress(1, "%ld videos: %s codes, %s, written to %s in %.1f s", nv, vx_code_name[c.code],
	         vx_ann_name[c.ann], out, now_seconds() - t0);
	for (size_t b = 0; b < nb; b++)
		free(br[b]), free(fr[b]);
	free(br), free(split), free(model);
	return 0;
}
