#!/usr/bin/env bash
# rundir.sh - one trainer per run directory, and --force leaves no file of an earlier
# run behind:
#  - two trainers started together on one new --out: one trains, the other is refused
#    (exit 2), never both (five pairs);
#  - a second --resume of a directory being resumed, and --force into a directory whose
#    trainer is running, are refused at once, naming the process that holds it, and
#    change nothing there;
#  - a run killed with SIGKILL leaves no stale lock: --resume works right after;
#  - --force over a run of a deeper network removes the earlier run's files (w3.npy,
#    b3.npy, its checkpoint) and only those.
# Every wait is a bounded poll, and every process started is gone at the end.
source "$(dirname "$0")/errors_lib.bash"
need_data

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
BASE=(--device "$DEV" --threads 1 --data "$SMALL" --val-size 50 --quiet)
NET=(--layers 784,8,10 --init he --lr 0.001)

# stop PID: SIGTERM, then a bounded wait (SIGKILL if it does not end); sets RC.
stop() {
	kill -TERM "$1" 2>/dev/null
	if ! wait_for "! kill -0 $1 2>/dev/null" 120; then
		kill -KILL "$1" 2>/dev/null
		bad "process $1 did not stop within 120 s after SIGTERM"
	fi
	RC=0
	wait "$1" || RC=$?
}

# ---- two trainers started together on one new directory ----
# On the whole data set, so that both are still loading it when the other starts.
TOGETHER=(--device "$DEV" --threads 1 --data "$DATA" --val-size 50 --quiet "${NET[@]}"
	  --iters 300 --eval-every 100)
for pair in 1 2 3 4 5; do
	D="$TMP/together$pair"
	"$BIN" "${TOGETHER[@]}" --out "$D" 2>"$TMP/t1.err" &
	p1=$!
	"$BIN" "${TOGETHER[@]}" --out "$D" 2>"$TMP/t2.err" &
	p2=$!
	rc1=0; wait "$p1" || rc1=$?
	rc2=0; wait "$p2" || rc2=$?
	codes="$(printf '%s\n' "$rc1" "$rc2" | sort -n | tr '\n' ' ')"
	check "pair $pair on one new --out: one exits 0, the other 2 (got $codes)" test "$codes" = "0 2 "
	check "pair $pair: the refusal says why" \
		grep -Eqh "is in use by another trainer \\(process [0-9]+\\)|directory exists and is not empty" "$TMP/t1.err" "$TMP/t2.err"
	check "pair $pair: the run completed" test "$(status_of "$D")" = completed
done

# ---- a run in progress: a second --resume and --force are refused at once ----
R="$TMP/run"
succeeds "${BASE[@]}" "${NET[@]}" --iters 20 --eval-every 10 --out "$R"
# (--device, --threads and --data given: this is about the lock, not about what a
# resumed run remembers.)
AGAIN=("${BASE[@]}")
AGAIN=("${AGAIN[@]:0:6}" --quiet)
"$BIN" --resume "$R" --iters 100000000 "${AGAIN[@]}" 2>"$TMP/r.err" &
pid=$!
PIDS+=("$pid")
if wait_for "[[ \$(status_of '$R') == running ]]" 120; then
	# The running trainer rewrites metrics.csv and summary.json; the weights of the
	# earlier session stay until it ends: the refused commands must not touch them.
	w_before="$(cat "$R"/*.npy | cksum)"
	fails 2 "--resume: $R is in use by another trainer \\(process $pid\\): wait until it ends or stop it \\(kill $pid\\)" -- \
		--resume "$R" --iters 200000000 "${AGAIN[@]}"
	fails 2 "--out: $R is in use by another trainer \\(process $pid\\)" -- \
		"${BASE[@]}" "${NET[@]}" --iters 20 --out "$R" --force
	check "the refused commands removed or changed nothing" \
		test "$(cat "$R"/*.npy | cksum)" = "$w_before" -a -s "$R/checkpoint.bin"
	stop "$pid"
	check "the running trainer was not disturbed: it stops on SIGTERM with exit 7 ($RC)" test "$RC" -eq 7
	check "... and its summary says interrupted" test "$(status_of "$R")" = interrupted
else
	bad "the resumed run never started: $(cat "$TMP/r.err")"
	stop "$pid"
fi

# ---- SIGKILL leaves no stale lock ----
"$BIN" --resume "$R" --iters 100000000 "${AGAIN[@]}" 2>"$TMP/k.err" &
pid=$!
PIDS+=("$pid")
wait_for "[[ \$(status_of '$R') == running ]]" 120 || bad "the run to kill never started"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
step="$(tail -1 "$R/metrics.csv" | cut -d, -f1)"
succeeds --resume "$R" --iters $((step + 30)) "${AGAIN[@]}"
check "after SIGKILL the directory is free again: the resumed run completed" \
	test "$(status_of "$R")" = completed

# ---- --force over a deeper network's run ----
F="$TMP/forced"
succeeds "${BASE[@]}" --layers 784,8,16,10 --iters 20 --eval-every 10 --out "$F"
echo "my notes" >"$F/notes.txt"
mkdir "$F/figures" && echo keep >"$F/figures/w3.npy"
succeeds "${BASE[@]}" "${NET[@]}" --iters 10 --eval-every 5 --out "$F" --force
check "--force: no w3.npy or b3.npy of the earlier run" test ! -e "$F/w3.npy" -a ! -e "$F/b3.npy"
check "--force: no best/w3.npy of the earlier run" test ! -e "$F/best/w3.npy"
check "--force: the new run's weights" test -s "$F/w2.npy" -a -s "$F/b2.npy"
check "--force: other files are kept" test "$(cat "$F/notes.txt")$(cat "$F/figures/w3.npy")" = "my noteskeep"
# ... and a run that writes no checkpoint leaves none of the earlier run's.
succeeds "${BASE[@]}" "${NET[@]}" --iters 10 --eval-every 5 --checkpoint-every off --out "$F" --force
check "--force with --checkpoint-every off: no checkpoint of the earlier run" \
	test ! -e "$F/checkpoint.bin"
finish
