#!/usr/bin/env bash
# errors_opencl.sh - OpenCL failures through the real binary: no platform (the ICD
# loader pointed at an empty vendor directory), a device index out of range, kernels
# that fail to build or to load (TRAINER_CL_DIR), and device allocations that cannot
# succeed. Each: exit code 5 (3 for an unreadable kernel file) with a message naming
# the device, file or buffer, no crash, no sanitizer report, no output written.
# Runs on $TRAINER_TEST_DEVICE (default cl:0), only when the binary sees it (a failure
# under TRAINER_REQUIRE_OPENCL).
source "$(dirname "$0")/errors_lib.bash"

if ! has_opencl_device; then
	if [[ "${TRAINER_REQUIRE_OPENCL:-}" == 1 ]]; then
		bad "OpenCL required but $BIN lists no OpenCL device"
		finish
	fi
	echo "no OpenCL device (or no OpenCL backend in this build): skipping"
	exit 77
fi
SMALL="$TMP/small"
make_small_data "$SMALL"
RUN=(--data "$SMALL" --val-size 50 --layers 784,8,10 --iters 2 --eval-every 1 --quiet)

succeeds "${RUN[@]}" --device "$TEST_DEVICE" --out "$TMP/run"
guard "$TMP/run" "$SMALL"

# ---- no platform: the ICD loader reads its vendor list from an empty directory ----
mkdir -p "$TMP/no-icd"
BIN_PREFIX=(env OCL_ICD_VENDORS="$TMP/no-icd" OPENCL_VENDOR_PATH="$TMP/no-icd")
for d in cl:0 gpu:0; do
	fails 5 "--device $d: no OpenCL driver \(ICD\) is installed.*CL_PLATFORM_NOT_FOUND_KHR.*apt-get install pocl-opencl-icd" -- \
		"${RUN[@]}" --device "$d" --out "$NEVER"
done
run_bin --list-devices
check "--list-devices without a driver exits 0 and says why ($RC)" \
	bash -c "[[ $RC -eq 0 ]] && grep -q 'no OpenCL driver' '$TMP/out' && grep -q '^cpu-ref' '$TMP/out'"
succeeds "${RUN[@]}" --device auto --out "$TMP/auto-no-icd"
check "--device auto without a driver falls back to a CPU backend" \
	grep -Eq '"backend":[[:space:]]*"cpu' "$TMP/auto-no-icd/summary.json"
BIN_PREFIX=()

# ---- device numbers out of range ----
fails 5 "--device cl:99: no such device; there (is|are) [0-9]+ OpenCL devices?: cl:0 = " -- \
	"${RUN[@]}" --device cl:99 --out "$NEVER"
fails 5 "--device gpu:99: (no such|no GPU).*cl:0" -- "${RUN[@]}" --device gpu:99 --out "$NEVER"

# ---- kernels from TRAINER_CL_DIR ----
SRC="${TRAINER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN_PREFIX=(env TRAINER_CL_DIR="$SRC/cl")
succeeds "${RUN[@]}" --device "$TEST_DEVICE" --out "$TMP/cl-dir-ok"
mkdir -p "$TMP/broken" "$TMP/empty-dir" "$TMP/no-kernels" "$TMP/isdir/kernels.cl"
{ cat "$SRC/cl/kernels.cl"; echo "__kernel void broken(void) { this_is_not_declared = 1; }"; } \
	>"$TMP/broken/kernels.cl"
BIN_PREFIX=(env TRAINER_CL_DIR="$TMP/broken")
fails 5 "--device $TEST_DEVICE: OpenCL: building kernel file kernels.cl \($TMP/broken/kernels.cl\) for .* failed: CL_BUILD_PROGRAM_FAILURE; build log:" -- \
	"${RUN[@]}" --device "$TEST_DEVICE" --out "$NEVER"
check "the build log quotes the compiler's error" grep -q "this_is_not_declared" "$TMP/err"
BIN_PREFIX=(env TRAINER_CL_DIR="$TMP/empty-dir")
fails 3 "OpenCL \(TRAINER_CL_DIR is set\): $TMP/empty-dir/kernels.cl does not exist" -- \
	"${RUN[@]}" --device "$TEST_DEVICE" --out "$NEVER"
BIN_PREFIX=(env TRAINER_CL_DIR="$TMP/isdir")
fails 3 "$TMP/isdir/kernels.cl is a directory, not an OpenCL kernel file" -- "${RUN[@]}" --device "$TEST_DEVICE" --out "$NEVER"
# A file that builds but lacks our kernels.
echo "__kernel void unrelated(__global float *x) { x[0] = 1.0f; }" >"$TMP/no-kernels/kernels.cl"
BIN_PREFIX=(env TRAINER_CL_DIR="$TMP/no-kernels")
fails 5 "clCreateKernel\([a-z_]+\) from $TMP/no-kernels/kernels.cl failed: CL_INVALID_KERNEL_NAME" -- \
	"${RUN[@]}" --device "$TEST_DEVICE" --out "$NEVER"
BIN_PREFIX=()

# ---- device allocations that cannot succeed ----
# 795M parameters (3.2 GB per buffer) and, with --batch 65536, a 262 GB scratch buffer:
# beyond any device's CL_DEVICE_MAX_MEM_ALLOC_SIZE. It must fail cleanly, before or at
# allocation, naming the buffer.
fails 5 "OpenCL: cannot allocate (parameters|gradients|Adam [mv]|input batch|labels|gradient scratch [01]|activations [0-9]+) \([0-9]+ floats" -- \
	"${RUN[@]}" --device "$TEST_DEVICE" --layers 784,1000000,10 --batch 65536 --out "$NEVER"
fails 5 "OpenCL: cannot allocate (parameters|gradients|Adam [mv]|gradient scratch [01]|activations [0-9]+)" -- \
	"${RUN[@]}" --device "$TEST_DEVICE" --layers 784,1000000,10 --out "$NEVER"

check "the existing run and the data are untouched" guards_intact
finish
