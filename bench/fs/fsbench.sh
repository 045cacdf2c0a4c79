#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fsbench.sh - time errovl against kernel overlayfs, fuse-overlayfs and the
# bare filesystem on the same storage, with the same workloads.
#
# Layout of one invocation (everything below lives in a private mount
# namespace, so nobody else on the machine inherits our mounts):
#
#   $SCRATCH/src     tmpfs: the uncompressed source tarball (untar input)
#   $SCRATCH/backing tmpfs: ext4.img, a sparse file behind a loop device
#   $SCRATCH/disk    that ext4: lower/ (extracted tree + bigfile), run/
#   $SCRATCH/mnt     the merged mount point
#
# A "run" is one (repetition, workload, configuration): fresh upper and work
# directories, caches dropped, mount, timed command(s), umount, wait for the
# daemon to exit, remove the upper layer, fstrim. Inside one repetition every
# configuration runs a workload before the next workload starts, and the
# order of the configurations rotates with each repetition, so slow drifts
# in machine load hit all of them alike. Ratios are taken within a
# repetition; the report gives their median (fsbench_report.py).
#
# Configurations that skip syncs ("volatile" class) only run the sync-heavy
# workloads unless --all-pairs is given: their other numbers equal those of
# their plain sibling and would only cost time.
set -u -o pipefail

FSB_PROG=${0##*/}
FSB_HERE=$(cd "$(dirname "$0")" && pwd)
FSB_REPO=$(cd "$FSB_HERE/../.." && pwd)
FSB_PY=/usr/bin/python3
[ -x "$FSB_PY" ] || FSB_PY=python3

# ------------------------------------------------------------------ options
REPS=3
WORKLOADS_ALL="untar walk readall seqread seqwrite copyup rmtree fsync sqlite"
WORKLOADS=$WORKLOADS_ALL
CONFIGS="bare kovl kovl-vol fovl fovl-nosync errovl errovl-vol"
ERROVL=""
ERROVL_OPTS=""
NULLFS=""
STORAGE=tmpfs
SCRATCH=/tmp/fsbench
CACHE=/var/tmp/fsbench-cache
OUT=""
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
IMG_SIZE=12G
BIG_MB=1024
FSYNC_N=2000
SQLITE_N=2000
COPYUP_DIRS="fs kernel mm"
RMTREE_DIR=arch
WARM_N=3
QUICK=0
QUICK_DIRS="fs kernel mm arch/x86 include"
SUBSET=""
ALL_PAIRS=0
COUNT_OPS=0
PERF_RECORD=0
STRACE=0
STOP_AT=""
NOFILE=""
FUSE_URING=""
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_OLD=""     # enable_uring before --fuse-uring changed it

declare -A CFG_CMD CFG_VOL
CFG_CMD[bare]=""
CFG_VOL[bare]=0
CFG_CMD[kovl]="mount -t overlay overlay -o lowerdir={L},upperdir={U},workdir={W} {M}"
CFG_VOL[kovl]=0
CFG_CMD[kovl-vol]="mount -t overlay overlay -o lowerdir={L},upperdir={U},workdir={W},volatile {M}"
CFG_VOL[kovl-vol]=1
CFG_CMD[fovl]="fg:fuse-overlayfs -f -o lowerdir={L},upperdir={U},workdir={W} {M}"
CFG_VOL[fovl]=0
CFG_CMD[fovl-nosync]="fg:fuse-overlayfs -f -o lowerdir={L},upperdir={U},workdir={W},fsync=0 {M}"
CFG_VOL[fovl-nosync]=1
CFG_CMD[errovl]="fg:{E} -f -o lowerdir={L},upperdir={U},workdir={W}{X} {M}"
CFG_VOL[errovl]=0
CFG_CMD[errovl-vol]="fg:{E} -f -o lowerdir={L},upperdir={U},workdir={W},volatile{X} {M}"
CFG_VOL[errovl-vol]=1
# nullfs answers from memory and keeps no data: FUSE's own cost
CFG_CMD[null]="fg:{N} -f {M}"
CFG_VOL[null]=0
CFG_CMD[null-vol]="fg:{N} -f {M}"
CFG_VOL[null-vol]=1

fsb_usage() {
	cat <<EOF
usage: $FSB_PROG [run] [options]     run the comparison (as root)
       $FSB_PROG report DIR          re-summarise a result directory

Configurations (--configs):
  bare         no overlay: the ext4 that holds lower and upper
  kovl         kernel overlayfs                  (reference for plain configs)
  kovl-vol     kernel overlayfs, volatile        (reference for volatile ones)
  fovl         fuse-overlayfs
  fovl-nosync  fuse-overlayfs -o fsync=0         (volatile class)
  errovl       errovl                            (binary: --errovl)
  errovl-vol   errovl -o volatile                (volatile class)
  null         bench/fs/nullfs: names and attributes in memory, data
               discarded, no lower layer: what FUSE itself costs;
               runs untar, seqwrite and fsync only (not by default)
  null-vol     the same, compared with kovl-vol  (volatile class)
Workloads (--workloads): $WORKLOADS_ALL

Options:
  --reps N              repetitions (default $REPS)
  --workloads "A B"     workloads to run (default: all)
  --configs "A B"       configurations to run (default: $CONFIGS)
  --errovl PATH         errovl binary (default: build-perf, then build)
  --errovl-opts OPTS    extra -o options for errovl configs, e.g. "foo=1,bar"
  --define NAME[:vol]=TEMPLATE
                        add a configuration. TEMPLATE is a mount command;
                        {L} {U} {W} {M} are the lower, upper, work and mount
                        directories, {E} the errovl binary, {N} nullfs, {X} the
                        --errovl-opts (with a leading comma), {O} the result
                        directory. Prefix "fg:" when the command stays in the
                        foreground (a FUSE daemon with -f); its pid, CPU time
                        and memory are then tracked. ":vol" marks it volatile.
  --all-pairs           run volatile configs on every workload too
  --storage tmpfs|dir:PATH
                        tmpfs (default): ext4 on a loop device whose image is
                        on a private tmpfs; dir:PATH: an existing directory
  --scratch DIR         mount points and tmpfs (default $SCRATCH)
  --cache DIR           keeps the uncompressed tarball (default $CACHE)
  --out DIR             results (default DIR/results-<time> under --scratch)
  --src-tar FILE        source tarball (default $SRC_TAR)
  --big-mb N            seqread/seqwrite size in MiB (default $BIG_MB)
  --fsync-n N           fsync workload: files (default $FSYNC_N)
  --sqlite-n N          sqlite workload: transactions (default $SQLITE_N)
  --copyup-dirs "A B"   copyup: every file under these dirs (default "$COPYUP_DIRS")
  --rmtree-dir D        rmtree: this subtree (default $RMTREE_DIR)
  --warm N              warm walks after the cold one (default $WARM_N)
  --img-size SIZE       ext4 image size (default $IMG_SIZE)
  --subset "D1 D2"      use only these directories of the tree, for both
                        the lower layer and the untar input
  --quick               smoke run: --subset "$QUICK_DIRS",
                        64 MiB big file, 200 fsyncs and txns, copy-up of mm,
                        rmtree of arch/x86, 1 rep, 1 warm walk
  --count-ops           count FUSE requests per opcode (perf, fuse tracepoint)
                        during each timed command -> fuse-ops.tsv
  --perf-record         perf record -g the daemon during each timed command
  --strace              strace -c -f the daemon during each timed command
  --stop-at HH:MM       (UTC; tomorrow once passed) do not start a run
                        expected to end after this
  --nofile N            raise the open-file limit (soft and hard) of every
                        mount command to N; default: inherit it
  --fuse-uring Y|N      set the fuse module's enable_uring (FUSE over
                        io_uring, Linux 6.14+) for the run, restored at
                        exit; default: leave it as it is
  -h, --help            this text
Profiling options slow the daemon down: do not use their timings.
Exit status: 0 all runs succeeded, 1 a run failed or setup failed, 2 usage.
EOF
}

