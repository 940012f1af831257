# lr_acc.gp - test accuracy against the learning rate (log scale), the final
# parameters and those at the best validation accuracy, each the mean over the seeds
# with a bar from the lowest to the highest seed. Variables (gnuplot -e): plotdir,
# file (lr,final_mean,final_min,final_max,best_mean,best_min,best_max), out (without
# extension: writes .png and .svg), title.
load plotdir.'/common.gp'
set logscale x
set format x '%g'
set xlabel 'learning rate'
set ylabel 'test accuracy'
set yrange [0:1]
set offsets graph 0.05, graph 0.05, 0, 0
set title title
do for [fmt in 'png svg'] {
	if (fmt eq 'png') { eval png_term(900, 600) } else { eval svg_term(900, 600) }
	set output out.'.'.fmt
	plot file skip 1 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb run_colour(1) title 'final parameters', \
	     file skip 1 using ($1 * 1.04):5:6:7 with yerrorlines lw 2 pt 5 dt 2 lc rgb run_colour(2) title 'parameters at the best validation accuracy'
	set output
}
