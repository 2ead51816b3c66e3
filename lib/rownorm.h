/* rownorm: the L2 norms of the rows of a flat float array (n, D), the one loop behind every
 * normalisation outside the model: 1 / max(|x|, 1e-12) (torch.nn.functional.normalize's rule:
 * scoring, the teacher's similarities, the search index, de-train's teacher) and x / (|x| + eps)
 * (the released code's l2_normalize_np_array: feat-reduce, lib/reduce.h). Sums of squares in
 * ROWNORM_LANES float partial sums (the fixed-length inner loop is what gcc -O2 vectorises), added
 * up in double; rows in parallel on the thread pool, a row never split, so no result depends on
 * the thread count.
 * Not here: the model's normalisation layer and its backward (lib/layers.h l2norm_*). */
#ifndef ROWNORM_H
#define ROWNORM_H

#define ROWNORM_LANES 16

/* |x|^2 of one row of D floats */
double rownorm_sumsq(const float *x, long D);
/* inv (n) = 1 / max(|x_t|, 1e-12) */
void rownorm_inv(float *inv, const float *x, long n, long D);
/* each row x_t *= 1 / max(|x_t|, 1e-12) (the float of rownorm_inv), in place */
void rownorm_unit(float *x, long n, long D);
/* each row x_t / (|x_t| + eps), divided in double, in place */
void rownorm_eps(float *x, long n, long D, double eps);

#endif
