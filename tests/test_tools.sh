#!/bin/sh
# test_tools: feat-reduce, metrics and prvr-cat end to end through real pipes.
# Inputs are made by the unit-test binaries (test_reduce gen-*, test_metrics gen-*), so no
# golden stream files are needed; expected values are computed by hand (see test_metrics.c for
# the 6 x 4 matrix). Checks: --help; feat-reduce -> prvr-cat -c round trips (plain and gzip);
# kept / truncated / normalised shapes; bad input of every kind gives exit 1, one stderr line
# and no -o file; exact stdout of metrics -f tsv and exact -r ranks.
: "${BIN:=bin}" "${TBIN:=obj/testbin}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

# ---- --help: stdout, exit 0 ----
for t in feat-reduce metrics prvr-cat; do
	for h in --help -h; do
		if "$BIN/$t" $h >"$T/help" 2>"$T/err" && grep -q "^$t " "$T/help" &&
		   grep -q "usage:" "$T/help" && ! [ -s "$T/err" ]; then
			ok "$t $h"
		else
			bad "$t $h"
		fi
	done
	if "$BIN/$t" -Z >/dev/null 2>&1; then bad "$t: unknown option exits 1"; else ok "$t: unknown option exits 1"; fi
done

# ---- feat-reduce round trips ----
"$TBIN/test_reduce" gen-video student 14 8 3 >"$T/vs.mp" &&
"$TBIN/test_reduce" gen-video teacher 14 6 3 >"$T/vt.mp" &&
"$TBIN/test_reduce" gen-query student 30 8 4 >"$T/qs.mp" &&
"$TBIN/test_reduce" gen-query teacher 30 6 4 >"$T/qt.mp" || { echo "NOT OK making inputs"; exit 1; }

for f in vs vt qs qt; do
	if "$BIN/feat-reduce" -q -i "$T/$f.mp" -o "$T/$f-r.mp" &&
	   "$BIN/prvr-cat" -c "$T/$f-r.mp" 2>"$T/err" &&
	   grep -q "^$T/$f-r.mp: OK .* 14 records$\|^$T/$f-r.mp: OK .* 30 records$" "$T/err"; then
		ok "feat-reduce $f -> prvr-cat -c"
	else
		bad "feat-reduce $f -> prvr-cat -c"; cat "$T/err"
	fi
done
# stdin/stdout and gzip give the same stream
"$BIN/feat-reduce" -q -z <"$T/vs.mp" >"$T/vs-z.mp"
check "feat-reduce -z writes gzip" test "$(od -An -tx1 -N2 "$T/vs-z.mp" | tr -d ' ')" = 1f8b
"$BIN/prvr-cat" -a "$T/vs-z.mp" | tail -n +2 >"$T/a1"
"$BIN/prvr-cat" -a "$T/vs-r.mp" | tail -n +2 >"$T/a2"
check "gzip and plain outputs hold the same items" cmp -s "$T/a1" "$T/a2"
check "gzip output validates" "$BIN/prvr-cat" -c "$T/vs-z.mp" 2>/dev/null

# headers: reduced true, normalized true for student and false for teacher, other keys kept
check "student header" sh -c "'$BIN/prvr-cat' -n 0 '$T/vs-r.mp' | grep -q '\"role\":\"student\",\"dim\":8,\"split\":\"test\",\"reduced\":true,\"normalized\":true'"
check "teacher header" sh -c "'$BIN/prvr-cat' -n 0 '$T/vt-r.mp' | grep -q '\"role\":\"teacher\",\"dim\":6,\"split\":\"test\",\"reduced\":true,\"normalized\":false'"

