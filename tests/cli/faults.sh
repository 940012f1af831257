#!/usr/bin/env bash
# faults.sh - faults that must lose nothing:
#  (a) SIGKILL at random moments, 20 times over, of a run that checkpoints every 5
#      iterations: the run directory never holds a torn file (metrics.csv and
#      summary.json always parse, checkpoint.bin is always valid), --resume always
#      works from it, and the run finally completes;
#  (b) a full disk, by a file-size limit (ulimit -f) and by a small tmpfs (root only):
#      exit code 4 naming the file, the previous checkpoint intact, and --resume works
#      once there is room again;
#  (c) a non-finite loss: exit code 6 naming the iteration, summary.json says
#      diverged, metrics.csv kept, the last good checkpoint kept (never one with
#      non-finite parameters), and no weights written over existing ones.
# Set FAULTS_SEED to replay the kill timings of a failed run.
source "$(dirname "$0")/errors_lib.bash"
need_data

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
BASE=(--device "$DEV" --threads 1 --data "$SMALL" --quiet)

# ---- checks of a run directory ----
metrics_ok() { # DIR: header, then rows of 9 numeric fields with increasing iterations
	local f="$1/metrics.csv"
	[[ -f $f ]] || return 0
	awk -F, 'NR == 1 { if ($0 != "iter,train_loss,train_acc,val_loss,val_acc,seconds,train_ce,val_ce,l2_term") exit 1; next }
		 NF != 9 || $1 !~ /^[0-9]+$/ || $1 + 0 <= last { exit 1 }
		 { for (i = 2; i <= 9; i++) if ($i !~ /^-?([0-9.e+-]+|nan|inf)$/) exit 1; last = $1 + 0 }
		 END { if (NR < 1) exit 1 }' "$f"
}
json_ok() { # FILE: a whole JSON object
	[[ -f $1 ]] || return 0
	if command -v python3 >/dev/null; then
		python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
	else
		[[ "$(head -c 1 "$1")" == "{" && "$(tail -c 2 "$1")" == "}"$'\n' ]] &&
			grep -q '"status"' "$1"
	fi
}
json_get() { # FILE KEY: the value of a top-level scalar key, as printed
	sed -n "s/^\t\"$2\":[[:space:]]*\(.*\),\{0,1\}$/\1/p" "$1" | sed 's/,$//' | head -1
}
# ckpt_step DIR: the iteration of DIR's checkpoint, asking the trainer itself (it
# validates the whole file before comparing with --iters); empty if there is none.
# Fails (and says why) when the checkpoint exists but is refused. The probe runs on a
# copy: a checkpoint at iteration 1 of a run not completed is finished there.
ckpt_step() {
	local rc=0 probe="$TMP/probe-run"
	[[ -e $1/checkpoint.bin ]] || return 0
	rm -rf "$probe" && cp -r "$1" "$probe"
	timeout 60 "$BIN" --resume "$probe" --iters 1 --device "$DEV" --data "$SMALL" \
		>"$TMP/probe.out" 2>"$TMP/probe.err" || rc=$?
	if [[ $rc -eq 2 ]] && grep -q "already at iteration" "$TMP/probe.err"; then
		sed -n 's/.*already at iteration \([0-9]*\).*/\1/p' "$TMP/probe.err"
	elif [[ $rc -eq 0 ]] && grep -Eq "already completed 1 iterations|^completed: 1 iterations" "$TMP/probe.out"; then
		echo 1
	else
		echo "checkpoint refused (exit $rc): $(head -c 300 "$TMP/probe.err")" >&2
		return 1
	fi
}
no_temps() { # DIR: no temporary files of atomic writes left
	[[ -z "$(find "$1" -maxdepth 1 -name '.*.tmp.*')" ]]
}

# ---- (a) SIGKILL at random moments ----
seed="${FAULTS_SEED:-$RANDOM}"
RANDOM=$seed
echo "faults: kill timings from FAULTS_SEED=$seed"
K="$TMP/killed"
LONG=(--layers 784,32,10 --lr 0.001 --init he --eval-every 10 --checkpoint-every 5 --val-size 50)
torn=0 refused=0 resumed=0 fresh=0 max_step=0
for round in $(seq 1 20); do
	if [[ -f $K/checkpoint.bin ]]; then
		cmd=(--resume "$K" --iters 100000000 "${BASE[@]}")
		resumed=$((resumed + 1))
	else
		cmd=("${BASE[@]}" "${LONG[@]}" --iters 100000000 --out "$K" --force)
		fresh=$((fresh + 1))
	fi
	"$BIN" "${cmd[@]}" >/dev/null 2>"$TMP/kill.err" &
	pid=$!
	ms=$((RANDOM % 1500))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	if [[ $rc -ne 137 ]]; then
		bad "round $round: the run ended by itself (exit $rc) before SIGKILL: $(head -c 300 "$TMP/kill.err")"
		continue
	fi
	if ! metrics_ok "$K" || ! json_ok "$K/summary.json"; then
		torn=$((torn + 1))
		bad "round $round: torn file: $(ls -la "$K"; head -3 "$K/metrics.csv"; tail -c 200 "$K/summary.json")"
	fi
	if ! step="$(ckpt_step "$K")"; then
		refused=$((refused + 1))
		bad "round $round: the checkpoint left by SIGKILL is not valid"
		rm -f "$K/checkpoint.bin"
	elif [[ -n $step ]]; then
		if ((step < max_step)); then
			bad "round $round: the checkpoint went back from iteration $max_step to $step"
		fi
		max_step=$step
	fi
