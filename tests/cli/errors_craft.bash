# errors_craft.bash - functions that write test files byte by byte (IDX, .npy), for the
# error tests (sourced by errors_lib.bash) and tests/fuzz/make_corpus.sh. Sourced, not
# run; defines functions only.

# Big-endian 32-bit integer as 4 raw bytes on stdout.
be32() {
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
		$(($1 >> 8 & 255)) $(($1 & 255)))"
}

# patch FILE OFFSET BYTES: overwrite bytes (a printf format, e.g. '\377') at OFFSET.
patch() {
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# idx_head SRC N HEADER_LEN RECORD_LEN: the first N records of an IDX file, with the
# count in its header set to N.
idx_head() {
	head -c 4 "$1"
	be32 "$2"
	head -c "$3" "$1" | tail -c +9
	tail -c +"$(($3 + 1))" "$1" | head -c "$(($2 * $4))"
}

# Synthetic IDX files: N images of ROWSxCOLS pseudo-random bytes; N labels 0..9.
synth_images() {
	be32 $((0x803)); be32 "$1"; be32 "$2"; be32 "$3"
	head -c $(($1 * $2 * $3)) /dev/urandom
}
synth_labels() {
	local i
	be32 $((0x801)); be32 "$1"
	for ((i = 0; i < $1; i += 10)); do printf '\000\001\002\003\004\005\006\007\010\011'; done |
		head -c "$1"
}

# npy_dict DICT BODY_BYTES: a .npy file (format 1.0) with this header dict, padded as
# NumPy pads it, and BODY_BYTES zero bytes of data, on stdout.
npy_dict() {
	local n=$(( (64 - (10 + ${#1} + 1) % 64) % 64 )) len
	len=$(( ${#1} + n + 1 ))
	printf '\223NUMPY\001\000'
	printf "$(printf '\\%03o\\%03o' $((len & 255)) $((len >> 8)))"
	printf '%s%*s\n' "$1" "$n" ""
	head -c "$2" /dev/zero
}
# npy DESCR FORTRAN SHAPE [BODY_BYTES]: BODY_BYTES defaults to 4 per element.
npy() {
	local p=1 x
	for x in $(echo "$3" | tr -c '0-9' ' '); do p=$((p * x)); done
	npy_dict "{'descr': '$1', 'fortran_order': $2, 'shape': $3, }" "${4:-$((p * 4))}"
}
