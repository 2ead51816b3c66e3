/* gradcheck: finite-difference gradient checking for the unit tests; see gradcheck.h. */
#include <math.h>
#include <stdio.h>

#include "gradcheck.h"
#include "util.h"

static int allok = 1;

float *
gc_randv(Rng *r, size_t n, float lo, float hi)
{
	float *x = efloats(n);

	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * rng_uniform(r);
	return x;
}

double
gc_dotg(const float *x, const float *g, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * g[i];
	return s;
}

void
gc_report(const char *what, int ok, double diff)
{
	printf("%s %s (max diff %.3g)\n", ok ? "OK" : "NOT OK", what, diff);
	if (!ok)
		allok = 0;
}

void
gc_compare(const char *name, const float *a, const double *ref, size_t n, double tol)
{
	double maxd = 0.0;

	for (size_t i = 0; i < n; i++)
		maxd = fmax(maxd, fabs(a[i] - ref[i]));
	gc_report(name, maxd <= tol, maxd);
}

static void
check(const char *name, double (*f)(void), float *x, const float *dx, size_t n, float eps,
      double tol, int kinks_ok)
{
	double maxd = 0.0, maxg = 0.0, lim;
	int kinks = 0;

	for (size_t i = 0; i < n; i++)
		maxg = fmax(maxg, fabs(dx[i]));
	lim = tol * fmax(1.0, maxg);
	for (size_t i = 0; i < n; i++) {
		float x0 = x[i];
		double fp, fm, f0, d;
		x[i] = x0 + eps;
		fp = f();
		x[i] = x0 - eps;
		fm = f();
		x[i] = x0;
		d = fabs((fp - fm) / (2.0 * eps) - dx[i]);
		if (kinks_ok && d > lim) {
			double right, left;
			f0 = f();
			right = (fp - f0) / eps;
			left = (f0 - fm) / eps;
			if (fabs(right - left) > lim && fmin(fabs(right - dx[i]), fabs(left - dx[i])) <= lim) {
				kinks++;
				continue;
			}
		}
		maxd = fmax(maxd, d);
	}
	if (!kinks_ok) {
		gc_report(name, maxd <= lim, maxd);
		return;
	}
	printf("%s %s (max diff %.3g, max |grad| %.3g%s)\n", maxd <= lim ? "OK" : "NOT OK", name,
	       maxd, maxg, kinks ? ", a kink matched one side" : "");
	if (!(maxd <= lim))
		allok = 0;
}

void
gc_check(const char *name, double (*f)(void), float *x, const float *dx, size_t n, float eps,
         double tol)
{
	check(name, f, x, dx, n, eps, tol, 0);
}

void
gc_check_kinks(const char *name, double (*f)(void), float *x, const float *dx, size_t n,
               float eps, double tol)
{
	check(name, f, x, dx, n, eps, tol, 1);
}

int
gc_finish(void)
{
	printf("%s\n", allok ? "all OK" : "SOME NOT OK");
	return allok ? 0 : 1;
}
