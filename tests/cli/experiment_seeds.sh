#!/usr/bin/env bash
# experiment_seeds.sh - `trainer experiment --seeds`: run directories <config>-s<seed>,
# each trained with its seed; --emit-jobs with one line per run and seed; the progress
# lines the experiment prints while its runs go (not on a terminal: one per
# evaluation); and the usage errors of --seeds.
source "$(dirname "$0")/lib.bash"
need_data
DEV="$(cpu_device)"
TINY=(--layers 784,16,10 --iters 250 --eval-every 10 --device "$DEV" --data "$DATA")

seed_of() { # run dir -> the seed in its summary.json
	sed -n 's/^[[:space:]]*"seed":[[:space:]]*\([0-9]*\).*/\1/p' "$1/summary.json" | head -1
}

# ---- two seeds: six runs, named and seeded ----
EXP="$TMP/exp"
rc=0
"$BIN" experiment --preset quick --seeds 2 "${TINY[@]}" --out "$EXP" >"$TMP/exp.out" 2>&1 || rc=$?
check "experiment --seeds 2 exits 0 ($(tail -3 "$TMP/exp.out"))" test "$rc" -eq 0
check "the header names configurations and seeds" grep -q '6 runs of 250 iterations (3 configurations x 2 seeds)' "$TMP/exp.out"
check "report.md names the preset, configurations and seeds" \
	grep -q '^Preset quick with 2 seeds: 3 configurations x 2 seeds = 6 runs of 250 iterations\.$' "$EXP/report.md"
for cfg in lr0.0001-l2 lr0.005-l2 lr0.005-nol2; do
	for s in 1 2; do
		run="$cfg-s$s"
		check "$run exists" test -s "$EXP/$run/summary.json"
		check "$run trained with seed $s" test "$(seed_of "$EXP/$run")" = "$s"
		check "$run: a start line with its seed" grep -q "^\[[1-6]/6\] $run: started (.*seed $s, 250 iterations)" "$TMP/exp.out"
		check "$run: progress lines, one per evaluation (25)" \
			test "$(grep -c "^\[[1-6]/6\] $run: iter [0-9]*/250, val acc 0\.[0-9]*, [0-9.]* it/s, ETA run [0-9a-z?]*, experiment [0-9a-z?]*$" "$TMP/exp.out")" -eq 25
	done
	check "no run named plainly $cfg" test ! -e "$EXP/$cfg"
done
check "the two seeds differ" bash -c "! cmp -s '$EXP/lr0.005-l2-s1/w1.npy' '$EXP/lr0.005-l2-s2/w1.npy'"
check "experiment.json lists the seeds" grep -Eq '"seeds":[[:space:]]*\[1,[[:space:]]*2\]' "$EXP/experiment.json"
check "experiment.json: each run's config" grep -q '"config":[[:space:]]*"lr0.005-nol2"' "$EXP/experiment.json"
# the report: configurations aggregated over the seeds, the new figures linked
if command -v python3 >/dev/null; then
	check "report.json: 3 configs of 2 seeds each, with test_acc_mean and test_acc_sd" \
		python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
c = d['configs']
ok = len(c) == 3 and [x['name'] for x in c] == ['lr0.0001-l2', 'lr0.005-l2', 'lr0.005-nol2']
ok = ok and all(x['n_seeds'] == 2 and 0 <= x['test_acc_mean'] <= 1 and x['test_acc_sd'] >= 0 for x in c)
ok = ok and all('declines' in r and r['config'] for r in d['runs'])
sys.exit(not ok)" "$EXP/report.json"
fi
check "report.md: the configurations' table" grep -q '^| lr0.005-nol2 | 0.005 | 0 | 2 | 0\.[0-9]* ± ' "$EXP/report.md"
check "report.md: question 1 counts the seeds" grep -Eq '^- \*\*lr0.005-nol2\*\*: [0-2] of 2 seeds: (yes|no)' "$EXP/report.md"
for fig in compare-lr-acc compare-lr-acc-late compare-l2-lr0.005-loss compare-l2-lr0.005-loss-late \
	compare-l2-lr0.005-weights compare-l2-lr0.005-tiles compare-l2-lr0.005-hist \
	lr0.005-nol2-s2/confusion lr0.005-nol2-s2/misclassified lr0.005-nol2-s1/weights-hist; do
	check "figure $fig drawn and linked" bash -c "test -s '$EXP/figures/$fig.png' && grep -q '](figures/$fig.png)' '$EXP/report.md'"
done
# again, --quiet: all kept (the seed is part of what is compared), nothing printed
rc=0
"$BIN" experiment --preset quick --seeds 2 "${TINY[@]}" --out "$EXP" --quiet >"$TMP/again.out" 2>&1 || rc=$?
check "again: exits 0" test "$rc" -eq 0
check "again, --quiet: nothing printed" test ! -s "$TMP/again.out"
check "again: six runs kept" test "$(grep -c '"action":[[:space:]]*"keep"' "$EXP/experiment.json")" -eq 6

# ---- --emit-jobs: one line per run and seed ----
rc=0
"$BIN" experiment --preset quick --seeds 3 "${TINY[@]}" --out "$TMP/j" --emit-jobs "$TMP/jobs.txt" >/dev/null 2>&1 || rc=$?
check "--emit-jobs --seeds 3 exits 0" test "$rc" -eq 0
check "9 lines" test "$(wc -l <"$TMP/jobs.txt")" -eq 9
for cfg in lr0.0001-l2 lr0.005-l2 lr0.005-nol2; do
	for s in 1 2 3; do
		check "a line for $cfg with seed $s" grep -q -- "--seed $s .*--out $TMP/j/$cfg-s$s " "$TMP/jobs.txt"
	done
done
"$BIN" experiment --preset quick --seeds 4,9 "${TINY[@]}" --out "$TMP/j2" --emit-jobs "$TMP/jobs2.txt" >/dev/null 2>&1
check "--seeds 4,9: 6 lines" test "$(wc -l <"$TMP/jobs2.txt")" -eq 6
check "--seeds 4,9: seed 9's run" grep -q -- "--seed 9 .*--out $TMP/j2/lr0.005-nol2-s9 " "$TMP/jobs2.txt"
"$BIN" experiment --preset quick --seed 7 --seeds 2 "${TINY[@]}" --out "$TMP/j3" --emit-jobs "$TMP/jobs3.txt" >/dev/null 2>&1
check "--seed 7 --seeds 2: seeds 7 and 8" bash -c "grep -q -- '--seed 8 .*-s8 ' '$TMP/jobs3.txt' && ! grep -q -- '-s9 ' '$TMP/jobs3.txt'"
"$BIN" experiment --preset quick --seeds 1 "${TINY[@]}" --out "$TMP/j4" --emit-jobs "$TMP/jobs4.txt" >/dev/null 2>&1
check "--seeds 1: the plain names" grep -q -- "--out $TMP/j4/lr0.005-nol2 " "$TMP/jobs4.txt"

# ---- usage errors ----
expect_exit 2 "--seeds '0': must be between 1 and 20" -- experiment --seeds 0 --out "$TMP/x"
expect_exit 2 "--seeds '3,3': seed 3 twice" -- experiment --seeds 3,3 --out "$TMP/x"
expect_exit 2 "--seeds '1,,2'" -- experiment --seeds 1,,2 --out "$TMP/x"
expect_exit 2 "--seed and --seeds with a list" -- experiment --seed 2 --seeds 1,2 --out "$TMP/x"
expect_exit 2 "unknown option '--seeds' for this command" -- train --seeds 2
finish
