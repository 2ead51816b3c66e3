#!/bin/bash
# test_rank: rank on hand-made encoded streams (3 videos, 6 queries, dim 2, written byte by byte
# with tests/mpbytes.sh) against ranks and top lists computed by hand in the comments below;
# beta 0 / 1 against the single branches; -S then -s against the direct ranking; -k; and bad
# inputs (exit 1, one line on stderr, no output file).
set -u
. "$(dirname "$0")/mpbytes.sh"
mp_test_begin

# ---- inputs ----
# inh frames: A [(1,0)]  B [(0,1), (-1,0)]  C [(1,1), (0,-1)]
# exp frames: A [(0,1)]  B [(1,0), (0,-1)]  C [(-1,0), (0,1)]
video() { # ID N INH... -- EXP...
	id=$1 n=$2; shift 2
	mp_map 4; mp_str id; mp_str "$id"; mp_str n; mp_int "$n"
	inh=() exp=()
	while [ "$1" != -- ]; do inh+=("$1"); shift; done; shift
	exp=("$@")
	mp_str inh; mp_f32 "${inh[@]}"; mp_str exp; mp_f32 "${exp[@]}"
}
videos() { # DIM [BRANCHES-HEADER-OVERRIDE]
	mp_header encoded-videos 3 3
	mp_str dim; mp_int "$1"
	mp_str branches; mp_arr 2; mp_str inh; mp_str exp
	mp_str split; mp_str test
	video A 1 1 0 -- 0 1
	video B 2 0 1 -1 0 -- 1 0 0 -1
	video C 2 1 1 0 -1 -- -1 0 0 1
}
query() { # ID VIDEO INH(2) EXP(2)
	mp_map 4; mp_str id; mp_str "$1"; mp_str video; mp_str "$2"
	mp_str inh; mp_f32 "$3" "$4"; mp_str exp; mp_f32 "$5" "$6"
}
# every exp query is (1,0): exp scores A 0, B 1, C 0 for all queries
qheader() { # COUNT DIM
	mp_header encoded-queries "$1" 3
	mp_str dim; mp_int "$2"
	mp_str branches; mp_arr 2; mp_str inh; mp_str exp
	mp_str split; mp_str test
}
qitems() { # [own video of the last query] [suffix of every query id]
	query "A#enc#0${2:-}" A 1 0 1 0
	query "B#enc#0${2:-}" B 0 1 1 0
	query "C#enc#0${2:-}" C -1 0 1 0
	query "A#enc#1${2:-}" A 0 2 1 0
	query "C#enc#1${2:-}" C 0 -1 1 0
	query "B#enc#1${2:-}" "${1:-B}" 0 -1 1 0
}
queries() { qheader 6 "$1"; qitems "${2:-}"; } # DIM [own video of the last query]
videos 2 >"$d/v.mp"
queries 2 >"$d/q.mp"

ranks() { mp_field "$1" rank int | tr '\n' ' '; }
tops() { mp_field "$1" top i32 | tr '\n' ' '; }
items() { # rank, top and topscore of every item: what must agree between two rankings
	paste -d '|' <(mp_field "$1" rank int) <(mp_field "$1" top i32) <(mp_field "$1" topscore hex)
}

# ---- inh alone ----
# inh scores (A, B, C) per query and the ranking (ties to the lower index):
#   A#enc#0 (1,0):  1, 0, .707   -> A C B, own A rank 1
#   B#enc#0 (0,1):  0, 1, .707   -> B C A, own B rank 1
#   C#enc#0 (-1,0): -1, 1, 0     -> B C A, own C rank 2
#   A#enc#1 (0,2):  0, 1, .707   -> B C A, own A rank 3
#   C#enc#1 (0,-1): 0, 0, 1      -> C A B, own C rank 1
#   B#enc#1 (0,-1): 0, 0, 1      -> C A B, own B rank 3 (tie with A, A first)
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" -B inh -o "$d/inh.mp" || notok "rank -B inh exit"
expect "inh ranks" "$(ranks "$d/inh.mp")" "1 1 2 3 1 3 "
expect "inh tops" "$(tops "$d/inh.mp")" "0,2,1 1,2,0 1,2,0 1,2,0 2,0,1 2,0,1 "
expect "inh topscore of A#enc#0 = 1 (A) then 0 (B)" \
	"$(mp_field "$d/inh.mp" topscore hex | head -n 1 | cut -d' ' -f1-4,9-12)" "00 00 80 3f 00 00 00 00"

