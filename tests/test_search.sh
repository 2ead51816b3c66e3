#!/bin/bash
# test_search: prvr-index and prvr-search (FAISS) on a small synthetic encoded gallery
# (prvr-gallery: 200 videos, 40 queries, dim 32): -E against rank bit for bit; every FAISS
# structure and code kind against -E by recall@10, above the bounds stated below; sq8 re-scores
# with the integer pre-selection equal to -F's (every frame in floats) byte for byte; the output is a
# valid ranking; damaged, truncated and mismatched index files and queries refused with one line
# naming the file; an interrupted or failed build leaves no index file.
# Skipped (one line, exit 0) when the build had no FAISS.
set -u
. "$(dirname "$0")/mpbytes.sh"
mp_test_begin
if [ ! -x "$BIN/prvr-index" ] || [ ! -x "$BIN/prvr-search" ]; then
	echo "SKIP test_search: prvr-index/prvr-search not built (no FAISS: install libfaiss-dev)"
	exit 0
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

"$BIN"/prvr-gallery -Q -n 200 -q 40 -d 32 -c 20 -s 7 -o "$d/v.mp" -O "$d/q.mp" || notok "gallery"
"$BIN"/rank -Q -j 1 -v "$d/v.mp" -q "$d/q.mp" -o "$d/rank.mp" || notok "rank"
"$BIN"/rank -Q -j 1 -B inh -k 7 -v "$d/v.mp" -q "$d/q.mp" -o "$d/rank-inh.mp" || notok "rank -B inh"
items() { # rank, top and topscore (bytes) of every item
	paste -d '|' <(mp_field "$1" rank int) <(mp_field "$1" top i32) <(mp_field "$1" topscore hex)
}
named() { # NAME FILE: the last bad's message names FILE
	grep -qF "$2" "$d/err" || notok "$1: message does not name $2"
}
V=v Q=q X=exact   # the gallery, its queries and their -E ranking that idx and check use
idx() { # NAME ARGS...: build $d/NAME.idx
	n=$1; shift
	"$BIN"/prvr-index -Q -j 1 -v "$d/$V.mp" -o "$d/$n.idx" -n 16 -p 8 -t 3000 "$@" ||
		notok "prvr-index $n $*"
}

# ---- -E is rank, bit for bit ----
idx f32 -c f32 -a ivf-flat
"$BIN"/prvr-search -Q -j 1 -E -x "$d/f32.idx" -q "$d/q.mp" -o "$d/exact.mp" || notok "-E exit"
expect "-E = rank (rank, top, topscore bytes of 40 queries)" "$(items "$d/exact.mp" | md5sum)" \
	"$(items "$d/rank.mp" | md5sum)"
expect "-E has 40 items" "$(items "$d/exact.mp" | wc -l)" 40
"$BIN"/prvr-search -Q -j 1 -E -B inh -k 7 -x "$d/f32.idx" -q "$d/q.mp" -o "$d/exact-inh.mp" ||
	notok "-E -B inh exit"
expect "-E -B inh -k 7 = rank -B inh -k 7" "$(items "$d/exact-inh.mp" | md5sum)" \
	"$(items "$d/rank-inh.mp" | md5sum)"
if [ -x "$BIN/prvr-cat" ]; then
	"$BIN"/prvr-cat -c "$d/exact.mp" 2>/dev/null && ok "-E output passes prvr-cat -c" ||
		notok "-E output fails prvr-cat -c"
fi

