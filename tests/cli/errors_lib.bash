# errors_lib.bash - helpers for the error-path tests (errors*.sh, faults.sh), on top of
# lib.bash. Sourced, not run (CMake registers only tests/cli/*.sh).
#
# Every failing case is run through `fails CODE PATTERN -- ARGS...`, which checks:
#   - the exit code is CODE, and not a signal (< 128) nor timeout's 124;
#   - stderr matches PATTERN (grep -E): the message names the culprit;
#   - stderr has no sanitizer report ("runtime error", AddressSanitizer, LeakSanitizer);
#   - every directory registered with `guard` is byte-for-byte unchanged (files added,
#     removed or modified, temporary files included);
#   - the output directory $NEVER, which cases pass as --out, was not created.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/errors_craft.bash"

NEVER="$TMP/never"        # pass as --out: a failing run must not create it
CASE_TIMEOUT="${TRAINER_CASE_TIMEOUT:-120}"
GUARDED=()
SNAPSHOT=""

# Commands to run at exit before $TMP is removed (unmounting, for instance).
CLEANUPS=()
at_exit() { CLEANUPS+=("$1"); }
run_cleanups() {
	local c
	for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
	rm -rf "$TMP"
}
trap run_cleanups EXIT

# True when stderr in $1 holds no sanitizer report.
san_clean() {
	! grep -Eq 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer' "$1"
}

# Checksums (and names) of every file under the guarded directories.
snapshot() {
	local d
	for d in "${GUARDED[@]}"; do
		(cd "$d" && find . -type f -o -type p | LC_ALL=C sort | while read -r f; do
			if [[ -f $f ]]; then printf '%s %s\n' "$f" "$(cksum <"$f")"; else echo "$f fifo"; fi
		done) | sed "s|^|$d: |"
	done
}

# guard DIR...: from now on, every case checks that DIR is unchanged.
guard() {
	GUARDED+=("$@")
	SNAPSHOT="$(snapshot)"
}

guards_intact() {
	local now
	now="$(snapshot)"
	[[ "$now" == "$SNAPSHOT" ]] && return 0
	diff <(echo "$SNAPSHOT") <(echo "$now") | head -5 >&2
	return 1
}

# run_bin ARGS...: run trainer with a time limit; sets RC, stdout in $TMP/out,
# stderr in $TMP/err. An environment for the run can be set with `env` in BIN_PREFIX.
BIN_PREFIX=()
run_bin() {
	RC=0
	"${BIN_PREFIX[@]}" timeout -k 5 "$CASE_TIMEOUT" "$BIN" "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# fails CODE PATTERN -- ARGS...: see the top of this file.
fails() {
	local code="$1" pattern="$2" what
	shift 3
	what="trainer $*"
	run_bin "$@"
	if [[ $RC -eq 124 || $RC -ge 128 ]]; then
		bad "$what: killed or timed out (exit $RC); stderr: $(head -c 600 "$TMP/err")"
	elif [[ $RC -ne $code ]]; then
		bad "$what: exit $RC, expected $code; stderr: $(head -c 600 "$TMP/err")"
	elif ! grep -Eq -- "$pattern" "$TMP/err"; then
		bad "$what: stderr lacks /$pattern/: $(head -c 600 "$TMP/err")"
	elif ! san_clean "$TMP/err"; then
		bad "$what: sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$TMP/err")"
	elif ! guards_intact; then
		bad "$what: a guarded directory changed"
		SNAPSHOT="$(snapshot)"
	elif [[ -e $NEVER ]]; then
		bad "$what: created the output directory of a failed run"
		rm -rf "$NEVER"
	else
		ok
	fi
}

# succeeds ARGS...: the run exits 0 with no sanitizer report.
succeeds() {
	run_bin "$@"
	if [[ $RC -ne 0 ]]; then
		bad "trainer $*: exit $RC, expected 0; stderr: $(head -c 600 "$TMP/err")"
	elif ! san_clean "$TMP/err"; then
		bad "trainer $*: sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$TMP/err")"
	else
		ok
	fi
}

# make_small_data DST: a small MNIST-shaped data set (200 training and 100 test
# examples, 230 KB), the first examples of the real one when it is there, else
# synthetic; pass --val-size 50 with it.
make_small_data() {
	mkdir -p "$1"
	if [[ -n "$DATA" && -f "$DATA/train-images-idx3-ubyte" ]]; then
		idx_head "$DATA/train-images-idx3-ubyte" 200 16 784 >"$1/train-images-idx3-ubyte"
		idx_head "$DATA/train-labels-idx1-ubyte" 200 8 1 >"$1/train-labels-idx1-ubyte"
		idx_head "$DATA/t10k-images-idx3-ubyte" 100 16 784 >"$1/t10k-images-idx3-ubyte"
		idx_head "$DATA/t10k-labels-idx1-ubyte" 100 8 1 >"$1/t10k-labels-idx1-ubyte"
	else
		synth_images 200 28 28 >"$1/train-images-idx3-ubyte"
		synth_labels 200 >"$1/train-labels-idx1-ubyte"
		synth_images 100 28 28 >"$1/t10k-images-idx3-ubyte"
		synth_labels 100 >"$1/t10k-labels-idx1-ubyte"
	fi
}

# Is this binary built with AddressSanitizer?
is_asan_build() {
	grep -aq '__asan_init' "$BIN" 2>/dev/null || ldd "$BIN" 2>/dev/null | grep -q libasan
}

# Does this binary see the OpenCL device the tests use ($TEST_DEVICE)?
has_opencl_device() {
	has_test_device
}

# ---- runs in the background and their directories (checkpoints, signals, rundir,
# experiment_faults) ----

# status_of DIR: the "status" of DIR/summary.json ("" when there is none).
status_of() {
	sed -n 's/^[[:space:]]*"status":[[:space:]]*"\([a-z]*\)".*/\1/p' "$1/summary.json" 2>/dev/null
}

# wait_for TEST SECONDS: poll until the shell test TEST succeeds, at most SECONDS (no
# sleep that assumes a speed); false when it never did.
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}

# ended PID SECONDS: true once PID has ended (bounded).
ended() {
	wait_for "! kill -0 $1 2>/dev/null" "$2"
}

# Processes a test started: killed at exit whatever happened (add with PIDS+=(pid)).
PIDS=()
at_exit 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done'

# same_weights DIR1 DIR2: every w*.npy and b*.npy of DIR1 byte-identical in DIR2.
same_weights() {
	local f n=0
	for f in "$1"/[wb][0-9]*.npy; do
		[[ -f $f ]] || continue
		cmp -s "$f" "$2/${f##*/}" || return 1
		n=$((n + 1))
	done
	[[ $n -gt 0 ]]
}

# same_run DIR1 DIR2: metrics (without the seconds column) and weights identical.
same_run() {
	[[ "$(cut -d, -f1-5 "$1/metrics.csv")" == "$(cut -d, -f1-5 "$2/metrics.csv")" ]] &&
		same_weights "$1" "$2"
}
