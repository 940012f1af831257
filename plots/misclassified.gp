# misclassified.gp - a grid of misclassified test digits (grey: ink dark), each with
# "true -> predicted" above it. Variables (gnuplot -e): plotdir, file (raw float32
# mosaic, row-major, NaN between digits), labels (lines 'x,y,text'), w, h (the
# mosaic's size in pixels), out (without extension: writes .png), title.
load plotdir.'/common.gp'
eval png_term(40 + 5 * w, 80 + 5 * h)
set output out.'.png'
set palette grey negative
set cbrange [0:1]
unset colorbox
unset grid
unset key
unset tics
unset border
set size ratio -1
set xrange [-0.5 : w - 0.5]
set yrange [h - 0.5 : -0.5]
set title title
plot file binary array=(w, h) format='%float32' with image, \
     labels using 1:2:3 with labels font 'sans,13' tc rgb '#b2182b'
set output
