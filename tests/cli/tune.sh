#!/usr/bin/env bash
# tune.sh - the CLBlast tuning cache end to end through the binary: a tiny tune (a
# 16-10 network, one candidate per kernel) into a temporary cache, the cache applied by
# a later run (bench and summary.json say so), a corrupt and a stale cache ignored with
# a warning, the cache turned off, and tuning refused on a CPU backend. On
# $TRAINER_TEST_DEVICE (default cl:0); skipped without an OpenCL device, except in CI
# (TRAINER_REQUIRE_OPENCL=1). The first run on a machine builds CLBlast's programs for
# the candidates (a few minutes on PoCL); later runs find them in PoCL's kernel cache.
source "$(dirname "$0")/lib.bash"
need_opencl
export TRAINER_CLBLAST_CACHE="$TMP/clblast.json"
NET=(--layers 16,10 --batch 8)

"$BIN" tune --device "$TEST_DEVICE" "${NET[@]}" --candidates 1 >"$TMP/tune.out" 2>"$TMP/tune.err"
check "tune exits 0 ($(tail -3 "$TMP/tune.err"))" test $? -eq 0
check "tune wrote the cache" test -s "$TRAINER_CLBLAST_CACHE"
check "the cache has the format tag" grep -q '"trainer-clblast-tuning-1"' "$TRAINER_CLBLAST_CACHE"
check "the cache is keyed by the device" grep -q '"device":' "$TRAINER_CLBLAST_CACHE"
check "the cache holds the 3 shapes" test "$(grep -c '"what":' "$TRAINER_CLBLAST_CACHE")" -eq 3
check "tune reports the GEMM time per step" grep -q 'GEMMs per training step' "$TMP/tune.out"
check "tune names the cache" grep -q "saved $TRAINER_CLBLAST_CACHE" "$TMP/tune.out"
check "--list-devices shows the device as tuned" \
	grep -q "tuned: $TRAINER_CLBLAST_CACHE" <("$BIN" --list-devices)

# Applied: bench (and a training run's summary) say so, with the cache's path.
bench() { "$BIN" bench --device "$TEST_DEVICE" "${NET[@]}" --iters 3 --json >"$TMP/bench.json" 2>"$TMP/bench.err"; }
bench
check "bench with the cache exits 0 ($(tail -2 "$TMP/bench.err"))" test $? -eq 0
check "bench says the tuned parameters are used" \
	grep -q "\"tuning\":[[:space:]]*\"CLBlast: tuned.*$TRAINER_CLBLAST_CACHE" "$TMP/bench.json"
check "no warning with a good cache" test ! -s "$TMP/bench.err"
if [[ -n "$DATA" && -f "$DATA/train-images-idx3-ubyte" ]]; then
	"$BIN" --device "$TEST_DEVICE" --layers 784,16,10 --iters 2 --eval-every 1 --val-size 100 \
		--data "$DATA" --out "$TMP/run" --quiet 2>"$TMP/run.err"
	check "training with the cache exits 0" test $? -eq 0
	check "summary.json records the tuning" \
		grep -q '"tuning":[[:space:]]*"CLBlast: tuned' "$TMP/run/summary.json"
fi

# A corrupt cache is ignored with a warning; the run goes on with the defaults.
cp "$TRAINER_CLBLAST_CACHE" "$TMP/good.json"
printf '{"format": "trainer-clblast-tuning-1", "key": ' >"$TRAINER_CLBLAST_CACHE"
bench
check "bench with a corrupt cache exits 0" test $? -eq 0
check "a corrupt cache gives a warning" grep -q 'warning: ignoring the CLBlast tuning cache.*not valid JSON' "$TMP/bench.err"
check "a corrupt cache is not used" grep -q '"tuning":[[:space:]]*"CLBlast: defaults (tuning cache ignored)' "$TMP/bench.json"

# A stale one (another driver version) too.
sed 's/"driver":[^,]*/"driver": "0.0-other"/' "$TMP/good.json" >"$TRAINER_CLBLAST_CACHE"
bench
check "a stale cache gives a warning" grep -q 'ignoring the CLBlast tuning cache.*stale: written for another driver' "$TMP/bench.err"
check "--list-devices says the stale cache is ignored" \
	grep -q 'tuning cache ignored (stale' <("$BIN" --list-devices)

# Parameters out of range (or missing) are not trusted either.
key="$(sed -n '/"key":/,/}/p' "$TMP/good.json" | sed '$ s/,[[:space:]]*$//')"
printf '{"format": "trainer-clblast-tuning-1", %s, "XgemmDirect": {"WGD": 4097},
 "Xgemm": null, "XGEMM_MIN_INDIRECT_SIZE": null}\n' "$key" >"$TRAINER_CLBLAST_CACHE"
bench
check "bad parameters give a warning" grep -q 'bad or missing XgemmDirect' "$TMP/bench.err"
check "bad parameters are not used" grep -q '"tuning":[[:space:]]*"CLBlast: defaults (tuning cache ignored)' "$TMP/bench.json"

# Off: no cache read, none written.
TRAINER_CLBLAST_CACHE=off "$BIN" bench --device "$TEST_DEVICE" "${NET[@]}" --iters 3 --json \
	>"$TMP/bench.json" 2>"$TMP/bench.err"
check "TRAINER_CLBLAST_CACHE=off: defaults" grep -q 'tuning cache off' "$TMP/bench.json"
TRAINER_CLBLAST_CACHE=off expect_exit 2 "tuning cache is turned off" -- tune --device "$TEST_DEVICE" "${NET[@]}"

# Nothing to tune on the CPU backends.
expect_exit 2 "no kernel parameters to tune" -- tune --device cpu-ref "${NET[@]}"
finish
