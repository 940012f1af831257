#!/usr/bin/env bash
# experiment.sh - `trainer experiment` and `trainer report` end to end on a tiny network:
# run directories, report.md whose every image link is a non-empty PNG, report.json,
# keeping completed runs, continuing one with a checkpoint, a diverged run reported as
# such, a failing run that does not stop the others, Ctrl-C, the --emit-jobs file run
# line by line with bash, and the usage errors.
source "$(dirname "$0")/lib.bash"
need_data
DEV="$(cpu_device)"
# 40 evaluations per run, so that the "late" plots (without the first 20) exist too.
TINY=(--layers 784,32,10 --iters 200 --eval-every 5 --device "$DEV" --data "$DATA")

# run_exp LOG ARGS...: trainer experiment, output in $TMP/LOG; sets $rc.
run_exp() {
	local log="$1"; shift
	rc=0
	"$BIN" experiment "$@" >"$TMP/$log" 2>&1 || rc=$?
}

status_of() { # run dir -> its summary.json status
	sed -n 's/^[[:space:]]*"status":[[:space:]]*"\([a-z]*\)".*/\1/p' "$1/summary.json"
}

# check_report DIR MIN_LINKS: report.md with at least MIN_LINKS image links, each a
# non-empty PNG; report.json that parses.
check_report() {
	local dir="$1" min="$2" n=0 link
	check "report.md in $dir" test -s "$dir/report.md"
	check "report.json in $dir" test -s "$dir/report.json"
	while read -r link; do
		n=$((n + 1))
		if [[ ! -s "$dir/$link" || "$(head -c 4 "$dir/$link" | tail -c 3)" != PNG ]]; then
			bad "report.md links $link, which is not a non-empty PNG"
		fi
	done < <(grep -o '](figures/[^)]*\.png)' "$dir/report.md" | sed 's/^](//; s/)$//')
	check "report.md of $dir has >= $min image links ($n)" test "$n" -ge "$min"
	if command -v python3 >/dev/null; then
		check "report.json of $dir parses" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$dir/report.json"
	else
		check "report.json of $dir looks like JSON" grep -q '"runs":' "$dir/report.json"
	fi
}

# ---- a quick experiment: three runs, the report ----
EXP="$TMP/exp"
run_exp exp.out --preset quick "${TINY[@]}" --out "$EXP"
check "experiment exits 0 ($(tail -3 "$TMP/exp.out"))" test "$rc" -eq 0
for run in lr0.0001-l2 lr0.005-l2 lr0.005-nol2; do
	check "$run completed" test "$(status_of "$EXP/$run")" = completed
	check "$run has 40 evaluations" test "$(tail -n +2 "$EXP/$run/metrics.csv" | wc -l)" -eq 40
	check "$run weights" test -s "$EXP/$run/w2.npy"
	check "$run: a start line" grep -q "^\[[1-3]/3\] $run: started" "$TMP/exp.out"
	check "$run: a finish line with the test accuracy" grep -Eq "^\[[1-3]/3\] $run: completed in .*, test accuracy 0\.[0-9]{4}" "$TMP/exp.out"
	for fig in loss acc loss-late acc-late weights w1-tiles weights-hist; do
		check "$run: $fig linked" grep -q "](figures/$run/$fig.png)" "$EXP/report.md"
	done
	check "$run: loss.svg" test -s "$EXP/figures/$run/loss.svg"
done
# 3 runs x 7 figures + the lr comparison (2) + the L2 comparison (3)
check_report "$EXP" 26
check "report.md has the runs' table" grep -q '^| lr0.005-nol2 | 0.005 | 0 |' "$EXP/report.md"
for q in 1 2 3 4; do
	check "report.md answers question $q" grep -q "^### $q\. " "$EXP/report.md"
done
check "question 3 compares the test accuracies" grep -Eq 'L2 changed it by \*\*[-+]0\.[0-9]{4}\*\*' "$EXP/report.md"
check "question 4 has the W1 row" grep -Eq '^\| W1 \| 0\.[0-9]{4} / 0\.[0-9]{4} \|' "$EXP/report.md"
check "report.json has the L2 comparison" grep -q '"test_acc_change":' "$EXP/report.json"
check "experiment.json written" grep -q '"preset":[[:space:]]*"quick"' "$EXP/experiment.json"

