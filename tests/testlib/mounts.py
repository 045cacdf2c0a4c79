# SPDX-License-Identifier: GPL-2.0-or-later
"""Mount context managers: the errovl daemon, kernel overlayfs and an
ext4 on a loop device whose writeback can be made to fail.

Every one of them cleans up in __exit__ whatever happened: lazy unmount,
bounded waits for the daemon, terminate, kill, losetup -d."""
import os
import signal
import subprocess
import time

import pytest

from . import layers, sysop
from .skips import require_daemon, require_kernel_overlay
from .skips import daemon_wrapper, extra_opts, require_root, require_tools

DEFAULT_KERNEL_OPTS = ("redirect_dir=off", "index=off", "metacopy=off")


def _unescape_mountinfo(s):
    out = []
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mounted_at(path):
    """The fstype of the topmost mount on @path in this namespace, or
    None.  Reads /proc/self/mountinfo, so a hung FUSE daemon cannot block
    it (unlike stat-based os.path.ismount)."""
    path = os.path.realpath(path)
    fstype = None
    try:
        with open("/proc/self/mountinfo") as f:
            for ln in f:
                left, _, right = ln.partition(" - ")
                fields = left.split()
                if len(fields) >= 5 and _unescape_mountinfo(fields[4]) == path:
                    fstype = right.split()[0]
    except OSError:
        return None
    return fstype


def umount(path, lazy=False):
    """umount(2) of @path: True on success."""
    return sysop.umount2(path, sysop.MNT_DETACH if lazy else 0) == 0


