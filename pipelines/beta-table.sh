#!/bin/sh
# beta-table.sh: metrics against β for one or more trained models (supp. Figures 1 and 2) as TSV
# and Markdown, with the paper's published point(s) and checks of the paper's claims:
# the best β, inheritance alone (β = 0) against exploration alone (β = 1), and, with several
# models, at how many β DL-DKD is above each other model.
# Usage: beta-table.sh -d DATASET -m META -p PAPER.tsv -t TITLE -o OUTBASE MODEL=BETA.tsv...
#   BETA.tsv  a model's sweep (metrics.awk with -v beta: beta r1 r5 r10 r100 sumr medr meanr map)
#   PAPER     dataset row beta sumr ('#' comments); joined on (dataset, model, beta)
# Writes OUTBASE.tsv and OUTBASE.md through temporary files and renames.
set -e
dir=$(dirname "$0")
while getopts d:m:p:t:o: c; do
	case $c in
	d) ds=$OPTARG ;; m) meta=$OPTARG ;; p) paper=$OPTARG ;; t) title=$OPTARG ;;
	o) out=$OPTARG ;; *) exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$ds" ] && [ -n "$meta" ] && [ -n "$paper" ] && [ -n "$out" ] && [ $# -ge 1 ] ||
	{ echo "usage: beta-table.sh -d DATASET -m META -p PAPER -t TITLE -o OUTBASE MODEL=FILE..." >&2; exit 1; }
trap 'rm -f "$out.tsv.tmp" "$out.md.tmp"' EXIT

{
	sed 's/^/# /' "$meta"
	printf 'dataset\tmodel\tbeta\tr1\tr5\tr10\tr100\tsumr\tmedr\tmeanr\tmap\tpaper_sumr\n'
	for a in "$@"; do
		m=${a%%=*} f=${a#*=}
		[ -s "$f" ] || { echo "beta-table.sh: $f: missing or empty" >&2; exit 1; }
		awk -F'\t' -v OFS='\t' -v ds="$ds" -v m="$m" '
		FILENAME == ARGV[1] { if ($0 !~ /^#/ && $1 != "dataset") p[$1 SUBSEP $2 SUBSEP $3 + 0] = $4; next }
		FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{
			b = $(col["beta"])
			k = ds SUBSEP m SUBSEP b + 0
			print ds, m, b, $(col["r1"]), $(col["r5"]), $(col["r10"]), $(col["r100"]),
			    $(col["sumr"]), $(col["medr"]), $(col["meanr"]), $(col["map"]), (k in p) ? p[k] : "-"
			n++
		}
		END { if (n != 11) { print "beta-table.sh: " FILENAME ": " n " betas, expected 11" > "/dev/stderr"; exit 1 } }
		' "$paper" "$f"
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
	if ($12 != "-") paper[m, b] = $12
	if (!(m in best) || $8 + 0 > best[m] + 0) { best[m] = $8; bestb[m] = b }
}
function name(m) { return (m in short) ? short[m] : (m in label) ? label[m] : m }
END {
	print "### " title
	print ""
	if (nm == 1) {
		m = model[1]
		print "| β | R@1 | R@5 | R@10 | R@100 | SumR | paper SumR |"
		print "|---:|---:|---:|---:|---:|---:|---:|"
		for (j = 1; j <= nb; j++) {
			b = beta[j]
			s = sprintf("%.1f", v[m, b, 8])
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
				s = sprintf("%.1f", v[model[i], b, 8])
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
	print ""
	print "<sub>" foot "</sub>"
}' "$dir/labels.tsv" "$meta" "$out.tsv.tmp" > "$out.md.tmp"

mv "$out.tsv.tmp" "$out.tsv"
mv "$out.md.tmp" "$out.md"
