# hist.gp - histograms of each weight matrix's values on a log count scale: every run
# given as a step line on shared bins, and the initial values as a grey area.
# Variables (gnuplot -e): plotdir, file (blocks of 'bin centre,count per run[,initial
# count]' lines, one block per matrix, separated by two blank lines), n (blocks),
# titles (one quoted word per block), sets (one quoted word per run), with_init (1:
# the last column is the initial values), out (without extension: writes .png), title.
load plotdir.'/common.gp'
ncols = n > 1 ? 2 : 1
nrows = (n + 1) / 2
m = words(sets)
height = 130 + 400 * nrows
eval png_term(1200, height)
set output out.'.png'
set logscale y
set yrange [0.5:*]
set xlabel 'weight value'
set ylabel 'entries'
set style fill solid 1.0 noborder
# One key for all panels, under the figure's title and above the panels.
set multiplot layout nrows, ncols title title margins 0.07, 0.98, 0.06, 1 - 95.0 / height spacing 0.08, 0.12
set key at screen 0.5, screen 1 - 40.0 / height center top horizontal
do for [i = 1:n] {
	set title word(titles, i)
	plot for [k = 1:with_init] file index (i - 1) using 1:(column(m + 2)) with boxes lc rgb '#d0d0d0' title 'initial values', \
	     for [k = 1:m] file index (i - 1) using 1:(column(k + 1)) with histeps lw 2 lc rgb run_colour(k) title word(sets, k)
	unset key
}
unset multiplot
set output
