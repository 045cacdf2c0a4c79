# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the volatile-mode and errovlctl tests.

Everything that mounts runs in a private mount namespace of the pytest
process (entered once, see enter_private_ns()), and every fixture
unmounts and detaches what it created, also on failure. Waits are
bounded polls (a mount appearing, a daemon exiting, a harvest having
run), never timing assertions.
"""
import contextlib
import ctypes
import errno
import fcntl
import json
import os
import signal
import struct
import subprocess
import tempfile
import time

import pytest

import testlib

ERROVL = testlib.errovl_binary()
ERROVLCTL = testlib.build_path("cli", "errovlctl")

WAIT = 30.0  # bound of every poll, seconds

MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

# include/errovl/control.h
_IOC_READ = 2
_IOC_WRITE = 1
IOC_MAGIC = 0xE7
STATUS_FMT = "<IIIIiIiiQQQII16s32s"
STATUS_SIZE = struct.calcsize(STATUS_FMT)
FAULT_FMT = "<IIii"


def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (IOC_MAGIC << 8) | nr


IOC_STATUS = _ioc(_IOC_READ, 1, STATUS_SIZE)
IOC_SYNC = _ioc(0, 2, 0)
IOC_FAULT = _ioc(_IOC_WRITE, 3, struct.calcsize(FAULT_FMT))

def enter_private_ns():
    """The test process's private mount namespace (testlib, once)."""
    if not testlib.private_mount_namespace():
        pytest.skip("needs root for a private mount namespace")


def require_root():
    testlib.require_root()


def require_daemon():
    testlib.require_root()
    testlib.require_fuse()
    for b in (ERROVL, ERROVLCTL):
        if not os.access(b, os.X_OK):
            pytest.skip(f"{b} not built (set ERROVL_BUILD)")


def require_ctl():
    if not os.access(ERROVLCTL, os.X_OK):
        pytest.skip(f"{ERROVLCTL} not built (set ERROVL_BUILD)")


def require_tools(*tools):
    testlib.require_tools(*tools)


def run(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd}: exit {p.returncode}: {p.stderr}")
    return p


ctl = testlib.ctl


def ctl_json(*args):
    p = ctl(*args)
    return p.returncode, json.loads(p.stdout)


def syncfs(fd):
    """syncfs(2); returns 0 or -errno."""
    r = _libc.syncfs(fd)
    return 0 if r == 0 else -ctypes.get_errno()


def fsync_err(fd, data=False):
    """fsync/fdatasync; returns 0 or -errno."""
    try:
        (os.fdatasync if data else os.fsync)(fd)
        return 0
    except OSError as e:
        return -e.errno


def ioctl_sync(fd):
    try:
        fcntl.ioctl(fd, IOC_SYNC)
        return 0
    except OSError as e:
        return -e.errno


def ioctl_status(fd):
    buf = bytearray(STATUS_SIZE)
    fcntl.ioctl(fd, IOC_STATUS, buf)
    f = struct.unpack(STATUS_FMT, bytes(buf))
    keys = ("version", "size", "flags", "state", "error", "error_count",
            "first_errno", "last_errno", "first_error_ns", "last_error_ns",
            "mount_time_ns", "pid", "harvest_interval_ms", "instance",
            "reserved")
    return dict(zip(keys, f))


def umount(path, lazy=False):
    return _libc.umount2(path.encode(), MNT_DETACH if lazy else 0) == 0


def wait_for(pred, what, bound=WAIT):
    end = time.monotonic() + bound
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {bound}s waiting for {what}")


class Layers:
    """lower/upper/work/merged directories under one base directory."""

    def __init__(self, base):
        self.base = base
        self.lower = os.path.join(base, "lower")
        self.upper = os.path.join(base, "upper")
        self.work = os.path.join(base, "work")
        self.mnt = os.path.join(base, "merged")
        for d in (self.lower, self.upper, self.work, self.mnt):
            os.makedirs(d, exist_ok=True)

    @property
    def marker(self):
        return os.path.join(self.work, "work", "incompat", "volatile", "dirty")

    @property
    def ckpt(self):
        return os.path.join(self.work, "errovl", "volatile.ckpt")


