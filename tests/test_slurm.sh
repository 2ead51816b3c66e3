#!/bin/bash
# test_slurm: the experiment pipelines on a Slurm cluster (LAUNCH=slurm, pipelines/srun.sh).
# Starts a real single-node Slurm (slurmctld and slurmd on localhost from a slurm.conf generated
# in a temporary directory: auth/none, process tracking without cgroups, no accounting), runs
# `make main` at SCALE=tiny (one dataset, one seed, a reduced student, two epochs) locally and
# then with LAUNCH=slurm into other directories, and checks: the local run submitted no job;
# every heavy step of the Slurm run was one completed job named after its target with the cores
# (JOBS), memory (SLURM_MEM), time limit and partition (SLURM_OPTS) asked for; the table, and
# every record of every checkpoint, log, encoding and score file, is the same as the local run's;
# a training job that fails, or that is cancelled while it runs, fails make and leaves no
# checkpoint (a cancelled one keeps its log to its last epoch). Stops the daemons and removes everything on any exit.
# Prints one "SKIP ..." line and passes when a cluster cannot be started here (not root, Slurm
# not installed: scripts/deps.sh installs it, daemons that do not come up) and under the
# sanitizers (PRVR_SANITIZED=1: the launcher is the same, test_pipelines runs the tools).
set -u
skip() { echo "SKIP test_slurm: $*"; exit 0; }
[ "${PRVR_SANITIZED:-0}" = 1 ] && skip "not under sanitizers (the plain run tests the launcher)"
[ "$(id -u)" = 0 ] || skip "needs root to start slurmctld and slurmd"
for c in slurmctld slurmd srun sinfo squeue scontrol scancel; do
	command -v $c > /dev/null || skip "$c not found (Debian slurm-wlm; scripts/deps.sh)"
done
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
daemons= running=
stop() {
	# a make still running (timeout passes the signal on to make and its sruns, which cancel
	# their jobs), any job left, then the two daemons this test started, by their pids
	[ -z "$running" ] || { kill "$running" 2>/dev/null; wait "$running"; }
	[ -z "$daemons" ] || { scancel --quiet -p prvr 2>/dev/null; sleep 1; kill $daemons 2>/dev/null; }
	for p in $daemons; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP
fail=0
ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fail=1; }

OLD=
for b in "$BIN"/*; do OLD="$OLD -o $b"; done
KNOBS=(DATASET=tvr SCALE=tiny SEEDS=1 EPOCHS=2 JOBS=2 "TRAIN_OPTS=--hidden 32 --heads 2" RESAMPLES=2000
	"BINDIR=$BIN" "OBJ=$T/obj")
# make in the background, bounded (a step that never gets its job ends it), so that a signal to
# the test is handled at once: pstart starts it, pmake waits for it too
pstart() { timeout 300 make -C "$ROOT" --no-print-directory $OLD "${KNOBS[@]}" "$@" & running=$!; }
pmake() { pstart "$@"; wait "$running"; set -- $?; running=; return "$1"; }

# ---- a one-node cluster: two free ports, the configuration, the daemons ----
portfree() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 30000))
	portfree $p && portfree $((p + 1)) && { port=$p; break; }
done
[ -n "$port" ] || skip "no two free ports for slurmctld and slurmd"
mkdir -p "$T/state" "$T/spool"
export SLURM_CONF=$T/slurm.conf
cat > "$SLURM_CONF" << EOF
ClusterName=prvr
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
# two 2-core jobs at a time on any machine (make -j2 JOBS=2), whatever its cores: no queueing
SlurmdParameters=config_overrides
MinJobAge=3600
NodeName=prvrnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=prvr Nodes=prvrnode Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i > "$T/slurmctld.out" 2>&1 &
daemons=$!
slurmd -D -N prvrnode > "$T/slurmd.out" 2>&1 &
daemons="$daemons $!"
up=
for _ in $(seq 100); do
	[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && { up=1; break; }
	sleep 0.2
done
[ -n "$up" ] ||
	skip "the Slurm daemons did not come up: $(cat "$T"/slurm*.out | grep -i -m1 fatal || tail -qn1 "$T"/slurm*.out)"
ok "single-node Slurm up on ports $port, $((port + 1))"

# ---- the local run: no job at all ----
SECONDS=0
pmake -j2 main RESULTS="$T/local" DATADIR="$T/ldata" > "$T/local.log" 2>&1 ||
	{ bad "local make main"; tail -n 20 "$T/local.log"; exit 1; }
ok "local make main (${SECONDS}s)"
[ -z "$(squeue -h -t all -o %i)" ] && ! grep -q 'srun\.sh' "$T/local.log" && ok "the local run used no Slurm" ||
	bad "the local run sent jobs to Slurm"

# ---- the same run through Slurm ----
SK=(LAUNCH=slurm SLURM_MEM=200M "SLURM_OPTS=--time=5 --partition=prvr" "RESULTS=$T/slurm" "DATADIR=$T/sdata")
SECONDS=0
pmake -j2 main "${SK[@]}" > "$T/slurm.log" 2>&1 &&
	ok "make main LAUNCH=slurm (${SECONDS}s)" || { bad "make main LAUNCH=slurm"; tail -n 20 "$T/slurm.log"; }

# every step make ran under srun.sh is one completed job of that name with the cores (JOBS),
# memory (SLURM_MEM) and time limit (SLURM_OPTS) asked for, and nothing else ran
scontrol show job -o 2>/dev/null | awk '{
	for (i = 1; i <= NF; i++) { k = substr($i, 1, index($i, "=") - 1); v[k] = substr($i, length(k) + 2) }
	print v["JobName"], v["JobState"], v["CPUs/Task"], v["MinMemoryNode"], v["TimeLimit"], v["Partition"]
}' | sort > "$T/jobs"
sed -n 's|.*/srun\.sh -J \([^ ]*\) .*|\1 COMPLETED 2 200M 00:05:00 prvr|p' "$T/slurm.log" | sort > "$T/want"
n=$(wc -l < "$T/want")
if [ "$n" -gt 0 ] && cmp -s "$T/jobs" "$T/want"; then
	ok "$n steps ran as $n completed Slurm jobs named after their targets, 2 cores, 200M, 5 min"
