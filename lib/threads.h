/* threads: the one thread count of every tool. `-j N` (or $OPENBLAS_NUM_THREADS, default 2)
 * means N threads in all: the OpenMP loops of lib/ and OpenBLAS share one pool of N, because
 * the Makefile links Debian's OpenMP build of OpenBLAS (doc/performance.md says why). OpenBLAS
 * called from inside one of our parallel regions runs on the calling thread alone, so a loop
 * over many small products (attention) never oversubscribes the cores.
 * Results depend on N only through BLAS: every loop of lib/ uses static schedules and reduces
 * in an order that does not depend on N (tests/test_threads.sh). */
#ifndef THREADS_H
#define THREADS_H

enum { THREADS_MAX = 1024 };

/* the thread count: jarg (the -j value) when not NULL, else $OPENBLAS_NUM_THREADS when set and
 * not empty, else 2; dies naming the flag or the variable when the value is not 1..THREADS_MAX */
int  threads_parse(const char *jarg);
/* use n threads from now on, in our loops and in OpenBLAS */
void threads_set(int n);
/* threads_set(threads_parse(jarg)); returns the count */
int  threads_init(const char *jarg);
/* the most threads a parallel region starts now, and the calling thread's number in its region
 * (0 outside one): for per-thread scratch */
int  max_threads(void);
int  thread_id(void);

/* a moment, for benchmarks: wall seconds, CPU seconds of the calling thread and of the whole
 * process. Over a stretch of work on n threads that wait without spinning
 * (OMP_WAIT_POLICY=passive), serial work S and parallel work P show as self = S + P / n and
 * all = S + P, whatever else runs on the machine (doc/performance.md). */
typedef struct {
	double wall, self, all;
} Clock;
Clock clock_now(void);
/* *acc += b - a, field by field */
void  clock_add(Clock *acc, Clock a, Clock b);

#endif
