#!/usr/bin/env bash
# oclgrind.sh - every OpenCL kernel the trainer runs, under Oclgrind's simulator, which
# reports the bugs a CPU device hides and a GPU exposes: reads and writes out of bounds,
# data races between work-items, reads of uninitialised memory, misuse of the OpenCL
# API. Any diagnostic, or any non-zero exit, fails the stage. Under oclgrind the only
# OpenCL platform is Oclgrind's own device, so it is cl:0 there.
#
# Runs (two at a time), each with --data-races --uninitialized --check-api:
#   verify       trainer verify --device cl:0 --quick, every check but the trajectory
#   trajectory   the same, the trajectory alone (a process of its own: see below)
#   train        3 training steps of 784-33-17-10, batch 5, on 200 MNIST images
#                (validation 50, test 100), writing its run directory
#   wgsize-1     our kernels alone (verify's per-op checks but gemm and the trajectory,
#                which run CLBlast's GEMMs) under --max-wgsize 1
#   local-mem    the same under --local-mem-size 100 (25 floats: the reductions must
#                shrink their work-groups to 16)
# CLBlast's GEMM kernels need work-groups of 8 x 8 and kilobytes of local memory with
# their default parameters, so under these two limits CLBlast refuses to run
# (CL_INVALID_WORK_ITEM_SIZE, CLBlastInvalidLocalMemUsage): only it is left out there.
#
# Why the trajectory runs alone: Oclgrind 21.10's uninitialised-value plugin keeps the
# shadow state of a released buffer and applies it to the next buffer that gets the
# same number (Oclgrind reuses them), so a buffer written only by kernels is reported
# "uninitialised" past the size of the buffer that had its number before. In one
# process the op checks (which allocate and release buffers case by case) make the
# trajectory's gradient buffer such a buffer. Run in separate processes, every kernel
# reads only memory it is given written. See docs/TESTING.md.
#
# Logs go to $OCLGRIND_OUT (default build/oclgrind/): <name>.log (Oclgrind's
# diagnostics, empty when clean) and <name>.out (the trainer's output).
# Usage: ci/oclgrind.sh [NAME...]   (default: all five)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${TRAINER_BIN:-$root/build/trainer}"
out="${OCLGRIND_OUT:-$root/build/oclgrind}"
names=("$@")
((${#names[@]})) || names=(verify trajectory train wgsize-1 local-mem)

if ! command -v oclgrind >/dev/null; then
	echo "oclgrind.sh: oclgrind not found: apt-get install oclgrind (ci/install-deps.sh)" >&2
	exit 1
fi
if [[ ! -x $bin ]]; then
	echo "oclgrind.sh: $bin not found: build first (ci/build.sh)" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out"

# A small MNIST-shaped data set for the training run (tests/cli/errors_craft.bash).
source "$root/tests/cli/errors_craft.bash"
data="${TRAINER_DATA_DIR:-$root/data/mnist}"
small="$out/data"
mkdir -p "$small"
set +o pipefail # idx_head's `tail | head` ends tail with SIGPIPE, by design
if [[ -f $data/train-images-idx3-ubyte ]]; then
	idx_head "$data/train-images-idx3-ubyte" 200 16 784 >"$small/train-images-idx3-ubyte"
	idx_head "$data/train-labels-idx1-ubyte" 200 8 1 >"$small/train-labels-idx1-ubyte"
	idx_head "$data/t10k-images-idx3-ubyte" 100 16 784 >"$small/t10k-images-idx3-ubyte"
	idx_head "$data/t10k-labels-idx1-ubyte" 100 8 1 >"$small/t10k-labels-idx1-ubyte"
else
	synth_images 200 28 28 >"$small/train-images-idx3-ubyte"
	synth_labels 200 >"$small/train-labels-idx1-ubyte"
	synth_images 100 28 28 >"$small/t10k-images-idx3-ubyte"
	synth_labels 100 >"$small/t10k-labels-idx1-ubyte"
fi
set -o pipefail

CHECKS=(--data-races --uninitialized --check-api)
# The command of each run: oclgrind's options, then the trainer's arguments.
command_of() {
	case "$1" in
	verify) echo "${CHECKS[*]} -- verify --device cl:0 --quick --ops=-trajectory" ;;
	trajectory) echo "${CHECKS[*]} -- verify --device cl:0 --quick --ops trajectory" ;;
	train) echo "${CHECKS[*]} -- --device cl:0 --data $small --val-size 50 \
--layers 784,33,17,10 --batch 5 --iters 3 --eval-every 3 --init he --out $out/run --quiet" ;;
	wgsize-1) echo "--max-wgsize 1 ${CHECKS[*]} -- verify --device cl:0 --quick \
--ops=-gemm,-trajectory" ;;
	local-mem) echo "--local-mem-size 100 ${CHECKS[*]} -- verify --device cl:0 --quick \
--ops=-gemm,-trajectory" ;;
	*) echo "oclgrind.sh: unknown run '$1' (verify trajectory train wgsize-1 local-mem)" >&2
	   return 1 ;;
	esac
}

# run_one NAME: the run under oclgrind; its status, log and time in $out/NAME.*.
run_one() {
	local name="$1" cmd ogopts args t0 rc=0
	cmd="$(command_of "$name")"
	ogopts="${cmd%% -- *}"
	args="${cmd#* -- }"
	t0=$SECONDS
	# shellcheck disable=SC2086 # the options are words
	oclgrind $ogopts --log "$out/$name.log" "$bin" $args >"$out/$name.out" 2>&1 || rc=$?
	echo "$rc $((SECONDS - t0))" >"$out/$name.status"
}

for name in "${names[@]}"; do
	command_of "$name" >/dev/null
done
# Two at a time: Oclgrind simulates a kernel's work-groups on several threads, but
# most of a run is one thread (the host program, kernel builds, small launches).
running=0
for name in "${names[@]}"; do
	if ((running == 2)); then
		wait -n || true
		running=1
	fi
	run_one "$name" &
	running=$((running + 1))
done
wait

failed=0
for name in "${names[@]}"; do
	read -r rc seconds <"$out/$name.status"
	if [[ $rc -ne 0 ]]; then
		echo "oclgrind.sh: $name: FAILED: exit $rc ($seconds s); last lines of $out/$name.out:"
		tail -5 "$out/$name.out" | sed 's/^/    /'
		failed=1
	elif [[ -s $out/$name.log ]]; then
		echo "oclgrind.sh: $name: FAILED: $(grep -cE '^[A-Z]' "$out/$name.log") diagnostics" \
			"($seconds s); the first, from $out/$name.log:"
		grep -v '^\s*$' "$out/$name.log" | head -8 | sed 's/^/    /'
		failed=1
	else
		echo "oclgrind.sh: $name: clean ($seconds s): oclgrind $(command_of "$name" | sed 's/ -- / trainer /')"
	fi
done
exit "$failed"
