#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and run each
# for FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default: the number of cores).
# Each target starts from its seeds in tests/fuzz/corpus/<name>/ and keeps what it
# learns in tests/fuzz/corpus-<name>/ (ignored by git), so later runs go deeper.
# A crash, leak, timeout or sanitizer report fails the script; the input that caused it
# is left in build-fuzz/artifacts/<name>/ (see docs/FUZZING.md: it becomes a file of
# the seed corpus, which ctest replays in every build).
# Usage: ci/fuzz.sh [NAME...]   (idx npy checkpoint options; default all)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-$(nproc)}"
names=("$@")
((${#names[@]})) || names=(idx npy checkpoint options)

if ! command -v clang >/dev/null; then
	echo "fuzz.sh: clang not found: apt-get install clang libclang-rt-14-dev" >&2
	exit 1
fi
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DTRAINER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DTRAINER_WERROR=ON >/dev/null
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

# Leaks are findings too (libFuzzer checks after each input that allocated); the
# suppressions are those of the sanitizer stage (ci/*.supp, explained there).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/ci/lsan.supp:print_suppressions=0}"

run_one() {
	local n="$1" work="$root/tests/fuzz/corpus-$1" art="$build/artifacts/$1/" log="$build/fuzz-$1.log"
	mkdir -p "$work" "$art"
	if "$build/tests/fuzz/fuzz_$n" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$art" \
		"$work" "$root/tests/fuzz/corpus/$n" >"$log" 2>&1; then
		echo "fuzz.sh: $n: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') inputs in ${seconds} s, no finding ($(grep -Eo 'cov: [0-9]+' "$log" | tail -1))"
		return 0
	fi
	echo "fuzz.sh: $n: FAILED; the log ends:" >&2
	tail -40 "$log" >&2
	echo "fuzz.sh: reproduce with: $build/tests/fuzz/fuzz_$n $art<crash-file>;" \
	     "then add the file to tests/fuzz/corpus/$n/ as crash-<what>" >&2
	return 1
}

status=0
pids=()
for n in "${names[@]}"; do
	run_one "$n" &
	pids+=($!)
	if ((${#pids[@]} >= jobs)); then
		wait "${pids[0]}" || status=1
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
