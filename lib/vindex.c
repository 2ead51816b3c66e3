/* vindex: the frame index file; see vindex.h and doc/frame-index.md. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cblas.h>
#include <zlib.h>

#include "pqenc.h"
#include "rng.h"
#include "rownorm.h"
#include "sq8nib.h"
#include "util.h"
#include "vindex.h"

#define VX_MAGIC "PRVRIDX"
#define VX_VERSION 3            /* 2: sq8 codes as nibble planes; 3: pdim, the projection */
#define VX_ALIGN 64            /* sections start on a cache line, so f32 codes are float-aligned */
#define VX_PEND 65536          /* normalised frames handed to FAISS per add call */
#define VX_BATCH 4096          /* frames normalised, projected and coded together: a video's
                                * few dozen at a time made a parallel region (OpenMP, OpenBLAS)
                                * of each step, whose threads waited on one another's wake-up
                                * more than they worked on a busy machine */
#define KM_ITER 10             /* VX_IVF: k-means iterations */
#define PROJ_SEED 0x50524f4aULL  /* the projection's rotation: one fixed draw */
#define VX_AHEAD 4             /* VX_IVF: rows of a list prefetched ahead of the one scored */

const char *const vx_code_name[VX_NCODE] = { "f32", "f16", "sq8", "pq" };
const char *const vx_ann_name[VX_NANN] = {
	"ivf-flat", "ivf-sq", "ivf-pq", "hnsw", "hnsw-sq", "ivf"
};
static const char *const sec_name[VX_NSEC] = {
	"ids", "offsets", "codec0", "codec1", "codes0", "codes1", "ann0", "ann1"
};

_Static_assert(VX_PEND % VX_BATCH == 0, "batches fill FAISS's pending block exactly");
_Static_assert(sizeof(VxHeader) == 400, "the header layout of doc/frame-index.md");

/* an IVF kind: inverted lists, trained by k-means on nlist centroids */
static int
is_ivf(int ann)
{
	return ann <= VX_IVFPQ || ann == VX_IVF;
}

/* bytes of a VX_IVF section: centroids, list starts, rows */
static uint64_t
own_ivf_bytes(uint64_t nlist, int D, uint64_t nframe)
{
	return nlist * D * sizeof(float) + (nlist + 1 + nframe) * sizeof(int32_t);
}

/* ---- codecs ---- */

/* bytes a frame takes in code c; sq8: two nibble planes (lib/sq8nib.h), a spooled code its high
 * half then its low half until write_codes separates the planes */
static size_t
code_bytes(int code, int D, int pq_m)
{
	switch (code) {
	case VX_F32: return 4 * (size_t)D;
	case VX_F16: return 2 * (size_t)D;
	case VX_SQ8: return 2 * (size_t)SQ8_H(D);
	default: return (size_t)pq_m;
	}
}

/* floats of a branch's codec parameters: the projection (pdim: pdim rows of Din), then sq8's
 * min and step per dim or pq's centroids, of D (the codes') dims */
static size_t
codec_floats(int code, int D, int pdim, int Din)
{
	return (size_t)pdim * Din +
	       (code == VX_SQ8 ? 2 * (size_t)D : code == VX_PQ ? ((size_t)1 << PQ_BITS) * D : 0);
}

/* LAPACK's symmetric eigensolver (OpenBLAS ships it; no header in Debian's package) */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info);

/* P (k, D): an orthonormal basis of the span of the k leading eigenvectors of the second moment
 * x^T x of the unit frames x (n, D): the k directions that keep the most of the frames' squared
 * length, so that inner products lose the least (not centred: cosines are not either). The
 * eigenvectors themselves would give the first coordinates most of the variance, and the
 * query's weight too, so that per-dim codes (sq8, f16) would err most where it counts: they are
 * turned by a random rotation R (k, k) within their span (FAISS's "PCAR"), P = R E, each
 * coordinate then carrying an even share */
static void
principal(float *P, const float *x, long n, int D, int k)
{
	float *m = efloats((size_t)D * D), *E = efloats((size_t)k * D), *R = efloats((size_t)k * k);
	Rng r;
	double *a = emalloc((size_t)D * D * sizeof(*a)), *ev = emalloc((size_t)D * sizeof(*ev));
	double wsize;
	int info, lwork = -1;

	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, D, (int)n, 1.0f, x, D, 0.0f, m, D);
	for (int i = 0; i < D; i++)
		for (int j = i; j < D; j++)
			a[(size_t)i * D + j] = a[(size_t)j * D + i] = m[(size_t)i * D + j];
	dsyev_("V", "U", &D, a, &D, ev, &wsize, &lwork, &info);
	lwork = (int)wsize;
	{
		double *work = emalloc((size_t)lwork * sizeof(*work));
		dsyev_("V", "U", &D, a, &D, ev, work, &lwork, &info);
		free(work);
	}
	if (info != 0)
		die("principal directions: LAPACK dsyev failed (info %d)", info);
	/* eigenvalues ascending, eigenvector c in column c (column-major) */
	for (int i = 0; i < k; i++)
		for (int j = 0; j < D; j++)
			E[(size_t)i * D + j] = (float)a[(size_t)(D - 1 - i) * D + j];
	rng_seed(&r, PROJ_SEED);
	rng_orthogonal(&r, R, k);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, D, k, 1.0f, R, k, E, D, 0.0f, P, D);
	free(m), free(a), free(ev), free(E), free(R);
}

/* out (n, D) = x P^T of the unit rows x (n, Din): their coordinates along the D directions of
 * P (D, Din), the projection; or, without one (P NULL, D = Din), x itself (copied unless in place) */
static void
project(const float *x, long n, int Din, const float *P, int D, float *out)
{
	if (P)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, D, Din, 1.0f, x, Din, P,
		            Din, 0.0f, out, D);
	else if (out != x)
		memcpy(out, x, (size_t)n * D * sizeof(*x));
}

/* n frames or queries x (n, Din) made unit in place, then projected into out (n, D) */
static void
unit_projected(float *x, long n, int Din, const float *P, int D, float *out)
{
	rownorm_unit(x, n, Din);
	project(x, n, Din, P, D, out);
}

/* IEEE binary16 from float, round to nearest even (no NaN/Inf arrives: inputs are unit vectors) */
static uint16_t
f16_of(float f)
{
	uint32_t x, sign, e, m;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	e = (x >> 23) & 0xff;
	m = x & 0x7fffff;
	if (e >= 143)                            /* |f| >= 65536: saturate */
		return (uint16_t)(sign | 0x7bff);
	if (e >= 113) {                          /* normal half */
		uint32_t h = ((e - 112) << 10) | (m >> 13), rest = m & 0x1fff;
		h += rest > 0x1000 || (rest == 0x1000 && (h & 1));
		return (uint16_t)(sign | h);
	}
	if (e < 102)                             /* below half the smallest subnormal */
		return (uint16_t)sign;
	m |= 0x800000;                           /* subnormal half: shift the full mantissa */
	{
		int sh = 126 - (int)e;           /* 14 .. 24 */
		uint32_t h = m >> sh, rest = m & ((1u << sh) - 1), half = 1u << (sh - 1);
		h += rest > half || (rest == half && (h & 1));
		return (uint16_t)(sign | h);
	}
}

