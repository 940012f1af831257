# hist.gp - a histogram of each weight matrix's values (counts on a log scale).
# Variables (gnuplot -e): plotdir, file (blocks of 'bin centre,count' lines, one block
# per matrix, separated by two blank lines), n (blocks), titles (one quoted word per
# block), out (without extension: writes .png), title.
load plotdir.'/common.gp'
ncols = n > 1 ? 2 : 1
nrows = (n + 1) / 2
eval png_term(1200, 80 + 380 * nrows)
set output out.'.png'
unset key
set logscale y
set yrange [0.5:*]
set xlabel 'weight value'
set ylabel 'entries'
set style fill solid 0.8 noborder
set multiplot layout nrows, ncols title title
do for [i = 1:n] {
	set title word(titles, i)
	plot file index (i - 1) using 1:2 with boxes lc rgb '#31688e'
}
unset multiplot
set output
