#!/bin/bash
# test_teacher_sim: teacher-sim on hand-made teacher streams (3 videos, 3 queries, dim 2, written
# byte by byte with tests/mpbytes.sh) against tau and scores computed by hand; -S piped into
# rank -s; bad inputs (exit 1, one line on stderr, no output file).
set -u
. "$(dirname "$0")/mpbytes.sh"
mp_test_begin
hex() { for v; do mp_f32hex "$v"; done | tr '\n' ' ' | sed 's/ $//'; }

# frames: A [(1,0)]   B [(0,1), (-1,0)]   C [(2,0), (0,-1), (1,0)]
vid() { mp_map 3; mp_str id; mp_str "$1"; mp_str n; mp_int "$2"; shift 2; mp_str x; mp_f32 "$@"; }
videos() { # REDUCED(true|false) DIM ROLE
	mp_header video-features 3 5
	mp_str role; mp_str "${3:-teacher}"; mp_str dim; mp_int "$2"; mp_str split; mp_str test
	mp_str reduced; "mp_$1"; mp_str normalized; mp_false
	vid A 1 1 0
	vid B 2 0 1 -1 0
	vid C 3 2 0 0 -1 1 0
}
qry() { mp_map 4; mp_str id; mp_str "$1"; mp_str video; mp_str "$2"; mp_str n; mp_int "$3"; shift 3; mp_str x; mp_f32 "$@"; }
queries() { # DIM [N of the last query] [own video of the last query]
	mp_header query-features 3 5
	mp_str role; mp_str teacher; mp_str dim; mp_int "$1"; mp_str split; mp_str test
	mp_str reduced; mp_true; mp_str normalized; mp_false
	qry 'A#enc#0' A 1 1 0
	qry 'B#enc#0' B 1 0 3
	if [ "${2:-1}" = 2 ]; then qry 'C#enc#0' "${3:-C}" 2 -1 0 1 0; else qry 'C#enc#0' "${3:-C}" 1 -1 0; fi
}
videos true 2 >"$d/v.mp"
queries 2 >"$d/q.mp"

# tau: A#enc#0 (1,0) vs A: [1]; B#enc#0 (0,3) vs B: [1, 0]; C#enc#0 (-1,0) vs C: [-1, 0, -1]
"$BIN"/teacher-sim -Q -v "$d/v.mp" -q "$d/q.mp" -o "$d/tau.mp" || notok "teacher-sim exit"
expect "n" "$(mp_field "$d/tau.mp" n int | tr '\n' ' ')" "1 2 3 "
expect "tau A#enc#0" "$(mp_field "$d/tau.mp" tau hex | sed -n 1p)" "$(hex 1)"
expect "tau B#enc#0" "$(mp_field "$d/tau.mp" tau hex | sed -n 2p)" "$(hex 1 0)"
expect "tau C#enc#0" "$(mp_field "$d/tau.mp" tau hex | sed -n 3p)" "$(hex -1 0 -1)"

# -S: max over frames against every video (A, B, C):
#   A#enc#0: 1, 0, 1    B#enc#0: 0, 1, 0    C#enc#0: -1, 1, 0
"$BIN"/teacher-sim -Q -v "$d/v.mp" -q - -S -j 1 -o "$d/s.mp" <"$d/q.mp" || notok "teacher-sim -S exit"
expect "-S A#enc#0" "$(mp_field "$d/s.mp" teacher hex | sed -n 1p)" "$(hex 1 0 1)"
expect "-S B#enc#0" "$(mp_field "$d/s.mp" teacher hex | sed -n 2p)" "$(hex 0 1 0)"
expect "-S C#enc#0" "$(mp_field "$d/s.mp" teacher hex | sed -n 3p)" "$(hex -1 1 0)"
# ranked: A C B (tie A/C: A first) rank 1; B A C rank 1; B C A rank 2
"$BIN"/rank -Q -s "$d/s.mp" -o "$d/r.mp" || notok "rank -s exit"
expect "rank -s ranks" "$(mp_field "$d/r.mp" rank int | tr '\n' ' ')" "1 1 2 "
expect "rank -s tops" "$(mp_field "$d/r.mp" top i32 | tr '\n' ' ')" "0,2,1 1,0,2 1,2,0 "

