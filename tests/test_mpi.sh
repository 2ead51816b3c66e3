#!/bin/bash
# test_mpi: data-parallel distill-step under Open MPI (doc/scale.md) on the tvr-tiny synthetic
# corpus with dropout and hard (sampled) negatives on, 3 epochs of 4 steps. Checks: `mpirun -np
# 2` and `-np 3` (oversubscribed) train the model one process trains: every tensor of the
# checkpoint (weights and Adam moments) equals the single-process run's to 1e-5 of the tensor's
# largest value (ckpt-diff -t 1e-5), and every logged step loss to 1e-5 relative; only rank 0
# writes (one log, one checkpoint); a 2-rank run killed with kill -9 of mpirun after its second
# epoch and resumed with --resume on 3 ranks ends where the uninterrupted single-process run
# ends, to the same tolerance. The plain runs set none of Open MPI's variables: a plain run
# does not start MPI. Prints one "SKIP ..." line and passes when distill-step was built without
# MPI (no mpicc: HAVE_MPI=no) or mpirun is missing.
set -u
skip() { echo "SKIP test_mpi: $*"; exit 0; }
[ "${HAVE_MPI:-yes}" = yes ] || skip "built without MPI (no mpicc; scripts/deps.sh installs Open MPI)"
command -v mpirun > /dev/null || skip "mpirun not found (Debian openmpi-bin; scripts/deps.sh)"
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd) || exit 1
T=$(mktemp -d) || exit 1
killed=
trap '[ -z "$killed" ] || kill -9 $killed 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
fail=0
ok() { echo "OK $*"; }
notok() { echo "NOT OK $*"; fail=1; }
# Open MPI refuses root without --allow-run-as-root; 3 ranks on fewer cores need --oversubscribe
MPIRUN="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
export OMP_WAIT_POLICY=passive

"$BIN"/prvr-synth -p tvr-tiny -s 3 --concepts 4 --hard 0 --mention 1 -o corpus -q ||
	{ echo "NOT OK prvr-synth"; exit 1; }
for x in video-student query-student video-teacher query-teacher; do
	"$BIN"/feat-reduce < corpus/train-$x.mp > $x.mp 2>/dev/null || { echo "NOT OK feat-reduce"; exit 1; }
done
"$BIN"/teacher-sim -v video-teacher.mp -q query-teacher.mp > tsim.mp 2>/dev/null ||
	{ echo "NOT OK teacher-sim"; exit 1; }
# 60 videos in batches of 16: 4 steps an epoch, the last of 12 videos (4 per rank at -np 3);
# dropout 0.1 and hard negatives from epoch 0 are the defaults
DATA="-v ../video-student.mp -q ../query-student.mp -t ../tsim.mp"
OPTS="--hidden 32 --heads 2 --batch 16 --seed 5 -j 1"

# COMPARE WHAT A B: every tensor of checkpoint B and every step loss of log B against A's
compare() {
	local what=$1 a=$2 b=$3 worst rc
	"$BIN"/ckpt-diff -q -t 1e-5 -f tsv $a/ck.mp $b/ck.mp > $b/diff
	rc=$?
	worst=$(awk -F'\t' 'NR > 1 && $6 + 0 >= m { m = $6 + 0; w = $2 " " $6 " " $1 } END { print w }' $b/diff)
	case $rc in
	0) ok "$what: every tensor within 1e-5 of one process's (worst: $worst; $(($(wc -l < $b/diff) - 1)) arrays)" ;;
	2) notok "$what: tensors differ: $(awk -F'\t' 'NR > 1 && $3 != "equal"' $b/diff | head -n 3 | tr '\n' ';')" ;;
	*) notok "$what: ckpt-diff failed (exit $rc)" ;;
	esac
	"$BIN"/prvr-cat $a/log.mp | grep '"type":"step"' | sed 's/.*"loss":\([^,]*\),.*/\1/' > $a/losses
	"$BIN"/prvr-cat $b/log.mp | grep '"type":"step"' | sed 's/.*"loss":\([^,]*\),.*/\1/' > $b/losses
	if [ -s $a/losses ] && [ "$(wc -l < $a/losses)" = "$(wc -l < $b/losses)" ] &&
	    paste $a/losses $b/losses | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * ($1 < 0 ? -$1 : $1)) bad = 1 } END { exit bad }'; then
		ok "$what: the $(wc -l < $b/losses) step losses of the log within 1e-5 relative"
	else
		notok "$what: step losses differ: $(paste $a/losses $b/losses | head -n 3 | tr '\n' ' ')"
	fi
}

