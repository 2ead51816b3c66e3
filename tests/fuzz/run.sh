#!/bin/sh
# run.sh fuzz|check SECONDS NAME...: the libFuzzer harnesses FUZZ_OUT/bin/fuzz_NAME
# (tests/fuzz/fuzz.mk builds them), from seeds made by the tools in $BIN (seeds.sh).
#   fuzz   each harness SECONDS long, one after the other; the corpus grows in
#          FUZZ_OUT/corpus/NAME, inputs that crash, leak, time out or run out of memory land
#          in FUZZ_OUT/found/NAME, the log in FUZZ_OUT/log/NAME.log; one summary line each
#          (execs, cov, ft, corpus, found). With FUZZ_CPU_SECONDS=N in the environment a
#          harness runs until it has received N seconds of CPU instead (SECONDS is then no
#          limit): on a shared machine a wall hour is not an hour of fuzzing; FUZZ_TIMEOUT=N
#          (seconds, default 10) is libFuzzer's per-input timeout, a wall time: a legal input of
#          seconds of CPU under the sanitizers (prvr_cost at --dims 8,50000: 5 s) exceeds 10 s
#          on a machine where the fuzzer gets half a core or less
#   check  per harness two tests: the replay of every input of tests/fuzz/regress/NAME/ (each
#          must run clean) and a smoke of SECONDS from the seeds in a fresh corpus; prints
#          "N passed, N failed" as tests/run.sh does
# The harnesses' sanitizer options are in fuzz.c (allocations above 2 GiB fail); runs end at
# 2 GiB resident.
: "${BIN:=bin}" "${FUZZ_OUT:=build/fuzz}"
mode=$1 secs=$2
shift 2 || exit 1
here=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BIN" && pwd) || exit 1
export BIN
export UBSAN_OPTIONS=print_stacktrace=1
opts="-timeout=${FUZZ_TIMEOUT:-10} -rss_limit_mb=2048 -malloc_limit_mb=2048 -dict=$FUZZ_OUT/seeds/prvr.dict"
mkdir -p "$FUZZ_OUT/log" || exit 1
# the harnesses write their inputs and the tools' outputs (fsync'ed) there: memory if possible
TMPDIR=$(mktemp -d -p "$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")") || exit 1
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
"$here/seeds.sh" "$FUZZ_OUT/seeds" > "$FUZZ_OUT/log/seeds.log" 2>&1 ||
	{ cat "$FUZZ_OUT/log/seeds.log"; echo "run.sh: seeds.sh failed"; exit 1; }

# the last "#N DONE|pulse|NEW ... cov: C ft: F corp: N/S" line of a libFuzzer log, condensed
stats() {
	awk '/^#[0-9]+/ && / cov: / { line = $0 }
	     /^stat::number_of_executed_units:/ { execs = $2 }
	     END { split(line, w, " "); for (i = 1; i < length(w); i++) v[w[i]] = w[i + 1]
	           printf "execs %s, cov %s, ft %s, corpus %s", execs ? execs : substr(w[1], 2),
	                  v["cov:"], v["ft:"], v["corp:"] }' "$1"
}

# cpu_stop EXE N, in the background beside EXE run in the foreground (a background command of
# a script ignores SIGINT): SIGINT to that child of this shell (libFuzzer prints its final stats
# and exits) once it has had N seconds of CPU, user + system of all its threads; prints the CPU
# seconds it had
cpu_stop() {
	lim=$(($2 * $(getconf CLK_TCK))) used=0 pid= tries=0
	# a harness that ends within the first seconds (a finding in the seeds) is never seen
	while [ -z "$pid" ] && [ $tries -lt 30 ]; do
		sleep 1
		pid=$(pgrep -P $$ -f "^$1 " | head -n 1) tries=$((tries + 1))
	done
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		used=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || break
		[ "$used" -ge "$lim" ] && { kill -INT "$pid"; break; }
	done
	echo $((used / $(getconf CLK_TCK)))
}

# the regression inputs of a harness seed its runs too: some reach what no tool writes (vindex's
# sparse inverted lists)
regress_dir() { [ -d "$here/regress/$1" ] && echo "$here/regress/$1"; }

pass=0 fail=0
for h in "$@"; do
	exe=$FUZZ_OUT/bin/fuzz_$h
	log=$FUZZ_OUT/log/$h.log
	mkdir -p "$FUZZ_OUT/found/$h"
	case $mode in
	fuzz)
		mkdir -p "$FUZZ_OUT/corpus/$h"
		wall=$secs cpu=
		if [ -n "${FUZZ_CPU_SECONDS:-}" ]; then
			wall=0
			cpu_stop "$exe" "$FUZZ_CPU_SECONDS" > "$log.cpu" &
		fi
		# shellcheck disable=SC2046
		"$exe" $opts -max_total_time="$wall" -close_fd_mask=3 -print_final_stats=1 \
			-artifact_prefix="$FUZZ_OUT/found/$h/" "$FUZZ_OUT/corpus/$h" \
			"$FUZZ_OUT/seeds/$h" $(regress_dir "$h") > "$log" 2>&1
		rc=$?
		if [ -n "${FUZZ_CPU_SECONDS:-}" ]; then
			wait
			used=$(cat "$log.cpu")
			cpu=", cpu $used s"
			# the end asked for: libFuzzer's status when interrupted (72), or death by the SIGINT
			# where a tool's own handler (lib/util's, for its temporary files) took it first
			[ "$used" -ge "$FUZZ_CPU_SECONDS" ] && { [ $rc -eq 72 ] || [ $rc -eq 130 ]; } && rc=0
		fi
		# found: crashes, leaks, timeouts, out-of-memory; not the slow units libFuzzer also
		# writes there (the slowest input so far, which is no failure)
		echo "$h: $(stats "$log"), found $(grep -Ec '^artifact_prefix=.*Test unit written to .*/(crash|leak|timeout|oom)-' "$log")$cpu (exit $rc)"
		[ $rc -eq 0 ] && pass=$((pass + 1)) || fail=$((fail + 1))
		;;
	check)
		set -- "$here"/regress/"$h"/*
		if [ -e "$1" ]; then
			if "$exe" $opts "$@" > "$log" 2>&1; then
				pass=$((pass + 1))
				echo "PASS replay $h ($# inputs)"
			else
				fail=$((fail + 1))
				echo "FAIL replay $h"
				grep -v '^Running: \|^Executed ' "$log" | tail -n 40 | sed 's/^/    /'
			fi
		fi
		corpus=$(mktemp -d) || exit 1
		# shellcheck disable=SC2046
		if "$exe" $opts -max_total_time="$secs" -seed=1 -close_fd_mask=3 \
			-artifact_prefix="$FUZZ_OUT/found/$h/" "$corpus" "$FUZZ_OUT/seeds/$h" \
			$(regress_dir "$h") > "$log" 2>&1; then
			pass=$((pass + 1))
			echo "PASS smoke $h ($(stats "$log"))"
		else
			fail=$((fail + 1))
			echo "FAIL smoke $h (what it found: $FUZZ_OUT/found/$h/)"
			tail -n 40 "$log" | sed 's/^/    /'
		fi
		rm -rf "$corpus"
		;;
	*)
		echo "usage: run.sh fuzz|check SECONDS NAME..." >&2
		exit 1
		;;
	esac
done
[ "$mode" = check ] && echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
