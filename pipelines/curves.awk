# curves.awk: per-epoch training curves from a train-log shown as JSON lines by prvr-cat
# (schemas/train-log.md). Step records are averaged per epoch (every loss component of every
# branch, e.g. inh_trip_t2v, exp_nce_v2t, inh_kd); epoch records give the validation metrics.
# Prints a TSV: epoch loss val_sumr best kd_weight lr seconds, then the ten components
# inh_{trip_t2v,trip_v2t,nce_t2v,nce_v2t,kd} and exp_{...}, one line per epoch record, "-" where
# a value is absent (a branch the run lacks, no validation). Epochs are shown 1-based.
# Usage: prvr-cat < log.mp | awk -f curves.awk
# The records are flat maps of numbers, strings and booleans, so a regular expression per
# key:value pair is enough; nested maps (the header's config) are skipped with the header.
BEGIN { OFS = "\t"; nep = 0 }
function parse(s,   kv, k, v, i) {
	split("", F)
	while (match(s, /"[A-Za-z0-9_]+":("[^"]*"|[-+0-9.eEa-z]+)/)) {
		kv = substr(s, RSTART, RLENGTH)
		s = substr(s, RSTART + RLENGTH)
		i = index(kv, ":")
		k = substr(kv, 2, i - 3)
		v = substr(kv, i + 1)
		gsub(/"/, "", v)
		F[k] = v
	}
}
/"type" *: *"step"/ {
	parse($0)
	e = F["epoch"]
	nstep[e]++
	for (k in F)
		if (k ~ /^(inh|exp)_(trip_t2v|trip_v2t|nce_t2v|nce_v2t|kd)$/) {
			if (F[k] + 0 != 0) seen[k] = 1   # a component that stays 0 (kd of an undistilled branch) is absent
			sum[e, k] += F[k]
		}
	if ("kd_weight" in F) kdw[e] = F["kd_weight"]
	if ("lr" in F) lr[e] = F["lr"]
	next
}
/"type" *: *"epoch"/ {
	parse($0)
	e = F["epoch"]
	ep[++nep] = e
	loss[e] = ("loss" in F) ? F["loss"] : "-"
	val[e] = ("val_sumr" in F) ? F["val_sumr"] : "-"
	best[e] = ("best" in F) ? (F["best"] == "true" ? 1 : 0) : "-"
	secs[e] = ("seconds" in F) ? F["seconds"] : "-"
}
END {
	# always all ten components in a fixed order (inh then exp; the order of the loss), "-" for
	# a component the run does not have, so that plots can style columns by position
	n = 0
	split("inh exp", br, " ")
	split("trip_t2v trip_v2t nce_t2v nce_v2t kd", part, " ")
	for (b = 1; b <= 2; b++)
		for (p = 1; p <= 5; p++)
			order[++n] = br[b] "_" part[p]
	line = "epoch" OFS "loss" OFS "val_sumr" OFS "best" OFS "kd_weight" OFS "lr" OFS "seconds"
	for (j = 1; j <= n; j++)
		line = line OFS order[j]
	print line
	base = (nep > 0 && ep[1] == 0) ? 1 : 0
	for (i = 1; i <= nep; i++) {
		e = ep[i]
		line = (e + base) OFS loss[e] OFS val[e] OFS best[e] OFS \
		    ((e in kdw) ? kdw[e] : "-") OFS ((e in lr) ? lr[e] : "-") OFS secs[e]
		for (j = 1; j <= n; j++)
			line = line OFS ((nstep[e] && (order[j] in seen)) ? \
			    sprintf("%.6g", sum[e, order[j]] / nstep[e]) : "-")
		print line
	}
}
