# confusion.gp - a run's test confusion matrix: rows the true class, columns the
# predicted one; the colour is the share of the true class's images (so that the
# mistakes show beside the full diagonal), the number the count of images.
# Variables (gnuplot -e): plotdir, file (lines 'predicted,true,images,share'), out
# (without extension: writes .png), title.
load plotdir.'/common.gp'
eval png_term(760, 700)
set output out.'.png'
set palette defined (0 '#ffffff', 0.02 '#fee8c8', 0.1 '#fdbb84', 0.3 '#e34a33', 1 '#7f0000')
set cbrange [0:1]
set cblabel 'share of the true class (nonlinear colours: small shares show)'
set xlabel 'predicted class'
set ylabel 'true class'
set xrange [-0.5:9.5]
set yrange [9.5:-0.5]
set xtics 0, 1, 9 out
set ytics 0, 1, 9 out
unset grid
unset key
set size ratio -1
set title title
plot file skip 1 using 1:2:4 with image, \
     file skip 1 using 1:2:($4 > 0.5 ? '' : sprintf('%d', $3)) with labels font 'sans,9' tc rgb '#000000', \
     file skip 1 using 1:2:($4 > 0.5 ? sprintf('%d', $3) : '') with labels font 'sans,9' tc rgb '#ffffff'
set output
