/* encode: chunked student feature stream -> encoded stream; see encode.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "ckpt.h"
#include "encode.h"
#include "model.h"
#include "mpio.h"
#include "threads.h"
#include "schema.h"
#include "util.h"

typedef void (*EncodeFn)(Model *m, int br, const float *x, const int *len, int N, int T,
                         float *out);

/* one side: video (frames -> frame embeddings) or text (tokens -> one embedding) */
typedef struct {
	const char *in_kind, *out_kind;
	const char *items;         /* "videos": progress and the empty-input message */
	const char *unit;          /* "frames": the length-limit message */
	const char *feat;          /* "video": "trained on %d-d video features" */
	char reduce_opt;           /* feat-reduce option that enforces the limit */
	int chunk, chunk_max;      /* default and largest -n: items per model call */
	int per_row;               /* 1: an output row per input row with key n; 0: one vector,
	                            * with the input's key video */
	EncodeFn encode;
} Side;

static const Side sides[] = {
	[ENC_VIDEO] = { "video-features", "encoded-videos", "videos", "frames", "video", 'f',
	                64, 1 << 16, 1, model_encode_videos },
	[ENC_TEXT] = { "query-features", "encoded-queries", "queries", "tokens", "token", 't',
	               256, 1 << 20, 0, model_encode_queries },
};

static const char *brname[NBRANCH] = { "inh", "exp" };

/* the model's fingerprint, the "model" of encoded streams: CRC-32 of every parameter's bytes and
 * their count, so that streams of different models are told apart (prvr-search) */
static void
fingerprint(char *s, size_t n, const Model *m)
{
	unsigned long c = crc32(0L, Z_NULL, 0);

	for (int i = 0; i < model_num_tensors(m); i++) {
		ParamInfo p = model_tensor(m, i);
		c = crc32_z(c, (const unsigned char *)p.w, p.n * sizeof(float));
	}
	snprintf(s, n, "%08lx-%zu", c, model_num_params(m));
}

void
encode_stream(int side, const char *ckpt, const char *inpath, const char *outpath, int threads,
              int chunk)
{
	const Side *s = &sides[side];
	int nb = 0, D, din, maxn;
	TrainConfig tc;
	const ModelConfig *mc;
	Model *m;
	MpReader *r;
	MpWriter *w;
	const msgpack_object *h, *o, *split;
	char role[32], **ids, **vids = NULL, fp[64];
	float *in = NULL, *out[NBRANCH] = { NULL };
	size_t incap = 0, outcap[NBRANCH] = { 0 };
	int *len;
	long dim, done = 0;

	CHECK(side == ENC_VIDEO || side == ENC_TEXT);
	threads_set(threads);
	m = ckpt_read(ckpt, &tc, NULL, 0);
	mc = model_config(m);
	D = mc->D;
	din = s->per_row ? mc->dv : mc->dt;
	maxn = s->per_row ? mc->max_frames : mc->max_tokens;

	r = mpr_open(inpath);
	h = schema_header(r, s->in_kind);
	mpr_strcpy(r, h, "role", role, sizeof(role));
	if (strcmp(role, "student") != 0)
		mpr_die(r, "role '%s', expected 'student'", role);
	dim = mpr_int(r, h, "dim");
	if (dim != din)
		mpr_die(r, "dim %ld, but %s was trained on %d-d %s features", dim, ckpt, din, s->feat);
	w = mpw_open(outpath, 0);
	mpw_header(w, s->out_kind, r->count, 4);
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
	fingerprint(fp, sizeof(fp), m);
	mpw_kv_str(w, "model", fp);
	mpw_record_done(w);

	len = emalloc((size_t)chunk * sizeof(*len));
	ids = ecalloc((size_t)chunk, sizeof(*ids));
	if (!s->per_row)
		vids = ecalloc((size_t)chunk, sizeof(*vids));
	for (int eof = 0; !eof;) {
		int N = 0, T = 0;
		size_t used = 0, need;
		/* gather a chunk packed, each item at its own length, then pad it in place to the
		 * model's layout (N, T, din), T the chunk's longest: memory in proportion to what the
		 * input holds, not to the model's maximum (a checkpoint can claim 2^22 floats an item) */
		while (N < chunk && (o = mpr_next(r))) {
			long n = mpr_int(r, o, "n");
			if (n < 1 || n > maxn)
				mpr_die(r, "n = %ld %s: expected 1..%d (HINT: reduce with feat-reduce -%c %d)",
				        n, s->unit, maxn, s->reduce_opt, maxn);
			mpr_f32n(r, o, "x", (size_t)n * din);
			free(ids[N]);
			ids[N] = mpr_strdup(r, o, "id");
			if (vids) {
				free(vids[N]);
				vids[N] = mpr_strdup(r, o, "video");
			}
			len[N] = (int)n;
			in = egrow(in, &incap, used + (size_t)n * din, sizeof(*in));
			mpr_f32(r, o, "x", in + used, (size_t)n * din);
			used += (size_t)n * din;
			T = MAX(T, (int)n);
			N++;
		}
		eof = N < chunk;
		if (N == 0)
			break;
		in = egrow(in, &incap, (size_t)N * T * din, sizeof(*in));
		for (int i = N - 1; i >= 0; i--) {      /* last first: each moves forward only */
			used -= (size_t)len[i] * din;
			memmove(in + (size_t)i * T * din, in + used, (size_t)len[i] * din * sizeof(float));
			memset(in + ((size_t)i * T + len[i]) * din, 0,
			       (size_t)(T - len[i]) * din * sizeof(float));
		}
		need = (size_t)N * (s->per_row ? T : 1) * D;
		for (int b = 0; b < NBRANCH; b++)
			if (mc->has_branch[b])
				out[b] = efloats_grow(out[b], &outcap[b], need);
		for (int b = 0; b < NBRANCH; b++)
			if (out[b])
				s->encode(m, b, in, len, N, T, out[b]);
		for (int i = 0; i < N; i++) {
			/* video side: (N, T, D) frame embeddings, n rows each; text side: (N, D) */
			size_t at = s->per_row ? (size_t)i * T * D : (size_t)i * D;
			size_t nf = s->per_row ? (size_t)len[i] * D : (size_t)D;

			mpw_map(w, 2 + nb);
			mpw_kv_str(w, "id", ids[i]);
			if (s->per_row)
				mpw_kv_int(w, "n", len[i]);
			else
				mpw_kv_str(w, "video", vids[i]);
			for (int b = 0; b < NBRANCH; b++)
				if (out[b])
					mpw_kv_f32(w, brname[b], out[b] + at, nf);
			mpw_record_done(w);
		}
		done += N;
		progress(0, "%ld %s", done, s->items);
	}
	if (done == 0)
		die("%s: no %s", r->name, s->items);
	mpr_close(r);
	mpw_close(w);
	for (int i = 0; i < chunk; i++) {
		free(ids[i]);
		if (vids)
			free(vids[i]);
	}
	free(ids);
	free(vids);
	free(len);
	free(in);
	for (int b = 0; b < NBRANCH; b++)
		free(out[b]);
	model_free(m);
}

int
encode_chunk(int side, int *max)
{
	*max = sides[side].chunk_max;
	return sides[side].chunk;
}
