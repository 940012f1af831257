#!/usr/bin/env bash
# run_outputs.sh - what a run leaves besides metrics.csv and its weights: best/ (the
# parameters at the best validation accuracy, with best.json naming that evaluation),
# the end-of-run analyses (analysis.json, confusion.csv, misclassified.csv/.npy), and
# summary.json's "best" with its test accuracy beside the final one. And older runs:
# a checkpoint of version 1 with a six-column metrics.csv resumes, its old rows keep
# NaN for the loss's parts, and `trainer report` reads such a run.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/errors_craft.bash"
need_data
DEV="$(cpu_device)"
here="$(cd "$(dirname "$0")/.." && pwd)"

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- a run: best/ and the analyses ----
R="$TMP/run"
"$BIN" train --layers 784,32,16,10 --init he --lr 0.003 --iters 300 --eval-every 25 \
	--device "$DEV" --data "$DATA" --out "$R" --quiet
check "the run completed" grep -q '"status":[[:space:]]*"completed"' "$R/summary.json"
for f in best/w1.npy best/w3.npy best/b3.npy best/best.json analysis.json confusion.csv \
	misclassified.csv misclassified.npy; do
	check "$f written" test -s "$R/$f"
done
check "no temporary best/ left" bash -c "! ls -a '$R' | grep -q '^\.best\.tmp'"
if command -v python3 >/dev/null; then
	best_iter="$(json "$R/best/best.json" 'd["iter"]')"
	want_iter="$(python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
best = max(rows, key=lambda r: (float(r["val_acc"]), -int(r["iter"])))
print(best["iter"])' "$R/metrics.csv")"
	check "best/ is the first evaluation with the highest val_acc ($best_iter, want $want_iter)" \
		test "$best_iter" = "$want_iter"
	check "summary.json: best.iter" test "$(json "$R/summary.json" 'd["best"]["iter"]')" = "$best_iter"
	check "summary.json: best.test_acc beside test_acc" \
		json "$R/summary.json" '0 < d["best"]["test_acc"] <= 1 and 0 < d["test_acc"] <= 1'
	check "analysis.json: 10 classes adding up to 10000 test images" \
		json "$R/analysis.json" 'sum(c["images"] for c in d["test"]["per_class"]) == 10000 == d["test"]["images"] or sys.exit(1)'
	check "analysis.json: its accuracy is summary.json's test_acc" \
		python3 -c "import json,sys; a=json.load(open(sys.argv[1])); s=json.load(open(sys.argv[2])); sys.exit(abs(a['test']['accuracy'] - s['test_acc']) > 1e-9)" "$R/analysis.json" "$R/summary.json"
	check "analysis.json: dead units of two hidden layers" \
		json "$R/analysis.json" '[l["units"] for l in d["dead_units"]["layers"]] == [32, 16] or sys.exit(1)'
	check "confusion.csv: 10 rows after the header, summing to 10000" \
		python3 -c "import csv,sys; r=list(csv.reader(open(sys.argv[1]))); sys.exit(not (len(r) == 11 and sum(int(x) for row in r[1:] for x in row[1:]) == 10000))" "$R/confusion.csv"
fi
check "misclassified.csv: header and 48 rows" test "$(wc -l <"$R/misclassified.csv")" -eq 49

# ---- an older run: checkpoint version 1, six-column metrics.csv ----
# The fixture is the checkpoint of tests/fuzz/make_corpus.sh's 4-3-10 network on 2x2
# synthetic images (version 1, after 6 of 6 iterations, evaluations at 3 and 6).
D="$TMP/data4"; mkdir -p "$D"
synth_images 30 2 2 >"$D/train-images-idx3-ubyte"; synth_labels 30 >"$D/train-labels-idx1-ubyte"
synth_images 10 2 2 >"$D/t10k-images-idx3-ubyte"; synth_labels 10 >"$D/t10k-labels-idx1-ubyte"
OLD="$TMP/exp/old"
mkdir -p "$OLD"
cp "$here/fixtures/checkpoint-v1-4-3-10.bin" "$OLD/checkpoint.bin"
printf 'iter,train_loss,train_acc,val_loss,val_acc,seconds\n3,2.5,0.25,2.4,0.1,0.01\n6,2.4,0.25,2.3,0.2,0.02\n' >"$OLD/metrics.csv"
rc=0
"$BIN" train --resume "$OLD" --iters 9 --device "$DEV" --data "$D" --quiet >"$TMP/old.out" 2>&1 || rc=$?
check "a version-1 checkpoint resumes ($rc: $(tail -2 "$TMP/old.out"))" test "$rc" -eq 0
check "metrics.csv now has the nine columns" test "$(head -1 "$OLD/metrics.csv")" = \
	"iter,train_loss,train_acc,val_loss,val_acc,seconds,train_ce,val_ce,l2_term"
check "the old rows' parts are nan" grep -q '^6,.*,nan,nan,nan$' "$OLD/metrics.csv"
check "the new row has its parts" grep -Eq '^9,([^,]*,){5}[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+$' "$OLD/metrics.csv"
check "the new checkpoint is version 3" test "$(od -A n -t u4 -j 8 -N 4 "$OLD/checkpoint.bin" | tr -d ' ')" = 3
# And a checkpoint of version 2 (metrics rows of nine numbers, before version 3).
OLD2V="$TMP/exp/old-v2"
mkdir -p "$OLD2V"
cp "$here/fixtures/checkpoint-v2-4-3-10.bin" "$OLD2V/checkpoint.bin"
rc=0
"$BIN" train --resume "$OLD2V" --iters 9 --device "$DEV" --data "$D" --quiet >"$TMP/old2.out" 2>&1 || rc=$?
check "a version-2 checkpoint resumes ($rc: $(tail -2 "$TMP/old2.out"))" test "$rc" -eq 0
check "... its rows keep their parts" grep -Eq '^6,([^,]*,){5}[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+$' "$OLD2V/metrics.csv"
# A report over a run whose metrics.csv has six columns.
OLD2="$TMP/exp/old6"
cp -r "$R" "$OLD2"
cut -d, -f1-6 "$R/metrics.csv" >"$OLD2/metrics.csv"
rc=0
"$BIN" report "$TMP/exp" >"$TMP/report.out" 2>&1 || rc=$?
check "trainer report reads a six-column metrics.csv ($rc: $(tail -2 "$TMP/report.out"))" test "$rc" -eq 0
check "... and reports that run" grep -q '^| old6 |' "$TMP/exp/report.md"
finish
