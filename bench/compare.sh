#!/usr/bin/env bash
# compare.sh - the lab's training step in `trainer bench` (cpu backend) and in PyTorch
# (bench/pytorch_step.py), interleaved round by round on the same machine, then the
# medians and ratios. PyTorch runs three ways: as installed (THREADS intra-op threads),
# with OMP_WAIT_POLICY=passive (Debian's build pairs libgomp with OpenBLAS's pthreads,
# whose spinning threads fight over the cores, like ours did before we dropped OpenMP),
# and with one thread; the best of the three is the fair comparison.
# Usage: bench/compare.sh [ROUNDS] (default 3); TRAINER = the binary (default
# build/trainer), THREADS = threads (default: all cores), PYTHON (default /usr/bin/python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
TRAINER="${TRAINER:-$here/../build/trainer}"
THREADS="${THREADS:-$(nproc)}"
ROUNDS="${1:-3}"
PY="${PYTHON:-/usr/bin/python3}"
ITERS="${ITERS:-100}"
if ! "$PY" -c 'import torch' 2>/dev/null; then
	echo "PyTorch is not installed for $PY (apt-get install python3-torch): only trainer runs"
	"$TRAINER" bench --device cpu --threads "$THREADS" --iters "$ITERS"
	exit 0
fi
median_of() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print((d["backends"][0] if "backends" in d else d)["step"]["median_ms"])'; }
declare -a ours torch_default torch_passive torch_one
for ((r = 1; r <= ROUNDS; r++)); do
	ours+=("$("$TRAINER" bench --device cpu --threads "$THREADS" --iters "$ITERS" --json --quiet | median_of)")
	torch_default+=("$("$PY" "$here/pytorch_step.py" --threads "$THREADS" --iters "$ITERS" --json | median_of)")
	torch_passive+=("$(OMP_WAIT_POLICY=passive "$PY" "$here/pytorch_step.py" --threads "$THREADS" --iters "$ITERS" --json | median_of)")
	torch_one+=("$("$PY" "$here/pytorch_step.py" --threads 1 --iters "$ITERS" --json | median_of)")
	printf 'round %d: trainer cpu %.3f | pytorch %.3f, passive %.3f, 1 thread %.3f ms/step\n' \
		"$r" "${ours[-1]}" "${torch_default[-1]}" "${torch_passive[-1]}" "${torch_one[-1]}"
done
"$PY" - "$THREADS" "${ours[*]}" "${torch_default[*]}" "${torch_passive[*]}" "${torch_one[*]}" <<'PYEOF'
import statistics, sys
threads = sys.argv[1]
med = [statistics.median(float(x) for x in a.split()) for a in sys.argv[2:]]
names = [f"pytorch, {threads} threads (as installed)",
         f"pytorch, {threads} threads, OMP_WAIT_POLICY=passive", "pytorch, 1 thread"]
print(f"medians of the rounds: trainer cpu ({threads} threads) {med[0]:.3f} ms/step")
for name, m in zip(names, med[1:]):
    print(f"  {name}: {m:.3f} ms/step, trainer is {m / med[0]:.2f}x faster")
print(f"against PyTorch's best: {min(med[1:]) / med[0]:.2f}x")
PYEOF