# frame counts: the generator cycles 1 2 127 128 129 200 300 -> 1 2 127 128 128 128 128
ns() { "$BIN/prvr-cat" "$1" | tail -n +2 | sed 's/.*"n":\([0-9]*\).*/\1/' | tr '\n' ' '; }
check "frame counts" test "$(ns "$T/vs-r.mp")" = "1 2 127 128 128 128 128 1 2 127 128 128 128 128 "
"$BIN/feat-reduce" -q -f 2 <"$T/vt.mp" >"$T/vt-2.mp"
check "-f 2 frame counts" test "$(ns "$T/vt-2.mp")" = "1 2 2 2 2 2 2 1 2 2 2 2 2 2 "
# teacher frames with N <= 128 and teacher query embeddings pass unchanged (byte for byte in
# the printed floats); student rows are normalised: every |x| < 1
"$BIN/prvr-cat" -a "$T/vt.mp" | awk 'NR > 1 && (NR - 2) % 7 < 4' >"$T/a1"
"$BIN/prvr-cat" -a "$T/vt-r.mp" | awk 'NR > 1 && (NR - 2) % 7 < 4' >"$T/a2"
check "teacher frames kept when N <= 128" cmp -s "$T/a1" "$T/a2"
"$BIN/prvr-cat" -a "$T/qt.mp" | tail -n +2 >"$T/a1"
"$BIN/prvr-cat" -a "$T/qt-r.mp" | tail -n +2 >"$T/a2"
check "teacher query embeddings unchanged" cmp -s "$T/a1" "$T/a2"
"$BIN/feat-reduce" -q -t 5 <"$T/qs.mp" >"$T/qs-5.mp"
check "-t 5 token counts <= 5" sh -c "! '$BIN/prvr-cat' '$T/qs-5.mp' | tail -n +2 | grep -qv '\"n\":[1-5],'"
check "student rows normalised (|x| < 1)" sh -c "'$BIN/prvr-cat' '$T/vs-r.mp' | tail -n +2 |
	awk -F'\"min\":|,\"max\":|,\"mean\"' '{ if (\$2 <= -1 || \$3 >= 1) bad = 1 } END { exit bad }'"

# ---- bad input: exit 1, one line on stderr, no output file ----
bad_input() { # bad_input NAME FILE: every tool must refuse FILE cleanly
	for t in feat-reduce metrics prvr-cat; do
		mkdir -p "$T/o" && rm -f "$T/o/"*
		case $t in
		prvr-cat) "$BIN/prvr-cat" -c <"$2" >"$T/out" 2>"$T/err"; rc=$? ;;
		*) "$BIN/$t" -q -o "$T/o/out.mp" <"$2" >"$T/out" 2>"$T/err"; rc=$? ;;
		esac
		if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ -z "$(ls "$T/o")" ] &&
		   ! [ -s "$T/out" ]; then
			:
		else
			bad "$t on $1: rc $rc, stderr:"; cat "$T/err"; ls "$T/o"
			return
		fi
	done
	ok "bad input refused by all three: $1 ($(cat "$T/err"))"
}
: >"$T/empty"
bad_input "empty input" "$T/empty"
size=$(wc -c <"$T/vs.mp")
for k in 1 7 30 100 1000 $((size / 2)) $((size - 1)); do
	head -c "$k" "$T/vs.mp" >"$T/cut"
	bad_input "cut at byte $k of $size" "$T/cut"
done
for h in nan dim version magic kind count role; do
	"$TBIN/test_reduce" gen-bad "$h" >"$T/bad.mp"
	bad_input "gen-bad $h" "$T/bad.mp"
done
# exact message of the validator
"$TBIN/test_reduce" gen-bad dim >"$T/bad.mp"
"$BIN/prvr-cat" -c "$T/bad.mp" 2>"$T/err"
check "prvr-cat -c message" test "$(cat "$T/err")" = "prvr-cat: $T/bad.mp: record 2: key 'x': expected 40 float32, got 39"
printf '\301' >"$T/bad.mp"
bad_input "byte 0xc1" "$T/bad.mp"
# flipped bytes anywhere in the first 200 bytes: never a crash, and an error is one line
crash=0
i=0
while [ $i -lt 200 ]; do
	{ head -c $i "$T/vs.mp"; printf '\301'; tail -c +$((i + 2)) "$T/vs.mp"; } >"$T/flip"
	for t in feat-reduce prvr-cat; do
		if [ $t = prvr-cat ]; then "$BIN/$t" -c "$T/flip" >/dev/null 2>"$T/err"; rc=$?
		else "$BIN/$t" -q -i "$T/flip" >/dev/null 2>"$T/err"; rc=$?; fi
		if [ $rc -gt 1 ] || { [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -ne 1 ]; }; then
			crash=$((crash + 1)); echo "byte $i $t: rc $rc"; cat "$T/err"
		fi
	done
	i=$((i + 7))
done
check "flipped bytes: exit 0 or 1 with one line, never a crash" test $crash -eq 0

