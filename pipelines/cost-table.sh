#!/bin/sh
# cost-table.sh: supplementary Table 4 for one dataset shape, as TSV and Markdown: prvr-cost's
# FLOPs per video-text pair (analytic and measured) at the corpus's mean video and query length
# and at the model's maximum (128 frames, 30 tokens), peak training memory at batch 128, and the
# SumR of this run's DL-DKD model, beside the paper's RoBERTa DL-DKD row.
# Usage: cost-table.sh -d DATASET -m META -p PAPER.tsv -s SUMR -t TITLE -o OUTBASE MEAN.tsv MAX.tsv
#   MEAN.tsv, MAX.tsv  prvr-cost output (header + one line) at the mean and maximal lengths
# Writes OUTBASE.tsv and OUTBASE.md through temporary files and renames.
set -e
dir=$(dirname "$0")
while getopts d:m:p:s:t:o: c; do
	case $c in
	d) ds=$OPTARG ;; m) meta=$OPTARG ;; p) paper=$OPTARG ;; s) sumr=$OPTARG ;;
	t) title=$OPTARG ;; o) out=$OPTARG ;; *) exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$ds" ] && [ -n "$meta" ] && [ -n "$paper" ] && [ -n "$sumr" ] && [ -n "$out" ] && [ $# -eq 2 ] ||
	{ echo "usage: cost-table.sh -d DATASET -m META -p PAPER -s SUMR -t TITLE -o OUTBASE MEAN.tsv MAX.tsv" >&2; exit 1; }
trap 'rm -f "$out.tsv.tmp" "$out.md.tmp"' EXIT

{
	sed 's/^/# /' "$meta"
	awk -F'\t' -v OFS='\t' -v ds="$ds" -v sumr="$sumr" '
	FILENAME == ARGV[1] {
		if ($0 ~ /^#/ || $1 == "text_backbone") next
		if ($1 == "RoBERTa" && $2 == "DL-DKD") {
			pf = $3; pm = $4; ps = (ds == "activitynet") ? $5 : (ds == "tvr") ? $6 : "-"
		}
		next
	}
	FNR == 1 { split("", col); for (i = 1; i <= NF; i++) col[$i] = i; next }
	FNR == 2 {
		if (!hdr++)
			print "dataset", "length", "dv", "dt", "frames", "tokens", "branches", "params",
			    "pair_gflops", "measured_gflops", "flops_rel_diff", "two_branch_increase_pct",
			    "batch", "queries", "train_steps", "step_seconds", "peak_rss_mib", "state_mib",
			    "sumr", "paper_gflops", "paper_memory_mib", "paper_sumr"
		n++
		print ds, (n == 1 ? "mean" : "max"), $(col["dv"]), $(col["dt"]), $(col["frames"]),
		    $(col["tokens"]), $(col["branches"]), $(col["params"]), $(col["pair_gflops"]),
		    $(col["measured_gflops"]), $(col["flops_rel_diff"]), $(col["two_branch_increase_pct"]),
		    $(col["batch"]), $(col["queries"]), $(col["train_steps"]), $(col["step_seconds"]),
		    $(col["peak_rss_mib"]), $(col["state_mib"]), sumr, pf, pm, ps
	}
	END { if (n != 2) { print "cost-table.sh: expected two prvr-cost results, got " n > "/dev/stderr"; exit 1 } }
	' "$paper" "$1" "$2"
} > "$out.tsv.tmp"

awk -F'\t' -v title="$title" '
FILENAME == ARGV[1] { foot = foot (foot == "" ? "" : " · ") $0; next }
/^#/ || $1 == "dataset" { next }
{
	if (!started++) {
		print "### " title
		print ""
		print "| length | frames L | tokens T | params | FLOPs/pair analytic (G) | measured (G) | rel. diff | training memory (MiB) | s/step | SumR | paper FLOPs (G) | paper memory (MiB) | paper SumR |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	}
	mem = ($15 > 0) ? sprintf("%.0f (batch %d, %d queries)", $17, $13, $14) : "-"
	st = ($15 > 0) ? sprintf("%.2f", $16) : "-"
	printf "| %s | %d | %d | %d | %.3f | %.3f | %.1g | %s | %s | %.1f | %s | %s | %s |\n",
	    ($2 == "mean" ? "corpus mean" : "model maximum"), $5, $6, $8, $9, $10, $11, mem, st, $19,
	    $20, $21, $22
	inc = $12
	dims = sprintf("student features: video %d-d, tokens %d-d; branches: %s", $3, $4, $7)
}
END {
	print ""
	print "FLOPs count the matrix products of both branches (input projections, attention, frame"
	print "Linear, query pooling), backbones excluded; \"measured\" is the count of every product run"
	print "while encoding one video and one query. Memory is the peak resident set of training steps"
	print "at the batch shown (parameters, gradients, Adam moments, activations; not the training set),"
	print "against the paper'"'"'s GPU memory. " dims "."
	printf "Going from one branch to two adds %.2f%% of the cost of a pair including the paper'"'"'s\n", inc
	print "backbones (222 + 79 GFLOPs; paper: about 0.3%)."
	print ""
	print "<sub>" foot "</sub>"
}' "$meta" "$out.tsv.tmp" > "$out.md.tmp"

mv "$out.tsv.tmp" "$out.tsv"
mv "$out.md.tmp" "$out.md"
