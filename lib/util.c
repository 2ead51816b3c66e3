/* util: die/warn, checked allocation, number parsing, temp-file cleanup, progress. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

char *argv0 = "prvr";
int progress_quiet;
void (*die_hook)(void);

#define MAXTMP 64
static char *tmp_paths[MAXTMP];
static char cmd_buf[4096];

static void
vwarn(const char *fmt, va_list ap)
{
	int saved = errno;

	if (strncmp(fmt, "usage", 5) != 0)
		fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void
warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

static void
remove_tmps(void)
{
	for (int i = 0; i < MAXTMP; i++)
		if (tmp_paths[i])
			unlink(tmp_paths[i]);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	remove_tmps();
	if (die_hook) {
		for (int i = 0; i < MAXTMP; i++) {   /* the hook's caller goes on: forget them */
			free(tmp_paths[i]);
			tmp_paths[i] = NULL;
		}
		die_hook();
	}
	exit(1);
}

static void
on_signal(int sig)
{
	remove_tmps();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
tmp_register(const char *path)
{
	static int handlers;

	if (!handlers) {
		int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], on_signal);
		handlers = 1;
	}
	for (int i = 0; i < MAXTMP; i++)
		if (!tmp_paths[i]) {
			tmp_paths[i] = estrdup(path);
			return;
		}
	die("too many output files open (max %d)", MAXTMP);
}

void
tmp_unregister(const char *path)
{
	for (int i = 0; i < MAXTMP; i++)
		if (tmp_paths[i] && strcmp(tmp_paths[i], path) == 0) {
			free(tmp_paths[i]);
			tmp_paths[i] = NULL;
		}
}

void *
emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc %zu bytes:", n);
	return p;
}

void *
ecalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die("calloc %zu x %zu bytes:", nmemb, size);
	return p;
}

void *
erealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("realloc %zu bytes:", n);
	return p;
}

char *
estrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("strdup:");
	return p;
}

float *
efloats(size_t n)
{
	void *p;
	size_t bytes = (n ? n : 1) * sizeof(float);

	bytes = (bytes + 63) / 64 * 64;
	if (posix_memalign(&p, 64, bytes))
		die("allocate %zu floats: out of memory", n);
	memset(p, 0, bytes);
	return p;
}

long
estrtol(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		die("'%s': not an integer", s);
	if (v < min || v > max)
		die("'%s': out of range [%ld, %ld]", s, min, max);
	return v;
}

double
estrtod(const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v != v)
		die("'%s': not a number", s);
	if (v < min || v > max)
		die("'%s': out of range [%g, %g]", s, min, max);
	return v;
}

void
progress(int force, const char *fmt, ...)
{
	static double last;
	double t = now_seconds();
	va_list ap;

	if (last == 0)
		last = t;               /* the first report comes after a second of work */
	if (progress_quiet || (!force && t - last < 1.0))
		return;
	last = t;
	fprintf(stderr, "%s: ", argv0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long
peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_maxrss;
}

void
set_cmdline(int argc, char *argv[])
{
	size_t n = 0;

	cmd_buf[0] = '\0';
	for (int i = 0; i < argc && n + 2 < sizeof(cmd_buf); i++) {
		const char *a = argv[i];
		if (i == 0 && strrchr(a, '/'))
			a = strrchr(a, '/') + 1;
		n += snprintf(cmd_buf + n, sizeof(cmd_buf) - n, "%s%s", i ? " " : "", a);
	}
}

const char *
cmdline(void)
{
	return cmd_buf;
}

int
want_help(int argc, char *argv[])
{
	return argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
}
