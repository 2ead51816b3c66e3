#!/bin/sh
# beta-sweep.sh: re-rank one trained model for beta = 0.0 .. 1.0 without re-encoding.
# Usage: examples/beta-sweep.sh DIR   (DIR as left by examples/pipeline.sh)
set -e
B=$(cd "$(dirname "$0")/.." && pwd)/bin
cd "${1:?usage: beta-sweep.sh DIR}"
"$B"/rank -S -v ev.mp -q eq.mp -o scores.mp                 # every branch's scores, once
printf 'beta\tSumR\n'
for b in 0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0; do
	printf '%s\t' $b
	"$B"/rank -s scores.mp -b $b | "$B"/metrics -q -f tsv | awk -F'\t' 'NR == 2 { print $7 }'
done
