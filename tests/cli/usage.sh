#!/usr/bin/env bash
# usage.sh - the command line: help, version, and invalid options rejected with exit
# code 2 and a one-line message naming the option, before any work starts.
source "$(dirname "$0")/lib.bash"

"$BIN" --help >"$TMP/help" 2>&1; check "--help exits 0" test $? -eq 0
for opt in device threads data val-size layers init seed lr l2 l2-scope batch iters \
	   eval-every no-shuffle out force init-weights quiet list-devices; do
	check "--help documents --$opt" grep -q -- "--$opt" "$TMP/help"
done
check "--help shows defaults" grep -q "default: 0.005" "$TMP/help"
"$BIN" --version >"$TMP/v"; check "--version" grep -Eq '^trainer [0-9]+\.[0-9]+' "$TMP/v"
"$BIN" --list-devices >"$TMP/l"; check "--list-devices lists cpu-ref" grep -q '^cpu-ref' "$TMP/l"

expect_exit 2 "--lr '-1'" -- --lr -1
expect_exit 2 "--lr '0'" -- --lr 0
expect_exit 2 "--lr 'nan'" -- --lr nan
expect_exit 2 "--lr 'inf'" -- --lr inf
expect_exit 2 "--lr 'abc'" -- --lr abc
expect_exit 2 "--lr '1e999'" -- --lr 1e999
expect_exit 2 "--l2 '-0.1'" -- --l2 -0.1
expect_exit 2 "--batch '0'" -- --batch 0
expect_exit 2 "--batch '-5'" -- --batch -5
expect_exit 2 "--batch '99999999999999999999'" -- --batch 99999999999999999999
expect_exit 2 "--iters '0'" -- --iters 0
expect_exit 2 "--iters '1.5'" -- --iters 1.5
expect_exit 2 "--eval-every '0'" -- --eval-every 0
expect_exit 2 "--threads '-1'" -- --threads -1
expect_exit 2 "--seed 'x'" -- --seed x
expect_exit 2 "--val-size '-1'" -- --val-size -1
expect_exit 2 "--layers" -- --layers 784,0,10
expect_exit 2 "--layers" -- --layers 784,,10
expect_exit 2 "--layers" -- --layers 784
expect_exit 2 "--layers" -- --layers 784,abc,10
expect_exit 2 "--init 'zeros'" -- --init zeros
expect_exit 2 "--l2-scope 'some'" -- --l2-scope some
expect_exit 2 "--device nope: unknown device" -- --device nope
expect_exit 2 "unknown option '--bogus'" -- --bogus
expect_exit 2 "--lr needs a value" -- --lr
expect_exit 2 "unknown command 'frobnicate'" -- frobnicate
expect_exit 2 "unexpected argument 'stray'" -- --quiet stray

# No work was started: no output directory appeared.
cd "$TMP" && "$BIN" --lr -1 --out "$TMP/never" 2>/dev/null
check "a usage error creates no output directory" test ! -e "$TMP/never"
finish
