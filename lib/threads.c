/* threads: one parser and one setter for the thread count; see threads.h. */
#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "threads.h"
#include "util.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int
parse(const char *what, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > THREADS_MAX)
		die("%s '%s': expected a thread count 1..%d", what, s, THREADS_MAX);
	return (int)v;
}

int
threads_parse(const char *jarg)
{
	const char *env = getenv("OPENBLAS_NUM_THREADS");

	if (jarg)
		return parse("-j", jarg);
	if (env && *env)
		return parse("OPENBLAS_NUM_THREADS", env);
	return 2;
}

void
threads_set(int n)
{
	CHECK(n >= 1 && n <= THREADS_MAX);
#ifdef _OPENMP
	omp_set_num_threads(n);
#endif
	openblas_set_num_threads(n);
}

int
threads_init(const char *jarg)
{
	int n = threads_parse(jarg);

	threads_set(n);
	return n;
}

int
max_threads(void)
{
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

int
thread_id(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

static double
seconds(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

Clock
clock_now(void)
{
	return (Clock){ seconds(CLOCK_MONOTONIC), seconds(CLOCK_THREAD_CPUTIME_ID),
	                seconds(CLOCK_PROCESS_CPUTIME_ID) };
}

void
clock_add(Clock *acc, Clock a, Clock b)
{
	acc->wall += b.wall - a.wall;
	acc->self += b.self - a.self;
	acc->all += b.all - a.all;
}
