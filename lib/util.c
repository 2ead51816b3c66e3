/* util: die/warn, checked allocation, number parsing, temp-file cleanup, progress. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

static const char *oom_name;
static const long *oom_rec;

void
oom_where(const char *name, const long *rec)
{
	if (name || rec == oom_rec) {
		oom_name = name;
		oom_rec = rec;
	}
}

static _Noreturn void
nomem(size_t nmemb, size_t size)
{
	if (!oom_name)
		die("out of memory allocating %zu x %zu bytes", nmemb, size);
	if (*oom_rec <= 0)
		die("%s: header: out of memory allocating %zu x %zu bytes", oom_name, nmemb, size);
	die("%s: record %ld: out of memory allocating %zu x %zu bytes", oom_name, *oom_rec, nmemb,
	    size);
}

char *
tmp_path(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t nbase = strlen(base), n = strlen(path) + 32;
	char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : estrdup("."), *t = emalloc(n);
	struct dirent *e;
	DIR *d;

	if (!dir)
		die("strdup:");
	if ((d = opendir(dir))) {
		while ((e = readdir(d))) {
			char *end;
			long pid;
			if (strncmp(e->d_name, base, nbase) || strncmp(e->d_name + nbase, ".tmp.", 5))
				continue;
			pid = strtol(e->d_name + nbase + 5, &end, 10);
			if (*end || end == e->d_name + nbase + 5 || pid <= 0 || pid == (long)getpid() ||
			    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			snprintf(t, n, "%s/%s", dir, e->d_name);
			unlink(t);     /* best effort: a leftover of a killed run */
		}
		closedir(d);
	}
	free(dir);
	snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
	tmp_register(t);
	return t;
}

/* a file's identity: its device and inode, or those of its directory and its name */
typedef struct {
	dev_t dev;
	ino_t ino;
	const char *name;          /* NULL: an existing file */
} FileId;

static int
file_id(const char *path, FileId *id)
{
	struct stat sb;
	const char *slash = strrchr(path, '/');
	char *dir;
	int ok;

	if (stat(path, &sb) == 0) {
		*id = (FileId){ sb.st_dev, sb.st_ino, NULL };
		return 1;
	}
	dir = slash ? strndup(path, (size_t)(slash - path) + 1) : estrdup(".");
	if (!dir)
		die("strdup:");
	ok = stat(dir, &sb) == 0;
	free(dir);
	*id = (FileId){ sb.st_dev, sb.st_ino, slash ? slash + 1 : path };
	return ok;
}

static int
same_file(const FileId *a, const FileId *b)
{
	return a->dev == b->dev && a->ino == b->ino && !a->name == !b->name &&
	       (!a->name || strcmp(a->name, b->name) == 0);
}

int
written_in_place(const char *path)
{
	struct stat st;

	return strcmp(path, "-") == 0 ||
	       (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
}

static int
skip_path(const char *p)
{
	return !p || written_in_place(p);
}

void
check_outputs(const char *const *in, int nin, const char *const *out, int nout)
{
	FileId a, b;

	for (int i = 0; i < nout; i++) {
		char *t;
		int fd;
		if (skip_path(out[i]))
			continue;
		t = tmp_path(out[i]);
		if ((fd = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
			die("cannot create output %s: open %s:", out[i], t);
		close(fd);
		unlink(t);
		tmp_unregister(t);
		free(t);
		file_id(out[i], &a);
		for (int j = 0; j < nin; j++)
			if (!skip_path(in[j]) && file_id(in[j], &b) && same_file(&a, &b))
				die("output %s is the input %s", out[i], in[j]);
		for (int j = 0; j < i; j++)
			if (!skip_path(out[j]) && file_id(out[j], &b) && same_file(&a, &b))
				die("output %s is also output %s", out[i], out[j]);
	}
}

void *
emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		nomem(1, n);
	return p;
}

void *
ecalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		nomem(nmemb, size);
	return p;
}

void *
erealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		nomem(1, n);
	return p;
}

void *
egrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return p;
	while (c < need)
		c = c <= SIZE_MAX / 2 ? 2 * c : need;
	if (c > SIZE_MAX / size)
		nomem(c, size);
	*cap = c;
	return erealloc(p, c * size);
}

static float *
scratch(float *p, size_t *cap, size_t need, size_t slack)
{
	if (need <= *cap && p)
		return p;
	free(p);
	*cap = need + slack;
	return efloats(*cap);
}

