/* pqenc: encoding of product-quantised frames (prvr-index -c pq). A D-dim vector is cut into m
 * sub-vectors of D/m dims; each is coded by the byte of its nearest centroid by squared L2
 * among the PQ_K of its sub-space. The centroids are FAISS's (lib/faissw.h fw_pq_train); the
 * encoding is here, because Debian's generic libfaiss encodes small sub-vectors with scalar
 * loops. Ties go to the lower centroid; a code depends on its vector alone, not on the thread
 * count. Not here: training, decoding and scoring (lib/vindex.c). */
#ifndef PQENC_H
#define PQENC_H

#include <stdint.h>

#define PQ_BITS 8                /* one byte a sub-vector */
#define PQ_K    (1 << PQ_BITS)   /* centroids a sub-space */

/* floats of the encoding table of D-dim vectors in m sub-vectors */
long pq_table_floats(int D, int m);
/* the table from the centroids cent (m, PQ_K, D / m), as fw_pq_train hands them out: per
 * sub-space the centroids dims-major ((D / m, PQ_K): each coordinate of the PQ_K contiguous)
 * and their squared norms (PQ_K) */
void pq_table(float *tab, const float *cent, int D, int m);
/* codes (n, m) of the vectors x (n, D) */
void pq_encode(uint8_t *codes, const float *tab, const float *x, long n, int D, int m);

#endif
