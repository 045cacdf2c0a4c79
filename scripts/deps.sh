#!/usr/bin/env bash
# Installs the Debian bookworm packages needed to build errovl and liberrseq
# and to run every test. Needs root; without root it only reports what is
# missing.
set -euo pipefail

pkgs=(
	meson ninja-build pkg-config gcc libc6-dev linux-libc-dev clang clang-format
	libclang-rt-14-dev
	libfuse3-dev fuse3 libcmocka-dev python3-pytest
	e2fsprogs util-linux mount attr acl kmod sqlite3 git strace
	rsync make fuse-overlayfs
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