float *
efloats_grow(float *p, size_t *cap, size_t need)
{
	return scratch(p, cap, need, need / 4 + 16);
}

float *
efloats_fit(float *p, size_t *cap, size_t need)
{
	return scratch(p, cap, need, 0);
}

char *
slurp(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t n = 0, cap = 0;
	char *buf = NULL;

	if (fd < 0)
		die("open %s:", path);
	if (fstat(fd, &st))
		die("stat %s:", path);
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max)
		die("%s: %lld bytes, more than the %zu this file may have", path,
		    (long long)st.st_size, max);
	/* a regular file: what fstat says, read until a read of 0 bytes; else grown as it comes */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 0;
	buf = emalloc(cap);
	for (;;) {
		ssize_t k;
		if (!S_ISREG(st.st_mode) && n + 1 >= cap)
			buf = egrow(buf, &cap, n + 4096, 1);
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read %s:", path);
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max)
			die("%s: more than the %zu bytes this file may have", path, max);
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	else if (strlen(buf) != n)
		die("%s: a NUL byte at offset %zu (not a text file?)", path, strlen(buf));
	return buf;
}

char *
estrfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("estrfmt: bad format");
	s = emalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
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
		nomem(n, sizeof(float));
	memset(p, 0, bytes);
	return p;
}

static char **tool_argv;

/* "FLAG " when s is the argument of a command-line option (a whole argv element after the flag,
 * or the tail of "-k5" / "--epochs=5"), else "": number errors name the flag they belong to */
static const char *
flag_of(const char *s)
{
	static char buf[64];

	for (int i = 1; tool_argv && tool_argv[i]; i++) {
		const char *a = tool_argv[i], *f = NULL;
		int n = 0;
		if (s == a && i > 1 && tool_argv[i - 1][0] == '-')
			f = tool_argv[i - 1], n = (int)strlen(f);
		else if (a[0] == '-' && s > a && s < a + strlen(a))
			f = a, n = (int)(s - a) - (s[-1] == '=');
		if (f) {
			snprintf(buf, sizeof(buf), "%.*s ", n, f);
			return buf;
		}
	}
	return "";
}

long
estrtol(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		die("%s'%s': not an integer", flag_of(s), s);
	if (v < min || v > max)
		die("%s'%s': out of range [%ld, %ld]", flag_of(s), s, min, max);
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
		die("%s'%s': not a number", flag_of(s), s);
	if (v < min || v > max)
		die("%s'%s': out of range [%g, %g]", flag_of(s), s, min, max);
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

	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			exit(2);       /* nowhere to say so: stderr is what failed to open */

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

#ifndef PRVR_VERSION
#define PRVR_VERSION "unknown"   /* the Makefile defines it from git describe */
#endif

void
tool_start(int argc, char *argv[], void (*help)(void))
{
	char *slash = strrchr(argv[0], '/');

	argv0 = slash ? slash + 1 : argv[0];
	tool_argv = argv;
	set_cmdline(argc, argv);
	opterr = 0;              /* bad_option() reports, in one line */
	if (want_help(argc, argv))
		help();
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", argv0, PRVR_VERSION);
		if (fflush(stdout) || ferror(stdout))
			die("write <stdout>:");
		exit(0);
	}
}

_Noreturn void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", argv0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try '%s --help'\n", argv0);
	exit(1);
}

_Noreturn void
bad_option(int c)
{
	/* which argument getopt stopped at: plain getopt reads "--name" as the flag '-' and is still
	 * in that element; getopt_long has consumed a long option's element; a short option is
	 * optopt itself, as its element may bundle several flags */
	const char *cur = tool_argv[optind] ? tool_argv[optind] : "";
	const char *prev = optind > 0 ? tool_argv[optind - 1] : "";
	const char *why = c == ':' ? "needs an argument" : "is unknown";

	if (optopt == '-' && strncmp(cur, "--", 2) == 0)
		usage_error("option '%.*s' %s", (int)strcspn(cur, "="), cur, why);
	if (optopt > 0 && optopt < 128 && strncmp(prev, "--", 2) != 0)
		usage_error("option '-%c' %s", optopt, why);
	if (c == '?' && optopt && strchr(prev, '='))
		why = "takes no argument";
	usage_error("option '%.*s' %s", (int)strcspn(prev, "="), prev, why);
}

static int
cmp_f64(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
median_sort(double *x, int n)
{
	qsort(x, (size_t)n, sizeof(*x), cmp_f64);
	return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}
