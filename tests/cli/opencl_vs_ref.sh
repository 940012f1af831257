#!/usr/bin/env bash
# opencl_vs_ref.sh - the same training run on the OpenCL device ($TRAINER_TEST_DEVICE,
# default cl:0) and on the cpu-ref oracle, through the binary: 784-128-10, He, lr
# 0.001, 1000 iterations, same seed. The validation accuracies must agree within 0.005
# and every logged loss within 1e-3 relative (SPEC.md: float32 and float64
# trajectories of this network agree to ~1e-7 at step 100, 1e-4 at step 300, 1e-3 at
# step 450; we measured 2.4e-7 at step 1000 between cl:0 on PoCL and cpu-ref).
# Then resume equality on the device (its data set uploaded there). Skipped without an
# OpenCL device, except in CI (TRAINER_REQUIRE_OPENCL=1), where that is a failure.
source "$(dirname "$0")/lib.bash"
need_data
need_opencl
A=(--layers 784,128,10 --init he --lr 0.001 --iters 1000 --data "$DATA" --quiet)
"$BIN" --device "$TEST_DEVICE" "${A[@]}" --out "$TMP/cl"
check "$TEST_DEVICE run exits 0" test $? -eq 0
"$BIN" --device cpu-ref "${A[@]}" --out "$TMP/ref"
check "cpu-ref run exits 0" test $? -eq 0
check "the OpenCL run really ran on OpenCL" grep -q '"backend":[[:space:]]*"opencl"' "$TMP/cl/summary.json"
echo "device: $(grep -m1 '"device_name"' "$TMP/cl/summary.json")"
report="$(paste -d, "$TMP/cl/metrics.csv" "$TMP/ref/metrics.csv" | awk -F, '
	NR == 1 { next }
	function rel(a, b) { d = (a - b) / b; return d < 0 ? -d : d }
	{
		for (c = 2; c <= 4; c += 2) if (rel($c, $(c + 9)) > m) m = rel($c, $(c + 9))
		a = $5 - $14; if (a < 0) a = -a; if (a > acc) acc = a
		n++
	}
	END { printf "%d %g %g\n", n, m, acc }')"
read -r rows loss_diff acc_diff <<<"$report"
echo "rows $rows, worst relative loss difference $loss_diff, worst val_acc difference $acc_diff"
check "10 rows compared" test "$rows" -eq 10
check "losses agree within 1e-3 (worst $loss_diff)" awk -v d="$loss_diff" 'BEGIN { exit !(d <= 1e-3) }'
check "validation accuracy agrees within 0.005 (worst $acc_diff)" awk -v d="$acc_diff" 'BEGIN { exit !(d <= 0.005) }'

# Resume equality with the data set on the device: 40 iterations, then --resume to 60
# in a new process, give the metrics and the weights, bit for bit, of 60 in one go.
R=(--device "$TEST_DEVICE" --layers 784,32,10 --init he --lr 0.001 --eval-every 20 --data "$DATA" --quiet)
"$BIN" "${R[@]}" --iters 60 --out "$TMP/whole" &&
	"$BIN" "${R[@]}" --iters 40 --out "$TMP/part" &&
	"$BIN" --resume "$TMP/part" --iters 60 --quiet
check "$TEST_DEVICE: train 40, resume to 60 (exit $?)" test -s "$TMP/part/w2.npy"
check "$TEST_DEVICE: resumed = uninterrupted, metrics.csv" \
	test "$(cut -d, -f1-5 "$TMP/part/metrics.csv")" = "$(cut -d, -f1-5 "$TMP/whole/metrics.csv")"
for f in w1 b1 w2 b2; do
	check "$TEST_DEVICE: resumed = uninterrupted, $f.npy bit for bit" cmp -s "$TMP/part/$f.npy" "$TMP/whole/$f.npy"
done
finish
