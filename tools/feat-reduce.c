/* feat-reduce: the input reduction of doc/method.md as a stream filter. Reads one
 * video-features or query-features stream and writes the same kind with frame sequences
 * segment-averaged to at most MAXFRAMES rows, token sequences cut to the first MAXTOKENS rows,
 * and student rows L2-normalised (x / (|x| + 1e-5), the same form for frames and tokens, as in
 * the authors' l2_normalize_np_array). Teacher frames are reduced but not normalised; teacher
 * query embeddings (n = 1) pass unchanged. One record in memory at a time. Every header and item
 * key other than n and x is carried over; the header gets reduced: true and normalized.
 * Not here: the rule itself (lib/reduce.c), any other feature transformation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpio.h"
#include "reduce.h"
#include "schema.h"
#include "util.h"

#define MAXN (1L << 24)    /* rows per record accepted on input */
#define MAXDIM (1L << 16)

static void
help(void)
{
	printf("feat-reduce - reduce video or query features as the DL-DKD authors do\n"
	       "\n"
	       "usage: %s [-f MAXFRAMES] [-t MAXTOKENS] [-i FILE] [-o FILE] [-z] [-q]\n"
	       "\n"
	       "Reads a video-features or query-features stream (stdin or -i FILE; gzip is read\n"
	       "transparently) and writes the same kind (stdout or -o FILE, written atomically).\n"
	       "  video-features: N > MAXFRAMES rows become MAXFRAMES segment means, boundaries\n"
	       "                  min(round((i/M)*N), N-1) with numpy's round-half-to-even; shorter\n"
	       "                  sequences are kept. Student rows then x / (|x| + 1e-5); teacher\n"
	       "                  rows are not normalised.\n"
	       "  query-features: student: the first MAXTOKENS rows, each x / (|x| + 1e-5);\n"
	       "                  teacher: the single embedding (n = 1) passes unchanged.\n"
	       "The header keeps every key (role, dim, split, ...) and gets reduced: true and\n"
	       "normalized (true for student).\n"
	       "\n"
	       "  -f MAXFRAMES  frames kept per video, 1..1048576 (default 128)\n"
	       "  -t MAXTOKENS  tokens kept per query, 1..1048576 (default 30)\n"
	       "  -i FILE       input stream (default stdin; - is stdin)\n"
	       "  -o FILE       output stream (default stdout)\n"
	       "  -z            gzip the output\n"
	       "  -q            no progress on stderr\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (nothing is left at -o FILE).\n", argv0);
	exit(0);
}

static void
usage(void)
{
	die("usage: %s [-f MAXFRAMES] [-t MAXTOKENS] [-i FILE] [-o FILE] [-z] [-q]", argv0);
}

static int
key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, s, n) == 0;
}

static int
key_in(const msgpack_object *k, const char *const *set)
{
	for (; *set; set++)
		if (key_is(k, *set))
			return 1;
	return 0;
}

/* copy the pairs of map whose keys are not in skip; returns how many were (or would be) copied */
static size_t
copy_pairs(MpWriter *w, const msgpack_object *map, const char *const *skip)
{
	size_t n = 0;

	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];
		if (key_in(&kv->key, skip))
			continue;
		if (w) {
			mpw_obj(w, &kv->key);
			mpw_obj(w, &kv->val);
		}
		n++;
	}
	return n;
}

static void
need_str(const MpReader *r, const msgpack_object *o, const char *key)
{
	const msgpack_object *v = mp_find(o, key);

	if (!v)
		mpr_die(r, "missing key '%s'", key);
	if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0)
		mpr_die(r, "'%s': expected a non-empty string", key);
	if (memchr(v->via.str.ptr, '\0', v->via.str.size))
		mpr_die(r, "'%s': string contains a NUL byte", key);
}

int
main(int argc, char *argv[])
{
	static const char *const hskip[] = { "magic", "version", "kind", "count", "cmd", "checksums",
	                                     "reduced", "normalized", NULL };
	static const char *const iskip[] = { "n", "x", NULL };
	const char *in = "-", *out = "-";
	long maxf = 128, maxt = 30, dim, n, m, cap = 0, items = 0;
	int c, gz = 0, video, student, norm_in, norm_out;
	const msgpack_object *h, *o;
	float *x = NULL, *y = NULL;
	char role[16];
	MpReader *r;
	MpWriter *w;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":f:t:i:o:zq")) != -1) {
		switch (c) {
		case 'f': maxf = estrtol(optarg, 1, 1L << 20); break;
		case 't': maxt = estrtol(optarg, 1, 1L << 20); break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'z': gz = 1; break;
		case 'q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (optind != argc)
		usage();
	check_outputs(&in, 1, &out, 1);

	r = mpr_open(in);
	h = mpr_header(r, NULL);
	if (strcmp(r->kind, "video-features") == 0)
		video = 1;
	else if (strcmp(r->kind, "query-features") == 0)
		video = 0;
	else
		mpr_die(r, "stream kind '%s', expected 'video-features' or 'query-features'", r->kind);
	schema_check_header(r, h);
	mpr_strcpy(r, h, "role", role, sizeof(role));
	student = role[0] == 's';
	dim = mpr_int(r, h, "dim");
	if (dim > MAXDIM)
		mpr_die(r, "'dim': %ld out of range [1, %ld]", dim, MAXDIM);
	norm_in = mpr_bool_or(r, h, "normalized", 0);
	norm_out = student ? 1 : norm_in;

	w = mpw_open(out, gz);
	mpw_header(w, r->kind, r->count, (int)copy_pairs(NULL, h, hskip) + 2);
	copy_pairs(w, h, hskip);
	mpw_kv_bool(w, "reduced", 1);
	mpw_kv_bool(w, "normalized", norm_out);
	mpw_record_done(w);

	while ((o = mpr_next(r))) {
		need_str(r, o, "id");
		if (!video)
			need_str(r, o, "video");
		n = mpr_int(r, o, "n");
		if (n < 1 || n > MAXN)
			mpr_die(r, "'n': %ld out of range [1, %ld]", n, MAXN);
		mpr_f32n(r, o, "x", (size_t)(n * dim));
		if (n > cap) {
			cap = n;
			free(x);
			free(y);
			x = efloats((size_t)(cap * dim));
			y = efloats((size_t)(MIN(cap, video ? maxf : maxt) * dim));   /* rows kept */
		}
		mpr_f32(r, o, "x", x, (size_t)(n * dim));
		if (video) {
			if (norm_in && student && n > maxf)
				mpr_die(r, "%ld frames of already normalized features (HINT: reduce the "
				        "raw features)", n);
			m = reduce_frames(y, x, n, maxf, dim);
		} else if (student) {
			m = MIN(n, maxt);
			memcpy(y, x, (size_t)(m * dim) * sizeof(*y));
		} else {
			if (n != 1)
				mpr_die(r, "'n': %ld, a teacher query embedding has n = 1", n);
			m = 1;
			memcpy(y, x, (size_t)dim * sizeof(*y));
		}
		if (student && !norm_in)
			reduce_l2norm_rows(y, m, dim);
		mpw_map(w, copy_pairs(NULL, o, iskip) + 2);
		copy_pairs(w, o, iskip);
		mpw_kv_int(w, "n", m);
		mpw_kv_f32(w, "x", y, (size_t)(m * dim));
		mpw_record_done(w);
		items++;
		if (items % 256 == 0)
			progress(0, "%ld records", items);
	}
	mpr_close(r);
	mpw_close(w);
	progress(1, "%ld %s %s records reduced", items, role, video ? "video" : "query");
	free(x);
	free(y);
	return 0;
}
