/* gradcheck: finite-difference gradient checking for the unit tests (tests/test_layers.c,
 * tests/test_dualenc.c, tests/test_model.c): random fills, the scalar loss sum(out * g) through
 * which a layer's output is checked, central differences against an analytic gradient,
 * forward outputs against a double-precision reference, and the OK / NOT OK lines (with the
 * max difference) the tests print. Every check counts: gc_finish says whether all passed.
 * Linked into every test program (not into libprvr: no tool uses it). Not here: the layers or
 * references themselves. */
#ifndef GRADCHECK_H
#define GRADCHECK_H

#include <stddef.h>

#include "rng.h"

/* n floats (efloats) uniform in [lo, hi) from r */
float *gc_randv(Rng *r, size_t n, float lo, float hi);
/* sum x[i] * g[i] in double: the loss whose gradient with respect to x is g */
double gc_dotg(const float *x, const float *g, size_t n);
/* print "OK|NOT OK what (max diff D)"; a NOT OK fails the run */
void   gc_report(const char *what, int ok, double diff);
/* a (n) against ref (n): max |a - ref| <= tol */
void   gc_compare(const char *name, const float *a, const double *ref, size_t n, double tol);
/* analytic gradient dx (n) of f with respect to x (n) against central differences of step eps
 * (x is restored): max difference <= tol * max(1, max |dx|) */
void   gc_check(const char *name, double (*f)(void), float *x, const float *dx, size_t n,
                float eps, double tol);
/* the same, except that a coordinate where the two one-sided differences disagree by more than
 * the tolerance (a kink of a ReLU, max or hardest-negative switch within eps) passes when the
 * analytic gradient matches one side; prints the max |dx| too */
void   gc_check_kinks(const char *name, double (*f)(void), float *x, const float *dx, size_t n,
                      float eps, double tol);
/* print "all OK" or "SOME NOT OK"; the exit status: 0 iff every check passed */
int    gc_finish(void);

#endif
