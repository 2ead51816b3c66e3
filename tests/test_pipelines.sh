#!/bin/bash
# test_pipelines: the experiment pipelines (pipelines/*.mk) end to end at SCALE=tiny with a
# reduced student (TRAIN_OPTS) and two epochs, into a temporary results and data directory,
# with the tools under test ($BIN, never rebuilt: make -o). Checks that every table and figure
# is produced with the right rows and columns and sane values (mean ± sd over SEEDS, each
# ablation row's paired SumR difference to its reference row inside its interval, equal to the
# difference of the rows' means), that models shared between
# experiments give the same numbers everywhere, that the β sweep (scores -> metrics) agrees with
# the direct rank -> metrics run, that the analytic FLOPs match a hand count from the
# architecture, that a second make retrains nothing, and that a failing step leaves no
# finished-looking file. PRVR_SANITIZED=1 runs a smaller part (main and beta-sweep, one seed).
set -u
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
[ -n "${KEEP_TMP:-}" ] || trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "OK $*"; }
bad() { echo "NOT OK $*"; fail=1; }

# make with the binaries under test taken as they are (-o: never remade; OBJ: no object tree)
OLD=
for b in "$BIN"/*; do OLD="$OLD -o $b"; done
if [ "${PRVR_SANITIZED:-0}" = 1 ]; then
	SEEDS="1"; TARGETS="main beta-sweep"
else
	SEEDS="1 2"; TARGETS="main kd-kind beta-sweep branches schedule cost plusplus t2vr"
fi
KNOBS=(DATASET=tvr SCALE=tiny "SEEDS=$SEEDS" SEED=1 EPOCHS=2 JOBS=1 "TRAIN_OPTS=--hidden 32 --heads 2" RESAMPLES=2000
	COST_BATCH=8 COST_STEPS=1 "PP_ROWS=dl-dkd:dldkd dl-dkd-soft:soft dl-dkd++:dldkdpp"
	"T2VR_OPTS=--hidden 16 --filters 16 --dim 32 --batch 16 --lr 1e-3"
	"RESULTS=$T/res" "DATADIR=$T/data" "BINDIR=$BIN" "OBJ=$T/obj")
pmake() { make -C "$ROOT" --no-print-directory $OLD "${KNOBS[@]}" "$@"; }

if pmake -j2 $TARGETS > "$T/make.log" 2>&1; then
	ok "make $TARGETS"
else
	bad "make $TARGETS"; tail -n 30 "$T/make.log"; exit 1
fi
R=$T/res
M=$R/models/tvr-tiny-d1

# ---- files: every table and figure, PNGs that are PNGs ----
want="main/tvr-tiny/main.md main/tvr-tiny/main.tsv main/tvr-tiny/curves.png
beta-sweep/tvr-tiny/beta-sweep.md beta-sweep/tvr-tiny/beta-sweep.tsv beta-sweep/tvr-tiny/beta-sweep.png"
[ "${PRVR_SANITIZED:-0}" = 1 ] || want="$want
kd-kind/tvr-tiny/kd-kind.md kd-kind/tvr-tiny/kd-kind.tsv kd-kind/tvr-tiny/kd-kind.png
branches/tvr-tiny/branches.md branches/tvr-tiny/branches.tsv branches/tvr-tiny/branches.png
schedule/tvr-tiny/schedule.md schedule/tvr-tiny/schedule.tsv schedule/tvr-tiny/schedule.png
cost/tvr-tiny/cost.md cost/tvr-tiny/cost.tsv
plusplus/tvr-tiny/plusplus.md plusplus/tvr-tiny/plusplus.tsv
t2vr/msrvtt-tiny/t2vr.md t2vr/msrvtt-tiny/t2vr.tsv"
for f in $want; do
	if [ ! -s "$R/$f" ]; then bad "missing $f"; continue; fi
	case $f in
	*.png) [ "$(head -c 8 "$R/$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$R/$f")" -gt 5000 ] && ok "$f is a PNG" || bad "$f is not a PNG" ;;
	*.md) grep -q '^### ' "$R/$f" && grep -q '^|' "$R/$f" && ok "$f has a table" || bad "$f: no table" ;;
	*.tsv) grep -q '^# git: ' "$R/$f" && grep -q '^# seeds: ' "$R/$f" && grep -q '^# epochs: ' "$R/$f" &&
		grep -q '^# data: ' "$R/$f" && ok "$f records seeds, data, epochs, git" || bad "$f: provenance" ;;
	esac
done
[ -z "$(find "$R" "$T/data" -name '*.tmp' -o -name '*.tmp.*')" ] && ok "no temporary files left" ||
	bad "temporary files left: $(find "$R" "$T/data" -name '*.tmp')"

# ---- a results table: rows in order, 25 columns, metrics sane ----
# check_table FILE "row1 row2 ..." RUNS: R@K in [0,100] and nondecreasing in K, SumR their sum
check_table() {
	awk -F'\t' -v rows="$2" -v runs="$3" '
	/^#/ { next }
	$1 == "dataset" { if (NF != 25 || $4 != "r1" || $8 != "sumr" || $20 != "paper_sumr" || $21 != "ref" ||
		$25 != "p_sumr") { print "header: " $0; e = 1 } next }
	{
		n++
		if (NF != 25) { print "row " n ": " NF " columns"; e = 1 }
		got = got (got == "" ? "" : " ") $2
		for (i = 4; i <= 7; i++) if ($i < 0 || $i > 100) { print $2 ": R column " i " = " $i; e = 1 }
		if (!($4 <= $5 && $5 <= $6 && $6 <= $7)) { print $2 ": R@K decreasing"; e = 1 }
		d = $4 + $5 + $6 + $7 - $8; if (d > 0.05 || d < -0.05) { print $2 ": SumR is not the sum"; e = 1 }
		if ($2 != "teacher" && runs != "" && $3 != runs) { print $2 ": " $3 " runs, expected " runs; e = 1 }
	}
	END { if (got != rows) { print "rows: " got " expected " rows; e = 1 } exit e }' "$1"
}
tsv_value() { # FILE ROW COLUMN-NAME
	awk -F'\t' -v row="$2" -v c="$3" '/^#/ { next } $1 == "dataset" { for (i = 1; i <= NF; i++) k[$i] = i; next }
		$2 == row { print $(k[c]) }' "$1"
}
model_sumr() { awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "sumr") c = i } NR == 2 { print $c }' "$1"; }
# check_diffs FILE REF: every other row names REF and holds its SumR minus REF's (the means over
# seeds) inside a 95 % interval with 0 < p <= 1, the sd is a number when there are several runs;
# the reference row has none, and the Markdown shows the column and the reference
check_diffs() {
	awk -F'\t' -v ref="$2" -v runs="$3" '/^#/ || $1 == "dataset" { next } { sumr[$2] = $8; line[$2] = $0; n++ }
	END {
		if (!(ref in sumr)) { print "no row " ref; exit 1 }
		for (r in line) {
			split(line[r], f, "\t")
			if (runs > 1 && r != "teacher" && f[13] !~ /^[0-9.]+$/) { print r ": sd " f[13]; e = 1 }
			if (r == ref) { if (f[21] f[22] f[25] != "---") { print r ": the reference has a difference"; e = 1 } continue }
			d = f[22] - (sumr[r] - sumr[ref])
			if (f[21] != ref || d > 0.02 || d < -0.02) { print r ": d_sumr " f[22] " vs " sumr[r] " - " sumr[ref]; e = 1 }
			if (!(f[23] <= f[22] && f[22] <= f[24] && f[25] > 0 && f[25] <= 1)) { print r ": interval or p: " f[23] " " f[24] " " f[25]; e = 1 }
		}
		exit e
	}' "$1" && grep -q '| Δ SumR vs reference \[95 % CI\], p |' "${1%.tsv}.md" && grep -q '| (reference) |' "${1%.tsv}.md" &&
		grep -q '| [+-][0-9.]* \[[+-][0-9.]*, [+-][0-9.]*\], p [0-9.e-]* |' "${1%.tsv}.md"
}
same() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 0.01 && d > -0.01) }'; }
nseeds=$(echo $SEEDS | wc -w)

f=$R/main/tvr-tiny/main.tsv
check_table "$f" "teacher exploration inheritance dl-dkd" "$nseeds" && ok "main rows and values" || bad "main table"
check_diffs "$f" dl-dkd "$nseeds" && ok "main: paired differences to DL-DKD with intervals" || bad "main: differences"
[ "$(tsv_value "$f" dl-dkd paper_sumr)" = 179.9 ] && [ "$(tsv_value "$f" exploration paper_sumr)" = 172.4 ] &&
	ok "main: paper numbers beside" || bad "main: paper numbers"
# the teacher ranks 30 test videos; chance: R@K = 100 K / 30 for K < 30, so SumR = 153.3
chance=$(awk 'BEGIN { n = 30; printf "%.2f", 100 * (1 + 5 + 10) / n + 100 }')
awk -v t="$(tsv_value "$f" teacher sumr)" -v c="$chance" 'BEGIN { exit !(t > c) }' &&
	ok "teacher above chance" || bad "teacher SumR $(tsv_value "$f" teacher sumr) <= chance $chance"
if [ "$nseeds" -gt 1 ]; then
	a=$(model_sumr "$M/dldkd-s1-e2/test.tsv") b=$(model_sumr "$M/dldkd-s2-e2/test.tsv")
	mean=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (a + b) / 2 }')
	same "$mean" "$(tsv_value "$f" dl-dkd sumr)" && ok "main: mean over seeds" || bad "main: mean $mean"
fi
[ "$(grep -c '^[0-9]' "$M/dldkd-s1-e2/curves.tsv")" = 2 ] && ok "curves: one line per epoch" || bad "curves lines"

# ---- the β sweep: 11 βs; at β = 0.3 it equals rank -> metrics of the same model ----
f=$R/beta-sweep/tvr-tiny/beta-sweep.tsv
betas=$(awk -F'\t' '!/^#/ && $1 != "dataset" { printf "%s ", $3 }' "$f")
[ "$betas" = "0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 " ] && ok "beta-sweep: 11 βs" || bad "beta-sweep βs: $betas"
s03=$(awk -F'\t' '$3 == "0.3" { print $8 }' "$f")
main03=$(tsv_value "$R/main/tvr-tiny/main.tsv" dl-dkd sumr)
same "$s03" "$main03" && ok "beta-sweep at 0.3 (mean over seeds) = rank -b 0.3 | metrics (main)" ||
	bad "beta-sweep at 0.3: $s03 vs $main03"
awk -F'\t' -v n="$nseeds" '!/^#/ && $1 != "dataset" { if (NF != 19 || $13 != n || (n > 1) != ($14 != "-")) e = 1 } END { exit e }' "$f" &&
	ok "beta-sweep: runs and sd columns" || bad "beta-sweep: runs and sd columns"
awk -F'\t' '!/^#/ && $1 != "dataset" { if ($8 < 0 || $8 > 400 || $4 > $5 || $7 > 100) e = 1 } END { exit e }' "$f" &&
	ok "beta-sweep values sane" || bad "beta-sweep values"
grep -q 'best β = ' "$R/beta-sweep/tvr-tiny/beta-sweep.md" && ok "beta-sweep checks printed" || bad "beta-sweep checks"

if [ "${PRVR_SANITIZED:-0}" != 1 ]; then
	# ---- shared models: same numbers wherever they appear ----
	f=$R/kd-kind/tvr-tiny/kd-kind.tsv
	check_table "$f" "sim-mse sim-kl feat-mse feat-kl" "$nseeds" && ok "kd-kind rows and values" || bad "kd-kind table"
	check_diffs "$f" sim-kl "$nseeds" && ok "kd-kind: paired differences to sim-kl with intervals" || bad "kd-kind: differences"
	main=$R/main/tvr-tiny/main.tsv
	same "$(tsv_value "$f" sim-kl sumr)" "$(tsv_value "$main" dl-dkd sumr)" &&
		ok "kd-kind: sim-kl is the DL-DKD model" || bad "kd-kind: sim-kl differs from DL-DKD"
	f=$R/schedule/tvr-tiny/schedule.tsv
	check_table "$f" "none fixed linear exp sigmoid" "$nseeds" && ok "schedule rows and values" || bad "schedule table"
	check_diffs "$f" exp "$nseeds" && ok "schedule: paired differences to exp with intervals" || bad "schedule: differences"
	a=$(model_sumr "$M/dual-exp-s1-e2/test.tsv") b=$(model_sumr "$M/dual-exp-s2-e2/test.tsv")
	same "$(tsv_value "$f" exp sumr)" "$(tsv_value "$main" dl-dkd sumr)" &&
		same "$(tsv_value "$f" none sumr)" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (a + b) / 2 }')" &&
		ok "schedule: exp is DL-DKD, none is dual-exploration" || bad "schedule: shared models"
	# w(e) of each schedule, by hand from method.md (λ 0.1, w0 0; e 0-based)
	for s in fixed:fixed linear:linear dldkd:exp sigmoid:sigmoid dual-exp:none; do
		v=${s%%:*} k=${s#*:}
		awk -F'\t' -v k="$k" 'NR > 1 { e = $1 - 1
			if (k == "fixed") w = 0.1; if (k == "none") w = 0
			if (k == "linear") { r = -0.01 * e + 1; w = 0.1 * (r > 0.05 ? r : 0.05) }
			if (k == "exp") w = 0.1 * 0.95 ^ e
			if (k == "sigmoid") w = 0.1 * 800 / (800 + exp(100 * e / 800))
			d = $5 - w; if (d > 1e-6 || d < -1e-6) { print k " epoch " $1 ": w " $5 " expected " w; bad = 1 } }
			END { exit bad }' "$M/$v-s1-e2/curves.tsv" && ok "schedule $k: w(e) as method.md" || bad "schedule $k: w(e)"
	done
	f=$R/branches/tvr-tiny/branches.tsv
	[ "$(awk -F'\t' '!/^#/ && $1 != "dataset" { n[$2]++ } END { for (m in n) printf "%s:%d\n", m, n[m] }' "$f" | sort | tr '\n' ' ')" = \
		"dl-dkd:11 dual-exp:11 dual-inh:11 " ] && ok "branches: 3 models x 11 βs" || bad "branches rows"
	grep -q 'DL-DKD above dual-exploration at [0-9]* of 11' "$R/branches/tvr-tiny/branches.md" &&
		ok "branches checks printed" || bad "branches checks"
	# the baselines against DL-DKD at β = 0.3: the difference of the means, inside its interval
	awk -F'\t' '/^#/ || $1 == "dataset" || $3 != "0.3" { next } { s[$2] = $8; l[$2] = $0 }
	END {
		for (m in l) {
			split(l[m], f, "\t")
			if (m == "dl-dkd") { if (f[15] != "-") e = 1; continue }
			d = f[16] - (s[m] - s["dl-dkd"])
			if (f[15] != "dl-dkd" || d > 0.01 || d < -0.01 || !(f[17] <= f[16] && f[16] <= f[18] && f[19] > 0 && f[19] <= 1)) e = 1
			n++
		}
		exit e || n != 2
	}' "$f" && grep -q '^- dual-inheritance − DL-DKD at β = 0.3: SumR [+-][0-9.]* \[' "$R/branches/tvr-tiny/branches.md" &&
		ok "branches: baselines minus DL-DKD at β = 0.3 with intervals" || bad "branches: differences"

	# ---- plusplus: DL-DKD (the main table's models), soft alignment alone, DL-DKD++ with the
	# release's TVR settings except what the pipeline gives (epochs, seed, margin) ----
	f=$R/plusplus/tvr-tiny/plusplus.tsv
	check_table "$f" "dl-dkd dl-dkd-soft dl-dkd++" "$nseeds" && ok "plusplus rows and values" || bad "plusplus table"
	check_diffs "$f" dl-dkd "$nseeds" && ok "plusplus: paired differences to DL-DKD with intervals" ||
		bad "plusplus: differences"
	same "$(tsv_value "$f" dl-dkd sumr)" "$(tsv_value "$main" dl-dkd sumr)" &&
		[ "$(tsv_value "$f" dl-dkd++ paper_sumr)" = 184.8 ] && [ "$(tsv_value "$f" dl-dkd paper_sumr)" = 179.9 ] &&
		ok "plusplus: DL-DKD is the main table's; the release's 184.8 beside DL-DKD++" || bad "plusplus: shared model or paper"
	cfgs=$("$BIN/prvr-cat" -n 0 "$M/dldkdpp-s2-e2/ckpt.mp")
	cfgo=$("$BIN/prvr-cat" -n 0 "$M/soft-s1-e2/ckpt.mp")
	for k in '"preset":"dldkd++:tvr"' '"soft_align":true' '"lr":0.00029999999999999997' '"epochs":2,' \
	    '"seed":2,' '"dropout":0.20000000298023224'; do
		case $cfgs in *"$k"*) ;; *) bad "plusplus: DL-DKD++ checkpoint lacks $k" ;; esac
	done
	case $cfgo in *'"preset":"","'*'"soft_align":true'*'"lr":0.00025000000000000001'*) ok "plusplus: checkpoints' settings" ;;
	*) bad "plusplus: soft-alignment-alone checkpoint: $cfgo" ;; esac
	grep -q 'command: make plusplus DATASET=tvr SCALE=tiny SEEDS="1 2" JOBS=1 SEED="1" EPOCHS="2" RESAMPLES="2000" COST_BATCH="8" TRAIN_OPTS="--hidden 32 --heads 2" PP_ROWS="dl-dkd:dldkd dl-dkd-soft:soft dl-dkd++:dldkdpp"' "$R/plusplus/tvr-tiny/plusplus.md" &&
		ok "plusplus: the command in the footer" || bad "plusplus: footer"

	# ---- t2vr: Dual Encoding with no, fixed and dynamic distillation over SEEDS, each compared
	# with dynamic; the teacher the corpus's ----
	f=$R/t2vr/msrvtt-tiny/t2vr.tsv
	Mt=$R/models/msrvtt-tiny-d1
	check_table "$f" "teacher de-none de-fixed de-dynamic" "$nseeds" && ok "t2vr rows and values" || bad "t2vr table"
	check_diffs "$f" de-dynamic "$nseeds" && ok "t2vr: paired differences to dynamic distillation with intervals" ||
		bad "t2vr: differences"
	mean=$(awk -v a="$(model_sumr "$Mt/de-none-s1-e2/test.tsv")" -v b="$(model_sumr "$Mt/de-none-s2-e2/test.tsv")" \
		'BEGIN { printf "%.2f", (a + b) / 2 }')
	same "$mean" "$(tsv_value "$f" de-none sumr)" && [ "$(tsv_value "$f" de-dynamic paper_sumr)" = 176.4 ] &&
		ok "t2vr: mean over seeds; the paper's 176.4 beside" || bad "t2vr: mean $mean or paper"

	# ---- make publish copies every table and figure, t2vr's too, and nothing else ----
	pmake publish EXAMPLES="$T/ex" > "$T/publish.log" 2>&1 || bad "make publish"
	want_pub=$(cd "$R" && find main kd-kind beta-sweep branches schedule cost plusplus t2vr -type f \
		\( -name '*.md' -o -name '*.png' -o -name '*.tsv' \) ! -name '*-curves.tsv' ! -name 'beta-plot.tsv' | sort)
	[ -n "$want_pub" ] && [ "$(cd "$T/ex" && find . -type f | sed 's|^\./||' | sort)" = "$want_pub" ] &&
		ok "make publish: every table and figure" || bad "make publish copied: $(cd "$T/ex" && find . -type f | head)"

	# ---- every table's footer command, run again (with the test's paths), remakes nothing ----
	for f in main/tvr-tiny/main cost/tvr-tiny/cost plusplus/tvr-tiny/plusplus t2vr/msrvtt-tiny/t2vr; do
		cmd=$(sed -n 's/^# command: make //p' "$R/$f.tsv")
		before=$(stat -c %Y "$R/$f.tsv")
		if [ -n "$cmd" ] && eval "make -C \"\$ROOT\" --no-print-directory \$OLD $cmd RESULTS=\"\$R\" \
			DATADIR=\"\$T/data\" BINDIR=\"\$BIN\" OBJ=\"\$T/obj\"" > "$T/rerun.log" 2>&1 &&
		    [ "$(stat -c %Y "$R/$f.tsv")" = "$before" ] && ! grep -q 'table.sh\|distill-step\|de-train' "$T/rerun.log"; then
			ok "$f: the footer's command remakes nothing"
		else
			bad "$f: footer command '$cmd' remade: $(head -n 3 "$T/rerun.log")"
		fi
	done

	# ---- a row taken out of PP_ROWS remakes the table (its models are all older than it) ----
	pmake plusplus "PP_ROWS=dl-dkd:dldkd dl-dkd++:dldkdpp" > "$T/pprows.log" 2>&1 &&
		check_table "$R/plusplus/tvr-tiny/plusplus.tsv" "dl-dkd dl-dkd++" "$nseeds" &&
		! grep -q 'distill-step' "$T/pprows.log" && ok "plusplus: PP_ROWS changed, the table remade, nothing trained" ||
		bad "plusplus: PP_ROWS of two rows left $(grep -c '^tvr' "$R/plusplus/tvr-tiny/plusplus.tsv") rows"
	pmake plusplus > "$T/pprows2.log" 2>&1 && check_table "$R/plusplus/tvr-tiny/plusplus.tsv" \
		"dl-dkd dl-dkd-soft dl-dkd++" "$nseeds" || bad "plusplus: PP_ROWS of three rows again"

	# ---- cost: analytic FLOPs = hand count from the architecture = measured ----
	f=$R/cost/tvr-tiny/cost.tsv
	awk -F'\t' '/^#/ { next } $1 == "dataset" { for (i = 1; i <= NF; i++) k[$i] = i; next }
	{
		n++; D = 384; L = $(k["frames"]); Tk = $(k["tokens"]); dv = $(k["dv"]); dt = $(k["dt"])
		# per branch (method.md): video: Linear(dv->D), Q K V O (4 D x D), scores and probs@V
		# (2 L x L x D), frame Linear; query: Linear(dt->D), Q K V O, attention, pooling (2 T D)
		v = 2*L*dv*D + 4*2*L*D*D + 2*2*L*L*D + 2*L*D*D
		q = 2*Tk*dt*D + 4*2*Tk*D*D + 2*2*Tk*Tk*D + 2*2*Tk*D
		g = 2 * (v + q) / 1e9
		if ((g - $(k["pair_gflops"])) ^ 2 > 1e-10) { print "analytic " $(k["pair_gflops"]) " hand " g; e = 1 }
		if (($(k["measured_gflops"]) - g) ^ 2 > 1e-10) { print "measured " $(k["measured_gflops"]) " hand " g; e = 1 }
		if ($(k["length"]) == "max" && ($(k["peak_rss_mib"]) < 10 || $(k["train_steps"]) != 1)) { print "memory"; e = 1 }
		if ($(k["paper_gflops"]) != 1.04 || $(k["paper_sumr"]) != 179.9) { print "paper"; e = 1 }
	}
	END { if (n != 2) e = 1; exit e }' "$f" && ok "cost: FLOPs analytic = measured = hand count; memory; paper" ||
		bad "cost table"
fi

# ---- a second make retrains nothing ----
before=$(stat -c %Y "$M/dldkd-s1-e2/ckpt.mp")
pmake -j2 $TARGETS > "$T/make2.log" 2>&1 || bad "second make failed"
if grep -q 'distill-step\|prvr-synth\|feat-reduce' "$T/make2.log" || [ "$(stat -c %Y "$M/dldkd-s1-e2/ckpt.mp")" != "$before" ]; then
	bad "second make redid work"; head -n 5 "$T/make2.log"
else
	ok "second make: nothing to do"
fi

# ---- a failing step leaves no finished-looking file ----
rm -rf "$M/exp-s1-e2"
if pmake "$M/exp-s1-e2/ckpt.mp" T_distill-step=/bin/false > "$T/make3.log" 2>&1; then
	bad "make with a failing distill-step succeeded"
else
	[ ! -e "$M/exp-s1-e2/ckpt.mp" ] && [ ! -e "$M/exp-s1-e2/log.mp" ] &&
		ok "failed training: no checkpoint, no log" || bad "failed training left files"
fi
rm -f "$M/dldkd-s1-e2/test.tsv"
if pmake "$M/dldkd-s1-e2/test.tsv" T_metrics=/bin/false > "$T/make4.log" 2>&1; then
	bad "make with a failing metrics in a pipe succeeded"
else
	[ ! -e "$M/dldkd-s1-e2/test.tsv" ] && ok "failed pipe: no result file" || bad "failed pipe left test.tsv"
fi

# ---- bring your own data: any dataset name, MARGIN, TRAIN_OPTS added to the scale's ----
"$BIN/prvr-synth" -q -p tvr-tiny -s 2 -o "$T/own"
if pmake main DATA="$T/own" DATASET=mydata SEEDS=1 MARGIN=0.25 > "$T/make5.log" 2>&1; then
	check_table "$R/main/mydata-import/main.tsv" "teacher exploration inheritance dl-dkd" 1 &&
		ok "make main DATA=DIR DATASET=mydata" || bad "mydata main table"
	"$BIN/prvr-cat" -n 0 "$R/models/mydata-import/dldkd-s1-e2/ckpt.mp" | grep -q '"margin":0.25[,}]' &&
		ok "MARGIN=0.25 reaches distill-step" || bad "MARGIN not in the checkpoint"
else
	bad "make main DATA=DIR DATASET=mydata"; tail -n 20 "$T/make5.log"
fi
pmake -n "$R/models/other-import/exp-s1-e2/ckpt.mp" DATA="$T/own" DATASET=other SCALE=small \
	TRAIN_OPTS=--heads\ 2 > "$T/make6.log" 2>&1
grep 'distill-step' "$T/make6.log" | grep -q -- '--margin 0.1 .*--hidden 128 --batch 32 --hard-pool 5 --heads 2' &&
	ok "unknown dataset: margin 0.1; TRAIN_OPTS after the scale's own" ||
	bad "margin / TRAIN_OPTS: $(grep distill-step "$T/make6.log" | head -n 1)"

# ---- tables round once: 23.7469 shows as 23.7 (not 23.75 -> 23.8) ----
mkdir -p "$T/round"
printf 'r1\tr5\tr10\tr100\tsumr\tbest_epoch\n23.7469\t50\t60\t90\t223.7469\t1\n' > "$T/round/test.tsv"
printf 'target: t\n' > "$T/round/meta"
awk -v dataset=tvr -v row=dl-dkd -f "$ROOT/pipelines/rows.awk" "$T/round/test.tsv" > "$T/round/rows" &&
	"$ROOT/pipelines/table.sh" -r "$T/round/rows" -p "$ROOT/pipelines/paper/main.tsv" -m "$T/round/meta" \
		-t t -o "$T/round/t" && grep -q '| 23.7 | 50.0 | 60.0 | 90.0 | \*\*223.7\*\* |' "$T/round/t.md" &&
	ok "tables round once" || bad "rounding: $(grep '^| DL' "$T/round/t.md")"

exit $fail
