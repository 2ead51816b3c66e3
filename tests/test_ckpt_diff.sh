#!/bin/sh
# test_ckpt_diff: ckpt-diff on checkpoints of tiny distill-step runs. Checks: a checkpoint
# against itself is equal (exit 0, every item equal, a valid tensor-diff stream, -z and -f tsv
# alike); two seeds differ (exit 2), and one array's max_abs equals the largest |a - b| that
# awk computes from prvr-cat -a's values; the tolerance bound: just above that array's max_rel
# it is equal, just below it differs; another hidden size gives status shape (n 0), one branch
# against two gives only-a / only-b for every array of the missing branch, both ways; a cut, a
# flipped byte or a stream of another kind exits 1 with one line naming the file, and leaves no
# -o file; usage errors are one line.
: "${BIN:=bin}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
fails=0
ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fails=$((fails + 1)); }
D="$BIN/ckpt-diff"

"$BIN/prvr-synth" -q -p tvr-tiny -s 3 -o "$T/c" || exit 1
for f in video-student query-student video-teacher query-teacher; do
	"$BIN/feat-reduce" -q -i "$T/c/train-$f.mp" -o "$T/$f.mp" || exit 1
done
"$BIN/teacher-sim" -Q -v "$T/video-teacher.mp" -q "$T/query-teacher.mp" -o "$T/tau.mp" || exit 1
train() { # train OUT OPTIONS...
	o=$1; shift
	"$BIN/distill-step" -v "$T/video-student.mp" -q "$T/query-student.mp" -t "$T/tau.mp" \
		--heads 2 --epochs 1 --batch 30 -j 1 "$@" -o "$T/$o" 2>/dev/null || { echo "NOT OK train $o"; exit 1; }
}
train a.mp --hidden 16
train b.mp --hidden 16 --seed 1
train h8.mp --hidden 8
train inh.mp --hidden 16 --branches inh
ntensor=$("$BIN/prvr-cat" -n 0 "$T/a.mp" | sed 's/.*"count":\([0-9]*\).*/\1/')

# ---- equal ----
"$D" -o "$T/aa.mp" "$T/a.mp" "$T/a.mp" 2>"$T/err"; rc=$?
if [ $rc = 0 ] && "$BIN/prvr-cat" -c "$T/aa.mp" 2>/dev/null &&
   [ "$("$BIN/prvr-cat" "$T/aa.mp" | grep -c '"status":"equal"')" = $((3 * ntensor)) ] &&
   "$BIN/prvr-cat" -n 0 "$T/aa.mp" | grep -q '"tol":0,"differ":0' && grep -q "0 differ" "$T/err"; then
	ok "a checkpoint against itself: exit 0, $((3 * ntensor)) arrays equal, a valid stream"
else
	bad "a against a: exit $rc, $(cat "$T/err")"
fi
"$D" -q -z "$T/a.mp" "$T/a.mp" >"$T/aa.gz" && "$BIN/prvr-cat" "$T/aa.gz" | tail -n +2 >"$T/j1" &&
	"$BIN/prvr-cat" "$T/aa.mp" | tail -n +2 >"$T/j2" && cmp -s "$T/j1" "$T/j2" &&
	[ "$(od -An -tx1 -N2 "$T/aa.gz" | tr -d ' ')" = 1f8b ] &&
	ok "-z: gzip, the same items" || bad "-z"
"$D" -q -f tsv "$T/a.mp" "$T/a.mp" >"$T/aa.tsv"
if [ "$(head -n 1 "$T/aa.tsv")" = "$(printf 'name\tarray\tstatus\tn\tmax_abs\tmax_rel\tover')" ] &&
   [ "$(awk -F'\t' 'NR > 1 && $3 == "equal" && $5 == 0 && $7 == 0' "$T/aa.tsv" | wc -l)" = $((3 * ntensor)) ]; then
	ok "-f tsv: a line of names, one line per array"
else
	bad "-f tsv: $(head -n 2 "$T/aa.tsv")"
fi

# ---- differing: max_abs against awk over prvr-cat -a's values, and the tolerance bound ----
"$D" -q -f tsv "$T/a.mp" "$T/b.mp" >"$T/ab.tsv"; rc=$?
[ $rc = 2 ] && [ "$(awk -F'\t' 'NR > 1 && $3 == "differ"' "$T/ab.tsv" | wc -l)" -gt 0 ] &&
	ok "two seeds differ: exit 2" || bad "two seeds: exit $rc"
name=exp.query.proj.w
values() { "$BIN/prvr-cat" -a "$1" | grep "\"name\":\"$name\"" | sed 's/.*"w":\[\([^]]*\)\].*/\1/' | tr ',' '\n'; }
values "$T/a.mp" >"$T/va"
values "$T/b.mp" >"$T/vb"
want=$(paste "$T/va" "$T/vb" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.9g", m }')
got=$(awk -F'\t' -v n=$name '$1 == n && $2 == "w" { print $5 }' "$T/ab.tsv")
rel=$(awk -F'\t' -v n=$name '$1 == n && $2 == "w" { print $6 }' "$T/ab.tsv")
if [ -s "$T/va" ] && awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; exit !(a > 0 && (d < 0 ? -d : d) <= 1e-6 * a) }'; then
	ok "$name w: max_abs $got, awk over prvr-cat -a says $want"
