#!/usr/bin/env bash
# experiment_faults.sh - `trainer experiment` and `trainer report` when things go wrong:
#  - a second experiment on a directory in use is refused at once (exit 2, naming the
#    process), and so is one whose run directory an earlier run still writes;
#  - the runs die with the experiment: SIGKILL of the experiment makes its run save a
#    checkpoint and stop (no orphan), SIGHUP (a closed terminal) is passed on like
#    Ctrl-C (exit 7, the run interrupted and resumable);
#  - a seed of 2^53 is recorded exactly, so that running again keeps the runs;
#  - a failed run's line quotes its error, not the hint after it;
#  - `trainer report` says which weights it cannot read, and refuses a summary.json
#    whose integers are out of range (iterations_done 1e300) instead of converting them.
# Every wait is a bounded poll, and every process started is gone at the end.
source "$(dirname "$0")/errors_lib.bash"
need_data

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
TINY=(--preset quick --layers 784,8,10 --eval-every 5 --device "$DEV" --data "$SMALL"
      --val-size 50 --threads 1)
LONG=("${TINY[@]}" --iters 100000000)

# running EXP_PID RUN_DIR SECONDS: poll until the run is running; its process and the
# experiment's other children join PIDS (killed at exit, whatever happens).
running() {
	wait_for "[[ \$(status_of '$2') == running ]]" "$3" || return 1
	PIDS+=($(ps -o pid= --ppid "$1" 2>/dev/null || true))
	return 0
}
lock_pid() { # the process id written in DIR/.trainer.lock
	tr -dc '0-9' <"$1/.trainer.lock" 2>/dev/null
}
# exp ARGS...: trainer experiment with a time limit; sets RC, output in $TMP/exp.out.
exp() {
	RC=0
	timeout -k 5 120 "$BIN" experiment "$@" >"$TMP/exp.out" 2>&1 || RC=$?
}
RUN1=lr0.0001-l2   # the first run of the quick preset

# ---- a directory in use by another experiment ----
E="$TMP/busy"
"$BIN" experiment "${LONG[@]}" --out "$E" >"$TMP/busy.out" 2>&1 &
epid=$!
PIDS+=("$epid")
if running "$epid" "$E/$RUN1" 120; then
	exp "${LONG[@]}" --out "$E"
	check "a second experiment on a directory in use: exit 2 ($RC: $(tail -2 "$TMP/exp.out"))" test "$RC" -eq 2
	check "... naming the process that holds it" \
		grep -q -- "--out: $E is in use by another trainer (process $epid)" "$TMP/exp.out"
	kill -TERM "$epid"
	ended "$epid" 120 || bad "the experiment did not stop on SIGTERM"
	rc=0; wait "$epid" || rc=$?
	check "the first experiment was not disturbed: SIGTERM stops it with exit 7 ($rc)" test "$rc" -eq 7
	check "... its run interrupted and saved" test "$(status_of "$E/$RUN1")" = interrupted
else
	bad "the experiment never started its run: $(tail -3 "$TMP/busy.out")"
fi

# ---- a run directory an earlier run still writes ----
"$BIN" train --resume "$E/$RUN1" --iters 200000000 --device "$DEV" --threads 1 --data "$SMALL" \
	--quiet 2>"$TMP/orphan.err" &
opid=$!
PIDS+=("$opid")
if running "$opid" "$E/$RUN1" 120; then
	exp "${LONG[@]}" --out "$E"
	check "an experiment whose run is being written elsewhere: exit 2 ($RC: $(tail -2 "$TMP/exp.out"))" \
		test "$RC" -eq 2
	check "... naming the run directory and its process" \
		grep -q "$E/$RUN1 is in use by another trainer (process $opid)" "$TMP/exp.out"
else
	bad "the stand-in orphan never started: $(cat "$TMP/orphan.err")"
fi
kill -TERM "$opid" 2>/dev/null
ended "$opid" 120 || bad "the stand-in orphan did not stop on SIGTERM"
wait "$opid" 2>/dev/null

# ---- SIGKILL of the experiment: its run saves and stops ----
K="$TMP/killed"
"$BIN" experiment "${LONG[@]}" --out "$K" >"$TMP/killed.out" 2>&1 &
epid=$!
PIDS+=("$epid")
if running "$epid" "$K/$RUN1" 120; then
	child="$(ps -o pid= --ppid "$epid" | head -1 | tr -d ' ')"
	check "the run's trainer holds its directory's lock" test "$(lock_pid "$K/$RUN1")" = "$child"
	kill -KILL "$epid"
	wait "$epid" 2>/dev/null
	if ended "$child" 60; then
		ok
		check "the orphaned run saved a checkpoint and says interrupted" \
			test "$(status_of "$K/$RUN1")" = interrupted -a -s "$K/$RUN1/checkpoint.bin"
		step="$(tail -1 "$K/$RUN1/metrics.csv" | cut -d, -f1)"
		succeeds train --resume "$K/$RUN1" --iters $((step + 10)) --device "$DEV" --threads 1 \
			--data "$SMALL" --quiet
	else
		bad "the run (process $child) still runs 60 s after its experiment was killed"
		kill -KILL "$child" 2>/dev/null
	fi
