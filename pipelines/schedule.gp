# schedule.gp: the distillation-schedule ablation over training: validation SumR per epoch of
# each schedule's model (top) and the distillation weight w(e) = λ·ρ(e) + w0 it used (bottom).
# Usage: gnuplot -e "in='schedule-curves.tsv'; out='schedule.png'; title='...'; k=5" schedule.gp
# in: TSV, a header line, then rows: epoch, k columns of validation SumR (one per schedule,
#     named in the header), k columns of w(e) in the same order; "-" after a run stopped.
set terminal pngcairo size 900,760 font ",10" noenhanced
set output out
set datafile separator "\t"
set datafile missing "-"
stats in using 1 nooutput
if (STATS_max <= 20) set xtics 1
set multiplot layout 2,1 title title font ",12"
set grid
set key outside right top
set xlabel "epoch"
set ylabel "validation SumR (β = 0.3)"
plot for [i=2:k+1] in using 1:i with linespoints pt 7 ps 0.6 lw 2 lc (i - 1) title columnhead(i)
set ylabel "distillation weight w(e)"
plot for [i=k+2:2*k+1] in using 1:i with lines lw 2 lc (i - k - 1) title columnhead(i)
unset multiplot
