#!/bin/sh
# synth-calibrate.sh: one point of the world calibration of doc/synth.md ("Calibration").
# Generates PRESET at the `small` pipeline's widths with the given prvr-synth knobs, reduces it,
# measures the zero-shot teacher on the test split, trains the exploration-only student (no
# teacher) with validation, and prints one TSV line:
#   preset knobs seed teacher_sumr chance_sumr val_sumr@1..E (comma-separated) best_val
#   best_epoch test_sumr train_seconds
# test_sumr is the best-by-validation checkpoint on the test split (as the pipelines report it).
#
# usage: scripts/synth-calibrate.sh [-e EPOCHS] [-s TRAIN_SEED] [-d DSEED] [-w DIR] [-k]
#        [-t 'DISTILL-STEP OPTIONS'] PRESET [PRVR-SYNTH KNOBS...]
#   -e  epochs at most (default 20)   -p  patience (default: EPOCHS, so all of them run)
#   -x  stop after this many epochs (the run is ended there; its learning rate follows the
#       schedule of EPOCHS, so this is the start of a long run; the best epoch so far is tested)
#   -s  distill-step seed (default 1)     -d  prvr-synth seed (default 1)
#   -w  work directory (default a fresh one under ${TMPDIR:-/tmp}, removed unless -k)
#   -t  extra distill-step options (after the small scale's TRAIN_OPTS_small, read from
#       pipelines/experiments.mk)
# Environment: BIN (default bin), JOBS threads (default 1), MARGIN (default: 0.1 for tvr,
# 0.2 otherwise, as pipelines/experiments.mk).
set -eu
BIN=${BIN:-bin}
JOBS=${JOBS:-1}
epochs=20 patience= stop= seed=1 dseed=1 work= keep=0 topts=
while getopts e:p:x:s:d:w:kt: o; do
	case $o in
	e) epochs=$OPTARG ;;
	p) patience=$OPTARG ;;
	x) stop=$OPTARG ;;
	s) seed=$OPTARG ;;
	d) dseed=$OPTARG ;;
	w) work=$OPTARG ;;
	k) keep=1 ;;
	t) topts=$OPTARG ;;
	*) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "synth-calibrate.sh: no preset" >&2; exit 1; }
preset=$1; shift
knobs="$*"
# the small scale's training options, declared once in the pipelines
small=$(sed -n 's/^TRAIN_OPTS_small *= *//p' "$(dirname "$0")/../pipelines/experiments.mk")
[ -n "$small" ] || { echo "synth-calibrate.sh: TRAIN_OPTS_small not found in pipelines/experiments.mk" >&2; exit 1; }
case $preset in tvr*) margin=${MARGIN:-0.1} ;; *) margin=${MARGIN:-0.2} ;; esac
[ -n "$work" ] || work=$(mktemp -d "${TMPDIR:-/tmp}/synth-cal.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

# the corpus at the small pipeline's widths (SYNTH_OPTS_small), reduced as the pipelines do
# shellcheck disable=SC2086
"$BIN"/prvr-synth -q -p "$preset" -s "$dseed" --dims 256,128,512 $knobs -o "$work/c"
mkdir -p "$work/r"
for f in train-video-student train-query-student val-video-student val-query-student \
	test-video-student test-query-student test-video-teacher test-query-teacher; do
	"$BIN"/feat-reduce -q -i "$work/c/$f.mp" -o "$work/r/$f.mp"
done
rm -rf "$work/c"
tsumr=$("$BIN"/teacher-sim -Q -S -j "$JOBS" -v "$work/r/test-video-teacher.mp" \
	-q "$work/r/test-query-teacher.mp" | "$BIN"/metrics -q -f tsv |
	awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 2 { print $c["sumr"] }')
# chance: a query ranks its own video uniformly among N, so E[R@K] = min(K, N) / N
nv=$("$BIN"/prvr-cat -n 1 "$work/r/test-video-student.mp" | head -n 1 |
	sed -n 's/.*"count":\([0-9]*\).*/\1/p')
chance=$(awk -v n="$nv" 'BEGIN { s = 0; split("1 5 10 100", k, " ");
	for (i in k) s += (k[i] < n ? k[i] : n) / n * 100; printf "%.1f", s }')

# shellcheck disable=SC2086
"$BIN"/distill-step -v "$work/r/train-video-student.mp" -q "$work/r/train-query-student.mp" \
	--val-video "$work/r/val-video-student.mp" --val-query "$work/r/val-query-student.mp" \
	--branches exp --schedule none --margin "$margin" --epochs "$epochs" --patience "${patience:-$epochs}" \
	--seed "$seed" -j "$JOBS" $small $topts -l "$work/log.mp" -o "$work/ckpt.mp" \
	2> "$work/train.err" &
pid=$!
if [ -n "$stop" ]; then
	while kill -0 $pid 2> /dev/null; do
		n=$(grep -c 'val SumR' "$work/train.err" 2> /dev/null || true)
		[ "${n:-0}" -lt "$stop" ] || break
		sleep 1
	done
	kill $pid 2> /dev/null || true
	wait $pid || true
	[ -f "$work/ckpt.mp" ] || mv "$work/ckpt.mp.best" "$work/ckpt.mp"
else
	wait $pid
fi
"$BIN"/prvr-cat < "$work/log.mp" | awk -f pipelines/curves.awk > "$work/curves.tsv"
"$BIN"/encode-video -j "$JOBS" -c "$work/ckpt.mp" < "$work/r/test-video-student.mp" > "$work/v.mp"
"$BIN"/encode-text -j "$JOBS" -c "$work/ckpt.mp" < "$work/r/test-query-student.mp" > "$work/q.mp"
test=$("$BIN"/rank -Q -j "$JOBS" -v "$work/v.mp" -q "$work/q.mp" | "$BIN"/metrics -q -f tsv |
	awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 2 { print $c["sumr"] }')
awk -F'\t' -v OFS='\t' -v p="$preset" -v k="${knobs:-default}${topts:+ | $topts}" -v s="$seed" \
	-v t="$tsumr" -v ch="$chance" -v te="$test" '
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ v = v (v == "" ? "" : ",") sprintf("%.1f", $c["val_sumr"]); secs += $c["seconds"]
	  if ($c["val_sumr"] + 0 > best) { best = $c["val_sumr"] + 0; be = $c["epoch"] } }
	END { printf "%s\t%s\t%s\t%.1f\t%s\t%s\t%.1f\t%d\t%.1f\t%.0f\n", p, k, s, t, ch, v, best, be, te, secs }' "$work/curves.tsv"
