#!/bin/sh
# srun.sh: run one heavy step of the pipelines as a Slurm job and wait for it (LAUNCH=slurm in
# experiments.mk; doc/pipelines.md, "On a cluster").
#   srun.sh [SRUN_OPTION ...] -- COMMAND [ARG ...]
# srun allocates one task on one node (the options: job name, cores, memory, the user's
# partition, account, time limit), runs COMMAND there in this directory with this environment,
# forwards its stdin, stdout and stderr, and exits with its status: make waits for the job like
# for a local command, and a job that fails, is cancelled or runs out of time fails the target.
# Results are written where they are written locally, so the directory must be on a file system
# that the nodes share.
command -v srun > /dev/null 2>&1 ||
	{ echo "srun.sh: srun not found (LAUNCH=slurm needs the Slurm client commands)" >&2; exit 1; }
# a terminal is nobody's input: without this srun would read it for the job and stop make when
# it runs in the background
[ -t 0 ] && exec < /dev/null
# --quit-on-interrupt: one Ctrl-C on make cancels the job (srun's default asks for a second)
exec srun --nodes=1 --ntasks=1 --quit-on-interrupt "$@"