static float
float_of16(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
	float f;

	if (e == 0) {                            /* zero or subnormal: m * 2^-24 */
		f = ldexpf((float)m, -24);
		return sign ? -f : f;
	}
	x = sign | ((e + 112) << 23) | (m << 13);
	memcpy(&f, &x, 4);
	return f;
}

/* sq8 parameters (min, step per dim) from the unit frames x (n, D) */
static void
sq8_train(float *codec, const float *x, long n, int D)
{
	float *lo = codec, *step = codec + D;

	for (int j = 0; j < D; j++) {
		float a = x[j], b = x[j];
		for (long t = 1; t < n; t++) {
			a = fminf(a, x[t * D + j]);
			b = fmaxf(b, x[t * D + j]);
		}
		lo[j] = a;
		step[j] = b > a ? (b - a) / 255 : 1;
	}
}

/* codes of n frames: raw (n, D) the encodings, unit (n, D) the same normalised; pqtab: pq's
 * encoding table (lib/pqenc.h), pq_m sub-vectors */
static void
encode(uint8_t *out, int code, const float *codec, const float *pqtab, int pq_m, const float *raw,
       const float *unit, long n, int D)
{
	uint8_t *c;

	switch (code) {
	case VX_F32:
		memcpy(out, raw, (size_t)n * D * sizeof(float));
		break;
	case VX_F16:
		for (long i = 0; i < n * D; i++) {
			uint16_t h = f16_of(unit[i]);
			memcpy(out + 2 * i, &h, 2);
		}
		break;
	case VX_SQ8:
		c = emalloc((size_t)D);
		for (long t = 0; t < n; t++) {
			uint8_t *hi = out + t * 2 * SQ8_H(D);
			for (int j = 0; j < D; j++) {
				float q = rintf((unit[t * D + j] - codec[j]) / codec[D + j]);
				c[j] = (uint8_t)fminf(fmaxf(q, 0), 255);
			}
			sq8_split(c, D, hi, hi + SQ8_H(D));
		}
		free(c);
		break;
	default:
		pq_encode(out, pqtab, unit, n, D, pq_m);
	}
}

/* floats from n f16 codes */
static void
decode_f16(float *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t h;
		memcpy(&h, in + 2 * i, 2);
		out[i] = float_of16(h);
	}
}

/* ---- writing ---- */

struct VxWriter {
	char *path, *tmp;
	VxConfig c;
	VxHeader h;
	int Din, D, nb, trained;   /* the encodings' dim, the codes' */
	char **id;
	int *off;                  /* (nv + 1) */
	long nv, nf;
	size_t idcap, offcap;
	float *samp[VX_MAXBR];     /* raw frames until trained: (ns, Din) */
	long ns;
	size_t scap[VX_MAXBR];
	float *codec[VX_MAXBR];    /* the codec section: the projection (pdim), the codec */
	float *pqtab[VX_MAXBR];    /* pq: the codec's centroids laid out for encoding */
	FwIndex *ann[VX_MAXBR];
	FILE *spool[VX_MAXBR];     /* codes, in frame order */
	float *batch[VX_MAXBR];    /* raw frames not yet coded: (nbatch, Din) */
	long nbatch[VX_MAXBR];
	float *pend[VX_MAXBR];     /* unit frames not yet given to FAISS: (npend, D) */
	long npend[VX_MAXBR];
	uint8_t *cbuf;             /* codes of VX_BATCH frames */
	float *ubuf;               /* pdim: VX_BATCH unit frames before their projection */
	float *cent[VX_MAXBR];     /* VX_IVF: centroids (nlist, D); ann[b] is a flat index of them */
	int32_t *list[VX_MAXBR];   /* VX_IVF: the list of each frame given to FAISS */
	long nassigned[VX_MAXBR];
	size_t lcap[VX_MAXBR];
	float *dbuf;               /* VX_IVF: (VX_PEND) */
	int64_t *ibuf;             /* VX_IVF: (VX_PEND) */
};

static void
ann_spec(char *s, size_t n, const VxConfig *c)
{
	switch (c->ann) {
	case VX_IVFFLAT: snprintf(s, n, "IVF%d,Flat", c->nlist); break;
	case VX_IVFSQ: snprintf(s, n, "IVF%d,SQ8", c->nlist); break;
	case VX_IVFPQ: snprintf(s, n, "IVF%d,PQ%dx%d", c->nlist, c->ivf_m, c->ivf_bits); break;
	case VX_HNSW: snprintf(s, n, "HNSW%d", c->hnsw_m); break;
	case VX_HNSWSQ: snprintf(s, n, "HNSW%d_SQ8", c->hnsw_m); break;
	default: snprintf(s, n, "Flat");        /* VX_IVF: the centroids, for assigning frames */
	}
}

VxWriter *
vx_create(const char *path, const VxConfig *c, int D, char **branch, int nb, const char *model,
          const char *split, const char *src)
{
	VxWriter *w = ecalloc(1, sizeof(*w));
	size_t n = strlen(path) + 32;
	uint32_t one = 1;
	uint8_t little;

	memcpy(&little, &one, 1);
	if (!little)
		die("the index format is little-endian; this host is not");
	CHECK(nb >= 1 && nb <= VX_MAXBR && D >= 1);
	if (c->pdim < 0 || c->pdim > D)
		die("%s: a projection onto %d dims: the encodings have %d", src, c->pdim, D);
	if (c->pdim && c->code == VX_F32)
		die("%s: f32 stores the encodings as they are: no projection (use f16, sq8 or pq)", src);
	w->Din = D;
	if (c->pdim)
		D = c->pdim;
	if (c->code == VX_PQ && (c->pq_m < 1 || D % c->pq_m))
		die("%s: pq: %d sub-vectors do not divide dim %d", src, c->pq_m, D);
	if (c->ann == VX_IVFPQ && (c->ivf_m < 1 || D % c->ivf_m))
		die("%s: ivf-pq: %d sub-vectors do not divide dim %d", src, c->ivf_m, D);
	if (strlen(model) >= sizeof(w->h.model) || strlen(split) >= sizeof(w->h.split))
		die("model '%s' or split '%s' too long", model, split);
	w->path = estrdup(path);
	w->tmp = emalloc(n);
	snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	w->c = *c;
	w->D = D;
	w->nb = nb;
	w->off = egrow(NULL, &w->offcap, 1, sizeof(*w->off));
	w->off[0] = 0;
	memcpy(w->h.magic, VX_MAGIC, sizeof(VX_MAGIC));
	w->h.version = VX_VERSION;
	w->h.hdr_bytes = sizeof(VxHeader);
	w->h.dim = (uint32_t)w->Din;
	w->h.pdim = (uint32_t)c->pdim;
	w->h.nbranch = (uint32_t)nb;
	w->h.code = (uint32_t)c->code;
	w->h.pq_m = c->code == VX_PQ ? (uint32_t)c->pq_m : 0;
	w->h.ann = (uint32_t)c->ann;
	w->h.nlist = (uint32_t)c->nlist;
	w->h.ivf_m = (uint32_t)c->ivf_m;
	w->h.ivf_bits = (uint32_t)c->ivf_bits;
	w->h.hnsw_m = (uint32_t)c->hnsw_m;
	w->h.nprobe = (uint32_t)c->nprobe;
	w->h.ef_search = (uint32_t)c->ef_search;
	for (int b = 0; b < nb; b++) {
		if (strlen(branch[b]) >= sizeof(w->h.branch[b]))
			die("branch name '%s' too long", branch[b]);
		strcpy(w->h.branch[b], branch[b]);
		if (!(w->spool[b] = tmpfile()))
			die("tmpfile:");
		w->batch[b] = efloats((size_t)VX_BATCH * w->Din);
		w->pend[b] = efloats((size_t)VX_PEND * D);
	}
	strcpy(w->h.model, model);
	strcpy(w->h.split, split);
	w->cbuf = emalloc((size_t)VX_BATCH * code_bytes(c->code, D, c->pq_m));
	if (c->pdim)
		w->ubuf = efloats((size_t)VX_BATCH * w->Din);
	if (c->ann == VX_IVF) {
		w->dbuf = efloats(VX_PEND);
		w->ibuf = emalloc(VX_PEND * sizeof(*w->ibuf));
	}
	return w;
}

