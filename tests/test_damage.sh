#!/bin/sh
# test_damage: every tool that reads a stream, fed that stream damaged — cut at many byte offsets,
# with a flipped byte, with a wrong header, or empty — exits 1 (never crashes: no signal, no
# sanitizer abort), says so in a last stderr line naming the input, and leaves no output file.
# The undamaged input is checked to pass first, so a failure is the damage's doing.
# Every tool runs under an address-space limit (ulimit -v), so that an allocation from a size
# read from the damaged input fails the test instead of the machine. Not under ASan
# (PRVR_SANITIZED=1, as make test sets for its ASan run): its shadow memory reserves terabytes
# of address space, so the limit is skipped there.
set -u
B=${BIN:-bin}
# KiB: the tiny streams here need a few MiB, the libraries ~50 MiB with one thread (an
# OpenMP OpenBLAS that cannot create its threads under the limit spins instead of failing)
VMEM=524288
[ "${PRVR_SANITIZED:-0}" = 1 ] && VMEM=unlimited
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# a valid tiny pipeline: every stream kind a tool reads
$B/prvr-synth -q -p tvr-tiny -s 3 -o "$T/c" || exit 1
for f in train-video-student train-query-student train-video-teacher train-query-teacher \
         test-video-student test-query-student test-video-teacher test-query-teacher; do
	$B/feat-reduce -q -i "$T/c/$f.mp" -o "$T/r-$f.mp" || exit 1
done
$B/teacher-sim -Q -v "$T/r-train-video-teacher.mp" -q "$T/r-train-query-teacher.mp" -o "$T/tau.mp" || exit 1
$B/teacher-sim -Q -S -v "$T/r-test-video-teacher.mp" -q "$T/r-test-query-teacher.mp" -o "$T/tsc.mp" || exit 1
TRAIN="--hidden 16 --heads 2 --epochs 1 --batch 30 -j 1"
$B/distill-step -v "$T/r-train-video-student.mp" -q "$T/r-train-query-student.mp" -t "$T/tau.mp" \
	$TRAIN -o "$T/ck.mp" 2>/dev/null || exit 1
$B/encode-video -c "$T/ck.mp" -o "$T/ev.mp" < "$T/r-test-video-student.mp" 2>/dev/null || exit 1
$B/encode-text -c "$T/ck.mp" -o "$T/eq.mp" < "$T/r-test-query-student.mp" 2>/dev/null || exit 1
$B/rank -v "$T/ev.mp" -q "$T/eq.mp" -o "$T/rk.mp" 2>/dev/null || exit 1
$B/rank -S -v "$T/ev.mp" -q "$T/eq.mp" -o "$T/sc.mp" 2>/dev/null || exit 1
$B/ckpt-diff -q -o "$T/td.mp" "$T/ck.mp" "$T/ck.mp" || exit 1
# the frame index tools (built only with FAISS); their index file's damage: tests/test_search.sh,
# tests/test_hostile.c, the vindex fuzzer
IDX=
if [ -x $B/prvr-index ]; then
	IDX="-Q -j 1 -c f32 -a ivf -n 2"
	# shellcheck disable=SC2086
	$B/prvr-index $IDX -v "$T/ev.mp" -o "$T/ix" 2>/dev/null || exit 1
fi

# consumer NAME INPUT CMD: CMD reads @ (the damaged copy of INPUT) and writes $OUT
check() {
	name=$1 expect=$2
	shift 2
	rm -f "$T"/out*
	(ulimit -v $VMEM && exec "$@") >/dev/null 2>"$T/err"
	rc=$?
	last=$(tail -n 1 "$T/err")
	if [ "$expect" = ok ]; then
		[ $rc -eq 0 ] && return 0
		echo "NOT OK $name: undamaged input failed (exit $rc): $last"
		return 1
	fi
	if [ $rc -ne 1 ]; then
		echo "NOT OK $name: exit $rc (want 1): $(tail -n 3 "$T/err")"
	elif ! printf '%s\n' "$last" | grep -qE "bad.mp|<stdin>"; then
		echo "NOT OK $name: last stderr line does not name the input: $last"
	elif ls "$T"/out* >/dev/null 2>&1; then
		echo "NOT OK $name: output left behind: $(ls "$T"/out*)"
	else
		return 0
	fi
	return 1
}