# ---- approximate: recall@10 against -E, per structure and code ----
# bounds: measured values (ivf*, hnsw*: 0.97 .. 1.0 with sq8/f16/f32 codes; pq codes 0.80) less
# a margin; a broken candidate step or codec gives far less (random: 10/200)
recall10() { "$BIN"/prvr-recall -r "$d/$X.mp" -a "$1" | awk '$1 == "recall@10" { print $2 }'; }
check() { # NAME BOUND INDEX-ARGS...
	n=$1 bound=$2; shift 2
	idx "$n" "$@"
	"$BIN"/prvr-search -Q -j 2 -x "$d/$n.idx" -q "$d/$Q.mp" -o "$d/$n.mp" || notok "search $n"
	r=$(recall10 "$d/$n.mp")
	if awk -v r="$r" -v b="$bound" 'BEGIN { exit !(r >= b) }'; then
		ok "$n: recall@10 $r >= $bound"
	else
		notok "$n: recall@10 [$r] below $bound"
	fi
	if [ -x "$BIN/prvr-cat" ]; then
		"$BIN"/prvr-cat -c "$d/$n.mp" 2>/dev/null || notok "$n: output fails prvr-cat -c"
	fi
}
check ivf-flat-f32 0.95 -c f32 -a ivf-flat
check ivf-sq-sq8 0.9 -c sq8 -a ivf-sq
check ivf-pq-f16 0.9 -c f16 -a ivf-pq -s 8 -S 6
check hnsw-sq8 0.9 -c sq8 -a hnsw -M 16
check hnsw-sq-f16 0.9 -c f16 -a hnsw-sq -M 16
check ivf-flat-pq 0.6 -c pq -m 8 -a ivf-flat
check ivf-own-sq8 0.9 -c sq8 -a ivf
check ivf-own-f16 0.9 -c f16 -a ivf
check ivf-own-pq 0.6 -c pq -m 8 -a ivf
# the recall's interval over the queries: none where the rankings agree, some where they differ
# (pq's per-query recalls vary), never wider than the scale
half() { "$BIN"/prvr-recall -r "$d/$X.mp" -a "$1" | awk '$1 == "recall@10" { print $3 }'; }
expect "-E against itself: recall@10's half-width" "$(half "$d/$X.mp")" 0.0000
h=$(half "$d/ivf-own-pq.mp")
awk -v h="$h" 'BEGIN { exit !(h > 0 && h < 0.5) }' &&
	ok "pq: recall@10's half-width $h in (0, 0.5)" || notok "pq: recall@10's half-width [$h]"
# -r DIMS: projected onto the leading principal directions. All 32 of them (a rotation): as
# without. On a gallery whose variance falls by e every 2 directions (-a 2): 16 of them keep all
# but e^-8 of it (measured 0.9..1.0), 4 of them lose e^-2 (measured ~0.5): the 16 leading
# directions, not any 16 (the 16 trailing ones keep e^-8 of the variance: chance)
check ivf-own-sq8-r32 0.9 -c sq8 -a ivf -r 32
"$BIN"/prvr-gallery -Q -n 200 -q 40 -d 32 -c 20 -s 7 -a 2 -o "$d/va.mp" -O "$d/qa.mp" ||
	notok "gallery -a 2"
