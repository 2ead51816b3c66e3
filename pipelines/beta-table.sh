#!/bin/sh
# beta-table.sh: metrics against β for one or more trained models (supp. Figures 1 and 2) as TSV
# and Markdown, with the paper's published point(s) and checks of the paper's claims:
# the best β, inheritance alone (β = 0) against exploration alone (β = 1), and, with several
# models, at how many β DL-DKD is above each other model.
# Usage: beta-table.sh -d DATASET -m META -p PAPER.tsv [-D DIFFS [-b BETA]] -t TITLE -o OUTBASE
#        MODEL=BETA.tsv...
#   BETA.tsv  a model's sweep (metrics.awk with -v beta: beta r1 r5 r10 r100 sumr medr meanr map);
#             a MODEL named more than once: its runs (seeds), averaged (sample sd of SumR beside)
#   PAPER     dataset row beta sumr ('#' comments); joined on (dataset, model, beta)
#   DIFFS     paired comparisons with a reference model at β = BETA (default 0.3), one line per
#             compared model: dataset model ref diff lo hi p (SumR, metrics --compare); joined
#             on (dataset, model) at that β and printed with the checks
# Writes OUTBASE.tsv and OUTBASE.md through temporary files and renames.
set -e
dir=$(dirname "$0")
diffs=/dev/null dbeta=0.3
while getopts d:m:p:D:b:t:o: c; do
	case $c in
	d) ds=$OPTARG ;; m) meta=$OPTARG ;; p) paper=$OPTARG ;; t) title=$OPTARG ;;
	D) diffs=$OPTARG ;; b) dbeta=$OPTARG ;;
	o) out=$OPTARG ;; *) exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$ds" ] && [ -n "$meta" ] && [ -n "$paper" ] && [ -n "$out" ] && [ $# -ge 1 ] ||
	{ echo "usage: beta-table.sh -d DATASET -m META -p PAPER -t TITLE -o OUTBASE MODEL=FILE..." >&2; exit 1; }
trap 'rm -f "$out.tsv.tmp" "$out.md.tmp"' EXIT

# the models in order of first appearance, each with its runs
models=
for a in "$@"; do
	m=${a%%=*}
	[ -s "${a#*=}" ] || { echo "beta-table.sh: ${a#*=}: missing or empty" >&2; exit 1; }
	case " $models " in *" $m "*) ;; *) models="$models $m" ;; esac
