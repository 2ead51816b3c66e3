#!/bin/bash
# bench_search: prvr-index / prvr-search at scale (make bench-search; never part of the tests).
#   (a) a synthetic encoded gallery of NV videos (prvr-gallery: TVR-like frame counts, clustered,
#       dim D) and NQ queries; the exact ranking (prvr-search -E on f32 codes = rank) of the first
#       NGT queries is the ground truth, and its queries/s at 1 and 2 threads the floor;
#   (b) per candidate structure, code and setting (SETTINGS below): build time, peak RSS of the
#       build, index bytes, queries/s at 1 and 2 threads over NQ queries (the search loop's, as
#       prvr-search reports it), peak RSS of the search, and recall@1/10/100 of the ranking
#       against the exact one (prvr-recall) over NGT queries;
#   (c) SumR (metrics) of rank and of prvr-search (sq8 codes, ivf -n 64 -p 32: half the lists;
#       -C and the rest at their defaults) on a trained model's test split (tvr-tiny world,
#       TRAIN_VIDEOS training and TEST_VIDEOS test videos);
#   (d) results/search/recall-qps.png: recall@100 against queries/s (gnuplot).
# Knobs (environment): NV (default 100000), NQ (10000), NGT (1000), D (384), J (2),
# OUT (the results' folder, default results/search: two runs at once need two),
# W (work directory, default $OUT/work; needs ~ NV x 300 KB free at D = 384, or with
# STREAM=1 only the indexes: the gallery is generated again into each build's pipe, never stored),
# SETTINGS (a file of settings, default the list below), SUMR=0 to skip (c), GALLERY=0 to skip
# (a), (b) and (d); GALLERY_ARGS, more prvr-gallery options (-a 12: a trained encoder's spectrum);
# EXACT=rank: the ground truth by rank -V (queries held, videos streamed: no f32 index, which
# would be 1536 B a frame and branch, 155 GB at a million videos), its queries a CPU-second
# (rank's own) the floor at 1 thread.
# Kept in W and reused by a later run: the gallery, the f32 index and the exact ranking, and each
# index (idx-<md5 of its prvr-index options>.idx with its build time and peak RSS in .t), so
# settings that differ only in prvr-search options share one build.
# Output: $OUT/table.tsv and .md, the plot; progress on stderr. Timings on a shared
# machine are noisy: compare rows of one run, against the exact floor of that run.
set -u
: "${BIN:=bin}" "${NV:=100000}" "${NQ:=10000}" "${NGT:=1000}" "${D:=384}" "${J:=2}"
: "${SUMR:=1}" "${TRAIN_VIDEOS:=1000}" "${TEST_VIDEOS:=3000}"
: "${OUT:=results/search}"
: "${W:=$OUT/work}"
mkdir -p "$OUT" "$W" || exit 1
log() { echo "bench_search: $*" >&2; }
# what W's gallery, queries and ground truth were made with: a W of other knobs is refused, not
# reused (its files would be taken for this gallery's)
knobs="NV=$NV NQ=$NQ NGT=$NGT D=$D GALLERY_ARGS=${GALLERY_ARGS:-} EXACT=${EXACT:-index}"
if [ -s "$W/knobs" ] && [ "$(cat "$W/knobs")" != "$knobs" ]; then
	log "$W holds another run's gallery ($(cat "$W/knobs")); give this one another W"; exit 1
fi
echo "$knobs" >"$W/knobs"
for t in prvr-index prvr-search prvr-gallery prvr-recall rank; do
	[ -x "$BIN/$t" ] || { log "no $BIN/$t (FAISS missing?)"; exit 1; }
done
export OMP_WAIT_POLICY=passive  # a shared machine: idle OpenMP threads must not spin