done
check "20 SIGKILLs: no torn metrics.csv or summary.json ($torn)" test "$torn" -eq 0
check "20 SIGKILLs: every checkpoint left was valid ($refused)" test "$refused" -eq 0
echo "faults: $fresh fresh starts, $resumed resumes, last checkpoint at iteration $max_step"
if [[ $max_step -eq 0 ]]; then
	echo "note: no checkpoint was ever written before the kill; resuming not exercised"
else
	# Finish the run from whatever the last kill left.
	final=$((max_step + 20))
	succeeds --resume "$K" --iters "$final" "${BASE[@]}"
	check "the killed run completes: metrics.csv well formed" metrics_ok "$K"
	check "the killed run completes: last row is iteration $final" \
		test "$(tail -1 "$K/metrics.csv" | cut -d, -f1)" = "$final"
	check "the killed run completes: summary says completed" \
		test "$(json_get "$K/summary.json" status)" = '"completed"'
	check "the killed run completes: weights written" test -s "$K/w2.npy"
	check "--resume removed the temporary files SIGKILL left" no_temps "$K"
fi

# ---- (b) a full disk ----
R="$TMP/full"
succeeds "${BASE[@]}" "${LONG[@]}" --iters 20 --out "$R"
ck_before="$(cksum <"$R/checkpoint.bin")"
w_before="$(cat "$R"/*.npy | cksum)"
ck_kb=$(( $(stat -c %s "$R/checkpoint.bin") / 1024 ))
# A file-size limit below the checkpoint's size: metrics.csv and summary.json fit, the
# next checkpoint does not (write fails with EFBIG; SIGXFSZ is ignored).
RC=0
( ulimit -f $((ck_kb / 2)); exec timeout 60 "$BIN" --resume "$R" --iters 40 "${BASE[@]}" ) \
	>"$TMP/out" 2>"$TMP/err" || RC=$?
check "file-size limit: exit code 4 ($RC: $(head -c 300 "$TMP/err"))" test "$RC" -eq 4
check "file-size limit: the message names the checkpoint and the reason" \
	grep -Eq "checkpoint at iteration [0-9]+: $R/checkpoint.bin: cannot write: File too large; the previous file, if any, is kept" "$TMP/err"
check "file-size limit: no sanitizer report" san_clean "$TMP/err"
check "file-size limit: the previous checkpoint is intact" test "$(cksum <"$R/checkpoint.bin")" = "$ck_before"
check "file-size limit: the weights are intact" test "$(cat "$R"/*.npy | cksum)" = "$w_before"
check "file-size limit: no temporary file left" no_temps "$R"
check "file-size limit: summary.json says failed" test "$(json_get "$R/summary.json" status)" = '"failed"'
check "file-size limit: metrics.csv well formed" metrics_ok "$R"
check "file-size limit: the checkpoint is still at iteration 20" test "$(ckpt_step "$R")" = 20
succeeds --resume "$R" --iters 40 "${BASE[@]}"
check "after the file-size limit: the resumed run reaches iteration 40" \
	test "$(tail -1 "$R/metrics.csv" | cut -d, -f1)" = 40

# A small tmpfs that fills up (needs root and mount; skipped otherwise). 2 MB: a
# completed run of this network with its checkpoint, best/ and misclassified digits
# needs about 1 MB, and as much again while files are replaced.
M="$TMP/tmpfs"
mkdir -p "$M"
if mount -t tmpfs -o size=2m tmpfs "$M" 2>/dev/null; then
	at_exit "umount '$M'"
	succeeds "${BASE[@]}" "${LONG[@]}" --iters 20 --out "$TMP/full2"
	cp -r "$TMP/full2" "$M/run"
	ck_before="$(cksum <"$M/run/checkpoint.bin")"
	dd if=/dev/zero of="$M/filler" bs=64k status=none 2>/dev/null
	truncate -s -24K "$M/filler"     # room for metrics.csv and summary.json only
	RC=0
	timeout 60 "$BIN" --resume "$M/run" --iters 40 "${BASE[@]}" >"$TMP/out" 2>"$TMP/err" || RC=$?
	check "full tmpfs: exit code 4 ($RC: $(head -c 300 "$TMP/err"))" test "$RC" -eq 4
	check "full tmpfs: the message names the file and says the disk is full" \
		grep -Eq "$M/run/(checkpoint.bin|metrics.csv|summary.json|best).*No space left on device" "$TMP/err"
	check "full tmpfs: no sanitizer report" san_clean "$TMP/err"
	check "full tmpfs: the previous checkpoint is intact" test "$(cksum <"$M/run/checkpoint.bin")" = "$ck_before"
	check "full tmpfs: no temporary file left" no_temps "$M/run"
	check "full tmpfs: metrics.csv and summary.json whole" bash -c "$(declare -f metrics_ok json_ok); metrics_ok '$M/run' && json_ok '$M/run/summary.json'"
	rm -f "$M/filler"
	succeeds --resume "$M/run" --iters 40 "${BASE[@]}"
	check "full tmpfs: after freeing space the resumed run reaches iteration 40" \
		test "$(tail -1 "$M/run/metrics.csv" | cut -d, -f1)" = 40
