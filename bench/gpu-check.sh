#!/usr/bin/env bash
# gpu-check.sh - check and measure the OpenCL GPUs of this machine in one command, with
# nothing but the built project (build/trainer) and, for the training run, MNIST in
# data/mnist (plain or .gz; without it that part is skipped).
#
# For every OpenCL GPU (gpu:0, gpu:1, ...; or the devices in GPU_CHECK_DEVICES):
#   1. correctness: `trainer verify` against the cpu-ref oracle (or, in a build that
#      predates verify, the parity test build/test_parity on that device);
#   2. speed: `trainer bench` on the lab's network, with the counters of a step
#      (launches, bytes sent to the device, blocking waits), beside the cpu backend;
#   3. a real run: GPU_CHECK_ITERS (2,000) iterations of the lab's network, evaluating
#      every 100, its wall time, iterations per second and validation accuracy.
# Writes OUT_DIR/gpu-check.json (every figure, and the raw outputs it comes from) and
# OUT_DIR/summary.txt (a few lines to read or paste), and prints the summary. Each step
# has a time limit; the whole check fits in 10 minutes on a GPU.
#
# Usage: bench/gpu-check.sh [OUT_DIR]    (default gpu-check-<date>-<time>)
# Environment: TRAINER (the binary; default build/trainer), TRAINER_DATA_DIR (MNIST;
# default data/mnist), GPU_CHECK_DEVICES (e.g. "gpu:0" or "cl:0": devices to check,
# default every GPU), GPU_CHECK_ITERS (2000), GPU_CHECK_BENCH_ITERS (200),
# GPU_CHECK_VERIFY_ARGS (extra arguments for trainer verify, e.g. --quick),
# GPU_CHECK_LAYERS (the network of the bench and the run; default the lab's).
# Exit code: 0 when every check passed, 1 when a check failed, 2 when there is nothing
# to check (no build, or no GPU).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${TRAINER:-$root/build/trainer}"
DATA="${TRAINER_DATA_DIR:-$root/data/mnist}"
ITERS="${GPU_CHECK_ITERS:-2000}"
BENCH_ITERS="${GPU_CHECK_BENCH_ITERS:-200}"
LAYERS="${GPU_CHECK_LAYERS:-784,1500,1000,500,10}"
OUT="${1:-gpu-check-$(date +%Y%m%d-%H%M%S)}"

if [[ ! -x "$BIN" ]]; then
	echo "gpu-check: $BIN not found: build first (bash ci/build.sh), or set TRAINER" >&2
	exit 2
fi
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

# A JSON string literal of the text on stdin (quotes, backslashes, control characters).
json_string() {
	local s
	s="$(cat)"
	s="${s//\\/\\\\}"
	s="${s//\"/\\\"}"
	s="${s//$'\n'/\\n}"
	s="${s//$'\t'/\\t}"
	s="${s//$'\r'/}"
	printf '"%s"' "$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')"
}
# The contents of a JSON file, or null when it is missing or empty.
json_file() { if [[ -s "$1" ]]; then cat "$1"; else printf 'null'; fi; }
# The number after "NAME": in a JSON file (the first one), or null.
json_num() {
	local v
	v="$(grep -o "\"$2\":[[:space:]]*[-0-9.eE+]*" "$1" 2>/dev/null | head -1 | sed 's/.*:[[:space:]]*//')"
	printf '%s' "${v:-null}"
}
# A number rounded to D decimals, or "?" for null.
num() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "null" || v == "") print "?"; else printf "%.*f", d, v }'; }
# run LIMIT_S LOG CMD...: run with a time limit; stdout+stderr to LOG; prints seconds.
run() {
	local limit="$1" log="$2" t0 rc
	shift 2
	t0=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	LAST_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	return $rc
}

"$BIN" --version >"$OUT/version.txt" 2>&1
"$BIN" --list-devices >"$OUT/devices.txt" 2>&1
say "gpu-check: $(cat "$OUT/version.txt"), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
if [[ -n "${GPU_CHECK_DEVICES:-}" ]]; then
	read -r -a devices <<<"${GPU_CHECK_DEVICES//,/ }"
else
	mapfile -t devices < <(grep -oE '^  cl:[0-9]+ gpu:[0-9]+' "$OUT/devices.txt" | awk '{ print $2 }')
