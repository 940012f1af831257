# tiles.gp - the first columns of W1 as 28x28 tiles: what each first-layer unit looks
# at, on one diverging colour scale [-scale, scale] for every tile (white: 0), one
# mosaic per file side by side. Variables (gnuplot -e): plotdir, files (raw float32
# mosaics, row-major, NaN between tiles), names (one quoted word per mosaic), w, h (a
# mosaic's size in pixels), scale, out (without extension: writes .png), title.
load plotdir.'/common.gp'
n = words(files)
eval png_term(40 + 680 * n, 720)
set output out.'.png'
eval diverging(scale)
set cblabel 'w'
unset grid
unset key
unset tics
set cbtics
set size ratio -1
set xrange [-0.5 : w - 0.5]
set yrange [h - 0.5 : -0.5]
# Grey behind the mosaic: the gaps between tiles (NaN) show apart from white (w = 0).
set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind fc rgb '#b0b0b0' fs solid noborder
set multiplot layout 1, n title title
do for [i = 1:n] {
	set title (word(names, i) eq '_') ? '' : word(names, i)
	plot word(files, i) binary array=(w, h) format='%float32' with image
}
unset multiplot
set output
