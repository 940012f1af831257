# lib.bash - helpers for the shell-driven CLI tests (sourced, not run).
# Every test prints "N passed, N failed" and exits non-zero on any failure.
set -u
BIN="${TRAINER_BIN:?TRAINER_BIN must point to the trainer executable}"
[[ $BIN == /* || ! -e $BIN ]] || BIN="$PWD/$BIN"   # tests may change directory
DATA="${TRAINER_DATA_DIR:-}"
passed=0
failed=0
TMP="$(mktemp -d "${TMPDIR:-/tmp}/trainer-cli.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { # description command...
	local what="$1"; shift
	if "$@"; then ok; else bad "$what"; fi
}

# expect_exit CODE PATTERN -- ARGS...: run trainer, check the exit code, that stderr
# matches PATTERN (grep -E), and that it was not killed by a signal.
expect_exit() {
	local code="$1" pattern="$2"; shift 3
	local rc=0
	"$BIN" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	if [[ $rc -ne $code ]]; then
		bad "trainer $* exited $rc, expected $code; stderr: $(head -c 400 "$TMP/err")"
	elif ! grep -Eq -- "$pattern" "$TMP/err"; then
		bad "trainer $* stderr lacks /$pattern/: $(head -c 400 "$TMP/err")"
	else
		ok
	fi
}

need_data() {
	if [[ -z "$DATA" || ! -f "$DATA/train-images-idx3-ubyte" ]]; then
		if [[ "${TRAINER_REQUIRE_DATA:-}" == 1 ]]; then
			bad "MNIST required but missing in '$DATA'"
			finish
		fi
		echo "MNIST not found in '$DATA': skipping (run data/fetch.sh)"
		exit 77
	fi
}

# The OpenCL device the tests use: $TRAINER_TEST_DEVICE, default cl:0 (the first
# OpenCL device, as --list-devices numbers them).
TEST_DEVICE="${TRAINER_TEST_DEVICE:-cl:0}"

# Does this binary list $TEST_DEVICE? (A GPU's line names it twice: "cl:1 gpu:0 ...")
has_test_device() {
	"$BIN" --list-devices 2>/dev/null | grep -Eq "^ +(cl:[0-9]+ +)?${TEST_DEVICE} "
}

# Skip (exit 77) unless the binary sees the OpenCL device $TEST_DEVICE; under
# TRAINER_REQUIRE_OPENCL=1 (CI) that is a failure instead.
need_opencl() {
	has_test_device && return 0
	if [[ "${TRAINER_REQUIRE_OPENCL:-}" == 1 ]]; then
		bad "no OpenCL device $TEST_DEVICE (TRAINER_REQUIRE_OPENCL=1): $("$BIN" --list-devices 2>&1)"
		finish
	fi
	echo "no OpenCL device $TEST_DEVICE (or no OpenCL backend in this build): skipping"
	exit 77
}

# Fastest CPU backend this build has.
cpu_device() {
	if "$BIN" --list-devices | grep -q '^cpu '; then echo cpu; else echo cpu-ref; fi
}

finish() {
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 && $passed -gt 0 ]]
	exit $?
}
