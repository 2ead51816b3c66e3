#!/bin/bash
# bench.sh: the speed benchmarks of prvr-tools, run by `make bench` (never part of the tests).
# One line per measurement: median wall seconds over BENCH_REPS runs, and where the work is
# known analytically, FLOP, GFLOP/s and the ratio of the time to its floor (FLOP / the machine's
# sgemm rate, measured here on a 4096 x 384 x 4096 problem with the same threads).
#   (a) encode-video, encode-text and rank at the TVR test scale (2,179 videos x 128 frames x
#       3072-d, 10,895 queries x 30 tokens x 768-d, both branches) on random reduced streams
#       and a randomly initialised checkpoint (tests/bench_rank.c), at each thread count of
#       BENCH_THREADS, each with the ratio to the floor at that count; with 1 and 2 threads, the
#       serial fraction by a wall-time Amdahl fit (s = 2 T(2) / T(1) - 1: meaningful on an idle
#       machine only) and the projected time at 16, 32 and 64 threads (projections); at 2 threads
#       and more, with perf installed, each tool's serial fraction from per-thread CPU time
#   (b) $TBIN/bench_step: training step at TVR and ActivityNet shapes, phase by phase (data,
#       forward, loss, backward, Adam) at each thread count, the serial fraction of each phase
#       from CPU time (valid on a shared machine too) and the projection at 16, 32, 64 threads
#   (b') tests/bench_torch.py: the same step in PyTorch beside bench_step, alternating, when a
#       python3 with torch is found (PYTHON, python3, /usr/bin/python3); skipped otherwise
#   (c) prvr-synth MB/s on tvr-small; metrics (and rank -s) on ActivityNet test-scale scores
#       (15,753 queries x 4,430 videos, two branches)
#   (d) $TBIN/bench_import (prvr-import at TVR scale x BENCH_IMPORT_SCALE, default 1) and any other
#       $TBIN/bench_* program, run without arguments
#   (e) tests/bench_mpi.sh: the data-parallel training step at the TVR shape under mpirun at
#       P = 1 and 2 ranks of 1 thread (time per step, bytes exchanged; doc/scale.md)
# Environment: BIN (tools, default bin), TBIN (bench_* programs, default obj/testbin),
# BENCH_REPS (default 3), BENCH_THREADS (thread counts,
# default "1 2"; (c) and (d) use the last), BENCH_QUICK=1 (a tenth of every size in (a) and (c),
# one step in (b), to try the script), BENCH_IMPORT_SCALE, BENCH_DIR (scratch; default a
# mktemp -d, removed at the end; (a) needs about 6 GB there).
set -u
: "${BIN:=bin}" "${TBIN:=obj/testbin}"
REPS=${BENCH_REPS:-3}
JS=${BENCH_THREADS:-1 2}
J=${JS##* }
if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W"
else
	W=$(mktemp -d)
	trap 'rm -rf "$W"' EXIT
fi
export OPENBLAS_NUM_THREADS=$J
# threads that wait sleep: bench_step's CPU-time serial fractions need it, and a shared machine
# needs it not to stall (doc/performance.md)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

NV=2179 L=128 DV=3072 NQ=10895 T=30 DT=768 D=384
ANQ=15753 ANV=4430
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	NV=218 NQ=1090 ANQ=1575 ANV=443
fi

say() { printf '%s\n' "$*"; }
calc() { awk "BEGIN { printf \"%s\", $1 }" 2>/dev/null; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# run "$@" BENCH_REPS times, each with stdin from $TIMED_IN (default /dev/null); sets SEC (median
# wall seconds) and RSS (max peak resident MiB); returns 1 (and prints the error) when a run fails
timed() {
	local i t0 t1 times="" rss=0 m
	for i in $(seq "$REPS"); do
		t0=$(date +%s.%N)
		if ! /usr/bin/time -f %M -o "$W/rss" "$@" <"${TIMED_IN:-/dev/null}" >"$W/stdout" 2>"$W/err"; then
			say "    FAILED: $* : $(grep -v '^Command exited' "$W/err" | tail -n 2 | tr '\n' ' ')"
			return 1
		fi
		t1=$(date +%s.%N)
		times="$times $(calc "$t1 - $t0")"
		m=$(tail -n 1 "$W/rss")
		[ "$m" -gt "$rss" ] && rss=$m
	done
	SEC=$(printf '%s\n' $times | median)
	RSS=$(calc "$rss / 1024")
	return 0
}

# NAME FLOP: one result line with rate and ratio to the sgemm floor
report() {
	local gf
	gf=$(calc "$2 / $SEC / 1e9")
	printf '%-34s %8.2f s  %8.1f GFLOP  %7.1f GFLOP/s  floor %7.2f s  ratio %5.2f  peak %6.0f MiB\n' \
		"$1" "$SEC" "$(calc "$2 / 1e9")" "$gf" "$(calc "$2 / $SGEMM / 1e9")" \
		"$(calc "$SEC * $SGEMM * 1e9 / $2")" "$RSS"
}

say "prvr-tools benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
say "median of $REPS runs, threads $JS (OpenMP and BLAS, one pool); scratch $W"

# ---- machine ----
if [ ! -x "$TBIN/bench_rank" ]; then
	say "no $TBIN/bench_rank: build with make bench"
	exit 1
fi
for j in $JS; do
	set -- $("$TBIN/bench_rank" sgemm 4096 384 4096 "$j" 10)
	eval "SGEMM_$j=$4"
	printf '%-34s %8.4f s  %8.1f GFLOP  %7.1f GFLOP/s  (best of 10: the floor rate at %d threads)\n' \
		"sgemm 4096x384x4096, -j $j" "$2" "$(calc "2 * 4096 * 384 * 4096 / 1e9")" "$4" "$j"
done

# NAME: with both SEC_1_NAME and SEC_2_NAME set, the Amdahl fit and the projections
amdahl() {
	local t1 t2 s
	eval "t1=\${SEC_1_$1:-} t2=\${SEC_2_$1:-}"
	[ -n "$t1" ] && [ -n "$t2" ] || return 0
	s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { s = 2 * b / a - 1; if (s < 0) s = 0; if (s > 1) s = 1; print s }')
	printf '%-34s serial fraction %.3f (Amdahl fit, 1 and 2 threads); projected 16: %.2f s, 32: %.2f s, 64: %.2f s\n' \
		"  $1" "$s" "$(calc "$t1 * ($s + (1 - $s) / 16)")" "$(calc "$t1 * ($s + (1 - $s) / 32)")" \
		"$(calc "$t1 * ($s + (1 - $s) / 64)")"
}

# NAME CMD...: at -j 2 and above, with perf installed, the serial fraction of CMD's CPU work from
# the CPU time of each of its threads (perf's task-clock per thread; stdin from $TIMED_IN): with
# threads that sleep while they wait, the main thread has S + P/n and the process S + P, so the
# fraction holds on a shared machine too (as bench_step's)
cpu_serial() {
	local name=$1
	shift
	command -v perf >/dev/null || return 0
	perf record -e task-clock -q -o "$W/perf.data" "$@" <"${TIMED_IN:-/dev/null}" >/dev/null 2>&1 || return 0
	perf report -i "$W/perf.data" --sort pid --stdio -F period,pid 2>/dev/null | grep -v '^#' | grep . |
		tr ':' ' ' | sort -k2,2n | awk -v name="$name" '
		{ p[NR] = $1 / 1e9; tot += $1 / 1e9 }
		END { if (NR < 2) exit; s = (NR * p[1] - tot) / (NR - 1); if (s < 0) s = 0
		      printf "%-34s serial fraction %.3f from CPU time (%d threads, %.2f CPU s; measured)\n", "  " name, s / tot, NR, tot }'
	rm -f "$W/perf.data"
}

# ---- (a) encode + rank at TVR test scale ----
say ""
say "(a) TVR test scale: $NV videos x $L frames x $DV-d, $NQ queries x $T tokens x $DT-d, 2 branches (d $D)"
set -- $("$TBIN/bench_rank" flops "$DV" "$DT" "$L" "$T")
FV=$2 FQ=$4
t0=$(date +%s.%N)
if "$TBIN/bench_rank" ckpt "$DV" "$DT" dual "$W/ckpt.mp" 2>"$W/err" &&
   "$TBIN/bench_rank" videos "$NV" "$L" "$DV" 1 >"$W/v.mp" &&
   "$TBIN/bench_rank" queries "$NQ" "$NV" "$T" "$DT" 2 >"$W/q.mp"; then
	printf '%-34s %8.2f s  (%s MB videos, %s MB queries; not part of any timing)\n' "inputs written" \
		"$(calc "$(date +%s.%N) - $t0")" "$(( $(wc -c <"$W/v.mp") / 1000000 ))" \
		"$(( $(wc -c <"$W/q.mp") / 1000000 ))"
	for j in $JS; do
		eval "SGEMM=\$SGEMM_$j"
		say "-j $j (floor: FLOP / $SGEMM GFLOP/s)"
		if TIMED_IN=$W/v.mp timed "$BIN/encode-video" -c "$W/ckpt.mp" -j "$j" -o "$W/ev.mp"; then
			report "encode-video -j $j" "$(calc "2 * $NV * $FV")"
			eval "SEC_${j}_encode_video=$SEC"
			[ "$j" -ge 2 ] && TIMED_IN=$W/v.mp cpu_serial encode-video "$BIN/encode-video" -c "$W/ckpt.mp" -j "$j" -o "$W/ev.mp"
		fi
		if TIMED_IN=$W/q.mp timed "$BIN/encode-text" -c "$W/ckpt.mp" -j "$j" -o "$W/eq.mp"; then
			report "encode-text -j $j" "$(calc "2 * $NQ * $FQ")"
			eval "SEC_${j}_encode_text=$SEC"
			[ "$j" -ge 2 ] && TIMED_IN=$W/q.mp cpu_serial encode-text "$BIN/encode-text" -c "$W/ckpt.mp" -j "$j" -o "$W/eq.mp"
		fi
		# scoring: one sgemm of every query with every frame per branch (max and top-k not counted)
		FR=$(calc "2 * 2 * $NQ * $NV * $L * $D")
		set -- $("$TBIN/bench_rank" cosmax "$NQ" "$NV" "$L" "$D" "$j")
		SEC=$2 RSS=0
		printf '%-34s %8.2f s  %8.1f GFLOP  %7.1f GFLOP/s  floor %7.2f s  ratio %5.2f  (one run, in memory)\n' \
			"score_cosmax, one branch, -j $j" "$SEC" "$(calc "$FR / 2e9")" "$4" "$(calc "$FR / 2 / $SGEMM / 1e9")" \
			"$(calc "$SEC * $SGEMM * 2e9 / $FR")"
		printf '%-34s %8s    sgemm of its shape (2048x384x1024) just after: %.1f GFLOP/s, kernel / sgemm %.2f\n' \
			"" "" "$6" "$(calc "$4 / $6")"
		if [ -s "$W/ev.mp" ] && [ -s "$W/eq.mp" ]; then
			if timed "$BIN/rank" -Q -j "$j" -v "$W/ev.mp" -q "$W/eq.mp" -o "$W/r.mp"; then
				report "rank (fused, top 100) -j $j" "$FR"
				eval "SEC_${j}_rank=$SEC"
				[ "$j" -ge 2 ] && cpu_serial rank "$BIN/rank" -Q -j "$j" -v "$W/ev.mp" -q "$W/eq.mp" -o "$W/r.mp"
			fi
			if timed "$BIN/rank" -Q -j "$j" -v "$W/ev.mp" -q "$W/eq.mp" -S -o "$W/s.mp"; then
				report "rank -S (both branches) -j $j" "$FR"
			fi
		fi
	done
	rm -f "$W/v.mp" "$W/q.mp"
	for x in encode_video encode_text rank; do
		amdahl $x
	done
	if [ -s "$W/ev.mp" ] && [ -s "$W/eq.mp" ]; then
		if timed "$BIN/rank" -Q -s "$W/s.mp" -o "$W/r2.mp"; then
			printf '%-34s %8.2f s  (%s MB scores stream)  peak %6.0f MiB\n' "rank -s (re-rank the scores)" \
				"$SEC" "$(( $(wc -c <"$W/s.mp") / 1000000 ))" "$RSS"
		fi
		if [ -s "$W/r.mp" ] && [ -s "$W/r2.mp" ]; then
			if [ "$("$BIN/metrics" -q -l x -f tsv <"$W/r.mp")" = "$("$BIN/metrics" -q -l x -f tsv <"$W/r2.mp")" ]; then
				say "    (rank -S | rank -s gives the metrics of the direct ranking)"
			else
				say "    WARNING: rank -s metrics differ from the direct ranking"
			fi
		fi
	fi
	rm -f "$W"/ev.mp "$W"/eq.mp "$W"/r.mp "$W"/r2.mp "$W"/s.mp
else
	say "    FAILED to write the inputs: $(tail -n 2 "$W/err" | tr '\n' ' ')"
fi

# ---- (b) training step ----
say ""
if [ -x "$TBIN/bench_step" ]; then
	say "(b) training step ($TBIN/bench_step)"
	if [ "${BENCH_QUICK:-0}" = 1 ]; then n=1; else n=$REPS; fi
	"$TBIN/bench_step" -p all -n "$n" -j "$(echo $JS | tr ' ' ,)" || say "    FAILED: bench_step exit $?"
else
	say "(b) training step: no $TBIN/bench_step (tests/bench_step.c not built yet)"
fi

# PyTorch beside it (not a project dependency: skipped without torch)
say ""
PY=
for p in ${PYTHON:-python3 /usr/bin/python3}; do
	if "$p" -c 'import torch' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	say "(b') PyTorch beside bench_step: skipped (no python3 with torch; set PYTHON)"
elif [ "${BENCH_QUICK:-0}" = 1 ]; then
	say "(b') PyTorch beside bench_step: skipped with BENCH_QUICK=1"
else
	say "(b') $(dirname "$0")/bench_torch.py"
	BENCH_REPS=$REPS BENCH_THREADS=$JS "$PY" "$(dirname "$0")/bench_torch.py" "$TBIN" ||
		say "    FAILED: bench_torch.py exit $?"
fi

# ---- (c) synthetic data and metrics ----
say ""
say "(c) data and metrics"
if timed "$BIN/prvr-synth" -p tvr-small -s 1 -q -o "$W/synth"; then
	MB=$(du -sb "$W/synth" | awk '{ print $1 / 1e6 }')
	printf '%-34s %8.2f s  %8.1f MB  %7.1f MB/s  peak %6.0f MiB\n' "prvr-synth -p tvr-small" \
		"$SEC" "$MB" "$(calc "$MB / $SEC")" "$RSS"
fi
rm -rf "$W/synth"
if "$TBIN/bench_rank" scores "$ANQ" "$ANV" 3 >"$W/an.mp"; then
	MB=$(calc "$(wc -c <"$W/an.mp") / 1e6")
	if timed "$BIN/metrics" -q -f tsv -i "$W/an.mp"; then
		printf '%-34s %8.2f s  %8.1f MB  %7.1f MB/s  peak %6.0f MiB\n' \
			"metrics, scores $ANQ x $ANV x 2" "$SEC" "$MB" "$(calc "$MB / $SEC")" "$RSS"
	fi
	if timed "$BIN/rank" -Q -s "$W/an.mp" -o "$W/anr.mp"; then
		printf '%-34s %8.2f s  %8.1f MB  %7.1f MB/s  peak %6.0f MiB\n' \
			"rank -s, scores $ANQ x $ANV x 2" "$SEC" "$MB" "$(calc "$MB / $SEC")" "$RSS"
	fi
	if timed "$BIN/metrics" -q -f tsv -i "$W/anr.mp"; then
		printf '%-34s %8.2f s\n' "metrics, ranking of $ANQ queries" "$SEC"
	fi
fi
rm -f "$W/an.mp" "$W/anr.mp"

# ---- (d) the other benchmark programs: bench_import, and any later bench_* ----
say ""
say "(d) other benchmarks"
if [ -x "$TBIN/bench_import" ]; then
	IS=${BENCH_IMPORT_SCALE:-1}
	[ "${BENCH_QUICK:-0}" = 1 ] && IS=${BENCH_IMPORT_SCALE:-0.1}
	say "bench_import -s $IS (prvr-import at the TVR scale x $IS)"
	"$TBIN/bench_import" -s "$IS" -d "$W" || say "    FAILED: bench_import exit $?"
fi
for b in "$TBIN"/bench_*; do
	case ${b##*/} in
	bench_rank | bench_step | bench_import | bench_mpi | 'bench_*') continue ;;
	esac
	[ -x "$b" ] || continue
	say "${b##*/}"
	"$b" || say "    FAILED: ${b##*/} exit $?"
done
say ""
say "(e) data-parallel training step under MPI (tests/bench_mpi.sh)"
TBIN=$TBIN "$(dirname "$0")/bench_mpi.sh"
BIN=$BIN BENCH_DIR=$W/scale BENCH_THREADS=$J "$(dirname "$0")/bench_scale.sh" || say "    FAILED: bench_scale.sh exit $?"
