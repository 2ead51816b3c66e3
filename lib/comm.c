/* comm: the rank-independent half of comm.h (shares, byte counts, the one-process case) */
#include <stdlib.h>

#include "comm.h"
#include "util.h"

Comm comm_self = { 0, 1, NULL, NULL, NULL, 0.0, NULL };

void
comm_share(const Comm *c, int n, int *lo)
{
	for (int r = 0; r <= c->size; r++)
		lo[r] = (int)((long)n * r / c->size);
}

void
comm_allgather(Comm *c, float *buf, const int *lo, size_t unit)
{
	if (c->size == 1)
		return;
	c->bytes += (double)(lo[c->size] - (lo[c->rank + 1] - lo[c->rank])) * unit * sizeof(float);
	c->allgather(c, buf, lo, unit);
}

void
comm_allreduce(Comm *c, float *buf, size_t n)
{
	if (c->size == 1)
		return;
	c->bytes += 2.0 * (c->size - 1) / c->size * n * sizeof(float);
	c->allreduce(c, buf, n);
}

void
comm_bcast(Comm *c, void *buf, size_t bytes)
{
	if (c->size == 1)
		return;
	if (c->rank)
		c->bytes += bytes;
	c->bcast(c, buf, bytes);
}

int
comm_launched(void)
{
	const char *n;

	/* Open MPI's mpirun; MPICH's Hydra and Slurm's PMI-2; Slurm's srun --mpi=pmix */
	if ((n = getenv("OMPI_COMM_WORLD_SIZE")) || (n = getenv("PMI_SIZE")) ||
	    (getenv("PMIX_RANK") && (n = getenv("SLURM_NTASKS"))))
		return MAX(atoi(n), 1);
	return 0;
}