# ---- again in the same directory: everything is kept ----
run_exp again.out --preset quick "${TINY[@]}" --out "$EXP"
check "second experiment exits 0" test "$rc" -eq 0
check "completed runs are kept" test "$(grep -c ': kept (completed earlier' "$TMP/again.out")" -eq 3
check "nothing started again" bash -c "! grep -q started '$TMP/again.out'"
# ... but not with other settings
run_exp conflict.out --preset quick "${TINY[@]}" --seed 2 --out "$EXP"
check "other settings in the same directory: usage error ($rc)" test "$rc" -eq 2
check "... naming the setting" grep -q 'seed 1, here 2' "$TMP/conflict.out"

# ---- a diverged run: weights of 1.2e30 overflow at once ----
huge="$TMP/huge"
mkdir -p "$huge"
for f in w1 b1 w2 b2; do
	n=$(( ($(stat -c %s "$EXP/lr0.005-l2/$f.npy") - 128) / 4 ))
	{ head -c 128 "$EXP/lr0.005-l2/$f.npy"; head -c $((n * 4)) /dev/zero | tr '\0' 'q'; } >"$huge/$f.npy"
done
rc=0
"$BIN" train "${TINY[@]}" --lr 0.05 --l2 0.0005 --init-weights "$huge" --out "$EXP/lr0.05-l2" --quiet \
	>"$TMP/div.out" 2>&1 || rc=$?
check "huge weights diverge (exit $rc)" test "$rc" -eq 6
check "... and the summary says so" test "$(status_of "$EXP/lr0.05-l2")" = diverged
# The full preset on the same directory: the diverged run is a result and is kept, the
# new lr 0.00005 run is trained, the rest are kept; the report shows the divergence.
run_exp full.out --preset full "${TINY[@]}" --out "$EXP" --jobs 2
check "full experiment exits 0 ($(tail -2 "$TMP/full.out"))" test "$rc" -eq 0
check "the diverged run is kept" grep -q 'lr0.05-l2: kept (diverged earlier' "$TMP/full.out"
check "lr 0.00005 trained" test "$(status_of "$EXP/lr0.00005-l2")" = completed
check "the report table shows the divergence" grep -Eq '^\| lr0.05-l2 \|.*\*\*diverged\*\*' "$EXP/report.md"
check "report.json marks it diverged" grep -Eq '"diverged":[[:space:]]*true' "$EXP/report.json"
check_report "$EXP" 33
check "--jobs 2 on cpu: 1 thread per run" grep -q 'threads per run: 1' "$TMP/full.out"

# ---- `trainer report DIR` rebuilds it ----
# Started with SIGCHLD ignored (as some launchers do), which would have the gnuplot
# children reaped unseen: the trainer restores it and waits for them all the same.
rm -rf "$EXP/report.md" "$EXP/figures"
rc=0
timeout -k 5 300 bash -c "trap '' CHLD; exec \"\$0\" report \"\$1\"" "$BIN" "$EXP" \
	>"$TMP/report.out" 2>&1 || rc=$?
check "trainer report (SIGCHLD ignored by its parent) exits 0 ($rc: $(tail -2 "$TMP/report.out"))" test "$rc" -eq 0
check "trainer report keeps the line of the preset (from experiment.json)" \
	grep -q '^Preset full: 5 runs of [0-9]* iterations\.$' "$EXP/report.md"
check_report "$EXP" 33
# Without gnuplot the report is still written, with a note, and the exit code says so.
rc=0
env PATH=/nonexistent "$BIN" report "$EXP" >"$TMP/nognuplot.out" 2>&1 || rc=$?
check "no gnuplot: exit 4 ($rc)" test "$rc" -eq 4
check "no gnuplot: said on stderr" grep -q 'gnuplot was not found' "$TMP/nognuplot.out"
check "no gnuplot: the note in report.md" grep -q 'gnuplot was not found' "$EXP/report.md"

