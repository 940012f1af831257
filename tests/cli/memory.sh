#!/usr/bin/env bash
# memory.sh - out of memory is an error (exit 1, "out of host memory"), promptly, never
# a hang: under address-space limits (ulimit -v) from too small to load the data to
# enough for the lab's network, on cpu and cpu-ref and for `--version`. (OpenBLAS
# retries a failed allocation forever; it used to start its threads at load, so a
# process under such a limit spun, ignored SIGTERM and hung at exit.)
# Each case runs under `timeout`: 124 (or any signal) is a failure. Skipped in
# AddressSanitizer builds, which reserve terabytes of address space.
source "$(dirname "$0")/errors_lib.bash"
need_data
if is_asan_build; then
	echo "AddressSanitizer build: ulimit -v does not apply; skipping"
	exit 77
fi
LIMIT_TIMEOUT="${MEMORY_CASE_TIMEOUT:-60}"

# limited KIB ARGS...: run trainer under ulimit -v KIB; sets RC, stderr in $TMP/err.
limited() {
	local kib="$1"; shift
	RC=0
	( ulimit -v "$kib" && exec timeout -k 5 "$LIMIT_TIMEOUT" "$BIN" "$@" ) \
		>"$TMP/out" 2>"$TMP/err" || RC=$?
}
# ends_well KIB WHAT: exit 0, or exit 1 saying it ran out of memory; never a hang.
ends_well() {
	if [[ $RC -eq 0 ]]; then
		ok
	elif [[ $RC -eq 1 ]] && grep -Eq "out of (host )?memory" "$TMP/err"; then
		ok
	else
		bad "ulimit -v $1, $2: exit $RC (124: hung); stderr: $(head -c 400 "$TMP/err")"
	fi
}

openblas=0 network=0 data=0
for kib in 60000 90000 120000 160000 250000 350000 450000; do
	limited "$kib" --version
	ends_well "$kib" "--version"
	if "$BIN" --list-devices | grep -q '^cpu '; then
		limited "$kib" --device cpu --iters 2 --eval-every 2 --val-size 100 --quiet \
			--out "$TMP/cpu-$kib"
		ends_well "$kib" "the lab network on cpu"
		grep -q "OpenBLAS needs" "$TMP/err" && openblas=$((openblas + 1))
		grep -q "allocating the network" "$TMP/err" && network=$((network + 1))
		grep -q "out of memory allocating" "$TMP/err" && data=$((data + 1))
	fi
	limited "$kib" --device cpu-ref --layers 784,32,10 --iters 2 --eval-every 2 \
		--val-size 100 --quiet --out "$TMP/ref-$kib"
	ends_well "$kib" "784,32,10 on cpu-ref"
done
echo "memory: refusals by where memory ran out: data $data, network $network, OpenBLAS $openblas"
if "$BIN" --list-devices | grep -q '^cpu '; then
	check "some limit let the network fit but not OpenBLAS's buffers (the case that hung)" \
		test "$openblas" -ge 1
fi
finish
