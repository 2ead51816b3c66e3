#!/bin/sh
# test_eval: metrics -g (multi-positive), rank -g and metrics --compare through real pipes, on the
# 6 x 4 hand matrix of tests/test_metrics.c (test_metrics gen-small, from $TBIN) and random
# scores streams.
# Checks exact values computed by hand, that a ranking of every video gives what the scores
# give, that identical systems compare to 0 with a zero-width interval and p = 1, and that bad
# relevance files and bad combinations exit 1 with one line naming the file and line.
: "${BIN:=bin}" "${TBIN:=obj/testbin}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fails=$((fails + 1)); }
# fails_with DESCRIPTION EXPECTED-SUBSTRING COMMAND...: exit 1 and exactly one stderr line
fails_with() {
	d=$1 want=$2; shift 2
	if "$@" >"$T/out" 2>"$T/err"; then bad "$d: exit 0"; return; fi
	if [ "$(wc -l <"$T/err")" = 1 ] && grep -qF -- "$want" "$T/err"; then ok "$d"; else
		bad "$d"; cat "$T/err"; fi
}

"$TBIN/test_metrics" gen-small scores >"$T/s.mp" && "$TBIN/test_metrics" gen-small ranking >"$T/r.mp" &&
"$TBIN/test_metrics" gen-scores 300 40 3 >"$T/a.mp" && "$TBIN/test_metrics" gen-scores 300 40 4 >"$T/b.mp" ||
	{ echo "NOT OK making inputs"; exit 1; }

# the inheritance branch of the hand matrix (test_metrics.c H): query 0 {.5 .5 .1 .9},
# relevant v0 v1 -> ranks 2 3; query 1 (same row) v1 -> 3; query 2 (all .2) v2 v3 -> 3 4;
# first ranks 2 3 3: R@1 0, medR 3, meanR 8/3; AP (1/2 + 2/3)/2, 1/3, (1/3 + 2/4)/2 -> mAP 4/9.
# Queries 3-5 are not in the file (skipped); extra keys, escapes and UTF-8 are ignored.
printf '%s\n' '{"query_id": "v0#enc#0", "gt_video_ids": ["v0", "v1"], "caption": "caf\u00e9 \ud83c\udfac é"}' \
	'{"query_id": "v1#enc#1", "gt_video_ids": ["v1"], "n": [1, 2.5, {"x": null}]}' '' \
	'{"gt_video_ids": ["v2", "v3", "v2"], "query_id": "v2#enc#2"}' >"$T/gt.jsonl"
if "$BIN/metrics" -q -f tsv -B inh -g "$T/gt.jsonl" -i "$T/s.mp" -r "$T/ranks" >"$T/out" 2>"$T/err" &&
   [ "$(tail -n 1 "$T/out")" = "$(printf '3\t4\t0.0000\t100.0000\t100.0000\t100.0000\t300.0000\t3.0000\t2.6667\t0.444444')" ] &&
   [ "$(cat "$T/ranks")" = "$(printf 'v0#enc#0\tv0\t2\nv1#enc#1\tv1\t3\nv2#enc#2\tv2\t3')" ]; then
	ok "metrics -g: hand-computed multi-positive metrics and ranks"
else
	bad "metrics -g hand case"; cat "$T/out" "$T/err"
fi
grep -q "3 queries not in .*gt.jsonl skipped" "$T/err" && ok "metrics -g counts skipped queries" ||
	bad "skipped count: $(cat "$T/err")"

