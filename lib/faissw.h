/* faissw: the few FAISS calls prvr-index and prvr-search make, behind a C interface (Debian's
 * libfaiss-dev 1.7.3 ships libfaiss.a without FAISS's own C API). lib/faissw.cpp is the only C++
 * in the project: it catches every exception, so a call either succeeds or returns an error
 * (-1 or NULL) with the reason in fw_error(); nothing here exits or prints.
 * Indexes hold unit vectors under the inner-product metric (cosine), their ids are the rows in
 * the order added. Product quantisers (FwPQ) are trained here and their centroids handed back;
 * encoding is lib/pqenc.c's, decoding lib/vindex.c's.
 * Not here: the index file, its checks, scoring (lib/vindex.c). */
#ifndef FAISSW_H
#define FAISSW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* the largest list count / probe count and HNSW search width an index may hold: prvr-index's
 * -n/-p and -e limits, and the bounds every reader checks a stored header or FAISS section by */
#define FW_LISTS_MAX (1 << 24)
#define FW_EF_MAX    (1 << 20)

#ifdef __cplusplus
extern "C" {
#endif

typedef struct FwIndex FwIndex;
typedef struct FwPQ FwPQ;
typedef struct FwScan FwScan;

/* the reason of the last failed call */
const char *fw_error(void);
/* OpenMP threads FAISS may use */
void fw_threads(int n);

/* an empty index of D-dim vectors built by FAISS's index_factory(D, spec, inner product) */
FwIndex *fw_new(int D, const char *spec);
int  fw_is_trained(const FwIndex *x);
int  fw_train(FwIndex *x, long n, const float *v);          /* v (n, D) */
int  fw_add(FwIndex *x, long n, const float *v);            /* v (n, D), ids ntotal.. */
long fw_ntotal(const FwIndex *x);
int  fw_dim(const FwIndex *x);
/* inverted lists of an IVF index; -1 when x is not IVF */
long fw_nlist(const FwIndex *x);
/* nprobe of an IVF index, efSearch of an HNSW one (0: leave); -1 when the index has neither */
int  fw_set(FwIndex *x, int nprobe, int efsearch);
/* the k best rows of x for each of the nq queries q (nq, D): score (nq, k), row (nq, k), -1 when
 * fewer than k were found */
int  fw_search(const FwIndex *x, long nq, const float *q, int k, float *score, int64_t *row);
/* IVF: the nprobe lists nearest each of the nq queries q (nq, D) by the coarse quantiser: the
 * query's score with their centroids (nq, nprobe) and the lists (nq, nprobe), -1 past nlist */
int  fw_probe(const FwIndex *x, long nq, const float *q, int nprobe, float *score, int64_t *list);
/* a reader of an IVF index's lists, one per thread (NULL when x is not IVF) */
FwScan *fw_scan_new(const FwIndex *x);
/* every row r in the n lists list[] (from fw_probe, with their scores lscore[]) scored against
 * the query q by the index's codes; best[grp[r]] = max(best[grp[r]], score). best starts at
 * -INFINITY; a group raised from it is appended to seen[nseen..] (room for one more than the
 * groups: lib/sq8nib.h best_raise). Returns the new count of seen,
 * or -1 (a row not in 0..nrow-1: a damaged index) */
long fw_scan_max(FwScan *s, const float *q, int n, const int64_t *list, const float *lscore,
                 const int32_t *grp, long nrow, float *best, int32_t *seen, long nseen);
void fw_scan_free(FwScan *s);
/* FAISS's serialisation, appended to f / read back from n bytes at p */
int  fw_write(const FwIndex *x, FILE *f);
FwIndex *fw_read(const void *p, size_t n);
void fw_free(FwIndex *x);

/* spherical k-means (inner product, unit centroids) of v (n, D) into k centroids (k, D) */
int  fw_kmeans(int D, int k, long n, const float *v, int niter, float *centroids);

/* product quantiser of D-dim vectors into m sub-vectors of 2^nbits centroids each */
FwPQ *fw_pq_new(int D, int m, int nbits);
/* k-means on v (n, D); centroids (m, 2^nbits, D / m) copied out */
int  fw_pq_train(FwPQ *pq, long n, const float *v, float *centroids);
/* codes (n, code size) of v (n, D) by FAISS: the reference tests/test_pqenc.c holds
 * lib/pqenc.c's encoding to */
int  fw_pq_encode(const FwPQ *pq, long n, const float *v, uint8_t *codes);
void fw_pq_free(FwPQ *pq);

#ifdef __cplusplus
}
#endif

#endif
