/* fuzz: the shared part of the harnesses; see fuzz.h. */
#define _GNU_SOURCE     /* memmem */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cblas.h>
#include <msgpack.h>
#include <sanitizer/allocator_interface.h>
#include <zlib.h>

#include "fuzz.h"
#include "util.h"

/* A claim above 2 GiB fails (the tool dies "out of memory", naming its file) rather than ending
 * the run: msgpack-c allocates a container from its claimed count before reading it. Memory a
 * tiny input makes a tool touch still ends the run at libFuzzer's -rss_limit_mb. */
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=2048";
}

/* ---- blocks allocated during the current run: open addressing on the pointer, slots reused
 * between runs by clearing only those the run touched. The hooks run inside the allocator and
 * may not allocate: everything is static. ---- */

#define NSLOT (1u << 22)
#define TOMB ((uintptr_t)1)

static uintptr_t slot[NSLOT];
static uint32_t touched[NSLOT / 2];
static size_t ntouched;
static __thread int tracking;        /* only the thread running the input is tracked */

static size_t
hash_ptr(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (NSLOT - 1);
}

static void
on_malloc(const volatile void *ptr, size_t size)
{
	uintptr_t p = (uintptr_t)ptr;
	size_t i;

	if (!tracking || !p)
		return;
	if (ntouched == NSLOT / 2) {    /* no tiny input allocates 2M blocks: a bug to look at */
		static const char msg[] = "fuzz.c: more than 2M blocks allocated in one run\n";
		write(2, msg, sizeof(msg) - 1);
		abort();
	}
	for (i = hash_ptr(p); slot[i] > TOMB; i = (i + 1) & (NSLOT - 1))
		;
	if (slot[i] == 0)
		touched[ntouched++] = (uint32_t)i;
	slot[i] = p;
}

static void
on_free(const volatile void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;

	if (!tracking || !p)
		return;
	for (size_t i = hash_ptr(p); slot[i]; i = (i + 1) & (NSLOT - 1))
		if (slot[i] == p) {
			slot[i] = TOMB;
			return;
		}
}

/* ---- FILEs and mappings made by project code (linked with -Wl,--wrap=...) ---- */

#define NRES 64
static FILE *files[NRES];
static struct { void *addr; size_t len; } maps[NRES];

FILE *__real_fopen(const char *path, const char *mode);
FILE *__real_fdopen(int fd, const char *mode);
int   __real_fclose(FILE *f);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int   __real_munmap(void *addr, size_t len);

static FILE *
keep_file(FILE *f)
{
	for (int i = 0; f && tracking && i < NRES; i++)
		if (!files[i]) {
			files[i] = f;
			break;
		}
	return f;
}

FILE *__wrap_fopen(const char *path, const char *mode) { return keep_file(__real_fopen(path, mode)); }
FILE *__wrap_fdopen(int fd, const char *mode) { return keep_file(__real_fdopen(fd, mode)); }

int
__wrap_fclose(FILE *f)
{
	for (int i = 0; i < NRES; i++)
		if (files[i] == f)
			files[i] = NULL;
	return __real_fclose(f);
}

void *
__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = __real_mmap(addr, len, prot, flags, fd, off);

	for (int i = 0; p != MAP_FAILED && tracking && i < NRES; i++)
		if (!maps[i].addr) {
			maps[i].addr = p;
			maps[i].len = len;
			break;
		}
	return p;
}

int
__wrap_munmap(void *addr, size_t len)
{
	for (int i = 0; i < NRES; i++)
		if (maps[i].addr == addr)
			maps[i].addr = NULL;
	return __real_munmap(addr, len);
}

/* ---- descriptors open before the run (libFuzzer's symbolizer starts between runs) ---- */

#define MAXFD 4096
static unsigned char fd_base[MAXFD];
static char dir[64];

/* fds open now that are not in fd_base; with set, record them all in fd_base instead */
static void
scan_fds(int set)
{
	int fds[256], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	if (set)
		memset(fd_base, 0, sizeof(fd_base));
	while ((e = readdir(d)) && n < 256) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (set && fd < MAXFD)
			fd_base[fd] = 1;
		else if (!set && (fd >= MAXFD || !fd_base[fd]))
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

void
fuzz_init(void)
{
	const char *tmp = getenv("TMPDIR");
	float a = 1, b = 1, c = 0;

	if (dir[0])
		return;
	snprintf(dir, sizeof(dir), "%s/prvr-fuzz.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		abort();
	}
	/* OpenBLAS sets up its buffers and threads on the first call: not inside a run */
	openblas_set_num_threads(1);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1);
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	progress_quiet = 1;
}

/* libFuzzer's start-up hook for a harness that needs nothing more (fuzz_v2f defines its own) */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

static sigjmp_buf jb;
void (*fuzz_before_release)(void);

static void
back_to_run(void)
{
	siglongjmp(jb, 1);
}

/* exit is linked wrapped (-Wl,--wrap=exit): a usage error or --help ends a tool with exit, not
 * die, and inside a run that is the run dying; elsewhere (libFuzzer) it is exit */
_Noreturn void __real_exit(int status);

_Noreturn void
__wrap_exit(int status)
{
	if (die_hook)
		die_hook();
	__real_exit(status);
}

static void
release(void)
{
	for (int i = 0; i < NRES; i++) {
		if (files[i]) {           /* fclose frees the FILE: still tracked, so forgotten */
			FILE *f = files[i];
			files[i] = NULL;
			__real_fclose(f);
		}
		if (maps[i].addr) {
			__real_munmap(maps[i].addr, maps[i].len);
			maps[i].addr = NULL;
		}
	}
	tracking = 0;
	scan_fds(0);
	for (size_t i = 0; i < ntouched; i++)
		if (slot[touched[i]] > TOMB)
			free((void *)slot[touched[i]]);
}

