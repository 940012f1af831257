#!/usr/bin/env bash
# opencl_platforms.sh - the device list as bench, tune and auto use it, on this machine
# and with several OpenCL platforms installed: PoCL (a CPU device) beside Oclgrind (a
# simulator that reports itself as GPU, CPU and accelerator at once), made visible to
# the ICD loader through OCL_ICD_VENDORS. Checks that:
#   - `trainer bench` without --backends measures the OpenCL devices too (it skipped
#     them while the device list counted no OpenCL device);
#   - with both platforms, numbering follows the loader (Oclgrind's cl:0, PoCL's cl:1),
#     the simulator is listed as such, is not a GPU (gpu:0 does not exist), `auto`
#     does not train on it, and `trainer tune` picks PoCL's device, not the simulator.
# Skipped without an OpenCL device (a failure under TRAINER_REQUIRE_OPENCL=1); the
# two-platform part is skipped when Oclgrind or PoCL's ICD library is not installed.
source "$(dirname "$0")/lib.bash"

need_opencl

# ---- bench without --backends: every device but cpu-ref, the OpenCL ones included ----
"$BIN" bench --layers 16,10 --batch 8 --iters 2 --json >"$TMP/bench.json" 2>"$TMP/bench.err"
check "bench without --backends exits 0 ($(tail -2 "$TMP/bench.err"))" test $? -eq 0
check "bench without --backends measures cl:0" grep -q '"device":[[:space:]]*"cl:0"' "$TMP/bench.json"
check "bench without --backends measures cpu" \
	bash -c "! '$BIN' --list-devices | grep -q '^cpu ' || grep -q '\"device\":[[:space:]]*\"cpu\"' '$TMP/bench.json'"
check "bench without --backends leaves cpu-ref out" bash -c "! grep -q '\"cpu-ref\"' '$TMP/bench.json'"

# ---- two platforms: Oclgrind (listed first by ocl-icd) and PoCL ----
oclgrind_icd=/usr/lib/oclgrind/liboclgrind-rt-icd.so
pocl_icd=$(sed -n 1p /etc/OpenCL/vendors/pocl.icd 2>/dev/null || true)
if [[ ! -f "$oclgrind_icd" || -z "$pocl_icd" ]]; then
	echo "Oclgrind or PoCL's ICD not installed: skipping the two-platform checks"
	finish
fi
mkdir -p "$TMP/vendors"
echo "$oclgrind_icd" >"$TMP/vendors/oclgrind.icd"
echo "$pocl_icd" >"$TMP/vendors/pocl.icd"
export OCL_ICD_VENDORS="$TMP/vendors"

"$BIN" --list-devices >"$TMP/list" 2>&1
check "--list-devices with two platforms exits 0" test $? -eq 0
check "Oclgrind is cl:0 and listed as a simulator ($(grep 'cl:0' "$TMP/list"))" \
	grep -Eq '^  cl:0 +sim .*Oclgrind' "$TMP/list"
check "PoCL is cl:1, a CPU device ($(grep 'cl:1' "$TMP/list"))" \
	grep -Eq '^  cl:1 +CPU .*Portable Computing Language' "$TMP/list"
check "the simulator is not numbered as a GPU" bash -c "! grep -q 'gpu:0' '$TMP/list'"

"$BIN" --device gpu:0 --layers 784,8,10 --iters 1 --out "$TMP/never" >"$TMP/out" 2>"$TMP/err"
rc=$?
check "gpu:0 with only a simulator and a CPU device: exit 5 ($rc: $(head -c 300 "$TMP/err"))" \
	test "$rc" -eq 5
check "gpu:0 says there is no GPU and names the simulator" \
	grep -q 'no GPU.*cl:0 = Oclgrind Simulator (sim' "$TMP/err"

"$BIN" bench --device auto --layers 16,10 --batch 8 --iters 2 --json >"$TMP/auto.json" 2>"$TMP/auto.err"
check "bench --device auto exits 0 ($(tail -2 "$TMP/auto.err"))" test $? -eq 0
check "auto does not choose the simulator" bash -c "! grep -q 'Oclgrind' '$TMP/auto.json'"
check "auto chooses a CPU backend when there is no real GPU" \
	grep -Eq '"name":[[:space:]]*"(host CPU|scalar)' "$TMP/auto.json"

# tune without --device opens PoCL's cl:1 (the cache turned off stops it right after)
TRAINER_CLBLAST_CACHE=off "$BIN" tune --layers 16,10 --batch 8 >"$TMP/tune.out" 2>"$TMP/tune.err"
check "tune without --device picks PoCL's cl:1 ($(head -2 "$TMP/tune.out"))" \
	grep -q "tuning CLBlast's GEMMs for cl:1 " "$TMP/tune.out"
finish
