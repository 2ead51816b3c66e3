/* h5: the HDF5 files of a released PRVR bundle (one dataset per key at the root, as h5py
 * writes them) read through the HDF5 C library: open, the feature width most datasets share,
 * and one dataset read as float32 (HDF5 converts float16 and float64) into a reused buffer,
 * after its claimed shape is checked against the bytes the file stores for it. Each read asks
 * the kernel to read ahead (datasets are usually stored in the order they are read).
 * Built only when HDF5 is found (the Makefile keeps it out of libprvr.a): prvr-import and
 * tests/test_h5.c link it.
 * Not here: what a key or a shape means (prvr-import), writing HDF5 (the tests do it). */
#ifndef H5_H
#define H5_H

#include <stddef.h>

#include <hdf5.h>

typedef struct {
	char *path;
	hid_t f;
	long dim;                  /* the last-axis length most datasets of the file have */
	int fd;                    /* of the sec2 driver, for read-ahead hints; -1 unknown */
	haddr_t ra_end;            /* end of the range last asked to be read ahead */
} H5;

enum { H5_OK, H5_MISSING, H5_NOTDS, H5_NOTFLOAT, H5_BADRANK, H5_READERR, H5_TOOBIG };

/* dies "PATH: no such file (WHAT)" or "PATH: cannot open as HDF5 (WHAT)"; silences HDF5's own
 * error printing (errors are reported by the caller, per key); then h->dim from the first 8
 * datasets at the root (dies when there is none) */
void h5_open(H5 *h, const char *path, const char *what);
void h5_close(H5 *h);
/* dataset key as float32 into *buf (grown, *cap floats); shape in dims[0..*rank), rank 1..4.
 * Returns H5_OK or what is wrong (h5_why says it in words) */
int  h5_read(H5 *h, const char *key, float **buf, size_t *cap, hsize_t *dims, int *rank);
/* "is not a dataset", "is not floating point", ... */
const char *h5_why(int status);
/* leading axes of length 1 dropped while more than want remain; the rank left */
int  h5_squeeze(hsize_t *dims, int rank, int want);
/* "(2, 3)", "(5,)" */
void h5_dims_str(char *buf, size_t size, const hsize_t *dims, int rank);

#endif
