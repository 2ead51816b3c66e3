#!/bin/bash
# bench_mpi.sh: the data-parallel training step (doc/scale.md) at the TVR batch shape, called
# by bench.sh (never part of the tests): $TBIN/bench_mpi under `mpirun -np P` for each P of
# BENCH_MPI_RANKS (default "1 2"), 1 BLAS thread per rank, median of BENCH_REPS steps (default
# 3) after a warm-up. One line per P (see mpi/bench_mpi.c). Prints one line and does nothing
# when bench_mpi was not built (no mpicc) or mpirun is missing.
set -u
: "${TBIN:=obj/testbin}"
if [ ! -x "$TBIN/bench_mpi" ] || ! command -v mpirun > /dev/null; then
	echo "mpi step: no $TBIN/bench_mpi or no mpirun (built without MPI)"
	exit 0
fi
MPIRUN="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
for p in ${BENCH_MPI_RANKS:-1 2}; do
	OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1 \
		$MPIRUN -np "$p" "$TBIN/bench_mpi" -n "${BENCH_REPS:-3}" -j 1 2>/dev/null ||
		echo "    FAILED: mpirun -np $p bench_mpi exit $?"
done
