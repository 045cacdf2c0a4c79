# SPDX-License-Identifier: GPL-2.0-or-later
"""Pairwise differential runs for tests/posix.

A probe is a function probe(side) -> dict.  run_pair() calls it once per
implementation (kernel overlayfs, then errovl), each time on freshly
built identical layers, and fails with every differing key.  The probe
mounts through side.mount() (as often as it likes: remounts reuse the
same upper and workdir) and may touch side.lowers / side.upper directly
before mounting or after unmounting.  Values must be comparable across
implementations: use Inos to turn inode numbers into first-seen labels
and ok()/res() to turn errors into errno names.
"""
import ctypes
import errno
import hashlib
import os
import stat
import struct

import pytest

import testlib
from testlib import layers as L
from diffharness import diff_dicts

KOPTS = testlib.DEFAULT_KERNEL_OPTS
MODES = {"k-e": (), "k-ev": ("volatile",)}

_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long,
                            ctypes.c_long]


class _Ts(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p,
                            ctypes.POINTER(_Ts), ctypes.c_int]

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
SEEK_DATA = 3
SEEK_HOLE = 4


def ename(e):
    return "E:" + errno.errorcode.get(e, str(e))


def res(fn, *args, **kw):
    """fn(*args) or "E:ENAME" when it raises OSError."""
    try:
        return fn(*args, **kw)
    except OSError as e:
        return ename(e.errno)


def fallocate(fd, mode, off, length):
    """fallocate(2) -> 0 or "E:ENAME"."""
    r = _libc.fallocate(fd, mode, off, length)
    if r < 0:
        return ename(ctypes.get_errno())
    return 0


def utimensat(path, atime, mtime, nofollow=False):
    """utimensat(2) with (sec, nsec) pairs or UTIME_NOW/UTIME_OMIT as the
    nsec of a (0, x) pair -> 0 or "E:ENAME"."""
    ts = (_Ts * 2)(_Ts(*atime), _Ts(*mtime))
    r = _libc.utimensat(-100, os.fsencode(path), ts,
                        0x100 if nofollow else 0)
    if r < 0:
        return ename(ctypes.get_errno())
    return 0


_libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                         ctypes.c_char_p, ctypes.c_int]


def linkat_empty_path(fd, newpath):
    """linkat(fd, "", AT_FDCWD, newpath, AT_EMPTY_PATH) -> 0 or "E:ENAME"
    (needs CAP_DAC_READ_SEARCH)."""
    r = _libc.linkat(fd, b"", -100, os.fsencode(newpath), 0x1000)
    if r < 0:
        return ename(ctypes.get_errno())
    return 0


def digest(path):
    """(size, sha256 prefix) of a file, or "E:ENAME"."""
    try:
        h = hashlib.sha256()
        n = 0
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                n += len(b)
                h.update(b)
        return (n, h.hexdigest()[:16])
    except OSError as e:
        return ename(e.errno)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return ename(e.errno)


class Inos:
    """Maps inode numbers to labels "i0", "i1", ... in first-seen order,
    so two implementations' numbering can be compared."""

    def __init__(self):
        self.m = {}

    def __call__(self, ino):
        if ino not in self.m:
            self.m[ino] = "i%d" % len(self.m)
        return self.m[ino]


class Side:
    """One implementation with its own fresh layers under @base."""

    def __init__(self, kind, base, lowers, upper, opts):
        self.kind = kind
        self.base = base
        self.opts = tuple(opts)
        self.lowers = []
        for i, spec in enumerate(lowers):
            d = os.path.join(base, f"l{i}")
            L.build(d, spec)
            self.lowers.append(d)
        self.upper = os.path.join(base, "upper")
        L.build(self.upper, upper or {})
        self.work = os.path.join(base, "work")
        os.makedirs(self.work, exist_ok=True)
        self.nmounts = 0

    def mount(self, opts=None, work=None):
        """A (not yet entered) mount of this side's layers; @opts
        replaces the side's options."""
        self.nmounts += 1
        mnt = os.path.join(self.base, f"mnt{self.nmounts}")
        o = self.opts if opts is None else tuple(opts)
        w = work or self.work
        if self.kind == "kernel":
            return testlib.KernelOverlay(self.base, lowers=self.lowers,
                                         upper=self.upper, work=w, mnt=mnt,
                                         opts=o)
        return testlib.ErrovlMount(self.base, lowers=self.lowers,
                                   upper=self.upper, work=w, mnt=mnt, opts=o)


def sides(mode, kopts=KOPTS, eopts=()):
    testlib.require_kernel_overlay()
    testlib.require_daemon()
    return [("kernel", tuple(kopts)),
            ("errovl", tuple(eopts) + MODES[mode])]


def run_pair(tmp_path, mode, probe, lowers=None, upper=None, kopts=KOPTS,
             eopts=(), ref="kernel overlayfs"):
    """Runs @probe on kernel overlayfs and on errovl (@mode "k-e" or
    "k-ev"); fails listing every key whose value differs.  Returns
    (kernel result, errovl result).  @ref names the reference side in
    the report (its Side.kind stays "kernel")."""
    out = {}
    logs = ""
    for kind, opts in sides(mode, kopts, eopts):
        s = Side(kind, str(tmp_path / kind), lowers or [{}], upper, opts)
        out[kind] = probe(s)
        if kind == "errovl":
            for f in sorted(os.listdir(s.base)):
                if f.startswith("errovl.") and f.endswith(".log"):
                    with open(os.path.join(s.base, f), errors="replace") as fh:
                        logs += fh.read()
    san = [k for k in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                       "runtime error:") if k in logs]
    if san:
        out["errovl"]["sanitizer report in the daemon log"] = san
    d = diff_dicts(out["kernel"], out["errovl"], ref, "errovl")
    if d:
        msg = f"errovl ({mode}) differs from {ref}:\n" + "\n".join(d)
        if logs.strip():
            msg += "\n--- errovl stderr ---\n" + logs[-3000:]
        pytest.fail(msg, pytrace=False)
    return out["kernel"], out["errovl"]


def params(*modes, xfail=None):
    """pytest params of @modes, strict-xfail'd with @xfail when given."""
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return [pytest.param(m, id=m, marks=marks) for m in modes]


def upper_xattrs(path, prefix="trusted.overlay."):
    """{name: value} of the @prefix xattrs of @path (not followed)."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        return ename(e.errno)
    return {n: os.getxattr(path, n, follow_symlinks=False)
            for n in sorted(names) if n.startswith(prefix)}


def blocks_mib(path):
    """st_blocks of @path in MiB, rounded up (a coarse sparseness check)."""
    st = os.stat(path)
    return (st.st_blocks * 512 + (1 << 20) - 1) >> 20


def is_reg(path):
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def cap_v2(permitted, inheritable=0, effective=True):
    """A valid VFS_CAP_REVISION_2 security.capability value."""
    magic = 0x02000000 | (1 if effective else 0)
    return struct.pack("<IIIII", magic, permitted & 0xffffffff,
                       inheritable & 0xffffffff, permitted >> 32,
                       inheritable >> 32)
