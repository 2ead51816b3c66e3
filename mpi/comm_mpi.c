/* comm_mpi: comm.h over MPI's world communicator, the one file of prvr-tools that includes
 * mpi.h (built only when the Makefile finds mpicc). In-place collectives on MPI_FLOAT; every
 * call comes from the main thread (MPI_THREAD_FUNNELED: OpenMP threads never call MPI). */
#include <mpi.h>
#include <stdlib.h>

#include "comm.h"
#include "util.h"

static void
mpi_check(int rc, const char *what)
{
	if (rc != MPI_SUCCESS)
		die("MPI_%s failed (error %d)", what, rc);
}

static void
mpi_allgather(Comm *c, float *buf, const int *lo, size_t unit)
{
	int *cnt = emalloc((size_t)c->size * sizeof(int)), *disp = emalloc((size_t)c->size * sizeof(int));

	for (int r = 0; r < c->size; r++) {
		size_t n = (size_t)(lo[r + 1] - lo[r]) * unit, d = (size_t)lo[r] * unit;
		if (n > 0x7fffffff || d > 0x7fffffff)
			die("MPI_Allgatherv: %zu floats at %zu: more than an int counts", n, d);
		cnt[r] = (int)n;
		disp[r] = (int)d;
	}
	mpi_check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, disp, MPI_FLOAT,
	                         MPI_COMM_WORLD), "Allgatherv");
	free(cnt);
	free(disp);
}

static void
mpi_allreduce(Comm *c, float *buf, size_t n)
{
	enum { CH = 1 << 28 };      /* counts are ints */

	for (size_t i = 0; i < n; i += CH)
		mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)MIN((size_t)CH, n - i), MPI_FLOAT,
		                        MPI_SUM, MPI_COMM_WORLD), "Allreduce");
}

static void
mpi_bcast(Comm *c, void *buf, size_t bytes)
{
	CHECK(bytes <= 0x7fffffff);
	mpi_check(MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD), "Bcast");
}

Comm *
comm_mpi_start(int *argc, char ***argv)
{
	static Comm c = { 0, 1, mpi_allgather, mpi_allreduce, mpi_bcast, 0.0, NULL };
	int provided;

	mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "Init_thread");
	if (provided < MPI_THREAD_FUNNELED)
		die("MPI: no MPI_THREAD_FUNNELED support");
	MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &c.size);
	return &c;
}

void
comm_mpi_end(Comm *c)
{
	MPI_Finalize();
}