else
	bad "the experiment never started its run: $(tail -3 "$TMP/killed.out")"
	kill -KILL "$epid" 2>/dev/null
fi

# ---- SIGHUP: passed on like Ctrl-C ----
H="$TMP/hup"
"$BIN" experiment "${LONG[@]}" --out "$H" >"$TMP/hup.out" 2>&1 &
epid=$!
PIDS+=("$epid")
if running "$epid" "$H/$RUN1" 120; then
	kill -HUP "$epid"
	ended "$epid" 120 || bad "the experiment did not end after SIGHUP"
	rc=0; wait "$epid" || rc=$?
	check "SIGHUP: the experiment exits 7 ($rc: $(tail -2 "$TMP/hup.out"))" test "$rc" -eq 7
	check "SIGHUP: its run was interrupted and saved" \
		test "$(status_of "$H/$RUN1")" = interrupted -a -s "$H/$RUN1/checkpoint.bin"
	check "SIGHUP: no further run started" test ! -e "$H/lr0.005-l2"
else
	bad "the experiment never started its run: $(tail -3 "$TMP/hup.out")"
fi

# ---- a seed of 2^53: recorded exactly, so running again keeps the runs ----
S="$TMP/seed"
exp "${TINY[@]}" --iters 10 --seed 9007199254740992 --out "$S"
check "seed 2^53: the experiment exits 0 ($RC: $(tail -2 "$TMP/exp.out"))" test "$RC" -eq 0
exp "${TINY[@]}" --iters 10 --seed 9007199254740992 --out "$S"
check "seed 2^53: running again exits 0 ($RC: $(tail -2 "$TMP/exp.out"))" test "$RC" -eq 0
check "seed 2^53: running again keeps the three runs" \
	test "$(grep -c ': kept (completed earlier' "$TMP/exp.out")" -eq 3
check "seed 2^53: report.json records it exactly" \
	grep -q '"seed":[[:space:]]*9007199254740992,' "$S/report.json"

# ---- a failed run's line quotes its error ----
F="$TMP/failed"
mkdir -p "$F"
echo "in the way" >"$F/lr0.005-nol2"
exp "${TINY[@]}" --iters 10 --out "$F" --force
check "a failed run makes the exit code 2 ($RC)" test "$RC" -eq 2
check "the FAILED line quotes the run's error" \
	grep -q "lr0.005-nol2: FAILED .*(exit 2, usage error): --out $F/lr0.005-nol2: exists and is not a directory" "$TMP/exp.out"
check "... not the hint printed after it" bash -c "! grep 'FAILED' '$TMP/exp.out' | grep -q 'trainer --help'"

# ---- trainer report: weights it cannot read, integers out of range ----
printf '\223NUMPY' >"$S/lr0.005-l2/w1.npy"
rc=0
"$BIN" report "$S" >"$TMP/report.out" 2>"$TMP/report.err" || rc=$?
check "report with a damaged w1.npy exits 0 ($rc: $(tail -2 "$TMP/report.err"))" test "$rc" -eq 0
check "... and warns about it, naming the run and the file" \
	grep -q "trainer: warning: the weights of 1 run cannot be read, so they have no weight pictures: lr0.005-l2: $S/lr0.005-l2/w1.npy: " "$TMP/report.err"
check "... report.md says why there are no weight pictures" \
	grep -q "No weight pictures: the weights cannot be read: $S/lr0.005-l2/w1.npy: " "$S/report.md"
check "... not that the run left none" bash -c "! grep -q 'left no weights (completed)' '$S/report.md'"
sed -i 's/"iterations_done":[[:space:]]*[0-9]*/"iterations_done":\t1e300/' "$S/lr0.005-nol2/summary.json"
rc=0
"$BIN" report "$S" >"$TMP/report.out" 2>"$TMP/report.err" || rc=$?
check "report with iterations_done 1e300 exits 0 ($rc: $(tail -2 "$TMP/report.err"))" test "$rc" -eq 0
check "... the run is skipped, saying why" \
	grep -q "skipped 1 unreadable run directory: $S/lr0.005-nol2/summary.json: \"iterations_done\" is 1e+300, not a whole number from 0 to 1000000000: the summary is damaged" "$TMP/report.out"
check "... no sanitizer report (float-cast-overflow)" san_clean "$TMP/report.err"
check "... and no converted value in report.md" bash -c "! grep -q -- '-9223372036854775808' '$S/report.md'"
finish