def wait_for_mount(path, proc=None, timeout=10.0):
    """Polls until @path is a mount point; returns True, or False when
    @proc exits first or @timeout seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if mounted_at(path):
            return True
        if proc is not None and proc.poll() is not None:
            return bool(mounted_at(path))
        time.sleep(0.02)
    return bool(mounted_at(path))


def _mkdirs(*paths):
    for p in paths:
        os.makedirs(p, exist_ok=True)


class _Layout:
    """lowers, upper, work, mnt under @base (created unless given)."""

    def _layout(self, base, lowers, upper, work, mnt, nlowers):
        self.base = os.path.abspath(base)
        if lowers is None:
            lowers = [os.path.join(self.base, f"l{i}") for i in range(nlowers)]
        self.lowers = [os.path.abspath(x) for x in lowers]
        self.upper = (os.path.abspath(upper) if upper is not None
                      else os.path.join(self.base, "upper"))
        self.work = (os.path.abspath(work) if work is not None
                     else os.path.join(self.base, "work"))
        self.mnt = (os.path.abspath(mnt) if mnt is not None
                    else os.path.join(self.base, "mnt"))
        _mkdirs(self.base, *self.lowers)
        if self.upper:
            _mkdirs(self.upper, self.work)
        _mkdirs(self.mnt)

    def layer_opts(self):
        o = ["lowerdir=" + ":".join(self.lowers)]
        if self.upper:
            o += ["upperdir=" + self.upper, "workdir=" + self.work]
        return o


class ErrovlMount(_Layout):
    """The errovl daemon mounted on .mnt (see the package docstring)."""

    _seq = 0

    def __init__(self, base, lowers=None, opts=(), upper=None, work=None,
                 mnt=None, binary=None, timeout=10.0, nlowers=1,
                 extra_args=(), env=None):
        self.binary = binary or require_daemon()
        self._layout(base, lowers, upper, work, mnt, nlowers)
        self.opts = list(opts)
        self.extra_args = list(extra_args)
        self.env = env
        self.timeout = timeout
        ErrovlMount._seq += 1
        self.logpath = os.path.join(self.base,
                                    f"errovl.{ErrovlMount._seq}.log")
        self.proc = None
        self.returncode = None

    def argv(self):
        o = ",".join(self.layer_opts() + extra_opts() + self.opts)
        return (daemon_wrapper() + [self.binary, "-f", "-o", o] +
                self.extra_args + [self.mnt])

    def log(self):
        """The daemon's stderr so far."""
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @property
    def mounted(self):
        return bool(mounted_at(self.mnt))

    def start(self):
        with open(self.logpath, "ab") as logf:
            env = None
            if self.env:
                env = dict(os.environ)
                env.update(self.env)
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf, env=env)
        if not wait_for_mount(self.mnt, self.proc, self.timeout):
            rc = self.proc.poll()
            self.cleanup()
            why = (f"exited with status {rc}" if rc is not None
                   else f"did not mount within {self.timeout} s")
            pytest.fail(f"errovl {why}: {' '.join(self.argv())}\n"
                        f"--- daemon stderr ---\n{self.log()}")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _detach(self):
        if not mounted_at(self.mnt):
            return
        r = subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        if r.returncode != 0 and mounted_at(self.mnt):
            umount(self.mnt, lazy=True)

    def wait(self, timeout=20.0):
        """Waits up to @timeout s for the daemon; its exit status or None."""
        if self.proc is None:
            return self.returncode
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def unmount(self, wait=True, timeout=20.0):
        """Detaches the mount; with @wait, waits (bounded) for the daemon
        to finish and returns its exit status (None if still running)."""
        self._detach()
        if not wait:
            return None
        return self.wait(timeout)

    def rss_kib(self):
        """VmRSS of the daemon in KiB (None once it exited)."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        return int(ln.split()[1])
        except (OSError, AttributeError):
            return None
        return None

    def kill9(self):
        """SIGKILL the daemon (the mount stays, ENOTCONN); its status."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        return self.wait(10.0)

    def cleanup(self):
        try:
            self._detach()
        finally:
            p = self.proc
            if p is not None:
                if p.poll() is None:
                    try:
                        p.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        p.terminate()
                        try:
                            p.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            p.kill()
                            p.wait(timeout=10)
                self.returncode = p.returncode
            if mounted_at(self.mnt):
                umount(self.mnt, lazy=True)

    @classmethod
    def run(cls, argv, timeout=10.0, mnt=None, env=None):
        """Runs the daemon with @argv (without the binary) expecting it to
        fail at setup.  Returns (status, stderr text, mounted) where
        mounted tells whether @mnt became a mount point; a daemon that is
        still running after @timeout is unmounted and killed (status
        None).  Never leaves a mount behind."""
        binary = require_daemon()
        p = subprocess.Popen(daemon_wrapper() + [binary] + list(argv),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env)
        status = None
        try:
            out, err = p.communicate(timeout=timeout)
            status = p.returncode
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        was = bool(mnt and mounted_at(mnt))
        if was:
            subprocess.run(["fusermount3", "-u", "-z", mnt], check=False,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if mounted_at(mnt):
                umount(mnt, lazy=True)
        if p.poll() is None:
            p.terminate()
            try:
                o2, e2 = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                o2, e2 = p.communicate(timeout=10)
            out += o2
            err += e2
        return status, err.decode(errors="replace"), was


def errovl_with_files(base, opts=(), files=None, **kw):
    """An ErrovlMount (not started) under @base whose one lower layer,
    @base/l, holds @files (a layers.build() spec, e.g. name: bytes)."""
    lo = os.path.join(str(base), "l")
    layers.build(lo, files or {})
    return ErrovlMount(os.path.join(str(base), "e"), lowers=[lo], opts=opts,
                       **kw)


class KernelOverlay(_Layout):
    """Kernel overlayfs with the same layout; umount (lazy fallback) on
    exit.  .errno is 0 after a successful mount; with check=False a
    failed mount does not raise and .errno tells why."""

    def __init__(self, base, lowers=None, opts=DEFAULT_KERNEL_OPTS,
                 upper=None, work=None, mnt=None, nlowers=1, check=True):
        require_kernel_overlay()
        self._layout(base, lowers, upper, work, mnt, nlowers)
        self.opts = list(opts)
        self.check = check
        self.errno = None
        self._mounted = False

    def optstring(self):
        return ",".join(self.layer_opts() + self.opts)

    def start(self):
        r = sysop.mount("overlay", self.mnt, "overlay", 0, self.optstring())
        self.errno = -r if r < 0 else 0
        if r < 0:
            if self.check:
                raise OSError(-r, "mount -t overlay -o " + self.optstring())
            return self
        self._mounted = True
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    @property
    def mounted(self):
        return bool(mounted_at(self.mnt))

    def unmount(self):
        """umount; returns 0 or -errno (lazy fallback on EBUSY)."""
        if not self._mounted:
            return 0
        r = sysop.umount2(self.mnt)
        if r < 0:
            r2 = sysop.umount2(self.mnt, sysop.MNT_DETACH)
            if r2 < 0:
                return r2
        self._mounted = False
        return r

    def cleanup(self):
        self.unmount()


def _run(*argv):
    return subprocess.run(list(argv), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


class LoopExt4:
    """ext4 (no journal, errors=continue) on a loop device over a sparse
    @disk_mb MiB file on a @tmpfs_mb MiB tmpfs.  Writes succeed; writeback
    fails (EIO/ENOSPC) once the tmpfs is full.  .path is the mounted
    ext4.  Cleanup: umount ext4, losetup -d, umount tmpfs, always."""

    def __init__(self, base, tmpfs_mb=24, disk_mb=256):
        require_root()
        require_tools("losetup", "mkfs.ext4")
        self.base = os.path.abspath(base)
        self.tmpfs = os.path.join(self.base, "loop-tmpfs")
        self.path = os.path.join(self.base, "ext4")
        self.tmpfs_mb = tmpfs_mb
        self.disk_mb = disk_mb
        self.loop = None
        self._mounts = []

    @classmethod
    def roomy(cls, base, disk_mb=128):
        """A variant with room for the whole disk: no writeback errors."""
        return cls(base, tmpfs_mb=disk_mb + 16, disk_mb=disk_mb)

    def start(self):
        try:
            os.makedirs(self.tmpfs, exist_ok=True)
            os.makedirs(self.path, exist_ok=True)
            _run("mount", "-t", "tmpfs", "-o", f"size={self.tmpfs_mb}M",
                 "tmpfs", self.tmpfs)
            self._mounts.append(self.tmpfs)
            img = os.path.join(self.tmpfs, "disk.img")
            with open(img, "wb") as f:
                f.truncate(self.disk_mb << 20)
            self.loop = _run("losetup", "-f", "--show", img).stdout.strip()
            _run("mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E",
                 "lazy_itable_init=0,lazy_journal_init=0", self.loop)
            _run("mount", "-o", "errors=continue", self.loop, self.path)
            self._mounts.append(self.path)
        except BaseException:
            self.cleanup()
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def fill_until_writeback_fails(self, name="fill", chunk_mb=8):
        """Writes @chunk_mb MiB files under .path and syncfs()s the ext4
        after each until writeback fails; returns that -errno (or 0 if the
        disk filled without a writeback error)."""
        buf = b"\xa5" * (1 << 20)
        d = os.path.join(self.path, name)
        os.makedirs(d, exist_ok=True)
        root = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i in range(self.disk_mb // chunk_mb + 1):
                try:
                    fd = os.open(os.path.join(d, str(i)),
                                 os.O_WRONLY | os.O_CREAT, 0o644)
                except OSError as e:
                    return -e.errno
                try:
                    for _ in range(chunk_mb):
                        os.write(fd, buf)
                except OSError as e:
                    return -e.errno
                finally:
                    os.close(fd)
                r = sysop.syncfs(root)
                if r < 0:
                    return r
            return 0
        finally:
            os.close(root)

    def cleanup(self):
        for m in reversed(self._mounts):
            if not umount(m):
                umount(m, lazy=True)
        self._mounts = []
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], check=False,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.loop = None
