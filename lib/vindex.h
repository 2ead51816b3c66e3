/* vindex: the frame index file of prvr-index / prvr-search (doc/frame-index.md).
 *
 * One file holds a gallery of videos encoded by one model: a fixed header (what it holds, where
 * each section is, a CRC-32 per section and of the header), the video ids, the frame offsets,
 * and per branch (inh, exp) the frames as stored codes (f32: the raw encodings, bit for bit;
 * f16, sq8, pq: the L2-normalised frames compressed) with their codec parameters, and a FAISS
 * candidate structure over the normalised frames (IVF-Flat/SQ8/PQ or HNSW-Flat/SQ8).
 * Optionally (pdim) the normalised frames are first projected onto the pdim principal directions
 * of the training sample (an orthonormal basis of its second moment's leading eigenvectors'
 * span, turned by a fixed random rotation; one projection a branch):
 * codes, lists and FAISS then work in pdim dims, and queries are projected alike.
 * Writing streams: videos are added one at a time; the first `train` frames are kept to train
 * the codecs and FAISS, later ones are encoded and added at once, codes spooled to unnamed
 * temporary files, so memory is the sample, the FAISS structures and the ids. The file appears
 * by rename when complete (PATH.tmp.PID before, removed by die() and on signals).
 * Reading maps the file: codes are used in place; FAISS structures are deserialised from the
 * mapping. Every section is checked against the header and its CRC before use.
 * Little-endian hosts only (checked). Not here: streams, ranking (tools/prvr-*.c). */
#ifndef VINDEX_H
#define VINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "faissw.h"
#include "vidset.h"

#define VX_MAXBR 2

enum { VX_F32, VX_F16, VX_SQ8, VX_PQ, VX_NCODE };                 /* stored codes */
/* candidate structure: FAISS's, or VX_IVF: inverted lists of frame rows over the stored codes
 * (FAISS's spherical k-means centroids; no second copy of the frames) */
enum { VX_IVFFLAT, VX_IVFSQ, VX_IVFPQ, VX_HNSW, VX_HNSWSQ, VX_IVF, VX_NANN };
extern const char *const vx_code_name[VX_NCODE];   /* "f32", "f16", "sq8", "pq" */
extern const char *const vx_ann_name[VX_NANN];     /* "ivf-flat", .., "hnsw-sq", "ivf" */

typedef struct {
	int code;              /* VX_F32 .. */
	int pq_m;              /* stored pq: sub-vectors = bytes a frame (divides dim) */
	int ann;               /* VX_IVFFLAT .. */
	int nlist;             /* ivf-*: inverted lists */
	int ivf_m, ivf_bits;   /* ivf-pq: sub-vectors (divides dim), bits each */
	int hnsw_m;            /* hnsw*: links per node */
	int nprobe, ef_search; /* search defaults written to the header */
	long train;            /* frames sampled (the first ones) to train codecs and FAISS */
	int pdim;              /* > 0: frames projected onto this many principal directions */
} VxConfig;

/* ---- on disk ---- */

/* the header's order: VX_IVF's compressed codes (f16, sq8, pq) are stored list by list, so that a
 * list is scanned in sequence; f32 codes stay in frame order (prvr-search -E reads them video by
 * video) */
#define VX_LISTORDER 1

enum { VX_IDS, VX_OFF, VX_CODEC0, VX_CODEC1, VX_CODES0, VX_CODES1, VX_ANN0, VX_ANN1, VX_NSEC };

typedef struct {
	char magic[8];             /* "PRVRIDX\0" */
	uint32_t version, hdr_bytes;
	uint32_t dim, nbranch;
	uint64_t nvideo, nframe;
	uint32_t code, pq_m, ann, nlist, ivf_m, ivf_bits, hnsw_m, nprobe, ef_search;
	uint32_t order;            /* 0: codes in frame order; VX_LISTORDER: in the ivf lists' order */
	uint64_t train;            /* frames actually trained on */
	char branch[VX_MAXBR][8];  /* "inh", "exp", NUL-padded */
	char model[64];            /* the encoded-videos header's "model", or "" */
	char split[64];
	uint64_t sec_off[VX_NSEC], sec_len[VX_NSEC];
	uint32_t sec_crc[VX_NSEC];
	uint32_t pdim;             /* 0, or the projected dim of the codes (version 3 on; before it
	                              the header's CRC stood here, over the bytes before it) */
	uint32_t hdr_crc;          /* CRC-32 of the bytes before it */
} VxHeader;