/* the pending frames to FAISS: added to its structure, or (VX_IVF) assigned to their nearest
 * centroid, the list numbers appended after those of the frames before */
static void
flush_pend(VxWriter *w, int b)
{
	long n = w->npend[b], at = w->nassigned[b];

	if (!n)
		return;
	if (w->c.ann != VX_IVF) {
		if (fw_add(w->ann[b], n, w->pend[b]))
			die("FAISS add (%s): %s", w->h.branch[b], fw_error());
	} else {
		if (fw_search(w->ann[b], n, w->pend[b], 1, w->dbuf, w->ibuf))
			die("FAISS assign (%s): %s", w->h.branch[b], fw_error());
		w->list[b] = egrow(w->list[b], &w->lcap[b], (size_t)(at + n), sizeof(*w->list[b]));
		for (long i = 0; i < n; i++)
			w->list[b][at + i] = (int32_t)w->ibuf[i];
		w->nassigned[b] = at + n;
	}
	w->npend[b] = 0;
}

/* branch b's projection (pdim), else NULL; and its codec's parameters, after the projection */
static const float *
writer_proj(const VxWriter *w, int b)
{
	return w->c.pdim ? w->codec[b] : NULL;
}

static float *
writer_codec(const VxWriter *w, int b)
{
	return w->codec[b] + (size_t)w->c.pdim * w->Din;
}

/* code branch b's batch of raw frames: normalised (and projected) into FAISS's pending block,
 * their codes appended to the spool; the block to FAISS once full */
static void
code_batch(VxWriter *w, int b)
{
	long m = w->nbatch[b];
	size_t cb = code_bytes(w->c.code, w->D, w->c.pq_m);
	float *unit = w->pend[b] + (size_t)w->npend[b] * w->D;
	float *in = w->c.pdim ? w->ubuf : unit;

	if (!m)
		return;
	memcpy(in, w->batch[b], (size_t)m * w->Din * sizeof(float));
	unit_projected(in, m, w->Din, writer_proj(w, b), w->D, unit);
	encode(w->cbuf, w->c.code, writer_codec(w, b), w->pqtab[b], w->c.pq_m, w->batch[b], unit,
	       m, w->D);
	if (fwrite(w->cbuf, cb, (size_t)m, w->spool[b]) != (size_t)m)
		die("write temporary file:");
	w->nbatch[b] = 0;
	w->npend[b] += m;
	if (w->npend[b] == VX_PEND)
		flush_pend(w, b);
}

/* n raw frames (n, Din) of branch b into its batch, coded VX_BATCH at a time */
static void
add_frames(VxWriter *w, int b, const float *raw, long n)
{
	for (long i = 0; i < n; ) {
		long m = MIN(n - i, VX_BATCH - w->nbatch[b]);

		memcpy(w->batch[b] + (size_t)w->nbatch[b] * w->Din, raw + (size_t)i * w->Din,
		       (size_t)m * w->Din * sizeof(float));
		w->nbatch[b] += m;
		i += m;
		if (w->nbatch[b] == VX_BATCH)
			code_batch(w, b);
	}
}

/* train codecs and FAISS on the sample, then encode and add it */
static void
train(VxWriter *w)
{
	char spec[64];
	float *raw = efloats((size_t)w->ns * w->Din);
	float *unit = w->c.pdim ? efloats((size_t)w->ns * w->D) : raw;   /* the sample as coded */
	long need;

	ann_spec(spec, sizeof(spec), &w->c);
	/* FAISS's advice: 39 training points a k-means centroid */
	need = is_ivf(w->c.ann) ? 39L * w->c.nlist : 0;
	if (w->c.ann == VX_IVFPQ)
		need = MAX(need, 39L << w->c.ivf_bits);
	if (w->c.code == VX_PQ)
		need = MAX(need, 39L << PQ_BITS);
	if (is_ivf(w->c.ann) && w->ns < w->c.nlist)
		die("%d inverted lists need at least as many training frames, not %ld (-t, -n)",
		    w->c.nlist, w->ns);
	if (w->c.code == VX_PQ && w->ns < (1L << PQ_BITS))
		die("pq: %ld frames to train on, at least %d needed", w->ns, 1 << PQ_BITS);
	if (w->ns < need)
		warnf("training on %ld frames, fewer than the %ld FAISS advises (-t)", w->ns, need);
	progress(1, "training %s codes and FAISS %s on %ld frames", vx_code_name[w->c.code], spec,
	         w->ns);
	for (int b = 0; b < w->nb; b++) {
		float *codec;

		w->codec[b] = efloats(MAX(codec_floats(w->c.code, w->D, w->c.pdim, w->Din), 1));
		codec = writer_codec(w, b);
		memcpy(raw, w->samp[b], (size_t)w->ns * w->Din * sizeof(float));
		rownorm_unit(raw, w->ns, w->Din);
		if (w->c.pdim)
			principal(w->codec[b], raw, w->ns, w->Din, w->D);
		project(raw, w->ns, w->Din, writer_proj(w, b), w->D, unit);
		if (w->c.code == VX_SQ8)
			sq8_train(codec, unit, w->ns, w->D);
		if (w->c.code == VX_PQ) {
			FwPQ *pq = fw_pq_new(w->D, w->c.pq_m, PQ_BITS);

			if (!pq || fw_pq_train(pq, w->ns, unit, codec))
				die("pq training: %s", fw_error());
			fw_pq_free(pq);
			w->pqtab[b] = efloats((size_t)pq_table_floats(w->D, w->c.pq_m));
			pq_table(w->pqtab[b], codec, w->D, w->c.pq_m);
		}
		if (!(w->ann[b] = fw_new(w->D, spec)))
			die("FAISS %s: %s", spec, fw_error());
		if (w->c.ann == VX_IVF) {
			w->cent[b] = efloats((size_t)w->c.nlist * w->D);
			if (fw_kmeans(w->D, w->c.nlist, w->ns, unit, KM_ITER, w->cent[b]) ||
			    fw_add(w->ann[b], w->c.nlist, w->cent[b]))
				die("k-means of %d lists on %ld frames: %s", w->c.nlist, w->ns,
				    fw_error());
		}
		if (!fw_is_trained(w->ann[b]) && fw_train(w->ann[b], w->ns, unit))
			die("FAISS %s training on %ld frames: %s", spec, w->ns, fw_error());
	}
	if (unit != raw)
		free(unit);
	free(raw);
	w->trained = 1;
	w->h.train = (uint64_t)w->ns;
	for (int b = 0; b < w->nb; b++) {
		add_frames(w, b, w->samp[b], w->ns);
		free(w->samp[b]);
		w->samp[b] = NULL;
	}
}

