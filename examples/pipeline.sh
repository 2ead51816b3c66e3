#!/bin/sh
# pipeline.sh: the whole DL-DKD pipeline by hand on a tiny synthetic TVR-like corpus, with the
# tools of bin/ (run `make` first). Takes well under a minute. Usage: examples/pipeline.sh [DIR]
set -e
B=$(cd "$(dirname "$0")/.." && pwd)/bin
D=${1:-$(mktemp -d)}
cd "$D"
"$B"/prvr-synth -p tvr-tiny -s 1 -o corpus                 # raw student and teacher features
for f in corpus/*-video-*.mp corpus/*-query-*.mp; do        # <= 128 frames, <= 30 tokens
	"$B"/feat-reduce -q -i "$f" -o "r-${f#corpus/}"
done
# the distillation target: the teacher's frame similarities of each query to its own video
"$B"/teacher-sim -v r-train-video-teacher.mp -q r-train-query-teacher.mp -o tau.mp
# DL-DKD: two branches, exponential KD schedule, best checkpoint by validation SumR
"$B"/distill-step -v r-train-video-student.mp -q r-train-query-student.mp -t tau.mp \
	--val-video r-val-video-student.mp --val-query r-val-query-student.mp \
	--hidden 64 --heads 2 --batch 16 --epochs 20 --lr 1e-3 -o ckpt.mp -l log.mp
"$B"/encode-video -c ckpt.mp -o ev.mp < r-test-video-student.mp
"$B"/encode-text -c ckpt.mp -o eq.mp < r-test-query-student.mp
echo "teacher alone:"
"$B"/teacher-sim -S -v r-test-video-teacher.mp -q r-test-query-teacher.mp | "$B"/metrics -f table
for b in 0 1; do
	echo "beta $b ($( [ $b = 0 ] && echo inheritance || echo exploration ) branch alone):"
	"$B"/rank -v ev.mp -q eq.mp -b $b | "$B"/metrics -f table
done
echo "DL-DKD (beta 0.3):"
"$B"/rank -v ev.mp -q eq.mp -b 0.3 | "$B"/metrics -f table
echo "results in $D"
