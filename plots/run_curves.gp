# run_curves.gp - one run's loss or accuracy, from its metrics.csv
# (iter,train_loss,train_acc,val_loss,val_acc,seconds[,train_ce,val_ce,l2_term]).
# Variables (gnuplot -e): plotdir, csv, out (path without extension: writes .png and
# .svg), title, what ('loss' or 'acc'), first (evaluations to leave out at the start,
# so that the late ups and downs get their own y-range), logy (1: log-scale y),
# parts (loss: 0 = the file has no cross-entropy columns: the loss alone; 1 = the
# cross-entropy; 2 = the cross-entropy and the L2 term, with the loss they add up to).
load plotdir.'/common.gp'
set xlabel 'iteration'
set autoscale xfix
if (what eq 'loss') {
	if (parts) {
		set ylabel parts == 2 ? 'cross-entropy, L2 term, loss' : 'cross-entropy'
	} else {
		set ylabel 'loss (cross-entropy + L2 term)'
	}
} else {
	set ylabel 'accuracy'
	if (first == 0) { set yrange [0:1] }
}
if (logy) { set logscale y; set format y '%.0e' }
set title title
# The loss in its parts (macros: an empty `for` clause would still widen the autoscale,
# and a macro is expanded when its block is read, so these are set out here).
ce = "csv skip 1 + first using 1:7 with lines lw 1 lc rgb '#9ecae1' title 'training batch cross-entropy', csv skip 1 + first using 1:8 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#08519c' title 'validation cross-entropy'"
l2 = "csv skip 1 + first using 1:9 with lines lw 2 lc rgb '#d55e00' title 'L2 term', csv skip 1 + first using 1:4 with lines lw 1 dt 2 lc rgb '#666666' title 'validation loss (sum)'"
do for [fmt in 'png svg'] {
	if (fmt eq 'png') { eval png_term(900, 600) } else { eval svg_term(900, 600) }
	set output out.'.'.fmt
	if (what eq 'acc') {
		plot csv skip 1 + first using 1:3 with lines lw 1 lc rgb '#9ecae1' title 'training batch', \
		     csv skip 1 + first using 1:5 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#08519c' title 'validation'
	} else {
		if (parts == 0) {
			plot csv skip 1 + first using 1:2 with lines lw 1 lc rgb '#9ecae1' title 'training batch', \
			     csv skip 1 + first using 1:4 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#08519c' title 'validation (5000 images)'
		} else {
			if (parts == 2) { plot @ce, @l2 } else { plot @ce }
		}
	}
	set output
}
