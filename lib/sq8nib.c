/* sq8nib: sq8 codes as nibble planes; see sq8nib.h. */
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sq8nib.h"

void
sq8_split(const uint8_t *c, int D, uint8_t *hi, uint8_t *lo)
{
	int H = SQ8_H(D);

	for (int k = 0; k < H; k++) {
		int a = c[k], z = k + H < D ? c[k + H] : 0;
		hi[k] = (uint8_t)(a >> 4 | (z & 0xF0));
		lo[k] = (uint8_t)((a & 15) | (z & 15) << 4);
	}
}

/* two loops without a branch: vectorised (search.mk), AVX2's 32 bytes a step where the CPU has
 * it (a static clone: clang 14 resolves no extern one across files) */
__attribute__((target_clones("avx2", "default")))
static void
join(const uint8_t *hi, const uint8_t *lo, int D, uint8_t *c)
{
	int H = SQ8_H(D);

	for (int k = 0; k < H; k++)
		c[k] = (uint8_t)((hi[k] & 15) << 4 | (lo[k] & 15));
	for (int k = 0; k < D - H; k++)
		c[k + H] = (uint8_t)((hi[k] & 0xF0) | lo[k] >> 4);
}

void
sq8_join(const uint8_t *hi, const uint8_t *lo, int D, uint8_t *c)
{
	join(hi, lo, D, c);
}

/* I of one plane from byte k on */
static int32_t
plane_dot(const int8_t *w8, const uint8_t *h, int k, int H)
{
	int32_t d = 0;

	for (; k < H; k++)
		d += w8[k] * (h[k] & 15) + w8[H + k] * (h[k] >> 4);
	return d;
}

/* the first-pass score of integer product d (|16 d| < 2^31: |d| <= 2 * 15 * 127 * SQ8_H, dims
 * <= 65536) */
static inline float
first_score(float t0, float s8, float mid, int32_t d)
{
	return t0 + s8 * ((float)(16 * d) + mid);
}

static long
scan_plain(const int8_t *w8, const uint8_t *h, int n, int H, float t0, float s8, float mid,
           const int32_t *vid, float *best, int32_t *seen, long ns)
{
	for (int i = 0; i < n; i++, h += H)
		ns = best_raise(best, seen, ns, vid[i], first_score(t0, s8, mid, plane_dot(w8, h, 0, H)));
	return ns;
}

/* frames ahead whose video's best is fetched while these are scored: the bests are scattered
 * over the gallery (4 MB a branch at a million videos, in L3 at best), and without it the
 * scan waits on them (p256 at 1 M videos, 1 thread: 33.4 ms of CPU a query without, 26-28 with
 * 32-128 ahead) */
enum { BEST_AHEAD = 64 };
#if defined(__x86_64__)
/* the 8 lanes of I's full 32-byte steps for the plane at h: its low and high halves against
 * their weights (vpmaddubsw: unsigned nibble x signed weight, pairs summed in 16 bits), pairs
 * of those summed into 32-bit lanes (vpmaddwd by ones) */
__attribute__((target("avx2")))
static inline __m256i
plane_lanes(const int8_t *w8, const uint8_t *h, int H)
{
	const __m256i low = _mm256_set1_epi8(15), one = _mm256_set1_epi16(1);
	__m256i acc = _mm256_setzero_si256();

	for (int k = 0; k + 32 <= H; k += 32) {
		__m256i b = _mm256_loadu_si256((const __m256i *)(h + k));
		__m256i lo = _mm256_and_si256(b, low);
		__m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), low);
		__m256i wl = _mm256_loadu_si256((const __m256i *)(w8 + k));
		__m256i wh = _mm256_loadu_si256((const __m256i *)(w8 + H + k));
		__m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, wl),
		                             _mm256_maddubs_epi16(hi, wh));
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, one));
	}
	return acc;
}

/* four frames a step: their lanes summed by one tree of horizontal adds (one reduction for
 * four frames, not one each), the tail of each plane (H mod 32 bytes) by plane_dot, the four
 * scores as first_score computes them (the same operations in the same order: no FMA in this
 * target, so the same floats); the last n mod 4 frames one at a time */
__attribute__((target("avx2")))
static long
scan_avx2(const int8_t *w8, const uint8_t *h, int n, int H, float t0, float s8, float mid,
          const int32_t *vid, float *best, int32_t *seen, long ns)
{
	int k = H / 32 * 32, i = 0;
	float s[4];

	for (; i + 4 <= n; i += 4, h += 4 * H) {
		if (i + BEST_AHEAD + 4 <= n)
			for (int j = 0; j < 4; j++)
				__builtin_prefetch(best + vid[i + BEST_AHEAD + j], 1);
		__m256i a = _mm256_hadd_epi32(plane_lanes(w8, h, H), plane_lanes(w8, h + H, H));
		__m256i c = _mm256_hadd_epi32(plane_lanes(w8, h + 2 * H, H),
		                              plane_lanes(w8, h + 3 * H, H));
		__m256i t = _mm256_hadd_epi32(a, c);
		__m128i d = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
		if (k < H)
			d = _mm_add_epi32(d, _mm_setr_epi32(plane_dot(w8, h, k, H),
			                                    plane_dot(w8, h + H, k, H),
			                                    plane_dot(w8, h + 2 * H, k, H),
			                                    plane_dot(w8, h + 3 * H, k, H)));
		_mm_storeu_ps(s, _mm_add_ps(_mm_set1_ps(t0), _mm_mul_ps(_mm_set1_ps(s8),
		              _mm_add_ps(_mm_cvtepi32_ps(_mm_slli_epi32(d, 4)), _mm_set1_ps(mid)))));
		for (int j = 0; j < 4; j++)
			ns = best_raise(best, seen, ns, vid[i + j], s[j]);
	}
	for (; i < n; i++, h += H) {
		__m256i t = plane_lanes(w8, h, H);
		__m128i q = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
		q = _mm_hadd_epi32(q, q);
		q = _mm_hadd_epi32(q, q);
		ns = best_raise(best, seen, ns, vid[i], first_score(t0, s8, mid,
		                _mm_cvtsi128_si32(q) + plane_dot(w8, h, k, H)));
	}
	return ns;
}
#endif

long
sq8_scan_best_by(int kernel, const int8_t *w8, const uint8_t *h, int n, int H, float t0,
                 float s8, float mid, const int32_t *vid, float *best, int32_t *seen, long ns)
{
	if (kernel == 1)
		return scan_plain(w8, h, n, H, t0, s8, mid, vid, best, seen, ns);
#if defined(__x86_64__)
	if (kernel == 2 && __builtin_cpu_supports("avx2"))
		return scan_avx2(w8, h, n, H, t0, s8, mid, vid, best, seen, ns);
#endif
	return -1;
}

long
sq8_scan_best(const int8_t *w8, const uint8_t *h, int n, int H, float t0, float s8, float mid,
              const int32_t *vid, float *best, int32_t *seen, long ns)
{
	long r = sq8_scan_best_by(2, w8, h, n, H, t0, s8, mid, vid, best, seen, ns);

	return r >= 0 ? r : scan_plain(w8, h, n, H, t0, s8, mid, vid, best, seen, ns);
}