# rank -g: items for the file's queries, video and rank of the first relevant video; with every
# video listed, metrics -g on the ranking equals metrics -g on the scores
if "$BIN/rank" -Q -s "$T/s.mp" -B inh -k 4 -g "$T/gt.jsonl" -o "$T/rg.mp" 2>"$T/err" &&
   "$BIN/prvr-cat" -c "$T/rg.mp" 2>/dev/null &&
   [ "$("$BIN/prvr-cat" "$T/rg.mp" | tail -n +2 | sed 's/.*"video":"\([^"]*\)","rank":\([0-9]*\).*/\1 \2/' | tr '\n' ' ')" = "v0 2 v1 3 v2 3 " ] &&
   "$BIN/metrics" -q -f tsv -g "$T/gt.jsonl" -i "$T/rg.mp" >"$T/out2" && cmp -s "$T/out" "$T/out2"; then
	ok "rank -g: first relevant video and rank; metrics -g of the full ranking = of the scores"
else
	bad "rank -g"; cat "$T/err"
fi
fails_with "metrics -g refuses a ranking of the top k only" "-g needs every video's rank" \
	"$BIN/metrics" -g "$T/gt.jsonl" -i "$T/r.mp"
fails_with "rank -g -S is a usage error" "usage" "$BIN/rank" -s "$T/s.mp" -S -g "$T/gt.jsonl"

# bad relevance files: one line naming file:line(:column)
badgt() { # DESCRIPTION EXPECTED LINE...
	d=$1 w=$2; shift 2
	printf '%s\n' "$@" >"$T/bad.jsonl"
	fails_with "bad relevance file: $d" "$w" "$BIN/metrics" -B inh -g "$T/bad.jsonl" -i "$T/s.mp"
}
badgt "invalid UTF-8" "bad.jsonl:1:17: invalid UTF-8" "$(printf '{"query_id": "v0\377#enc#0", "gt_video_ids": ["v0"]}')"
badgt "no gt_video_ids" "bad.jsonl:2:" '{"query_id": "v0#enc#0", "gt_video_ids": ["v0"]}' '{"query_id": "v1#enc#1"}'
badgt "empty gt_video_ids" "'gt_video_ids': empty" '{"query_id": "v0#enc#0", "gt_video_ids": []}'
badgt "a number as id" "bad.jsonl:1:" '{"query_id": 7, "gt_video_ids": ["v0"]}'
badgt "trailing comma" "bad.jsonl:1:" '{"query_id": "v0#enc#0", "gt_video_ids": ["v0"],}'
badgt "lone surrogate" "high surrogate" '{"query_id": "v0#enc#0\ud800", "gt_video_ids": ["v0"]}'
badgt "bad escape" "invalid escape" '{"query_id": "v0#enc#0\q", "gt_video_ids": ["v0"]}'
badgt "text after the object" "text after the object" '{"query_id": "v0#enc#0", "gt_video_ids": ["v0"]} x'
badgt "not an object" "expected '{'" '["v0#enc#0"]'
badgt "a query twice" "bad.jsonl:2: query 'v0#enc#0' is also on line 1" \
	'{"query_id": "v0#enc#0", "gt_video_ids": ["v0"]}' '{"query_id": "v0#enc#0", "gt_video_ids": ["v1"]}'
badgt "a query not in the scores" "bad.jsonl:1: query 'x#enc#0' is not in" '{"query_id": "x#enc#0", "gt_video_ids": ["v0"]}'
badgt "a video not in the scores" "video 'v9' of query 'v0#enc#0' is not among" '{"query_id": "v0#enc#0", "gt_video_ids": ["v9"]}'
printf '' >"$T/bad.jsonl"
fails_with "empty relevance file" "bad.jsonl: no queries" "$BIN/metrics" -B inh -g "$T/bad.jsonl" -i "$T/s.mp"
fails_with "missing relevance file" "open $T/none" "$BIN/metrics" -g "$T/none" -i "$T/s.mp"

# --compare: identical systems -> 0, zero-width interval, p = 1, for every metric; a ranking of a
# scores stream compares to the scores themselves as identical
"$BIN/rank" -Q -s "$T/a.mp" -o "$T/ar.mp"
if "$BIN/metrics" -q --compare -f tsv --resamples 500 "$T/a.mp" "$T/ar.mp" >"$T/out" 2>"$T/err" &&
   [ "$(wc -l <"$T/out")" = 9 ] &&
   awk -F'\t' 'NR == 1 { if ($0 != "metric\ta\tb\tdiff\tlo\thi\tp") e = 1; next }
	{ n++; if ($2 != $3 || $4 != 0 || $5 != 0 || $6 != 0 || $7 != 1) e = 1 } END { exit e || n != 8 }' "$T/out"; then
	ok "--compare: identical systems (scores vs their ranking): 0 [0, 0], p = 1"
else
	bad "--compare identical"; cat "$T/out" "$T/err"
fi
"$BIN/metrics" -q --compare -f json --resamples 500 "$T/ar.mp" "$T/ar.mp" >"$T/j0" &&
	[ "$(grep -o '"diff":0,"lo":0,"hi":0,"p":1}' "$T/j0" | wc -l)" = 8 ] &&
	ok "--compare: two identical rankings: 0 [0, 0], p = 1 for all 8 metrics" || { bad "--compare identical rankings"; cat "$T/j0"; }
# two different systems: A and B are each one's metrics, the difference is B - A, the interval
# holds it, the same seed gives the same output, two pairs of runs average
"$BIN/metrics" -q -f tsv -i "$T/a.mp" | tail -n 1 | cut -f 7 >"$T/sa"
"$BIN/metrics" -q -f tsv -i "$T/b.mp" | tail -n 1 | cut -f 7 >"$T/sb"
"$BIN/metrics" -q --compare -f tsv --seed 9 "$T/a.mp" "$T/b.mp" >"$T/c1"
"$BIN/metrics" -q --compare -f tsv --seed 9 "$T/a.mp" "$T/b.mp" >"$T/c2"
if awk -F'\t' -v a="$(cat "$T/sa")" -v b="$(cat "$T/sb")" '$1 == "sumr" {
	d = $4 - (b - a); if (d > 1e-3 || d < -1e-3 || $2 - a > 1e-3 || a - $2 > 1e-3) e = 1
	if (!($5 <= $4 && $4 <= $6 && $5 < $6 && $7 > 0 && $7 <= 1)) e = 1; n++ } END { exit e || n != 1 }' "$T/c1" &&
   cmp -s "$T/c1" "$T/c2"; then
	ok "--compare: B - A of the metrics, interval around it, reproducible for a seed"
else
	bad "--compare two systems"; cat "$T/c1"
fi
"$BIN/metrics" -q --compare -f json "$T/a.mp" "$T/b.mp" "$T/b.mp" "$T/a.mp" >"$T/j" &&
	grep -q '"pairs":2,"resamples":10000,"seed":1,"difference":"b - a"' "$T/j" &&
	grep -q '"sumr":{"a":[0-9.]*,"b":[0-9.]*,"diff":0,"lo":0,"hi":0,"p":1}' "$T/j" &&
	ok "--compare -f json; opposite pairs average to 0" || { bad "--compare json"; cat "$T/j"; }
"$BIN/metrics" -q --compare "$T/a.mp" "$T/b.mp" >"$T/tab" && grep -q "^sumr " "$T/tab" &&
	grep -q "B - A over 300 queries x 40 videos" "$T/tab" && ok "--compare table" || bad "--compare table"
fails_with "--compare: odd number of streams" "usage:" "$BIN/metrics" --compare "$T/a.mp"
fails_with "--compare -f mp" "--compare writes -f table, tsv or json" "$BIN/metrics" --compare -f mp "$T/a.mp" "$T/b.mp"
fails_with "--compare: different videos" "--compare:" "$BIN/metrics" -q --compare "$T/a.mp" "$T/s.mp"
"$TBIN/test_metrics" gen-scores 299 40 4 >"$T/b2.mp"
fails_with "--compare: different queries" "--compare: " "$BIN/metrics" -q --compare "$T/a.mp" "$T/b2.mp"
fails_with "--resamples 0" "out of range" "$BIN/metrics" --compare --resamples 0 "$T/a.mp" "$T/b.mp"

[ $fails = 0 ] && echo "OK test_eval" || echo "NOT OK test_eval ($fails failures)"
exit $((fails != 0))
