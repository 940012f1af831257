# tiles.gp - the first columns of W1 as 28x28 tiles: what each first-layer unit looks
# at. Each tile is min-max normalised on its own; blank lines separate the tiles.
# Variables (gnuplot -e): plotdir, file (raw float32 mosaic, row-major, NaN between
# tiles), w, h (its size in pixels), out (without extension: writes .png), title.
load plotdir.'/common.gp'
eval png_term(760, 700)
set output out.'.png'
set cbrange [0:1]
set cblabel 'per-tile (w - min) / (max - min)'
unset grid
unset key
unset tics
set cbtics
set size ratio -1
set xrange [-0.5 : w - 0.5]
set yrange [h - 0.5 : -0.5]
set title title
plot file binary array=(w, h) format='%float32' with image
set output
