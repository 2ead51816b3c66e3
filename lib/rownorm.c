/* rownorm: row norms and the two normalisation rules; see rownorm.h. */
#include <math.h>

#include "rownorm.h"

#define PAR_ROWS(n, D) ((long)(n) * (D) >= 32768)   /* smaller arrays: not worth a region */

double
rownorm_sumsq(const float *x, long D)
{
	float part[ROWNORM_LANES] = { 0 };
	double ss = 0;
	long j = 0;

	for (; j + ROWNORM_LANES <= D; j += ROWNORM_LANES)
		for (int l = 0; l < ROWNORM_LANES; l++)
			part[l] += x[j + l] * x[j + l];
	for (; j < D; j++)
		ss += (double)x[j] * x[j];
	for (int l = 0; l < ROWNORM_LANES; l++)
		ss += part[l];
	return ss;
}

static float
inv_norm(const float *x, long D)
{
	return (float)(1.0 / fmax(sqrt(rownorm_sumsq(x, D)), 1e-12));
}

void
rownorm_inv(float *inv, const float *x, long n, long D)
{
#pragma omp parallel for schedule(static) if (PAR_ROWS(n, D))
	for (long t = 0; t < n; t++)
		inv[t] = inv_norm(x + t * D, D);
}

void
rownorm_unit(float *x, long n, long D)
{
#pragma omp parallel for schedule(static) if (PAR_ROWS(n, D))
	for (long t = 0; t < n; t++) {
		float *r = x + t * D, inv = inv_norm(r, D);
		for (long j = 0; j < D; j++)
			r[j] *= inv;
	}
}

void
rownorm_eps(float *x, long n, long D, double eps)
{
#pragma omp parallel for schedule(static) if (PAR_ROWS(n, D))
	for (long t = 0; t < n; t++) {
		float *r = x + t * D;
		double den = sqrt(rownorm_sumsq(r, D)) + eps;
		for (long j = 0; j < D; j++)
			r[j] = (float)(r[j] / den);
	}
}
