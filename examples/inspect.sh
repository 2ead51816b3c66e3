#!/bin/sh
# inspect.sh: look into streams. Usage: examples/inspect.sh DIR (as left by examples/pipeline.sh)
set -e
B=$(cd "$(dirname "$0")/.." && pwd)/bin
cd "${1:?usage: inspect.sh DIR}"
"$B"/prvr-cat -n 2 r-test-video-student.mp                  # header + first video, tensors summarised
"$B"/prvr-cat -c ckpt.mp                                    # validate against schemas/checkpoint.md
# per-epoch validation SumR from the training log, with awk on the JSON lines
"$B"/prvr-cat log.mp | grep '"type":"epoch"' |
	sed 's/.*"epoch":\([0-9]*\).*"val_sumr":\([0-9.]*\).*/epoch \1 val SumR \2/'
