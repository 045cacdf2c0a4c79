#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# errovl volatile-mode demo: a real writeback error of the upper layer
# is caught, reported by every fsync, shown by errovlctl, survives the
# unmount, and the next mount of the same upper is refused with the
# reason. Needs root, /dev/fuse and loop devices.
#
#   sudo scripts/demo.sh
#
# Installs the build dependencies (scripts/deps.sh), builds into
# build-demo/, runs the demo in a private mount namespace and removes
# everything it created (mounts, loop device, files). Exit 0 when every
# step showed what it should, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build-demo"
ERROVL="$BUILD/fs/errovl"
CTL="$BUILD/cli/errovlctl"
PY=/usr/bin/python3

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }

# Globals, so that the EXIT trap still sees them after inner() returns.
T=""
LOOP=""
DPID=""
log=""

inner() {
	T=$(mktemp -d /tmp/errovl-demo.XXXXXX)
	log="$T/errovl.log"

	cleanup() {
		set +eu
		if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
			umount "$T/ext/merged" 2>/dev/null ||
				umount -l "$T/ext/merged" 2>/dev/null
			for _ in $(seq 100); do
				kill -0 "$DPID" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$DPID" 2>/dev/null
		fi
		mountpoint -q "$T/ext/merged" 2>/dev/null && umount -l "$T/ext/merged"
		mountpoint -q "$T/ext" && { umount "$T/ext" || umount -l "$T/ext"; }
		[ -n "$LOOP" ] && losetup -d "$LOOP"
		mountpoint -q "$T/tmpfs" && umount "$T/tmpfs"
		rm -rf "$T"
		echo "demo: cleaned up (mounts, loop device, files)"
	}
	trap cleanup EXIT

	start_errovl() {
		"$ERROVL" -f -o "lowerdir=$T/ext/lower,upperdir=$T/ext/upper,workdir=$T/ext/work,$1" \
			"$T/ext/merged" >"$log" 2>&1 &
		DPID=$!
		for _ in $(seq 300); do
			mountpoint -q "$T/ext/merged" && return 0
			kill -0 "$DPID" 2>/dev/null || { wait "$DPID" || true; DPID=""; return 1; }
			sleep 0.1
		done
		fail "errovl neither mounted nor exited"
	}

	stop_errovl() {
		umount "$T/ext/merged"
		wait "$DPID" || true
		DPID=""
	}

	fsync_file() {
		"$PY" - "$1" <<-'EOF'
		import os, sys
		fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
		try:
		    os.fsync(fd)
		    print("fsync: 0 (success)")
		    sys.exit(0)
		except OSError as e:
		    print(f"fsync: {os.strerror(e.errno)}")
		    sys.exit(1)
		EOF
	}

	say "1. An ext4 upper that accepts writes but fails writeback:"
	echo "   ext4 (no journal, errors=continue) on a loop device over a"
	echo "   256 MiB sparse file that sits on a 32 MiB tmpfs"
	mkdir "$T/tmpfs" "$T/ext"
	mount -t tmpfs -o size=32M tmpfs "$T/tmpfs"
	truncate -s 256M "$T/tmpfs/disk.img"
	LOOP=$(losetup -f --show "$T/tmpfs/disk.img")
	mkfs.ext4 -q -O ^has_journal -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP"
	mount -o errors=continue "$LOOP" "$T/ext"
	mkdir "$T/ext/lower" "$T/ext/upper" "$T/ext/work" "$T/ext/merged"
	echo "lower file" >"$T/ext/lower/hello"

	say "2. Mount errovl with -o volatile (harvest every second)"
	start_errovl "volatile,harvest_interval=1" || { cat "$log"; fail "mount"; }
	sync # the workdir's own files reach the disk while it has room
	echo "   mounted on $T/ext/merged; marker:"
	ls -l "$T/ext/work/work/incompat/volatile/dirty"

	say "3. While clean, fsync returns 0 at once (no upper sync)"
	echo data >"$T/ext/merged/small"
	fsync_file "$T/ext/merged/small" || fail "fsync failed while clean"
	"$CTL" status "$T/ext/merged" || fail "status not clean"

	say "4. Write 64 MiB through the mount, then force upper writeback (sync)"
	dd if=/dev/zero of="$T/ext/merged/big" bs=1M count=64 conv=fsync status=none ||
		fail "write through the mount failed"
	sync
	echo "   the upper's writeback failed; waiting for errovl's harvest to record it"
	for _ in $(seq 300); do
		"$CTL" status "$T/ext/merged" >/dev/null 2>&1 || break
		sleep 0.1
	done
	echo "   daemon log:"
	sed 's/^/     /' "$log"

	say "5. Every fsync now fails, on old and new files, every call"
	for f in small big small new-file; do
		if fsync_file "$T/ext/merged/$f"; then
			fail "fsync of $f succeeded after the error"
		fi
	done
	echo "   errovlctl sync (the syncfs equivalent):"
	if "$CTL" sync "$T/ext/merged"; then
		fail "errovlctl sync succeeded after the error"
	fi

	say "6. errovlctl status"
	if "$CTL" status "$T/ext/merged"; then
		fail "status says clean"
	fi

	say "7. Unmount: the daemon writes the final checkpoint and keeps the marker"
	stop_errovl
	ls -l "$T/ext/work/work/incompat/volatile/dirty" || fail "marker removed"
	if "$CTL" status --workdir "$T/ext/work"; then
		fail "checkpoint says clean"
	fi

	say "8. Mounting the same upper again is refused, with the reason"
	if start_errovl "volatile"; then
		fail "remount was accepted"
	fi
	sed 's/^/   /' "$log"
	echo "   (kernel overlayfs refuses it too:)"
	if mount -t overlay overlay -o "lowerdir=$T/ext/lower,upperdir=$T/ext/upper,workdir=$T/ext/work" \
		"$T/ext/merged" 2>&1 | sed 's/^/   /'; then
		mountpoint -q "$T/ext/merged" && { umount "$T/ext/merged"; fail "kernel mount accepted"; }
	fi

	say "Demo complete: the upper's writeback error was detected, reported and remembered."
}

if [ "${1:-}" = "--inner" ]; then
	inner
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (sudo $0)" >&2
	exit 1
fi

say "Installing dependencies and building (build-demo/)"
if [ -x "$ROOT/scripts/deps.sh" ]; then
	"$ROOT/scripts/deps.sh"
else
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq meson ninja-build pkg-config gcc libfuse3-dev \
		fuse3 python3 e2fsprogs util-linux mount >/dev/null
fi
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$ROOT" >/dev/null
fi
ninja -C "$BUILD" fs/errovl cli/errovlctl >/dev/null
[ -e /dev/fuse ] || modprobe fuse
modprobe loop 2>/dev/null || true

exec unshare -m --propagation private "$0" --inner