class Errovl:
    """One errovl daemon, foreground, stderr captured to a file."""

    def __init__(self, layers, *opts):
        self.layers = layers
        self.opts = ",".join([f"lowerdir={layers.lower}",
                              f"upperdir={layers.upper}",
                              f"workdir={layers.work}",
                              *testlib.extra_opts(), *opts])
        self.proc = None
        self.log = None
        self.mounted = False

    def start(self):
        """Starts the daemon; returns True once mounted, False if it
        exited (refused), with its log in self.stderr."""
        fd, self.log = tempfile.mkstemp(prefix="errovl-log.", dir=self.layers.base)
        with os.fdopen(fd, "w") as f:
            self.proc = subprocess.Popen(
                testlib.daemon_wrapper() +
                [ERROVL, "-f", "-o", self.opts, self.layers.mnt],
                stdin=subprocess.DEVNULL, stdout=f, stderr=f)
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if os.path.ismount(self.layers.mnt):
                self.mounted = True
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        raise AssertionError("errovl neither mounted nor exited: "
                             + self.stderr)

    @property
    def stderr(self):
        with open(self.log) as f:
            return f.read()

    def unmount(self):
        """Unmounts and waits for the daemon to finish its teardown."""
        if self.mounted:
            if not umount(self.layers.mnt):
                run("fusermount3", "-u", self.layers.mnt, check=False)
            self.mounted = False
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("errovl did not exit after unmount")
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        umount(self.layers.mnt, lazy=True)
        self.mounted = False

    def cleanup(self):
        with contextlib.suppress(Exception):
            if self.proc and self.proc.poll() is None:
                self.unmount()
        if self.mounted or os.path.ismount(self.layers.mnt):
            umount(self.layers.mnt, lazy=True)
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def kernel_overlay(layers, *opts):
    """Mounts kernel overlayfs; returns 0 or -errno."""
    data = ",".join([f"lowerdir={layers.lower}", f"upperdir={layers.upper}",
                     f"workdir={layers.work}", *opts])
    r = _libc.mount(b"overlay", layers.mnt.encode(), b"overlay", 0,
                    data.encode())
    return 0 if r == 0 else -ctypes.get_errno()


class LoopExt4(testlib.LoopExt4):
    """testlib's LoopExt4 (writes succeed, writeback fails once the
    small tmpfs behind the loop device is full), started, with .root
    and the helpers these tests need."""

    def __init__(self, base, tmpfs_mb=32, disk_mb=256):
        super().__init__(base, tmpfs_mb=tmpfs_mb, disk_mb=disk_mb)
        self.start()
        self.root = self.path

    def fill(self, path, mb=64):
        """Writes @mb MiB to @path (buffered, no sync)."""
        buf = b"\xa5" * (1 << 20)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for _ in range(mb):
                os.write(fd, buf)
        finally:
            os.close(fd)

    def heal(self, *paths):
        """Deletes @paths on the ext4 and trims it: the loop device
        punches holes into the backing file, so the tmpfs has room
        again and writeback works. Errors already recorded stay."""
        for p in paths:
            os.unlink(p)
        run("fstrim", self.root)


def write_through(path, mb=64, sync=True):
    """Writes @mb MiB through the mount, fsyncs if @sync, closes.
    Returns the fsync result (0 or -errno)."""
    buf = b"\x5a" * (1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for _ in range(mb):
            os.write(fd, buf)
        # Push the FUSE page cache to the daemon: volatile fsync does
        # not sync the upper, so this is 0 while the mount is clean.
        r = fsync_err(fd) if sync else 0
    finally:
        os.close(fd)
    return r




def errno_name(n):
    return errno.errorcode.get(n, str(n))


def close_quiet(fd):
    """close(2) that tolerates a writeback error reported by close."""
    try:
        os.close(fd)
    except OSError:
        pass


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli), as errseq_crc32c."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


CKPT_FMT = "<8sIIII16sQQQQ16sIiQQQQQiI64sQII"
CKPT_KEYS = ("magic", "version", "length", "state", "error_count", "boot_id",
             "upper_dev", "upper_fsid", "upper_mnt_id", "upper_ino",
             "instance", "pid", "first_errno", "mount_time_ns", "marker_ino",
             "marker_ctime_ns", "first_error_ns", "last_error_ns",
             "last_errno", "reserved1", "snapshot", "update_ns", "reserved2",
             "crc")


def read_ckpt(path):
    """Decodes a checkpoint per docs/volatile.md 7.2 (a dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    return dict(zip(CKPT_KEYS, struct.unpack(CKPT_FMT, raw))), raw


def patch_ckpt(path, offset, data):
    """Overwrites bytes at @offset and fixes the crc32c."""
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    raw[offset:offset + len(data)] = data
    raw[220:224] = struct.pack("<I", crc32c(bytes(raw[:220])))
    with open(path, "wb") as f:
        f.write(raw)