mkdir p1 p2 p3 s6 k
(cd p1 && "$BIN"/distill-step $DATA $OPTS --epochs 3 -o ck.mp -l log.mp 2>err) ||
	{ cat p1/err; echo "NOT OK single-process run"; exit 1; }
for p in 2 3; do
	if (cd p$p && $MPIRUN -np $p "$BIN"/distill-step $DATA $OPTS --epochs 3 -o ck.mp -l log.mp \
	    > out 2>err); then
		compare "mpirun -np $p" p1 p$p
	else
		notok "mpirun -np $p: exit $?: $(tail -n 3 p$p/err)"
	fi
done
# rank 0 alone reports and writes: one start line, no file left by another rank
if [ "$(grep -c 'ranks' p3/err)" = 1 ] && grep -q '1 threads x 3 ranks' p3/err &&
    [ "$(ls p3 | tr '\n' ' ')" = "ck.mp diff err log.mp losses out " ]; then
	ok "mpirun -np 3: one progress report, one checkpoint and one log"
else
	notok "mpirun -np 3: progress or files: $(grep -c ranks p3/err) reports; files $(ls p3 | tr '\n' ' ')"
fi

# ---- kill -9 of mpirun after epoch 2 of 6, resume on 3 ranks, against one process's 6 epochs
(cd s6 && "$BIN"/distill-step $DATA $OPTS --epochs 6 -o ck.mp -l log.mp 2>err) ||
	{ cat s6/err; echo "NOT OK single-process run of 6 epochs"; exit 1; }
cd k
$MPIRUN -np 2 "$BIN"/distill-step $DATA $OPTS --epochs 6 -o ck.mp -l log.mp \
	--save-every-epoch ep > out 2>err &
mpirun_pid=$!
for _ in $(seq 600); do
	[ -e ep/epoch-2.mp ] && break
	sleep 0.05
done
ranks=$(pgrep -P "$mpirun_pid" | tr '\n' ' ')
killed="$ranks"
kill -9 "$mpirun_pid"
wait "$mpirun_pid" 2>/dev/null
rc=$?
# the ranks lose their launcher and stop; those still there after 10 s are a failure
for _ in $(seq 100); do
	alive=
	for r in $ranks; do kill -0 "$r" 2>/dev/null && alive="$alive $r"; done
	[ -z "$alive" ] && break
	sleep 0.1
done
killed=
if [ "$rc" = 137 ] && [ -e ep/epoch-2.mp ] && [ ! -e ck.mp ] && [ -z "$alive" ]; then
	ok "kill -9 of mpirun after epoch $(ls ep | sed -n 's/epoch-\([0-9]*\).mp/\1/p' | sort -n | tail -n 1) of 6: no checkpoint, no rank left"
else
	notok "kill -9 of mpirun: exit $rc, files $(ls | tr '\n' ' '), ranks still running:$alive"
	[ -z "$alive" ] || kill -9 $alive
fi
if $MPIRUN -np 3 "$BIN"/distill-step $DATA --resume ep/epoch-2.mp -o ck.mp -l log.mp \
    > out2 2>err2; then
	cd ..
	compare "killed at -np 2, resumed at -np 3" s6 k
else
	notok "resume at -np 3: exit $?: $(tail -n 3 err2)"
	cd ..
fi
exit $fail
