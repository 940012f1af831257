#!/usr/bin/env bash
# errors.sh - bad options and output directories through the real binary: every numeric
# option with negative, zero, non-numeric, overflowing and NaN values (where invalid),
# malformed --layers, unknown devices, --val-size beyond the training file, and an
# output directory that exists, cannot be created or is not writable. Each case: the
# documented exit code (docs/ERRORS.md), a message naming the option or path, no crash,
# no sanitizer report, no output directory created, an existing run left untouched.
# Data, weights and OpenCL cases: errors_data.sh, errors_weights.sh, errors_opencl.sh.
source "$(dirname "$0")/errors_lib.bash"

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
RUN=(--device "$DEV" --data "$SMALL" --val-size 50 --layers 784,8,10 --iters 2
     --eval-every 1 --quiet)

# An existing run: no failing case may touch it.
succeeds "${RUN[@]}" --out "$TMP/run"
guard "$TMP/run" "$SMALL"

# ---- numeric options: OPTION then the values it must refuse ----
# Integers: threads 0..1024, val-size >= 0, seed 0..2^53, batch 1..65536, iters >= 1,
# eval-every >= 1. checkpoint-every: iterations >= 1, a duration (30s, 5m, 1h) or off.
# Reals: lr > 0, l2 >= 0; both finite.
big=99999999999999999999
numeric_cases=(
	"threads|-1|abc|$big|nan|1025|1.5|"
	"val-size|-1|abc|$big|nan|1e3|"
	"seed|-1|abc|$big|nan|0x10|9007199254740993|9223372036854775807|"
	"batch|0|-5|abc|$big|nan|65537|"
	"iters|0|-1|abc|$big|nan|1.5|"
	"eval-every|0|-1|abc|$big|nan|"
	"checkpoint-every|-1|0|abc|$big|nan|5x|m|1.5m|-5m|0s|5 m|OFF|"
	"lr|0|-1|-0|abc|1e999|-1e999|nan|-nan|inf|1001|1e-310|"
	"l2|-0.1|abc|1e999|nan|inf|1e4|"
)
for spec in "${numeric_cases[@]}"; do
	IFS='|' read -r -a vals <<<"$spec"
	opt="${vals[0]}"
	for v in "${vals[@]:1}"; do
		# The value is quoted in the message; an empty value is "needs a value"/"not a".
		fails 2 "--$opt '$v'|--$opt: " -- --$opt "$v" --out "$NEVER"
	done
	fails 2 "--$opt '12x'" -- --$opt=12x --out "$NEVER"
	fails 2 "--$opt needs a value" -- --out "$NEVER" --$opt
done
# Numeric options of the other subcommands: experiment --jobs 1..16, tune --candidates
# 1..1000.
for v in 0 -1 abc "$big" nan 17 1.5 ""; do
	fails 2 "--jobs '$v'" -- experiment --jobs "$v" --out "$NEVER"
done
for v in 0 -1 abc "$big" nan 1001 ""; do
	fails 2 "--candidates '$v'" -- tune --candidates "$v"
done
fails 2 "unknown option '--lr' for this command" -- report --lr 0.1
fails 2 "unknown option '--init-weights' for this command" -- experiment --init-weights x --out "$NEVER"
# Leading/trailing junk and empty values.
fails 2 "--batch ' 5 '" -- --batch " 5 " --out "$NEVER"
fails 2 "--batch '5 '" -- --batch "5 " --out "$NEVER"
fails 2 "--iters ''" -- --iters "" --out "$NEVER"
fails 2 "--lr ''" -- --lr= --out "$NEVER"
fails 2 "--quiet takes no value" -- --quiet=1 --out "$NEVER"

# The messages say what is wrong, not just that something is.
fails 2 "--seed '9007199254740993': must be between 0 and 9007199254740992 \\(2\\^53" -- \
	--seed 9007199254740993 --out "$NEVER"
fails 2 "--lr '1e-310': too close to zero to be represented" -- --lr 1e-310 --out "$NEVER"
fails 2 "--l2 '1e-320': too close to zero to be represented .*use 0 or a larger value" -- \
	--l2 1e-320 --out "$NEVER"
fails 2 "--checkpoint-every '0': use a number of iterations .*30s, 5m or 1h, or off" -- \
	--checkpoint-every 0 --out "$NEVER"

# Values at the edge that are valid: accepted (the run itself is tiny).
succeeds "${RUN[@]}" --threads 0 --seed 0 --l2 0 --checkpoint-every 1 --val-size 0 \
	--out "$TMP/edge1"
succeeds "${RUN[@]}" --seed 9007199254740992 --checkpoint-every off --out "$TMP/edge3"
check "the largest seed is recorded exactly" grep -q '"seed":[[:space:]]*9007199254740992,' \
	"$TMP/edge3/summary.json"
succeeds "${RUN[@]}" --checkpoint-every 1h --out "$TMP/edge4"
succeeds "${RUN[@]}" --threads 1024 --batch 1 --lr 1000 --out "$TMP/edge2"

# ---- --val-size as large as the training file or larger ----
fails 2 "--val-size 200 leaves no training examples.*$SMALL/train-images" -- \
	"${RUN[@]}" --val-size 200 --out "$NEVER"
