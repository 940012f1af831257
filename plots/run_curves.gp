# run_curves.gp - one run's loss or accuracy, from its metrics.csv
# (iter,train_loss,train_acc,val_loss,val_acc,seconds).
# Variables (gnuplot -e): plotdir, csv, out (path without extension: writes .png and
# .svg), title, what ('loss' or 'acc'), first (evaluations to leave out at the start,
# so that the late ups and downs get their own y-range), logy (1: log-scale y).
load plotdir.'/common.gp'
set xlabel 'iteration'
if (what eq 'loss') {
	set ylabel 'loss (cross entropy + L2 term)'
	ctrain = 2; cval = 4
	ttrain = 'training batch'; tval = 'validation (5000 images)'
	set key top right
} else {
	set ylabel 'accuracy'
	ctrain = 3; cval = 5
	ttrain = 'training batch'; tval = 'validation'
	set key bottom right
	if (first == 0) { set yrange [0:1] }
}
if (logy) { set logscale y; set format y '%.0e' }
set title title
do for [fmt in 'png svg'] {
	if (fmt eq 'png') { eval png_term(900, 560) } else { eval svg_term(900, 560) }
	set output out.'.'.fmt
	plot csv skip 1 + first using 1:ctrain with lines lw 1 lc rgb '#9ecae1' title ttrain, \
	     csv skip 1 + first using 1:cval with linespoints lw 2 pt 7 ps 0.4 lc rgb '#08519c' title tval
	set output
}