# ---- a run with a checkpoint is continued with --resume ----
EXP3="$TMP/exp3"
"$BIN" train "${TINY[@]}" --iters 100 --lr 0.005 --l2 0 --out "$EXP3/lr0.005-nol2" --quiet
check "a 100-iteration run leaves a checkpoint" test -s "$EXP3/lr0.005-nol2/checkpoint.bin"
echo '{}' >"$EXP3/experiment.json"
run_exp resume.out --preset quick "${TINY[@]}" --out "$EXP3"
check "experiment with a shorter run exits 0 ($(tail -2 "$TMP/resume.out"))" test "$rc" -eq 0
check "it is resumed" grep -q 'lr0.005-nol2: resuming' "$TMP/resume.out"
check "... to 200 iterations" test "$(tail -1 "$EXP3/lr0.005-nol2/metrics.csv" | cut -d, -f1)" = 200

# ---- a run that fails does not stop the others ----
EXP4="$TMP/exp4"
mkdir -p "$EXP4"
echo "in the way" >"$EXP4/lr0.005-nol2"
run_exp fail.out --preset quick "${TINY[@]}" --out "$EXP4" --force
check "a failed run makes the exit code non-zero ($rc)" test "$rc" -ne 0
check "the failure is printed with its reason" grep -q 'lr0.005-nol2: FAILED .*exit 2' "$TMP/fail.out"
check "the other runs completed" test "$(status_of "$EXP4/lr0.0001-l2")$(status_of "$EXP4/lr0.005-l2")" = completedcompleted
check "the report was still built" test -s "$EXP4/report.md"

# ---- Ctrl-C: the runs save a checkpoint, the experiment exits 7, and goes on later ----
EXP5="$TMP/exp5"
"$BIN" experiment --preset quick --layers 784,32,10 --iters 1000000 --device "$DEV" --data "$DATA" \
	--out "$EXP5" >"$TMP/int.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[[ -s "$EXP5/lr0.0001-l2/checkpoint.bin" ]] && break
	sleep 0.1
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
check "interrupted experiment exits 7 ($rc; $(tail -2 "$TMP/int.out"))" test "$rc" -eq 7
check "the running run saved its state" test "$(status_of "$EXP5/lr0.0001-l2")" = interrupted
check "no further run was started" test ! -e "$EXP5/lr0.005-l2"
check "how to continue is printed" grep -q 'run the same command again' "$TMP/int.out"

# ---- --emit-jobs: one command per line, each runnable with bash ----
JOBS="$TMP/job dir"   # a space: the lines must quote it
run_exp emit.out --preset quick "${TINY[@]}" --out "$JOBS" --emit-jobs "$TMP/jobs.txt"
check "--emit-jobs exits 0" test "$rc" -eq 0
check "3 lines" test "$(wc -l <"$TMP/jobs.txt")" -eq 3
check "nothing run yet" test ! -e "$JOBS"
check "absolute binary path first" bash -c "cut -d' ' -f1 '$TMP/jobs.txt' | grep -qv '^/' && exit 1 || exit 0"
check "every option explicit" grep -q -- "--lr 0.005 --l2 0 --l2-scope all --batch 64 --eval-every 5" "$TMP/jobs.txt"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	check "job line $n runs with bash" bash -c "$line"
done <"$TMP/jobs.txt"
for run in lr0.0001-l2 lr0.005-l2 lr0.005-nol2; do
	check "job $run completed" test "$(status_of "$JOBS/$run")" = completed
done
rc=0
"$BIN" report "$JOBS" >"$TMP/jreport.out" 2>&1 || rc=$?
check "trainer report on the jobs' directory exits 0" test "$rc" -eq 0
check_report "$JOBS" 26

# ---- usage errors ----
expect_exit 2 "--preset 'fast'" -- experiment --preset fast --out "$TMP/x"
expect_exit 2 "--jobs" -- experiment --jobs 0 --out "$TMP/x"
mkdir -p "$TMP/full-of-stuff" && touch "$TMP/full-of-stuff/file"
expect_exit 2 "not empty" -- experiment "${TINY[@]}" --out "$TMP/full-of-stuff"
expect_exit 2 "name the experiment directory" -- report
expect_exit 3 "no run directories" -- report "$TMP/full-of-stuff"
expect_exit 2 "unknown option '--preset' for this command" -- train --preset quick
finish
