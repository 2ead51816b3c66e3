/* test_sq8nib: sq8's nibble planes (lib/sq8nib.h). For dims around the planes' 32-byte steps and
 * odd ones (1 .. 1000): split then join gives the bytes back; each nibble of a frame sits where
 * doc/frame-index.md says (read here from the bytes, not by sq8_join); the first pass of both
 * kernels (plain; AVX2 where the CPU has it) raises each video's best to, bit for bit, the same
 * float expression of the integer sum of weight x high nibble taken straight from the bytes, on
 * random frames and weights and on the extremes (nibbles 15 against weights of +-127: the
 * largest pair sums), a video seen once however many of its frames; a NaN raises nothing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "sq8nib.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* dim j's nibbles, read from the planes as the layout says */
static int
nibble(const uint8_t *plane, int D, int j)
{
	int H = SQ8_H(D);

	return j < H ? plane[j] & 15 : plane[j - H] >> 4;
}

int
main(void)
{
	static const unsigned short Ds[] = { 1, 2, 7, 31, 63, 64, 65, 127, 383, 384, 385, 1000 };
	enum { NF = 43 };   /* not a multiple of the AVX2 kernel's 4 frames a step: its tail too */
	int avx2 = 0;
	Rng g;

	rng_seed(&g, 11);
	for (size_t di = 0; di < sizeof(Ds) / sizeof(*Ds); di++) {
		int D = Ds[di], H = SQ8_H(D), ok = 1;
		uint8_t *c = emalloc((size_t)NF * D), *back = emalloc((size_t)D);
		uint8_t *hi = emalloc((size_t)NF * H), *lo = emalloc((size_t)NF * H);
		int8_t *w8 = emalloc(2 * (size_t)H);
		int32_t vid[NF], seen[NF + 1];   /* best_raise: one more */
		float s[NF], b1[NF], t0 = rng_normal(&g), s8 = rng_uniform(&g) * 1e-3f + 1e-5f;
		float mid = (float)(rng_below(&g, 20001)) - 10000;

		for (int i = 0; i < NF * D; i++)
			c[i] = (uint8_t)rng_below(&g, 256);
		memset(c, 255, (size_t)D);                    /* frame 0: every nibble 15 */
		memset(c + D, 0, (size_t)D);                  /* frame 1: none */
		for (int j = 0; j < 2 * H; j++)
			w8[j] = j >= D ? 0 : (int8_t)((int)rng_below(&g, 255) - 127);
		for (int j = 0; j < D && j < 8; j++)          /* the extremes */
			w8[j] = j % 2 ? -127 : 127;
		for (int i = 0; i < NF; i++) {
			sq8_split(c + i * D, D, hi + i * H, lo + i * H);
			sq8_join(hi + i * H, lo + i * H, D, back);
			ok &= memcmp(back, c + i * D, (size_t)D) == 0;
			for (int j = 0; j < D; j++)
				ok &= nibble(hi + i * H, D, j) == c[i * D + j] >> 4 &&
				      nibble(lo + i * H, D, j) == (c[i * D + j] & 15);
			if (D % 2)                            /* the pad nibble past D */
				ok &= hi[i * H + H - 1] >> 4 == 0 && lo[i * H + H - 1] >> 4 == 0;
		}
		printf("%s dim %d: planes hold each nibble where the layout says; joined back\n",
		       ok ? "OK" : "NOT OK", D);
		failures += !ok;
		/* each frame its own video: best holds every score */
		for (int i = 0; i < NF; i++) {
			long d = 0;
			for (int j = 0; j < D; j++)
				d += (long)w8[j] * (c[i * D + j] >> 4);
			s[i] = t0 + s8 * ((float)(16 * (int32_t)d) + mid);
			vid[i] = NF - 1 - i;
		}
		for (int kern = 0; kern <= 2; kern++) {
			long ns;
			for (int i = 0; i < NF; i++)
				b1[i] = -INFINITY;
			ns = kern ? sq8_scan_best_by(kern, w8, hi, NF, H, t0, s8, mid, vid, b1, seen, 0) :
			     sq8_scan_best(w8, hi, NF, H, t0, s8, mid, vid, b1, seen, 0);
			if (ns < 0)                           /* no AVX2 on this CPU */
				continue;
			avx2 |= kern == 2;
			EXPECT(ns == NF);
			for (int i = 0; i < NF; i++)
				EXPECT(memcmp(&b1[vid[i]], &s[i], sizeof(float)) == 0 &&
				       seen[i] == vid[i]);
		}
		/* all frames of video 0: its best is the max, seen once; a NaN raises nothing */
		{
			float top = s[0], nan = NAN;
			long ns;
			for (int i = 0; i < NF; i++)
				vid[i] = 0, top = s[i] > top ? s[i] : top;
			b1[0] = -INFINITY;
			ns = sq8_scan_best(w8, hi, NF, H, t0, s8, mid, vid, b1, seen, 0);
			EXPECT(ns == 1 && seen[0] == 0 && b1[0] == top);
			b1[1] = -INFINITY;
			EXPECT(best_raise(b1, seen, 0, 1, nan) == 0 && b1[1] == -INFINITY);
		}
		free(c), free(back), free(hi), free(lo), free(w8);
	}
	printf("%s first pass: plain%s kernel's bests = the integer sums from the bytes, bit for bit\n",
	       failures ? "NOT OK" : "OK", avx2 ? " and AVX2" : " (no AVX2 on this CPU)");
	return failures ? 1 : 0;
}
