/* encode-text: one embedding per query of a reduced student query-features stream with every
 * branch of a trained checkpoint (kind encoded-queries, schemas/encoded-queries.md), read and
 * written a chunk of queries at a time, so memory does not grow with the corpus.
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
"encode-text - query embeddings with a trained checkpoint\n"
"\n"
"usage: %s -c CKPT [-j THREADS] [-n CHUNK] [-o OUT] < QUERY_STUDENT > ENCODED_QUERIES\n"
"  encode-text encodes every query of a reduced student query-features stream with every\n"
"  branch of the checkpoint (kind checkpoint, from distill-step) and writes an encoded-queries\n"
"  stream: header {dim, branches, split}, items {id, video, inh f32[dim], exp f32[dim]}.\n"
"  -c CKPT     checkpoint (required)\n"
"  -j THREADS  BLAS threads (default: $OPENBLAS_NUM_THREADS or 2)\n"
"  -n CHUNK    queries encoded per call (default 256)\n"
"  -o OUT      output file, written atomically (default: stdout)\n"
"  Exit 1 on any error (wrong dims, more tokens than the model's max, bad stream).\n", argv0);
	exit(status);
}

int
main(int argc, char *argv[])
{
	const char *ckpt = NULL, *outpath = "-", *env = getenv("OPENBLAS_NUM_THREADS");
	int c, threads = 2, chunk = 256, nb = 0, D, dt, maxt;
	TrainConfig tc;
	const ModelConfig *mc;
	Model *m;
	MpReader *r;
	MpWriter *w;
	const msgpack_object *h, *o, *split;
	char role[32], **ids, **vids;
	float *in, *out[NBRANCH] = { NULL };
	int *qlen;
	long dim, done = 0;

	argv0 = "encode-text";
	set_cmdline(argc, argv);
	if (want_help(argc, argv))
		usage(0);
	if (env && *env)
		threads = (int)estrtol(env, 1, 1024);
	while ((c = getopt(argc, argv, "c:j:n:o:")) != -1) {
		switch (c) {
		case 'c': ckpt = optarg; break;
		case 'j': threads = (int)estrtol(optarg, 1, 1024); break;
		case 'n': chunk = (int)estrtol(optarg, 1, 1 << 20); break;
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
	dt = mc->dt;
	maxt = mc->max_tokens;

	r = mpr_open("-");
	h = mpr_header(r, "query-features");
	mpr_strcpy(r, h, "role", role, sizeof(role));
	if (strcmp(role, "student") != 0)
		mpr_die(r, "role '%s', expected 'student'", role);
	dim = mpr_int(r, h, "dim");
	if (dim != dt)
		mpr_die(r, "dim %ld, but %s was trained on %d-d token features", dim, ckpt, dt);
	w = mpw_open(outpath, 0);
	mpw_header(w, "encoded-queries", r->count, 3);
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

	in = efloats((size_t)chunk * maxt * dt);
	for (int b = 0; b < NBRANCH; b++)
		if (mc->has_branch[b])
			out[b] = efloats((size_t)chunk * D);
	qlen = emalloc((size_t)chunk * sizeof(*qlen));
	ids = ecalloc((size_t)chunk, sizeof(*ids));
	vids = ecalloc((size_t)chunk, sizeof(*vids));
	for (int eof = 0; !eof;) {
		int N = 0, T = 0;
		while (N < chunk && (o = mpr_next(r))) {
			long n = mpr_int(r, o, "n");
			if (n < 1 || n > maxt)
				mpr_die(r, "n = %ld tokens: expected 1..%d (HINT: reduce with feat-reduce -t %d)",
				        n, maxt, maxt);
			free(ids[N]);
			free(vids[N]);
			ids[N] = mpr_strdup(r, o, "id");
			vids[N] = mpr_strdup(r, o, "video");
			qlen[N] = (int)n;
			mpr_f32(r, o, "x", in + (size_t)N * maxt * dt, (size_t)n * dt);
			T = MAX(T, (int)n);
			N++;
		}
		eof = N < chunk;
		if (N == 0)
			break;
		for (int i = 1; i < N; i++)
			memmove(in + (size_t)i * T * dt, in + (size_t)i * maxt * dt,
			        (size_t)qlen[i] * dt * sizeof(float));
		for (int i = 0; i < N; i++)
			memset(in + ((size_t)i * T + qlen[i]) * dt, 0,
			       (size_t)(T - qlen[i]) * dt * sizeof(float));
		for (int b = 0; b < NBRANCH; b++)
			if (out[b])
				model_encode_queries(m, b, in, qlen, N, T, out[b]);
		for (int i = 0; i < N; i++) {
			mpw_map(w, 2 + nb);
			mpw_kv_str(w, "id", ids[i]);
			mpw_kv_str(w, "video", vids[i]);
			for (int b = 0; b < NBRANCH; b++)
				if (out[b])
					mpw_kv_f32(w, brname[b], out[b] + (size_t)i * D, (size_t)D);
			mpw_record_done(w);
		}
		done += N;
		progress(0, "%ld queries", done);
	}
	if (done == 0)
		die("<stdin>: no queries");
	mpr_close(r);
	mpw_close(w);
	for (int i = 0; i < chunk; i++) {
		free(ids[i]);
		free(vids[i]);
	}
	free(ids);
	free(vids);
	free(qlen);
	free(in);
	for (int b = 0; b < NBRANCH; b++)
		free(out[b]);
	model_free(m);
	return 0;
}
