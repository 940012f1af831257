#!/usr/bin/env bash
# oclgrind.sh - every OpenCL kernel the trainer runs, under Oclgrind's simulator, which
# reports the bugs a CPU device hides and a GPU exposes: reads and writes out of bounds,
# data races between work-items, reads of uninitialised memory, misuse of the OpenCL
# API. Any diagnostic, or any non-zero exit, fails the stage. Under oclgrind the only
# OpenCL platform is Oclgrind's own device, so it is cl:0 there.
#
# Runs, two at a time, each with --data-races --uninitialized --check-api:
#   train            3 training steps of 784-33-17-10, batch 5, on 200 MNIST images
#                    (validation 10, test 20), writing its run directory
#   verify-CHECK     trainer verify --device cl:0 --quick --ops CHECK, for every check
#                    (`trainer verify --ops list`: gather, gemm, ..., trajectory)
#   wgsize-1-CHECK   our kernels alone under --max-wgsize 1: every check but gemm and
#                    the trajectory, which run CLBlast's GEMMs
#   local-mem-CHECK  the same under --local-mem-size 100 (25 floats: the reductions
#                    must shrink their work-groups to 16)
# CLBlast's GEMM kernels need work-groups of 8 x 8 and kilobytes of local memory with
# their default parameters, so under those two limits CLBlast refuses to run
# (CL_INVALID_WORK_ITEM_SIZE, CLBlastInvalidLocalMemUsage): only it is left out there.
#
# Why one process per check: Oclgrind 21.10's uninitialised-value plugin keeps the
# shadow state of a released buffer and applies it to the next buffer that gets the
# same number (Oclgrind reuses them), so a buffer written only by kernels is reported
# "uninitialised" past the size of the buffer that had its number before. A check
# that releases buffers (every check does, case by case) can make a later check's
# scratch or gradient buffer such a buffer. In processes of their own, each check's
# kernels read only memory that was written. See docs/TESTING.md.
#
# Logs go to $OCLGRIND_OUT (default build/oclgrind/): <run>.log (Oclgrind's
# diagnostics, empty when clean) and <run>.out (the trainer's output).
# Usage: ci/oclgrind.sh [RUN...]   (default: all; e.g. verify-gemm train)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${TRAINER_BIN:-$root/build/trainer}"
out="${OCLGRIND_OUT:-$root/build/oclgrind}"

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
	idx_head "$data/t10k-images-idx3-ubyte" 20 16 784 >"$small/t10k-images-idx3-ubyte"
	idx_head "$data/t10k-labels-idx1-ubyte" 20 8 1 >"$small/t10k-labels-idx1-ubyte"
else
	synth_images 200 28 28 >"$small/train-images-idx3-ubyte"
	synth_labels 200 >"$small/train-labels-idx1-ubyte"
	synth_images 20 28 28 >"$small/t10k-images-idx3-ubyte"
	synth_labels 20 >"$small/t10k-labels-idx1-ubyte"
fi
set -o pipefail

# The runs: "NAME|OCLGRIND OPTIONS|TRAINER ARGUMENTS", the longest first (the training
# run, then CLBlast's GEMMs and the trajectory) so that the two lanes end together.
CHECKS="--data-races --uninitialized --check-api"
runs=("train|$CHECKS|--device cl:0 --data $small --val-size 10 --layers 784,33,17,10 \
--batch 5 --iters 3 --eval-every 3 --init he --out $out/run --quiet")
for check in gemm trajectory $("$bin" verify --ops list); do
	[[ " ${runs[*]} " == *" verify-$check|"* ]] && continue
	runs+=("verify-$check|$CHECKS|verify --device cl:0 --quick --ops $check")
done
for check in $("$bin" verify --ops list); do
	[[ $check == gemm || $check == trajectory ]] && continue
	runs+=("wgsize-1-$check|--max-wgsize 1 $CHECKS|verify --device cl:0 --quick --ops $check")
	runs+=("local-mem-$check|--local-mem-size 100 $CHECKS|verify --device cl:0 --quick \
--ops $check")
done
if (($# > 0)); then
	chosen=()
	for name in "$@"; do
		found=0
		for r in "${runs[@]}"; do
			if [[ ${r%%|*} == "$name" ]]; then chosen+=("$r"); found=1; fi
		done
		if ((!found)); then
			echo "oclgrind.sh: no run named '$name'; the runs are:" >&2
			for r in "${runs[@]}"; do echo "  ${r%%|*}" >&2; done
			exit 1
		fi
	done
	runs=("${chosen[@]}")
fi

# run_one "NAME|OPTIONS|ARGS": exit status, CPU and wall seconds in $out/NAME.status.
run_one() {
	local name opts args rest rc=0 t0
	name="${1%%|*}"
	rest="${1#*|}"
	opts="${rest%%|*}"
	args="${rest#*|}"
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # the options are words
	oclgrind $opts --log "$out/$name.log" "$bin" $args >"$out/$name.out" 2>&1 || rc=$?
	echo "$rc $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" \
		>"$out/$name.status"
}

# Two at a time: most of a run is one thread (the host program, kernel builds, small
# launches), and the machine has two cores.
t_start=$SECONDS
running=0
for r in "${runs[@]}"; do
	if ((running == 2)); then
		wait -n || true
		running=1
	fi
	run_one "$r" &
	running=$((running + 1))
done
wait
times >"$out/times" # the children's user and system time on its second line
cpu=$(tail -1 "$out/times" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/);
	printf "%.0f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')

failed=0
for r in "${runs[@]}"; do
	name="${r%%|*}"
	read -r rc seconds <"$out/$name.status"
	if [[ $rc -ne 0 ]]; then
		echo "oclgrind.sh: $name: FAILED: exit $rc ($seconds s); last lines of $out/$name.out:"
		tail -5 "$out/$name.out" | sed 's/^/    /'
		failed=1
	elif [[ -s $out/$name.log ]]; then
		echo "oclgrind.sh: $name: FAILED: $(grep -c 'Kernel:' "$out/$name.log") diagnostics" \
			"($seconds s); the first, from $out/$name.log:"
		grep -v '^\s*$' "$out/$name.log" | head -8 | sed 's/^/    /'
		failed=1
	else
		echo "oclgrind.sh: $name: clean ($seconds s)"
	fi
done
echo "oclgrind.sh: ${#runs[@]} runs in $((SECONDS - t_start)) s ($cpu s of CPU)," \
	"$( ((failed)) && echo FAILED || echo all clean)"
exit "$failed"
