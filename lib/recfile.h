/* recfile: the records of a stream file read again in any order, so that a tool can hold the
 * index of a large stream instead of its contents (training at any corpus size).
 * One pass in order, through an MpReader with all its checks, notes the byte offset where each
 * record ends; after it, rf_read(f, i) reads record i back with pread, parses exactly those
 * bytes and repeats mpr_next's checks (a map, its crc32), so that a file cut, rewritten or
 * damaged since the pass is an error naming the file and the record, never other numbers.
 * The index stays in memory (8 bytes a record): it is rebuilt by the pass each run, so it can
 * never be stale. Offsets need the bytes as they are on disk: a regular uncompressed file.
 * Gzip streams and pipes are refused with a message (HINT: gunzip, or write the stream to a
 * file), rather than decompressed to a temporary copy as large as the corpus.
 * Not mmap: mapped pages count in the resident set and in the address space (ulimit -v), and a
 * file cut under a mapping kills the process with SIGBUS instead of an error message.
 * Not here: what the records mean (lib/data). */
#ifndef RECFILE_H
#define RECFILE_H

#include <sys/types.h>

#include "mpio.h"

typedef struct {
	MpReader *r;               /* the pass in order; after rf_pass_done, only a name and a
	                            * record number for the mpr_* accessors' messages */
	MpReader at;               /* that name and number after the pass */
	int fd;
	long n;                    /* records in the pass, header excluded */
	off_t *end;                /* (n + 1): record i is bytes end[i - 1] .. end[i] - 1 (the
	                            * header is record 0, ending at end[0]) */
	size_t cap;
	char *buf;                 /* the record rf_read read last, which its objects point into */
	size_t nbuf;
	msgpack_unpacked u;
} RecFile;

/* open path (a regular file) for a pass in order */
RecFile *rf_open(const char *path);
/* mpr_header; dies when the stream is gzip-compressed */
const msgpack_object *rf_header(RecFile *f, const char *kind);
/* mpr_next, noting where the record ends */
const msgpack_object *rf_next(RecFile *f);
/* the pass is over (rf_next returned NULL): frees its reader and buffers */
void rf_pass_done(RecFile *f);
/* record rec (1 .. n) read again and checked, valid until the next rf_read on f; messages of
 * the mpr_* accessors on f->r name it */
const msgpack_object *rf_read(RecFile *f, long rec);
void rf_close(RecFile *f);

#endif
