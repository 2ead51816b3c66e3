/* comm: the collective operations of data-parallel training (doc/scale.md), as a struct of
 * function pointers so that lib/ holds no MPI: model_loss_dp (model.h) and distill-step call
 * them through comm_allgather / comm_allreduce / comm_bcast, and one rank (comm_self, size 1)
 * is the same code with nothing to exchange. The MPI implementation is mpi/comm_mpi.c, built
 * only when the Makefile finds mpicc (HAVE_MPI); a test may plug in its own.
 * Every function is collective: every rank calls it, in the same order, with the same sizes. */
#ifndef COMM_H
#define COMM_H

#include <stddef.h>

typedef struct Comm Comm;
struct Comm {
	int rank, size;
	/* rows lo[r] .. lo[r+1]-1 of buf (rows of unit floats) are rank r's: copy every rank's
	 * rows to every other rank, in place */
	void (*allgather)(Comm *c, float *buf, const int *lo, size_t unit);
	/* buf (n) = the sum over ranks of buf, on every rank */
	void (*allreduce)(Comm *c, float *buf, size_t n);
	/* rank 0's bytes of buf to every rank */
	void (*bcast)(Comm *c, void *buf, size_t bytes);
	/* payload bytes this rank has received so far (allreduce counted as a ring's
	 * 2 (P-1)/P n floats), for benchmarks */
	double bytes;
	void *impl;
};

/* one process: size 1, nothing exchanged */
extern Comm comm_self;

/* lo[0..c->size]: the rank r share of n items is lo[r] .. lo[r+1]-1, lo[r] = n r / size
 * (contiguous, sizes differing by at most one, empty when n < size) */
void comm_share(const Comm *c, int n, int *lo);
void comm_allgather(Comm *c, float *buf, const int *lo, size_t unit);
void comm_allreduce(Comm *c, float *buf, size_t n);
void comm_bcast(Comm *c, void *buf, size_t bytes);

/* the number of ranks an MPI launcher (mpirun, or srun with PMI-2/PMIx) started this process
 * among, from its environment; 0 when none did. distill-step initialises MPI only when it is
 * above 1, so a plain run neither starts MPI's runtime nor needs its environment
 * (doc/scale.md) */
int comm_launched(void);

/* mpi/comm_mpi.c (HAVE_MPI builds only): MPI_Init and the world communicator; MPI_Finalize */
Comm *comm_mpi_start(int *argc, char ***argv);
void  comm_mpi_end(Comm *c);

#endif
