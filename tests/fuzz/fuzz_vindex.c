/* fuzz_vindex: the frame index file of prvr-index / prvr-search (lib/vindex.c) as prvr-search
 * opens it: vx_open (the header and section checks, on the mapped file), then every frame's
 * owner and every video's score from the stored codes (vx_query, vx_score) in every branch;
 * then vx_load_ann (lib/faissw.cpp's walk of the FAISS serialisation, then libfaiss's reader)
 * and prvr-search's candidate stage on what it accepted: an IVF structure probed with the
 * header's nprobe and every row of the probed lists scored from FAISS's codes, an HNSW one
 * searched with the header's ef_search for 8 frames, each in range.
 * The input is the file; it is read twice, as it is and with the CRC of every section that fits
 * in the file and of the header made right, so that mutations reach past the checksums.
 * libfaiss is not instrumented: a bad read inside it shows only when it faults. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "fuzz.h"
#include "util.h"
#include "vindex.h"

/* the index of the current run: when it dies, its FAISS structures (C++ objects, which the
 * release of fuzz.c would give back with free) are deleted first */
static VxIndex *live;

static void
free_faiss(void)
{
	for (int b = 0; b < VX_MAXBR; b++) {
		fw_free(live->ann[b]);
		live->ann[b] = NULL;
	}
}

/* one thread, and FAISS's and OpenMP's lazily made state (thread pool, tables) made here, outside
 * any run, so that a run that dies does not give it back */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const float v[4][2] = { { 1, 0 }, { 0, 1 }, { -1, 0 }, { 0, -1 } };
	float score[2];
	int64_t row[2];
	FwIndex *h, *ivf;

	fuzz_init();
	fw_threads(1);
	CHECK((h = fw_new(2, "HNSW4")) && (ivf = fw_new(2, "IVF1,Flat")));
	CHECK(!fw_add(h, 4, v[0]) && !fw_train(ivf, 4, v[0]) && !fw_add(ivf, 4, v[0]));
	CHECK(!fw_search(h, 1, v[0], 2, score, row) && !fw_search(ivf, 1, v[0], 2, score, row));
	fw_free(ivf);
	fw_free(h);
	fuzz_before_release = free_faiss;
	return 0;
}

/* prvr-search's candidate stage for the unit query qn on a FAISS structure a of x */
static void
faiss_candidates(const VxIndex *x, FwIndex *a, const float *qn)
{
	enum { K = 8 };
	long nf = (long)x->h.nframe;
	long ns;
	int width = (int)MIN((long)x->h.nprobe, (long)x->h.nlist);
	float score[K], *best = efloats((size_t)x->nv), *lscore;
	int64_t row[K], *list;
	int32_t *seen = emalloc(((size_t)x->nv + 1) * sizeof(*seen));   /* best_raise: one more */
	FwScan *s;

	if (fw_set(a, (int)x->h.nprobe, (int)x->h.ef_search))
		die("fw_set: %s", fw_error());
	if (fw_nlist(a) < 0) {
		if (fw_search(a, 1, qn, K, score, row))
			die("FAISS search: %s", fw_error());
		for (int j = 0; j < K; j++)
			if (row[j] < -1 || row[j] >= nf)
				abort();   /* the walk let through a graph that yields rows out of range */
	} else {
		lscore = efloats((size_t)width);
		list = emalloc((size_t)width * sizeof(*list));
		for (int v = 0; v < x->nv; v++)
			best[v] = -INFINITY;
		if (fw_probe(a, 1, qn, width, lscore, list) || !(s = fw_scan_new(a)))
			die("FAISS probe: %s", fw_error());
		ns = fw_scan_max(s, qn, width, list, lscore, x->vid, nf, best, seen, 0);
		fw_scan_free(s);
		if (ns < 0)
			die("FAISS scan: %s", fw_error());
		free(list);
		free(lscore);
	}
	free(seen);
	free(best);
}

static void
open_and_score(void *path)
{
	static VxIndex x;
	float *q, *qn[VX_MAXBR], *tab, *scratch;

	live = &x;
	vx_open(&x, path);
	q = efloats((size_t)x.Din);
	tab = efloats(vx_query_floats(&x));
	scratch = efloats((size_t)x.maxn * (x.D + 1));
	for (int b = 0; b < x.nb; b++) {   /* the query of ones, unit and (pdim) projected */
		for (int j = 0; j < x.Din; j++)
			q[j] = 1.0f;
		qn[b] = efloats((size_t)x.D);
		vx_queries(&x, b, q, 1, qn[b]);
	}
	for (int v = 0; v < x.nv; v++)
		for (int f = x.off[v]; f < x.off[v + 1]; f++)
			if (x.vid[f] != v)
				abort();   /* vx_open let through offsets its frame-to-video table disagrees with */
	for (int b = 0; b < x.nb; b++) {
		vx_query(&x, b, qn[b], tab);
		for (int v = 0; v < x.nv; v++) {
			float s = vx_score(&x, b, v, tab, scratch, 0), all = vx_score(&x, b, v, tab, scratch, 1);
			if (memcmp(&s, &all, sizeof(s)))
				abort();   /* sq8's integer pre-selection missed the best float score */
		}
	}
	vx_load_ann(&x);
	for (int b = 0; b < x.nb; b++)
		if (x.ann[b])
			faiss_candidates(&x, x.ann[b], qn[b]);
	for (int b = 0; b < x.nb; b++)
		free(qn[b]);
	free(scratch);
	free(tab);
	free(q);
	vx_close(&x);
}

static uint32_t
crc(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VxHeader h;
	uint8_t *fixed;

	fuzz_run(open_and_score, (void *)fuzz_file("index.vx", data, size));
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	for (int s = 0; s < VX_NSEC; s++)
		if (h.sec_off[s] <= size && h.sec_len[s] <= size - h.sec_off[s])
			h.sec_crc[s] = crc(data + h.sec_off[s], (size_t)h.sec_len[s]);
	if (h.version < 3)   /* before pdim, the header's CRC stood in its place */
		h.pdim = crc((const uint8_t *)&h, offsetof(VxHeader, pdim));
	else
		h.hdr_crc = crc((const uint8_t *)&h, offsetof(VxHeader, hdr_crc));
	fixed = malloc(size);
	memcpy(fixed, data, size);
	memcpy(fixed, &h, sizeof(h));
	fuzz_run(open_and_score, (void *)fuzz_file("index.vx", fixed, size));
	free(fixed);
	return 0;
}
