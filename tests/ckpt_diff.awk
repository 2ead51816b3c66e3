# ckpt_diff.awk: compare the tensors of two checkpoints printed by `prvr-cat -a`, given as
# files A and B (awk -f ckpt_diff.awk A B). For every tensor and every array key (w, and the
# Adam moments m, v), the largest |a - b| relative to the tensor's largest |b|; prints one line
# per tensor and key "name key maxrel", and at the end "max KEY REL TENSOR" per key. A tensor
# or key present in one file only, or of another length, prints "MISMATCH ..." and exits 1.
function parse(line, out,    name, rest, key, i, n, vals) {
	if (!match(line, /"name":"[^"]*"/))
		return ""
	name = substr(line, RSTART + 8, RLENGTH - 9)
	rest = line
	while (match(rest, /"[a-z]+":\[[^]]*\]/)) {
		key = substr(rest, RSTART + 1, index(substr(rest, RSTART + 1), "\"") - 1)
		vals = substr(rest, RSTART, RLENGTH)
		sub(/^"[a-z]+":\[/, "", vals)
		sub(/\]$/, "", vals)
		rest = substr(rest, RSTART + RLENGTH)
		if (key == "shape")
			continue
		out[name, key] = vals
		keys[key] = 1
	}
	return name
}
FNR == 1 { file++ }
file == 1 { n = parse($0, A); if (n != "") names[++nn] = n; next }
file == 2 { parse($0, Bv) }
END {
	bad = 0
	for (i = 1; i <= nn; i++)
		for (k in keys) {
			if (!((names[i], k) in A) && !((names[i], k) in Bv))
				continue
			if (!((names[i], k) in A) || !((names[i], k) in Bv)) {
				print "MISMATCH " names[i] " " k ": in one checkpoint only"; bad = 1; continue
			}
			na = split(A[names[i], k], a, ",")
			nb = split(Bv[names[i], k], b, ",")
			if (na != nb) {
				print "MISMATCH " names[i] " " k ": " na " and " nb " values"; bad = 1; continue
			}
			scale = 0; d = 0
			for (j = 1; j <= na; j++) {
				x = b[j] < 0 ? -b[j] : b[j]
				if (x > scale) scale = x
				y = a[j] - b[j]; if (y < 0) y = -y
				if (y > d) d = y
			}
			rel = scale > 0 ? d / scale : d
			printf "%s %s %.3g\n", names[i], k, rel
			if (rel >= worst[k]) { worst[k] = rel; wname[k] = names[i] }
		}
	for (k in keys)
		printf "max %s %.3g %s\n", k, worst[k], wname[k]
	exit bad
}
