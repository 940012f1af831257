#!/usr/bin/env bash
# errors_weights.sh - bad initial weights (--init-weights) and bad checkpoints (--resume)
# through the real binary: missing files, damaged .npy headers, another dtype, Fortran
# order, wrong shapes, truncated or overlong bodies, non-finite values; checkpoints that
# are empty, damaged, of another version, or of another network or data set. Each: exit
# code 3 with the file named, no crash, no sanitizer report, nothing written or changed.
source "$(dirname "$0")/errors_lib.bash"

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
RUN=(--device "$DEV" --data "$SMALL" --val-size 50 --layers 784,8,10 --iters 4
     --eval-every 2 --quiet)

# A finished run: its weights are the good --init-weights, its checkpoint the good one.
succeeds "${RUN[@]}" --out "$TMP/run"
W="$TMP/run"
succeeds "${RUN[@]}" --init-weights "$W" --out "$TMP/from-weights"
guard "$TMP/run" "$SMALL"

# wdir NAME FILE: a copy of the good weights in $TMP/NAME with FILE replaced by stdin.
wdir() {
	local d="$TMP/$1"
	rm -rf "$d"; mkdir -p "$d"
	cp "$W"/*.npy "$d"/
	cat >"$d/$2"
	echo "$d"
}
weights_fail() { # PATTERN DIR
	fails 3 "--init-weights: $1" -- "${RUN[@]}" --init-weights "$2" --out "$NEVER"
}

# The helper makes valid files: a zero w1 of the right shape is accepted.
d="$(npy '<f4' False '(784, 8)' | wdir zeros w1.npy)"
succeeds "${RUN[@]}" --init-weights "$d" --out "$TMP/from-zeros"

# ---- missing ----
# --init-weights names a directory: a file there is refused saying what to pass.
fails 2 "--init-weights $W/w1.npy: is a file, not a directory: pass the directory that holds w1.npy..wL.npy and b1.npy..bL.npy \($W\)" -- \
	"${RUN[@]}" --init-weights "$W/w1.npy" --out "$NEVER"
weights_fail "$TMP/nowhere does not exist: pass the directory that holds w1.npy" "$TMP/nowhere"
d="$(wdir nob2 b2.npy </dev/null)"; rm "$d/b2.npy"
weights_fail "$d/b2.npy does not exist" "$d"
d="$(wdir w1dir w1.npy </dev/null)"; rm "$d/w1.npy"; mkdir "$d/w1.npy"
weights_fail "$d/w1.npy is a directory, not a .npy file" "$d"
d="$(wdir w1fifo w1.npy </dev/null)"; rm "$d/w1.npy"; mkfifo "$d/w1.npy"
weights_fail "$d/w1.npy is not a regular file" "$d"
d="$(wdir w1empty w1.npy </dev/null)"
weights_fail "$d/w1.npy: too short to be a .npy file \(0 bytes\)" "$d"

# ---- the preamble and header ----
d="$(echo 'w1 = [[0.1, 0.2]]' | wdir text w1.npy)"
weights_fail "$d/w1.npy: not a .npy file" "$d"
d="$(printf '\223NUMPY\011\000\010\000{}      ' | wdir version w1.npy)"
weights_fail "$d/w1.npy: unsupported .npy format version 9.0" "$d"
d="$(printf '\223NUMPY\001\000\377\377{}' | wdir hlen w1.npy)"
weights_fail "$d/w1.npy: .npy header length 65535 runs past the end" "$d"
d="$(printf '\223NUMPY\002\000\377\377\377\177{}' | wdir hlen2 w1.npy)"
weights_fail "$d/w1.npy: .npy header length 2147483647 is implausible" "$d"
d="$(npy '<f4' False '(784, 8)' | sed '1s/{/[/' | wdir brace w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header at byte 0 of the header: expected '\{'" "$d"
d="$(npy '<f4' Maybe '(784, 8)' | wdir bool w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*expected True or False" "$d"
d="$(npy '<f4' False '(784 8)' | wdir tuple w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*expected ',', found '8'" "$d"
d="$(npy '<f4' False '(784, 8 1)' | wdir tuple2 w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*expected ',' or '\)', found '1'" "$d"
d="$(npy '<f4' False '(784)' 25088 | wdir notuple w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*expected ','" "$d"
d="$(npy '<f4' False '(99999999999999999999999, 8)' 0 | wdir bigdim w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*a dimension that fits in 64 bits" "$d"
d="$(npy '<f4' False '(4611686018427387904, 4611686018427387904)' 0 | wdir huge w1.npy)"
weights_fail "$d/w1.npy: the shape .* is impossibly large" "$d"
d="$(npy '<f4' False '(1, 1, 1, 1, 1)' 4 | wdir ndim5 w1.npy)"
weights_fail "$d/w1.npy: the array has more than 4 dimensions" "$d"
d="$(npy_dict "{'descr': '<f4', 'fortran_order': False, }" 4 | wdir nokey w1.npy)"
weights_fail "$d/w1.npy: the .npy header lacks the key 'shape'" "$d"
d="$(npy_dict "{'descr': '<f4', 'descr': '<f4', 'shape': (), }" 4 | wdir dupkey w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*one each of the keys" "$d"
d="$(npy_dict "{'descr': '<f4$(printf '\001')', 'fortran_order': False, 'shape': ()}" 4 | wdir ctrl w1.npy)"
weights_fail "$d/w1.npy: malformed .npy header.*a plain string" "$d"

# ---- dtype, order, shape ----
d="$(npy '<f8' False '(784, 8)' 50176 | wdir f8 w1.npy)"
weights_fail "$d/w1.npy: dtype '<f8' is not supported: only little-endian float32" "$d"
d="$(npy '>f4' False '(784, 8)' | wdir bigend w1.npy)"
weights_fail "$d/w1.npy: dtype '>f4' is not supported" "$d"
d="$(npy '<i4' False '(8,)' | wdir int b1.npy)"
weights_fail "$d/b1.npy: dtype '<i4' is not supported" "$d"
d="$(npy '<f4' True '(784, 8)' | wdir fortran w1.npy)"
weights_fail "$d/w1.npy: Fortran order not supported" "$d"
d="$(npy '<f4' False '(784, 9)' | wdir shape w1.npy)"
weights_fail "$d/w1.npy: shape \(784, 9\) does not match --layers, which needs \(784, 8\)" "$d"
d="$(npy '<f4' False '(8, 784)' | wdir transposed w1.npy)"
weights_fail "$d/w1.npy: shape \(8, 784\) does not match --layers, which needs \(784, 8\)" "$d"
d="$(npy '<f4' False '(6272,)' | wdir flat w1.npy)"
weights_fail "$d/w1.npy: shape \(6272\) does not match --layers" "$d"
d="$(npy '<f4' False '(1, 8)' | wdir b2d b1.npy)"
weights_fail "$d/b1.npy: shape \(1, 8\) does not match --layers, which needs \(8,\)" "$d"
d="$(npy '<f4' False '()' | wdir scalar b2.npy)"
weights_fail "$d/b2.npy: shape \(\) does not match --layers, which needs \(10,\)" "$d"
# Weights of another network (784,16,10) for --layers 784,8,10.
succeeds --device "$DEV" --data "$SMALL" --val-size 50 --layers 784,16,10 --iters 2 --eval-every 1 --quiet --out "$TMP/other"
weights_fail "$TMP/other/w1.npy: shape \(784, 16\) does not match --layers, which needs \(784, 8\)" "$TMP/other"

# ---- bodies ----
d="$(npy '<f4' False '(784, 8)' 25084 | wdir short w1.npy)"
weights_fail "$d/w1.npy: truncated: the shape \(784, 8\) needs 25088 bytes of data but the file has 25084" "$d"
d="$(npy '<f4' False '(8,)' 0 | wdir nobody b1.npy)"
weights_fail "$d/b1.npy: truncated" "$d"
d="$(npy '<f4' False '(8,)' 36 | wdir long b1.npy)"
weights_fail "$d/b1.npy: 4 trailing bytes" "$d"
# Non-finite values (0xffffffff is a NaN, 0x7f800000 +inf).
d="$({ npy '<f4' False '(8,)' 0; printf '\0\0\0\0\377\377\377\377\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'; } | wdir nan b1.npy)"
weights_fail "$d/b1.npy: element 1 is not finite" "$d"
d="$({ npy '<f4' False '(10,)' 0; printf '\0\0\200\177'; head -c 36 /dev/zero; } | wdir inf b2.npy)"
weights_fail "$d/b2.npy: element 0 is not finite" "$d"

# ---- --resume: bad checkpoints ----
CK=checkpoint.bin
rdir() { # NAME: a copy of the finished run in $TMP/NAME; prints its path
	rm -rf "${TMP:?}/$1"; cp -r "$TMP/run" "$TMP/$1"; echo "$TMP/$1"
}
resume_fails() { # CODE PATTERN DIR [ARGS...]
	local code="$1" pat="$2" dir="$3" guarded=0
	shift 3
	if [[ -d $dir ]]; then guard "$dir"; guarded=1; fi
	fails "$code" "$pat" -- --resume "$dir" --device "$DEV" --data "$SMALL" --iters 8 \
		--quiet "$@"
	[[ $guarded -eq 0 ]] || GUARDED=("${GUARDED[@]:0:${#GUARDED[@]}-1}")
	SNAPSHOT="$(snapshot)"
}
# crc_fix FILE: rewrite the CRC-32 in the last 4 bytes (gzip's trailer holds the
# same CRC-32, little-endian, of what it compressed).
crc_fix() {
	local n=$(($(stat -c %s "$1") - 4))
	head -c "$n" "$1" | gzip -c | tail -c 8 | head -c 4 |
		dd of="$1" bs=1 seek="$n" conv=notrunc status=none
}

succeeds --resume "$(rdir ok)" --device "$DEV" --data "$SMALL" --iters 6 --quiet
d="$(rdir fixed)"; crc_fix "$d/$CK"
check "crc_fix reproduces the trainer's CRC" cmp -s "$d/$CK" "$TMP/run/$CK"

resume_fails 3 "$TMP/nowhere/$CK does not exist" "$TMP/nowhere"
d="$(rdir empty)"; : >"$d/$CK"
resume_fails 3 "$d/$CK: not a trainer checkpoint \(too short: 0 bytes\)" "$d"
d="$(rdir isdir)"; rm "$d/$CK"; mkdir "$d/$CK"
resume_fails 3 "$d/$CK is a directory, not a checkpoint file" "$d"
d="$(rdir fifo)"; rm "$d/$CK"; mkfifo "$d/$CK"
resume_fails 3 "$d/$CK is not a regular file" "$d"
d="$(rdir npy)"; cp "$d/w1.npy" "$d/$CK"
resume_fails 3 "$d/$CK: not a trainer checkpoint \(bad magic\)" "$d"
d="$(rdir version)"; patch "$d/$CK" 8 '\004'
resume_fails 3 "$d/$CK: checkpoint version 4; this trainer reads versions 1 to 3" "$d"
d="$(rdir flip)"; patch "$d/$CK" 3000 '\125'
resume_fails 3 "$d/$CK: checkpoint is corrupt \(CRC mismatch\)" "$d"
d="$(rdir cut)"; truncate -s -1000 "$d/$CK"
resume_fails 3 "$d/$CK: the file has [0-9]+ bytes, but its header describes a checkpoint of [0-9]+ bytes: it is damaged" "$d"
d="$(rdir cut2)"; truncate -s 20 "$d/$CK"; crc_fix "$d/$CK"
resume_fails 3 "$d/$CK: truncated checkpoint" "$d"
# Damaged with a valid CRC: the parser's own checks (a header that declares another
# size than the file's is refused before the file is read). Layer sizes are u64 at 16,
# 24, 32.
d="$(rdir layers)"; patch "$d/$CK" 24 '\020'; crc_fix "$d/$CK"   # hidden 8 -> 16
resume_fails 3 "$d/$CK: the file has [0-9]+ bytes, but its header describes a checkpoint of [0-9]+ bytes" "$d"
d="$(rdir nsizes)"; patch "$d/$CK" 12 '\377'; crc_fix "$d/$CK"
resume_fails 3 "$d/$CK: corrupt checkpoint: 255 layer sizes" "$d"
d="$(rdir zerosize)"; patch "$d/$CK" 24 '\000'; crc_fix "$d/$CK"
resume_fails 3 "$d/$CK: corrupt checkpoint: bad layer sizes" "$d"
# A checkpoint of a network for other data: 14x14 images (196 inputs).
S14="$TMP/s14"; mkdir -p "$S14"
synth_images 200 14 14 >"$S14/train-images-idx3-ubyte"; synth_labels 200 >"$S14/train-labels-idx1-ubyte"
synth_images 100 14 14 >"$S14/t10k-images-idx3-ubyte"; synth_labels 100 >"$S14/t10k-labels-idx1-ubyte"
succeeds --device "$DEV" --data "$S14" --val-size 50 --layers 196,8,10 --iters 4 --eval-every 2 --quiet --out "$TMP/r14"
resume_fails 3 "--resume $TMP/r14: the checkpoint's network \(196,8,10\) takes 196 inputs, but the images in $SMALL have 784 pixels" "$TMP/r14"
# ...and the same network shape trained on other data of the same size.
S2="$TMP/small2"; cp -r "$SMALL" "$S2"; synth_labels 200 >"$S2/train-labels-idx1-ubyte"
resume_fails 3 "the checkpoint was made with other data than $S2 holds \\(150 training examples there, 150 in the checkpoint, but other images or labels\\)" "$TMP/run" --data "$S2"
# A checkpoint copied from a run of another network resumes that network, not the dir's.
d="$(rdir swapped)"; cp "$TMP/other/$CK" "$d/$CK"
succeeds --resume "$d" --device "$DEV" --data "$SMALL" --iters 4 --quiet
check "a copied checkpoint resumes its own network (784,16,10)" grep -q '16,' "$d/summary.json"

check "the existing run and the data are untouched" guards_intact
finish
