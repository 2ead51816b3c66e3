/* sq8nib: sq8 codes as nibble planes (prvr-index -c sq8; doc/frame-index.md). A frame's D bytes
 * are stored as two planes of SQ8_H bytes: the high nibbles, then the low ones; a plane's byte k
 * holds dim k in its low half and dim k + SQ8_H (0 past D) in its high half. A list scan reads
 * the high plane alone, half the bytes of the codes: the scan is bound by memory, and its first
 * pass loses nothing by the low nibbles (the candidates are re-scored from both planes). Here:
 * splitting, joining, and the first pass's kernel; the query tables are lib/vindex.c's. */
#ifndef SQ8NIB_H
#define SQ8NIB_H

#include <math.h>
#include <stdint.h>

#define SQ8_H(D) (((D) + 1) / 2)   /* bytes of a plane */

/* a frame's bytes c (D) as its high and low planes (SQ8_H bytes each) */
void sq8_split(const uint8_t *c, int D, uint8_t *hi, uint8_t *lo);
/* the inverse */
void sq8_join(const uint8_t *hi, const uint8_t *lo, int D, uint8_t *c);
/* raise video v's best first-pass score to s, a video raised from -inf appended to seen (ns
 * of them so far; returned: how many now); NaN raises nothing. Without a branch: seen[ns] is
 * written whether or not v is new (so seen needs room for one more than the videos), and a
 * wait on best[v], scattered over the gallery, is not a mispredicted branch but a load that
 * overlaps the next frames' work. The first pass's one rule, for every code's list scan
 * (lib/vindex.c), FAISS's IVF scan (lib/faissw.cpp) and HNSW's nearest frames
 * (tools/prvr-search.c) */
static inline long
best_raise(float *best, int32_t *seen, long ns, int32_t v, float s)
{
	float o = best[v];
	int up = s > o;

	best[v] = up ? s : o;
	seen[ns] = v;
	return ns + (up & (o == -INFINITY));
}

/* the first pass over n consecutive high planes h_i (H bytes each) of frames of videos vid_i:
 * s_i = t0 + s8 (16 I_i + mid), I_i = sum_k w8[k] (h_ik & 15) + w8[H + k] (h_ik >> 4), so w8
 * (2 H) holds dim j's weight at j (0 past D); each s_i raises best[vid_i] (best_raise; one loop,
 * so that the waits on best, scattered, overlap the reading of the planes). I_i is an integer,
 * exact whichever kernel the CPU runs (AVX2 where it has it: its pairs of nibble x int8
 * products, |sum| <= 2 * 15 * 127, never saturate). Returns the seen count */
long sq8_scan_best(const int8_t *w8, const uint8_t *h, int n, int H, float t0, float s8,
                   float mid, const int32_t *vid, float *best, int32_t *seen, long ns);
/* the same, by the plain kernel (1), or by the AVX2 one (2; -1 where the CPU lacks it): for tests */
long sq8_scan_best_by(int kernel, const int8_t *w8, const uint8_t *h, int n, int H, float t0,
                      float s8, float mid, const int32_t *vid, float *best, int32_t *seen,
                      long ns);

#endif
