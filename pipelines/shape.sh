#!/bin/sh
# shape.sh: the shape of a reduced corpus as prvr-cost options: --frames L and --tokens T (mean
# frames of the test videos and mean tokens of the test queries, rounded, at least 1), and
# either -p PRESET (the real dataset's feature dims and queries per video, for synthetic
# corpora whose dims may be reduced) or, without PRESET, --dims DV,DT and --queries Q read from
# the stream headers (imported features).
# Usage: shape.sh PRVR-CAT STREAMS-DIR [PRESET]
set -e
cat=$1 dir=$2 preset=${3:-}
[ -x "$cat" ] && [ -d "$dir" ] || { echo "usage: shape.sh PRVR-CAT STREAMS-DIR [PRESET]" >&2; exit 1; }
hdr() { "$cat" -n 0 "$dir/$1" | sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" | head -n 1; }
meann() { "$cat" "$dir/$1" | awk 'NR > 1 && match($0, /"n":[0-9]+/) { s += substr($0, RSTART + 4, RLENGTH - 4); k++ }
	END { if (!k) exit 1; m = int(s / k + 0.5); print m < 1 ? 1 : m }'; }
L=$(meann test-video-student.mp)
T=$(meann test-query-student.mp)
if [ -n "$preset" ]; then
	echo "-p $preset --frames $L --tokens $T"
	exit 0
fi
dv=$(hdr train-video-student.mp dim)
dt=$(hdr train-query-student.mp dim)
nv=$(hdr train-video-student.mp count)
nq=$(hdr train-query-student.mp count)
[ -n "$dv" ] && [ -n "$dt" ] && [ -n "$nv" ] && [ -n "$nq" ] && [ "$nv" -gt 0 ] ||
	{ echo "shape.sh: $dir: cannot read dims and counts" >&2; exit 1; }
q=$(awk -v a="$nq" -v b="$nv" 'BEGIN { printf "%.3f", a / b }')
echo "--dims $dv,$dt --queries $q --frames $L --tokens $T"
