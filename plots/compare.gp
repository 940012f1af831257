# compare.gp - several configurations on shared axes: each the mean over its seeds,
# with a band from the lowest to the highest seed (invisible with one seed).
# Variables (gnuplot -e): plotdir, files (band.csv paths: iter,seeds,acc_mean,acc_min,
# acc_max,ce_mean,ce_min,ce_max,l2_mean,loss_mean,loss_min,loss_max,train_ce_mean; one
# quoted word each), titles (one quoted word per file), out (without extension: writes
# .png and .svg), title, what ('acc', 'ce' or 'loss'), first (evaluations to leave
# out), logy (1: log y), l2_of (1-based file whose L2 term is drawn too; 0: none).
load plotdir.'/common.gp'
set xlabel 'iteration'
set autoscale xfix
if (what eq 'acc') {
	set ylabel 'validation accuracy'
	c = 3
	if (first == 0) { set yrange [0:1] }
} else {
	if (what eq 'ce') {
		set ylabel l2_of ? 'validation cross-entropy; L2 term' : 'validation cross-entropy'
		c = 6
	} else {
		set ylabel 'validation loss'
		c = 10
	}
}
if (logy) { set logscale y; set format y '%.0e' }
set style fill transparent solid 0.18 noborder
set title title
bands = 'for [i = 1:words(files)] word(files, i) skip 1 + first using 1:(column(c + 1)):(column(c + 2)) with filledcurves lc rgb run_colour(i) notitle'
means = 'for [i = 1:words(files)] word(files, i) skip 1 + first using 1:(column(c)) with lines lw 2 lc rgb run_colour(i) title word(titles, i)'
l2term = "word(files, l2_of) skip 1 + first using 1:9 with lines lw 2 dt 2 lc rgb run_colour(l2_of) title 'L2 term, '.word(titles, l2_of)"
do for [fmt in 'png svg'] {
	if (fmt eq 'png') { eval png_term(900, 600) } else { eval svg_term(900, 600) }
	set output out.'.'.fmt
	# (an empty `for` clause still widens gnuplot's autoscale: build the command instead)
	if (l2_of > 0) { plot @bands, @means, @l2term } else { plot @bands, @means }
	set output
}
