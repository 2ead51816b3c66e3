#!/bin/sh
# seeds.sh DIR: the seed corpus of every harness, made by the tools in $BIN from a tiny synthetic
# corpus (dims 4, a few videos, one training epoch of a hidden-4 model), one directory per
# harness: DIR/NAME/. Inputs of harnesses that read several files are their parts joined by
# FUZZ_SEP of tests/fuzz/fuzz.h, in the harness's order. Also DIR/prvr.dict, the libFuzzer
# dictionary: every key and name of lib/schema.c's tables as a msgpack string (fixstr: byte
# 0xa0 + length, then the text), msgpack markers, pieces of Python literals. Nothing here is
# kept in git.
set -e
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd)
D=$1
[ -n "$D" ] || { echo "usage: seeds.sh DIR" >&2; exit 1; }
schema=$(cd "$(dirname "$0")/../../lib" && pwd)/schema.c
rm -rf "$D"
mkdir -p "$D"
{
	grep -o '"[a-z][a-z_0-9|-]*"' "$schema" | tr -d '"' | tr '|' '\n' |
		awk 'length($0) < 32 && !seen[$0]++ { printf "\"\\x%02x%s\"\n", 160 + length($0), $0 }'
	for m in 'c5\x00\x10' 'c4\x10' cb ca c0 c2 c3 'de\x00\x10' 'dc\x00\x10' 'df\xff\xff\xff\xff' \
		'd2\x80\x00\x00\x00'; do
		echo "\"\\x$m\""
	done
	printf '%s\n' "\"{'\"" "\"': ['\"" "\"', '\"" "\"'],\"" "\"u'\"" "\"b\\\"\"" "\"r'\"" '"\\x41"'
} > "$D/prvr.dict"
mkdir -p "$D/work" "$D/stream" "$D/ckpt" "$D/feat_reduce" "$D/teacher_sim" "$D/rank" "$D/metrics" \
	"$D/data" "$D/encode" "$D/v2f" "$D/bigfile" "$D/de_train" "$D/prvr_cost" "$D/vindex" \
	"$D/h5import"
cd "$D/work"
# the separator of fuzz.h, as a file
printf '\n--prvr-fuzz-part--\n' > sep
join() {        # join OUT FILE...: the parts of one input
	out=$1; shift
	first=1
	for f in "$@"; do
		[ $first = 1 ] || cat sep
		cat "$f"
		first=0
	done > "$out"
}

"$BIN"/prvr-synth -p tvr-tiny -s 1 --videos 3,2,2 --queries 1 --frames 3 --frames-min 2 \
	--frames-max 4 --dims 4,4,4 -o c -q
for s in train val; do
	for x in video-student query-student video-teacher query-teacher; do
		"$BIN"/feat-reduce -q -f 3 -t 3 -i c/$s-$x.mp -o $s-$x.mp
	done
	"$BIN"/teacher-sim -Q -v $s-video-teacher.mp -q $s-query-teacher.mp -o $s-tsim.mp
done
"$BIN"/feat-reduce -q -z -f 3 -t 3 -i c/train-video-student.mp -o train-video-student.mp.gz
"$BIN"/teacher-sim -Q -S -j 1 -v val-video-teacher.mp -q val-query-teacher.mp -o scores-teacher.mp
"$BIN"/distill-step -v train-video-student.mp -q train-query-student.mp -t train-tsim.mp \
	--val-video val-video-student.mp --val-query val-query-student.mp --hidden 4 --heads 1 \
	--max-frames 3 --max-tokens 3 --batch 2 --epochs 1 --deterministic -j 1 -o ck.mp -l log.mp 2>/dev/null
"$BIN"/encode-video -c ck.mp -j 1 -o encv.mp < val-video-student.mp
"$BIN"/encode-text -c ck.mp -j 1 -o encq.mp < val-query-student.mp
"$BIN"/rank -Q -j 1 -v encv.mp -q encq.mp -o ranking.mp
"$BIN"/rank -Q -j 1 -S -v encv.mp -q encq.mp -o scores.mp
"$BIN"/metrics -q -i ranking.mp -o metrics.mp

