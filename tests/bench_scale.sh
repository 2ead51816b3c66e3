#!/bin/bash
# bench_scale.sh: distill-step at corpus scale, called by bench.sh (never part of the tests).
# For each training size: a synthetic TVR corpus (prvr-synth -p tvr: 17,435 training videos of
# about 50 frames x 3072-d, 87,175 queries of 768-d tokens; about 20 GB of raw features at full
# size), reduced (feat-reduce) and distilled (teacher-sim) as pipelines/experiments.mk does, in
# the scratch directory and deleted after; then one epoch of distill-step with the default model
# under GNU time. One line per size: training videos and queries, GB of training streams read,
# seconds to load (index) them, seconds per epoch, peak resident MiB. Peak RSS should not grow with the
# videos: distill-step holds an index of the streams, not the features (lib/data, lib/recfile).
# Environment: BIN (default bin), BENCH_THREADS (default 2), BENCH_DIR (scratch, default mktemp;
# needs about twice the raw size), BENCH_SCALE_VIDEOS ("N1 N2 ..." training sizes at TVR's dims;
# default the preset's 17,435), BENCH_SCALE_OPTS (more distill-step options),
# BENCH_QUICK=1 (tvr-small: 1,744 videos).
set -u
: "${BIN:=bin}"
J=${BENCH_THREADS:-2}
PRESET=tvr
[ "${BENCH_QUICK:-0}" = 1 ] && PRESET=tvr-small
if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W"
else
	W=$(mktemp -d)
	trap 'rm -rf "$W"' EXIT
fi

say() { printf '%s\n' "$*"; }
calc() { awk "BEGIN { printf \"%s\", $1 }" 2>/dev/null; }

# one training size: $1 videos, or "" for the preset's
one() {
	local c=$W/corpus r=$W/r sizes=() x gb wall epoch rss
	[ -n "$1" ] && sizes=(--videos "$1,10,10")
	rm -rf "$c" "$r"
	mkdir -p "$r"
	if ! "$BIN/prvr-synth" -q -p "$PRESET" -s 1 "${sizes[@]}" -o "$c" 2>"$W/err"; then
		say "    FAILED: prvr-synth: $(tail -n 1 "$W/err")"
		return 1
	fi
	rm -f "$c"/val-* "$c"/test-*
	for x in video-student query-student video-teacher query-teacher; do
		if ! "$BIN/feat-reduce" -q < "$c/train-$x.mp" > "$r/$x.mp" 2>"$W/err"; then
			say "    FAILED: feat-reduce $x: $(tail -n 1 "$W/err")"
			return 1
		fi
		rm "$c/train-$x.mp"
	done
	if ! "$BIN/teacher-sim" -Q -j "$J" -v "$r/video-teacher.mp" -q "$r/query-teacher.mp" \
	    -o "$r/tsim.mp" 2>"$W/err"; then
		say "    FAILED: teacher-sim: $(tail -n 1 "$W/err")"
		return 1
	fi
	rm -f "$r/video-teacher.mp" "$r/query-teacher.mp"
	gb=$(cat "$r/video-student.mp" "$r/query-student.mp" "$r/tsim.mp" | wc -c)
	# shellcheck disable=SC2086
	if ! /usr/bin/time -v "$BIN/distill-step" -v "$r/video-student.mp" -q "$r/query-student.mp" \
	    -t "$r/tsim.mp" --epochs 1 -j "$J" ${BENCH_SCALE_OPTS:-} -o "$W/ck.mp" 2>"$W/err"; then
		say "    FAILED: distill-step: $(grep -v '^Command exited' "$W/err" | grep -v '^	' | tail -n 1)"
		return 1
	fi
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
		for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$W/err")
	epoch=$(sed -n 's/.*epoch 1\/1 loss [^ ]* \([0-9.]*\) s\/epoch.*/\1/p' "$W/err" | tail -n 1)
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$W/err")
	printf '%-26s %6s videos %7s queries  %6.2f GB  load %7.1f s  epoch %8.1f s  peak %6.0f MiB\n' \
		"distill-step -p $PRESET" "$(sed -n 's/.*: \([0-9]*\) videos, \([0-9]*\) queries.*/\1/p' "$W/err")" \
		"$(sed -n 's/.*: \([0-9]*\) videos, \([0-9]*\) queries.*/\2/p' "$W/err")" \
		"$(calc "$gb / 1e9")" "$(calc "$wall - $epoch")" "$epoch" "$(calc "$rss / 1024")"
	rm -rf "$c" "$r" "$W/ck.mp"
}

say ""
say "(e) distill-step at corpus scale: one epoch, default model, $J threads (tests/bench_scale.sh)"
if [ -n "${BENCH_SCALE_VIDEOS:-}" ]; then
	for n in $BENCH_SCALE_VIDEOS; do
		one "$n"
	done
else
	one ""
fi
