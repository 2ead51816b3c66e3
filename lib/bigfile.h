/* bigfile: a released feature in the BigFile layout of MS-SL and DL-DKD (doc/import.md): a
 * directory with shape.txt ("N D"), id.txt (N whitespace-separated ids, one per row) and
 * feature.bin (N x D little-endian float32, memory-mapped, never read whole). Opening checks the
 * three agree (dies naming the file and what was expected); an id that repeats in id.txt is
 * counted and marked, not fatal (which row it means is ambiguous: its users skip it).
 * Not here: which rows make a video (video2frames.txt: lib/pylit.h), reduction, streams. */
#ifndef BIGFILE_H
#define BIGFILE_H

#include <stddef.h>

#include "idindex.h"

typedef struct {
	char *dir, *binpath, *idpath;
	long N, D;
	const float *x;            /* the mapping of feature.bin, (N, D) */
	size_t maplen;
	char *idbuf;               /* id.txt, tokenised in place; the index's keys point into it */
	IdIndex id2row;            /* id -> row, or -1 - first row when the id repeats */
	const char **rowid;        /* (N) row -> id */
	long ndupids;              /* ids that repeat */
} BigFile;

void bigfile_open(BigFile *f, const char *dir);
void bigfile_close(BigFile *f);
/* rows [r0, r1) will be read soon: the kernel starts reading them */
void bigfile_willneed(const BigFile *f, long r0, long r1);
/* rows [r0, r1) are not needed again: their pages leave this process (the page cache keeps them),
 * so that resident memory stays at what is being read, not the whole file */
void bigfile_dontneed(const BigFile *f, long r0, long r1);

#endif
