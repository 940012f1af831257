#!/usr/bin/env bash
# lab.sh - the README's main command: install what is needed, fetch MNIST, build, and
# run the lab experiment (`trainer experiment`, the seed preset: lr 0.0001 and 0.005
# with L2, lr 0.005 without) on the best device, leaving runs/lab/report.md.
# Extra arguments go to `trainer experiment` and override the defaults
# (e.g. --preset quick, --out runs/other, --device cpu).
# Running it again continues an interrupted experiment and keeps finished runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash ci/install-deps.sh
bash data/fetch.sh
bash ci/build.sh
exec ./build/trainer experiment --data data/mnist --out runs/lab "$@"
