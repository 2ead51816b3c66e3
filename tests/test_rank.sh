#!/bin/bash
# test_rank: rank on hand-made encoded streams (3 videos, 6 queries, dim 2, written byte by byte
# with tests/mpbytes.sh) against ranks and top lists computed by hand in the comments below;
# beta 0 / 1 against the single branches; -S then -s against the direct ranking; -k; -V (the
# videos streamed) byte for byte against the default order, here and on a synthetic gallery
# through a pipe; and bad inputs (exit 1, one line on stderr, no output file).
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

# ---- -V (the queries held, the videos streamed): the default order's bytes, but for the
# header's cmd (it names the options) and the header's crc32 (over the cmd too) ----
spans() { # FILE: offset and length of the header's cmd string, then of its crc32 value
	head -c 65536 "$1" | od -An -v -tx1 | tr '\n' ' ' | awk '
	function hv(h) { return (index(H, substr(h, 1, 1)) - 1) * 16 + index(H, substr(h, 2, 1)) - 1 }
	BEGIN { H = "0123456789abcdef" }
	{
		n = split($0, t, " ")
		for (i = 1; i + 6 <= n; i++)   # t[i] is byte i - 1; "cmd" (a3 63 6d 64), then its str
			if (t[i] == "a3" && t[i + 1] == "63" && t[i + 2] == "6d" && t[i + 3] == "64") {
				v = hv(t[i + 4])
				if (v >= 160 && v < 192) printf "%d %d ", i + 3, 1 + v - 160
				else if (v == 217) printf "%d %d ", i + 3, 2 + hv(t[i + 5])
				else if (v == 218) printf "%d %d ", i + 3, 3 + 256 * hv(t[i + 5]) + hv(t[i + 6])
				break
			}
		for (; i + 6 <= n; i++)        # the first "crc32" (a5 63 72 63 33 32) after it, an uint
			if (t[i] == "a5" && t[i + 1] == "63" && t[i + 2] == "72" && t[i + 3] == "63" &&
			    t[i + 4] == "33" && t[i + 5] == "32") {
				v = hv(t[i + 6])
				print i + 5, v < 128 ? 1 : v == 204 ? 2 : v == 205 ? 3 : 5
				exit
			}
	}'
}
samebytes() { # FILE-A FILE-B: equal byte for byte, but for the header's cmd string and crc32
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(spans "$1") $(spans "$2")
	[ $# -eq 10 ] && [ "$3" = "$7" ] && [ $(($5 - $3 - $4)) = $(($9 - $7 - $8)) ] &&
		cmp -s -n "$3" "$1" "$2" &&
		cmp -s -n $(($5 - $3 - $4)) -i "$(($3 + $4)):$(($7 + $8))" "$1" "$2" &&
		cmp -s -i "$(($5 + $6)):$(($9 + ${10}))" "$1" "$2"
}
vsame() { # NAME A B
	if samebytes "$2" "$3"; then ok "$1"; else notok "$1: $2 and $3 differ"; fi
}
printf '%s\n' '{"query_id": "A#enc#1", "gt_video_ids": ["B", "A"]}' \
	'{"query_id": "C#enc#0", "gt_video_ids": ["C"]}' >"$d/gt.jsonl"
for opt in "" "-B inh" "-B exp" "-S" "-S -B exp" "-k 2" "-b 0.7 -j 1" "-g $d/gt.jsonl"; do
	# shellcheck disable=SC2086
	"$BIN"/rank -Q $opt -v "$d/v.mp" -q "$d/q.mp" -o "$d/d.mp" || notok "rank [$opt] exit"
	# shellcheck disable=SC2086
	"$BIN"/rank -Q -V $opt -v "$d/v.mp" -q "$d/q.mp" -o "$d/t.mp" || notok "rank -V [$opt] exit"
	vsame "-V [$opt] = default" "$d/d.mp" "$d/t.mp"
done
"$BIN"/rank -Q -V -v "$d/v.mp" -q "$d/q.mp" -b 0.7 -o "$d/t.mp"
if samebytes "$d/fused.mp" "$d/t.mp"; then notok "samebytes: beta 0.3 = 0.7"; else ok "samebytes tells beta 0.3 from 0.7"; fi
"$BIN"/rank -Q -V -v "$d/v.mp" -q "$d/qbig.mp" -o "$d/t.mp" || notok "rank -V 2100 queries exit"
vsame "-V, 2100 queries (rounds of 2,048, sgemms of 1,024) = default" "$d/big.mp" "$d/t.mp"

# a synthetic gallery of 3,000 videos (5 blocks of -V, cut at lib/score's runs), through a pipe
if [ -x "$BIN/prvr-gallery" ]; then
	export OMP_WAIT_POLICY=passive  # idle OpenMP threads spinning would cost seconds of CPU
	gal() { "$BIN"/prvr-gallery -Q -n 3000 -q 200 -d 32 -s 7 "$@"; }
	gal -o "$d/gv.mp" -O "$d/gq.mp" || notok "prvr-gallery exit"
	for opt in "" "-S" "-j 1 -B exp -k 3000"; do
		# shellcheck disable=SC2086
		"$BIN"/rank -Q $opt -v "$d/gv.mp" -q "$d/gq.mp" -o "$d/d.mp" || notok "rank [$opt] exit"
		# shellcheck disable=SC2086
		"$BIN"/rank -Q -V $opt -v "$d/gv.mp" -q "$d/gq.mp" -o "$d/t.mp" || notok "rank -V [$opt] exit"
		vsame "gallery: -V [$opt] = default" "$d/d.mp" "$d/t.mp"
	done
	"$BIN"/rank -Q -v "$d/gv.mp" -q "$d/gq.mp" -o "$d/d.mp"
	gal -o - -O "$d/gq2.mp" | "$BIN"/rank -V -v - -q "$d/gq.mp" -o "$d/t.mp" 2>"$d/err" ||
		notok "prvr-gallery | rank -V exit"
	vsame "gallery: prvr-gallery -o - | rank -V -v - = default" "$d/d.mp" "$d/t.mp"
	expect "gallery: -V scored more than one block" \
		"$(grep -cE 'videos scored in .* \(([2-9]|[1-9][0-9]+) blocks\)' "$d/err")" 1
else
	echo "SKIP gallery checks: no $BIN/prvr-gallery"
fi

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

# -V: the same refusals, and its own
bad rank "-V: truncated videos" -V -v "$d/trunc.mp" -q "$d/q.mp"
{ mp_header encoded-videos 3 3; mp_str dim; mp_int 2; mp_str branches; mp_arr 2; mp_str inh; mp_str exp
  mp_str split; mp_str test
  video A 1 1 0 -- 0 1; video B 1 0 1 -- 1 nan; video C 1 1 1 -- 0 1; } >"$d/vnan.mp"
bad rank "-V: NaN in a video" -V -v "$d/vnan.mp" -q "$d/q.mp"
expect "-V: the bad video's file and record named" "$(grep -c "vnan.mp: record 2: 'exp'" "$d/err")" 1
{ mp_header encoded-videos 3 3; mp_str dim; mp_int 2; mp_str branches; mp_arr 2; mp_str inh; mp_str exp
  mp_str split; mp_str test
  video A 1 1 0 -- 0 1; video B 3 0 1 -- 1 0; video C 1 1 1 -- 0 1; } >"$d/vlen.mp"
bad rank "-V: a video's frames not n x dim" -V -v "$d/vlen.mp" -q "$d/q.mp"
expect "-V: the short video's record named" "$(grep -c "vlen.mp: record 2: 'inh'" "$d/err")" 1
{ mp_header encoded-videos 3 3; mp_str dim; mp_int 2; mp_str branches; mp_arr 2; mp_str inh; mp_str exp
  mp_str split; mp_str test
  video A 1 1 0 -- 0 1; video B 1 0 1 -- 1 0; video A 1 1 1 -- 0 1; } >"$d/vdup.mp"
for V in "" -V; do
	# shellcheck disable=SC2086
	bad rank "duplicate video id ${V:-default}" $V -v "$d/vdup.mp" -q "$d/q.mp"; cp "$d/err" "$d/err-dup$V"
	# shellcheck disable=SC2086
	bad rank "own video missing ${V:-default}" $V -v "$d/v.mp" -q "$d/qz.mp"; cp "$d/err" "$d/err-own$V"
done
expect "-V: duplicate video id, the default's message" "$(cat "$d/err-dup-V")" "$(cat "$d/err-dup")"
expect "-V: own video missing, the default's message" "$(cat "$d/err-own-V")" "$(cat "$d/err-own")"
# the bound: 3 videos x 2^30 queries claimed by the header (one item follows) are refused from
# the counts, before a query is read
{ mp_map 8; mp_str magic; mp_str prvr; mp_str version; mp_int 1; mp_str kind
  mp_str encoded-queries; mp_str count; mp_hex ce 40 00 00 00; mp_str cmd; mp_str test
  mp_str dim; mp_int 2; mp_str branches; mp_arr 2; mp_str inh; mp_str exp; mp_str split; mp_str test
  query 'A#enc#0' A 1 0 1 0; } >"$d/qhuge.mp"
bad rank "-V: 2^30 queries x 3 videos" -V -v "$d/v.mp" -q "$d/qhuge.mp"
expect "-V: the bound names the most queries" "$(grep -c 'give at most 357913941 queries' "$d/err")" 1
{ mp_map 8; mp_str magic; mp_str prvr; mp_str version; mp_int 1; mp_str kind
  mp_str encoded-videos; mp_str count; mp_hex ff; mp_str cmd; mp_str test
  mp_str dim; mp_int 2; mp_str branches; mp_arr 2; mp_str inh; mp_str exp; mp_str split; mp_str test
  video A 1 1 0 -- 0 1; video B 2 0 1 -1 0 -- 1 0 0 -1; video C 2 1 1 0 -1 -- -1 0 0 1; } >"$d/vm1.mp"
"$BIN"/rank -Q -v "$d/vm1.mp" -q "$d/q.mp" -o "$d/d.mp" || notok "count -1 videos, default order: exit"
expect "count -1 videos, default order = counted" "$(items "$d/d.mp")" "$(items "$d/fused.mp")"
bad rank "-V: videos of unknown count (-1)" -V -v "$d/vm1.mp" -q "$d/q.mp"
bad rank "-V with -s" -V -s "$d/s.mp"
"$BIN"/rank --help >"$d/help" 2>&1 && grep -q '^usage' "$d/help" && ok "--help" || notok "--help"
exit $fail