else
	bad "Slurm jobs (<) against the steps make ran (>):"; diff "$T/jobs" "$T/want" | head -n 20
fi
for kind in corpus.mp train-tsim.mp ckpt.mp test-videos.mp test-queries.mp test.tsv test-scores.mp; do
	grep -q "/$kind COMPLETED " "$T/jobs" && ok "a $kind job" || bad "no $kind job"
done

# the same table and the same files, bit for bit (training is deterministic for a seed and -j)
strip() { sed -e '/^# date: /d' -e 's/ · date: [^<]*//' "$1"; }
for f in main.tsv main.md; do
	if cmp -s <(strip "$T/local/main/tvr-tiny/$f") <(strip "$T/slurm/main/tvr-tiny/$f"); then
		ok "$f: Slurm's table equals the local run's"
	else
		bad "$f differs:"; diff <(strip "$T/local/main/tvr-tiny/$f") <(strip "$T/slurm/main/tvr-tiny/$f")
	fi
done
grep -q '^tvr	dl-dkd	1	' "$T/slurm/main/tvr-tiny/main.tsv" && ok "the table has the DL-DKD row" ||
	bad "no DL-DKD row in the Slurm table"
# (every record as prvr-cat prints it, floats to the last bit, but for the command line in the
# header, which names the other directories, and the log's seconds)
records() { "$BIN/prvr-cat" < "$1" | sed -e '1s/"cmd":"[^"]*"//' -e 's/"seconds":[-+.e0-9]*//g'; }
same=0 differ=0
for f in $(cd "$T/local/models" && find . -name '*.mp' | sort); do
	if cmp -s <(records "$T/local/models/$f") <(records "$T/slurm/models/$f"); then
		same=$((same + 1))
	else
		differ=$((differ + 1)); echo "differs: $f"
	fi
done
[ $same -gt 0 ] && [ $differ = 0 ] && ok "$same model files (checkpoints, logs, encodings, scores) the same" ||
	bad "$differ of $((same + differ)) model files differ"

# ---- failures: a job that fails, a job cancelled while it runs ----
M=$T/slurm/models/tvr-tiny-d1
# state NAME: the Slurm state of the job of that name, once it has finished completing
state() {
	for _ in $(seq 50); do [ "$(squeue -h -t all -n "$1" -o %T)" = COMPLETING ] || break; sleep 0.2; done
	squeue -h -t all -n "$1" -o %T
}
pmake "$M/exp-s1-e3/ckpt.mp" "${SK[@]}" EPOCHS=3 "TRAIN_OPTS=--no-such-option" > "$T/bad.log" 2>&1 &&
	bad "make succeeded with a failing training job" || ok "a failing job fails make"
[ "$(state exp-s1-e3/ckpt.mp)" = FAILED ] && ok "Slurm saw the job fail" ||
	bad "the failing job's state: $(state exp-s1-e3/ckpt.mp)"
[ -z "$(ls "$M"/exp-s1-e3/ 2>/dev/null | grep -v '^train\.err$')" ] &&
	ok "the failed job left no checkpoint or log" || bad "the failed job left: $(ls "$M"/exp-s1-e3/)"

# epochs and patience it cannot reach before the cancel, however fast the machine
pstart "$M/exp-s1-e100000/ckpt.mp" "${SK[@]}" EPOCHS=100000 PATIENCE=100000 > "$T/cancel.log" 2>&1
id=
for _ in $(seq 100); do
	id=$(squeue -h -t R -n exp-s1-e100000/ckpt.mp -o %i 2>/dev/null)
	[ -n "$id" ] && break
	sleep 0.2
done
if [ -n "$id" ]; then
	sleep 1
	scancel "$id"
	wait "$running" && bad "make succeeded with a cancelled job" || ok "a cancelled job fails make"
	running=
	[ "$(state exp-s1-e100000/ckpt.mp)" = CANCELLED ] && ok "Slurm cancelled it" ||
		bad "the cancelled job's state: $(state exp-s1-e100000/ckpt.mp)"
	# its log may stay, up to the last completed epoch (doc/reliability.md): only the
	# checkpoint marks a finished training
	[ ! -e "$M/exp-s1-e100000/ckpt.mp" ] &&
		ok "the cancelled job left no checkpoint" || bad "the cancelled job left: $(ls "$M"/exp-s1-e100000/)"
else
	bad "the training job never ran"
fi
exit $fail
