/* test_h5: lib/h5 on an HDF5 file written here with the HDF5 library, one dataset per key at the
 * root as h5py writes them: float32 and float64 datasets read as float32 (values exact), the
 * width most datasets share, leading axes of 1 squeezed, shapes printed as Python does, and each
 * status: a missing key, a group, an integer dataset, rank 5, a dataset claiming 2^50 elements
 * the file does not hold (refused before anything is allocated); and the refusals of h5_open: a
 * missing file, a file that is not HDF5, a file with no dataset, a file whose datasets have a
 * last axis of 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dies.h"
#include "h5.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static char dir[] = "/tmp/test_h5.XXXXXX";
static char path[256], bad[256], empty[256], zero[256];

static void
put(hid_t f, const char *key, hid_t type, hid_t memtype, int rank, const hsize_t *dims,
    const void *x, int late)
{
	hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), ds;

	if (late)
		CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE) >= 0);
	CHECK((ds = H5Dcreate2(f, key, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0);
	if (x)
		CHECK(H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
	H5Dclose(ds);
	H5Pclose(dcpl);
	H5Sclose(sp);
}

static void
open_close(void *p)
{
	H5 h;

	h5_open(&h, p, "test file");
	h5_close(&h);
}

int
main(void)
{
	float a[2 * 3] = { 1, 2, 3, 4, 5, 6.5f }, *buf = NULL;
	double b[3] = { 0.25, -1e-3, 7 };
	int ints[3] = { 1, 2, 3 };
	hsize_t d23[2] = { 2, 3 }, d113[3] = { 1, 1, 3 }, d13[2] = { 1, 3 }, d5[5] = { 1, 1, 1, 1, 3 };
	hsize_t dbig[2] = { (hsize_t)1 << 30, (hsize_t)1 << 20 }, dims[4];
	size_t cap = 0;
	char s[64];
	hid_t f;
	H5 h;
	int rank;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.hdf5", dir);
	CHECK((f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) >= 0);
	put(f, "a", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d23, a, 0);
	put(f, "b", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, d113, b, 0);
	put(f, "c", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d13, a, 0);
	put(f, "i", H5T_STD_I32LE, H5T_NATIVE_INT, 2, d13, ints, 0);
	put(f, "r5", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 5, d5, a, 0);
	put(f, "w", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t[]){ 1, 2 }, a, 0);
	put(f, "big", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dbig, NULL, 1);
	H5Gclose(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
	H5Fclose(f);

	h5_open(&h, path, "test file");
	EXPECT(h.dim == 3);                    /* 3 of the first datasets end in 3 */
	EXPECT(h5_read(&h, "a", &buf, &cap, dims, &rank) == H5_OK && rank == 2 && dims[0] == 2 &&
	       dims[1] == 3 && memcmp(buf, a, sizeof(a)) == 0);
	EXPECT(h5_read(&h, "b", &buf, &cap, dims, &rank) == H5_OK && rank == 3);
	EXPECT(buf[0] == 0.25f && buf[1] == (float)-1e-3 && buf[2] == 7);
	h5_dims_str(s, sizeof(s), dims, rank);
	EXPECT(strcmp(s, "(1, 1, 3)") == 0);
	rank = h5_squeeze(dims, rank, 1);
	h5_dims_str(s, sizeof(s), dims, rank);
	EXPECT(rank == 1 && strcmp(s, "(3,)") == 0);
	EXPECT(h5_read(&h, "c", &buf, &cap, dims, &rank) == H5_OK && h5_squeeze(dims, rank, 2) == 2);
	EXPECT(h5_read(&h, "nope", &buf, &cap, dims, &rank) == H5_MISSING);
	EXPECT(h5_read(&h, "g", &buf, &cap, dims, &rank) == H5_NOTDS);
	EXPECT(h5_read(&h, "i", &buf, &cap, dims, &rank) == H5_NOTFLOAT);
	EXPECT(h5_read(&h, "r5", &buf, &cap, dims, &rank) == H5_BADRANK);
	EXPECT(h5_read(&h, "big", &buf, &cap, dims, &rank) == H5_TOOBIG && cap < 1000);
	EXPECT(strcmp(h5_why(H5_TOOBIG), "claims more elements than the file stores for it") == 0);
	h5_close(&h);
	free(buf);
	printf("%s reads and statuses\n", failures ? "NOT OK" : "OK");

	snprintf(bad, sizeof(bad), "%s/not.hdf5", dir);
	{
		FILE *t = fopen(bad, "w");
		CHECK(t && fputs("not HDF5\n", t) >= 0 && fclose(t) == 0);
	}
	snprintf(zero, sizeof(zero), "%s/zero.hdf5", dir);
	CHECK((f = H5Fcreate(zero, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) >= 0);
	put(f, "z", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t[]){ 3, 0 }, NULL, 0);
	H5Fclose(f);
	EXPECT(dies_with(open_close, zero, "zero.hdf5: most datasets at the root have a last axis of length 0"));
	snprintf(empty, sizeof(empty), "%s/empty.hdf5", dir);
	CHECK((f = H5Fcreate(empty, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) >= 0);
	H5Fclose(f);
	EXPECT(dies_with(open_close, bad, "not.hdf5: cannot open as HDF5 (test file)"));
	EXPECT(dies_with(open_close, empty, "empty.hdf5: no dataset at the root"));
	EXPECT(dies_with(open_close, "/nonexistent.hdf5", "/nonexistent.hdf5: no such file (test file)"));
	printf("%s refusals\n", failures ? "NOT OK" : "OK");
	unlink(path), unlink(bad), unlink(empty), unlink(zero);
	rmdir(dir);
	return failures ? 1 : 0;
}
