# mpbytes.sh: write tiny msgpack streams byte by byte, and read fields back out of a stream's hex
# dump, for hand-checkable shell tests (sourced by tests/test_rank.sh, tests/test_teacher_sim.sh).
# Only what those tests need: fix-size maps/arrays/strings (< 16 pairs, < 32 bytes), ints < 2^16,
# bins of float32 from a table of exactly representable values. Not a msgpack library. bash only.
# Also a test's set-up (mp_test_begin) and verdicts (ok, notok, expect, bad), over the globals
# $BIN, $d and $fail.

# raw bytes given as hex pairs
mp_hex() { for x in "$@"; do printf "\\x$x"; done; }
mp_map() { mp_hex "$(printf %02x $((0x80 + $1)))"; }
mp_arr() { mp_hex "$(printf %02x $((0x90 + $1)))"; }
mp_str() { mp_hex "$(printf %02x $((0xa0 + ${#1})))"; printf '%s' "$1"; }
# non-negative int < 65536
mp_int() {
	if [ "$1" -lt 128 ]; then mp_hex "$(printf %02x "$1")"
	else mp_hex cd "$(printf %02x $(($1 >> 8)))" "$(printf %02x $(($1 & 255)))"; fi
}
mp_true() { mp_hex c3; }
mp_false() { mp_hex c2; }
# little-endian float32 of the values in the table (nan: a quiet NaN)
mp_f32hex() {
	case $1 in
	0) echo 00 00 00 00 ;;   1) echo 00 00 80 3f ;;  -1) echo 00 00 80 bf ;;
	2) echo 00 00 00 40 ;;  -2) echo 00 00 00 c0 ;;   3) echo 00 00 40 40 ;;
	0.5) echo 00 00 00 3f ;; 4) echo 00 00 80 40 ;; nan) echo 00 00 c0 7f ;;
	*) echo "mp_f32hex: no entry for $1" >&2; exit 2 ;;
	esac
}
# bin8 of float32 values
mp_f32() {
	mp_hex c4 "$(printf %02x $((4 * $#)))"
	for v in "$@"; do
		# shellcheck disable=SC2046
		mp_hex $(mp_f32hex "$v")
	done
}
# a header map: kind, count, then nextra pairs written by the caller
mp_header() {
	mp_map $((5 + $3))
	mp_str magic; mp_str prvr
	mp_str version; mp_int 1
	mp_str kind; mp_str "$1"
	mp_str count; mp_int "$2"
	mp_str cmd; mp_str test
}

# hex dump as one line of space-separated pairs
mp_dump() { od -An -v -tx1 "$1" | tr '\n' ' ' | tr -s ' '; }
# the values of KEY in every map of the stream, one line per occurrence: mp_field FILE KEY MODE
#   MODE int: a non-negative int; i32: a bin of int32, printed comma-separated; hex: a bin's bytes
mp_field() {
	mp_dump "$1" | awk -v key="$2" -v mode="$3" '
	function hv(h) { return (index(H, substr(h, 1, 1)) - 1) * 16 + index(H, substr(h, 2, 1)) - 1 }
	BEGIN { H = "0123456789abcdef"; kl = length(key); for (c = 32; c < 127; c++) ord[sprintf("%c", c)] = c }
	{
		n = split($0, t, " ")
		for (i = 1; i + kl + 1 <= n; i++) {
			if (hv(t[i]) != 160 + kl)
				continue
			ok = 1
			for (j = 1; j <= kl && ok; j++)
				ok = hv(t[i + j]) == ord[substr(key, j, 1)]
			if (!ok)
				continue
			j = i + kl + 1
			if (mode == "int") {
				b = hv(t[j])
				if (b < 128) print b
				else if (t[j] == "cc") print hv(t[j + 1])
				else if (t[j] == "cd") print hv(t[j + 1]) * 256 + hv(t[j + 2])
				else print "?"
				continue
			}
			# bin8 or bin16 (a top list of 64 or more): its length, where its bytes start
			if (t[j] == "c4") {
				len = hv(t[j + 1]); at = j + 2
			} else if (t[j] == "c5") {
				len = hv(t[j + 1]) * 256 + hv(t[j + 2]); at = j + 3
			} else
				continue        # e.g. the key as a string in a header array
			s = ""
			if (mode == "hex") {
				for (b = 0; b < len; b++) s = s (b ? " " : "") t[at + b]
			} else {
				for (b = 0; b < len; b += 4) {
					p = at + b
					v = hv(t[p]) + 256 * hv(t[p + 1]) + 65536 * hv(t[p + 2])
					s = s (b ? "," : "") v
				}
			}
			print s
			i = at - 1 + len
		}
	}'
}

# ---- a test's state: BIN (default bin), a temporary directory $d removed on exit, fail=0
# shellcheck disable=SC2034 # fail: read by the sourcing test
mp_test_begin() {
	: "${BIN:=bin}"
	d=$(mktemp -d)
	trap 'rm -rf "$d"' EXIT
	fail=0
}

# ---- verdicts: print OK / NOT OK lines; notok sets the caller's fail=1
ok() { echo "OK $1"; }
# shellcheck disable=SC2034
notok() { echo "NOT OK $1"; fail=1; }
expect() { # NAME GOT WANT
	if [ -n "$3" ] && [ "$2" = "$3" ]; then ok "$1"; else notok "$1: got [$2] want [$3]"; fi
}
# bad TOOL NAME ARGS...: "$BIN"/TOOL -Q ARGS -o "$d/out.mp" must exit 1 with exactly one line on
# stderr (kept in "$d/err") and leave no "$d"/out.mp* behind
bad() {
	tool=$1 name=$2; shift 2
	rm -f "$d"/out.mp*
	# die() exits without freeing by design: no leak reports on these paths under ASan
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		"$BIN/$tool" -Q "$@" -o "$d/out.mp" 2>"$d/err"
	rc=$?
	lines=$(wc -l <"$d/err")
	if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && ! ls "$d"/out.mp* >/dev/null 2>&1; then
		ok "bad: $name ($(cat "$d/err"))"
	else
		notok "bad: $name: exit $rc, $lines lines: $(head -c 300 "$d/err")"
	fi
}
