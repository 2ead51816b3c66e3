/* test_rownorm: the row norms and both normalisation rules against double-precision references
 * on random rows of widths around the 16-lane blocks (1, 15, 16, 17, 100), a zero row (left
 * zero), a row of huge values (no overflow: squares summed in float lanes of values up to 1e18),
 * and the same bits with one thread as with two (rows are never split). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "rownorm.h"
#include "threads.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static double
norm(const float *x, long D)
{
	double s = 0;

	for (long j = 0; j < D; j++)
		s += (double)x[j] * x[j];
	return sqrt(s);
}

int
main(void)
{
	static const long Ds[] = { 1, 15, 16, 17, 100 };
	double err = 0;
	Rng g;

	rng_seed(&g, 3);
	for (int k = 0; k < 5; k++) {
		long D = Ds[k], n = 3000;
		float *x = efloats((size_t)(n * D)), *u = efloats((size_t)(n * D));
		float *e = efloats((size_t)(n * D)), *inv = efloats((size_t)n);
		for (long i = 0; i < n * D; i++)
			x[i] = rng_normal(&g) * (i % 7 + 1);
		memset(x, 0, (size_t)D * sizeof(float));                 /* row 0: zero */
		memcpy(u, x, (size_t)(n * D) * sizeof(float));
		memcpy(e, x, (size_t)(n * D) * sizeof(float));
		rownorm_inv(inv, x, n, D);
		rownorm_unit(u, n, D);
		rownorm_eps(e, n, D, 1e-5);
		for (long t = 0; t < n; t++) {
			double nr = norm(x + t * D, D);
			err = fmax(err, fabs(inv[t] * fmax(nr, 1e-12) - 1));
			for (long j = 0; j < D; j++) {
				double xv = x[t * D + j];
				err = fmax(err, fabs(u[t * D + j] - xv / fmax(nr, 1e-12)));
				err = fmax(err, fabs(e[t * D + j] - xv / (nr + 1e-5)));
			}
		}
		for (long j = 0; j < D; j++)
			EXPECT(u[j] == 0 && e[j] == 0);
		/* one thread: the same bits */
		{
			float *u1 = efloats((size_t)(n * D));
			memcpy(u1, x, (size_t)(n * D) * sizeof(float));
			threads_set(1);
			rownorm_unit(u1, n, D);
			threads_set(2);
			EXPECT(memcmp(u1, u, (size_t)(n * D) * sizeof(float)) == 0);
			free(u1);
		}
		free(x), free(u), free(e), free(inv);
	}
	printf("%s rownorm against double references (max error %.2g)\n",
	       err < 1e-6 ? "OK" : "NOT OK", err);
	failures += !(err < 1e-6);
	{
		float big[20];
		for (int j = 0; j < 20; j++)
			big[j] = 1e18f;
		rownorm_unit(big, 1, 20);
		EXPECT(fabs(big[0] - 1 / sqrt(20.0)) < 1e-6);
	}
	printf("%s huge values\n", failures ? "NOT OK" : "OK");
	return failures ? 1 : 0;
}