fsb_log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
fsb_die() {
	fsb_log "$FSB_PROG: $*"
	exit 1
}
fsb_usage_err() {
	echo "$FSB_PROG: $*" >&2
	echo "try '$FSB_PROG --help'" >&2
	exit 2
}

FSB_CMD=run
case "${1:-}" in
run | report)
	FSB_CMD=$1
	shift
	;;
esac
if [ "$FSB_CMD" = report ]; then
	[ $# -eq 1 ] || fsb_usage_err "report needs one result directory"
	exec "$FSB_PY" "$FSB_HERE/fsbench_report.py" "$1"
fi

FSB_ARGS=("$@")
declare -A SET # options given explicitly, which --quick leaves alone
fsb_need() { [ "$2" -ge 2 ] || fsb_usage_err "$1 needs a value"; }
fsb_int() { [[ $2 =~ ^[1-9][0-9]*$ ]] || fsb_usage_err "$1: not a positive integer: '$2'"; }
while [ $# -gt 0 ]; do
	opt=$1
	case "$opt" in
	--reps | --workloads | --configs | --errovl | --errovl-opts | --define | \
		--storage | --scratch | --cache | --out | --src-tar | --big-mb | \
		--fsync-n | --sqlite-n | --copyup-dirs | --rmtree-dir | --warm | \
		--img-size | --stop-at | --nofile | --subset | --fuse-uring)
		fsb_need "$opt" $#
		val=$2
		shift 2
		;;
	*)
		val=""
		shift
		;;
	esac
	case "$opt" in
	--workloads) WORKLOADS=$val ;;
	--configs) CONFIGS=$val ;;
	--errovl) ERROVL=$val ;;
	--errovl-opts) ERROVL_OPTS=$val ;;
	--define)
		[[ $val == *=* ]] || fsb_usage_err "--define: expected NAME=TEMPLATE"
		name=${val%%=*}
		vol=0
		if [[ $name == *:vol ]]; then
			name=${name%:vol}
			vol=1
		fi
		[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
			fsb_usage_err "--define: bad configuration name '$name'"
		CFG_CMD[$name]=${val#*=}
		CFG_VOL[$name]=$vol
		;;
	--all-pairs) ALL_PAIRS=1 ;;
	--storage) STORAGE=$val ;;
	--scratch) SCRATCH=$val ;;
	--cache) CACHE=$val ;;
	--out) OUT=$val ;;
	--src-tar) SRC_TAR=$val ;;
	--big-mb) fsb_int "$opt" "$val" && BIG_MB=$val && SET[big]=1 ;;
	--fsync-n) fsb_int "$opt" "$val" && FSYNC_N=$val && SET[fsync]=1 ;;
	--sqlite-n) fsb_int "$opt" "$val" && SQLITE_N=$val && SET[sqlite]=1 ;;
	--copyup-dirs) COPYUP_DIRS=$val && SET[copyup]=1 ;;
	--rmtree-dir) RMTREE_DIR=$val && SET[rmtree]=1 ;;
	--warm) [[ $val =~ ^[0-9]+$ ]] || fsb_usage_err "--warm: not a number: '$val'"
		WARM_N=$val && SET[warm]=1 ;;
	--reps) fsb_int "$opt" "$val" && REPS=$val && SET[reps]=1 ;;
	--subset) SUBSET=$val && SET[subset]=1 ;;
	--img-size) IMG_SIZE=$val ;;
	--quick) QUICK=1 ;;
	--nofile) fsb_int "$opt" "$val" && NOFILE=$val ;;
	--fuse-uring)
		[[ $val == [YN] ]] || fsb_usage_err "--fuse-uring: expected Y or N, got '$val'"
		FUSE_URING=$val
		;;
	--count-ops) COUNT_OPS=1 ;;
	--perf-record) PERF_RECORD=1 ;;
	--strace) STRACE=1 ;;
	--stop-at)
		[[ $val =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || fsb_usage_err "--stop-at: expected HH:MM, got '$val'"
		STOP_AT=$val
		# The next such time: today, or tomorrow once it has passed.
		STOP_EPOCH=$(date -u -d "today $val" +%s)
		[ "$STOP_EPOCH" -gt "$(date -u +%s)" ] || STOP_EPOCH=$((STOP_EPOCH + 86400))
		;;
	-h | --help)
		fsb_usage
		exit 0
		;;
	*) fsb_usage_err "unknown option '$opt'" ;;
	esac
