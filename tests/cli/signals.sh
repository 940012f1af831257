#!/usr/bin/env bash
# signals.sh - a run survives what a closed terminal or a closed pipe does to it:
#  - SIGHUP (the terminal closed) is handled like SIGTERM: the run saves a checkpoint,
#    summary.json says "interrupted", exit code 7, and --resume continues it to the
#    same result as an uninterrupted run;
#  - a pipe closed on the progress output (`trainer ... 2>&1 | head -1`) does not kill
#    it (SIGPIPE is ignored): the writes fail, the progress output stops, the run
#    completes.
# Every wait is a bounded poll, and every process started is gone at the end.
source "$(dirname "$0")/errors_lib.bash"
need_data

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
BASE=(--device "$DEV" --threads 1 --data "$SMALL" --val-size 50)
NET=(--layers 784,8,10 --init he --lr 0.001)

# finish_pid PID SECONDS: wait for PID to end by itself (bounded), else kill it; sets RC.
finish_pid() {
	if ! wait_for "! kill -0 $1 2>/dev/null" "$2"; then
		kill -KILL "$1" 2>/dev/null
		bad "process $1 did not end within $2 s; killed"
	fi
	RC=0
	wait "$1" || RC=$?
}

# ---- SIGHUP: checkpoint, "interrupted", exit 7; resume gives the uninterrupted run ----
EVAL=(--eval-every 100)
H="$TMP/hup"
"$BIN" "${BASE[@]}" "${NET[@]}" "${EVAL[@]}" --iters 100000000 --out "$H" >"$TMP/hup.out" \
	2>"$TMP/hup.err" &
pid=$!
PIDS+=("$pid")
# The handlers are in place before the first summary.json is written.
wait_for "[[ \$(status_of '$H') == running ]]" 120 || bad "the run never started: $(cat "$TMP/hup.err")"
kill -HUP "$pid"
finish_pid "$pid" 120
check "SIGHUP: exit code 7 ($RC: $(tail -c 300 "$TMP/hup.err"))" test "$RC" -eq 7
check "SIGHUP: the message names the signal and how to resume" \
	grep -q "interrupted by SIGHUP after iteration [0-9]*; the checkpoint is saved: continue with  trainer --resume $H" "$TMP/hup.err"
check "SIGHUP: summary.json says interrupted" test "$(status_of "$H")" = interrupted
check "SIGHUP: a checkpoint was saved" test -s "$H/checkpoint.bin"
check "SIGHUP: the weights were written" test -s "$H/w2.npy"
# Continue 50 iterations past where it stopped; the same run in one go must match.
step="$(sed -n 's/.*interrupted by SIGHUP after iteration \([0-9]*\);.*/\1/p' "$TMP/hup.err")"
step="${step:-0}"
succeeds --resume "$H" --iters $((step + 50)) --quiet
succeeds "${BASE[@]}" "${NET[@]}" "${EVAL[@]}" --iters $((step + 50)) --quiet --out "$TMP/hup-whole"
check "SIGHUP + resume = uninterrupted run (iteration $((step + 50)))" same_run "$H" "$TMP/hup-whole"

# ---- a closed pipe: the run goes on and completes ----
# The reader (`:`) exits at once, long before the run has loaded its data: every
# progress line (one per evaluation, not a terminal) goes to a pipe nobody reads.
P="$TMP/pipe"
rc=0
set -o pipefail
timeout -k 5 300 "$BIN" "${BASE[@]}" "${NET[@]}" --iters 200 --eval-every 10 --out "$P" 2>&1 | : || rc=$?
set +o pipefail
check "closed pipe: the run exits 0, not 141 ($rc)" test "$rc" -eq 0
check "closed pipe: summary.json says completed" test "$(status_of "$P")" = completed
check "closed pipe: the last evaluation is in metrics.csv" \
	test "$(tail -1 "$P/metrics.csv" | cut -d, -f1)" = 200
finish
