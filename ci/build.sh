#!/usr/bin/env bash
# build.sh - configure and build the trainer in build/ (or $BUILD_DIR), Release, with
# warnings as errors. Extra arguments go to cmake's configure step.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTRAINER_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