flip() {  # flip(file, offset): xor one byte with 0x5a
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 90)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# every consumer of one input kind: "label|command with @ for the damaged file"
consumers() {
	case $1 in
	raw-video) echo "feat-reduce|$B/feat-reduce -i @ -o $T/out" ;;
	raw-query) echo "feat-reduce|$B/feat-reduce -i @ -o $T/out" ;;
	tvideo) echo "teacher-sim|$B/teacher-sim -Q -v @ -q $T/r-train-query-teacher.mp -o $T/out" ;;
	tquery) echo "teacher-sim|$B/teacher-sim -Q -S -v $T/r-train-video-teacher.mp -q @ -o $T/out" ;;
	svideo) echo "distill-step|$B/distill-step -v @ -q $T/r-train-query-student.mp -t $T/tau.mp $TRAIN -o $T/out"
	        echo "encode-video|$B/encode-video -c $T/ck.mp -o $T/out < @" ;;
	squery) echo "distill-step|$B/distill-step -v $T/r-train-video-student.mp -q @ -t $T/tau.mp $TRAIN -o $T/out"
	        echo "encode-text|$B/encode-text -c $T/ck.mp -o $T/out < @" ;;
	tau)    echo "distill-step|$B/distill-step -v $T/r-train-video-student.mp -q $T/r-train-query-student.mp -t @ $TRAIN -o $T/out" ;;
	ckpt)   echo "encode-video|$B/encode-video -c @ -o $T/out < $T/r-test-video-student.mp"
	        echo "ckpt-diff|$B/ckpt-diff -q -o $T/out @ $T/ck.mp"
	        echo "distill-step|$B/distill-step --resume @ --eval-loss -v $T/r-train-video-student.mp -q $T/r-train-query-student.mp -t $T/tau.mp -l $T/out" ;;
	ev)     echo "rank|$B/rank -v @ -q $T/eq.mp -o $T/out"
	        echo "rank -V|$B/rank -V -v @ -q $T/eq.mp -o $T/out"
	        [ -z "$IDX" ] || echo "prvr-index|$B/prvr-index $IDX -v @ -o $T/out" ;;
	eq)     echo "rank|$B/rank -v $T/ev.mp -q @ -o $T/out"
	        echo "rank -V|$B/rank -V -v $T/ev.mp -q @ -o $T/out"
	        [ -z "$IDX" ] || echo "prvr-search|$B/prvr-search -Q -j 1 -x $T/ix -q @ -o $T/out" ;;
	ranking) echo "metrics|$B/metrics -i @ -o $T/out"
	        echo "prvr-recall|$B/prvr-recall -Q -r @ -a $T/rk.mp"
	        echo "prvr-recall|$B/prvr-recall -Q -r $T/rk.mp -a @" ;;
	scores) echo "metrics|$B/metrics -i @ -o $T/out"
	        echo "rank|$B/rank -s @ -o $T/out" ;;
	esac
	[ "${2:-}" = "wrong kind" ] || echo "prvr-cat|$B/prvr-cat -c @"  # any valid kind is fine for it
}

run_all() {  # run_all KIND: every consumer of KIND on bad.mp
	consumers "$1" "$2" | while IFS='|' read -r label cmd; do
		# shellcheck disable=SC2086
		check "$label <$1 $2>" "$3" sh -c "$(echo "$cmd" | sed "s|@|$T/bad.mp|g")" ||
			echo x >> "$T/failed"
	done
}

for pair in raw-video:c/test-video-student raw-query:c/test-query-student \
            tvideo:r-train-video-teacher tquery:r-train-query-teacher \
            svideo:r-train-video-student squery:r-train-query-student tau:tau ckpt:ck \
            ev:ev eq:eq ranking:rk scores:sc tensor-diff:td; do
	kind=${pair%%:*} src=$T/${pair#*:}.mp
	size=$(wc -c < "$src")
	cp "$src" "$T/bad.mp"; run_all "$kind" "undamaged" ok
	: > "$T/bad.mp"; run_all "$kind" "empty" bad
	printf '\301' > "$T/bad.mp"; run_all "$kind" "garbage" bad
	# cuts: the first bytes, around the header's end, the middle, the last bytes, and a spread
	for off in 1 2 9 40 $((size / 7)) $((size / 3)) $((size / 2)) $((size * 5 / 6)) \
	           $((size - 2)) $((size - 1)); do
		[ "$off" -gt 0 ] && [ "$off" -lt "$size" ] || continue
		head -c "$off" "$src" > "$T/bad.mp"; run_all "$kind" "cut@$off" bad
	done
	for off in 3 30 $((size / 5)) $((size / 2)) $((size - 9)); do
		cp "$src" "$T/bad.mp"; flip "$T/bad.mp" "$off"; run_all "$kind" "flip@$off" bad
	done
	# a stream of another kind
	cp "$T/tau.mp" "$T/bad.mp"; [ "$kind" = tau ] && cp "$T/rk.mp" "$T/bad.mp"
	[ "$kind" = ranking ] || [ "$kind" = scores ] || run_all "$kind" "wrong kind" bad
done
nf=$(cat "$T/failed" 2>/dev/null | wc -l)
echo "damage: $nf failed cases"
[ "$nf" -eq 0 ]
