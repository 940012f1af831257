#!/usr/bin/env bash
# gpu_check.sh - bench/gpu-check.sh, the one-command check of a GPU, run end to end on
# the OpenCL device this machine has (GPU_CHECK_DEVICES=cl:0, few iterations): exit 0,
# one valid JSON file with the correctness check, the bench figures with the step's
# counters and the training run, and a summary; and, with no GPU to check, exit 2 with
# a message that says so. Skipped without an OpenCL device or MNIST (failures under
# TRAINER_REQUIRE_OPENCL=1 / TRAINER_REQUIRE_DATA=1).
source "$(dirname "$0")/lib.bash"
SRC="${TRAINER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
need_opencl
need_data
if ! command -v jq >/dev/null; then
	bad "jq is missing (ci/install-deps.sh installs it)"
	finish
fi
export TRAINER="$BIN" TRAINER_DATA_DIR="$DATA"

# No GPU on this machine (or none named): exit 2, saying so.
if ! "$BIN" --list-devices | grep -qE '^  cl:[0-9]+ gpu:'; then
	rc=0
	bash "$SRC/bench/gpu-check.sh" "$TMP/none" >"$TMP/none.out" 2>&1 || rc=$?
	check "no GPU: exit 2 ($rc)" test "$rc" -eq 2
	check "no GPU: it says so" grep -q 'no OpenCL GPU found' "$TMP/none.out"
fi

rc=0
# A small network keeps it short (the lab's takes minutes on PoCL, more under ASan).
GPU_CHECK_DEVICES="${TRAINER_TEST_DEVICE:-cl:0}" GPU_CHECK_ITERS=10 GPU_CHECK_BENCH_ITERS=3 \
	GPU_CHECK_LAYERS=784,64,10 GPU_CHECK_VERIFY_ARGS=--quick bash "$SRC/bench/gpu-check.sh" "$TMP/out" >"$TMP/out.log" 2>&1 || rc=$?
check "gpu-check on ${TRAINER_TEST_DEVICE:-cl:0} exits 0 ($rc: $(tail -5 "$TMP/out.log"))" test "$rc" -eq 0
J="$TMP/out/gpu-check.json"
check "gpu-check.json is valid JSON" jq -e . "$J" >/dev/null
check "it passed" jq -e '.passed == true' "$J"
check "the correctness check ran and passed" jq -e '.checks[0].verify.exit_code == 0' "$J"
check "bench figures with the counters (784-64-10: 12 launches)" \
	jq -e '.checks[0].bench.result.backends[0].launches_per_step == 12 and
	       .checks[0].bench.result.backends[0].blocking_syncs_per_step == 0' "$J"
check "the training run's summary (10 iterations)" \
	jq -e '.checks[0].lab_run.summary.iterations_done == 10 and
	       .checks[0].lab_run.exit_code == 0' "$J"
check "the cpu backend measured beside it" jq -e '.cpu_bench.backends[0].device == "cpu"' "$J"
check "summary.txt ends with the verdict" grep -q 'verdict: every check passed' "$TMP/out/summary.txt"
finish