done

if [ "$QUICK" = 1 ]; then
	# Size options given explicitly win over --quick.
	[ -n "${SET[big]:-}" ] || BIG_MB=64
	[ -n "${SET[fsync]:-}" ] || FSYNC_N=200
	[ -n "${SET[sqlite]:-}" ] || SQLITE_N=200
	[ -n "${SET[copyup]:-}" ] || COPYUP_DIRS="mm"
	[ -n "${SET[rmtree]:-}" ] || RMTREE_DIR=arch/x86
	[ -n "${SET[warm]:-}" ] || WARM_N=1
	[ -n "${SET[subset]:-}" ] || SUBSET=$QUICK_DIRS
	[ -n "${SET[reps]:-}" ] || REPS=1
fi

for w in $WORKLOADS; do
	[[ " $WORKLOADS_ALL " == *" $w "* ]] || fsb_usage_err "unknown workload '$w'"
done
for c in $CONFIGS; do
	[ -n "${CFG_CMD[$c]+x}" ] || fsb_usage_err "unknown configuration '$c' (see --define)"
done
[ -n "$CONFIGS" ] || fsb_usage_err "no configuration selected"
[ -n "$WORKLOADS" ] || fsb_usage_err "no workload selected"
case "$STORAGE" in
tmpfs) ;;
dir:?*) [ -d "${STORAGE#dir:}" ] || fsb_usage_err "--storage: no such directory: ${STORAGE#dir:}" ;;
*) fsb_usage_err "--storage: expected tmpfs or dir:PATH, got '$STORAGE'" ;;
esac
[ -r "$SRC_TAR" ] || fsb_die "cannot read source tarball $SRC_TAR"
[ "$(id -u)" = 0 ] || fsb_die "must run as root (mounts, drop_caches, loop devices)"

# Checks that only matter if the configuration is used.
fsb_uses() { [[ " $CONFIGS " == *" $1 "* ]]; }
fsb_uses_template() {
	local c
	for c in $CONFIGS; do
		[[ ${CFG_CMD[$c]} == *"$1"* ]] && return 0
	done
	return 1
}
fsb_built() { # PATH-IN-BUILD-DIR: the release build's, else the plain one's
	local b
	for b in build-perf build; do
		[ -x "$FSB_REPO/$b/$1" ] && break
	done
	readlink -f "$FSB_REPO/$b/$1"
}
if fsb_uses_template "{E}"; then
	if [ -n "$ERROVL" ]; then
		ERROVL=$(readlink -f "$ERROVL")
	else
		ERROVL=$(fsb_built fs/errovl)
	fi
	[ -x "$ERROVL" ] || fsb_die "errovl binary not found or not executable: '$ERROVL' (use --errovl PATH)"
fi
if fsb_uses_template "{N}"; then
	NULLFS=$(fsb_built bench/nullfs)
	[ -x "$NULLFS" ] || fsb_die "nullfs not built: ninja -C build-perf bench/nullfs"
fi
if fsb_uses_template "fuse-overlayfs"; then
	command -v fuse-overlayfs >/dev/null || fsb_die "fuse-overlayfs is not installed"
fi
for t in tar find dd losetup mkfs.ext4 fstrim unshare findmnt xz gzip; do
	command -v "$t" >/dev/null || fsb_die "missing tool: $t"
done
[ "$COUNT_OPS" = 0 ] && [ "$PERF_RECORD" = 0 ] || command -v perf >/dev/null ||
	fsb_die "--count-ops/--perf-record need perf"
[ "$STRACE" = 0 ] || command -v strace >/dev/null || fsb_die "--strace needs strace"

