# beta-plot.awk: beta-table.sh's TSV (long: dataset model beta r1 .. sumr ...) -> wide, for
# beta.gp: beta, then the SumR of each model in order of appearance, columns named for display.
BEGIN {
	FS = OFS = "\t"
	disp["dl-dkd"] = "DL-DKD"; disp["dual-exp"] = "dual-exploration"
	disp["dual-inh"] = "dual-inheritance"
}
/^#/ { next }
$1 == "dataset" { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
	m = $(col["model"]); b = $(col["beta"])
	if (!(m in seen)) { seen[m] = 1; model[++nm] = m }
	if (!(b in bseen)) { bseen[b] = 1; beta[++nb] = b }
	s[m, b] = $(col["sumr"])
}
END {
	line = "beta"
	for (i = 1; i <= nm; i++) line = line OFS ((model[i] in disp) ? disp[model[i]] : model[i])
	print line
	for (j = 1; j <= nb; j++) {
		line = beta[j]
		for (i = 1; i <= nm; i++) line = line OFS (((model[i], beta[j]) in s) ? s[model[i], beta[j]] : "-")
		print line
	}
}