done
{
	sed 's/^/# /' "$meta"
	printf 'dataset\tmodel\tbeta\tr1\tr5\tr10\tr100\tsumr\tmedr\tmeanr\tmap\tpaper_sumr\truns\tsumr_sd'
	printf '\tref\td_sumr\td_sumr_lo\td_sumr_hi\tp_sumr\n'
	for m in $models; do
		files=
		for a in "$@"; do [ "${a%%=*}" != "$m" ] || files="$files ${a#*=}"; done
		# $files: paths without blanks (the pipelines' model directories)
		awk -F'\t' -v OFS='\t' -v ds="$ds" -v m="$m" -v dbeta="$dbeta" '
		FILENAME == ARGV[1] { if ($0 !~ /^#/ && $1 != "dataset") p[$1 SUBSEP $2 SUBSEP $3 + 0] = $4; next }
		FILENAME == ARGV[2] { if ($1 == ds && $2 == m) d = $3 OFS $4 OFS $5 OFS $6 OFS $7; next }
		FNR == 1 { nf++; split("", col); for (i = 1; i <= NF; i++) col[$i] = i; nb = 0; next }
		{
			b = $(col["beta"]); nb++
			if (nf == 1) beta[nb] = b
			else if (beta[nb] != b) { print "beta-table.sh: " FILENAME ": β " b ", expected " beta[nb] > "/dev/stderr"; exit 1 }
			for (j = 1; j <= nk; j++) { x = $(col[key[j]]); s[nb, j] += x; ss[nb, j] += x * x }
			n[nb]++
		}
		BEGIN { nk = split("r1 r5 r10 r100 sumr medr meanr map", key, " ") }
		END {
			for (i = 1; i <= nb; i++) {
				if (n[i] != nf) { print "beta-table.sh: " m ": a run with " nb " betas" > "/dev/stderr"; exit 1 }
				line = ds OFS m OFS beta[i]
				for (j = 1; j <= nk; j++) line = line OFS sprintf(key[j] == "map" ? "%.6f" : "%.4f", s[i, j] / nf)
				k = ds SUBSEP m SUBSEP beta[i] + 0
				v = nf > 1 ? (ss[i, 5] - s[i, 5] * s[i, 5] / nf) / (nf - 1) : 0
				line = line OFS ((k in p) ? p[k] : "-") OFS nf OFS (nf > 1 ? sprintf("%.2f", v > 0 ? sqrt(v) : 0) : "-")
				print line OFS ((beta[i] + 0 == dbeta + 0 && d != "") ? d : "-" OFS "-" OFS "-" OFS "-" OFS "-")
			}
			if (nb != 11) { print "beta-table.sh: " m ": " nb " betas, expected 11" > "/dev/stderr"; exit 1 }
		}' "$paper" "$diffs" $files
	done
} > "$out.tsv.tmp"

awk -F'\t' -v title="$title" '
BEGIN { short["dl-dkd"] = "DL-DKD"; short["dual-exp"] = "dual-exploration"; short["dual-inh"] = "dual-inheritance" }
FILENAME == ARGV[1] { if ($0 !~ /^#/) label[$1] = $2; next }
FILENAME == ARGV[2] { foot = foot (foot == "" ? "" : " · ") $0; next }
/^#/ { next }
$1 == "dataset" { next }
{
	m = $2; b = $3
	if (!(m in seen)) { seen[m] = 1; model[++nm] = m }
	if (!(b in bs)) { bs[b] = 1; beta[++nb] = b }
	for (i = 4; i <= 8; i++) v[m, b, i] = $i
	sd[m, b] = $14; runs[m] = $13
	if ($16 != "-") diff[m] = sprintf("%s − %s at β = %s: SumR %+.1f [%+.1f, %+.1f] (95 %% interval over the test queries), p %.3g, over %d seed%s",
	    name($2), name($15), b, $16, $17, $18, $19, $13, $13 > 1 ? "s" : "")
	if ($12 != "-") paper[m, b] = $12
	if (!(m in best) || $8 + 0 > best[m] + 0) { best[m] = $8; bestb[m] = b }
}
function name(m) { return (m in short) ? short[m] : (m in label) ? label[m] : m }
function cell(m, b) { return sd[m, b] == "-" ? sprintf("%.1f", v[m, b, 8]) : sprintf("%.1f ± %.1f", v[m, b, 8], sd[m, b]) }
END {
	print "### " title
	print ""
	if (nm == 1) {
		m = model[1]
		print "| β | R@1 | R@5 | R@10 | R@100 | SumR | paper SumR |"
		print "|---:|---:|---:|---:|---:|---:|---:|"
		for (j = 1; j <= nb; j++) {
			b = beta[j]
			s = cell(m, b)
			if (b == bestb[m]) s = "**" s "**"
			printf "| %s | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", b, v[m, b, 4], v[m, b, 5],
			    v[m, b, 6], v[m, b, 7], s, ((m, b) in paper) ? paper[m, b] : "-"
		}
	} else {
		line = "| β |"; rule = "|---:|"
		for (i = 1; i <= nm; i++) { line = line " SumR " name(model[i]) " |"; rule = rule "---:|" }
		print line " paper SumR (DL-DKD) |"
		print rule "---:|"
		for (j = 1; j <= nb; j++) {
			b = beta[j]; line = "| " b " |"; p = "-"
			for (i = 1; i <= nm; i++) {
				s = cell(model[i], b)
				if (b == bestb[model[i]]) s = "**" s "**"
				line = line " " s " |"
				if ((model[i], b) in paper) p = paper[model[i], b]
			}
			print line " " p " |"
		}
	}
	print ""
	print "Checks against what the paper reports:"
	print ""
	lo = beta[1]; hi = beta[nb]
	for (i = 1; i <= nm; i++) {
		m = model[i]
		printf "- %s: best β = %s (SumR %.1f; paper: 0.3 for DL-DKD)", name(m), bestb[m], best[m]
		if (m == "dl-dkd") {
			a = v[m, lo, 8] + 0; z = v[m, hi, 8] + 0
			verdict = "equal"
			if (a > z) verdict = "inheritance higher, as in the paper"
			if (a < z) verdict = "exploration higher, unlike the paper"
			printf "; β = %s (inheritance branch alone) %.1f vs β = %s (exploration branch alone) %.1f: %s",
			    lo, a, hi, z, verdict
		}
		printf "\n"
	}
	if (nm > 1 && ("dl-dkd" in seen))
		for (i = 1; i <= nm; i++) {
			m = model[i]
			if (m == "dl-dkd") continue
			above = 0
			for (j = 1; j <= nb; j++) if (v["dl-dkd", beta[j], 8] + 0 > v[m, beta[j], 8] + 0) above++
			printf "- DL-DKD above %s at %d of %d β (paper: at every β)\n", name(m), above, nb
		}
	for (i = 1; i <= nm; i++)
		if (model[i] in diff) print "- " diff[model[i]]
	if (runs[model[1]] > 1) {
		print ""
		print "<sub>Each value is the mean over " runs[model[1]] " seeds (± the sample sd of SumR); best β by the mean.</sub>"
	}
	print ""
	print "<sub>" foot "</sub>"
}' "$dir/labels.tsv" "$meta" "$out.tsv.tmp" > "$out.md.tmp"

mv "$out.tsv.tmp" "$out.tsv"
mv "$out.md.tmp" "$out.md"
