#!/usr/bin/env bash
# test.sh - the README's test command: install what is needed, fetch MNIST, build,
# and run the whole ctest suite (the OpenCL parity tests run on PoCL).
# Under CI (CI=true) a missing OpenCL device or missing data is a failure, not a skip.
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
cd build
ctest --output-on-failure --timeout 900 -j"$(nproc)"
