#!/bin/sh
# Run each test program or script given as an argument; each counts as one test.
# Output of a failing test is shown; the last line is "N passed, N failed".
# BIN (directory of the tools under test) and TBIN (of the test programs, some of which the
# scripts use as generators) are passed on to the scripts.
: "${BIN:=bin}" "${TBIN:=obj/testbin}"
BIN=$(cd "$BIN" && pwd) || exit 1     # absolute: scripts may cd into temporary directories
TBIN=$(cd "$TBIN" && pwd) || exit 1
export BIN TBIN
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	start=$(date +%s)
	if "$t" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $t ($(( $(date +%s) - start ))s)"
		grep '^SKIP ' "$log" | sed 's/^/    /'     # a test that could not run here says so
	else
		fail=$((fail + 1))
		echo "FAIL $t"
		sed 's/^/    /' "$log" | tail -n 40
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
