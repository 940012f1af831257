#!/usr/bin/env bash
# train.sh - a real training run through the binary, its outputs and their formats,
# --init-weights, and the refusal to overwrite a non-empty output directory.
source "$(dirname "$0")/lib.bash"
need_data
DEV="$(cpu_device)"

# The foundation's "done when": 784-128-10, He, lr 0.001, 1000 iterations >= 0.95.
out="$TMP/run"
"$BIN" --device "$DEV" --layers 784,128,10 --init he --lr 0.001 --iters 1000 \
	--data "$DATA" --out "$out" >"$TMP/stdout" 2>"$TMP/stderr"
check "training run exits 0 ($(tail -2 "$TMP/stderr"))" test $? -eq 0
check "metrics.csv header" test "$(head -1 "$out/metrics.csv")" = \
	"iter,train_loss,train_acc,val_loss,val_acc,seconds,train_ce,val_ce,l2_term"
check "metrics.csv has 10 rows" test "$(tail -n +2 "$out/metrics.csv" | wc -l)" -eq 10
check "last row is iteration 1000" test "$(tail -1 "$out/metrics.csv" | cut -d, -f1)" = 1000
val_acc="$(tail -1 "$out/metrics.csv" | cut -d, -f5)"
check "validation accuracy $val_acc >= 0.95" awk -v a="$val_acc" 'BEGIN { exit !(a >= 0.95) }'
check "summary.json has test_acc" grep -Eq '"test_acc":[[:space:]]*0\.9[0-9]*' "$out/summary.json"
check "summary.json has test_loss" grep -q '"test_loss"' "$out/summary.json"
check "summary.json status completed" grep -q '"status":[[:space:]]*"completed"' "$out/summary.json"
check "summary.json names the backend" grep -q "\"backend\":[[:space:]]*\"$DEV\"" "$out/summary.json"
check "summary.json not diverged" grep -q '"diverged":[[:space:]]*false' "$out/summary.json"
for f in w1 w2 b1 b2; do
	check "$f.npy magic" test "$(head -c 6 "$out/$f.npy" | tail -c 5)" = "NUMPY"
done
check "w1.npy header (784, 128) <f4 C order" \
	grep -aq "{'descr': '<f4', 'fortran_order': False, 'shape': (784, 128), }" "$out/w1.npy"
check "b2.npy header (10,)" grep -aq "'shape': (10,)" "$out/b2.npy"
check "w1.npy size = 128-byte preamble + 784*128*4" test "$(stat -c %s "$out/w1.npy")" -eq $((128 + 784 * 128 * 4))
check "no temporary files left" test -z "$(find "$out" -name '*.tmp*')"

# The output directory is not overwritten without --force, and stays intact.
sum_before="$(cat "$out"/* | md5sum)"
expect_exit 2 "not empty.*--force" -- --device "$DEV" --layers 784,128,10 --iters 10 --data "$DATA" --out "$out"
check "refused run left the directory unchanged" test "$(cat "$out"/* | md5sum)" = "$sum_before"

# --init-weights continues from the saved weights: the first evaluation of a run
# starting there is far better than chance.
"$BIN" --device "$DEV" --layers 784,128,10 --lr 0.0001 --iters 10 --eval-every 10 \
	--init-weights "$out" --data "$DATA" --out "$TMP/cont" --quiet
check "--init-weights run exits 0" test $? -eq 0
acc="$(tail -1 "$TMP/cont/metrics.csv" | cut -d, -f5)"
check "--init-weights starts from the trained weights (val acc $acc)" awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
expect_exit 3 "w1.npy.*shape \(784, 128\).*needs \(784, 64\)" -- --device "$DEV" --layers 784,64,10 --iters 1 \
	--init-weights "$out" --data "$DATA" --out "$TMP/bad"
expect_exit 3 "w1.npy" -- --device "$DEV" --layers 784,128,10 --iters 1 --init-weights "$TMP/nowhere" --data "$DATA" --out "$TMP/bad2"

# Data errors name the directory or file.
expect_exit 3 "/nonexistent" -- --device "$DEV" --data /nonexistent --out "$TMP/x"
expect_exit 2 "--val-size" -- --device "$DEV" --data "$DATA" --val-size 60000 --out "$TMP/x"
expect_exit 2 "input size 100 does not match" -- --device "$DEV" --data "$DATA" --layers 100,10 --out "$TMP/x"
expect_exit 2 "output size 7" -- --device "$DEV" --data "$DATA" --layers 784,7 --out "$TMP/x"

# --no-shuffle reproduces a run exactly on the same backend.
for r in a b; do
	"$BIN" --device "$DEV" --layers 784,32,10 --init he --iters 50 --eval-every 25 --no-shuffle \
		--threads 1 --data "$DATA" --out "$TMP/ns$r" --quiet
done
check "--no-shuffle runs are identical" test "$(cut -d, -f1-5 "$TMP/nsa/metrics.csv")" = "$(cut -d, -f1-5 "$TMP/nsb/metrics.csv")"

# Fashion-MNIST (Debian's dataset-fashion-mnist), gzipped, when installed.
fm=/usr/share/datasets/fashion-mnist
if [[ -f $fm/train-images-idx3-ubyte.gz ]]; then
	"$BIN" --device "$DEV" --layers 784,64,10 --init he --lr 0.001 --iters 200 --data "$fm" \
		--out "$TMP/fashion" --quiet
	check "Fashion-MNIST run exits 0" test $? -eq 0
	acc="$(tail -1 "$TMP/fashion/metrics.csv" | cut -d, -f5)"
	check "Fashion-MNIST learns (val acc $acc >= 0.6)" awk -v a="$acc" 'BEGIN { exit !(a >= 0.6) }'
fi
finish
