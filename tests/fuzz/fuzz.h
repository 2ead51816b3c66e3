/* fuzz: what every libFuzzer harness of tests/fuzz shares.
 *
 * The tools die() on bad input, and die() exits: a harness would stop at its first refused
 * input. fuzz_run() runs one input with lib/util's die_hook set to a longjmp back into it, and
 * when the input died it gives back what the abandoned run held, as exit would have: every
 * block allocated during the run and still live (recorded through the sanitizer allocator's
 * malloc/free hooks, so msgpack's and zlib's blocks too), the FILEs opened by project code
 * (fopen/fdopen are wrapped at link time), its mmaps (mmap/munmap wrapped) and every descriptor
 * opened since the harness started. Without that a long run would grow by the reader's buffers
 * at every refused input. A run that ends normally keeps what it did not free: LeakSanitizer
 * sees it as a leak, as it should.
 * Rule for harnesses: a static that may point into a dead run's memory (a tool's cache) is reset
 * by the harness; lazily initialised libraries (BLAS) are warmed up by fuzz_init.
 *
 * Inputs of tools that read several files are one fuzz input split at FUZZ_SEP, in a fixed order
 * per harness; the seed corpora (tests/fuzz/seeds.sh) are built the same way from tool output. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_SEP "\n--prvr-fuzz-part--\n"
#define FUZZ_MAXPARTS 8

/* once, from LLVMFuzzerInitialize (fuzz.c defines a default that only calls this): a private
 * temporary directory, the descriptor baseline */
void fuzz_init(void);
/* run f(arg); 1 when it returned, 0 when it died (its resources then released) */
int fuzz_run(void (*f)(void *), void *arg);
/* when set, called after a run died and before what it held is released: a library that keeps
 * state of its own across calls (libhdf5: open files, free lists) is shut down there, so that
 * nothing it still points to is freed under it */
extern void (*fuzz_before_release)(void);
/* split data at FUZZ_SEP into at most max parts; returns the count (missing parts: length 0) */
size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max);
/* write n bytes into the file name of the private directory; returns its path (static storage,
 * one per name for the life of the process) */
const char *fuzz_file(const char *name, const uint8_t *p, size_t n);
/* the same for a stream: every record whose last key is crc32 gets the right checksum (re-packed
 * as lib/mpio's writer packs), so that mutations reach past the checksum test; bytes from the
 * first that do not parse as msgpack on are copied as they are (gzip, truncation) */
const char *fuzz_stream_file(const char *name, const uint8_t *p, size_t n);
/* split data into n parts (n <= FUZZ_MAXPARTS) and write part i as the stream file name[i]
 * (fuzz_stream_file); path[i] is its path */
void fuzz_stream_parts(const uint8_t *data, size_t size, size_t n, const char *const *name,
                       const char **path);
/* path of name in the private directory (an output), same storage rule */
const char *fuzz_path(const char *name);
/* call a tool's main (compiled in with -Dmain=NAME_main) on a NULL-terminated argument list,
 * getopt reset and progress off, as one fuzz_run; returns 1 when main returned */
int fuzz_main(int (*main)(int, char **), const char *arg0, ...);
/* the same on an argument vector (argv[argc] NULL; getopt may permute it) */
int fuzz_mainv(int (*main)(int, char **), int argc, char **argv);

#endif
