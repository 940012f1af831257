# weights.gp - a run's weight matrices W1..Wn, each min-max normalised to [0, 1] and
# drawn as an image (rows = inputs, top to bottom; columns = units), as the seed does,
# with the viridis colour map and a colour bar. Reads the .npy files directly.
# Variables (gnuplot -e): plotdir, out (path without extension: writes .png), title,
# n (matrices), and one word per matrix in: files, rows, cols, skips (bytes of .npy
# header before the float32 data), mins, maxs (the matrix's minimum and maximum).
load plotdir.'/common.gp'
ncols = n > 1 ? 2 : 1
nrows = (n + 1) / 2
eval png_term(1400, 80 + 520 * nrows)
set output out.'.png'
set cbrange [0:1]
set cblabel '(w - min) / (max - min)'
set xlabel 'unit (column)'
set ylabel 'input (row)'
unset grid
unset key
set tics out
set multiplot layout nrows, ncols title title
do for [i = 1:n] {
	r = word(rows, i) + 0
	c = word(cols, i) + 0
	lo = word(mins, i) + 0.0
	hi = word(maxs, i) + 0.0
	set xrange [-0.5 : c - 0.5]
	set yrange [r - 0.5 : -0.5]
	set title sprintf('W%d (%d x %d): min %.4g, max %.4g', i, r, c, lo, hi)
	eval sprintf("plot '%s' binary array=(%d,%d) format='%%float32' skip=%d endian=little using (($1 - %.9g) / (%.9g)) with image", word(files, i), c, r, word(skips, i) + 0, lo, hi - lo)
}
unset multiplot
set output
