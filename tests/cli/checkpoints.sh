#!/usr/bin/env bash
# checkpoints.sh - checkpoints through the real binary:
#  - the end of every run is checkpointed (any --iters and --eval-every), so --resume
#    of a completed run has nothing to do, one killed at its end is finished, and a
#    short run can be extended;
#  - --checkpoint-every off writes none (and says so on --resume), a duration works;
#  - checkpoints written in the background after every few iterations, a SIGKILL at a
#    random moment, --resume from another directory with nothing but the run directory:
#    the same metrics and byte-identical weights as an uninterrupted run;
#  - the data check covers the images (one changed pixel is refused), an oversized
#    checkpoint is refused from its header without being read, and checkpoints of
#    versions 1 and 2 still resume, bit for bit (tests/fixtures/checkpoint-v1-784-8-10-
#    iter20.bin and checkpoint-v2-...: made by the trainer at commits 03f08fa and
#    e67a6d3 with `--device cpu-ref --data SMALL --val-size 50 --layers 784,8,10
#    --init he --lr 0.001 --iters 20 --eval-every 10`, SMALL being make_small_data).
source "$(dirname "$0")/errors_lib.bash"
need_data

SMALL="$TMP/small"
make_small_data "$SMALL"
DEV="$(cpu_device)"
BASE=(--device "$DEV" --threads 1 --data "$SMALL" --val-size 50 --quiet)
NET=(--layers 784,8,10 --init he --lr 0.001)
HERE="$(cd "$(dirname "$0")" && pwd)"


# ---- the end of every run is checkpointed ----
A="$TMP/a"
succeeds "${BASE[@]}" "${NET[@]}" --iters 23 --eval-every 5 --out "$A"
before="$(cat "$A/metrics.csv" "$A"/*.npy | cksum)"
run_bin --resume "$A" --device "$DEV" --data "$SMALL"
check "--resume of a completed 23-iteration run (evaluations every 5): nothing to do ($RC: $(cat "$TMP/out" "$TMP/err"))" \
	grep -q "already completed 23 iterations; nothing to do" "$TMP/out"
check "... and its outputs are not rewritten" test "$(cat "$A/metrics.csv" "$A"/*.npy | cksum)" = "$before"
# Killed after its last iteration, before its summary said so (in the test evaluation,
# say): --resume does the end of the run, not "nothing to do".
cp -r "$A" "$TMP/a-end"
sed -i 's/"status":[[:space:]]*"completed"/"status":\t"running"/' "$TMP/a-end/summary.json"
rm -f "$TMP/a-end"/w*.npy "$TMP/a-end"/b*.npy "$TMP/a-end/analysis.json" "$TMP/a-end/confusion.csv"
check "(the summary now says running)" test "$(status_of "$TMP/a-end")" = running
run_bin --resume "$TMP/a-end" --device "$DEV" --data "$SMALL"
check "--resume of a run killed at its end finishes it ($RC: $(cat "$TMP/err"))" \
	test "$RC" = 0 -a "$(status_of "$TMP/a-end")" = completed
check "... writes its weights and analyses again, the same as before" \
	test "$(cat "$TMP/a-end/metrics.csv" "$TMP/a-end"/*.npy | cksum)" = "$before" -a \
	-s "$TMP/a-end/confusion.csv" -a -s "$TMP/a-end/analysis.json"
B="$TMP/b"
succeeds "${BASE[@]}" "${NET[@]}" --iters 7 --eval-every 10 --out "$B"
# What a killed write left: the run's own temporaries go, anything else is the user's.
echo x >"$B/.metrics.csv.tmp.Ab12Cd"
echo x >"$B/.notes.txt.tmp.Ab12Cd"
succeeds --resume "$B" --iters 14 "${BASE[@]:0:4}" --quiet
check "--resume removes a temporary of the run's metrics.csv" test ! -e "$B/.metrics.csv.tmp.Ab12Cd"
check "... and keeps a file of the same shape that is not the run's" test -e "$B/.notes.txt.tmp.Ab12Cd"
rm -f "$B/.notes.txt.tmp.Ab12Cd"
check "a run with --eval-every above --iters can be extended" \
	test "$(tail -1 "$B/metrics.csv" | cut -d, -f1)" = 14
succeeds "${BASE[@]}" "${NET[@]}" --iters 14 --eval-every 10 --out "$TMP/b-whole"
check "... to the same weights as an uninterrupted run" same_weights "$B" "$TMP/b-whole"

# ---- --checkpoint-every off, and a duration ----
O="$TMP/off"
succeeds "${BASE[@]}" "${NET[@]}" --iters 12 --eval-every 5 --checkpoint-every off --out "$O"
check "--checkpoint-every off: no checkpoint.bin" test ! -e "$O/checkpoint.bin"
check "--checkpoint-every off: the final outputs are written" \
	test -s "$O/w2.npy" -a "$(status_of "$O")" = completed
