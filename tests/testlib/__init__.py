# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers of the errovl Python tests.

API (import from ``testlib``):

Namespace and skips
    private_mount_namespace()  unshare(CLONE_NEWNS) + make "/" rprivate, once
                               per process; True when done, False when not
                               root (then every mounting test skips).
    require_root(), require_fuse(), require_kernel_overlay(),
    require_tools(*names), require_daemon() -> path of $ERROVL_BUILD/fs/errovl
                               pytest.skip() with a clear reason.
    build_path(*parts)         $ERROVL_BUILD/parts... (e.g. "tests", "fs",
                               "nosys"), absolute; a relative
                               $ERROVL_BUILD is taken from the repository.
    ctl(*args)                 runs errovlctl (CompletedProcess, text).
    ctl_status(mnt)            errovlctl status --json of a mount (dict).
    passthrough_expected(opts=())  errovl mounts (with opts) use FUSE
                               passthrough (root, CONFIG_FUSE_PASSTHROUGH).
    extra_opts()               $ERROVL_TEST_OPTS as a list: options every
                               errovl mount gets before its own.
    daemon_wrapper()           $ERROVL_TEST_WRAPPER as a list: the command
                               prefix ErrovlMount's (and volhelp's)
                               daemons run under.

Mounts (context managers; they always clean up, even on failure)
    ErrovlMount(base, lowers=None, opts=(), upper=None, work=None,
                mnt=None, binary=None, timeout=10, env=None)
        Builds base/{l0..ln-1,upper,work,mnt} unless given, runs
        ``errovl -f -o lowerdir=..,upperdir=..,workdir=..[,opts] mnt``
        with stderr in base/errovl.log, waits <= timeout s for the mount
        (fails with the log if the daemon exits first).  Attributes:
        .proc .mnt .upper .work .lowers .log() .unmount(wait=True) -> exit
        status (or None if it did not exit) .kill9() .mounted .rss_kib().
        @env: extra environment of the daemon (e.g. ASAN_OPTIONS).
        ``ErrovlMount.run(...)`` starts the daemon without waiting, for
        setup-error tests: returns (exit status, stderr text, mounted?).
    errovl_with_files(base, opts=(), files=None, **kw)
        An ErrovlMount (not started) whose one lower layer, base/l, is
        built from @files (a layers spec: name -> bytes, File, Dir...).
    KernelOverlay(base, lowers=None, opts=DEFAULT_KERNEL_OPTS, ...)
        Same layout, ``mount -t overlay``; umount (lazy fallback) on exit.
    LoopExt4(base, tmpfs_mb=24, disk_mb=256)
        ext4 (no journal, errors=continue) on a loop device over a sparse
        file on a small tmpfs: writes succeed, writeback fails once the
        tmpfs is full.  .path is the ext4 root.  LoopExt4.roomy(base)
        gives one with enough room for normal tests.
        .fill_until_writeback_fails() forces and returns the first errno.

Syscalls (exact result and errno)
    sysop.call(fn, *args) -> (result, errno)  errno 0 on success
    sysop.renameat2(old, new, flags) -> 0 or -errno
    sysop.RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT
    sysop.syncfs(fd), sysop.mount(...), sysop.umount2(...) -> 0 or -errno

Layers and trees
    layers.build(root, spec)   build a layer from a declarative spec
    layers.snapshot_tree(root, ...) -> dict: a comparable picture of a tree

Running (from the repository root, as root for the mounting tests):
    ERROVL_BUILD=build-X /usr/bin/python3 -m pytest tests/fs
    ... -k k-k    only the kernel-vs-kernel sanity mode (no daemon needed)
    ... -rxX      list the xfails; each names its entry in
                  docs/known-differences.md
The differential harness is tests/fs/diffharness.py (modes k-k, k-e,
k-ev = errovl volatile, k-et = upper on its own tmpfs).
"""
from .ns import private_mount_namespace, in_private_namespace
from .skips import (require_root, require_fuse, require_kernel_overlay,
                    require_tools, require_daemon, errovl_binary, build_path,
                    ctl, ctl_status, is_root, passthrough_expected, extra_opts,
                    daemon_wrapper)
from .mounts import (ErrovlMount, KernelOverlay, LoopExt4, umount, mounted_at,
                     DEFAULT_KERNEL_OPTS, wait_for_mount, errovl_with_files)
from . import sysop
from . import layers

__all__ = [
    "private_mount_namespace", "in_private_namespace", "require_root",
    "require_fuse", "require_kernel_overlay", "require_tools",
    "require_daemon", "errovl_binary", "build_path", "ctl", "ctl_status",
    "is_root", "passthrough_expected",
    "extra_opts", "daemon_wrapper",
    "ErrovlMount", "errovl_with_files",
    "KernelOverlay", "LoopExt4", "umount", "DEFAULT_KERNEL_OPTS",
    "wait_for_mount", "mounted_at", "sysop", "layers",
]
