#!/bin/sh
# test_install: the common skeleton of every tool and `make install`. Every built tool answers
# --version (one line "TOOL VERSION", exit 0) and --help (usage on stdout, nothing on stderr,
# exit 0), and a usage error (an unknown long or short option) with exactly one line on stderr
# naming the option and 'TOOL --help', nothing on stdout, exit 1; a number out of range names
# its flag; every tool has a man page.
# `make install DESTDIR=... PREFIX=/usr` puts the tools under test (never rebuilt: make -o) and
# their man pages in place, the installed tools run, MANPREFIX moves the pages, uninstall
# removes them; without HDF5 the build plans everything but prvr-import and says so in one line.
set -u
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fail=1; }

tools=
for b in "$BIN"/*; do [ -x "$b" ] && tools="$tools ${b##*/}"; done
[ -n "$tools" ] || { echo "NOT OK no tools in $BIN"; exit 1; }

# ---- the skeleton ----
for t in $tools; do
	if "$BIN/$t" --version >"$T/out" 2>"$T/err" && [ "$(wc -l <"$T/out")" = 1 ] &&
	   grep -q "^$t [^ ]" "$T/out" && [ ! -s "$T/err" ]; then
		ok "$t --version"
	else
		bad "$t --version: $(cat "$T/out" "$T/err")"
	fi
	if "$BIN/$t" --help >"$T/out" 2>"$T/err" && grep -q "usage: $t" "$T/out" && [ ! -s "$T/err" ]; then
		ok "$t --help"
	else
		bad "$t --help"
	fi
	for o in --no-such-option -Z; do
		"$BIN/$t" $o </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		if [ $rc = 1 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" = 1 ] &&
		   grep -q -- "^$t: option '$o' is unknown; try '$t --help'\$" "$T/err"; then
			ok "$t $o: one line, exit 1"
		else
			bad "$t $o: exit $rc, stderr: $(head -n 3 "$T/err")"
		fi
	done
	[ -f "$ROOT/man/$t.1" ] && ok "man/$t.1" || bad "no man/$t.1"
done
# a number out of range names its flag
"$BIN/rank" -k 0 -v x -q y 2>"$T/err" >/dev/null
[ $? = 1 ] && grep -q "^rank: -k '0': out of range" "$T/err" && ok "range error names the flag" ||
	bad "range error: $(cat "$T/err")"
for s in "$ROOT"/tools/*.c; do
	t=${s##*/}; t=${t%.c}
	[ -f "$ROOT/man/$t.1" ] || bad "tools/$t.c has no man/$t.1"
done

# ---- make install / uninstall, with the binaries under test ----
OLD=
for b in "$BIN"/*; do OLD="$OLD -o $b"; done
imake() { make -C "$ROOT" --no-print-directory $OLD BINDIR="$BIN" OBJ="$T/obj" "$@"; }
D=$T/dest
if imake install DESTDIR="$D" PREFIX=/usr >"$T/log" 2>&1; then
	ok "make install DESTDIR PREFIX=/usr"
else
	bad "make install"; tail -n 5 "$T/log"
fi
for t in $tools; do
	[ -x "$D/usr/bin/$t" ] && [ -f "$D/usr/share/man/man1/$t.1" ] || bad "$t or its man page not installed"
done
v=$("$D/usr/bin/rank" --version) && [ "$v" = "$("$BIN/rank" --version)" ] &&
	ok "installed rank runs: $v" || bad "installed rank --version"
imake install DESTDIR="$T/d2" PREFIX=/opt/p MANPREFIX=/opt/m >"$T/log" 2>&1 &&
	[ -x "$T/d2/opt/p/bin/metrics" ] && [ -f "$T/d2/opt/m/man1/metrics.1" ] &&
	ok "MANPREFIX" || bad "install with MANPREFIX"
imake uninstall DESTDIR="$D" PREFIX=/usr >"$T/log" 2>&1 &&
	[ -z "$(find "$D" -type f)" ] && ok "make uninstall removes every file" || bad "uninstall left files"

# ---- without HDF5: everything but prvr-import, one line saying so ----
env -u HAVE_HDF5 -u MAKEFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory -n OUT="$T/nohdf5" \
	HDF5_CFLAGS= HDF5_LIBS=-lno-such-hdf5 build "$T/nohdf5/obj/testbin/test_mpio" >"$T/log" 2>&1
if [ "$(grep -c 'HDF5 not found' "$T/log")" = 1 ] && ! grep -v 'HDF5 not found' "$T/log" | grep -q 'prvr-import\|test_import' &&
   grep -q "bin/rank " "$T/log" && grep -q 'testbin/test_mpio ' "$T/log"; then
	ok "no HDF5: builds the rest, one line"
else
	bad "no HDF5 build plan"; head -n 5 "$T/log"
fi
exit $fail
