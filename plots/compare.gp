# compare.gp - several runs' validation loss or accuracy on shared axes.
# Variables (gnuplot -e): plotdir, files (metrics.csv paths, one quoted word each),
# titles (one quoted word per file), out (without extension: writes .png and .svg),
# title, what ('loss' or 'acc'), first (evaluations to leave out), logy (1: log y).
load plotdir.'/common.gp'
set xlabel 'iteration'
if (what eq 'loss') {
	set ylabel 'validation loss'
	col = 4
	set key top right
} else {
	set ylabel 'validation accuracy'
	col = 5
	set key bottom right
	if (first == 0) { set yrange [0:1] }
}
if (logy) { set logscale y; set format y '%.0e' }
set title title
do for [fmt in 'png svg'] {
	if (fmt eq 'png') { eval png_term(900, 560) } else { eval svg_term(900, 560) }
	set output out.'.'.fmt
	plot for [i = 1:words(files)] word(files, i) skip 1 + first using 1:col \
	     with lines lw 2 lt i title word(titles, i)
	set output
}
