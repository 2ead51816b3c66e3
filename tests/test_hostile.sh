#!/bin/bash
# test_hostile: faults an unlucky user meets, tool by tool (the size claims of crafted inputs are
# tests/test_hostile.c's). Outputs that cannot be created are refused before any work; an output
# that is an input or another output is refused and the file left as it was; a distill-step run
# killed with SIGKILL keeps its log up to its last completed epoch, and the resumed run
# continues that log and ends with the checkpoint and log of an uninterrupted run; stale
# NAME.tmp.PID files of dead processes are removed; with stderr closed distill-step's log stays
# valid; duplicate query ids, ids with NUL, tab or newline bytes, and float32-overflowing
# features are refused by name.
set -u
. "$(dirname "$0")/mpbytes.sh"
mp_test_begin
B=$(cd "$BIN" && pwd) || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# refused NAME WANT CMD...: exit 1, WANT in the last stderr line
refused() {
	name=$1 want=$2; shift 2
	"$@" </dev/null >/dev/null 2>"$d/err"
	rc=$? last=$(tail -n 1 "$d/err")
	if [ $rc -eq 1 ] && printf '%s' "$last" | grep -qF -- "$want"; then
		ok "$name: $last"
	else
		notok "$name: exit $rc, last stderr line: $last (want: $want)"
	fi
}

# a tiny corpus, reduced, teacher similarities, a trained model and its encodings
$B/prvr-synth -q -p tvr-tiny -s 3 -o "$d/c" || exit 1
for f in train-video-student train-query-student test-video-student test-query-student \
         train-video-teacher train-query-teacher val-video-student val-query-student; do
	$B/feat-reduce -q -i "$d/c/$f.mp" -o "$d/$f.mp" || exit 1
done
$B/teacher-sim -Q -v "$d/train-video-teacher.mp" -q "$d/train-query-teacher.mp" -o "$d/tau.mp" || exit 1
DATA="-v $d/train-video-student.mp -q $d/train-query-student.mp -t $d/tau.mp"
VAL="--val-video $d/val-video-student.mp --val-query $d/val-query-student.mp"
TRAIN="--hidden 16 --heads 2 --batch 30 --lr 2e-3 -j 1 --seed 3"
$B/distill-step $DATA $TRAIN --epochs 1 -o "$d/ck.mp" 2>/dev/null || exit 1
$B/encode-video -c "$d/ck.mp" -o "$d/ev.mp" < "$d/test-video-student.mp" 2>/dev/null || exit 1
$B/encode-text -c "$d/ck.mp" -o "$d/eq.mp" < "$d/test-query-student.mp" 2>/dev/null || exit 1
$B/rank -Q -v "$d/ev.mp" -q "$d/eq.mp" -o "$d/rk.mp" || exit 1

# ---- outputs that cannot be created: refused before any work (no training epoch ran)
N=$d/no/such/dir
refused "distill-step -o into a missing directory" "cannot create output $N/ck.mp" \
	$B/distill-step $DATA $TRAIN --epochs 50 -o "$N/ck.mp"
grep -q "epoch" "$d/err" && notok "distill-step trained before refusing its output"
refused "distill-step -l into a missing directory" "cannot create output $N/log.mp" \
	$B/distill-step $DATA $TRAIN --epochs 50 -o "$d/x.mp" -l "$N/log.mp"
refused "distill-step --save-every-epoch under a missing directory" "mkdir $N/ep" \
	$B/distill-step $DATA $TRAIN --epochs 50 -o "$d/x.mp" --save-every-epoch "$N/ep"
refused "feat-reduce -o" "cannot create output $N/o" $B/feat-reduce -q -i "$d/c/test-video-student.mp" -o "$N/o"
refused "teacher-sim -o" "cannot create output $N/o" \
	$B/teacher-sim -Q -v "$d/train-video-teacher.mp" -q "$d/train-query-teacher.mp" -o "$N/o"
refused "encode-video -o" "cannot create output $N/o" $B/encode-video -c "$d/ck.mp" -o "$N/o"
refused "rank -o" "cannot create output $N/o" $B/rank -Q -v "$d/ev.mp" -q "$d/eq.mp" -o "$N/o"
refused "metrics -r" "cannot create output $N/o" $B/metrics -q -i "$d/rk.mp" -o "$d/m.mp" -r "$N/o"
ls "$d"/x.mp* "$d"/m.mp* >/dev/null 2>&1 && notok "an output was left behind: $(ls "$d"/x.mp* "$d"/m.mp*)"
# an output directory that takes no files (/proc): refused before the corpus is generated or the
# release read (a late failure names the temporary file without "cannot create output")
refused "prvr-synth -o DIR taking no files" "cannot create output /proc/corpus.mp" \
	$B/prvr-synth -q -p tvr-small -s 1 -o /proc
