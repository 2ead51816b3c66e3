# curves.gp: training curves of one model: every loss component per epoch (top; mean over the
# epoch's steps, log scale; colour = component, solid = inheritance branch, dashed = exploration)
# and validation SumR with the distillation weight w(e) (bottom).
# Usage: gnuplot -e "in='curves.tsv'; out='curves.png'; title='...'" curves.gp
# in: curves.awk's TSV: epoch loss val_sumr best kd_weight lr seconds, then columns 8-12 the
# inheritance branch's trip_t2v trip_v2t nce_t2v nce_v2t kd and 13-17 the exploration branch's.
set terminal pngcairo size 900,760 font ",10" noenhanced
set output out
set datafile separator "\t"
set datafile missing "-"
stats in using 1 nooutput
if (STATS_max <= 20) set xtics 1
set multiplot layout 2,1 title title font ",12"
set grid
set xlabel "epoch"
set ylabel "loss (mean over the epoch's steps)"
set logscale y
set key outside right top
set format y "%g"
# the components the run has (a column absent from the run is all "-")
present = system(sprintf("awk -F'\t' 'NR > 1 { for (i = 8; i <= 17; i++) if ($i != \"-\") f[i] = 1 } END { for (i = 8; i <= 17; i++) if (i in f) printf \"%%d \", i }' '%s'", in))
head = system(sprintf("head -n 1 '%s'", in))
name(i) = word(head, i)
hue(i) = (i <= 12 ? i - 7 : i - 12)
dash(i) = (i <= 12 ? 1 : 2)
plot for [c in present] in using 1:int(c) with linespoints pt 7 ps 0.5 lw 1.5 \
        dt dash(int(c)) lc hue(int(c)) title name(int(c)), \
     in using 1:2 with lines lw 2.5 lc "black" title "total"
unset logscale y
set ylabel "validation SumR (β = 0.3)"
set y2label "distillation weight w(e)"
set y2tics
set ytics nomirror
plot in using 1:3 with linespoints pt 7 lw 2 lc "blue" title "val SumR", \
     in using 1:($4 == 1 ? $3 : 1/0) with points pt 6 ps 2 lc "red" title "new best", \
     in using 1:5 axes x1y2 with lines dt 2 lw 2 lc "dark-green" title "w(e)"
unset multiplot
