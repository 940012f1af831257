#!/usr/bin/env bash
# verify_opencl.sh - `trainer verify` on the OpenCL device ($TRAINER_TEST_DEVICE,
# default cl:0) must pass, and must catch real faults: with TRAINER_CL_DIR pointing at
# copies of cl/*.cl in which one function is 0.1% off, verify fails with exit 8 and
# names the operation that uses it:
#   exp  * 1.001 -> softmax_xent (the loss; the gradient's ratio cancels it)
#   sqrt * 1.001 -> adam_l2
# The issue's recipe is `#define exp(x) (exp(x) * 1.001f)` at the top of the file; PoCL
# declares exp and sqrt as macros, so that self-reference does not compile there, and
# the copies define the same thing through a function instead (any OpenCL compiler
# takes it). An unmodified copy must pass (the failure comes from the sabotage, not
# from loading kernels from files), and a kernel that does not build is a device error
# (exit 5), not a verification failure.
# Skipped without an OpenCL device, except in CI (TRAINER_REQUIRE_OPENCL=1).
source "$(dirname "$0")/lib.bash"
need_opencl
SRC="${TRAINER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"

run_verify() {
	RC=0
	"$BIN" verify "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# copies DIR [FUNCTION]: cl/*.cl into DIR, each file that calls FUNCTION with it made
# 0.1% larger.
copies() {
	local dir="$1" fn="${2:-}" f
	mkdir -p "$dir"
	for f in "$SRC"/cl/*.cl; do
		if [[ -n "$fn" ]] && grep -Eq "[^_a-z]$fn\(" "$f"; then
			{
				echo "float sabotaged_$fn(float x) { return $fn(x) * 1.001f; }"
				echo "#define $fn(x) sabotaged_$fn(x)"
				cat "$f"
			} >"$dir/$(basename "$f")"
		else
			cp "$f" "$dir/"
		fi
	done
}

# ---- the device as it is ----
run_verify --device "$TEST_DEVICE" --quick --json "$TMP/v.json"
check "verify --device $TEST_DEVICE --quick exits 0 ($RC; $(tail -3 "$TMP/err"))" test "$RC" -eq 0
check "it names the OpenCL backend" grep -q "(backend opencl)" "$TMP/out"
check "it gives the driver and CLBlast's version" grep -Eq "^ +driver .*CLBlast" "$TMP/out"
check "it gives the tuning state" grep -Eq "^ +tuning +CLBlast" "$TMP/out"
check "the verdict passes" grep -q "^verdict: PASS: $TEST_DEVICE " "$TMP/out"
check "the JSON says so" grep -q '"verdict":[[:space:]]*"pass"' "$TMP/v.json"

# ---- the data set kept in host memory (batches staged): the gather path still exact ----
TRAINER_CL_DATA=host run_verify --device "$TEST_DEVICE" --quick --ops gather,trajectory
check "TRAINER_CL_DATA=host: gather and the trajectory pass ($RC; $(tail -3 "$TMP/err"))" \
	bash -c "[[ $RC -eq 0 ]] && grep -Eq '^ +PASS +gather ' '$TMP/out'"

# ---- unmodified copies: still a pass ----
copies "$TMP/cl-same"
TRAINER_CL_DIR="$TMP/cl-same" run_verify --device "$TEST_DEVICE" --quick --quiet
check "copies of cl/*.cl pass ($RC; $(tail -3 "$TMP/err"))" test "$RC" -eq 0

# ---- sabotage: the op that uses the function must fail, and be named ----
sabotage() { # FUNCTION OP
	copies "$TMP/cl-$1" "$1"
	check "the $1 sabotage changed a file" grep -rq "sabotaged_$1" "$TMP/cl-$1"
	TRAINER_CL_DIR="$TMP/cl-$1" run_verify --device "$TEST_DEVICE" --quick --json "$TMP/$1.json"
	check "$1 0.1% off: exit 8 ($RC; $(tail -3 "$TMP/err"))" test "$RC" -eq 8
	check "$1 0.1% off: a FAIL row for $2" grep -Eq "^ +FAIL +$2 " "$TMP/out"
	check "$1 0.1% off: the verdict names $2" grep -Eq "^verdict: FAIL: .* in ([a-z_]+, )*$2" "$TMP/out"
	check "$1 0.1% off: the JSON has $2 failed" \
		grep -A12 "\"op\":[[:space:]]*\"$2\"" "$TMP/$1.json" | grep -q '"result":[[:space:]]*"fail"'
	check "$1 0.1% off: the JSON verdict is fail" grep -q '"verdict":[[:space:]]*"fail"' "$TMP/$1.json"
}
sabotage exp softmax_xent
sabotage sqrt adam_l2
check "the sqrt sabotage leaves softmax_xent passing" \
	bash -c "! grep -Eq '^ +FAIL +softmax_xent ' '$TMP/out'"

# ---- a kernel that does not build: a device error, not a verdict on the numbers ----
mkdir -p "$TMP/cl-broken"
copies "$TMP/cl-broken"
echo "__kernel void broken(void) { this_is_not_declared = 1; }" >>"$(ls "$TMP"/cl-broken/*.cl | head -1)"
TRAINER_CL_DIR="$TMP/cl-broken" run_verify --device "$TEST_DEVICE" --quick
check "a broken kernel: exit 5 ($RC)" test "$RC" -eq 5
check "a broken kernel: the message has the build log" grep -q "this_is_not_declared" "$TMP/err"
check "a broken kernel: the verdict says it could not be verified" \
	grep -q "^verdict: ERROR: $TEST_DEVICE could not be verified" "$TMP/out"
finish
