# rows.awk: one row of a results table from one or more runs of the same model (seeds).
# Each input file is a model's test.tsv: a line of column names, then one line of values
# (r1 r5 r10 r100 sumr ... best_epoch ...). Prints, tab-separated:
#   dataset row n r1 r5 r10 r100 sumr r1_sd r5_sd r10_sd r100_sd sumr_sd best_epoch
# means over the files, sample standard deviations (n - 1; "-" for one run), best_epoch the mean
# of the runs' best epochs ("-" when the files have none, e.g. the teacher). Values keep their
# digits (%.10g): the tables round once, when they display them.
# Usage: awk -v dataset=D -v row=R -f rows.awk FILE...
BEGIN {
	FS = OFS = "\t"
	nk = split("r1 r5 r10 r100 sumr best_epoch", keys, " ")
}
FNR == 1 {
	split("", col)
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}
FNR == 2 {
	n++
	for (j = 1; j <= nk; j++) {
		k = keys[j]
		if (!(k in col) || $(col[k]) == "-" || $(col[k]) == "")
			continue
		x = $(col[k]) + 0
		cnt[k]++
		s[k] += x
		ss[k] += x * x
	}
}
END {
	if (n == 0) {
		print "rows.awk: no runs for " dataset " " row > "/dev/stderr"
		exit 1
	}
	line = dataset OFS row OFS n
	for (j = 1; j <= 5; j++) {
		k = keys[j]
		if (cnt[k] != n) {
			print "rows.awk: " k " missing in a run of " row > "/dev/stderr"
			exit 1
		}
		line = line OFS sprintf("%.10g", s[k] / n)
	}
	for (j = 1; j <= 5; j++) {
		k = keys[j]
		if (n < 2) {
			line = line OFS "-"
			continue
		}
		v = (ss[k] - s[k] * s[k] / n) / (n - 1)
		line = line OFS sprintf("%.10g", v > 0 ? sqrt(v) : 0)
	}
	k = "best_epoch"
	line = line OFS (cnt[k] ? sprintf("%.1f", s[k] / cnt[k]) : "-")
	print line
}