# ---- exp alone: scores A 0, B 1, C 0 -> B A C for every query ----
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" -B exp -o "$d/exp.mp" || notok "rank -B exp exit"
expect "exp ranks" "$(ranks "$d/exp.mp")" "2 1 3 2 3 1 "
expect "exp tops" "$(tops "$d/exp.mp")" "1,0,2 1,0,2 1,0,2 1,0,2 1,0,2 1,0,2 "

# ---- fused, beta 0.3: 0.3 exp + 0.7 inh ----
#   A#enc#0: .7, .3, .495  -> A C B, rank 1     B#enc#0: 0, 1, .495 -> B C A, rank 1
#   C#enc#0: -.7, 1, 0     -> B C A, rank 2     A#enc#1: 0, 1, .495 -> B C A, rank 3
#   C#enc#1: 0, .3, .7     -> C B A, rank 1     B#enc#1: 0, .3, .7  -> C B A, rank 2
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" -o "$d/fused.mp" || notok "rank fused exit"
expect "fused ranks" "$(ranks "$d/fused.mp")" "1 1 2 3 1 2 "
expect "fused tops" "$(tops "$d/fused.mp")" "0,2,1 1,2,0 1,2,0 1,2,0 2,1,0 2,1,0 "
expect "fused header score" "$(mp_dump "$d/fused.mp" | grep -c ' a5 73 63 6f 72 65 a5 66 75 73 65 64')" 1

# ---- beta 0 and 1 are the single branches; -k ----
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" -b 0 -o "$d/b0.mp"
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" -b 1 -o "$d/b1.mp"
expect "beta 0 = inh" "$(items "$d/b0.mp")" "$(items "$d/inh.mp")"
expect "beta 1 = exp" "$(items "$d/b1.mp")" "$(items "$d/exp.mp")"
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" -k 2 -o "$d/k2.mp"
expect "-k 2 tops" "$(tops "$d/k2.mp")" "0,2 1,2 1,2 1,2 2,1 2,1 "
expect "-k 2 ranks unchanged" "$(ranks "$d/k2.mp")" "1 1 2 3 1 2 "

# ---- -S then -s equals the direct ranking; stdin; -j ----
"$BIN"/rank -Q -v "$d/v.mp" -q - -S -j 1 -o "$d/s.mp" <"$d/q.mp" || notok "rank -S exit"
expect "-S scores of A#enc#0 (inh: 1 0 .707)" \
	"$(mp_field "$d/s.mp" inh hex | head -n 1 | cut -d' ' -f1-8)" "00 00 80 3f 00 00 00 00"
for opt in "" "-b 0" "-b 1" "-B inh" "-B exp" "-k 2" "-b 0.7"; do
	# shellcheck disable=SC2086
	"$BIN"/rank -Q -v "$d/v.mp" -q "$d/q.mp" $opt -o "$d/direct.mp"
	# shellcheck disable=SC2086
	"$BIN"/rank -Q -s "$d/s.mp" $opt -o "$d/re.mp" || notok "rank -s $opt exit"
	expect "-S | -s [$opt] = direct" "$(items "$d/re.mp")" "$(items "$d/direct.mp")"
done
"$BIN"/rank -Q -s - -B inh <"$d/s.mp" >"$d/re.mp"
expect "-s from stdin" "$(items "$d/re.mp")" "$(items "$d/inh.mp")"

# ---- more queries than one scoring round (2,048): the 6 queries 350 times over (ids made
# unique by a 3-digit suffix: rank refuses a repeated query id) ----
qitems B .XXX >"$d/q6items"
{ qheader 2100 2; for i in $(seq 100 449); do LC_ALL=C sed "s/\.XXX/.$i/g" "$d/q6items"; done; } >"$d/qbig.mp"
"$BIN"/rank -Q -v "$d/v.mp" -q "$d/qbig.mp" -o "$d/big.mp" || notok "rank 2100 queries exit"
expect "2100 queries: ranks repeat" "$(ranks "$d/big.mp" | tr ' ' '\n' | sed '/^$/d' | paste -d' ' - - - - - - | sort | uniq -c | sed 's/^ *//')" \
	"350 1 1 2 3 1 2"