void
vx_add(VxWriter *w, const char *id, int n, const float *const *fr)
{
	CHECK(n >= 1 && n <= VIDSET_MAXN);
	if (w->nf + n > (1L << 31) / 2)
		die("more than %ld frames in all", (1L << 31) / 2);
	w->id = egrow(w->id, &w->idcap, (size_t)w->nv + 1, sizeof(*w->id));
	w->off = egrow(w->off, &w->offcap, (size_t)w->nv + 2, sizeof(*w->off));
	w->id[w->nv++] = estrdup(id);
	w->nf += n;
	w->off[w->nv] = (int)w->nf;
	if (w->trained) {
		for (int b = 0; b < w->nb; b++)
			add_frames(w, b, fr[b], n);
		return;
	}
	for (int b = 0; b < w->nb; b++) {
		w->samp[b] = egrow(w->samp[b], &w->scap[b], (size_t)(w->ns + n) * w->Din,
		                   sizeof(float));
		memcpy(w->samp[b] + (size_t)w->ns * w->Din, fr[b], (size_t)n * w->Din * sizeof(float));
	}
	w->ns += n;
	if (w->ns >= w->c.train)
		train(w);
}

/* ---- the file ---- */

static void
efwrite(const void *p, size_t n, FILE *f, const char *name)
{
	if (n && fwrite(p, 1, n, f) != n)
		die("write %s:", name);
}

/* pad f to VX_ALIGN and start section s there */
static void
sec_begin(VxWriter *w, FILE *f, int s)
{
	static const char zero[VX_ALIGN];
	long at = ftell(f);

	if (at < 0)
		die("ftell %s:", w->tmp);
	efwrite(zero, (size_t)((VX_ALIGN - at % VX_ALIGN) % VX_ALIGN), f, w->tmp);
	w->h.sec_off[s] = (uint64_t)ftell(f);
}

static void
sec_end(VxWriter *w, FILE *f, int s)
{
	long at = ftell(f);

	if (at < 0)
		die("ftell %s:", w->tmp);
	w->h.sec_len[s] = (uint64_t)at - w->h.sec_off[s];
}

/* CRC-32 of n bytes at p, in pieces (zlib's length is 32-bit) */
static uint32_t
crc_of(const unsigned char *p, size_t n)
{
	unsigned long c = crc32(0L, Z_NULL, 0);

	for (size_t i = 0; i < n; i += 1u << 30)
		c = crc32(c, p + i, (uInt)MIN(n - i, (size_t)1 << 30));
	return (uint32_t)c;
}

static uint32_t
header_crc(const VxHeader *h)
{
	return crc_of((const unsigned char *)h, offsetof(VxHeader, hdr_crc));
}

/* VX_IVF: the frame rows list by list, increasing within a list (a counting sort of the frames by
 * list), and where each list starts (nlist + 1) */
static void
list_rows(const VxWriter *w, int b, int32_t *start, int32_t *row)
{
	long nl = w->c.nlist;
	int32_t *at = emalloc((size_t)nl * sizeof(*at));

	CHECK(w->nassigned[b] == w->nf);
	memset(start, 0, ((size_t)nl + 1) * sizeof(*start));
	for (long t = 0; t < w->nf; t++)
		start[w->list[b][t] + 1]++;
	for (long l = 0; l < nl; l++)
		start[l + 1] += start[l];
	memcpy(at, start, (size_t)nl * sizeof(*at));
	for (long t = 0; t < w->nf; t++)
		row[at[w->list[b][t]]++] = (int32_t)t;
	free(at);
}

/* branch b's codes from its spool (frame order), read through a mapping of it: in frame order,
 * or (VX_LISTORDER) the code of frame row[p] at p; sq8's in two planes, the high halves of the
 * codes, then the low */
static void
write_codes(VxWriter *w, int b, FILE *f, const int32_t *row)
{
	size_t cb = code_bytes(w->c.code, w->D, w->c.pq_m), n = (size_t)w->nf * cb;
	int planes = w->c.code == VX_SQ8 ? 2 : 1;
	size_t pb = cb / planes;
	const char *m;

	if (fflush(w->spool[b]))
		die("write temporary file:");
	m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fileno(w->spool[b]), 0);
	if (m == MAP_FAILED)
		die("mmap temporary file:");
	for (int k = 0; k < planes; k++)
		for (long p = 0; p < w->nf; p++)
			efwrite(m + (size_t)(w->h.order ? row[p] : p) * cb + k * pb, pb, f, w->tmp);
	munmap((void *)m, n);
}