if [ -x $B/prvr-import ]; then
	mkdir "$d/release"     # empty: anything read from it would fail with another message
	refused "prvr-import -o DIR taking no files" "cannot create output /proc/corpus.mp" \
		$B/prvr-import -q -r "$d/release" -o /proc
fi

# ---- an output that is an input or another output: refused, the file unchanged
cp "$d/ck.mp" "$d/ck0.mp"
refused "encode-video -c C -o C" "output $d/ck.mp is the input $d/ck.mp" \
	$B/encode-video -c "$d/ck.mp" -o "$d/ck.mp"
cmp -s "$d/ck.mp" "$d/ck0.mp" || notok "encode-video -c C -o C changed C"
refused "distill-step -o X -l X" "output $d/y.mp is also output $d/y.mp" \
	$B/distill-step $DATA $TRAIN --epochs 1 -o "$d/y.mp" -l "$d/y.mp"
refused "distill-step -o onto its input" "is the input" \
	$B/distill-step $DATA $TRAIN --epochs 1 -o "$d/tau.mp"
cp "$d/rk.mp" "$d/rk0.mp"
refused "metrics -o X -r X" "output $d/rk.mp is also output $d/rk.mp" \
	$B/metrics -q -i "$d/rk0.mp" -o "$d/rk.mp" -r "$d/rk.mp"
refused "metrics -r onto its input (another path to it)" "is the input" \
	$B/metrics -q -i "$d/rk.mp" -r "$d/../$(basename "$d")/rk.mp"
cmp -s "$d/rk.mp" "$d/rk0.mp" || notok "metrics changed its input"
refused "feat-reduce -i X -o X" "is the input" \
	$B/feat-reduce -q -i "$d/val-video-student.mp" -o "$d/val-video-student.mp"

# ---- an output that is a FIFO (or /dev/null): written in place, never renamed over
mkfifo "$d/fifo"
timeout 30 cat "$d/fifo" > "$d/from-fifo" & reader=$!  # bounded: a regression never opens it
$B/feat-reduce -q -i "$d/c/test-video-student.mp" -o "$d/fifo"
rc=$?
wait $reader
$B/feat-reduce -q -i "$d/c/test-video-student.mp" -o "$d/direct.mp"
# the header records the command line (-o differs), so the records after it are compared
if [ $rc -eq 0 ] && [ -p "$d/fifo" ] && $B/prvr-cat -c "$d/from-fifo" > /dev/null 2>&1 &&
   [ "$($B/prvr-cat < "$d/from-fifo" | tail -n +2)" = "$($B/prvr-cat < "$d/direct.mp" | tail -n +2)" ] &&
   ! ls "$d"/fifo.tmp.* >/dev/null 2>&1; then
	ok "-o FIFO: the stream goes through it, the FIFO stays a FIFO"
else
	notok "-o FIFO: exit $rc, fifo $(ls -l "$d/fifo"), $(ls "$d" | grep -c fifo.tmp) temporaries"
fi
timeout 30 cat "$d/fifo" > /dev/null & reader=$!
$B/metrics -q -i "$d/rk.mp" -o "$d/m.mp" -r "$d/fifo" && wait $reader && [ -p "$d/fifo" ] &&
	ok "metrics -r FIFO: written in place" || notok "metrics -r FIFO"

# ---- stale temporary files: those of dead processes go, a live process's stays
sh -c 'exit 0' & dead=$!
wait $dead
touch "$d/s.mp.tmp.$dead" "$d/s.mp.tmp.$$" "$d/s.mp.tmp.x1"
$B/feat-reduce -q -i "$d/c/test-video-student.mp" -o "$d/s.mp" || notok "feat-reduce -o s.mp"
if [ ! -e "$d/s.mp.tmp.$dead" ] && [ -e "$d/s.mp.tmp.$$" ] && [ -e "$d/s.mp.tmp.x1" ]; then
	ok "stale NAME.tmp.PID of a dead process removed, a live one's and others kept"
else
	notok "stale temporary files: $(ls "$d"/s.mp.tmp.* 2>&1 | tr '\n' ' ')"
fi

# ---- stderr closed: progress must not go into the log
$B/distill-step $DATA $TRAIN --epochs 2 -o "$d/z.mp" -l "$d/zlog.mp" 2>&-
rc=$?
if [ $rc -eq 0 ] && $B/prvr-cat -c "$d/zlog.mp" 2>/dev/null; then
	ok "stderr closed: distill-step's log is a valid stream"
else
	notok "stderr closed: exit $rc, log: $($B/prvr-cat -c "$d/zlog.mp" 2>&1)"
fi

