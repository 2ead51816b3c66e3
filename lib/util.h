/* util: error reporting, checked allocation and number parsing shared by every tool.
 * Not a general-purpose runtime: no logging levels, no recovery. A tool that hits bad input
 * prints one line naming what failed and exits 1, after removing any half-written output file
 * registered with tmp_register(). */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

extern char *argv0;

/* "argv0: msg" on stderr; a trailing ':' in fmt appends strerror(errno).
 * Messages starting with "usage" get no prefix. */
void warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* when set, die() calls it after the message and the removal of temporary files instead of
 * exiting (unless it returns): the fuzz harnesses longjmp back and go on (tests/fuzz/fuzz.h) */
extern void (*die_hook)(void);

/* the allocators die on failure naming the input last read from ("NAME: record N: out of
 * memory ..."): readers call oom_where(name, &rec) as they advance and oom_where(NULL, &rec)
 * when they close */
void oom_where(const char *name, const long *rec);
void *emalloc(size_t n);
void *ecalloc(size_t nmemb, size_t size);
void *erealloc(void *p, size_t n);
char *estrdup(const char *s);
/* the printf of fmt in a new string */
char *estrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* p (a growable array of *cap elements of size bytes) with room for need elements: *cap
 * doubled (from 16) until it is enough; p = egrow(p, &cap, n + 1, sizeof(*p)) before p[n++] */
void *egrow(void *p, size_t *cap, size_t need, size_t size);
/* a scratch buffer of floats (efloats) with room for need: p itself when *cap is enough, else p
 * freed and a new one of need + need / 4 + 16 in *cap (contents not kept) */
float *efloats_grow(float *p, size_t *cap, size_t need);
/* efloats_grow without the slack: a new buffer holds need floats exactly. For the training
 * step's scratch (lib/model.c), sized to the largest batch so far: its peak memory is measured
 * (prvr-cost) and zeroed slack would be resident */
float *efloats_fit(float *p, size_t *cap, size_t need);
/* the whole file path (a regular file, a pipe, a device), NUL-terminated; dies naming the file
 * when it cannot be read or holds more than max bytes. len NULL: a text file, and a NUL byte in
 * it dies (with its offset); else *len = the bytes read, any bytes allowed */
char *slurp(const char *path, size_t max, size_t *len);
/* the median of x[0..n), n >= 1, sorting x in place (the benchmarks' statistic) */
double median_sort(double *x, int n);
/* aligned to 64 bytes (cache line, AVX-512), zero-filled; free with free() */
float *efloats(size_t n);

/* parse the whole string or die naming the flag value; range is inclusive */
long   estrtol(const char *s, long min, long max);
double estrtod(const char *s, double min, double max);

/* "path.tmp.PID", the temporary name an atomic writer renames to path, registered with
 * tmp_register; files "path.tmp.N" of processes N that no longer exist (killed runs) are
 * removed first */
char *tmp_path(const char *path);
/* "-", or an existing file that is neither regular nor a directory (/dev/null, a FIFO, a
 * terminal): written directly, since renaming a temporary over it would replace the device with
 * a regular file (as root, for every later user of /dev/null) */
int written_in_place(const char *path);
/* before any work: each output (NULL and those written in place skipped) can be created (its
 * temporary name is created and removed) and is not the same file (device and inode, or directory and name when it
 * does not exist yet) as an input or another output; dies naming both */
void check_outputs(const char *const *in, int nin, const char *const *out, int nout);

/* paths removed by die() and by SIGINT/SIGTERM/SIGHUP/SIGPIPE: half-written outputs */
void tmp_register(const char *path);
void tmp_unregister(const char *path);

/* progress on stderr, at most once a second unless force; silent when quiet is set */
extern int progress_quiet;
void progress(int force, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* seconds on a monotonic clock */
double now_seconds(void);
/* peak resident set size of this process in KiB (getrusage), for benchmarks */
long peak_rss_kib(void);

/* the command line, joined, for stream headers ("cmd"). Called first (tool_start), it also
 * opens /dev/null on any of fds 0, 1, 2 found closed, so that no output file gets one of them
 * (progress on stderr would go into it) */
void set_cmdline(int argc, char *argv[]);
const char *cmdline(void);

/* 1 when argv has --help or -h as its only argument: tools print usage to stdout and exit 0 */
int want_help(int argc, char *argv[]);

/* The start of every tool's main: argv0 = basename of argv[0], the command line for stream
 * headers, help() (prints to stdout, exits 0) for a lone --help or -h, "TOOL VERSION" and exit 0
 * for a lone --version (PRVR_VERSION, set once by the Makefile). Silences getopt's messages:
 * tools give getopt an optstring starting with ':' and send its ':' or '?' to bad_option(). */
void tool_start(int argc, char *argv[], void (*help)(void));
/* a usage error in one line, "TOOL: msg; try 'TOOL --help'", exit 1 */
_Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the option getopt/getopt_long just rejected (c: its ':' or '?'), reported by usage_error() */
_Noreturn void bad_option(int c);

/* an internal invariant; in the fuzz harnesses (tests/fuzz) its failure aborts, as a bug found,
 * instead of dying like a refused input */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECK(x) ((x) ? (void)0 : (warnf("%s:%d: CHECK(%s) failed", __FILE__, __LINE__, #x), \
                                   __builtin_abort()))
#else
#define CHECK(x) ((x) ? (void)0 : die("%s:%d: CHECK(%s) failed", __FILE__, __LINE__, #x))
#endif
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