# ---- every output passes its schema (prvr-cat -c), when prvr-cat is built ----
if [ -x "$BIN/prvr-cat" ]; then
	for f in inh exp fused k2 s re; do
		if "$BIN"/prvr-cat -c "$d/$f.mp" 2>"$d/err"; then ok "schema $f.mp"; else notok "schema $f.mp: $(cat "$d/err")"; fi
	done
else
	echo "SKIP schema checks: no $BIN/prvr-cat"
fi
# metrics ranks a scores stream itself: the same numbers as from rank's ranking
if [ -x "$BIN/metrics" ]; then
	m() { "$BIN"/metrics -q -l x -f tsv "$@"; }
	expect "metrics: scores fused = ranking fused" "$(m <"$d/s.mp")" "$(m <"$d/fused.mp")"
	expect "metrics: scores -B inh = ranking inh" "$(m -B inh <"$d/s.mp")" "$(m <"$d/inh.mp")"
	expect "metrics: scores -b 1 = ranking exp" "$(m -b 1 <"$d/s.mp")" "$(m <"$d/exp.mp")"
	# hand: fused ranks 1 1 2 3 1 2 -> R@1 50, R@5 = R@10 = R@100 100, medR 1.5, meanR 10/6
	expect "metrics of fused" "$(m <"$d/fused.mp" | sed -n 2p | cut -f3-8)" \
		"$(printf '50.0000\t100.0000\t100.0000\t100.0000\t350.0000\t1.5000')"
else
	echo "SKIP metrics checks: no $BIN/metrics"
fi

# ---- bad inputs: exit 1, one line on stderr, no output file ----
head -c 60 "$d/v.mp" >"$d/trunc.mp"
bad rank "truncated videos" -v "$d/trunc.mp" -q "$d/q.mp"
head -c $(($(wc -c <"$d/q.mp") - 5)) "$d/q.mp" >"$d/truncq.mp"
bad rank "truncated queries" -v "$d/v.mp" -q "$d/truncq.mp"
printf '\xc1\xc1\xc1' >"$d/garbage.mp"
bad rank "garbage" -v "$d/garbage.mp" -q "$d/q.mp"
bad rank "empty" -v /dev/null -q "$d/q.mp"
bad rank "missing file" -v "$d/nonexistent.mp" -q "$d/q.mp"
bad rank "videos given as queries" -v "$d/q.mp" -q "$d/q.mp"
queries 3 >"$d/q3.mp"
bad rank "dim mismatch" -v "$d/v.mp" -q "$d/q3.mp"
queries 2 Z >"$d/qz.mp"
bad rank "own video missing" -v "$d/v.mp" -q "$d/qz.mp"
grep -q "B#enc#1" "$d/err" || notok "missing video message names the query"
bad rank "own video missing, -S" -v "$d/v.mp" -q "$d/qz.mp" -S
{ qheader 1 2; query 'A#enc#0' A 1 nan 1 0; } >"$d/qnan.mp"
bad rank "NaN query" -v "$d/v.mp" -q "$d/qnan.mp"
{ qheader 1 2
  mp_map 4; mp_str id; mp_str 'A#enc#0'; mp_str video; mp_str A
  mp_str inh; mp_f32 1 0 0; mp_str exp; mp_f32 1 0; } >"$d/qlen.mp"
bad rank "wrong vector length" -v "$d/v.mp" -q "$d/qlen.mp"
qheader 0 2 >"$d/q0.mp"
bad rank "no queries" -v "$d/v.mp" -q "$d/q0.mp"
bad rank "unknown branch" -v "$d/v.mp" -q "$d/q.mp" -B teacher
bad rank "scores as videos" -v "$d/s.mp" -q "$d/q.mp"
bad rank "-s with -v" -s "$d/s.mp" -v "$d/v.mp"
bad rank "beta out of range" -v "$d/v.mp" -q "$d/q.mp" -b 1.5
bad rank "-k 0" -v "$d/v.mp" -q "$d/q.mp" -k 0
bad rank "no arguments"

"$BIN"/rank --help >"$d/help" 2>&1 && grep -q '^usage' "$d/help" && ok "--help" || notok "--help"
exit $fail
