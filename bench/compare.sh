#!/usr/bin/env bash
# compare.sh - the lab's training step in `trainer bench` (cpu backend) and in PyTorch
# (bench/pytorch_step.py), alternately, on the same machine and thread count, then the
# medians and their ratio. Usage: bench/compare.sh [ROUNDS] (default 3), with TRAINER
# pointing at the binary (default: build/trainer) and THREADS at the thread count
# (default: all cores).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
TRAINER="${TRAINER:-$here/../build/trainer}"
THREADS="${THREADS:-$(nproc)}"
ROUNDS="${1:-3}"
PY="${PYTHON:-/usr/bin/python3}"
ours=() theirs=()
for ((r = 1; r <= ROUNDS; r++)); do
	t="$("$TRAINER" bench --device cpu --threads "$THREADS" --json --quiet |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["backends"][0]["step"]["median_ms"])')"
	ours+=("$t")
	rc=0
	p="$("$PY" "$here/pytorch_step.py" --threads "$THREADS" --json |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["step"]["median_ms"])')" || rc=$?
	if [[ $rc -ne 0 || -z "$p" ]]; then
		echo "trainer cpu: $t ms/step; PyTorch not available (apt-get install python3-torch)"
		exit 0
	fi
	theirs+=("$p")
	printf 'round %d: trainer cpu %.3f ms/step, pytorch %.3f ms/step\n' "$r" "$t" "$p"
done
"$PY" - "${ours[*]}" "${theirs[*]}" "$THREADS" <<'PYEOF'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"median of {len(a)} rounds, {sys.argv[3]} threads: trainer cpu {ma:.3f} ms/step, "
      f"pytorch {mb:.3f} ms/step: trainer is {mb / ma:.2f}x faster")
PYEOF