if [ -n "$NOFILE" ]; then
	ulimit -Hn "$NOFILE" && ulimit -Sn "$NOFILE" ||
		fsb_die "cannot raise the open-file limit to $NOFILE (see /proc/sys/fs/nr_open)"
fi

# Re-execute in a private mount namespace: a job that unshares its own
# namespace while we are mounted would otherwise get copies of our mounts,
# and a copied FUSE mount keeps its daemon alive after our umount.
if [ -z "${FSBENCH_IN_NS:-}" ]; then
	exec unshare -m --propagation private env FSBENCH_IN_NS=1 \
		bash "$FSB_HERE/$FSB_PROG" run "${FSB_ARGS[@]}"
fi

# ------------------------------------------------------------------ state
SRC=$SCRATCH/src
BACK=$SCRATCH/backing
MNT=$SCRATCH/mnt
if [ "$STORAGE" = tmpfs ]; then
	DISK=$SCRATCH/disk
else
	DISK=${STORAGE#dir:}/fsbench.$$
fi
LOWER=$DISK/lower
RUNDIR=$DISK/run
[ -n "$OUT" ] || OUT=$SCRATCH/results-$(date -u +%Y%m%d-%H%M%S)
TOP=""           # top directory of the tree inside the tarball
TARBALL=""       # untar input (on the src tmpfs)
LOOP=""          # our loop device
DPID=""          # pid of the current foreground daemon
M=""             # directory the workload runs in
AUX_PIDS=()      # perf/strace helpers attached to the daemon
FAILED=0
declare -a MOUNTED=() # our own mounts, innermost last

fsb_mount_own() { # mount ARGS... TARGET: mount and remember it for cleanup
	mount "$@" || return 1
	MOUNTED+=("${*: -1}")
}

# Is something mounted on $MNT? Reads mountinfo rather than stat()ing
# $MNT, which fails once a FUSE daemon has died.
fsb_mounted() {
	awk -v m="$MNT" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

fsb_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for i in "${AUX_PIDS[@]}"; do
		kill -INT "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	if fsb_mounted; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	[ "$STORAGE" = tmpfs ] || rm -rf "$DISK"
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}"
	done
	if [ -n "$LOOP" ]; then
		losetup -d "$LOOP" || fsb_log "could not detach $LOOP"
	fi
	if [ -n "$URING_OLD" ]; then
		echo "$URING_OLD" >"$URING_PARAM" || fsb_log "could not restore $URING_PARAM"
	fi
	exit "$rc"
}
trap fsb_cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$FUSE_URING" ]; then
	[ -w "$URING_PARAM" ] || fsb_die "--fuse-uring: no writable $URING_PARAM (needs root and CONFIG_FUSE_IO_URING)"
	URING_OLD=$(cat "$URING_PARAM")
	echo "$FUSE_URING" >"$URING_PARAM" || fsb_die "cannot write $URING_PARAM"
fi

