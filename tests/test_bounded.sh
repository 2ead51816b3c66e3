#!/bin/bash
# test_bounded: distill-step trains from streams larger than its address-space limit (ulimit -v),
# because it indexes the training streams and reads each batch's records again from the files
# (lib/data, lib/recfile) instead of holding the split. A synthetic training split of about
# 470 MB (2,300 videos of 1024-d frames, small model) trains one epoch under a 384 MiB limit,
# and its checkpoint is byte-identical to the same run without the limit. Holding the split
# would need more than the limit for the features alone.
# Skipped under the sanitizers (PRVR_SANITIZED=1): ASan reserves terabytes of address space.
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd) || exit 1
if [ "${PRVR_SANITIZED:-0}" = 1 ]; then
	echo "OK skipped under the sanitizers (ASan needs an unlimited address space)"
	exit 0
fi
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
LIMIT_KIB=393216

# the raw student streams are short enough to train on as they are (<= 128 frames, 30 tokens);
# only the teacher streams are reduced, as teacher-sim requires
"$BIN"/prvr-synth -q -p tvr-tiny -s 1 --videos 2300,2,2 --dims 1024,16,8 --frames-max 128 \
    --tokens-max 30 -o c || { echo "NOT OK prvr-synth"; exit 1; }
for x in video-teacher query-teacher; do
	"$BIN"/feat-reduce -q < c/train-$x.mp > $x.mp || { echo "NOT OK feat-reduce $x"; exit 1; }
done
"$BIN"/teacher-sim -Q -v video-teacher.mp -q query-teacher.mp -o tsim.mp ||
	{ echo "NOT OK teacher-sim"; exit 1; }
size=$(cat c/train-video-student.mp c/train-query-student.mp tsim.mp | wc -c)
if [ "$size" -le $((LIMIT_KIB * 1024)) ]; then
	echo "NOT OK the streams ($size bytes) are not larger than the limit"; exit 1
fi

# one thread: OpenBLAS reserves address space per thread. timeout: OpenBLAS may spin rather
# than fail when it cannot map its buffers
train() {
	mkdir "$1" && (cd "$1" && ulimit -v "$2" && OPENBLAS_NUM_THREADS=1 timeout 300 \
	    "$BIN"/distill-step -v ../c/train-video-student.mp -q ../c/train-query-student.mp \
	    -t ../tsim.mp --hidden 16 --heads 2 --batch 64 --epochs 1 --seed 3 -j 1 -o ck.mp 2> err)
}
fail=0
if train limited $LIMIT_KIB; then
	echo "OK trained from $((size / 1048576)) MiB of streams under ulimit -v $((LIMIT_KIB / 1024)) MiB"
else
	echo "NOT OK training under ulimit -v $((LIMIT_KIB / 1024)) MiB: $(tail -n 1 limited/err)"
	fail=1
fi
if ! train free unlimited; then
	echo "NOT OK training without a limit: $(tail -n 1 free/err)"
	fail=1
elif cmp -s limited/ck.mp free/ck.mp; then
	echo "OK the same checkpoint as without the limit"
else
	echo "NOT OK checkpoints differ with and without the limit"
	fail=1
fi
exit $fail
