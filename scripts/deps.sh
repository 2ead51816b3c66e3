#!/bin/sh
# Install the Debian packages prvr-tools needs, if any are missing.
# As root this runs apt-get; otherwise it prints the command to run and fails.
set -e
# slurm-wlm: the one-node Slurm cluster of tests/test_slurm.sh (LAUNCH=slurm)
# libopenmpi-dev, openmpi-bin: mpicc (HAVE_MPI: data-parallel distill-step, doc/scale.md) and
# mpirun for tests/test_mpi.sh
# g++, libfaiss-dev: prvr-index and prvr-search (search.mk)
# libopenblas-openmp-dev: the one OpenMP thread pool shared with OpenBLAS (doc/performance.md)
# clang, clang-14, libomp-14-dev, libclang-rt-14-dev: make tsan; libFuzzer and the sanitizers of
# make fuzz, make fuzz-check (tests/fuzz)
PKGS="gcc make pkg-config libmsgpack-dev libopenblas-dev libopenblas-openmp-dev zlib1g-dev
	libhdf5-dev gnuplot-nox time slurm-wlm g++ libfaiss-dev clang clang-14 libomp-14-dev
	libclang-rt-14-dev libopenmpi-dev openmpi-bin"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
