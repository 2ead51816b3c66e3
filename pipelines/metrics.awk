# metrics.awk: a model's result line from `metrics -f tsv` (a line of names, a line of values).
# Prints a header and one line: [beta] r1 r5 r10 r100 sumr medr meanr map [best_epoch epochs
# train_seconds]. Columns are picked by name, so extra columns of metrics do not matter.
#   -v beta=B        prefix a beta column
#   -v curves=FILE   append the best epoch (last epoch marked best), the epochs run and the
#                    training seconds from curves.awk's TSV of the run
#   -v noheader=1    values only
BEGIN { FS = OFS = "\t"; nk = split("r1 r5 r10 r100 sumr medr meanr map", keys, " ") }
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
NR == 2 {
	for (j = 1; j <= nk; j++)
		if (!(keys[j] in col)) {
			print "metrics.awk: no column " keys[j] " in the metrics output" > "/dev/stderr"
			exit 1
		}
	hdr = ""; line = ""
	if (beta != "") { hdr = "beta" OFS; line = beta OFS }
	for (j = 1; j <= nk; j++) {
		hdr = hdr (j > 1 ? OFS : "") keys[j]
		line = line (j > 1 ? OFS : "") $(col[keys[j]])
	}
	if (curves != "") {
		be = "-"; ne = 0; secs = 0
		while ((getline l < curves) > 0) {
			split(l, f, "\t")
			if (f[1] == "epoch") continue
			ne++
			if (f[4] == "1") be = f[1]
			if (f[7] != "-") secs += f[7]
		}
		close(curves)
		hdr = hdr OFS "best_epoch" OFS "epochs" OFS "train_seconds"
		line = line OFS be OFS ne OFS sprintf("%.1f", secs)
	}
	if (!noheader) print hdr
	print line
	done = 1
}
END { if (!done) { print "metrics.awk: no metrics line" > "/dev/stderr"; exit 1 } }
