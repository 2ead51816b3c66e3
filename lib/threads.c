/* threads: one parser and one setter for the thread count; see threads.h. */
#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>

#include "threads.h"
#include "util.h"

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
	omp_set_num_threads(n);
	openblas_set_num_threads(n);
}

int
threads_init(const char *jarg)
{
	int n = threads_parse(jarg);

	threads_set(n);
	return n;
}
