# SPDX-License-Identifier: GPL-2.0-or-later
"""Kernel oracle: real writeback errors compared with liberrseq.

The fixture builds ext4 (no journal) on a loop device whose image is a
sparse 256 MiB file on a 24 MiB tmpfs, inside a private mount namespace.
tests/lib/oracle.c prepares files, fills the tmpfs, makes writeback fail,
and compares what fsync() and syncfs() return on many descriptors with
the same sequence run on liberrseq (see the comment at the top of
oracle.c for what is and is not modelled).  Everything the fixture
creates is torn down in reverse order, even when a step fails.
"""
import ctypes
import os
import shutil
import subprocess
import tempfile

import pytest

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

BUILD = os.environ.get("ERROVL_BUILD", "build")
ORACLE = os.path.join(BUILD, "tests", "lib", "oracle")
TIMEOUT = 30


def _oracle_path():
    return os.path.abspath(ORACLE)


def _need_oracle():
    if not os.access(_oracle_path(), os.X_OK):
        pytest.skip("%s not built (set ERROVL_BUILD)" % _oracle_path())


def _private_mount_namespace():
    """Moves this process into a new private mount namespace, so that
    nothing mounted here is visible to the rest of the machine."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        pytest.skip("unshare(CLONE_NEWNS): %s" % os.strerror(err))
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        err = ctypes.get_errno()
        pytest.fail("mount --make-rprivate /: %s" % os.strerror(err))


def _run(*args):
    res = subprocess.run(args, capture_output=True, text=True,
                         timeout=TIMEOUT)
    if res.returncode:
        pytest.fail("%s exited %d: %s" % (" ".join(args), res.returncode,
                                          res.stderr.strip()))
    return res


def _umount(path):
    """Unmounts @path and anything the oracle left mounted below it; a
    busy mount is detached lazily instead."""
    if subprocess.run(["umount", "-R", path],
                      capture_output=True).returncode:
        subprocess.run(["umount", "-R", "-l", path], capture_output=True)


@pytest.fixture
def failing_ext4():
    """Yields (ext4 mount point, pad file path on the backing tmpfs)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (tmpfs, loop device and ext4 mounts)")
    for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            pytest.skip("%s not installed" % tool)
    if not os.path.exists("/dev/loop-control"):
        pytest.skip("no loop device support (/dev/loop-control)")
    _need_oracle()
    _private_mount_namespace()

    top = tempfile.mkdtemp(prefix="errseq-oracle-")
    backing = os.path.join(top, "tmpfs")
    mnt = os.path.join(top, "ext4")
    os.mkdir(backing)
    os.mkdir(mnt)
    tmpfs_mounted = loop = ext4_mounted = None
    try:
        _run("mount", "-t", "tmpfs", "-o", "size=24M", "tmpfs", backing)
        tmpfs_mounted = backing
        image = os.path.join(backing, "disk.img")
        with open(image, "wb") as f:
            f.truncate(256 << 20)
        loop = _run("losetup", "-f", "--show", image).stdout.strip()
        _run("mkfs.ext4", "-q", "-F", "-b", "4096", "-O", "^has_journal",
             "-E", "lazy_itable_init=0,lazy_journal_init=0", loop)
        _run("mount", "-t", "ext4", "-o", "errors=continue", loop, mnt)
        ext4_mounted = mnt
        yield mnt, os.path.join(backing, "pad")
    finally:
        if ext4_mounted:
            _umount(ext4_mounted)
        if loop:
            subprocess.run(["losetup", "-d", loop], capture_output=True)
        if tmpfs_mounted:
            _umount(tmpfs_mounted)
        shutil.rmtree(top, ignore_errors=True)


def _have_overlay():
    if shutil.which("modprobe"):
        # Loads the module if needed; /proc/filesystems has the last word.
        subprocess.run(["modprobe", "-q", "overlay"], capture_output=True)
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == "overlay" for line in f)


def _run_oracle(*args):
    res = subprocess.run([_oracle_path(), *args], capture_output=True,
                         text=True, timeout=TIMEOUT)
    report = res.stdout + res.stderr
    assert res.returncode == 0, report
    assert " 0 mismatches" in res.stdout, report
    # The sequences really produced errors on both sides.
    assert "| -E" in res.stdout, report
    return res.stdout


def test_kernel_fsync_and_syncfs_match_liberrseq(failing_ext4):
    mnt, pad = failing_ext4
    out = _run_oracle(mnt, pad)
    assert "| t441 " in out and "| t487 " in out and "| t484 " in out


def test_kernel_volatile_overlay_matches_errseq_counter(failing_ext4):
    mnt, pad = failing_ext4
    if not _have_overlay():
        pytest.skip("kernel overlayfs not available")
    out = _run_oracle("-v", mnt, pad)
    assert "mount -o volatile(ovl2)" in out, out


def test_oracle_usage_errors_exit_2():
    _need_oracle()
    res = subprocess.run([_oracle_path()], capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 2
    assert "Usage" in res.stderr
    res = subprocess.run([_oracle_path(), "/nonexistent/errseq-oracle",
                          "/nonexistent/pad"], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert res.returncode == 2
    assert "No such file" in res.stderr