int
fuzz_run(void (*f)(void *), void *arg)
{
	volatile int ok = 0;

	if (!dir[0])
		fuzz_init();
	scan_fds(1);
	ntouched = 0;
	die_hook = back_to_run;
	tracking = 1;
	if (sigsetjmp(jb, 0) == 0) {
		f(arg);
		ok = 1;
		tracking = 0;
	} else {
		if (fuzz_before_release)
			fuzz_before_release();
		release();
	}
	die_hook = NULL;
	for (size_t i = 0; i < ntouched; i++)
		slot[touched[i]] = 0;
	for (int i = 0; i < NRES; i++) {
		files[i] = NULL;           /* a run that returned owns what it left open */
		maps[i].addr = NULL;
	}
	return ok;
}

size_t
fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max)
{
	size_t n = 0, seplen = strlen(FUZZ_SEP);
	const uint8_t *p = data, *end = data + size, *q;

	for (size_t i = 0; i < max; i++) {
		part[i] = p;
		len[i] = 0;
	}
	while (n < max) {
		q = n + 1 < max ? memmem(p, (size_t)(end - p), FUZZ_SEP, seplen) : NULL;
		part[n] = p;
		len[n] = q ? (size_t)(q - p) : (size_t)(end - p);
		n++;
		if (!q)
			break;
		p = q + seplen;
	}
	return n;
}

void
fuzz_stream_parts(const uint8_t *data, size_t size, size_t n, const char *const *name,
                  const char **path)
{
	const uint8_t *p[FUZZ_MAXPARTS];
	size_t len[FUZZ_MAXPARTS];

	if (n > FUZZ_MAXPARTS)
		abort();
	fuzz_split(data, size, p, len, n);
	for (size_t i = 0; i < n; i++)
		path[i] = fuzz_stream_file(name[i], p[i], len[i]);
}

/* one path per name, kept for the life of the process */
static const char *
path_of(const char *name)
{
	static struct { char name[32]; char path[96]; } paths[16];
	int i;

	for (i = 0; i < 16 && paths[i].name[0]; i++)
		if (strcmp(paths[i].name, name) == 0)
			return paths[i].path;
	if (i == 16 || strlen(name) >= sizeof(paths[i].name))
		abort();
	snprintf(paths[i].name, sizeof(paths[i].name), "%s", name);
	snprintf(paths[i].path, sizeof(paths[i].path), "%s/%s", dir, name);
	return paths[i].path;
}

const char *
fuzz_path(const char *name)
{
	if (!dir[0])
		fuzz_init();
	return path_of(name);
}

const char *
fuzz_file(const char *name, const uint8_t *p, size_t n)
{
	const char *path = fuzz_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd)) {
		perror(path);
		abort();
	}
	return path;
}

static int
crc_write(void *data, const char *p, size_t n)
{
	unsigned long *crc = data;

	*crc = crc32_z(*crc, (const unsigned char *)p, n);
	return 0;
}

/* the pairs of map o but the last, after a map header of o's size (as lib/mpio checksums them) */
static void
pack_but_last(msgpack_packer *pk, const msgpack_object *o)
{
	msgpack_pack_map(pk, o->via.map.size);
	for (uint32_t i = 0; i + 1 < o->via.map.size; i++) {
		msgpack_pack_object(pk, o->via.map.ptr[i].key);
		msgpack_pack_object(pk, o->via.map.ptr[i].val);
	}
}

const char *
fuzz_stream_file(const char *name, const uint8_t *p, size_t n)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0, prev = 0;
	const char *path;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS) {
		const msgpack_object *o = &u.data, *last;
		if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size == 0 ||
		    (last = &o->via.map.ptr[o->via.map.size - 1].key)->type != MSGPACK_OBJECT_STR ||
		    last->via.str.size != 5 || memcmp(last->via.str.ptr, "crc32", 5) != 0) {
			msgpack_pack_object(&pk, *o);
		} else {
			unsigned long crc = crc32_z(0, NULL, 0);
			msgpack_packer cp;
			msgpack_packer_init(&cp, &crc, crc_write);
			pack_but_last(&cp, o);
			pack_but_last(&pk, o);
			msgpack_pack_object(&pk, *last);
			msgpack_pack_uint32(&pk, (uint32_t)crc);
		}
		prev = off;
	}
	msgpack_unpacked_destroy(&u);
	if (prev < n)                   /* what did not parse */
		msgpack_sbuffer_write(&sb, (const char *)p + prev, n - prev);
	path = fuzz_file(name, (const uint8_t *)sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return path;
}

struct main_call {
	int (*main)(int, char **);
	int argc;
	char **argv;
};

static void
call_main(void *arg)
{
	struct main_call *c = arg;

	optind = 0;                     /* glibc: a full reset of getopt's state */
	opterr = 0;
	c->main(c->argc, c->argv);
	progress_quiet = 1;
}

int
fuzz_mainv(int (*main)(int, char **), int argc, char **argv)
{
	struct main_call c = { main, argc, argv };

	return fuzz_run(call_main, &c);
}

int
fuzz_main(int (*main)(int, char **), const char *arg0, ...)
{
	char *argv[32] = { (char *)arg0 };
	int argc = 1;
	va_list ap;
	const char *a;

	va_start(ap, arg0);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	return fuzz_mainv(main, argc, argv);
}
