#!/usr/bin/env bash
# make_corpus.sh - (re)write the seed inputs in tests/fuzz/corpus/<target>/: tiny valid
# files and a few typical broken ones for each reader, and argument lists for the
# option parser. Files named crash-* (found crashes, kept as regression inputs) are
# left alone. Usage: tests/fuzz/make_corpus.sh path/to/trainer
set -eu  # no pipefail: `| head -c` cuts producers short on purpose
BIN="${1:?usage: make_corpus.sh path/to/trainer}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
C="$here/corpus"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$C"/{idx,npy,checkpoint,options}
find "$C" -type f ! -name 'crash-*' -delete

source "$here/../cli/errors_craft.bash"   # be32, synth_images, synth_labels, npy_dict
images() { synth_images "$@"; }
labels() { synth_labels "$@"; }

# ---- idx ----
images 2 3 3 >"$C/idx/images-2x3x3"
labels 5 >"$C/idx/labels-5"
images 1 28 28 | gzip -n >"$C/idx/images-1x28x28.gz"
labels 10 | gzip -n >"$C/idx/labels-10.gz"
labels 5 | head -c 6 >"$C/idx/bad-truncated-header"
images 2 3 3 | head -c 30 >"$C/idx/bad-truncated-body"
{ labels 5; printf 'xx'; } >"$C/idx/bad-trailing"
{ be32 $((0x803)); be32 0; be32 3; be32 3; } >"$C/idx/bad-zero-dim"
{ be32 $((0x803)); be32 4294967295; be32 4294967295; be32 4294967295; } >"$C/idx/bad-huge-dims"
{ be32 $((0x802)); be32 1; printf 'a'; } >"$C/idx/bad-magic"
images 2 3 3 | gzip -n | head -c 20 >"$C/idx/bad-gzip-cut"

# ---- npy ----
npy() { npy_dict "$@"; }
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" 24 >"$C/npy/f4-2x3.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" 12 >"$C/npy/f4-3.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (), }" 4 >"$C/npy/f4-scalar.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }" 0 >"$C/npy/f4-empty.npy"
npy "{\"shape\": (1, 1, 1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}" 8 >"$C/npy/f4-4d-reordered.npy"
npy "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" 16 >"$C/npy/bad-f8.npy"
npy "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }" 16 >"$C/npy/bad-fortran.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" 20 >"$C/npy/bad-truncated.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 2), }" 0 >"$C/npy/bad-huge.npy"
# format 2.0: a 4-byte header length
h="{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"
n=$(( (64 - (12 + ${#h} + 1) % 64) % 64 ))
{ printf '\223NUMPY\002\000'; printf "$(printf '\\%03o' $(( ${#h} + n + 1 )))"; printf '\000\000\000'
  printf '%s%*s\n' "$h" "$n" ""; head -c 4 /dev/zero; } >"$C/npy/f4-v2.npy"

# ---- checkpoint: a real one from a 4-3-10 network on 2x2 synthetic images ----
d="$tmp/data"; mkdir -p "$d"
images 30 2 2 >"$d/train-images-idx3-ubyte"; labels 30 >"$d/train-labels-idx1-ubyte"
images 10 2 2 >"$d/t10k-images-idx3-ubyte"; labels 10 >"$d/t10k-labels-idx1-ubyte"
"$BIN" --device cpu-ref --data "$d" --val-size 10 --layers 4,3,10 --batch 4 --iters 6 \
	--eval-every 3 --quiet --out "$tmp/run"
cp "$tmp/run/checkpoint.bin" "$C/checkpoint/valid-4-3-10.bin"
"$BIN" --device cpu-ref --data "$d" --val-size 10 --layers 4,2,2,10 --batch 2 --iters 2 \
	--eval-every 1 --no-shuffle --init he --l2-scope weights --quiet --out "$tmp/run2"
cp "$tmp/run2/checkpoint.bin" "$C/checkpoint/valid-4-2-2-10.bin"
# Checkpoints of the older versions (tests/fixtures), which must still load.
for f in "$here"/../fixtures/checkpoint-v*.bin; do
	cp "$f" "$C/checkpoint/valid-$(basename "$f" .bin | sed 's/^checkpoint-//').bin"
done
head -c 100 "$tmp/run/checkpoint.bin" >"$C/checkpoint/bad-truncated.bin"
printf 'TRCKPT01\377\000\000\000\000\000\000\000' >"$C/checkpoint/bad-version.bin"

# ---- options: argv[1..] separated by NUL bytes ----
opt() { local f="$C/options/$1"; shift; printf '%s\0' "$@" | head -c -1 >"$f"; }
opt lab --layers 784,1500,1000,500,10 --init uniform01 --lr 0.005 --l2 0.0005 --batch 64 --iters 30000
opt small --device cpu --threads 2 --layers=784,128,10 --init he --lr=0.001 --iters 1000 --out runs/x
opt resume --resume runs/x --iters 2000 --quiet --checkpoint-every 50
opt misc --no-shuffle --force --seed 42 --val-size 0 --eval-every 10 --l2-scope weights --data d
opt bad-values --lr nan --batch 0 --layers 784,,10 --device cl:99999999999999999999
opt bad-flags --quiet=1 -x --bogus --help --version --list-devices
opt long --out "$(printf 'o%.0s' $(seq 1 1100))"
echo "corpus: $(find "$C" -type f | wc -l) files, $(du -sk "$C" | cut -f1) KB"