if [ -x "$BIN/prvr-cat" ]; then
	for f in tau s r; do
		if "$BIN"/prvr-cat -c "$d/$f.mp" 2>"$d/err"; then ok "schema $f.mp"; else notok "schema $f.mp: $(cat "$d/err")"; fi
	done
else
	echo "SKIP schema checks: no $BIN/prvr-cat"
fi

# on a synthetic corpus (ragged frame counts, dim 512 or the preset's): the -S score of the own
# video equals the max of tau over its frames (two code paths: sgemv per query, blocked sgemm)
if [ -x "$BIN/prvr-synth" ] && [ -x "$BIN/feat-reduce" ] && [ -x "$BIN/prvr-cat" ]; then
	"$BIN"/prvr-synth -q -p tvr-tiny -s 3 -o "$d/c" &&
	"$BIN"/feat-reduce -q -i "$d/c/test-video-teacher.mp" -o "$d/tv.mp" &&
	"$BIN"/teacher-sim -Q -v "$d/tv.mp" -q "$d/c/test-query-teacher.mp" -o "$d/ctau.mp" &&
	"$BIN"/teacher-sim -Q -S -v "$d/tv.mp" -q "$d/c/test-query-teacher.mp" -o "$d/cs.mp" ||
		notok "synthetic corpus: a tool failed"
	"$BIN"/prvr-cat -a "$d/ctau.mp" | awk 'NR > 1 {
		match($0, /"tau":\[[^]]*\]/); n = split(substr($0, RSTART + 7, RLENGTH - 8), x, ",")
		m = x[1] + 0; for (i = 2; i <= n; i++) if (x[i] + 0 > m) m = x[i] + 0
		print m }' >"$d/maxtau"
	"$BIN"/prvr-cat -a "$d/cs.mp" | awk 'NR == 1 {
		match($0, /"videos":\[[^]]*\]/); n = split(substr($0, RSTART + 10, RLENGTH - 11), v, ",")
		for (i = 1; i <= n; i++) { gsub(/"/, "", v[i]); col[v[i]] = i } }
	NR > 1 {
		match($0, /"video":"[^"]*"/); own = substr($0, RSTART + 9, RLENGTH - 10)
		match($0, /"teacher":\[[^]]*\]/); split(substr($0, RSTART + 11, RLENGTH - 12), x, ",")
		print x[col[own]] + 0 }' >"$d/sown"
	nq=$(wc -l <"$d/maxtau")
	bad=$(paste "$d/maxtau" "$d/sown" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 || NF != 2) n++ } END { print n + 0 }')
	if [ "$nq" -gt 0 ] && [ "$bad" -eq 0 ]; then
		ok "synthetic corpus: -S own-video score = max tau for all $nq queries"
	else
		notok "synthetic corpus: $bad of $nq queries differ"
	fi
else
	echo "SKIP synthetic corpus check: prvr-synth, feat-reduce or prvr-cat not built"
fi

queries 2 1 Z >"$d/qz.mp"
bad teacher-sim "own video missing" -v "$d/v.mp" -q "$d/qz.mp"
grep -q "C#enc#0" "$d/err" || notok "missing video message names the query"
bad teacher-sim "own video missing, -S" -v "$d/v.mp" -q "$d/qz.mp" -S
queries 2 2 >"$d/qn2.mp"
bad teacher-sim "query with n = 2" -v "$d/v.mp" -q "$d/qn2.mp"
queries 3 >"$d/q3.mp"
bad teacher-sim "dim mismatch" -v "$d/v.mp" -q "$d/q3.mp"
videos false 2 >"$d/vraw.mp"
bad teacher-sim "videos not reduced" -v "$d/vraw.mp" -q "$d/q.mp"
videos true 2 student >"$d/vstu.mp"
bad teacher-sim "student videos" -v "$d/vstu.mp" -q "$d/q.mp"
head -c 50 "$d/q.mp" >"$d/qt.mp"
bad teacher-sim "truncated queries" -v "$d/v.mp" -q "$d/qt.mp"
bad teacher-sim "empty videos" -v /dev/null -q "$d/q.mp"
bad teacher-sim "queries as videos" -v "$d/q.mp" -q "$d/q.mp"
bad teacher-sim "no arguments"
"$BIN"/teacher-sim --help >"$d/help" 2>&1 && grep -q '^usage' "$d/help" && ok "--help" || notok "--help"
exit $fail