fi
if ((${#devices[@]} == 0)); then
	say "gpu-check: no OpenCL GPU found; the devices this build sees:"
	sed 's/^/  /' "$OUT/devices.txt" | tee -a "$SUMMARY"
	say "install your GPU vendor's OpenCL driver (clinfo -l lists what the loader finds), or set GPU_CHECK_DEVICES=cl:N to check another OpenCL device"
	exit 2
fi
has_verify=0
"$BIN" verify --help >/dev/null 2>&1 && has_verify=1

failed=0
entries=()
for dev in "${devices[@]}"; do
	tag="${dev//:/}"
	say ""
	say "== $dev =="
	# 1. correctness
	if ((has_verify)); then
		# shellcheck disable=SC2086
		run 300 "$OUT/verify-$tag.log" "$BIN" verify --device "$dev" \
			--json "$OUT/verify-$tag.json" ${GPU_CHECK_VERIFY_ARGS:-}
		vrc=$?
		vtool="trainer verify"
	elif [[ -x "$root/build/test_parity" ]]; then
		run 300 "$OUT/verify-$tag.log" env TRAINER_TEST_DEVICE="$dev" "$root/build/test_parity"
		vrc=$?
		vtool="build/test_parity"
	else
		echo "neither trainer verify nor build/test_parity in this build" >"$OUT/verify-$tag.log"
		vrc=2
		vtool="none"
	fi
	vsecs=$LAST_SECONDS
	if ((vrc == 0)); then
		say "correctness ($vtool): PASS in ${vsecs} s"
	else
		say "correctness ($vtool): FAIL (exit $vrc) in ${vsecs} s: see $OUT/verify-$tag.log"
		tail -5 "$OUT/verify-$tag.log" | sed 's/^/  /' | tee -a "$SUMMARY"
		failed=1
	fi

	# 2. speed, with the step's counters, beside the cpu backend
	run 300 "$OUT/bench-$tag.log" "$BIN" bench --device "$dev" --layers "$LAYERS" \
		--iters "$BENCH_ITERS" --json
	brc=$?
	sed -n '/^{/,$p' "$OUT/bench-$tag.log" >"$OUT/bench-$tag.json"
	if ((brc == 0)); then
		b="$OUT/bench-$tag.json"
		say "bench ($LAYERS, batch 64): step $(num "$(json_num "$b" median_ms)" 3) ms median," \
			"$(num "$(json_num "$b" step_pipelined_ms)" 3) ms queued back to back;" \
			"$(num "$(json_num "$b" launches_per_step)" 1) launches," \
			"$(num "$(json_num "$b" host_to_device_bytes_per_step)" 0) bytes to the device," \
			"$(num "$(json_num "$b" blocking_syncs_per_step)" 2) blocking syncs per step;" \
			"validation $(num "$(json_num "$b" validation_images_per_s)" 0) images/s"
	else
		say "bench: FAIL (exit $brc): see $OUT/bench-$tag.log"
		failed=1
	fi

	# 3. a real run of the lab's network
	if [[ -f "$DATA/train-images-idx3-ubyte" || -f "$DATA/train-images-idx3-ubyte.gz" ]]; then
		rm -rf "$OUT/run-$tag"
		run 420 "$OUT/run-$tag.log" "$BIN" --device "$dev" --data "$DATA" --iters "$ITERS" \
			--layers "$LAYERS" --eval-every 100 --out "$OUT/run-$tag" --quiet
		rrc=$?
		rsecs=$LAST_SECONDS
		if ((rrc == 0)); then
			say "training run ($LAYERS): $ITERS iterations in ${rsecs} s wall" \
				"($(awk -v n="$ITERS" -v s="$(json_num "$OUT/run-$tag/summary.json" wall_seconds)" \
					'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "?" }') it/s of training)," \
				"validation accuracy $(num "$(json_num "$OUT/run-$tag/summary.json" val_acc)" 4)," \
				"test accuracy $(num "$(json_num "$OUT/run-$tag/summary.json" test_acc)" 4)"
		else
			say "training run: FAIL (exit $rrc) after ${rsecs} s: see $OUT/run-$tag.log"
			tail -3 "$OUT/run-$tag.log" | sed 's/^/  /' | tee -a "$SUMMARY"
			failed=1
		fi
	else
		rrc=-1
		rsecs=0
		say "training run: skipped (no MNIST in $DATA; run data/fetch.sh or set TRAINER_DATA_DIR)"
	fi
	entries+=("$(printf '{"device": "%s", "verify": {"tool": "%s", "exit_code": %d, "seconds": %s, "report": %s, "log": %s}, "bench": {"exit_code": %d, "result": %s}, "lab_run": {"iterations": %d, "exit_code": %d, "seconds": %s, "summary": %s, "metrics_csv": %s}}' \
		"$dev" "$vtool" "$vrc" "$vsecs" "$(json_file "$OUT/verify-$tag.json")" \
		"$(tail -40 "$OUT/verify-$tag.log" | json_string)" "$brc" \
		"$(json_file "$OUT/bench-$tag.json")" "$ITERS" "$rrc" "$rsecs" \
		"$(json_file "$OUT/run-$tag/summary.json")" \
		"$( ([[ -f "$OUT/run-$tag/metrics.csv" ]] && cat "$OUT/run-$tag/metrics.csv") | json_string)")")
done

# The cpu backend beside it, for the ratio.
run 300 "$OUT/bench-cpu.log" "$BIN" bench --device cpu --layers "$LAYERS" --iters "$BENCH_ITERS" --json
sed -n '/^{/,$p' "$OUT/bench-cpu.log" >"$OUT/bench-cpu.json"
say ""
say "cpu backend (for comparison): step $(num "$(json_num "$OUT/bench-cpu.json" median_ms)" 3) ms median"

{
	printf '{\n"tool": "bench/gpu-check.sh",\n"trainer": %s,\n' "$(json_string <"$OUT/version.txt")"
	printf '"date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf '"host_cpu": %s,\n' "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' | json_string)"
	printf '"devices_listed": %s,\n' "$(json_string <"$OUT/devices.txt")"
	printf '"checks": [\n'
	for i in "${!entries[@]}"; do
		((i)) && printf ',\n'
		printf '%s' "${entries[$i]}"
	done
	printf '\n],\n"cpu_bench": %s,\n"passed": %s\n}\n' "$(json_file "$OUT/bench-cpu.json")" \
		"$( ((failed)) && echo false || echo true)"
} >"$OUT/gpu-check.json.tmp" && mv "$OUT/gpu-check.json.tmp" "$OUT/gpu-check.json"
say ""
say "verdict: $( ((failed)) && echo 'FAILED: see above' || echo 'every check passed')"
say "figures: $OUT/gpu-check.json; this summary: $SUMMARY"
exit "$failed"