# ---- a killed run keeps its log to the last completed epoch; resuming continues it
E=16                 # epochs: the kill comes after 2, the run must not end before it
# the log's header, and per record its type, epoch, step, loss and validation SumR (the loss
# components' last bits differ between processes: tests/test_train.sh's --eval-loss check)
strip() {
	$B/prvr-cat "$1" | sed -n '1p; s/^\({"type":"[a-z]*","epoch":[0-9]*,"step":[0-9]*\).*\("loss":[^,]*\).*/\1 \2/p' |
		sed 's/"seconds":[-0-9.eE+]*//'
	$B/prvr-cat "$1" | grep -o '"val_sumr":[^,]*'
}
(mkdir "$d/u" && cd "$d/u" &&
	$B/distill-step $DATA $VAL $TRAIN --epochs $E --patience $E -o ck.mp -l log.mp 2>err) ||
	notok "uninterrupted run: $(tail -n 1 "$d/u/err")"
mkdir "$d/k"
(cd "$d/k" && exec $B/distill-step $DATA $VAL $TRAIN --epochs $E --patience $E -o ck.mp -l log.mp 2>/dev/null) &
pid=$!
for _ in $(seq 600); do      # until the log holds two epochs (at most a minute)
	[ -f "$d/k/log.mp" ] && [ "$($B/prvr-cat "$d/k/log.mp" 2>/dev/null | grep -c '"type":"epoch"')" -ge 2 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
done_epochs=$($B/prvr-cat "$d/k/log.mp" 2>/dev/null | grep -c '"type":"epoch"')
if [ -f "$d/k/ck.mp" ]; then
	notok "the run ended before it was killed (make it longer)"
elif $B/prvr-cat -c "$d/k/log.mp" 2>/dev/null && [ "$done_epochs" -ge 2 ]; then
	ok "killed run: its log is valid and holds $done_epochs completed epochs"
else
	notok "killed run: log invalid or short ($done_epochs epochs)"
fi
(cd "$d/k" && $B/distill-step $DATA $VAL -j 1 --resume ck.mp.best -o ck.mp -l log.mp 2>/dev/null) ||
	notok "resume after the kill"
if cmp -s "$d/u/ck.mp" "$d/k/ck.mp" && [ "$(strip "$d/u/log.mp")" = "$(strip "$d/k/log.mp")" ]; then
	ok "killed and resumed: the checkpoint and the log (but seconds) of an uninterrupted run"
else
	notok "killed and resumed: checkpoint or log differs from the uninterrupted run's"
fi
ls "$d"/k/*.tmp.* >/dev/null 2>&1 && notok "temporary files left: $(ls "$d"/k/*.tmp.*)"

# ---- ids: duplicates, NUL, tab, newline
# video-features (teacher, reduced, dim 1) of videos v0, v1; query-features of ids and videos
videos() {
	mp_header video-features 2 5
	mp_str role; mp_str teacher; mp_str dim; mp_int 1; mp_str split; mp_str t
	mp_str reduced; mp_true; mp_str normalized; mp_false
	for v in v0 v1; do mp_map 3; mp_str id; mp_str $v; mp_str n; mp_int 1; mp_str x; mp_f32 1; done
}
queries() {  # queries X1 X2: two queries with these f32 values, ids q0 and q0 (a duplicate)
	mp_header query-features 2 5
	mp_str role; mp_str teacher; mp_str dim; mp_int 1; mp_str split; mp_str t
	mp_str reduced; mp_true; mp_str normalized; mp_false
	mp_map 4; mp_str id; mp_str q0; mp_str video; mp_str v0; mp_str n; mp_int 1; mp_str x; mp_f32 "$1"
	mp_map 4; mp_str id; mp_str q0; mp_str video; mp_str v1; mp_str n; mp_int 1; mp_str x; mp_f32 "$2"
}
videos > "$d/tv.mp"
queries 1 2 > "$d/tq.mp"
refused "teacher-sim: duplicate query id" "tq.mp: record 2: query id 'q0' appears twice (also record 1)" \
	$B/teacher-sim -Q -v "$d/tv.mp" -q "$d/tq.mp"
refused "teacher-sim -S: duplicate query id" "tq.mp: record 2: query id 'q0' appears twice" \
	$B/teacher-sim -Q -S -v "$d/tv.mp" -q "$d/tq.mp"
# rank -s: a scores stream with the same query twice
{
	mp_header scores 2 3
	mp_str videos; mp_arr 2; mp_str v0; mp_str v1; mp_str branches; mp_arr 1; mp_str teacher
	mp_str split; mp_str t
	for v in v0 v1; do mp_map 3; mp_str id; mp_str q0; mp_str video; mp_str $v; mp_str teacher; mp_f32 1 2; done
} > "$d/sc.mp"
refused "rank -s: duplicate query id" "sc.mp: record 2: query id 'q0' appears twice (also record 1)" \
	$B/rank -Q -s "$d/sc.mp"
# a 3e38 feature overflows float32 in the dot product: named, not "diverged" (-S normalises
# before its dot products and gets the cosines right)
mp_f32hex() { case $1 in 3e38) echo e6 b1 61 7f ;; *) echo 00 00 80 3f ;; esac; }
{
	mp_header video-features 1 5
	mp_str role; mp_str teacher; mp_str dim; mp_int 1; mp_str split; mp_str t; mp_str reduced; mp_true
	mp_str normalized; mp_false
	mp_map 3; mp_str id; mp_str v0; mp_str n; mp_int 1; mp_str x; mp_f32 3e38
} > "$d/tv1.mp"
{
	mp_header query-features 1 5
	mp_str role; mp_str teacher; mp_str dim; mp_int 1; mp_str split; mp_str t
	mp_str reduced; mp_true; mp_str normalized; mp_false
	mp_map 4; mp_str id; mp_str q0; mp_str video; mp_str v0; mp_str n; mp_int 1; mp_str x; mp_f32 3e38
} > "$d/tq1.mp"
refused "teacher-sim: 3e38 features" "query 'q0': a similarity overflows float32" \
	$B/teacher-sim -Q -v "$d/tv1.mp" -q "$d/tq1.mp"
# ids with a NUL, a tab, a newline (mp_str counts the bytes printf writes)
id_stream() {  # id_stream KIND ID: one raw student video or ranking item with that id
	mp_header video-features 1 5
	mp_str role; mp_str student; mp_str dim; mp_int 1; mp_str split; mp_str t; mp_str reduced; mp_false
	mp_str normalized; mp_false
	mp_map 3; mp_str id; mp_hex a3 61 "$1" 62; mp_str n; mp_int 1; mp_str x; mp_f32 1
}
id_stream 00 > "$d/nul.mp"
refused "feat-reduce: NUL byte in an id" "nul.mp: record 1: 'id': string contains a NUL byte" \
	$B/feat-reduce -q -i "$d/nul.mp"
for c in 09:tab 0a:newline; do
	{
		mp_header ranking 1 5
		mp_str videos; mp_arr 1; mp_str v0; mp_str k; mp_int 1; mp_str score; mp_str inh
		mp_str beta; mp_hex c0; mp_str split; mp_str t
		mp_map 5; mp_str id; mp_hex a3 61 "${c%%:*}" 62; mp_str video; mp_str v0
		mp_str rank; mp_int 1; mp_str top; mp_hex c4 04 00 00 00 00; mp_str topscore; mp_f32 1
	} > "$d/rk-${c#*:}.mp"
	refused "metrics -r: a ${c#*:} in an id" "record 1: 'id': a tab, newline, CR or NUL byte in an id" \
		$B/metrics -q -i "$d/rk-${c#*:}.mp" -r "$d/ranks.tsv"
done
[ -e "$d/ranks.tsv" ] && notok "metrics left ranks.tsv behind"

# ---- a make pipeline killed during training resumes that training (pipelines/experiments.mk)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=
for b in "$B"/*; do OLD="$OLD -o $b"; done
PM=(make -C "$ROOT" --no-print-directory $OLD DATASET=tvr SCALE=tiny SEED=1 EPOCHS=$E
	PATIENCE=$E JOBS=1 "TRAIN_OPTS=--hidden 16 --heads 2" "RESULTS=$d/res" "DATADIR=$d/data"
	"BINDIR=$B" "OBJ=$d/obj")
M=$d/res/models/tvr-tiny-d1/exp-s1-e$E
"${PM[@]}" "$M/ckpt.mp" > "$d/make0.log" 2>&1 || { notok "make (uninterrupted)"; tail "$d/make0.log"; }
mv "$M" "$d/ref"
setsid "${PM[@]}" "$M/ckpt.mp" > "$d/make1.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
	[ -f "$M/ckpt.mp.best" ] && [ -f "$M/log.mp.tmp" ] &&
		[ "$($B/prvr-cat "$M/log.mp.tmp" 2>/dev/null | grep -c '"type":"epoch"')" -ge 2 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
kill -TERM -- -$pid 2>/dev/null
wait $pid 2>/dev/null
if [ -e "$M/ckpt.mp" ] || [ ! -e "$M/ckpt.mp.best" ]; then
	notok "make was not killed during training (make it longer)"
else
	"${PM[@]}" "$M/ckpt.mp" > "$d/make2.log" 2>&1 || { notok "make after the kill"; tail "$d/make2.log"; }
	if grep -q "resumed from" "$d/make2.log" && cmp -s "$d/ref/ckpt.mp" "$M/ckpt.mp" &&
	   [ "$(strip "$d/ref/log.mp")" = "$(strip "$M/log.mp")" ]; then
		ok "make killed during training: resumed, same checkpoint and log as uninterrupted"
	else
		notok "make killed during training: $(grep -c "resumed from" "$d/make2.log") resumes; checkpoint or log differs"
	fi
fi

exit $fail
