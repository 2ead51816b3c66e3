/* recfile: stream records read again by offset; see recfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recfile.h"
#include "util.h"

RecFile *
rf_open(const char *path)
{
	RecFile *f = ecalloc(1, sizeof(*f));
	struct stat st;
	int is_stdin = strcmp(path, "-") == 0;

	if (!is_stdin && (f->fd = open(path, O_RDONLY)) < 0)
		die("open %s:", path);
	if (is_stdin || fstat(f->fd, &st) || !S_ISREG(st.st_mode))
		die("%s: not a regular file: training reads its streams again by offset "
		    "(HINT: write the stream to a file first)", is_stdin ? "<stdin>" : path);
	f->r = mpr_open(path);
	msgpack_unpacked_init(&f->u);
	return f;
}

/* offset in the file of the end of the record the reader returned last (an uncompressed
 * stream: gzip reads it as is) */
static off_t
last_end(const MpReader *r)
{
	return (off_t)mpr_end_offset(r);
}

static void
note_end(RecFile *f)
{
	f->end = egrow(f->end, &f->cap, (size_t)f->r->rec + 1, sizeof(*f->end));
	f->end[f->r->rec] = last_end(f->r);
}

const msgpack_object *
rf_header(RecFile *f, const char *kind)
{
	const msgpack_object *h = mpr_header(f->r, kind);

	if (!gzdirect(f->r->gz))
		die("%s: gzip-compressed: training reads its streams again by offset "
		    "(HINT: gunzip it first)", f->r->name);
	note_end(f);
	return h;
}

const msgpack_object *
rf_next(RecFile *f)
{
	const msgpack_object *o = mpr_next(f->r);

	if (o) {
		f->n = f->r->rec;
		note_end(f);
	}
	return o;
}

void
rf_pass_done(RecFile *f)
{
	CHECK(f->r != &f->at);
	f->at.name = estrdup(f->r->name);
	f->at.checksums = f->r->checksums;
	f->at.count = f->r->count;
	f->at.rec = -1;
	memcpy(f->at.kind, f->r->kind, sizeof(f->at.kind));
	mpr_close(f->r);
	f->r = &f->at;
}

const msgpack_object *
rf_read(RecFile *f, long rec)
{
	off_t start;
	size_t len, got = 0, off = 0;

	CHECK(f->r == &f->at && rec >= 1 && rec <= f->n);
	start = f->end[rec - 1];
	len = (size_t)(f->end[rec] - start);
	f->at.rec = rec;
	if (len > f->nbuf) {
		free(f->buf);
		f->nbuf = len + len / 4;
		f->buf = emalloc(f->nbuf);
	}
	while (got < len) {
		ssize_t k = pread(f->fd, f->buf + got, len - got, start + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("%s: record %ld: read:", f->at.name, rec);
		if (k == 0)
			mpr_die(f->r, "cut short: the file ends inside this record "
			        "(changed since it was first read?)");
		got += (size_t)k;
	}
	/* the record's bytes alone, parsed whole: objects point into f->buf */
	if (msgpack_unpack_next(&f->u, f->buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
		mpr_die(f->r, "not the record first read here (the file changed since?)");
	mpr_record(f->r, &f->u.data, rec);
	return &f->u.data;
}

void
rf_close(RecFile *f)
{
	if (!f)
		return;
	if (f->r != &f->at)
		mpr_close(f->r);
	free(f->at.name);
	msgpack_unpacked_destroy(&f->u);
	close(f->fd);
	free(f->end);
	free(f->buf);
	free(f);
}
