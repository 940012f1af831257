# common.gp - settings shared by the trainer's plot scripts; each script loads it first.
# The trainer runs every script with its working directory set to the experiment
# directory, so every path a script sees is relative to it.
set encoding utf8
set datafile separator ','
set grid lc rgb '#dddddd'
set key box opaque
set border lc rgb '#444444'
# viridis (perceptually uniform, readable in grey and by most colour-blind readers)
set palette defined (0 '#440154', 0.125 '#482878', 0.25 '#3e4989', 0.375 '#31688e', \
                     0.5 '#26828e', 0.625 '#1f9e89', 0.75 '#35b779', 0.875 '#6ece58', \
                     1 '#fde725')
# Curves are drawn twice: PNG for the report, SVG for print. `eval png_term(w, h)`.
png_term(w, h) = sprintf("set terminal pngcairo size %d,%d font 'sans,10' noenhanced", w, h)
svg_term(w, h) = sprintf("set terminal svg size %d,%d font 'sans,10' dynamic noenhanced", w, h)