for f in c/*.mp *.mp *.mp.gz; do
	cp "$f" "../stream/$(echo "$f" | tr / -)"
done
cp ck.mp ../ckpt/
cp c/train-video-student.mp c/train-query-student.mp c/train-video-teacher.mp \
	c/train-query-teacher.mp ../feat_reduce/
join ../teacher_sim/train train-video-teacher.mp train-query-teacher.mp
join ../teacher_sim/val val-video-teacher.mp val-query-teacher.mp
join ../rank/encoded encv.mp encq.mp scores.mp
join ../rank/teacher encv.mp encq.mp scores-teacher.mp
cp ranking.mp scores.mp scores-teacher.mp ../metrics/
join ../data/train train-video-student.mp train-query-student.mp train-tsim.mp train-video-teacher.mp
join ../data/val val-video-student.mp val-query-student.mp val-tsim.mp val-video-teacher.mp
join ../encode/video ck.mp val-video-student.mp
join ../encode/query ck.mp val-query-student.mp
join ../de_train/train train-video-student.mp train-query-student.mp train-video-teacher.mp \
	train-query-teacher.mp val-video-student.mp val-query-student.mp
# prvr-cost's command lines, one argument a line
printf -- '-p\ntvr-tiny\n' > ../prvr_cost/preset
printf -- '--dims\n6,5\n--branches\ninh\n--queries\n2.5\n-s\n7\n' > ../prvr_cost/dims
printf -- '-p\ncharades\n--no-train\n--branches\nexp\n' > ../prvr_cost/notrain
# frame indexes of the val videos (the FAISS tools are optional: no seeds without them), and of
# 90 more for pq, which trains on at least 256 frames
if [ -x "$BIN"/prvr-index ]; then
	"$BIN"/prvr-synth -p tvr-tiny -s 2 --videos 2,90,2 --queries 1 --frames 3 --frames-min 3 \
		--frames-max 3 --dims 4,4,4 -o c90 -q
	"$BIN"/feat-reduce -q -f 3 -t 3 -i c90/val-video-student.mp -o v90.mp
	"$BIN"/encode-video -c ck.mp -j 1 -o encv90.mp < v90.mp
	"$BIN"/prvr-index -Q -j 1 -v encv.mp -o ../vindex/f32 -c f32 -a hnsw -M 4
	"$BIN"/prvr-index -Q -j 1 -v encv.mp -o ../vindex/f16 -c f16 -a ivf-flat -n 1
	"$BIN"/prvr-index -Q -j 1 -v encv90.mp -o ../vindex/sq8 -c sq8 -a ivf-sq -n 2
	"$BIN"/prvr-index -Q -j 1 -v encv90.mp -o ../vindex/pq -c pq -m 2 -a hnsw-sq -M 4
	"$BIN"/prvr-index -Q -j 1 -v encv90.mp -o ../vindex/ivfpq -c f16 -a ivf-pq -n 2 -s 2 -S 4
	"$BIN"/prvr-index -Q -j 1 -v encv.mp -o ../vindex/own -c sq8 -a ivf -n 2
	"$BIN"/prvr-index -Q -j 1 -v encv90.mp -o ../vindex/projected -c pq -m 1 -a ivf -n 2 -r 2
fi
# video2frames.txt as the released files write it, and with the prefixes and forms Python allows
printf "{'v0': ['c0', 'c1', 'c2'], 'v1': ['c3', 'c4'], 'v2': ['c5']}\n" > ../v2f/oneline
printf "{\n  u'v0': (\"c0\", r'c1',),\n  b'v1': ['c9', 'c4\\\\x41'],\n  'v2': [],\n}\n" > ../v2f/lines
# recipes of the three HDF5 files of fuzz_h5import (its header says how they read): a valid
# release (teacher dim 3, RoBERTa dim 5; f32, f64, f16, chunked, deflated, compact, both CLIP key
# forms) and one with a NaN, an unwritten 2^30-element claim, a group and links, run --strict
bytes() { for b; do printf "\\$(printf %03o "$b")"; done; }
bytes 0 0 2 2 3 1  1 0 2 3 3 5  2 2 2 1 3 9 > h5t
bytes 4 0 2 2 5 17  5 8 3 1 3 5 18  6 16 2 1 5 19  7 1 2 4 5 20  8 24 2 2 5 21 > h5r
bytes 4 0 2 1 3 33  10 0 1 3 34  11 0 2 1 3 35  12 0 2 1 3 36  13 2 2 1 3 37 > h5c
join ../h5import/valid h5t h5r h5c
bytes 0 0 2 2 3 128  1 0 1 242 0  174  195 2  2 2 2 1 3 9  0 > h5t
bytes 4 0 2 2 5 17  213 6  6 16 2 1 5 19  7 1 2 4 5 20  8 24 2 2 5 21  231 4 > h5r
join ../h5import/problems h5t h5r h5c
# a BigFile feature directory: shape.txt, id.txt, feature.bin (3 rows of 2 float32)
printf '3 2\n' > shape
printf 'c0\nc1\nc2\n' > ids
printf '\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\100\000\000\240\100\000\000\300\100' > bin
join ../bigfile/three shape ids bin
cd .. && rm -rf work
