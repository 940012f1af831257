# common.gp - settings shared by the trainer's plot scripts; each script loads it first.
# The trainer runs every script with its working directory set to the experiment
# directory, so every path a script sees is relative to it.
set encoding utf8
set datafile separator ','
# Solid light grid lines behind the data (gnuplot's default dotted ones vanish in PNG).
set grid xtics ytics back lt 1 lw 1 lc rgb '#dcdcdc'
# Keys go above the plot, outside the data.
set key tmargin center horizontal box opaque samplen 2
set border lc rgb '#444444'
# viridis (perceptually uniform, readable in grey and by most colour-blind readers)
set palette defined (0 '#440154', 0.125 '#482878', 0.25 '#3e4989', 0.375 '#31688e', \
                     0.5 '#26828e', 0.625 '#1f9e89', 0.75 '#35b779', 0.875 '#6ece58', \
                     1 '#fde725')
# For signed values (weights): ColorBrewer's RdBu, white at 0, blue negative, red
# positive; `eval diverging(s)` also sets the colour range to [-s, s].
diverging(s) = sprintf("set palette defined (-1 '#053061', -0.75 '#2166ac', -0.5 '#4393c3', -0.25 '#92c5de', 0 '#f7f7f7', 0.25 '#f4a582', 0.5 '#d6604d', 0.75 '#b2182b', 1 '#67001f'); set cbrange [%.9g:%.9g]", -s, s)
# Curves are drawn twice: PNG for the report, SVG for print. `eval png_term(w, h)`.
png_term(w, h) = sprintf("set terminal pngcairo size %d,%d font 'sans,10' noenhanced", w, h)
svg_term(w, h) = sprintf("set terminal svg size %d,%d font 'sans,10' dynamic noenhanced", w, h)
# Colours of up to 8 runs or configurations on shared axes (Okabe-Ito).
run_colour(i) = word("#0072b2 #d55e00 #009e73 #cc79a7 #e69f00 #56b4e9 #000000 #f0e442", (i - 1) % 8 + 1)
