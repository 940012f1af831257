#!/usr/bin/env bash
# checkpoint_overhead.sh - what checkpointing costs a run: the wall time of the same
# 1,000-iteration run of the lab's network (evaluations every 100) with
# --checkpoint-every off, the default (5m: here only the final checkpoint) and 100
# (a checkpoint at every evaluation, as before checkpoints were time-based), N times
# each, interleaved so that other load on the machine hits every variant alike.
# Prints each time, then the medians and the ratios to `off`.
#   usage: bench/checkpoint_overhead.sh [N=5]   (TRAINER_BIN, DEVICE=cpu, DATA=data/mnist)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${TRAINER_BIN:-$root/build/trainer}"
N="${1:-5}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
modes=(off 5m 100)
declare -A times
for ((i = 1; i <= N; i++)); do
	for mode in "${modes[@]}"; do
		t0=$(date +%s.%N)
		"$BIN" --device "${DEVICE:-cpu}" --data "${DATA:-$root/data/mnist}" --iters 1000 \
			--eval-every 100 --checkpoint-every "$mode" --out "$tmp/$mode-$i" --quiet
		t=$(echo "$(date +%s.%N) - $t0" | bc)
		times[$mode]+="$t "
		printf 'run %d  --checkpoint-every %-4s %7.2f s  (checkpoint.bin: %s)\n' "$i" "$mode" "$t" \
			"$([[ -e $tmp/$mode-$i/checkpoint.bin ]] && echo written || echo none)"
		rm -rf "$tmp/$mode-$i"
	done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(echo "${times[off]}" | median)
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in "${modes[@]}"; do
	m=$(echo "${times[$mode]}" | median)
	printf 'median of %d  --checkpoint-every %-4s %7.2f s  = %.3f x off\n' "$N" "$mode" "$m" "$(echo "$m / $base" | bc -l)"
done
