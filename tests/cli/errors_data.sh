#!/usr/bin/env bash
# errors_data.sh - damaged, missing and mismatched data files through the real binary.
# Each case copies a small valid data set, breaks one file, and expects exit code 3
# (a bad input file; 2 where the data does not fit the options) with a message naming
# the file and the problem, no crash, no sanitizer report and no output written.
source "$(dirname "$0")/errors_lib.bash"

GOOD="$TMP/good"
make_small_data "$GOOD"
DEV="$(cpu_device)"
RUN=(--device "$DEV" --val-size 50 --layers 784,8,10 --iters 2 --eval-every 1 --quiet)
TI=train-images-idx3-ubyte TL=train-labels-idx1-ubyte
SI=t10k-images-idx3-ubyte SL=t10k-labels-idx1-ubyte

succeeds "${RUN[@]}" --data "$GOOD" --out "$TMP/run"
guard "$TMP/run" "$GOOD"

# fresh NAME: a copy of the good data set in $TMP/NAME; prints its path.
fresh() {
	rm -rf "${TMP:?}/$1"
	cp -r "$GOOD" "$TMP/$1"
	echo "$TMP/$1"
}
# data_fails CODE PATTERN DIR: the run on DIR fails as expected.
data_fails() {
	fails "$1" "$2" -- "${RUN[@]}" --data "$3" --out "$NEVER"
}

# ---- the directory ----
data_fails 3 "data directory $TMP/nodir does not exist" "$TMP/nodir"
data_fails 3 "data directory $GOOD/$TI is not a directory" "$GOOD/$TI"

# ---- each of the four files: missing, empty, a directory, a FIFO, a device ----
for f in $TI $TL $SI $SL; do
	d="$(fresh missing)"; rm "$d/$f"
	data_fails 3 "$f not found in data directory $d" "$d"
	d="$(fresh empty)"; : >"$d/$f"
	data_fails 3 "$d/$f is empty" "$d"
	d="$(fresh isdir)"; rm "$d/$f"; mkdir "$d/$f"
	data_fails 3 "$d/$f is a directory" "$d"
	d="$(fresh fifo)"; rm "$d/$f"; mkfifo "$d/$f"
	data_fails 3 "$d/$f is not a regular file" "$d"
	d="$(fresh device)"; rm "$d/$f"; ln -s /dev/zero "$d/$f"
	data_fails 3 "$d/$f is not a regular file" "$d"
done
# A .gz name that is a directory (the plain name is absent).
d="$(fresh gzdir)"; rm "$d/$TL"; mkdir "$d/$TL.gz"
data_fails 3 "$d/$TL.gz is a directory" "$d"

# ---- headers ----
d="$(fresh hdr3)"; truncate -s 3 "$d/$TI"
data_fails 3 "$d/$TI: truncated header: 3 bytes, an IDX image file needs 16" "$d"
d="$(fresh hdr10)"; truncate -s 10 "$d/$TI"
data_fails 3 "$d/$TI: truncated header: 10 bytes" "$d"
d="$(fresh hdr6)"; truncate -s 6 "$d/$SL"
data_fails 3 "$d/$SL: truncated header: 6 bytes, an IDX label file needs 8" "$d"
d="$(fresh swapped)"; cp "$GOOD/$TL" "$d/$TI"
data_fails 3 "$d/$TI: wrong magic number.*a label file where an image file was expected" "$d"
d="$(fresh swapped2)"; cp "$GOOD/$SI" "$d/$SL"
data_fails 3 "$d/$SL: wrong magic number.*an image file where a label file was expected" "$d"
d="$(fresh magic)"; patch "$d/$TI" 0 'PK\003\004'
data_fails 3 "$d/$TI: wrong magic number.*got 0x504b0304.*not an IDX file" "$d"
d="$(fresh magic16)"; patch "$d/$TI" 2 '\013'   # type 0x0b: int16 data, not bytes
data_fails 3 "$d/$TI: wrong magic number.*0x00000b03" "$d"
d="$(fresh zero)"; patch "$d/$SI" 8 '\000\000\000\000'
data_fails 3 "$d/$SI: dimension 1 in the header is 0" "$d"
d="$(fresh huge)"; patch "$d/$TI" 4 '\377\377\377\377'
data_fails 3 "$d/$TI: the header declares 4294967295 x 28 x 28 bytes.*more than" "$d"