/* ---- writing ---- */

typedef struct VxWriter VxWriter;

/* D: the encodings' dim; src names the input in messages (c not fitting its dim) */
VxWriter *vx_create(const char *path, const VxConfig *c, int D, char **branch, int nb,
                    const char *model, const char *split, const char *src);
/* one video of n frames; fr[b] (n, D) raw encodings of branch b */
void vx_add(VxWriter *w, const char *id, int n, const float *const *fr);
/* train (when fewer than c->train frames came), write, rename; frees w. src names the input
 * in messages (a duplicate id) */
void vx_finish(VxWriter *w, const char *src);

/* ---- reading ---- */

typedef struct {
	char *path;
	VxHeader h;
	void *map;
	size_t size;
	int nv, nb;
	int Din;                   /* the encodings' dim (h.dim): queries have it */
	int D;                     /* the codes' dim: Din, or h.pdim when projected */
	int maxn;                  /* frames of the longest video */
	char **id;                 /* (nv) into the mapping */
	const int *off;            /* (nv + 1) into the mapping */
	const void *codes[VX_MAXBR];
	const float *codec[VX_MAXBR];
	const float *proj[VX_MAXBR];   /* pdim: (D, Din), rows spanning the principal directions */
	FwIndex *ann[VX_MAXBR];    /* NULL until vx_load_ann; always NULL for VX_IVF */
	const float *cent[VX_MAXBR];   /* VX_IVF: (nlist, D) unit centroids */
	const int32_t *loff[VX_MAXBR]; /* VX_IVF: (nlist + 1) where each list starts in lrow */
	const int32_t *lrow[VX_MAXBR]; /* VX_IVF: (nframe) frame rows, list by list */
	int32_t *pos[VX_MAXBR];    /* VX_LISTORDER: (nframe) where each frame's code is; else NULL */
	int32_t *lvid[VX_MAXBR];   /* VX_IVF: (nframe) the video of each list entry, vid[lrow[p]] */
	IdIndex ix;
	int32_t *vid;              /* (nframe) the video owning each frame */
} VxIndex;

/* map and check everything but the FAISS structures; dies "PATH: what is wrong" */
void vx_open(VxIndex *x, const char *path);
/* deserialise the FAISS structures (none for VX_IVF); dies naming the file */
void vx_load_ann(VxIndex *x);
void vx_close(VxIndex *x);

/* n queries q (n, Din) of branch b made unit and (pdim) projected into out (n, D), the vectors
 * vx_query and the candidate structures take; q is normalised in place */
void vx_queries(const VxIndex *x, int b, float *q, long n, float *out);
/* floats of a query table (vx_query) */
size_t vx_query_floats(const VxIndex *x);
/* the table of the unit query qn (D) against branch b's codes, so that scoring reads codes without
 * decoding them: sq8: (q . min, q * step), pq: the (m, 256) sub-vector inner products, f16 and
 * f32: qn itself */
void vx_query(const VxIndex *x, int b, const float *qn, float *tab);
/* VX_IVF: the cosines of list l's frames with the query of table tab in branch b, each raising
 * its video's best first-pass score (best, seen, ns: lib/sq8nib.h best_raise); returns the seen
 * count. sq8: a first pass, from the high nibbles of the codes (half their bytes) and the query
 * table rounded to 8-bit integers; other codes: their cosines, through s (list length). In
 * sequence through the codes when they are in list order, else row by row */
long vx_scan_best(const VxIndex *x, int b, int l, const float *tab, float *best, int32_t *seen,
                  long ns, float *s, float *scratch);
/* max over video v's frames of the cosine with the query of table tab in branch b, from the
 * stored codes; scratch holds maxn x (D + 1) floats. sq8: the float score is taken only of the
 * frames whose integer score (bytes x 16-bit weights) is within the table's rounding bound of the
 * video's best, unless all: the same maximum, bit for bit, all = 1 being the reference */
float vx_score(const VxIndex *x, int b, int v, const float *tab, float *scratch, int all);

#endif