void
vx_finish(VxWriter *w, const char *src)
{
	FILE *f;
	int fd;
	IdIndex ix;
	int32_t *start[VX_MAXBR] = { NULL }, *row[VX_MAXBR] = { NULL };

	if (w->nv == 0)
		die("%s: no videos", src);
	idindex_build(&ix, w->id, (int)w->nv, src);
	idindex_free(&ix);
	if (!w->trained)
		train(w);
	for (int b = 0; b < w->nb; b++) {
		code_batch(w, b);
		flush_pend(w, b);
	}
	w->h.nvideo = (uint64_t)w->nv;
	w->h.nframe = (uint64_t)w->nf;
	w->h.order = w->c.ann == VX_IVF && w->c.code != VX_F32 ? VX_LISTORDER : 0;

	tmp_register(w->tmp);
	if (!(f = fopen(w->tmp, "wb+")))
		die("open %s:", w->tmp);
	efwrite(&w->h, sizeof(w->h), f, w->tmp);
	sec_begin(w, f, VX_IDS);
	for (long v = 0; v < w->nv; v++)
		efwrite(w->id[v], strlen(w->id[v]) + 1, f, w->tmp);
	sec_end(w, f, VX_IDS);
	sec_begin(w, f, VX_OFF);
	efwrite(w->off, ((size_t)w->nv + 1) * sizeof(*w->off), f, w->tmp);
	sec_end(w, f, VX_OFF);
	for (int b = 0; b < w->nb; b++) {
		sec_begin(w, f, VX_CODEC0 + b);
		efwrite(w->codec[b], codec_floats(w->c.code, w->D, w->c.pdim, w->Din) * sizeof(float), f,
		        w->tmp);
		sec_end(w, f, VX_CODEC0 + b);
	}
	for (int b = 0; b < w->nb; b++) {
		if (w->c.ann == VX_IVF) {
			start[b] = emalloc(((size_t)w->c.nlist + 1) * sizeof(*start[b]));
			row[b] = emalloc((size_t)w->nf * sizeof(*row[b]));
			list_rows(w, b, start[b], row[b]);
		}
		sec_begin(w, f, VX_CODES0 + b);
		write_codes(w, b, f, row[b]);
		fclose(w->spool[b]);
		sec_end(w, f, VX_CODES0 + b);
	}
	for (int b = 0; b < w->nb; b++) {
		sec_begin(w, f, VX_ANN0 + b);
		if (w->c.ann == VX_IVF) {
			/* centroids, list starts, rows */
			efwrite(w->cent[b], (size_t)w->c.nlist * w->D * sizeof(float), f, w->tmp);
			efwrite(start[b], ((size_t)w->c.nlist + 1) * sizeof(*start[b]), f, w->tmp);
			efwrite(row[b], (size_t)w->nf * sizeof(*row[b]), f, w->tmp);
		} else if (fw_write(w->ann[b], f))
			die("write %s: FAISS: %s", w->tmp, fw_error());
		sec_end(w, f, VX_ANN0 + b);
	}
	if (fflush(f))
		die("write %s:", w->tmp);

	/* CRCs from what is on disk, through a read-only mapping */
	fd = fileno(f);
	{
		long size = ftell(f);
		unsigned char *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			die("mmap %s:", w->tmp);
		for (int s = 0; s < VX_NSEC; s++)
			w->h.sec_crc[s] = crc_of(m + w->h.sec_off[s], w->h.sec_len[s]);
		munmap(m, (size_t)size);
	}
	w->h.hdr_crc = header_crc(&w->h);
	if (pwrite(fd, &w->h, sizeof(w->h), 0) != (ssize_t)sizeof(w->h))
		die("write %s:", w->tmp);
	if (fsync(fd) || fclose(f))
		die("write %s:", w->tmp);
	if (rename(w->tmp, w->path))
		die("rename %s to %s:", w->tmp, w->path);
	tmp_unregister(w->tmp);

	for (long v = 0; v < w->nv; v++)
		free(w->id[v]);
	for (int b = 0; b < w->nb; b++) {
		free(w->codec[b]);
		free(w->batch[b]);
		free(w->pend[b]);
		free(w->pqtab[b]);
		fw_free(w->ann[b]);
		free(w->cent[b]);
		free(w->list[b]);
		free(start[b]), free(row[b]);
	}
	free(w->id), free(w->off), free(w->cbuf), free(w->path), free(w->tmp);
	free(w->dbuf), free(w->ibuf), free(w->ubuf);
	free(w);
}

/* ---- reading ---- */

_Noreturn static void
bad(const VxIndex *x, const char *what)
{
	die("%s: %s", x->path, what);
}

/* a VX_IVF section (its size checked): list starts from 0 to nframe, never decreasing; rows
 * in range */
static void
open_lists(VxIndex *x, int b)
{
	const char *p = (const char *)x->map + x->h.sec_off[VX_ANN0 + b];
	long nl = (long)x->h.nlist, nf = (long)x->h.nframe;
	const int32_t *start = (const int32_t *)(p + (size_t)nl * x->D * sizeof(float));
	const int32_t *row = start + nl + 1;
	char msg[128];
	int ok = start[0] == 0 && start[nl] == nf;

	for (long l = 0; ok && l < nl; l++)
		ok = start[l + 1] >= start[l];
	if (!ok) {
		snprintf(msg, sizeof(msg), "lists of %s: starts not increasing from 0 to %ld",
		         x->h.branch[b], nf);
		bad(x, msg);
	}
	for (long t = 0; t < nf; t++)
		if (row[t] < 0 || row[t] >= nf) {
			snprintf(msg, sizeof(msg), "lists of %s: a row out of range", x->h.branch[b]);
			bad(x, msg);
		}
	/* codes in list order: where each frame's code is, every frame exactly once */
	if (x->h.order == VX_LISTORDER) {
		x->pos[b] = emalloc((size_t)nf * sizeof(*x->pos[b]));
		for (long t = 0; t < nf; t++)
			x->pos[b][t] = -1;
		for (long t = 0; t < nf; t++) {
			if (x->pos[b][row[t]] >= 0) {
				snprintf(msg, sizeof(msg), "lists of %s: a frame listed twice",
				         x->h.branch[b]);
				bad(x, msg);
			}
			x->pos[b][row[t]] = (int32_t)t;
		}
	}
	x->cent[b] = (const float *)p;
	x->loff[b] = start;
	x->lrow[b] = row;
}

