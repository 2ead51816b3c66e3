#!/bin/bash
# spectrum.sh BRANCH [FILE]: of the unit frames x of BRANCH in an encoded-videos stream (FILE or
# stdin; RAW=1: the frames as they are), the second moment M = sum x x^T (of unit frames: what
# prvr-index -r projects by), printed as
# "participation_ratio off_diagonal_share": (tr M)^2 / |M|_F^2, the number of directions the
# frames' squared length is spread over (the dim when even, 1 when all lies in one; 2 DIMS for
# prvr-gallery -a DIMS), and the share of |M|_F^2 off M's diagonal (near 0 when the axes are
# M's eigenvectors). Through prvr-cat -a and awk: for checks and small samples (O(dim^2) a frame).
set -u
: "${BIN:=bin}"
"$BIN"/prvr-cat -a "${2:--}" | awk -v br="$1" -v raw="${RAW:-0}" '
NR == 1 { match($0, /"dim":[0-9]+/); D = substr($0, RSTART + 6, RLENGTH - 6) + 0; next }
{
	if (!match($0, "\"" br "\":\\[[^]]*\\]")) { print "spectrum.sh: no branch " br > "/dev/stderr"; exit 1 }
	k = split(substr($0, RSTART + length(br) + 4, RLENGTH - length(br) - 5), x, ",")
	for (o = 0; o < k; o += D) {
		n2 = 0
		for (i = 1; i <= D; i++) n2 += x[o + i] ^ 2
		s = raw ? 1 : n2 > 0 ? 1 / sqrt(n2) : 0
		for (i = 1; i <= D; i++) for (j = i; j <= D; j++) M[i, j] += x[o + i] * x[o + j] * s * s
	}
}
END {
	for (i = 1; i <= D; i++) {
		tr += M[i, i]; dg += M[i, i] ^ 2
		for (j = i; j <= D; j++) f += (i == j ? 1 : 2) * M[i, j] ^ 2
	}
	if (f > 0) printf "%.4f %.4f\n", tr * tr / f, 1 - dg / f
}'
