# join-curves.awk: validation SumR and w(e) per epoch of several runs side by side, for
# schedule.gp. Input: curves.awk TSVs, one per run; -v names="a b c" names them in order.
# Prints: epoch, <name> (val SumR) for each run, <name> w(e) for each run; "-" after a run ended.
BEGIN { FS = OFS = "\t"; k = split(names, name, " ") }
FNR == 1 { f++; next }
{
	v[f, $1] = $3
	w[f, $1] = $5
	if ($1 + 0 > maxe) maxe = $1 + 0
}
END {
	if (f != k) { print "join-curves.awk: " f " files for " k " names" > "/dev/stderr"; exit 1 }
	line = "epoch"
	for (i = 1; i <= k; i++) line = line OFS name[i]
	for (i = 1; i <= k; i++) line = line OFS name[i] " w(e)"
	print line
	for (e = 1; e <= maxe; e++) {
		line = e
		for (i = 1; i <= k; i++) line = line OFS (((i, e) in v) ? v[i, e] : "-")
		for (i = 1; i <= k; i++) line = line OFS (((i, e) in w) ? w[i, e] : "-")
		print line
	}
}