fails 3 "--resume $O: the run has no checkpoint: it ran with --checkpoint-every off" -- \
	--resume "$O" --iters 20 "${BASE[@]:0:4}"
succeeds "${BASE[@]}" "${NET[@]}" --iters 12 --eval-every 5 --checkpoint-every 30s --out "$TMP/dur"
check "--checkpoint-every 30s: the final checkpoint is written" test -s "$TMP/dur/checkpoint.bin"
check "--checkpoint-every 30s is recorded" grep -q '"checkpoint_every":[[:space:]]*"30s"' "$TMP/dur/summary.json"

# ---- background writes, SIGKILL, resume from elsewhere: identical results ----
# The kill comes at a random evaluation among the first 40 of 200, after the first
# background checkpoint: at least 16,000 iterations before the end, so that even on a
# quiet machine the run cannot finish first (a random sleep after the first checkpoint
# did, 2 times in 3).
LONG=(--iters 20000 --eval-every 100 --checkpoint-every 50)
W="$TMP/whole"
succeeds "${BASE[@]}" "${NET[@]}" "${LONG[@]}" --out "$W"
K="$TMP/killed"
"$BIN" "${BASE[@]}" "${NET[@]}" "${LONG[@]}" --out "$K" 2>"$TMP/k.err" &
pid=$!
rows=$((2 + RANDOM % 39))
wait_for "[[ -s '$K/checkpoint.bin' && \$(wc -l <'$K/metrics.csv' 2>/dev/null || echo 0) -gt $rows ]] || ! kill -0 $pid 2>/dev/null" 120
kill -KILL "$pid" 2>/dev/null
rc=0; wait "$pid" || rc=$?
if [[ $rc -eq 137 ]]; then
	check "killed: summary.json still says running" test "$(status_of "$K")" = running
	# A new shell in another directory, no --data, no --threads, no TRAINER_DATA_DIR:
	# the run's own settings come from its summary.json.
	rc=0
	(cd / && env -u TRAINER_DATA_DIR timeout -k 5 300 "$BIN" --resume "$K" --quiet) \
		>"$TMP/r.out" 2>"$TMP/r.err" || rc=$?
	check "resume from / with nothing but the directory exits 0 ($rc: $(head -c 300 "$TMP/r.err"))" \
		test "$rc" -eq 0
	check "the resumed run kept --threads 1" grep -q '"threads":[[:space:]]*1,' "$K/summary.json"
	check "the resumed run recorded its data directory" \
		grep -q "\"data\":[[:space:]]*\"$SMALL\"" "$K/summary.json"
	check "killed (background checkpoints every 50) + resumed = uninterrupted" same_run "$W" "$K"
else
	bad "the run to be killed ended by itself (exit $rc): $(head -c 300 "$TMP/k.err")"
fi

# ---- the data check covers the images ----
P="$TMP/pixel"
cp -r "$SMALL" "$P"
# Training image 60 (the first 50 are validation), pixel 400: one byte.
off=$((16 + 60 * 784 + 400))
old="$(od -A n -t u1 -j "$off" -N 1 "$P/train-images-idx3-ubyte" | tr -d ' ')"
patch "$P/train-images-idx3-ubyte" "$off" "\\$(printf '%03o' $(( (old + 1) % 256 )))"
guard "$A"
fails 3 "the checkpoint was made with other data than $P holds \\(150 training examples there, 150 in the checkpoint, but other images or labels\\)" -- \
	--resume "$A" --iters 30 --device "$DEV" --data "$P"

# ---- an oversized checkpoint is refused from its header, not read ----
X="$TMP/oversized"
cp -r "$A" "$X"
truncate -s +3G "$X/checkpoint.bin"   # sparse: no disk space used
fails 3 "$X/checkpoint.bin: the file has [0-9]+ bytes, but its header describes a checkpoint of [0-9]+ bytes: it is damaged" -- \
	--resume "$X" --iters 30 --device "$DEV" --data "$SMALL"
rm -rf "$X"

# ---- checkpoints of versions 1 and 2 still resume, bit for bit (cpu-ref made them) ----
REF=(--device cpu-ref --data "$SMALL" --quiet)
succeeds "${REF[@]}" --val-size 50 "${NET[@]}" --iters 40 --eval-every 10 --out "$TMP/old-whole"
for v in 1 2; do
	V="$TMP/v$v"
	mkdir -p "$V"
	cp "$HERE/../fixtures/checkpoint-v$v-784-8-10-iter20.bin" "$V/checkpoint.bin"
	succeeds --resume "$V" --iters 40 "${REF[@]}"
	check "a version $v checkpoint resumes to the same run as an uninterrupted one" \
		same_run "$V" "$TMP/old-whole"
done
finish
