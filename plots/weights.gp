# weights.gp - weight matrices drawn as images (rows = inputs, top to bottom; columns =
# units), each panel on a diverging colour map centred at 0 (white) with a symmetric
# scale [-s, s]: what is near zero looks white, in every panel alike. Reads the .npy
# files directly. Variables (gnuplot -e): plotdir, out (path without extension: writes
# .png), title, n (panels), ncols (panels per row), and one word per panel in: files,
# rows, cols, skips (bytes of .npy header before the float32 data), scales (s),
# titles (quoted words).
load plotdir.'/common.gp'
nrows = (n + ncols - 1) / ncols
eval png_term(560 * ncols, 80 + 420 * nrows)
set output out.'.png'
set xlabel 'unit (column)'
set ylabel 'input (row)'
unset grid
unset key
set tics out
set multiplot layout nrows, ncols title title
do for [i = 1:n] {
	r = word(rows, i) + 0
	c = word(cols, i) + 0
	s = word(scales, i) + 0.0
	eval diverging(s)
	set xrange [-0.5 : c - 0.5]
	set yrange [r - 0.5 : -0.5]
	set title sprintf('%s (%d x %d): colour scale +-%.3g', word(titles, i), r, c, s)
	eval sprintf("plot '%s' binary array=(%d,%d) format='%%float32' skip=%d endian=little with image", word(files, i), c, r, word(skips, i) + 0)
}
unset multiplot
set output
