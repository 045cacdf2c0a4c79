# SPDX-License-Identifier: GPL-2.0-or-later
#
# fsbench_chart.gp - bar chart of fsbench ratios (written by fsbench_report.py)
#
# Variables (gnuplot -e): datafile (chart.dat), outfile (PNG), ncols (number
# of columns in datafile), charttitle. chart.dat has a header line, then one
# line per workload: name, errovl target ratio (NaN: none), then one median
# ratio per configuration (NaN: not run). Optional: ymin, the y axis floor.
# The y axis is logarithmic so that 2x slower and 2x faster are the same
# distance from the 1.0 line.

set terminal pngcairo size 1400,700 font "DejaVu Sans,11"
set output outfile
set title charttitle font ",14"
set datafile separator "\t"
set datafile missing "NaN"
set key autotitle columnheader
set key outside top center horizontal
set style data histograms
set style histogram clustered gap 2
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
if (!exists("ymin")) ymin = 0.25
set yrange [ymin:*]
set ytics ("1/32" 0.03125, "1/16" 0.0625, "1/8" 0.125, "0.25" 0.25, "0.5" 0.5, "1" 1, "1.5" 1.5, "2" 2, "3" 3, "4" 4, "6" 6, "8" 8, "16" 16, "32" 32, "64" 64)
set grid ytics lc rgb "#cccccc"
set ylabel "wall time / kernel overlayfs (plain or volatile)"
set xtics nomirror rotate by -20 left
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black" front

# Cluster k is centred on x = k; each bar is 1 / (n + gap) wide.
nbars = ncols - 2
bw = 1.0 / (nbars + 2)
plot for [i=3:ncols] datafile using i:xtic(1), \
     for [i=3:ncols] datafile using ($0 + (i - 3 - (nbars - 1) / 2.0) * bw):i:(sprintf(column(i) < 0.1 ? "%.2f" : "%.1f", column(i))) \
        with labels offset 0,0.7 font ",8" notitle, \
     datafile using ($0):2:($0 - nbars * bw / 2):($0 + nbars * bw / 2) \
        with xerrorbars pt -1 lw 3 lc rgb "red" title "errovl target"