# timed OUTFILE CMD...: run CMD, append "wall_s peak_rss_kib" to OUTFILE
timed() { f=$1; shift; /usr/bin/time -f "%e %M" -a -o "$f" "$@"; }
last() { tail -n 1 "$1"; }
# searched OUTFILE CMD...: run prvr-search CMD, append "queries/s peak_rss_kib cpu_ms" to
# OUTFILE: the rate prvr-search reports for its search loop, after the index is mapped and
# checked (the CRC of every section, seconds at 100,000 videos, is not search time), and the
# CPU milliseconds a query of that loop (all threads; the wall rate is mostly other load's on a
# shared machine)
searched() {
	f=$1; shift
	/usr/bin/time -f "%M" -o "$W/rss" "$@" 2>"$W/err" || { cat "$W/err" >&2; return 1; }
	printf '%s %s %s\n' "$(sed -n 's/.*(\([0-9.]*\) queries\/s).*/\1/p' "$W/err")" \
		"$(cat "$W/rss")" "$(sed -n 's/.*, \([0-9.]*\) ms of CPU a query.*/\1/p' "$W/err")" >>"$f"
}
# gallery ARGS...: prvr-gallery of the benchmark's gallery with ARGS
# shellcheck disable=SC2086
gallery() { "$BIN"/prvr-gallery -Q -n "$NV" -d "$D" ${GALLERY_ARGS:-} "$@"; }
# videos CMD ARGS...: CMD ARGS reading the gallery (-v -) from stdin: the stored one, or
# (STREAM=1) a fresh generation of it through a pipe (the same bytes: the generator is a
# function of its knobs)
videos() {
	if [ "${STREAM:-0}" = 1 ]; then
		gallery -q 1 -o - -O /dev/null | "$@"
	else
		"$@" <"$W/v.mp"
	fi
}
export -f gallery videos
export BIN NV D W GALLERY_ARGS

T=$OUT/table.tsv
if [ "${GALLERY:-1}" = 1 ]; then
# ---- (a) gallery, ground truth, exact floor ----
if { [ "${STREAM:-0}" != 1 ] && [ ! -s "$W/v.mp" ]; } || [ ! -s "$W/q.mp" ] || [ ! -s "$W/gq.mp" ]; then
	log "gallery: $NV videos, $NQ queries, dim $D"
	v=$W/v.mp
	[ "${STREAM:-0}" = 1 ] && v=/dev/null
	gallery -q "$NQ" -o "$v" -O "$W/q.mp" || exit 1
	# the first NGT queries of the same stream (the generator is sequential)
	gallery -q "$NGT" -o /dev/null -O "$W/gq.mp" || exit 1
