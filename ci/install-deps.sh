#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages the trainer builds, tests and plots
# with. Safe to run twice: packages already installed are left alone, and the package
# lists are refreshed only when something has to be installed.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config      # the build
	zlib1g-dev libcjson-dev libpng-dev    # gzip'd IDX files, summary.json, pictures
	libopenblas-dev                       # the fast cpu backend
	ocl-icd-opencl-dev opencl-headers libclblast-dev  # the OpenCL backend
	pocl-opencl-icd clinfo                # an OpenCL driver for the CPU (PoCL)
	oclgrind                              # OpenCL simulator: ci/oclgrind.sh, two-platform tests
	jq                                    # reading JSON in the tests of bench/gpu-check.sh
	gnuplot-nox                           # the experiment's plots
	ca-certificates curl                  # data/fetch.sh (which installs npm itself if missing)
	clang libclang-rt-14-dev valgrind     # sanitizer and fuzz builds, leak checks
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	echo "install-deps.sh: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps.sh: missing packages: ${missing[*]}" >&2
	echo "install-deps.sh: run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
