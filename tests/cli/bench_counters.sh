#!/usr/bin/env bash
# bench_counters.sh - what one training step costs on the OpenCL backend, as `trainer
# bench --json` counts it (CLBlast's launches included): for a network of L weight
# matrices whose GEMMs are small enough for CLBlast's direct kernel, exactly 5L + 2
# launches (gather 1, forward 2L, softmax 1, backward: L weight-gradient and L-1
# input-gradient GEMMs, one bias gradient and L-1 fused ReLU + bias gradients; Adam 1),
# 4 bytes per example of the batch sent to the device (its indices), no blocking wait
# and no buffer created inside a step; the lab's network within 25 launches; and with
# TRAINER_CL_DATA=host the batch itself crossing the bus instead; with TRAINER_CL_SYNC=1
# a wait after every operation.
# Skipped without an OpenCL device (a failure under TRAINER_REQUIRE_OPENCL=1).
source "$(dirname "$0")/lib.bash"

need_opencl
DEV="${TRAINER_TEST_DEVICE:-cl:0}"

# field FILE NAME: the number after "NAME": in bench's JSON (the first backend's).
field() { grep -o "\"$2\":[[:space:]]*[-0-9.e+]*" "$1" | head -1 | sed 's/.*:[[:space:]]*//'; }
bench() { # OUT ARGS...
	local out="$1"; shift
	local rc=0
	"$BIN" bench --device "$DEV" --iters 4 --json "$@" >"$out" 2>"$out.err" || rc=$?
	check "bench $* exits 0 ($(tail -2 "$out.err"))" test "$rc" -eq 0
}
is() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'; }
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

bench "$TMP/small.json" --layers 784,33,17,10 --batch 5
f="$TMP/small.json"
check "counters include CLBlast's calls" grep -q '"counters_include_clblast":[[:space:]]*true' "$f"
check "the data set is on the device" grep -q '"data_on_device":[[:space:]]*true' "$f"
check "784-33-17-10: 17 launches per step ($(field "$f" launches_per_step))" \
	is "$(field "$f" launches_per_step)" 17
check "784-33-17-10: 20 bytes to the device per step, the indices ($(field "$f" host_to_device_bytes_per_step))" \
	is "$(field "$f" host_to_device_bytes_per_step)" 20
check "no blocking sync inside a step ($(field "$f" blocking_syncs_per_step))" \
	is "$(field "$f" blocking_syncs_per_step)" 0
check "no buffer created inside a step ($(field "$f" buffer_creations_per_step))" \
	is "$(field "$f" buffer_creations_per_step)" 0
check "one blocking sync per validation pass ($(field "$f" blocking_syncs_per_validation))" \
	is "$(field "$f" blocking_syncs_per_validation)" 1

bench "$TMP/lab.json"
f="$TMP/lab.json"
check "the lab's network: at most 25 launches per step ($(field "$f" launches_per_step))" \
	at_most "$(field "$f" launches_per_step)" 25
check "the lab's network: 256 bytes to the device per step ($(field "$f" host_to_device_bytes_per_step))" \
	is "$(field "$f" host_to_device_bytes_per_step)" 256
check "the lab's network: no blocking sync inside a step" \
	is "$(field "$f" blocking_syncs_per_step)" 0
check "the lab's network: no buffer created inside a step ($(field "$f" buffer_creations_per_step))" \
	is "$(field "$f" buffer_creations_per_step)" 0

# TRAINER_CL_SYNC=1: every operation waits for the device (so an error names it):
# 17 launches and 1 write per step, so 18 waits.
TRAINER_CL_SYNC=1 bench "$TMP/sync.json" --layers 784,33,17,10 --batch 5
f="$TMP/sync.json"
check "TRAINER_CL_SYNC=1: a wait after each of a step's 18 operations ($(field "$f" blocking_syncs_per_step))" \
	is "$(field "$f" blocking_syncs_per_step)" 18

TRAINER_CL_DATA=host bench "$TMP/host.json" --layers 784,33,17,10 --batch 5
f="$TMP/host.json"
check "TRAINER_CL_DATA=host: the data set is staged" \
	grep -q '"data_on_device":[[:space:]]*false' "$f"
check "TRAINER_CL_DATA=host: the batch crosses the bus (5 x 785 floats: $(field "$f" host_to_device_bytes_per_step))" \
	is "$(field "$f" host_to_device_bytes_per_step)" 15700
check "TRAINER_CL_DATA=host: still no blocking sync inside a step" \
	is "$(field "$f" blocking_syncs_per_step)" 0
finish
