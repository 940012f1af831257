#!/usr/bin/env bash
# lab.sh - the README's main command: install what is needed, fetch MNIST, build, and
# train the lab's network with the seed's settings on the best device available.
# Extra arguments go to `trainer` (e.g. --out DIR, --device cpu, --iters 1000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash ci/install-deps.sh
bash data/fetch.sh
bash ci/build.sh
exec ./build/trainer --data data/mnist "$@"
