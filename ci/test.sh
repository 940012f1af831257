#!/usr/bin/env bash
# test.sh - the README's test command: install what is needed, fetch MNIST, build,
# and run the whole ctest suite (the OpenCL parity tests run on PoCL).
# Under CI (CI=true) a missing OpenCL device or missing data is a failure, not a skip.
# Three more stages run under CI, or when asked:
#   TRAINER_TEST_SANITIZE=1  build build-asan/ with ASan + UBSan (+ LeakSanitizer) and
#                            run the whole ctest suite there too (suppressions: ci/*.supp);
#   TRAINER_TEST_FUZZ=1      run each fuzz target for FUZZ_SECONDS (60) (ci/fuzz.sh);
#   TRAINER_TEST_OCLGRIND=1  run verify, a short training and our kernels under Oclgrind,
#                            failing on any diagnostic (ci/oclgrind.sh).
# Each stage prints its wall time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash ci/install-deps.sh
bash data/fetch.sh
bash ci/build.sh

if [[ "${CI:-}" == "true" ]]; then
	export TRAINER_REQUIRE_OPENCL=1 TRAINER_REQUIRE_DATA=1
fi
echo "test.sh: OpenCL devices:"
./build/trainer --list-devices | sed 's/^/  /'
t0=$SECONDS
(cd build && ctest --output-on-failure --timeout 900 -j"$(nproc)")
echo "test.sh: ctest: $((SECONDS - t0)) s"

if [[ "${CI:-}" == "true" || "${TRAINER_TEST_SANITIZE:-}" == 1 ]]; then
	# -O2 -g: the sanitizers' reports keep file and line, and the suite stays fast.
	t0=$SECONDS
	BUILD_DIR="$root/build-asan" bash ci/build.sh -DTRAINER_SANITIZE=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo
	(
		export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
		export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/ci/ubsan.supp"
		export LSAN_OPTIONS="suppressions=$root/ci/lsan.supp:print_suppressions=0"
		cd build-asan
		ctest --output-on-failure --timeout 900 -j"$(nproc)"
	)
	echo "test.sh: sanitizer stage (build + ctest): $((SECONDS - t0)) s"
fi
if [[ "${CI:-}" == "true" || "${TRAINER_TEST_FUZZ:-}" == 1 ]]; then
	t0=$SECONDS
	bash ci/fuzz.sh
	echo "test.sh: fuzz stage (build + runs): $((SECONDS - t0)) s"
fi
if [[ "${CI:-}" == "true" || "${TRAINER_TEST_OCLGRIND:-}" == 1 ]]; then
	t0=$SECONDS
	bash ci/oclgrind.sh
	echo "test.sh: oclgrind stage: $((SECONDS - t0)) s"
fi
