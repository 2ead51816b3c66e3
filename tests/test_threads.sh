#!/bin/sh
# test_threads: training results across thread counts (lib/threads.h). On the tvr-tiny synthetic
# corpus with dropout on, distill-step at -j 1 and at -j 2, each twice: the two runs at one
# thread count give byte-identical checkpoints and logs (fixed reduction order, static
# schedules), and the losses of every step at 1 and at 2 threads agree to 1e-5 relative (they
# may differ in the last bits: OpenBLAS splits some products differently). Also: a bad -j or
# $OPENBLAS_NUM_THREADS is a one-line error naming it.
set -u
: "${BIN:=bin}"
# threads that wait sleep at once instead of spinning: on a machine busy with other work a
# spinning OpenMP barrier waits for descheduled threads (minutes instead of seconds); results
# do not depend on it (doc/performance.md)
export OMP_WAIT_POLICY=passive
BIN=$(cd "$BIN" && pwd) || exit 1
fail=0
ok() { echo "OK $*"; }
notok() { echo "NOT OK $*"; fail=1; }

for t in prvr-synth feat-reduce teacher-sim distill-step prvr-cat; do
	[ -x "$BIN/$t" ] || { echo "NOT OK $BIN/$t does not exist"; exit 1; }
done
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

"$BIN"/prvr-synth -p tvr-tiny -s 4 -o corpus -q || { echo "NOT OK prvr-synth"; exit 1; }
for x in video-student query-student video-teacher query-teacher; do
	"$BIN"/feat-reduce < corpus/train-$x.mp > $x.mp 2>/dev/null ||
		{ echo "NOT OK feat-reduce $x"; exit 1; }
done
"$BIN"/teacher-sim -v video-teacher.mp -q query-teacher.mp > tsim.mp 2>/dev/null ||
	{ echo "NOT OK teacher-sim"; exit 1; }

# the same command line in four directories: -j 1 twice, -j 2 twice
for r in 1a 1b 2a 2b; do
	mkdir $r
	(cd $r && "$BIN"/distill-step -v ../video-student.mp -q ../query-student.mp -t ../tsim.mp \
		--hidden 32 --heads 2 --batch 16 --lr 2e-3 --epochs 4 --seed 9 -j "${r%?}" \
		-o ck.mp -l log.mp 2>err) || { cat $r/err; echo "NOT OK training run $r"; exit 1; }
	# the step losses, one per line (epoch records carry wall seconds, so they are left out)
	"$BIN"/prvr-cat < $r/log.mp | grep '"type":"step"' > $r/steps
	sed 's/.*"loss":\([-0-9.eE+]*\).*/\1/' $r/steps > $r/loss
done
for j in 1 2; do
	if cmp -s ${j}a/ck.mp ${j}b/ck.mp && cmp -s ${j}a/steps ${j}b/steps; then
		ok "-j $j twice: byte-identical checkpoints and step logs"
	else
		notok "-j $j twice: checkpoints or step logs differ"
	fi
done
n=$(wc -l < 1a/loss)
if [ "$n" -gt 4 ] && [ "$n" -eq "$(wc -l < 2a/loss)" ] &&
   paste 1a/loss 2a/loss | awk '{ d = $1 - $2; if (d < 0) d = -d; r = d / ($1 < 0 ? -$1 : $1);
	if (r > m) m = r } END { printf "max relative difference %.3g\n", m; exit !(m <= 1e-5) }' > rel; then
	ok "-j 1 and -j 2: $n step losses agree to 1e-5 relative ($(cat rel))"
else
	notok "-j 1 and -j 2: step losses differ beyond 1e-5 relative ($(cat rel 2>/dev/null))"
fi

# bad thread counts name the flag or the variable, exit 1
"$BIN"/distill-step -v video-student.mp -q query-student.mp -o x.mp -j 0 2>err
if [ $? -eq 1 ] && grep -q -- "-j '0'" err && [ "$(wc -l < err)" -eq 1 ] && [ ! -e x.mp ]; then
	ok "-j 0: one-line error naming -j"
else
	notok "-j 0: $(cat err)"
fi
OPENBLAS_NUM_THREADS=two "$BIN"/distill-step -v video-student.mp -q query-student.mp -o x.mp 2>err
if [ $? -eq 1 ] && grep -q "OPENBLAS_NUM_THREADS 'two'" err && [ ! -e x.mp ]; then
	ok "OPENBLAS_NUM_THREADS=two: error naming the variable"
else
	notok "OPENBLAS_NUM_THREADS=two: $(cat err)"
fi
exit $fail
