#!/usr/bin/env bash
# verify.sh - `trainer verify` through the binary on the CPU backends: --quick on cpu
# and on cpu-ref (the reference against itself: every error exactly 0), --device all,
# the JSON report (written atomically, replacing an older one), --quiet, and usage and
# output errors (exit 2 and 4 before any work). The full checks run in test_parity
# through the same library code; the OpenCL device and the sabotaged kernels are in
# verify_opencl.sh.
source "$(dirname "$0")/lib.bash"

# run_verify ARGS...: sets RC, stdout in $TMP/out, stderr in $TMP/err.
run_verify() {
	RC=0
	"$BIN" verify "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

CPU="$(cpu_device)"

# ---- a passing device, with the JSON report ----
echo "stale" >"$TMP/v.json"
run_verify --device "$CPU" --quick --json "$TMP/v.json"
check "verify --device $CPU --quick exits 0 ($RC; $(tail -3 "$TMP/err"))" test "$RC" -eq 0
check "it names the device and its backend" grep -q "device .*(backend $CPU)" "$TMP/out"
check "it prints a table of checks" grep -Eq '^ +PASS +gemm +NMSE' "$TMP/out"
check "every op of the interface is checked" bash -c "for op in backend gather gemm bias_act \
softmax_xent count_correct bias_grad relu_backward relu_bias_grad adam_l2 sum_squares \
trajectory; do grep -Eq \"^ +PASS +\$op \" '$TMP/out' || exit 1; done"
check "the last line is the verdict" bash -c "tail -1 '$TMP/out' | grep -q '^verdict: PASS: $CPU '"
check "nothing on stderr" test ! -s "$TMP/err"
check "the JSON report replaced the old file" grep -q '"verdict":[[:space:]]*"pass"' "$TMP/v.json"
check "the JSON has the device's facts" grep -q '"device_name":' "$TMP/v.json"
check "the JSON has one entry per check" \
	test "$(grep -c '"op":' "$TMP/v.json")" -eq "$(grep -Ec '^ +(PASS|FAIL) ' "$TMP/out")"
check "the JSON's checks all pass" test "$(grep -c '"result":[[:space:]]*"fail"' "$TMP/v.json")" -eq 0
check "no temporary file is left" bash -c "! ls -A '$TMP' | grep -q '\.tmp\.'"

# ---- the reference against itself: bit for bit ----
run_verify --device cpu-ref --quick --json "$TMP/ref.json"
check "verify --device cpu-ref --quick exits 0 ($RC)" test "$RC" -eq 0
check "cpu-ref against itself: every error is 0" \
	test "$(grep -Ec '"error":[[:space:]]*0,' "$TMP/ref.json")" -eq "$(grep -c '"op":' "$TMP/ref.json")"

# ---- --quiet: only the verdict when everything passes ----
run_verify --device "$CPU" --quick --quiet
check "--quiet exits 0" test "$RC" -eq 0
check "--quiet prints the verdict alone" test "$(grep -vc '^$' "$TMP/out")" -eq 1

# ---- every device ----
run_verify --device all --quick --quiet --json "$TMP/all.json"
check "--device all exits 0 ($RC; $(tail -3 "$TMP/err"))" test "$RC" -eq 0
check "--device all verifies $CPU" grep -q "^verdict: PASS: $CPU " "$TMP/out"
check "--device all leaves cpu-ref out" bash -c "! grep -q '^verdict: .*cpu-ref (' '$TMP/out'"
check "--device all ends with the overall verdict" grep -Eq "^verdict over [0-9]+ devices?: PASS" "$TMP/out"
check "--device all: one JSON entry per device" \
	test "$(grep -c '"backend":' "$TMP/all.json")" -eq "$(grep -c '^verdict: ' "$TMP/out")"

# ---- --ops: some checks, or all but some ----
run_verify --device "$CPU" --quick --ops softmax_xent,adam_l2
check "--ops runs the checks named ($RC)" bash -c "[[ $RC -eq 0 ]] && \
grep -Eq '^ +PASS +softmax_xent ' '$TMP/out' && grep -Eq '^ +PASS +adam_l2 ' '$TMP/out' && \
! grep -Eq '^ +PASS +(gemm|trajectory) ' '$TMP/out'"
run_verify --device "$CPU" --quick --ops=-gemm,-trajectory
check "--ops=-gemm,-trajectory leaves those out ($RC)" bash -c "[[ $RC -eq 0 ]] && \
grep -Eq '^ +PASS +softmax_xent ' '$TMP/out' && ! grep -Eq '^ +PASS +(gemm|trajectory) ' '$TMP/out'"

# ---- errors before any work ----
expect_exit 2 "unknown device" -- verify --device nope
expect_exit 2 "--layers" -- verify --layers 784,,10
expect_exit 2 "unknown option '--lr' for this command" -- verify --lr 0.1
expect_exit 2 "--json needs a value" -- verify --json
expect_exit 2 "--ops 'nope': no check named 'nope'; the checks are gather,gemm," -- verify --ops nope
expect_exit 2 "either names of checks to run or names to leave out" -- verify --ops gemm,-trajectory
expect_exit 4 "--json: $TMP/no-such-dir/v.json: cannot create" -- verify --device "$CPU" --json "$TMP/no-such-dir/v.json"
check "a bad --json fails at once, before the checks" bash -c "! grep -q 'verdict' '$TMP/out'"
run_verify --help
check "--help exits 0 and lists --quick and the exit code 8" bash -c "[[ $RC -eq 0 ]] && \
grep -q -- '--quick' '$TMP/out' && grep -q '8 verification failed' '$TMP/out'"
finish
