#!/bin/sh
# test_synth: prvr-synth end to end. --help; determinism (same seed -> byte-identical files,
# different seed -> different); the directory's consistency (test_synth_world DIR: headers,
# counts, ids, alignment, moments, teacher sanity; prvr-cat -c when present); knobs reach the
# output; bad presets and bad knobs exit 1 leaving no files; -z output reads the same.
set -u
: "${BIN:=bin}" "${TBIN:=obj/testbin}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fail=1; }
S="$BIN/prvr-synth"
FILES="corpus.mp"
for s in train val test; do
	for f in video-student video-teacher query-student query-teacher; do
		FILES="$FILES $s-$f.mp"
	done
done

# --help: usage on stdout, exit 0
if "$S" --help >"$T/help" 2>"$T/err" && grep -q "usage: " "$T/help" && grep -q -- "--gap" "$T/help" &&
   [ ! -s "$T/err" ]; then ok "--help"; else bad "--help"; fi
"$S" -h >/dev/null 2>&1 && ok "-h" || bad "-h"

# determinism: the header records the command line, so both runs use the same relative -o
mkdir "$T/a" "$T/b" "$T/c"
(cd "$T/a" && "$S" -q -p tvr-tiny -s 7 -o out) || bad "run a"
(cd "$T/b" && "$S" -q -p tvr-tiny -s 7 -o out) || bad "run b"
(cd "$T/c" && "$S" -q -p tvr-tiny -s 8 -o out) || bad "run c"
same=1 differ=1
for f in $FILES; do
	[ -s "$T/a/out/$f" ] || { bad "missing $f"; continue; }
	cmp -s "$T/a/out/$f" "$T/b/out/$f" || same=0
	[ "$f" = corpus.mp ] && continue   # the corpus header differs only in seed, items may agree
	cmp -s "$T/a/out/$f" "$T/c/out/$f" && differ=0
done
[ $same = 1 ] && ok "same seed: identical files" || bad "same seed: files differ"
[ $differ = 1 ] && ok "different seed: different features" || bad "different seed: some file identical"
[ "$(ls "$T/a/out" | wc -l)" -eq 13 ] && ok "13 files, no temporaries" || bad "files: $(ls "$T/a/out")"

# consistency and world checks on the tool's own output
if "$TBIN/test_synth_world" "$T/a/out" >"$T/log" 2>&1; then ok "test_synth_world DIR"; else
	cat "$T/log"; bad "test_synth_world DIR"; fi
if [ -x "$BIN/prvr-cat" ]; then
	for f in $FILES; do
		"$BIN/prvr-cat" -c "$T/a/out/$f" 2>"$T/err" || { cat "$T/err"; bad "prvr-cat -c $f"; }
	done
	ok "prvr-cat -c on every file"
	# counts in the headers (hand-computed: 60/30/30 videos, 5 queries each)
	"$BIN/prvr-cat" -n 0 "$T/a/out/corpus.mp" >"$T/h" 2>/dev/null
	grep -q '"count":600' "$T/h" && grep -q '"train":{"videos":60,"queries":300}' "$T/h" &&
	grep -q '"test":{"videos":30,"queries":150}' "$T/h" && ok "corpus header counts" || bad "corpus header: $(cat "$T/h")"
	"$BIN/prvr-cat" -n 0 "$T/a/out/val-query-teacher.mp" >"$T/h" 2>/dev/null
	grep -q '"count":150' "$T/h" && grep -q '"role":"teacher"' "$T/h" && grep -q '"dim":32' "$T/h" &&
	grep -q '"reduced":false' "$T/h" && grep -q '"normalized":false' "$T/h" &&
	ok "feature header" || bad "feature header: $(cat "$T/h")"
fi

# knobs override the preset: sizes and dims (checked by test_synth_world through the headers)
mkdir "$T/k"
if "$S" -q -p charades-tiny -o "$T/k/out" --videos 7,3,4 --queries 2.5 --dims 20,12,8 \
	--frames 200 --moment 0.5 --concepts 3 --gap 0 --teacher-noise 0 &&
   "$TBIN/test_synth_world" -c "$T/k/out" >"$T/log" 2>&1 &&
   grep -q "charades-tiny train: 7 videos, 18 queries" "$T/log" &&
   grep -q "charades-tiny test: 4 videos, 10 queries" "$T/log"; then ok "knobs"; else
	cat "$T/log"; bad "knobs"; fi

# unknown preset: exit 1, a message naming it, no directory, nothing on stdout
if "$S" -p tvr-huge -o "$T/u" >"$T/out" 2>"$T/err"; then bad "unknown preset exits 0"; else
	grep -q "tvr-huge" "$T/err" && [ ! -e "$T/u" ] && [ ! -s "$T/out" ] && ok "unknown preset" ||
	bad "unknown preset: $(cat "$T/err")"; fi
# bad knob values and usage errors: exit 1, nothing written
for args in "-p tvr-tiny -o $T/u --gap 1.5" "-p tvr-tiny -o $T/u --videos 3,2" "-p tvr-tiny -o $T/u -s x" \
	"-p tvr-tiny -o $T/u --queries 0.5" "-p tvr-tiny" "-o $T/u" "-p tvr-tiny -o $T/u extra" \
	"-p tvr-tiny -o $T/u --frames-min 9 --frames-max 8" "-p tvr-tiny -o $T/u --no-such-knob 1"; do
	if "$S" $args >"$T/out" 2>"$T/err"; then bad "exit 0: $args"
	elif [ -e "$T/u" ] || [ -s "$T/out" ] || [ ! -s "$T/err" ]; then bad "leftovers or no message: $args"
	else ok "rejects: $args"; fi
done
# -o naming a file: exit 1
: >"$T/file"
"$S" -q -p tvr-tiny -o "$T/file" 2>/dev/null && bad "-o FILE accepted" || ok "-o FILE rejected"

# -z: gzip files that read back to the same content (the reader is transparent)
if (cd "$T/a" && "$S" -q -p tvr-tiny -s 7 -z -o outz) && "$TBIN/test_synth_world" "$T/a/outz" >/dev/null 2>&1 &&
   [ "$(od -An -tx1 -N2 "$T/a/outz/test-video-student.mp" | tr -d ' ')" = 1f8b ]; then ok "-z"; else bad "-z"; fi

exit $fail