fails 2 "--val-size 100000000 leaves no training examples" -- \
	"${RUN[@]}" --val-size 100000000 --out "$NEVER"
fails 2 "--val-size '100000001'" -- "${RUN[@]}" --val-size 100000001 --out "$NEVER"

# ---- --layers ----
for spec in "" "784" "784," ",784,10" "784,,10" "784,0,10" "784,-1,10" "784,abc,10" \
	    "784,1e3,10" "784, 10" "784,10x" "784;10" "784,$big,10" "784,1000001,10" \
	    "0x310,10" "784,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10" \
	    "784,1000000,1000000,10"; do
	fails 2 "--layers" -- --layers "$spec" --out "$NEVER"
done
# Well-formed but not matching the data: the message says what the data needs.
fails 2 "input size 100 does not match.*784" -- "${RUN[@]}" --layers 100,10 --out "$NEVER"
fails 2 "output size 7 does not match.*10 classes" -- "${RUN[@]}" --layers 784,7 --out "$NEVER"

# ---- devices ----
for d in nope gpu CPU cpu:0 "cl:" cl:abc cl:-1 gpu:-1 "cl:$big" cl:0x1 "cl:1 " "cpu "; do
	fails 2 "--device $d" -- "${RUN[@]}" --device "$d" --out "$NEVER"
done
fails 2 "--device: empty value" -- "${RUN[@]}" --device "" --out "$NEVER"
# Numbered devices that do not exist: a device error listing what there is.
if has_opencl_device; then
	fails 5 "--device cl:999: no such device.*cl:0 = " -- "${RUN[@]}" --device cl:999 --out "$NEVER"
else
	fails 5 "--device cl:999|no OpenCL driver|no backend for it" -- "${RUN[@]}" --device cl:999 --out "$NEVER"
fi

# ---- unknown options and stray arguments ----
fails 2 "unknown option '--bogus'" -- --bogus --out "$NEVER"
fails 2 "unknown option '--'|unexpected argument '--'" -- -- --out "$NEVER"
fails 2 "unknown command '-h'" -- -h
fails 2 "unknown option '--emit-jobs' for this command|unknown option '--emit-jobs'" -- \
	--emit-jobs x --out "$NEVER"

# ---- output directories ----
mkdir -p "$TMP/full" && echo keep >"$TMP/full/notes.txt"
guard "$TMP/full"
fails 2 "--out $TMP/full: directory exists and is not empty.*--force" -- "${RUN[@]}" --out "$TMP/full"
echo data >"$TMP/afile"
fails 2 "--out $TMP/afile: exists and is not a directory" -- "${RUN[@]}" --out "$TMP/afile"
fails 4 "cannot create directory $TMP/afile/sub" -- "${RUN[@]}" --out "$TMP/afile/sub"
check "the file in the way is unchanged" test "$(cat "$TMP/afile")" = data
fails 2 "--out: empty value" -- "${RUN[@]}" --out ""
long="$TMP/$(printf 'x%.0s' $(seq 1 1100))"
fails 2 "--out: value longer than" -- "${RUN[@]}" --out "$long"
check "a too long --out created nothing" test ! -e "$long"
# --resume of a directory that is not a run.
fails 3 "$TMP/full/checkpoint.bin" -- --resume "$TMP/full" --device "$DEV" --data "$SMALL" --quiet
fails 3 "$TMP/afile/checkpoint.bin" -- --resume "$TMP/afile" --device "$DEV" --data "$SMALL" --quiet

# Not writable: a read-only tmpfs (root only). Both a new directory inside it and an
# existing empty one are refused with exit code 4, before training starts.
RO="$TMP/ro"
mkdir -p "$RO"
if mount -t tmpfs -o size=64k tmpfs "$RO" 2>/dev/null; then
	at_exit "umount '$RO'"
	mkdir "$RO/empty"
	mount -o remount,ro "$RO"
	fails 4 "cannot create directory $RO/run.*Read-only" -- "${RUN[@]}" --out "$RO/run"
	fails 4 "$RO/empty: directory is not writable.*Read-only" -- "${RUN[@]}" --out "$RO/empty"
	check "nothing appeared in the read-only directory" test -z "$(ls -A "$RO/empty")"
else
	echo "note: cannot mount a tmpfs here (not root, or no permission): read-only cases skipped"
fi
# Not writable for the user: run as nobody (needs root and setpriv) in a root-owned dir.
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
mkdir -p "$TMP/rootonly" && chmod 755 "$TMP/rootonly" "$TMP"
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null &&
	"${NOBODY[@]}" test -x "$BIN" 2>/dev/null &&
	"${NOBODY[@]}" test -r "$SMALL/t10k-labels-idx1-ubyte" 2>/dev/null; then
	BIN_PREFIX=(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent)
	fails 4 "cannot create directory $TMP/rootonly/run.*Permission denied" -- \
		"${RUN[@]}" --out "$TMP/rootonly/run"
	BIN_PREFIX=()
else
	echo "note: not root or no setpriv, or nobody cannot reach $TMP: permission case skipped"
fi
chmod 700 "$TMP"

check "the existing run is untouched" guards_intact
finish