# ---- metrics: exact output on the hand matrix (test_metrics.c: ranks 2 3 3 4 1 1 for inh,
# 2 1 1 1 1 1 for exp and for the fused score) ----
"$TBIN/test_metrics" gen-small scores >"$T/s.mp"
"$TBIN/test_metrics" gen-small ranking >"$T/r.mp"
TAB=$(printf '\t')
NAMES="queries${TAB}videos${TAB}r1${TAB}r5${TAB}r10${TAB}r100${TAB}sumr${TAB}medr${TAB}meanr${TAB}map"
INH="6${TAB}4${TAB}33.3333${TAB}100.0000${TAB}100.0000${TAB}100.0000${TAB}333.3333${TAB}2.5000${TAB}2.3333${TAB}0.569444"
EXP="6${TAB}4${TAB}83.3333${TAB}100.0000${TAB}100.0000${TAB}100.0000${TAB}383.3333${TAB}1.0000${TAB}1.1667${TAB}0.916667"
printf '%s\n%s\n' "$NAMES" "$INH" >"$T/inh.tsv"
printf '%s\n%s\n' "$NAMES" "$EXP" >"$T/exp.tsv"
"$BIN/metrics" -q -f tsv -B inh -r "$T/ranks.tsv" <"$T/s.mp" >"$T/out"
check "metrics -f tsv -B inh (exact)" cmp -s "$T/out" "$T/inh.tsv"
printf 'v0#enc#0\tv0\t2\nv1#enc#1\tv1\t3\nv2#enc#2\tv2\t3\nv3#enc#3\tv3\t4\nv0#enc#4\tv0\t1\nv3#enc#5\tv3\t1\n' >"$T/want"
check "metrics -r ranks (exact)" cmp -s "$T/ranks.tsv" "$T/want"
"$BIN/metrics" -q -f tsv -B exp -i "$T/s.mp" >"$T/out"
check "metrics -B exp" cmp -s "$T/out" "$T/exp.tsv"
"$BIN/metrics" -q -f tsv -b 0 -i "$T/s.mp" >"$T/out"
check "metrics -b 0 = inh" cmp -s "$T/out" "$T/inh.tsv"
"$BIN/metrics" -q -f tsv <"$T/s.mp" >"$T/out"
check "metrics fused (default beta 0.3)" cmp -s "$T/out" "$T/exp.tsv"
"$BIN/metrics" -q -f tsv -i "$T/r.mp" >"$T/out"
check "metrics on a ranking stream" cmp -s "$T/out" "$T/inh.tsv"
"$BIN/metrics" -q -B inh <"$T/s.mp" >"$T/m.mp"
check "metrics stream validates" "$BIN/prvr-cat" -c "$T/m.mp" 2>/dev/null
check "metrics stream values" sh -c "'$BIN/prvr-cat' '$T/m.mp' | tail -n 1 | grep -q '\"medr\":2.5,\"meanr\":2.33333333333333.*,\"map\":0.5694444444444444'"
"$BIN/metrics" -q -f json -B inh <"$T/s.mp" >"$T/out"
check "metrics -f json" grep -q '^{"queries":6,"videos":4,"r1":33.33333333333333[0-9]*,"r5":100,' "$T/out"
for a in "-B nosuch" "-b 2" "-b 0.5 -B inh" "-f xml"; do
	if "$BIN/metrics" -q $a <"$T/s.mp" >/dev/null 2>"$T/err"; then bad "metrics $a must fail"
	elif [ "$(wc -l <"$T/err")" -ne 1 ]; then bad "metrics $a: one line"; else ok "metrics $a refused"; fi
done
for h in badown shortrow nobranch badtop; do
	"$TBIN/test_metrics" gen-small $h >"$T/bad.mp"
	bad_input "gen-small $h" "$T/bad.mp"
done
mkdir -p "$T/o" && rm -f "$T/o/"*
"$TBIN/test_metrics" gen-small badown >"$T/bad.mp"
if "$BIN/metrics" -q -i "$T/bad.mp" -o "$T/o/m.mp" -r "$T/o/r.tsv" 2>"$T/err"; then
	bad "metrics: own video not listed must fail"
elif grep -q "record 5: key 'video': 'v7' is not in the header's videos" "$T/err" &&
     [ "$(wc -l <"$T/err")" -eq 1 ] && [ -z "$(ls "$T/o")" ]; then
	ok "metrics: own video not listed (no -o or -r file left)"
else
	bad "metrics: own video not listed"; cat "$T/err"
fi
# feat-reduce refuses other kinds, metrics refuses features
check "feat-reduce refuses a scores stream" sh -c "! '$BIN/feat-reduce' <'$T/s.mp' >/dev/null 2>&1"
check "metrics refuses video-features" sh -c "! '$BIN/metrics' <'$T/vs.mp' >/dev/null 2>&1"
# prvr-cat -n and -a
check "prvr-cat -n 2 prints 3 lines" test "$("$BIN/prvr-cat" -n 2 "$T/vs.mp" | wc -l)" -eq 3
check "prvr-cat -a prints every float" test "$("$BIN/prvr-cat" -a -n 1 "$T/vs-r.mp" | tail -n 1 | tr ',' '\n' | wc -l)" -eq 10

[ $fails -eq 0 ] && echo "OK test_tools" || echo "NOT OK test_tools ($fails failures)"
[ $fails -eq 0 ]
