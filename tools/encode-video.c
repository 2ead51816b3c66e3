/* encode-video: frame embeddings of every video of a reduced student video-features stream with
 * every branch of a trained checkpoint (kind encoded-videos, schemas/encoded-videos.md), read and
 * written a chunk of videos at a time, so memory does not grow with the corpus.
 * Not here: scoring and ranking (rank), training (distill-step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "ckpt.h"
#include "model.h"
#include "mpio.h"
#include "util.h"

static const char *brname[NBRANCH] = { "inh", "exp" };

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"encode-video - frame embeddings of videos with a trained checkpoint\n"
"\n"
"usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT] < VIDEO_STUDENT > ENCODED_VIDEOS\n"
"  encode-video encodes every video of a reduced student video-features stream with every\n"
"  branch of the checkpoint (kind checkpoint, from distill-step) and writes an encoded-videos\n"
"  stream: header {dim, branches, split}, items {id, n, inh f32[n, dim], exp f32[n, dim]}.\n"
"  -c CKPT     checkpoint (required)\n"
"  -j THREADS  BLAS threads (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -n CHUNK    videos encoded per call (default 64)\n"
"  -o OUT      output file, written atomically (default: stdout)\n"
"  Exit 1 on any error (wrong dims, more frames than the model's max, bad stream).\n", argv0);
	exit(status);
}

int
main(int argc, char *argv[])
{
	const char *ckpt = NULL, *outpath = "-", *env = getenv("OPENBLAS_NUM_THREADS");
	int c, threads = 2, chunk = 64, nb = 0, D, dv, maxf;
	TrainConfig tc;
	const ModelConfig *mc;
	Model *m;
	MpReader *r;
	MpWriter *w;
	const msgpack_object *h, *o, *split;
	char role[32], **ids;
	float *in, *out[NBRANCH] = { NULL };
	int *vlen;
	long dim, done = 0;

	argv0 = "encode-video";
	set_cmdline(argc, argv);
	if (want_help(argc, argv))
		usage(0);
	if (env && *env)
		threads = (int)estrtol(env, 1, 1024);
	while ((c = getopt(argc, argv, "c:j:n:o:")) != -1) {
		switch (c) {
		case 'c': ckpt = optarg; break;
		case 'j': threads = (int)estrtol(optarg, 1, 1024); break;
		case 'n': chunk = (int)estrtol(optarg, 1, 1 << 16); break;
		case 'o': outpath = optarg; break;
		default: usage(1);
		}
	}
	if (optind != argc || !ckpt)
		usage(1);
	openblas_set_num_threads(threads);
	m = ckpt_read(ckpt, &tc, NULL, 0);
	mc = model_config(m);
	D = mc->D;
	dv = mc->dv;
	maxf = mc->max_frames;

	r = mpr_open("-");
	h = mpr_header(r, "video-features");
	mpr_strcpy(r, h, "role", role, sizeof(role));
	if (strcmp(role, "student") != 0)
		mpr_die(r, "role '%s', expected 'student'", role);
	dim = mpr_int(r, h, "dim");
	if (dim != dv)
		mpr_die(r, "dim %ld, but %s was trained on %d-d video features", dim, ckpt, dv);
	w = mpw_open(outpath, 0);
	mpw_header(w, "encoded-videos", r->count, 3);
	mpw_kv_int(w, "dim", D);
	mpw_key(w, "branches");
	for (int b = 0; b < NBRANCH; b++)
		nb += mc->has_branch[b];
	mpw_array(w, nb);
	for (int b = 0; b < NBRANCH; b++)
		if (mc->has_branch[b])
			mpw_str(w, brname[b]);
	mpw_key(w, "split");
	if ((split = mp_find(h, "split")) && split->type == MSGPACK_OBJECT_STR)
		mpw_obj(w, split);
	else
		mpw_nil(w);
	mpw_record_done(w);

	in = efloats((size_t)chunk * maxf * dv);
	for (int b = 0; b < NBRANCH; b++)
		if (mc->has_branch[b])
			out[b] = efloats((size_t)chunk * maxf * D);
	vlen = emalloc((size_t)chunk * sizeof(*vlen));
	ids = ecalloc((size_t)chunk, sizeof(*ids));
	for (int eof = 0; !eof;) {
		int B = 0, L = 0;
		/* gather a chunk at the model's padded layout, (B, maxf, dv), then compact to L */
		while (B < chunk && (o = mpr_next(r))) {
			long n = mpr_int(r, o, "n");
			if (n < 1 || n > maxf)
				mpr_die(r, "n = %ld frames: expected 1..%d (HINT: reduce with feat-reduce -f %d)",
				        n, maxf, maxf);
			free(ids[B]);
			ids[B] = mpr_strdup(r, o, "id");
			vlen[B] = (int)n;
			mpr_f32(r, o, "x", in + (size_t)B * maxf * dv, (size_t)n * dv);
			L = MAX(L, (int)n);
			B++;
		}
		eof = B < chunk;
		if (B == 0)
			break;
		/* compact rows to a stride of L frames, in place (moving forward only) */
		for (int i = 1; i < B; i++)
			memmove(in + (size_t)i * L * dv, in + (size_t)i * maxf * dv,
			        (size_t)vlen[i] * dv * sizeof(float));
		for (int i = 0; i < B; i++)
			memset(in + ((size_t)i * L + vlen[i]) * dv, 0,
			       (size_t)(L - vlen[i]) * dv * sizeof(float));
		for (int b = 0; b < NBRANCH; b++)
			if (out[b])
				model_encode_videos(m, b, in, vlen, B, L, out[b]);
		for (int i = 0; i < B; i++) {
			mpw_map(w, 2 + nb);
			mpw_kv_str(w, "id", ids[i]);
			mpw_kv_int(w, "n", vlen[i]);
			for (int b = 0; b < NBRANCH; b++)
				if (out[b])
					mpw_kv_f32(w, brname[b], out[b] + (size_t)i * L * D,
					           (size_t)vlen[i] * D);
			mpw_record_done(w);
		}
		done += B;
		progress(0, "%ld videos", done);
	}
	if (done == 0)
		die("<stdin>: no videos");
	mpr_close(r);
	mpw_close(w);
	for (int i = 0; i < chunk; i++)
		free(ids[i]);
	free(ids);
	free(vlen);
	free(in);
	for (int b = 0; b < NBRANCH; b++)
		free(out[b]);
	model_free(m);
	return 0;
}