else
	bad "$name w: max_abs '$got', awk says '$want'"
fi
st() { "$D" -q -f tsv -t "$1" "$T/a.mp" "$T/b.mp" | awk -F'\t' -v n=$name '$1 == n && $2 == "w" { print $3 }'; }
above=$(awk -v r="$rel" 'BEGIN { printf "%.9g", r * 1.000001 }')
below=$(awk -v r="$rel" 'BEGIN { printf "%.9g", r * 0.999999 }')
[ "$(st "$above")" = equal ] && [ "$(st "$below")" = differ ] &&
	ok "$name w: equal at -t $above, differs at -t $below (max_rel $rel)" ||
	bad "tolerance bound: $(st "$above") at $above, $(st "$below") at $below"
"$D" -q -t 2 "$T/a.mp" "$T/b.mp" >/dev/null; rc=$?
[ $rc = 0 ] && ok "-t 2: equal, as |a - b| is at most twice the scale (exit 0)" || bad "-t 2: exit $rc"

# ---- mismatched shapes and names ----
"$D" -q -o "$T/ah.mp" "$T/a.mp" "$T/h8.mp"; rc=$?
n=$("$BIN/prvr-cat" "$T/ah.mp" | grep -c '"status":"shape".*"n":0,')
[ $rc = 2 ] && [ "$n" -gt 0 ] && "$BIN/prvr-cat" -c "$T/ah.mp" 2>/dev/null &&
	ok "hidden 16 against 8: $n arrays of status shape, n 0" || bad "shapes: exit $rc, $n"
nexp=$("$BIN/prvr-cat" "$T/a.mp" | grep -c '"name":"exp\.')
for way in "a.mp inh.mp only-a" "inh.mp a.mp only-b"; do
	set -- $way
	"$D" -q -o "$T/n.mp" "$T/$1" "$T/$2"; rc=$?
	n=$("$BIN/prvr-cat" "$T/n.mp" | grep '"name":"exp\.' | grep -c "\"status\":\"$3\"")
	[ $rc = 2 ] && [ "$nexp" -gt 0 ] && [ "$n" = $((3 * nexp)) ] && "$BIN/prvr-cat" -c "$T/n.mp" 2>/dev/null &&
		[ "$("$BIN/prvr-cat" "$T/n.mp" | grep -c '"name":"exp\.')" = "$n" ] &&
		ok "$1 against $2: the $nexp exp tensors $3 (3 arrays each), exit 2" || bad "$1 against $2: exit $rc, $n of $((3 * nexp))"
done

# ---- damaged input: exit 1, one line naming the file, no output file ----
size=$(wc -c <"$T/a.mp")
head -c $((size / 2)) "$T/a.mp" >"$T/cut.mp"
cp "$T/a.mp" "$T/flip.mp"
b=$(od -An -tu1 -j $((size / 3)) -N1 "$T/flip.mp" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 90)))" | dd of="$T/flip.mp" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
for x in "cut.mp a.mp" "a.mp flip.mp" "tau.mp a.mp"; do
	set -- $x
	rm -f "$T/out.mp"
	"$D" -o "$T/out.mp" "$T/$1" "$T/$2" 2>"$T/err"; rc=$?
	if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "^ckpt-diff: $T/${1#a.mp}${2#a.mp}" "$T/err" &&
	   [ ! -e "$T/out.mp" ]; then
		ok "damaged $1 $2: exit 1, $(cat "$T/err")"
	else
		bad "damaged $1 $2: exit $rc, $(cat "$T/err"), $(ls "$T/out.mp" 2>/dev/null)"
	fi
done

# ---- usage ----
for args in "$T/a.mp" "-f json $T/a.mp $T/a.mp" "-f tsv -o $T/x $T/a.mp $T/a.mp" "-t 2.5 $T/a.mp $T/a.mp"; do
	"$D" $args >"$T/out" 2>"$T/err"; rc=$?
	[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && [ ! -s "$T/out" ] &&
		ok "ckpt-diff ${args#"$T/"}: $(cat "$T/err")" || bad "usage ${args}: exit $rc, $(cat "$T/err")"
done
cp "$T/a.mp" "$T/a0.mp"
"$D" -o "$T/a.mp" "$T/a.mp" "$T/b.mp" 2>"$T/err"; rc=$?
[ $rc = 1 ] && cmp -s "$T/a.mp" "$T/a0.mp" && grep -q "is the input" "$T/err" &&
	ok "-o an input: refused" || bad "-o an input: exit $rc, $(cat "$T/err")"
[ $fails = 0 ]