# ---- bodies ----
d="$(fresh body)"; truncate -s -100 "$d/$TI"
data_fails 3 "$d/$TI: truncated data.*cut short" "$d"
d="$(fresh body1)"; truncate -s -1 "$d/$TL"
data_fails 3 "$d/$TL: truncated data" "$d"
d="$(fresh trailing)"; printf 'x' >>"$d/$SL"
data_fails 3 "$d/$SL: trailing bytes" "$d"

# ---- files that do not belong together ----
d="$(fresh count)"; idx_head "$GOOD/$TL" 199 8 1 >"$d/$TL"
data_fails 3 "$d/$TI holds 200 images but $d/$TL holds 199 labels" "$d"
d="$(fresh count2)"; idx_head "$GOOD/$SI" 99 16 784 >"$d/$SI"
data_fails 3 "$d/$SI holds 99 images but $d/$SL holds 100 labels" "$d"
d="$(fresh label10)"; patch "$d/$TL" $((8 + 123)) '\012'
data_fails 3 "$d/$TL: label 10 at index 123 is out of range 0..9" "$d"
d="$(fresh label255)"; patch "$d/$SL" $((8 + 99)) '\377'
data_fails 3 "$d/$SL: label 255 at index 99" "$d"
# Images of another size: 14x14 test images beside 28x28 training images...
d="$(fresh size)"; synth_images 100 14 14 >"$d/$SI"
data_fails 3 "$d/$TI has 28x28 images but $d/$SI has 14x14" "$d"
# ...and a consistent 14x14 data set that does not fit --layers 784,...: a usage error.
d="$(fresh small14)"; synth_images 200 14 14 >"$d/$TI"; synth_images 100 14 14 >"$d/$SI"
data_fails 2 "input size 784 does not match the data's images \(196 pixels in $d\)" "$d"

# ---- gzip ----
d="$(fresh gz)"; gzip -n "$d"/*
succeeds "${RUN[@]}" --data "$d" --out "$TMP/gzrun"
d="$(fresh gzcorrupt)"; gzip -n "$d/$TI"; patch "$d/$TI.gz" 200 'garbage!garbage!'
data_fails 3 "$d/$TI.gz: corrupt gzip data \(zlib: " "$d"
d="$(fresh gzcut)"; gzip -n "$d/$TI"; truncate -s -2000 "$d/$TI.gz"
data_fails 3 "$d/$TI.gz: the gzip stream ends early" "$d"
d="$(fresh gzcrc)"; gzip -n "$d/$TL"; sz=$(stat -c %s "$d/$TL.gz"); patch "$d/$TL.gz" $((sz - 8)) '\000\000\000\000'
data_fails 3 "$d/$TL.gz: corrupt gzip data.*check" "$d"
d="$(fresh gzshort)"; truncate -s -10 "$d/$SI"; gzip -n "$d/$SI"
data_fails 3 "$d/$SI.gz: truncated data.*decompressed stream" "$d"
d="$(fresh gzlong)"; printf 'extra' >>"$d/$SL"; gzip -n "$d/$SL"
data_fails 3 "$d/$SL.gz: 5 trailing bytes" "$d"
d="$(fresh gzhdr)"; head -c 2 "$GOOD/$SL" | gzip -n >"$d/$SL.gz"; rm "$d/$SL"
data_fails 3 "$d/$SL.gz: truncated header: 2 bytes" "$d"
d="$(fresh gzonly)"; rm "$d/$TL"; printf '\037\213' >"$d/$TL.gz"
data_fails 3 "$d/$TL.gz: the gzip stream ends early" "$d"

# ---- a file the user may not read (root only: run as nobody via setpriv) ----
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
d="$(fresh noread)"; chmod 755 "$TMP" "$d"; chmod 644 "$d"/*; chmod 000 "$d/$TL"
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null &&
	"${NOBODY[@]}" test -x "$BIN" 2>/dev/null && "${NOBODY[@]}" test -r "$d/$TI" 2>/dev/null; then
	BIN_PREFIX=("${NOBODY[@]}" env HOME=/nonexistent)
	data_fails 3 "cannot open $d/$TL: Permission denied" "$d"
	BIN_PREFIX=()
else
	echo "note: not root or no setpriv, or nobody cannot reach $d: unreadable-file case skipped (the FIFO and device cases cover files that cannot be read as data)"
fi
chmod 700 "$TMP"

check "the existing run and the good data are untouched" guards_intact
finish