fi
: >"$W/t"
if [ "${EXACT:-index}" = rank ]; then
	exact_name="exact (rank -V)"
	if [ ! -s "$W/exact.mp" ] || [ ! -s "$W/exact.t" ]; then
		log "exact: rank -V -j 1 over $NGT queries, the videos streamed"
		# rank's own CPU, not the generator's: its wall is the pipe's pace
		videos /usr/bin/time -f "%U %S %M" -o "$W/exact.t" "$BIN"/rank -Q -j 1 -V -v - \
			-q "$W/gq.mp" -o "$W/exact.mp" || exit 1
	fi
	read -r u s exact_rss <"$W/exact.t"
	# queries a CPU-second, as -E's 1-thread rate is (its search loop is CPU-bound)
	q1=$(awk -v n="$NGT" -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", n / (u + s) }') q2=-
	c1=$(awk -v n="$NGT" -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", (u + s) * 1000 / n }')
	f32_bytes=0
else
	exact_name="exact (-E, f32)"
	if [ ! -s "$W/f32.idx" ]; then
		log "exact: f32 index"
		videos "$BIN"/prvr-index -v - -Q -j "$J" -o "$W/f32.idx" -c f32 -a ivf -n 16 || exit 1
	fi
	for j in 1 2; do
		log "exact: -E -j $j over $NGT queries"
		searched "$W/t" "$BIN"/prvr-search -j $j -E -x "$W/f32.idx" -q "$W/gq.mp" \
			-o "$W/exact.mp" || exit 1
	done
	q1=$(sed -n 1p "$W/t" | cut -d' ' -f1) q2=$(sed -n 2p "$W/t" | cut -d' ' -f1)
	c1=$(sed -n 1p "$W/t" | cut -d' ' -f3)
	exact_rss=$(last "$W/t" | cut -d' ' -f2)
	f32_bytes=$(stat -c %s "$W/f32.idx")
fi

# ---- (b) settings ----
# NAME <tab> prvr-index options <tab> prvr-search options
if [ -n "${SETTINGS:-}" ]; then cat "$SETTINGS"; else
	printf '%s\t%s\t%s\n' \
		ivf-sq8-n256-p2 "-c sq8 -a ivf -n 256" "-p 2" \
		ivf-sq8-n256-p4 "-c sq8 -a ivf -n 256" "-p 4" \
		ivf-sq8-n256-p8 "-c sq8 -a ivf -n 256" "-p 8" \
		ivf-sq8-n256-p16 "-c sq8 -a ivf -n 256" "-p 16" \
		ivf-sq8-n256-p8-C1000 "-c sq8 -a ivf -n 256" "-p 8 -C 1000"
fi >"$W/settings"

# r100_hw: the half-width of recall@100's 95 % interval over the NGT queries (prvr-recall)
printf 'setting\tbuild_s\tbuild_rss_mb\tindex_mb\tqps_j1\tqps_j2\tcpu_ms_j1\tsearch_rss_mb\tr1\tr10\tr100\tr100_hw\n' >"$T"
mb() { awk -v x="$1" -v u="$2" 'BEGIN { printf "%.0f", x / u }'; } # N UNIT: N / UNIT, rounded
printf '%s\t-\t-\t%s\t%s\t%s\t%s\t%s\t1\t1\t1\t0\n' "$exact_name" "$(mb "$f32_bytes" 1048576)" \
	"$q1" "$q2" "$c1" "$(mb "$exact_rss" 1024)" >>"$T"
while IFS=$'\t' read -r name iopt sopt; do
	[ -n "$name" ] || continue
	x=$W/idx-$(printf '%s' "$iopt" | md5sum | cut -c1-8).idx
	if [ ! -s "$x" ] || [ ! -s "$x.t" ]; then
		log "$name: build"
		rm -f "$x.t"
		# shellcheck disable=SC2086
		if ! timed "$x.t" bash -c 'videos "$BIN"/prvr-index -v - "$@"' videos -Q -j "$J" \
			-o "$x" $iopt; then
			log "$name: build failed"; continue
		fi
	fi
	read -r bs brss <"$x.t"
	ib=$(stat -c %s "$x")
	: >"$W/t"
	for j in 1 2; do
		log "$name: search -j $j"
		# shellcheck disable=SC2086
		searched "$W/t" "$BIN"/prvr-search -j $j -x "$x" -q "$W/q.mp" -o /dev/null $sopt ||
			log "$name: search failed"
	done
	s1=$(sed -n 1p "$W/t" | cut -d' ' -f1) s2=$(sed -n 2p "$W/t" | cut -d' ' -f1)
	sc1=$(sed -n 1p "$W/t" | cut -d' ' -f3)
	srss=$(sed -n 2p "$W/t" | cut -d' ' -f2)
	# shellcheck disable=SC2086
	"$BIN"/prvr-search -Q -j "$J" -x "$x" -q "$W/gq.mp" -o "$W/ap.mp" $sopt &&
		"$BIN"/prvr-recall -r "$W/exact.mp" -a "$W/ap.mp" >"$W/rec" || log "$name: recall failed"
	r() { awk -v k="recall@$1" -v c="${2:-2}" '$1 == k { print $c }' "$W/rec"; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$bs" \
		"$(mb "$brss" 1024)" "$(mb "$ib" 1048576)" \
		"$s1" "$s2" "$sc1" "$(mb "$srss" 1024)" \
		"$(r 1)" "$(r 10)" "$(r 100)" "$(r 100 3)" >>"$T"
done <"$W/settings"

fi

# ---- (c) SumR on a trained model's test split ----
if [ "$SUMR" = 1 ]; then
	C=$W/sumr
	mkdir -p "$C"
	log "SumR: tvr-tiny world, $TRAIN_VIDEOS train / $TEST_VIDEOS test videos"
	"$BIN"/prvr-synth -q -p tvr-tiny -s 5 --videos "$TRAIN_VIDEOS,60,$TEST_VIDEOS" -o "$C/c" &&
	for f in train-video-student train-query-student train-video-teacher train-query-teacher \
	         test-video-student test-query-student; do
		"$BIN"/feat-reduce -q -i "$C/c/$f.mp" -o "$C/r-$f.mp" || exit 1
	done &&
	"$BIN"/teacher-sim -Q -v "$C/r-train-video-teacher.mp" -q "$C/r-train-query-teacher.mp" \
		-o "$C/tau.mp" &&
	"$BIN"/distill-step -v "$C/r-train-video-student.mp" -q "$C/r-train-query-student.mp" \
		-t "$C/tau.mp" --hidden 64 --heads 4 --epochs 5 -j "$J" -o "$C/ck.mp" 2>/dev/null &&
	"$BIN"/encode-video -c "$C/ck.mp" -o "$C/ev.mp" <"$C/r-test-video-student.mp" 2>/dev/null &&
	"$BIN"/encode-text -c "$C/ck.mp" -o "$C/eq.mp" <"$C/r-test-query-student.mp" 2>/dev/null &&
	"$BIN"/rank -Q -j "$J" -v "$C/ev.mp" -q "$C/eq.mp" -o "$C/rank.mp" &&
	"$BIN"/prvr-index -Q -j "$J" -v "$C/ev.mp" -o "$C/x.idx" -n 64 -p 32 2>/dev/null &&
	"$BIN"/prvr-search -Q -j "$J" -x "$C/x.idx" -q "$C/eq.mp" -o "$C/search.mp" &&
	{ printf 'ranking\t'; "$BIN"/metrics -q -f tsv -i "$C/rank.mp" | head -n 1
	  for s in rank search; do
		printf '%s\t' "$s"
		"$BIN"/metrics -q -f tsv -i "$C/$s.mp" | tail -n 1
	  done; } >"$OUT/sumr.tsv" || log "SumR part failed"
fi

# ---- (d) plot and markdown ----
if [ "${GALLERY:-1}" = 1 ]; then
awk -F'\t' 'NR > 1 && $5 != "" { print $5, $11, $1 }' "$T" >"$W/plot.dat"
gnuplot <<EOF 2>/dev/null || log "gnuplot failed"
set terminal pngcairo size 800,500
set output "$OUT/recall-qps.png"
set xlabel "queries/s, 1 thread (log)"
set ylabel "recall@100 vs exact" noenhanced
set logscale x
set key off
set title "prvr-search: $NV synthetic videos, dim $D ${GALLERY_ARGS:-}"
plot "$W/plot.dat" using 1:2 with points pt 7, "" using 1:2:3 with labels offset 0,1 font ",8"
EOF
awk -F'\t' 'NR == 1 { h = "|"; s = "|"; for (i = 1; i <= NF; i++) { h = h " " $i " |"; s = s "---|" }
	print h; print s; next } { l = "|"; for (i = 1; i <= NF; i++) l = l " " $i " |"; print l }' \
	"$T" >"$OUT/table.md"
log "gallery $NV videos, dim $D, $NQ queries ($NGT for recall); machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$OUT/table.md"
fi
[ -s "$OUT/sumr.tsv" ] && cat "$OUT/sumr.tsv"
exit 0