V=va Q=qa X=exacta
idx f32a -c f32 -a ivf-flat
"$BIN"/prvr-search -Q -j 1 -E -x "$d/f32a.idx" -q "$d/qa.mp" -o "$d/exacta.mp" || notok "-E -a 2"
check ivf-own-sq8-r16 0.9 -c sq8 -a ivf -r 16
check ivf-own-pq-r16 0.8 -c pq -m 8 -a ivf -r 16
check hnsw-f16-r16 0.9 -c f16 -a hnsw -M 16 -r 16
# the projection's coordinates share the variance evenly (a random rotation within the kept span):
# sq8's 16 steps, each its coordinate's range over the training frames, within 4x of each other
# (measured 1.8; the eigenvectors themselves: 13.7). Header: sec_off[codec0] at 248; the codec
# section: P (16 x 32 floats), min[16], step[16]
o=$d/ivf-own-sq8-r16.idx
steps=$(od -An -f -j $(($(od -An -tu8 -j 248 -N 8 "$o") + (16 * 32 + 16) * 4)) -N 64 "$o")
spread=$(echo $steps | tr ' ' '\n' | awk 'NR == 1 || $1 > mx { mx = $1 } NR == 1 || $1 < mn { mn = $1 }
	END { print (mn > 0 ? mx / mn : "inf") }')
awk -v r="$spread" 'BEGIN { exit !(r < 4) }' &&
	ok "-r 16: sq8 steps within ${spread}x of each other" ||
	notok "-r 16: sq8 steps spread ${spread}x (want < 4: variance not shared evenly)"
idx ivf-own-sq8-r4 -c sq8 -a ivf -r 4
"$BIN"/prvr-search -Q -j 2 -x "$d/ivf-own-sq8-r4.idx" -q "$d/qa.mp" -o "$d/r4.mp"
r4=$(recall10 "$d/r4.mp") r16=$(recall10 "$d/ivf-own-sq8-r16.mp")
awk -v a="$r4" -v b="$r16" 'BEGIN { exit !(a < b - 0.2) }' &&
	ok "-r 4 loses what -r 16 keeps: recall@10 $r4 < $r16 - 0.2" ||
	notok "-r 4: recall@10 $r4, not below -r 16's $r16 - 0.2"
V=v Q=q X=exact
# a gallery streamed through a pipe (never stored) gives the index of the stored stream, byte
# for byte (the million-video benchmark builds this way)
"$BIN"/prvr-gallery -Q -n 200 -q 40 -d 32 -c 20 -s 7 -o - -O "$d/q-piped.mp" |
	"$BIN"/prvr-index -Q -j 1 -o "$d/piped.idx" -n 16 -p 8 -t 3000 -c sq8 -a ivf ||
	notok "prvr-gallery | prvr-index"
cmp -s "$d/piped.idx" "$d/ivf-own-sq8.idx" && ok "piped gallery: index = the stored stream's" ||
	notok "piped gallery: index differs from the stored stream's"
# every list scanned and every video re-scored (-C 200): from f32 codes the two passes give
# -E's ranking (ranks and lists) with scores within float rounding of -E's (a frame's cosine is
# a dot product here, a GEMM there), through the index's own lists and through FAISS's
topscores() { "$BIN"/prvr-cat -a "$1" | grep -o '"topscore":\[[^]]*\]' | tr -d '"topscre:[]'; }
ranked() { paste -d '|' <(mp_field "$1" rank int) <(mp_field "$1" top i32); }
idx ivf-own-f32 -c f32 -a ivf
for n in ivf-own-f32 ivf-flat-f32; do
	"$BIN"/prvr-search -Q -j 2 -p 16 -C 200 -x "$d/$n.idx" -q "$d/q.mp" -o "$d/all-$n.mp" ||
		notok "search $n -p 16 -C 200"
	expect "$n, all lists, all videos re-scored: ranks and lists = -E's" \
		"$(ranked "$d/all-$n.mp" | md5sum)" "$(ranked "$d/exact.mp" | md5sum)"
	diff=$(paste -d , <(topscores "$d/all-$n.mp") <(topscores "$d/exact.mp") | awk -F, '
		{ h = NF / 2; for (i = 1; i <= h; i++) { e = $i - $(i + h); if (e < 0) e = -e
		  if (e > m) m = e } } END { printf "%g", m }')
	awk -v e="$diff" 'BEGIN { exit !(e <= 1e-5) }' && ok "$n: scores within $diff of -E's" ||
		notok "$n: scores [$diff] off -E's by more than 1e-5"
done
# the ivf kind stores compressed codes in list order (header field order, bytes 76..79, = 1), f32
# in frame order; all lists and all videos re-scored, the ranking from list-ordered codes is
# the one from the same codes in frame order (FAISS's ivf-flat over sq8/f16 codes), bit for bit
order() { od -An -tu4 -j 76 -N 4 "$1" | tr -d ' '; }
expect "ivf sq8: codes in list order" "$(order "$d/ivf-own-sq8.idx")" 1
expect "ivf f32: codes in frame order" "$(order "$d/ivf-own-f32.idx")" 0
for c in sq8 f16; do
	idx flat-$c -c $c -a ivf-flat
	for n in ivf-own-$c flat-$c; do
		"$BIN"/prvr-search -Q -j 2 -p 16 -C 200 -x "$d/$n.idx" -q "$d/q.mp" -o "$d/all-$n.mp" ||
			notok "search $n -p 16 -C 200"
	done
	expect "$c, all re-scored: list order = frame order (rank, top, topscore bytes)" \
		"$(items "$d/all-ivf-own-$c.mp" | md5sum)" "$(items "$d/all-flat-$c.mp" | md5sum)"
done
# sq8 re-scores take the float score only of the frames near a video's best integer score: the
# output is -F's (every frame in floats), byte for byte, at the defaults and with all re-scored
for n in ivf-own-sq8 ivf-sq-sq8 hnsw-sq8; do
	for a in "" "-p 16 -C 200"; do
		for F in "" -F; do
			# shellcheck disable=SC2086
			"$BIN"/prvr-search -Q -j 2 $a $F -x "$d/$n.idx" -q "$d/q.mp" -o "$d/int$F.mp" ||
				notok "search $n $a $F"
		done
		expect "$n $a: integer pre-selection = -F (rank, top, topscore bytes)" \
			"$(items "$d/int.mp" | md5sum)" "$(items "$d/int-F.mp" | md5sum)"
	done
done
# the approximate search with exact codes lists the exact scores: its top 1 equals -E's
expect "ivf-flat-f32: top 1 = -E's" "$(mp_field "$d/ivf-flat-f32.mp" top i32 | cut -d, -f1 | md5sum)" \
	"$(mp_field "$d/exact.mp" top i32 | cut -d, -f1 | md5sum)"
# hnsw -f 1 meets at most 2 videos: the candidates are padded to min(K, videos), and the ranks
# agree with the lists
"$BIN"/prvr-search -Q -j 1 -f 1 -k 20 -x "$d/hnsw-sq8.idx" -q "$d/q.mp" -o "$d/f1.mp" ||
	notok "-f 1 exit"
expect "-f 1: 20 videos listed" "$(mp_field "$d/f1.mp" top i32 | head -n 1 | tr ',' '\n' | wc -l)" 20
[ -x "$BIN/prvr-cat" ] && { "$BIN"/prvr-cat -c "$d/f1.mp" 2>/dev/null || notok "-f 1: prvr-cat -c"; }
# same input, same output, whatever the thread count
"$BIN"/prvr-search -Q -j 1 -x "$d/ivf-sq-sq8.idx" -q "$d/q.mp" -o "$d/j1.mp" || notok "-j 1"
expect "-j 1 = -j 2" "$(items "$d/j1.mp" | md5sum)" "$(items "$d/ivf-sq-sq8.mp" | md5sum)"

# ---- a trained model's encodings (tvr-tiny, 1 epoch; a second seed is "another model") ----
B=$BIN
$B/prvr-synth -q -p tvr-tiny -s 3 -o "$d/c" || notok "prvr-synth"
for f in train-video-student train-query-student train-video-teacher train-query-teacher \
         test-video-student test-query-student; do
	$B/feat-reduce -q -i "$d/c/$f.mp" -o "$d/r-$f.mp" || notok "feat-reduce $f"
done
$B/teacher-sim -Q -v "$d/r-train-video-teacher.mp" -q "$d/r-train-query-teacher.mp" -o "$d/tau.mp"
for s in 1 2; do
	$B/distill-step -v "$d/r-train-video-student.mp" -q "$d/r-train-query-student.mp" \
		-t "$d/tau.mp" --hidden 16 --heads 2 --epochs 1 --batch 30 -j 1 --seed $s \
		-o "$d/ck$s.mp" 2>/dev/null || notok "distill-step seed $s"
done
$B/encode-video -c "$d/ck1.mp" -o "$d/ev.mp" <"$d/r-test-video-student.mp" 2>/dev/null
$B/encode-text -c "$d/ck1.mp" -o "$d/eq.mp" <"$d/r-test-query-student.mp" 2>/dev/null
$B/encode-text -c "$d/ck2.mp" -o "$d/eq2.mp" <"$d/r-test-query-student.mp" 2>/dev/null
$B/rank -Q -j 1 -v "$d/ev.mp" -q "$d/eq.mp" -o "$d/trk.mp" || notok "rank (trained)"
$B/prvr-index -Q -j 1 -c f32 -a ivf-flat -n 4 -v "$d/ev.mp" -o "$d/t.idx" 2>/dev/null ||
	notok "prvr-index (trained)"
$B/prvr-search -Q -j 1 -E -x "$d/t.idx" -q "$d/eq.mp" -o "$d/tex.mp" || notok "-E (trained)"
expect "trained model: -E = rank" "$(items "$d/tex.mp" | md5sum)" "$(items "$d/trk.mp" | md5sum)"
$B/prvr-search -Q -j 1 -x "$d/t.idx" -q "$d/eq.mp" -o "$d/tap.mp" || notok "search (trained)"
expect "trained model: all 30 videos are candidates, so the ranks are rank's" \
	"$(mp_field "$d/tap.mp" rank int | md5sum)" "$(mp_field "$d/trk.mp" rank int | md5sum)"
bad prvr-search "queries of another model" -x "$d/t.idx" -q "$d/eq2.mp"; named model2 "$d/eq2.mp"

# ---- bad indexes and queries: one line naming the file, nothing written ----
i=$d/ivf-sq-sq8.idx
size=$(stat -c %s "$i")
head -c $((size - 100)) "$i" >"$d/trunc.idx"
head -c 100 "$i" >"$d/short.idx"
flip() { # FILE OFFSET OUT: OUT = FILE with the byte at OFFSET inverted
	cp "$1" "$3"
	b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((255 - b)))" | dd of="$3" bs=1 seek="$2" conv=notrunc status=none
}
flip "$i" 20 "$d/hdr.idx"                   # a header field
flip "$i" 100000 "$d/mid.idx"              # the codes (sections: ids, offsets, codecs, codes, FAISS)
flip "$i" $((size - 10)) "$d/end.idx"       # the FAISS structure
"$BIN"/prvr-gallery -Q -n 20 -q 5 -d 16 -o "$d/v16.mp" -O "$d/q16.mp"
"$BIN"/prvr-gallery -Q -n 400 -q 40 -d 32 -c 20 -s 7 -o "$d/v400.mp" -O "$d/q400.mp"
"$BIN"/prvr-gallery -Q -n 200 -q 40 -d 32 -c 20 -s 7 -m other-model -o "$d/vo.mp" -O "$d/qo.mp"
bad prvr-search "truncated index" -x "$d/trunc.idx" -q "$d/q.mp"; named truncated "$d/trunc.idx"
bad prvr-search "index shorter than its header" -x "$d/short.idx" -q "$d/q.mp"; named short "$d/short.idx"
bad prvr-search "flipped header byte" -x "$d/hdr.idx" -q "$d/q.mp"; named header "$d/hdr.idx"
# version 1 (sq8 codes as plain bytes) is read before the header CRC: refused by its version
cp "$i" "$d/v1.idx" && printf '\001' | dd of="$d/v1.idx" bs=1 seek=8 conv=notrunc status=none
bad prvr-search "an index of version 1" -x "$d/v1.idx" -q "$d/q.mp"; named "version 1" "$d/v1.idx"
grep -q "rebuild it" "$d/err" || notok "version 1: no hint to rebuild"
# set_u32 FILE OFFSET VALUE (< 256): a header field, its header CRC made anew (gzip's trailer
# holds the CRC-32 of what it compressed) where the file's version keeps it: at 396 over the
# bytes before it; before version 3 (no pdim) at 392, where pdim is now
set_u32() {
	printf "$(printf '\\%03o\\000\\000\\000' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
	at=396; [ "$(od -An -tu1 -j 8 -N 1 "$1" | tr -d ' ')" -lt 3 ] && at=392
	head -c $at "$1" | gzip -c | tail -c 8 | head -c 4 | dd of="$1" bs=1 seek=$at conv=notrunc status=none
}
# a version 1 file of other codes reads as before (version 2 changed sq8's alone); a version 2
# file of any code too (version 3 added pdim, 0 in it)
cp "$d/f32.idx" "$d/f32v1.idx" && set_u32 "$d/f32v1.idx" 8 1
"$BIN"/prvr-search -Q -j 1 -E -x "$d/f32v1.idx" -q "$d/q.mp" -o "$d/exact1.mp" || notok "version 1 f32: refused"
expect "a version 1 f32 index: -E as from version 3" "$(items "$d/exact1.mp" | md5sum)" \
	"$(items "$d/exact.mp" | md5sum)"
cp "$d/ivf-own-sq8.idx" "$d/sq8v2.idx" && set_u32 "$d/sq8v2.idx" 8 2
for v in sq8v2 ivf-own-sq8; do
	"$BIN"/prvr-search -Q -j 1 -x "$d/$v.idx" -q "$d/q.mp" -o "$d/$v.mp" || notok "$v: refused"
done
expect "a version 2 sq8 index: the ranking as from version 3" "$(items "$d/sq8v2.mp" | md5sum)" \
	"$(items "$d/ivf-own-sq8.mp" | md5sum)"
# own lists over sq8 codes in frame order: not what prvr-index writes, and the scan would misread
cp "$d/ivf-own-sq8.idx" "$d/sq8fo.idx" && set_u32 "$d/sq8fo.idx" 76 0
bad prvr-search "ivf sq8 codes in frame order" -x "$d/sq8fo.idx" -q "$d/q.mp"; named sq8fo "$d/sq8fo.idx"
grep -q "header values out of range" "$d/err" || notok "ivf sq8 in frame order: not refused by the header check"
bad prvr-search "flipped code byte" -x "$d/mid.idx" -q "$d/q.mp"; named codes "$d/mid.idx"
grep -q "section codes0: CRC" "$d/err" || notok "flipped code byte: not found in codes0"
bad prvr-search "flipped FAISS byte" -x "$d/end.idx" -q "$d/q.mp"; named faiss "$d/end.idx"
o=$d/ivf-own-sq8.idx
flip "$o" $(($(stat -c %s "$o") - 10)) "$d/lists.idx"   # the last list rows of branch 2
bad prvr-search "flipped list byte" -x "$d/lists.idx" -q "$d/q.mp"; named lists "$d/lists.idx"
grep -q "section ann1: CRC" "$d/err" || notok "flipped list byte: not found in ann1"
bad prvr-search "a stream as index" -x "$d/v.mp" -q "$d/q.mp"; named stream "$d/v.mp"
bad prvr-search "missing index" -x "$d/none.idx" -q "$d/q.mp"
bad prvr-search "queries of another dim" -x "$i" -q "$d/q16.mp"; named dim "$d/q16.mp"
# an index of dim 32 projected onto 16: queries of dim 16 are not its encodings'
bad prvr-search "queries of the projected dim" -x "$d/ivf-own-sq8-r16.idx" -q "$d/q16.mp"
bad prvr-search "queries of another model" -x "$i" -q "$d/qo.mp"; named model "$d/qo.mp"
bad prvr-search "own video not in the index" -x "$i" -q "$d/q400.mp"; named own "$d/q400.mp"
bad prvr-search "-E without f32 codes" -E -x "$i" -q "$d/q.mp"; named -E "$i"
bad prvr-search "videos as queries" -x "$i" -q "$d/v.mp"
bad prvr-search "-k 0" -k 0 -x "$i" -q "$d/q.mp"
bad prvr-index "truncated videos" -v <(head -c 100000 "$d/v.mp")
bad prvr-index "queries as videos" -v "$d/q.mp"
bad prvr-index "ivf-pq sub-vectors not dividing dim" -v "$d/v.mp" -a ivf-pq -s 5; named ivf-pq "$d/v.mp"
bad prvr-index "more lists than training frames" -v "$d/v16.mp" -n 100000
bad prvr-index "unknown code" -v "$d/v.mp" -c f8
bad prvr-index "a projection of f32 codes" -v "$d/v.mp" -c f32 -r 16; named f32-r "$d/v.mp"
bad prvr-index "a projection onto more dims than the encodings'" -v "$d/v.mp" -r 33; named r33 "$d/v.mp"
bad prvr-index "pq sub-vectors not dividing the projected dim" -v "$d/v.mp" -c pq -m 8 -r 12
named pq-r12 "$d/v.mp"
# an index build killed while it reads leaves nothing
mkfifo "$d/fifo"
"$BIN"/prvr-index -Q -v "$d/fifo" -o "$d/killed.idx" &
pid=$!
exec 3>"$d/fifo"
head -c 200000 "$d/v.mp" >&3
sleep 0.5
kill -TERM $pid
exec 3>&-
wait $pid 2>/dev/null
ls "$d"/killed.idx* >/dev/null 2>&1 && notok "killed build left $(ls "$d"/killed.idx*)" ||
	ok "killed build left no file"

# ---- prvr-gallery -a: the spectrum of a trained encoder's outputs, in no axis's favour ----
# Of the raw inh frames' second moment M (500 videos, dim 16; tests/spectrum.sh): the participation ratio
# (tr M)^2 / |M|_F^2 is the map's, (sum l_j)^2 / sum l_j^2 with l_j = exp(-j / 2) (4.080; seeds
# 1..5 gave 4.006..4.111), against ~15.8 of 16 isotropic; the map's random rotation puts most of
# M's energy off its diagonal (0.57..0.67 at seeds 1..3; 0.014 isotropic, as a diagonal map would).
spectrum() { # ARGS: "participation-ratio off-diagonal-share" of prvr-gallery ARGS
	"$BIN"/prvr-gallery -Q -n 500 -q 1 -d 16 "$@" -o - -O /dev/null |
		RAW=1 "$(dirname "$0")"/spectrum.sh inh
}
for s in 1 2; do
	read pr off < <(spectrum -a 2 -s $s)
	awk -v p="$pr" -v o="$off" 'BEGIN { exit !(p > 4.080 * 0.95 && p < 4.080 * 1.05 && o > 0.3) }' &&
		ok "gallery -a 2 -s $s: participation ratio $pr (4.080), off-diagonal share $off" ||
		notok "gallery -a 2 -s $s: participation ratio $pr (want 4.080 within 5%), off-diagonal share $off (want > 0.3)"
done
read pr off < <(spectrum)
awk -v p="$pr" -v o="$off" 'BEGIN { exit !(p > 15 && o < 0.1) }' &&
	ok "gallery isotropic: participation ratio $pr, off-diagonal share $off" ||
	notok "gallery isotropic: participation ratio $pr (want > 15), off-diagonal share $off (want < 0.1)"
"$BIN"/prvr-gallery -Q -n 20 -q 5 -d 16 -a 0 -o "$d/a0.mp" -O "$d/qa0.mp"
items_json() { "$BIN"/prvr-cat -a "$1" | tail -n +2; }   # every item, the header (cmd) left out
cmp -s <(items_json "$d/a0.mp") <(items_json "$d/v16.mp") &&
	cmp -s <(items_json "$d/qa0.mp") <(items_json "$d/q16.mp") &&
	ok "gallery -a 0 = the default" || notok "gallery -a 0 differs from the default"

# ---- every tool: --help ----
for t in prvr-index prvr-search prvr-gallery prvr-recall; do
	"$BIN/$t" --help | grep -q "^usage: " && ok "$t --help" || notok "$t --help"
done
exit $fail