else
	echo "note: cannot mount a tmpfs here (not root, or no permission): tmpfs case skipped (the ulimit -f case covers a full disk)"
fi

# ---- (c) a non-finite loss ----
# 14 hidden ReLU layers of 32, He init, lr 1000: the first Adam step moves every weight
# by about 1000, and the forward pass of iteration 2 overflows float (on every backend).
DEEP=784
for _ in $(seq 14); do DEEP=$DEEP,32; done
DEEP=$DEEP,10
DIV=("${BASE[@]}" --layers "$DEEP" --init he --lr 1000 --val-size 50 --iters 50)

# c1: seen at an evaluation (every iteration; a checkpoint after every iteration).
D="$TMP/div1"
fails 6 "training diverged: the loss became non-finite at iteration [0-9]+ \\(train loss (nan|inf)" -- \
	"${DIV[@]}" --eval-every 1 --checkpoint-every 1 --out "$D"
at="$(json_get "$D/summary.json" diverged_at)"
check "diverged: summary.json status" test "$(json_get "$D/summary.json" status)" = '"diverged"'
check "diverged: summary.json diverged true" test "$(json_get "$D/summary.json" diverged)" = true
check "diverged: the message names the iteration of summary.json ($at)" grep -q "at iteration $at " "$TMP/err"
check "diverged: metrics.csv kept, one row per evaluation up to $at" \
	bash -c "$(declare -f metrics_ok); metrics_ok '$D' && [[ \$(tail -n +2 '$D/metrics.csv' | wc -l) -eq '$at' ]]"
check "diverged: the rows before the divergence are finite" \
	bash -c "! head -n '$at' '$D/metrics.csv' | grep -qi nan"
check "diverged: no weights written" bash -c "! ls '$D'/*.npy 2>/dev/null | grep -q ."
step="$(ckpt_step "$D")"
check "diverged: the last good checkpoint is kept (iteration $step < $at)" test "${step:-0}" -lt "$at" -a "${step:-0}" -ge 1
ck_before="$(cksum <"$D/checkpoint.bin")"
fails 6 "training diverged" -- --resume "$D" "${BASE[@]}"
check "diverged: resuming diverges again and keeps the checkpoint" test "$(cksum <"$D/checkpoint.bin")" = "$ck_before"

# c2: checkpoints every iteration, evaluations every 10: the checkpoint due after the
# parameters became non-finite is refused, and the last good one kept.
D="$TMP/div2"
fails 6 "checkpoint at iteration [0-9]+: training diverged: the parameters are not finite after iteration [0-9]+; $D/checkpoint.bin is not overwritten" -- \
	"${DIV[@]}" --eval-every 10 --checkpoint-every 1 --out "$D"
at="$(json_get "$D/summary.json" diverged_at)"
check "diverged between evaluations: summary.json says diverged at $at" \
	test "$(json_get "$D/summary.json" diverged)" = true -a "$at" != null
step="$(ckpt_step "$D")"
check "diverged between evaluations: the checkpoint is the last good one ($step = $at - 1)" \
	test "${step:-0}" -eq $((at - 1))

# c3: diverging into an existing run (--force): --force removed the earlier run's files
# when the new run started, and the diverged run writes no weights, so no weights of
# either run are left beside the diverged run's summary (and nothing else is removed).
D="$TMP/div3"
succeeds "${BASE[@]}" --layers "$DEEP" --init he --lr 0.0001 --val-size 50 --iters 4 --eval-every 2 --out "$D"
echo "my notes" >"$D/notes.txt"
fails 6 "training diverged" -- "${DIV[@]}" --eval-every 1 --out "$D" --force
check "diverged over an existing run: no weights of the earlier run are left" \
	bash -c "! ls '$D'/*.npy 2>/dev/null | grep -q ."
check "diverged over an existing run: summary.json says diverged" \
	test "$(json_get "$D/summary.json" status)" = '"diverged"'
check "diverged over an existing run: other files are kept" test "$(cat "$D/notes.txt")" = "my notes"
finish
