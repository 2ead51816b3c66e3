#!/bin/sh
# table.sh: a results table, measured beside the paper, as TSV and Markdown.
# Usage: table.sh -r ROWS [-d DIFFS] -p PAPER.tsv -m META -t TITLE -o OUTBASE
#   ROWS   rows from rows.awk: dataset row n r1 r5 r10 r100 sumr r1_sd .. sumr_sd best_epoch
#   DIFFS  paired comparisons with the table's reference row, one line per compared row:
#          dataset row ref diff lo hi p (SumR of row minus ref, its 95 % interval, p-value:
#          metrics --compare); joined on (dataset, row); "-" where a row has none
#   PAPER  the paper's numbers: dataset row paper_row r1 r5 r10 r100 sumr ('#' comments;
#          "-" where nothing is published); joined on (dataset, row)
#   META   "key: value" lines (meta.sh), copied as '#' comments into the TSV and as a footer
#          into the Markdown
# Writes OUTBASE.tsv and OUTBASE.md, each through a temporary file and a rename.
set -e
dir=$(dirname "$0")
diffs=/dev/null
while getopts r:d:p:m:t:o: c; do
	case $c in
	r) rows=$OPTARG ;; d) diffs=$OPTARG ;; p) paper=$OPTARG ;; m) meta=$OPTARG ;; t) title=$OPTARG ;;
	o) out=$OPTARG ;; *) exit 1 ;;
	esac
done
[ -n "$rows" ] && [ -n "$paper" ] && [ -n "$meta" ] && [ -n "$out" ] ||
	{ echo "usage: table.sh -r ROWS [-d DIFFS] -p PAPER -m META -t TITLE -o OUTBASE" >&2; exit 1; }
[ -s "$rows" ] || { echo "table.sh: $rows: no rows" >&2; exit 1; }
trap 'rm -f "$out.tsv.tmp" "$out.md.tmp"' EXIT

{
	sed 's/^/# /' "$meta"
	awk -F'\t' -v OFS='\t' '
	FILENAME == ARGV[1] {
		if ($0 ~ /^#/ || $1 == "dataset") next
		p[$1 SUBSEP $2] = $3 OFS $4 OFS $5 OFS $6 OFS $7 OFS $8
		next
	}
	FILENAME == ARGV[2] {
		if (NF != 7) { print "table.sh: " FILENAME ": expected 7 fields: " $0 > "/dev/stderr"; exit 1 }
		d[$1 SUBSEP $2] = $3 OFS $4 OFS $5 OFS $6 OFS $7
		next
	}
	FNR == 1 {
		print "dataset", "row", "runs", "r1", "r5", "r10", "r100", "sumr", "r1_sd", "r5_sd",
		    "r10_sd", "r100_sd", "sumr_sd", "best_epoch", "paper_row", "paper_r1", "paper_r5",
		    "paper_r10", "paper_r100", "paper_sumr", "ref", "d_sumr", "d_sumr_lo", "d_sumr_hi",
		    "p_sumr"
	}
	{
		k = $1 SUBSEP $2
		print $0, (k in p) ? p[k] : "-" OFS "-" OFS "-" OFS "-" OFS "-" OFS "-",
		    (k in d) ? d[k] : "-" OFS "-" OFS "-" OFS "-" OFS "-"
	}' "$paper" "$diffs" "$rows"
} > "$out.tsv.tmp"

[ "$diffs" = /dev/null ] && dcol=0 || dcol=1
awk -F'\t' -v title="$title" -v dcol=$dcol '
function cell(m, sd) { return (sd == "-") ? sprintf("%.1f", m) : sprintf("%.1f ± %.1f", m, sd) }
# SumR of the row minus that of the reference row, mean over the seeds, [95 % interval], p
function dcell(  r) {
	if ($22 != "-")
		return sprintf("%+.1f [%+.1f, %+.1f], p %.3g", $22, $23, $24, $25)
	for (r in refs)
		if (refs[r] == $2) return "(reference)"
	return "-"
}
FILENAME == ARGV[1] { if ($0 !~ /^#/) label[$1] = $2; next }
FILENAME == ARGV[2] { sub(/^[a-z]+: /, "&"); foot = foot (foot == "" ? "" : " · ") $0; next }
/^#/ || $1 == "dataset" { next }
!started {
	print "### " title
	print ""
	printf "| row | runs | R@1 | R@5 | R@10 | R@100 | SumR | %sbest epoch | paper row | paper R@1 | R@5 | R@10 | R@100 | SumR |\n",
	    dcol ? "Δ SumR vs reference [95 % CI], p | " : ""
	printf "|---|---:|---:|---:|---:|---:|---:|%s---:|---|---:|---:|---:|---:|---:|\n", dcol ? "---:|" : ""
	started = 1
}
{ rows[++nrow] = $0 }
$21 != "-" { refs[++nref] = $21 }
END {
	# the reference rows are known once every row is read
	for (i = 1; i <= nrow; i++) {
		$0 = rows[i]
		l = ($2 in label) ? label[$2] : $2
		printf "| %s | %s | %s | %s | %s | %s | **%s** | %s%s | %s | %s | %s | %s | %s | %s |\n", l,
		    $3, cell($4, $9), cell($5, $10), cell($6, $11), cell($7, $12), cell($8, $13),
		    dcol ? dcell() " | " : "", $14, $15, $16, $17, $18, $19, $20
	}
	print ""
	if (dcol)
		print "<sub>Mean ± sd over the seeds. Δ SumR: the row minus the reference row, averaged over the seeds; interval and p from metrics --compare over the test queries, pairing the two models of each seed (doc/pipelines.md).</sub>"
	print ""
	print "<sub>" foot "</sub>"
}' "$dir/labels.tsv" "$meta" "$out.tsv.tmp" > "$out.md.tmp"

mv "$out.tsv.tmp" "$out.tsv"
mv "$out.md.tmp" "$out.md"
