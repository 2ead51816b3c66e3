# beta.gp: SumR against the fusion weight β (score = β · exploration + (1 − β) · inheritance) for
# one or more trained models: supplementary Figures 1 (one model) and 2 (DL-DKD against the
# two-branch baselines). β = 0 is the inheritance branch alone, β = 1 the exploration branch.
# Usage: gnuplot -e "in='beta.tsv'; out='beta.png'; title='...'; note='...'" beta.gp
# in: TSV, a header line, then rows: beta, SumR of each model (one column per model, named in
#     the header). note: a line printed under the title (what the paper reports).
set terminal pngcairo size 820,540 font ",10" noenhanced
set output out
set datafile separator "\t"
set title title . "\n" . note font ",11"
stats in using 1 nooutput
ncol = STATS_columns
set grid
set key outside bottom center horizontal
set bmargin 6
set xlabel "β   (0: inheritance branch alone … 1: exploration branch alone)"
set ylabel "SumR (R@1 + R@5 + R@10 + R@100), test split"
set xrange [-0.02:1.02]
set xtics 0.1
set arrow from 0.3, graph 0 to 0.3, graph 1 nohead dt 3 lc "gray40"
set label "β = 0.3 (paper's choice)" at 0.31, graph 0.04 tc "gray40"
plot for [i=2:ncol] in using 1:i with linespoints pt (i + 5) ps 1.2 lw 2 title columnhead(i)
