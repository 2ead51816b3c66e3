/* h5: datasets of a released bundle's HDF5 files read as float32; see h5.h. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5.h"
#include "util.h"

#define H5_RA (16 << 20)       /* bytes asked to be read ahead */

typedef struct {
	long dims[8];
	int n;
} Probe;

static herr_t
probe_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
	Probe *p = data;
	hid_t ds, sp;
	hsize_t d[8];
	int r;

	if ((ds = H5Dopen2(g, name, H5P_DEFAULT)) < 0)
		return 0;
	sp = H5Dget_space(ds);
	r = H5Sget_simple_extent_ndims(sp);
	if (r >= 1 && r <= 8 && H5Sget_simple_extent_dims(sp, d, NULL) == r)
		p->dims[p->n++] = (long)d[r - 1];
	H5Sclose(sp);
	H5Dclose(ds);
	return p->n == 8;
}

/* the last-axis length of most of the first 8 datasets at the root */
static void
probe_dim(H5 *h)
{
	Probe p = { 0 };
	hsize_t idx = 0;
	int best = 0;

	H5Literate(h->f, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, probe_cb, &p);
	if (p.n == 0)
		die("%s: no dataset at the root (expected one dataset per key, h5py style)", h->path);
	for (int i = 0; i < p.n; i++) {
		int c = 0;
		for (int j = 0; j < p.n; j++)
			c += p.dims[j] == p.dims[i];
		if (c > best) {
			best = c;
			h->dim = p.dims[i];
		}
	}
	if (h->dim < 1)
		die("%s: most datasets at the root have a last axis of length 0 (expected feature "
		    "vectors of length >= 1)", h->path);
}

void
h5_open(H5 *h, const char *path, const char *what)
{
	void *hp = NULL;

	memset(h, 0, sizeof(*h));
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	h->path = estrdup(path);
	if (access(path, F_OK))
		die("%s: no such file (%s)", path, what);
	h->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (h->f < 0)
		die("%s: cannot open as HDF5 (%s)", path, what);
	h->fd = -1;
	if (H5Fget_vfd_handle(h->f, H5P_DEFAULT, &hp) >= 0 && hp)
		h->fd = *(int *)hp;
	probe_dim(h);
}

void
h5_close(H5 *h)
{
	if (h->path)
		H5Fclose(h->f);
	free(h->path);
	memset(h, 0, sizeof(*h));
}

/* ask the kernel to read ahead of the dataset at off, so small reads do not each wait for the
 * disk */
static void
readahead(H5 *h, hid_t ds)
{
	haddr_t off = H5Dget_offset(ds);

	if (h->fd < 0 || off == HADDR_UNDEF)
		return;
	if (off + H5_RA / 2 > h->ra_end || off + H5_RA < h->ra_end) {
		posix_fadvise(h->fd, (off_t)off, H5_RA, POSIX_FADV_WILLNEED);
		h->ra_end = off + H5_RA;
	}
}

int
h5_read(H5 *h, const char *key, float **buf, size_t *cap, hsize_t *dims, int *rank)
{
	hid_t ds, sp, ty;
	size_t n = 1;
	int st = H5_OK;

	if ((ds = H5Dopen2(h->f, key, H5P_DEFAULT)) < 0)
		return H5Lexists(h->f, key, H5P_DEFAULT) > 0 ? H5_NOTDS : H5_MISSING;
	readahead(h, ds);
	ty = H5Dget_type(ds);
	sp = H5Dget_space(ds);
	*rank = H5Sget_simple_extent_ndims(sp);
	if (H5Tget_class(ty) != H5T_FLOAT)
		st = H5_NOTFLOAT;
	else if (*rank < 1 || *rank > 4 || H5Sget_simple_extent_dims(sp, dims, NULL) != *rank)
		st = H5_BADRANK;
	if (st == H5_OK) {
		/* the claimed shape is checked against the bytes the file holds for the dataset before
		 * anything is allocated: a compressed dataset may expand, by at most 64x past 16 MiB */
		size_t tsize = H5Tget_size(ty), held = (size_t)H5Dget_storage_size(ds);
		for (int i = 0; i < *rank && st == H5_OK; i++)
			if (dims[i] && n > SIZE_MAX / sizeof(float) / (size_t)dims[i])
				st = H5_TOOBIG;
			else
				n *= (size_t)dims[i];
		if (st == H5_OK && tsize && n / 64 > MAX(held, (size_t)16 << 20) / tsize)
			st = H5_TOOBIG;
	}
	if (st == H5_OK) {
		*buf = efloats_grow(*buf, cap, n);
		if (n && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0)
			st = H5_READERR;
	}
	H5Tclose(ty);
	H5Sclose(sp);
	H5Dclose(ds);
	return st;
}

const char *
h5_why(int st)
{
	switch (st) {
	case H5_MISSING: return "is missing";
	case H5_NOTDS: return "is not a dataset";
	case H5_NOTFLOAT: return "is not floating point";
	case H5_BADRANK: return "has an unsupported rank";
	case H5_TOOBIG: return "claims more elements than the file stores for it";
	default: return "could not be read";
	}
}

int
h5_squeeze(hsize_t *dims, int rank, int want)
{
	while (rank > want && dims[0] == 1) {
		memmove(dims, dims + 1, (size_t)(rank - 1) * sizeof(*dims));
		rank--;
	}
	return rank;
}

void
h5_dims_str(char *buf, size_t size, const hsize_t *d, int r)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n, "(");
	for (int i = 0; i < r && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
	if (n < size)
		snprintf(buf + n, size - n, "%s)", r == 1 ? "," : "");
}