void
vx_open(VxIndex *x, const char *path)
{
	struct stat st;
	VxHeader *h = &x->h;
	int fd;
	char msg[256];
	const char *p, *end;

	memset(x, 0, sizeof(*x));
	x->path = estrdup(path);
	if ((fd = open(path, O_RDONLY)) < 0)
		die("open %s:", path);
	if (fstat(fd, &st))
		die("stat %s:", path);
	if ((size_t)st.st_size < sizeof(VxHeader))
		bad(x, "shorter than an index header (truncated, or not an index)");
	x->size = (size_t)st.st_size;
	if ((x->map = mmap(NULL, x->size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
		die("mmap %s:", path);
	close(fd);
	memcpy(h, x->map, sizeof(*h));
	if (memcmp(h->magic, VX_MAGIC, sizeof(VX_MAGIC)) != 0)
		bad(x, "not a frame index (no PRVRIDX magic; HINT: build it with prvr-index)");
	/* version 2 changed sq8's codes alone: version 1 files of other codes read the same;
	 * version 3 added pdim where the older header's CRC was */
	if (h->version < 1 || h->version > VX_VERSION || (h->version == 1 && h->code == VX_SQ8) ||
	    h->hdr_bytes != sizeof(VxHeader)) {
		snprintf(msg, sizeof(msg), "index version %u (header %u bytes), expected %d (%zu); "
		         "HINT: rebuild it with this prvr-index", h->version, h->hdr_bytes, VX_VERSION,
		         sizeof(VxHeader));
		bad(x, msg);
	}
	if (h->version < 3 ? crc_of((const unsigned char *)h, offsetof(VxHeader, pdim)) != h->pdim :
	    header_crc(h) != h->hdr_crc)
		bad(x, "header CRC mismatch (damaged file)");
	if (h->version < 3)
		h->pdim = 0;
	x->Din = (int)h->dim;
	x->D = h->pdim ? (int)h->pdim : x->Din;
	if (h->dim < 1 || h->dim > VIDSET_MAXDIM || h->nbranch < 1 || h->nbranch > VX_MAXBR ||
	    h->pdim > h->dim || (h->pdim && h->code == VX_F32) ||
	    h->nvideo < 1 || h->nvideo > (1u << 30) || h->nframe < h->nvideo ||
	    h->nframe > (1u << 30) || h->code >= VX_NCODE || h->ann >= VX_NANN ||
	    (h->code == VX_PQ && (h->pq_m < 1 || x->D % h->pq_m)) ||
	    (h->ann == VX_IVF && (h->nlist < 1 || h->nlist > FW_LISTS_MAX)) ||
	    (h->order && (h->order != VX_LISTORDER || h->ann != VX_IVF || h->code == VX_F32)) ||
	    /* the sq8 scan reads a list's planes in sequence */
	    (h->ann == VX_IVF && h->code == VX_SQ8 && h->order != VX_LISTORDER) ||
	    /* prvr-index's -p and -e limits: search allocates from them */
	    h->nprobe < 1 || h->nprobe > FW_LISTS_MAX || h->ef_search < 1 || h->ef_search > FW_EF_MAX)
		bad(x, "header values out of range");
	x->nb = (int)h->nbranch, x->nv = (int)h->nvideo;
	for (int b = 0; b < VX_MAXBR; b++)
		if (memchr(h->branch[b], 0, sizeof(h->branch[b])) == NULL)
			bad(x, "branch name not terminated");
	if (!memchr(h->model, 0, sizeof(h->model)) || !memchr(h->split, 0, sizeof(h->split)))
		bad(x, "model or split not terminated");
	for (int s = 0; s < VX_NSEC; s++) {
		int b = (s - VX_CODEC0) % 2;
		uint64_t want = UINT64_MAX;
		if (s == VX_OFF)
			want = (h->nvideo + 1) * sizeof(int);
		else if (s >= VX_CODEC0 && s <= VX_CODES1 && b < x->nb)
			want = s <= VX_CODEC1 ?
			       codec_floats((int)h->code, x->D, (int)h->pdim, x->Din) * sizeof(float) :
			       h->nframe * code_bytes((int)h->code, x->D, (int)h->pq_m);
		else if (s != VX_IDS && s != VX_ANN0 && !(s == VX_ANN1 && x->nb == 2))
			want = 0;
		else if (s != VX_IDS && h->ann == VX_IVF)
			want = own_ivf_bytes(h->nlist, x->D, h->nframe);
		if (h->sec_off[s] > x->size || h->sec_len[s] > x->size - h->sec_off[s] ||
		    (want != UINT64_MAX && h->sec_len[s] != want) || h->sec_off[s] % VX_ALIGN) {
			snprintf(msg, sizeof(msg), "section %s: %llu bytes at %llu do not fit the header "
			         "or the file (%zu bytes; truncated?)", sec_name[s],
			         (unsigned long long)h->sec_len[s], (unsigned long long)h->sec_off[s],
			         x->size);
			bad(x, msg);
		}
		if (crc_of((const unsigned char *)x->map + h->sec_off[s], h->sec_len[s]) != h->sec_crc[s]) {
			snprintf(msg, sizeof(msg), "section %s: CRC mismatch (damaged file)", sec_name[s]);
			bad(x, msg);
		}
	}
	/* ids: exactly nvideo NUL-terminated strings */
	x->id = emalloc((size_t)x->nv * sizeof(*x->id));
	p = (const char *)x->map + h->sec_off[VX_IDS];
	end = p + h->sec_len[VX_IDS];
	for (int v = 0; v < x->nv; v++) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		if (!z)
			bad(x, "section ids: fewer ids than videos");
		x->id[v] = (char *)p;
		p = z + 1;
	}
	if (p != end)
		bad(x, "section ids: more ids than videos");
	x->off = (const int *)((const char *)x->map + h->sec_off[VX_OFF]);
	if (x->off[0] != 0 || (uint64_t)x->off[x->nv] != h->nframe)
		bad(x, "section offsets: do not span the frames");
	for (int v = 0; v < x->nv; v++) {
		long n = (long)x->off[v + 1] - x->off[v];   /* offsets are any int: no overflow */
		if (n < 1 || n > VIDSET_MAXN)
			bad(x, "section offsets: a video without frames or with too many");
		x->maxn = MAX(x->maxn, (int)n);
	}
	for (int b = 0; b < x->nb; b++) {
		x->codes[b] = (const char *)x->map + h->sec_off[VX_CODES0 + b];
		x->codec[b] = (const float *)((const char *)x->map + h->sec_off[VX_CODEC0 + b]);
		if (h->pdim) {
			x->proj[b] = x->codec[b];
			x->codec[b] += (size_t)h->pdim * x->Din;
		}
		if (h->ann == VX_IVF)
			open_lists(x, b);
	}
	x->vid = emalloc((size_t)h->nframe * sizeof(*x->vid));
	for (int v = 0; v < x->nv; v++)
		for (int t = x->off[v]; t < x->off[v + 1]; t++)
			x->vid[t] = v;
	/* the scan reads the videos of a list's entries in sequence, not scattered over vid */
	for (int b = 0; h->ann == VX_IVF && b < x->nb; b++) {
		x->lvid[b] = emalloc((size_t)h->nframe * sizeof(*x->lvid[b]));
		for (uint64_t e = 0; e < h->nframe; e++)
			x->lvid[b][e] = x->vid[x->lrow[b][e]];
	}
	idindex_build(&x->ix, x->id, x->nv, path);
}

void
vx_load_ann(VxIndex *x)
{
	char msg[512];

	if (x->h.ann == VX_IVF)
		return;
	for (int b = 0; b < x->nb; b++) {
		FwIndex *a = fw_read((const char *)x->map + x->h.sec_off[VX_ANN0 + b],
		                     x->h.sec_len[VX_ANN0 + b]);
		if (!a) {
			snprintf(msg, sizeof(msg), "FAISS structure of %s: %s", x->h.branch[b], fw_error());
			bad(x, msg);
		}
		x->ann[b] = a;         /* before its checks: vx_close frees it */
		if ((uint64_t)fw_ntotal(a) != x->h.nframe || fw_dim(a) != x->D) {
			snprintf(msg, sizeof(msg), "FAISS structure of %s: %ld vectors of dim %d, header "
			         "says %llu of dim %d", x->h.branch[b], fw_ntotal(a), fw_dim(a),
			         (unsigned long long)x->h.nframe, x->D);
			bad(x, msg);
		}
		/* prvr-search sizes its probe tables by the header's nlist */
		if (fw_nlist(a) != (is_ivf((int)x->h.ann) ? (long)x->h.nlist : -1)) {
			snprintf(msg, sizeof(msg), "FAISS structure of %s: %ld inverted lists, header "
			         "says %s %u", x->h.branch[b], fw_nlist(a), vx_ann_name[x->h.ann],
			         x->h.nlist);
			bad(x, msg);
		}
	}
}

void
vx_close(VxIndex *x)
{
	for (int b = 0; b < x->nb; b++)
		fw_free(x->ann[b]), free(x->pos[b]), free(x->lvid[b]);
	idindex_free(&x->ix);
	munmap(x->map, x->size);
	free(x->id);
	free(x->vid);
	free(x->path);
	memset(x, 0, sizeof(*x));
}

/* sq8 query tables: [q . min, (q * step)[D], s, cut, s8, mid8, w16[D] as int16 in (D + 1) / 2
 * floats, w8[2 SQ8_H] as int8 in SQ8_H / 2 floats (rounded up)], where
 * - w16 = round((q * step) / s) is what the re-score's first look uses: integer products with
 *   the bytes, s the scale that keeps 255 * D * |w16| within int32; cut bounds how far below the
 *   best integer product of a video a frame's can be and still hold its best float score
 *   (sq8_cut);
 * - w8 = round((q * step) / s8), |w8| <= 127, in plane order (the weights of the dims in the low
 *   halves of a plane's bytes, then of those in the high halves), is what list scans use with
 *   the high nibbles h: the first-pass score t0 + s8 (16 w8 . h + mid8), mid8 = 8 sum w8 (the
 *   low nibble taken as its middle; a constant, so it ranks no frame differently).
 * The offsets, declared once: */
#define SQ8_SCALE(D) ((D) + 1)
#define SQ8_CUT(D) ((D) + 2)
#define SQ8_SCALE8(D) ((D) + 3)
#define SQ8_MID8(D) ((D) + 4)
#define SQ8_W16(tab, D) ((int16_t *)((tab) + (D) + 5))
#define SQ8_W8(tab, D) ((int8_t *)((tab) + (D) + 5 + ((D) + 1) / 2))

void
vx_queries(const VxIndex *x, int b, float *q, long n, float *out)
{
	unit_projected(q, n, x->Din, x->proj[b], x->D, out);
}

size_t
vx_query_floats(const VxIndex *x)
{
	size_t D = (size_t)x->D;

	return x->h.code == VX_PQ ? (size_t)x->h.pq_m << PQ_BITS :
	       x->h.code == VX_SQ8 ? D + 5 + (D + 1) / 2 + (SQ8_H(D) + 1) / 2 : D;
}

/* sq8: the float score of a frame of code c is F(c) = fl(t0 + dot_u8(wf, c)) (t0 = q . min,
 * wf = q * step), its integer one I(c) = w16 . c, exact. With G(c) = sum wf_j c_j in reals,
 *   |G(c) - s I(c)| <= A = 255 sum |wf_j - s w16_j|     (0 <= c_j <= 255)
 *   |F(c) - t0 - G(c)| <= R = g (|t0| + 255 sum |wf_j|), g = n u / (1 - n u), u = 2^-24,
 * n = D + 35 bounding the roundings on any term's way (a product, D / 32 lane sums, the D % 32 tail,
 * 32 lane totals, t0; the usual bound of a float sum), so a frame whose I is more than
 * 2 (A + R) / s below the video's best I scores below that best frame's F: it cannot hold the
 * maximum, and is skipped (R holds while no float sum overflows: |t0| + 255 sum |wf_j| bounds
 * every partial sum). Returned in units of I, rounded up with a margin for this double
 * arithmetic; INFINITY (no frame skipped) when the table is not finite or could overflow */
static float
sq8_cut(const float *tab, int D)
{
	const int16_t *w16 = SQ8_W16(tab, D);
	double s = tab[SQ8_SCALE(D)], a = 0, r = fabs(tab[0]), u = ldexp(1, -24), n = D + 35;
	double cut;

	for (int j = 0; j < D; j++) {
		a += fabs(tab[1 + j] - s * w16[j]);
		r += 255 * fabs(tab[1 + j]);
	}
	cut = 2 * (255 * a + n * u / (1 - n * u) * r) / s;
	return isfinite(cut) && cut < 1e7 && r < FLT_MAX / 2 ? (float)ceil(cut * (1 + 1e-6)) + 1 :
	       INFINITY;
}

void
vx_query(const VxIndex *x, int b, const float *qn, float *tab)
{
	const float *cd = x->codec[b];
	int D = x->D, m = (int)x->h.pq_m;

	switch (x->h.code) {
	case VX_SQ8:
		/* q . (min + code * step) = q . min + (q * step) . code */
		tab[0] = cblas_sdot(D, qn, 1, cd, 1);
		for (int j = 0; j < D; j++)
			tab[1 + j] = qn[j] * cd[D + j];
		{
			float big = 0, top = (float)MIN(16383, INT32_MAX / (255L * D)), s8;
			int16_t *w16 = SQ8_W16(tab, D);
			int8_t *w8 = SQ8_W8(tab, D);
			int sum = 0;
			for (int j = 0; j < D; j++)
				big = fmaxf(big, fabsf(tab[1 + j]));
			tab[SQ8_SCALE(D)] = big > 0 ? big / top : 1;
			for (int j = 0; j < D; j++)
				w16[j] = (int16_t)lrintf(tab[1 + j] / tab[SQ8_SCALE(D)]);
			tab[SQ8_CUT(D)] = sq8_cut(tab, D);
			s8 = tab[SQ8_SCALE8(D)] = big > 0 ? big / 127 : 1;
			for (int j = 0; j < 2 * SQ8_H(D); j++) {        /* plane order is dim order */
				w8[j] = j < D ? (int8_t)lrintf(fminf(fmaxf(tab[1 + j] / s8, -127), 127)) : 0;
				sum += w8[j];
			}
			tab[SQ8_MID8(D)] = 8.0f * (float)sum;
		}
		break;
	case VX_PQ:
		/* centroids (m, 256, ds): a (m x 256, ds) matrix times each sub-vector of q */
		for (int j = 0; j < m; j++)
			cblas_sgemv(CblasRowMajor, CblasNoTrans, 1 << PQ_BITS, D / m, 1.0f,
			            cd + ((size_t)j << PQ_BITS) * (D / m), D / m, qn + j * (D / m), 1,
			            0.0f, tab + ((size_t)j << PQ_BITS), 1);
		break;
	default:
		memcpy(tab, qn, (size_t)D * sizeof(*tab));
	}
}

/* w . c over D bytes c, in integers (exact, so the order of the sums does not matter): one
 * plain reduction, which search.mk lets the compiler vectorise (16-bit multiply-adds of pairs:
 * vpmaddwd where the CPU has AVX2) */
__attribute__((target_clones("avx2", "default")))
static int32_t
dot_u8_i16(const int16_t *w, const uint8_t *c, int D)
{
	int32_t s = 0;

	for (int j = 0; j < D; j++)
		s += w[j] * (int16_t)c[j];
	return s;
}

/* w . c over D bytes c; 32 partial sums, so that the compiler keeps them in vector lanes
 * (four AVX2 registers where the CPU has it, chosen at load time; the sums are the same), four
 * chains of additions that do not wait on each other's latency */
__attribute__((target_clones("avx2", "default")))
static float
dot_u8(const float *w, const uint8_t *c, int D)
{
	float acc[32] = { 0 }, s = 0;
	int j = 0;

	for (; j + 32 <= D; j += 32)
		for (int l = 0; l < 32; l++)
			acc[l] += w[j + l] * (float)c[j + l];
	for (; j < D; j++)
		s += w[j] * (float)c[j];
	for (int l = 0; l < 32; l++)
		s += acc[l];
	return s;
}

/* the code of frame row r of branch b (not sq8's: two planes, sq8_hi) */
static const uint8_t *
code_of(const VxIndex *x, int b, long r)
{
	size_t cb = code_bytes((int)x->h.code, x->D, (int)x->h.pq_m);

	return (const uint8_t *)x->codes[b] + (size_t)(x->pos[b] ? x->pos[b][r] : r) * cb;
}

/* the high-nibble plane of sq8 frame row r of branch b (its low one: nframe * SQ8_H further) */
static const uint8_t *
sq8_hi(const VxIndex *x, int b, long r)
{
	return (const uint8_t *)x->codes[b] + (size_t)(x->pos[b] ? x->pos[b][r] : r) * SQ8_H(x->D);
}

/* the cosine of code c (not sq8) with the query of table tab */
static float
code_score(const VxIndex *x, const uint8_t *c, const float *tab, float *scratch)
{
	int D = x->D, m = (int)x->h.pq_m;
	const float *f = (const float *)c;
	float d = 0;

	switch (x->h.code) {
	case VX_PQ:
		for (int j = 0; j < m; j++)
			d += tab[(size_t)j << PQ_BITS | c[j]];
		return d;
	case VX_F16:
		decode_f16(scratch, c, (size_t)D);
		return cblas_sdot(D, scratch, 1, tab, 1);
	default:
		return cblas_sdot(D, f, 1, tab, 1) / fmaxf(cblas_snrm2(D, f, 1), 1e-12f);
	}
}

long
vx_scan_best(const VxIndex *x, int b, int l, const float *tab, float *best, int32_t *seen, long ns,
             float *s, float *scratch)
{
	size_t cb = code_bytes((int)x->h.code, x->D, (int)x->h.pq_m);
	const char *codes = x->codes[b];
	const int32_t *row = x->lrow[b] + x->loff[b][l], *vid = x->lvid[b] + x->loff[b][l];
	int n = x->loff[b][l + 1] - x->loff[b][l], D = x->D;

	if (x->h.code == VX_SQ8)           /* always in list order: the list's planes in sequence */
		return sq8_scan_best(SQ8_W8(tab, D),
		                     (const uint8_t *)codes + (size_t)x->loff[b][l] * SQ8_H(D), n,
		                     SQ8_H(D), tab[0], tab[SQ8_SCALE8(D)], tab[SQ8_MID8(D)], vid, best,
		                     seen, ns);
	for (int j = 0; j < n; j++) {
		const uint8_t *c;
		if (x->pos[b])     /* list order: the list's codes in sequence */
			c = (const uint8_t *)codes + (size_t)(x->loff[b][l] + j) * cb;
		else {
			c = (const uint8_t *)codes + (size_t)row[j] * cb;
			/* rows scattered over the codes: fetch a later one while scoring this one */
			if (j + VX_AHEAD < n)
				for (size_t o = 0; o < cb; o += 64)
					__builtin_prefetch(codes + (size_t)row[j + VX_AHEAD] * cb + o);
		}
		s[j] = code_score(x, c, tab, scratch);
	}
	for (int j = 0; j < n; j++)
		ns = best_raise(best, seen, ns, vid[j], s[j]);
	return ns;
}

/* sq8: the max over video v's frames of their float scores; the frames' bytes are joined from
 * their planes into scratch (n x D bytes) and their integer products kept (is, n); the float
 * kernel is taken only of the frames whose integer product is within the table's cut of the
 * video's best (sq8_cut: the same maximum, the float kernel on a few frames instead of all), or
 * of every frame (all) */
static float
sq8_max(const VxIndex *x, int b, int v, const float *tab, uint8_t *c, int32_t *is, int all)
{
	long f0 = x->off[v], n = x->off[v + 1] - f0;
	int D = x->D;
	size_t H = SQ8_H(D), lo = x->h.nframe * H;
	const int16_t *w16 = SQ8_W16(tab, D);
	double cut = all ? INFINITY : tab[SQ8_CUT(D)];
	int32_t top = INT32_MIN;
	float best = -INFINITY;

	for (long t = 0; t < n; t++) {
		const uint8_t *h = sq8_hi(x, b, f0 + t);
		/* in list order a video's codes are scattered: fetch a later one while joining this */
		if (t + VX_AHEAD < n) {
			const uint8_t *a = sq8_hi(x, b, f0 + t + VX_AHEAD);
			for (size_t o = 0; o < H; o += 64)
				__builtin_prefetch(a + o), __builtin_prefetch(a + lo + o);
		}
		sq8_join(h, h + lo, D, c + t * D);
		is[t] = dot_u8_i16(w16, c + t * D, D);
		top = MAX(top, is[t]);
	}
	for (long t = 0; t < n; t++)
		if ((double)top - is[t] <= cut)
			best = fmaxf(best, tab[0] + dot_u8(tab + 1, c + t * D, D));
	return best;
}

float
vx_score(const VxIndex *x, int b, int v, const float *tab, float *scratch, int all)
{
	long n = x->off[v + 1] - x->off[v];
	const float *f;
	float *s = scratch + (size_t)x->maxn * x->D, best = -INFINITY;

	switch (x->h.code) {
	case VX_SQ8:
		return sq8_max(x, b, v, tab, (uint8_t *)scratch, (int32_t *)s, all);
	case VX_PQ:
		for (long t = 0; t < n; t++)
			best = fmaxf(best, code_score(x, code_of(x, b, x->off[v] + t), tab, NULL));
		return best;
	case VX_F16:
		for (long t = 0; t < n; t++)
			decode_f16(scratch + t * x->D, code_of(x, b, x->off[v] + t), (size_t)x->D);
		f = scratch;
		break;
	default:           /* f32 codes (never in list order) are the frames, in place */
		f = (const float *)code_of(x, b, x->off[v]);
	}
	cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, x->D, 1.0f, f, x->D, tab, 1, 0.0f, s, 1);
	/* raw frames are normalised here; decoded ones were unit vectors when encoded, and the
	 * dot product with them is taken as their cosine */
	for (long t = 0; t < n; t++)
		best = fmaxf(best, x->h.code == VX_F32 ?
		             s[t] / fmaxf(cblas_snrm2(x->D, f + t * x->D, 1), 1e-12f) : s[t]);
	return best;
}