# ------------------------------------------------------------------ storage
fsb_prepare_tarball() {
	local base=${SRC_TAR##*/} cached
	mkdir -p "$SRC" "$CACHE" || fsb_die "cannot create $SRC or $CACHE"
	fsb_mount_own -t tmpfs -o size=4g fsbench-src "$SRC" || fsb_die "cannot mount tmpfs on $SRC"
	case "$base" in
	*.tar.xz | *.txz) cached=$CACHE/${base%.*}; [[ $cached == *.tar ]] || cached+=.tar ;;
	*.tar.gz | *.tgz) cached=$CACHE/${base%.*}; [[ $cached == *.tar ]] || cached+=.tar ;;
	*.tar) cached=$SRC_TAR ;;
	*) fsb_die "unsupported tarball type: $SRC_TAR (want .tar, .tar.xz or .tar.gz)" ;;
	esac
	if [ ! -s "$cached" ] || [ "$cached" -ot "$SRC_TAR" ]; then
		fsb_log "decompressing $SRC_TAR into $cached (once)"
		case "$base" in
		*xz) xz -T0 -dc "$SRC_TAR" >"$cached.part" ;;
		*) gzip -dc "$SRC_TAR" >"$cached.part" ;;
		esac || fsb_die "cannot decompress $SRC_TAR"
		mv "$cached.part" "$cached" || fsb_die "cannot rename $cached.part"
	fi
	TOP=$(tar -tf "$cached" | head -n1)
	TOP=${TOP%%/*}
	[ -n "$TOP" ] || fsb_die "empty tarball $cached"
	if [ -n "$SUBSET" ]; then
		TARBALL=$SRC/subset.tar
	else
		TARBALL=$SRC/src.tar
		cp "$cached" "$TARBALL" || fsb_die "cannot copy the tarball to $SRC"
	fi
	CACHED_TAR=$cached
}

fsb_prepare_storage() {
	mkdir -p "$MNT" "$DISK" || fsb_die "cannot create $MNT or $DISK"
	if [ "$STORAGE" = tmpfs ]; then
		mkdir -p "$BACK" || fsb_die "cannot create $BACK"
		fsb_mount_own -t tmpfs -o size=100% fsbench-backing "$BACK" ||
			fsb_die "cannot mount tmpfs on $BACK"
		truncate -s "$IMG_SIZE" "$BACK/ext4.img" || fsb_die "cannot create the image"
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
			"$BACK/ext4.img" || fsb_die "mkfs.ext4 failed"
		LOOP=$(losetup -f --show "$BACK/ext4.img") || fsb_die "losetup failed"
		fsb_mount_own "$LOOP" "$DISK" || fsb_die "cannot mount $LOOP"
	fi
	mkdir -p "$LOWER" || fsb_die "cannot create $LOWER"
	fsb_log "extracting the lower layer into $LOWER"
	if [ -n "$SUBSET" ]; then
		local d members=()
		for d in $SUBSET; do members+=("$TOP/$d"); done
		tar -xf "$CACHED_TAR" -C "$LOWER" "${members[@]}" ||
			fsb_die "cannot extract $SUBSET from $CACHED_TAR"
		tar -cf "$TARBALL" -C "$LOWER" "$TOP" || fsb_die "cannot build $TARBALL"
	else
		tar -xf "$TARBALL" -C "$LOWER" || fsb_die "cannot extract $TARBALL"
	fi
	dd if=/dev/zero of="$LOWER/bigfile" bs=1M count="$BIG_MB" status=none ||
		fsb_die "cannot write $LOWER/bigfile"
	local d
	for d in $COPYUP_DIRS; do
		[ -d "$LOWER/$TOP/$d" ] || fsb_die "copyup dir $TOP/$d is not in the tree"
	done
	[ -d "$LOWER/$TOP/$RMTREE_DIR" ] || fsb_die "rmtree dir $TOP/$RMTREE_DIR is not in the tree"
	(cd "$LOWER" && for d in $COPYUP_DIRS; do find "$TOP/$d" -type f; done) \
		>"$SRC/copyup.list" || fsb_die "cannot list copy-up files"
	sync
}

# ------------------------------------------------------------------ probes
# Busy CPU time of the whole machine, in clock ticks (user+nice+system+
# irq+softirq): includes daemons, kernel workers and other users.
fsb_cpu_busy() {
	local cpu u n s idle iow irq sirq rest
	read -r cpu u n s idle iow irq sirq rest </proc/stat
	echo $((u + n + s + irq + sirq))
}

# CPU ticks (utime+stime, all threads) of the daemon, 0 without one.
fsb_daemon_cpu() {
	local st f
	[ -n "$DPID" ] && read -r st 2>/dev/null <"/proc/$DPID/stat" || {
		echo 0
		return
	}
	st=${st##*) }
	read -ra f <<<"$st"
	echo $((f[11] + f[12]))
}

# "VmRSS VmHWM" of the daemon in KiB, "- -" without one.
fsb_daemon_mem() {
	local k v u rss=- hwm=-
	if [ -n "$DPID" ] && [ -r "/proc/$DPID/status" ]; then
		while read -r k v u; do
			case $k in
			VmRSS:) rss=$v ;;
			VmHWM:) hwm=$v ;;
			esac
		done <"/proc/$DPID/status"
	fi
	echo "$rss $hwm"
}

# Open fds of the daemon, "-" without one.
fsb_daemon_fds() {
	if [ -n "$DPID" ] && [ -d "/proc/$DPID/fd" ]; then
		find "/proc/$DPID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
	else
		echo -
	fi
}

# Number of drop_caches writes so far, by anyone: a change during a timed
# command means another job dropped our warm caches.
fsb_drops() {
	local k v n=0
	while read -r k v; do
		case $k in drop_pagecache | drop_slab) n=$((n + v)) ;; esac
	done </proc/vmstat
	echo "$n"
}

FSB_HZ=$(getconf CLK_TCK)
FSB_OPCODES="1:LOOKUP 2:FORGET 3:GETATTR 4:SETATTR 5:READLINK 6:SYMLINK
8:MKNOD 9:MKDIR 10:UNLINK 11:RMDIR 12:RENAME 13:LINK 14:OPEN 15:READ 16:WRITE
17:STATFS 18:RELEASE 20:FSYNC 21:SETXATTR 22:GETXATTR 23:LISTXATTR
24:REMOVEXATTR 25:FLUSH 27:OPENDIR 28:READDIR 29:RELEASEDIR 30:FSYNCDIR
32:SETLK 34:ACCESS 35:CREATE 36:INTERRUPT 42:BATCH_FORGET 43:FALLOCATE
44:READDIRPLUS 45:RENAME2 46:LSEEK 47:COPY_FILE_RANGE 51:TMPFILE 52:STATX"

# Starts the per-run profilers around one timed command; NAME is the
# timed command's name (used in file names).
fsb_aux_start() {
	local name=$1 tag ev=() o conn maj min tids
	AUX_PIDS=()
	[ -n "$DPID" ] || return 0
	tag=$CUR_REP-$name-$CUR_CFG
	if [ "$COUNT_OPS" = 1 ]; then
		# The tracepoint's connection is the kernel dev_t of the mount:
		# major << 20 | minor.
		read -r maj min < <(stat -c '%Hd %Ld' "$MNT")
		conn=$(((maj << 20) | min))
		for o in $FSB_OPCODES; do
			ev+=(-e fuse:fuse_request_send
				--filter "connection == $conn && opcode == ${o%%:*}")
		done
		perf stat -a -x $'\t' -o "$OUT/ops-$tag.txt" "${ev[@]}" \
			>/dev/null 2>&1 &
		AUX_PIDS+=($!)
	fi
	if [ "$PERF_RECORD" = 1 ]; then
		perf record -q -g -p "$DPID" -o "$OUT/perf-$tag.data" \
			>/dev/null 2>&1 &
		AUX_PIDS+=($!)
	fi
	if [ "$STRACE" = 1 ]; then
		tids=$(ls "/proc/$DPID/task" | sed 's/^/-p /')
		# shellcheck disable=SC2086
		strace -c -f -o "$OUT/strace-$tag.txt" $tids 2>/dev/null &
		AUX_PIDS+=($!)
	fi
	[ ${#AUX_PIDS[@]} -eq 0 ] || sleep 1
}

fsb_aux_stop() {
	local name=$1 i tag=$CUR_REP-$name-$CUR_CFG
	for i in "${AUX_PIDS[@]}"; do
		kill -INT "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	AUX_PIDS=()
	if [ "$COUNT_OPS" = 1 ] && [ -f "$OUT/ops-$tag.txt" ]; then
		printf '%s\t%s\t%s\t%s\n' "$CUR_REP" "$name" "$CUR_CFG" \
			"$(fsb_ops_row "$OUT/ops-$tag.txt")" >>"$OUT/fuse-ops.tsv"
		rm -f "$OUT/ops-$tag.txt"
	fi
}

# Turns perf stat's output (one line per filtered event, in the order of
# FSB_OPCODES) into "OP=count ..." for the non-zero opcodes.
fsb_ops_row() {
	local -a names counts
	local o i row="" total=0
	for o in $FSB_OPCODES; do names+=("${o#*:}"); done
	mapfile -t counts < <(grep -v '^#' "$1" | grep fuse_request_send | cut -f1)
	for i in "${!names[@]}"; do
		[[ ${counts[$i]:-x} =~ ^[0-9]+$ ]] || continue
		[ "${counts[$i]}" -gt 0 ] || continue
		row+="${names[$i]}=${counts[$i]} "
		total=$((total + counts[i]))
	done
	echo "total=$total $row"
}

# ------------------------------------------------------------------ timing
CUR_REP=0
CUR_WL=""
CUR_CFG=""

# fsb_timed NAME CMD...: runs CMD once, appends one row to results.tsv.
fsb_timed() {
	local name=$1 t0 t1 c0 c1 d0 d1 x0 x1 rc note load mem nfd
	shift
	read -r load _ </proc/loadavg
	fsb_aux_start "$name"
	x0=$(fsb_drops)
	c0=$(fsb_cpu_busy)
	d0=$(fsb_daemon_cpu)
	t0=${EPOCHREALTIME/./}
	"$@" >"$OUT/cmd.out" 2>"$OUT/cmd.err"
	rc=$?
	t1=${EPOCHREALTIME/./}
	c1=$(fsb_cpu_busy)
	d1=$(fsb_daemon_cpu)
	x1=$(fsb_drops)
	mem=$(fsb_daemon_mem)
	nfd=$(fsb_daemon_fds)
	fsb_aux_stop "$name"
	note=$(sed -n 's/^note: //p' "$OUT/cmd.out" | tail -n1)
	if [ "$rc" -ne 0 ]; then
		FAILED=1
		note="failed rc=$rc: $(head -c 300 "$OUT/cmd.err" | tr '\t\n' '  ')"
	fi
	printf '%s\t%s\t%s\t%s\t%d.%06d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$CUR_REP" "$name" "$CUR_CFG" "$CUR_WL" \
		$(((t1 - t0) / 1000000)) $(((t1 - t0) % 1000000)) \
		"$(awk -v a="$c0" -v b="$c1" -v hz="$FSB_HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')" \
		"$(awk -v a="$d0" -v b="$d1" -v hz="$FSB_HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')" \
		"${mem% *}" "${mem#* }" "$nfd" "$rc" "$((x1 - x0))" "$load" "$note" \
		>>"$OUT/results.tsv"
	fsb_log "  rep $CUR_REP $(printf '%-12s %-10s' "$CUR_CFG" "$name") $(((t1 - t0) / 1000)) ms${note:+  ($note)}"
	return "$rc"
}

# ------------------------------------------------------------------ mounts
fsb_expand() { # TEMPLATE -> command line with placeholders filled in
	local t=$1 x=""
	[ -n "$ERROVL_OPTS" ] && x=",$ERROVL_OPTS"
	t=${t//\{L\}/$LOWER}
	t=${t//\{U\}/$RUNDIR/upper}
	t=${t//\{W\}/$RUNDIR/work}
	t=${t//\{M\}/$MNT}
	t=${t//\{E\}/$ERROVL}
	t=${t//\{N\}/$NULLFS}
	t=${t//\{X\}/$x}
	t=${t//\{O\}/$OUT}
	echo "$t"
}

# Mounts configuration $1; returns non-zero (after logging) on failure.
fsb_mount() {
	local cfg=$1 cmd i log=$OUT/daemon-$1.log
	DPID=""
	cmd=$(fsb_expand "${CFG_CMD[$cfg]}")
	echo "# rep $CUR_REP $CUR_WL: $cmd" >>"$log"
	if [[ $cmd == fg:* ]]; then
		cmd=${cmd#fg:}
		bash -c "exec $cmd" >>"$log" 2>&1 &
		DPID=$!
		for ((i = 0; i < 300; i++)); do
			fsb_mounted && break
			if ! kill -0 "$DPID" 2>/dev/null; then
				wait "$DPID"
				fsb_log "$cfg: daemon exited (status $?) before mounting; see $log"
				DPID=""
				return 1
			fi
			sleep 0.05
		done
		if ! fsb_mounted; then
			fsb_log "$cfg: no mount after 15 s; see $log"
			kill "$DPID" 2>/dev/null
			wait "$DPID" 2>/dev/null
			DPID=""
			return 1
		fi
	else
		bash -c "$cmd" >>"$log" 2>&1 || {
			fsb_log "$cfg: mount failed: $cmd (see $log)"
			return 1
		}
	fi
	if [ ! -f "$OUT/mountinfo-$cfg.txt" ]; then
		{
			echo "$cmd"
			grep " $MNT " /proc/self/mountinfo
		} >"$OUT/mountinfo-$cfg.txt"
	fi
	if fsb_has_lower "$cfg" && [ ! -d "$MNT/$TOP" ]; then
		fsb_log "$cfg: $TOP is not visible through the mount"
		fsb_umount "$cfg"
		return 1
	fi
	return 0
}

fsb_umount() {
	local cfg=$1 i t0=$SECONDS
	[ -n "${CFG_CMD[$cfg]}" ] || return 0
	for ((i = 0; i < 50; i++)); do
		fsb_mounted || break
		umount "$MNT" 2>/dev/null && break
		sleep 0.2
	done
	if fsb_mounted; then
		fsb_log "$cfg: umount $MNT keeps failing, detaching it lazily"
		umount -l "$MNT"
	fi
	if [ -n "$DPID" ]; then
		# A FUSE daemon leaves after the kernel sends DESTROY.
		for ((i = 0; i < 600; i++)); do
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$DPID" 2>/dev/null; then
			fsb_log "$cfg: daemon $DPID alive 60 s after umount; killing it"
			kill "$DPID"
		fi
		wait "$DPID"
		i=$?
		[ $i -eq 0 ] || echo "# daemon exit status $i" >>"$OUT/daemon-$cfg.log"
		[ $((SECONDS - t0)) -lt 5 ] || fsb_log "$cfg: unmount took $((SECONDS - t0)) s"
		DPID=""
	fi
}

# ------------------------------------------------------------------ workloads
fsb_walk() { find "$1" -printf '%y %m %u %g %s %T@ %p\n' | wc -l; }

wl_untar() {
	mkdir -p "$M/untar" && fsb_timed untar tar -xf "$TARBALL" -C "$M/untar"
}
wl_walk() {
	local i
	fsb_timed walk-cold fsb_walk "$M/$TOP" || return
	for ((i = 0; i < WARM_N; i++)); do
		fsb_timed walk-warm fsb_walk "$M/$TOP" || return
	done
}
wl_readall() {
	# GNU tar does not read file data when the archive is /dev/null.
	fsb_timed readall tar -cf /dev/zero -C "$M" "$TOP"
}
wl_seqread() {
	fsb_timed seqread dd if="$M/bigfile" of=/dev/null bs=1M status=none
}
wl_seqwrite() {
	fsb_timed seqwrite dd if=/dev/zero of="$M/seq.out" bs=1M \
		count="$BIG_MB" conv=fsync status=none
}
wl_copyup() {
	fsb_timed copyup "$FSB_PY" "$FSB_HERE/fsbench_wl.py" copyup "$M" "$SRC/copyup.list"
}
wl_rmtree() { fsb_timed rmtree rm -rf "$M/$TOP/$RMTREE_DIR"; }
wl_fsync() {
	fsb_timed fsync "$FSB_PY" "$FSB_HERE/fsbench_wl.py" fsync "$M/fsync" "$FSYNC_N"
}
wl_sqlite() {
	fsb_timed sqlite "$FSB_PY" "$FSB_HERE/fsbench_wl.py" sqlite "$M/bench.db" "$SQLITE_N"
}

# For bare: where the workload runs, and what it must find there.
fsb_bare_dir() {
	local wl=$1 d
	case "$wl" in
	walk | readall | seqread)
		M=$LOWER
		return 0
		;;
	esac
	M=$RUNDIR/bare
	mkdir -p "$M/$TOP" || return 1
	case "$wl" in
	copyup)
		for d in $COPYUP_DIRS; do
			mkdir -p "$M/$TOP/$(dirname "$d")" &&
				cp -a "$LOWER/$TOP/$d" "$M/$TOP/$(dirname "$d")/" || return 1
		done
		;;
	rmtree)
		d=$RMTREE_DIR
		mkdir -p "$M/$TOP/$(dirname "$d")" &&
			cp -a "$LOWER/$TOP/$d" "$M/$TOP/$(dirname "$d")/" || return 1
		;;
	esac
}

fsb_run_one() {
	local rep=$1 wl=$2 cfg=$3
	CUR_REP=$rep
	CUR_WL=$wl
	CUR_CFG=$cfg
	rm -rf "$RUNDIR" && mkdir -p "$RUNDIR/upper" "$RUNDIR/work" ||
		fsb_die "cannot reset $RUNDIR"
	if [ -z "${CFG_CMD[$cfg]}" ]; then
		fsb_bare_dir "$wl" || fsb_die "cannot prepare the bare directory for $wl"
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	if [ -n "${CFG_CMD[$cfg]}" ]; then
		M=$MNT
		if ! fsb_mount "$cfg"; then
			FAILED=1
			printf '%s\t%s\t%s\t%s\t\t\t\t\t\t\tmount\t\t\tmount failed\n' \
				"$rep" "$wl" "$cfg" "$wl" >>"$OUT/results.tsv"
			return 0
		fi
	fi
	"wl_$wl"
	fsb_umount "$cfg"
	rm -rf "$RUNDIR"
	[ "$STORAGE" = tmpfs ] && fstrim "$DISK" >/dev/null 2>&1
	return 0
}

# CONFIG: does it mount the lower layer? A mount command without {L}
# (bench/fs/nullfs) does not; bare, without a command, works on it.
fsb_has_lower() { [[ -z ${CFG_CMD[$1]} || ${CFG_CMD[$1]} == *"{L}"* ]]; }

fsb_runs_on() { # WORKLOAD CONFIG: does this pair run?
	# Without a lower layer only these have work to do.
	if ! fsb_has_lower "$2"; then
		case "$1" in untar | seqwrite | fsync) ;; *) return 1 ;; esac
	fi
	[ "$ALL_PAIRS" = 1 ] && return 0
	[ "${CFG_VOL[$2]}" = 0 ] && return 0
	case "$1" in fsync | sqlite) return 0 ;; esac
	return 1
}

# Seconds until --stop-at (negative when past), or a large number.
fsb_time_left() {
	[ -n "$STOP_AT" ] || {
		echo 999999
		return
	}
	echo $((STOP_EPOCH - $(date -u +%s)))
}

fsb_meta() {
	local c
	{
		echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
		echo "command: $FSB_PROG ${FSB_ARGS[*]}"
		echo "kernel: $(uname -r)"
		echo "cpus: $(nproc) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1))"
		echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
		echo "libfuse: $(pkg-config --modversion fuse3 2>/dev/null || echo unknown)"
		echo "fuse-overlayfs: $(fuse-overlayfs --version 2>/dev/null | sed -n 's/^fuse-overlayfs: version //p')"
		echo "errovl: ${ERROVL:-unused} ($(git -C "$FSB_REPO" describe --always --dirty 2>/dev/null || echo no git))"
		echo "storage: $STORAGE ($(findmnt -no SOURCE,FSTYPE -T "$DISK" | tr -s ' '))"
		echo "tree: $TOP${SUBSET:+ (only: $SUBSET)}, $(find "$LOWER/$TOP" | wc -l) entries, $(du -sh "$LOWER/$TOP" | cut -f1)"
		echo "untar input: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
		echo "sizes: big_mb=$BIG_MB fsync_n=$FSYNC_N sqlite_n=$SQLITE_N warm=$WARM_N"
		echo "copyup: $COPYUP_DIRS ($(wc -l <"$SRC/copyup.list") files)"
		echo "rmtree: $RMTREE_DIR ($(find "$LOWER/$TOP/$RMTREE_DIR" | wc -l) entries)"
		echo "open-file limit: $(ulimit -Sn) soft, $(ulimit -Hn) hard${NOFILE:+ (--nofile)}"
		echo "fuse enable_uring: $(cat "$URING_PARAM" 2>/dev/null || echo absent)${FUSE_URING:+ (--fuse-uring)}"
		echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$OUT/meta.txt"
	for c in $CONFIGS; do
		printf '%s\t%s\t%s\n' "$c" "${CFG_VOL[$c]}" \
			"$(fsb_expand "${CFG_CMD[$c]}")" >>"$OUT/configs.tsv"
	done
}

# ------------------------------------------------------------------ main
mkdir -p "$OUT" || fsb_die "cannot create $OUT"
[ ! -e "$OUT/results.tsv" ] || fsb_die "$OUT already holds results"
fsb_log "results in $OUT"
fsb_prepare_tarball
fsb_prepare_storage
fsb_meta
printf 'rep\tname\tconfig\tworkload\twall_s\tcpu_busy_s\tdaemon_cpu_s\trss_kb\thwm_kb\tfds\trc\text_drops\tload1\tnote\n' \
	>"$OUT/results.tsv"
[ "$COUNT_OPS" = 0 ] || printf 'rep\tname\tconfig\tops\n' >"$OUT/fuse-ops.tsv"

read -ra FSB_CFGS <<<"$CONFIGS"
FSB_N=${#FSB_CFGS[@]}
declare -A FSB_LAST # "workload config" -> seconds of its last run
stopped=0
for ((rep = 1; rep <= REPS && !stopped; rep++)); do
	for wl in $WORKLOADS; do
		for ((k = 0; k < FSB_N; k++)); do
			cfg=${FSB_CFGS[$(((k + rep - 1) % FSB_N))]}
			fsb_runs_on "$wl" "$cfg" || continue
			left=$(fsb_time_left)
			if [ "$left" -lt "${FSB_LAST["$wl $cfg"]:-0}" ]; then
				fsb_log "stopping: $wl on $cfg would end after $STOP_AT UTC"
				stopped=1
				break 2
			fi
			t0=$SECONDS
			fsb_run_one "$rep" "$wl" "$cfg"
			FSB_LAST["$wl $cfg"]=$((SECONDS - t0))
		done
	done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
[ "$stopped" = 0 ] || echo "stopped early: --stop-at $STOP_AT reached in repetition $((rep - 1))" >>"$OUT/meta.txt"

"$FSB_PY" "$FSB_HERE/fsbench_report.py" "$OUT" || FAILED=1
exit "$FAILED"
