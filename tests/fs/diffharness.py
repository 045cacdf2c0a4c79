# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential harness: run one scenario on kernel overlayfs and on
another overlay ("kernel" again as a sanity mode, or errovl), each on
fresh identical layers, and compare

  1. every step's result (value or errno name),
  2. the merged tree after the scenario,
  3. the upper directory written (whiteouts, opaque marks, user xattrs,
     contents; not origin/impure/uuid, not times),
  4. cross-mounts: each side's upper mounted by the other implementation
     (fresh workdir) must show the reference merged tree.

A scenario is a Scenario(name, lowers=[spec top first...], upper=spec,
ops=[(op, args...), ...]).  Ops are run by run_op() against the mount
point; paths are relative to it.
"""
import ctypes
import errno
import hashlib
import os
import shutil
import stat

import pytest

import testlib
from testlib import layers as L
from testlib import sysop

# ---------------------------------------------------------------- scenarios


class Scenario:
    """One differential case.

    lowers: list of layer specs, top-most first (lowerdir order).
    upper: spec of a pre-existing upper (kernel format) or None.
    errovl_upper: spec used instead of @upper on the errovl side (e.g. a
        fuse-overlayfs-format upper equivalent to @upper); then the upper
        directories are not compared and no cross-mount is done.
    ops: the steps.
    check_upper / cross: turn parts of the comparison off (with a reason
        in the scenario's doc).
    nlink: compare st_nlink of non-directories.
    volatile / tmpfs: False leaves out the "k-ev" / "k-et" modes (inode
        number checks mean nothing for the kernel when the upper is on
        another filesystem than the lowers and xino is off).
    xfail: reason -> pytest.mark.xfail(strict=True) for the errovl modes.
    redirect: both sides mount with redirect_dir=on (True: directories
        with lower parts can be renamed) or with redirect_dir=VALUE.
    """

    def __init__(self, name, lowers=None, upper=None, ops=(),
                 errovl_upper=None, check_upper=True, cross=True,
                 nlink=True, xfail=None, volatile=True, tmpfs=True,
                 redirect=False):
        self.name = name
        self.lowers = lowers if lowers is not None else [{}]
        self.upper = upper or {}
        self.errovl_upper = errovl_upper
        self.ops = list(ops)
        self.check_upper = check_upper and errovl_upper is None
        self.cross = cross and errovl_upper is None
        self.nlink = nlink
        self.xfail = xfail
        self.volatile = volatile
        self.tmpfs = tmpfs
        self.redirect = redirect

    def __repr__(self):
        return f"Scenario({self.name})"


# ------------------------------------------------------------------ sides

KERNEL_OPTS = testlib.DEFAULT_KERNEL_OPTS


class KernelSide:
    name = "kernel"

    def __init__(self, opts=KERNEL_OPTS):
        self.opts = tuple(opts)

    def mount(self, base, lowers, upper, work, mnt):
        return testlib.KernelOverlay(base, lowers=lowers, upper=upper,
                                     work=work, mnt=mnt, opts=self.opts)


class ErrovlSide:
    name = "errovl"

    def __init__(self, opts=()):
        self.opts = tuple(opts)

    def mount(self, base, lowers, upper, work, mnt):
        return testlib.ErrovlMount(base, lowers=lowers, upper=upper,
                                   work=work, mnt=mnt, opts=self.opts)


MODES = {
    "k-k": (KernelSide, KernelSide, ()),
    "k-e": (KernelSide, ErrovlSide, ()),
    "k-ev": (KernelSide, ErrovlSide, ("volatile",)),
    # upper and workdir on their own tmpfs, lowers on the test fs:
    # copy-up crosses filesystems (no reflink, no shared st_dev)
    "k-et": (KernelSide, ErrovlSide, ()),
}
TMPFS_UPPER_MODES = ("k-et",)


def known_bug(scenarios, entry, *names):
    """Marks the named scenarios strict-xfail for errovl with a pointer
    to @entry of docs/known-differences.md."""
    byname = {s.name: s for s in scenarios}
    for n in names:
        byname[n].xfail = (f"{entry} in docs/known-differences.md "
                           "(errovl differs from kernel overlayfs)")


def mode_params(scenarios, modes=("k-k", "k-e", "k-ev")):
    """pytest params (mode, scenario) with ids "<mode>-<name>"; errovl
    modes get the scenario's strict xfail."""
    out = []
    for sc in scenarios:
        for m in modes:
            if m == "k-ev" and not sc.volatile:
                continue
            if m in TMPFS_UPPER_MODES and not sc.tmpfs:
                continue
            marks = []
            if m != "k-k" and sc.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=sc.xfail))
            out.append(pytest.param(m, sc, id=f"{m}-{sc.name}", marks=marks))
    return out


def make_sides(mode, sc=None):
    a, b, bopts = MODES[mode]
    if b is ErrovlSide:
        testlib.require_daemon()
    testlib.require_kernel_overlay()
    if sc is not None and sc.redirect:
        r = "redirect_dir=" + ("on" if sc.redirect is True else sc.redirect)
        kopts = (r,) + tuple(o for o in KERNEL_OPTS
                             if not o.startswith("redirect_dir="))
        return a(kopts), (b(bopts + (r,)) if b is ErrovlSide else b(kopts))
    return a(), (b(bopts) if b is ErrovlSide else b())


# -------------------------------------------------------------- libc dirs

class _Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]


_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.opendir.restype = ctypes.c_void_p
_libc.opendir.argtypes = [ctypes.c_char_p]
_libc.readdir.restype = ctypes.POINTER(_Dirent)
_libc.readdir.argtypes = [ctypes.c_void_p]
_libc.telldir.restype = ctypes.c_long
_libc.telldir.argtypes = [ctypes.c_void_p]
_libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
_libc.closedir.argtypes = [ctypes.c_void_p]
_libc.rewinddir.argtypes = [ctypes.c_void_p]

DT_NAMES = {0: "unknown", 1: "fifo", 2: "chr", 4: "dir", 6: "blk", 8: "reg",
            10: "lnk", 12: "sock", 14: "wht"}


def _raw_readdir(d):
    """Next (name, d_type name) or None; raises OSError on error."""
    ctypes.set_errno(0)
    ent = _libc.readdir(d)
    if not ent:
        e = ctypes.get_errno()
        if e:
            raise OSError(e, os.strerror(e))
        return None
    return ent.contents.d_name.decode(errors="surrogateescape"), \
        DT_NAMES.get(ent.contents.d_type, str(ent.contents.d_type))


def _opendir(path):
    d = _libc.opendir(os.fsencode(path))
    if not d:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    return d


def readdir_ino(path):
    """{name: d_ino} of @path, "." and ".." included."""
    d = _opendir(path)
    try:
        out = {}
        while True:
            ctypes.set_errno(0)
            ent = _libc.readdir(d)
            if not ent:
                e = ctypes.get_errno()
                if e:
                    raise OSError(e, os.strerror(e))
                return out
            out[ent.contents.d_name.decode(errors="surrogateescape")] = \
                ent.contents.d_ino
    finally:
        _libc.closedir(d)


def readdir_raw(path):
    """Sorted [(name, d_type)] without . and ..; names listed twice are
    kept twice (so a duplicate shows in the comparison)."""
    d = _opendir(path)
    try:
        out = []
        while True:
            e = _raw_readdir(d)
            if e is None:
                break
            if e[0] not in (".", ".."):
                out.append(e)
        return sorted(out)
    finally:
        _libc.closedir(d)


def seekdir_check(path):
    """Reads @path recording telldir() before every entry, then seekdir()s
    to each recorded position (in reverse) and checks the same name comes
    back.  Returns the number of entries, or a mismatch description."""
    d = _opendir(path)
    try:
        pos = []
        while True:
            p = _libc.telldir(d)
            e = _raw_readdir(d)
            if e is None:
                break
            pos.append((p, e[0]))
        bad = []
        for p, name in reversed(pos):
            _libc.seekdir(d, p)
            e = _raw_readdir(d)
            if e is None or e[0] != name:
                bad.append((name, e and e[0]))
        _libc.rewinddir(d)
        n = 0
        while _raw_readdir(d) is not None:
            n += 1
        if n != len(pos):
            bad.append(("rewind count", n, len(pos)))
        return ("entries", len(pos)) if not bad else ("mismatch", bad)
    finally:
        _libc.closedir(d)


# -------------------------------------------------------------------- ops

_FLAGS = {n: getattr(os, n) for n in
          ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_TRUNC",
           "O_APPEND", "O_DIRECTORY", "O_NOFOLLOW", "O_PATH")}


def _flags(s):
    f = 0
    for part in s.split("|"):
        f |= _FLAGS[part.strip()]
    return f


def _data(x):
    return x.encode() if isinstance(x, str) else x


def _short(b):
    """Content as it is compared: the bytes when short, else a digest."""
    if len(b) <= 64:
        return b
    return ("sha256", len(b), hashlib.sha256(b).hexdigest())


def _stat_tuple(st):
    return (L._ftype(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid,
            st.st_gid, st.st_size if stat.S_ISREG(st.st_mode) else None,
            st.st_nlink if not stat.S_ISDIR(st.st_mode) else None,
            (os.major(st.st_rdev), os.minor(st.st_rdev))
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else None)


class Runner:
    """Applies ops to one mount.  Named fds survive between steps."""

    def __init__(self, mnt):
        self.mnt = mnt
        self.fds = {}

    def p(self, rel):
        return os.path.join(self.mnt, rel) if rel else self.mnt

    def close_all(self):
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = {}

    def run(self, op):
        name, args = op[0], op[1:]
        fn = getattr(self, "op_" + name)
        try:
            r = fn(*args)
        except OSError as e:
            return ("err", errno.errorcode.get(e.errno, str(e.errno)))
        if isinstance(r, int) and not isinstance(r, bool) and r < 0 and \
                name in ("rename2", "syncfs"):
            return ("err", errno.errorcode.get(-r, str(-r)))
        return ("ok", r)

    # files
    def op_create(self, path, data=b"", mode=0o644):
        fd = os.open(self.p(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, _data(data))
        finally:
            os.close(fd)

    def fd(self, fdname):
        """The descriptor opened as @fdname; EBADF when none is (its
        open failed, or it was closed)."""
        if fdname not in self.fds:
            raise OSError(errno.EBADF, fdname)
        return self.fds[fdname]

    def op_open(self, path, flags="O_RDONLY", mode=0o644, fdname=None):
        fd = os.open(self.p(path), _flags(flags), mode)
        if fdname:
            if fdname in self.fds:
                os.close(self.fd(fdname))
            self.fds[fdname] = fd
        else:
            os.close(fd)

    def op_close(self, fdname):
        os.close(self.fd(fdname))
        self.fds.pop(fdname)

    def op_fdwrite(self, fdname, data, offset=None):
        if offset is None:
            return os.write(self.fd(fdname), _data(data))
        return os.pwrite(self.fd(fdname), _data(data), offset)

    def op_fdread(self, fdname, n=1 << 20, offset=0):
        return _short(os.pread(self.fd(fdname), n, offset))

    def op_fdstat(self, fdname):
        return _stat_tuple(os.fstat(self.fd(fdname)))

    def op_mmap_write(self, path, offset, data):
        """Writes through a MAP_SHARED mapping, msync()s, unmaps."""
        import mmap
        data = _data(data)
        fd = os.open(self.p(path), os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED,
                           mmap.PROT_READ | mmap.PROT_WRITE)
            try:
                mm[offset:offset + len(data)] = data
                mm.flush()
            finally:
                mm.close()
        finally:
            os.close(fd)

    def op_fdtruncate(self, fdname, size):
        os.ftruncate(self.fd(fdname), size)

    def op_fsync(self, path=None, fdname=None):
        if fdname:
            os.fsync(self.fd(fdname))
            return
        fd = os.open(self.p(path), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def op_syncfs(self, path=""):
        fd = os.open(self.p(path), os.O_RDONLY)
        try:
            return sysop.syncfs(fd)
        finally:
            os.close(fd)

    def op_write(self, path, offset, data):
        fd = os.open(self.p(path), os.O_WRONLY)
        try:
            return os.pwrite(fd, _data(data), offset)
        finally:
            os.close(fd)

    def op_append(self, path, data):
        fd = os.open(self.p(path), os.O_WRONLY | os.O_APPEND)
        try:
            return os.write(fd, _data(data))
        finally:
            os.close(fd)

    def op_writebig(self, path, offset, size, seed=1):
        """Writes @size pseudo-random bytes at @offset (O_CREAT)."""
        blk = hashlib.sha256(str(seed).encode()).digest() * 2048
        fd = os.open(self.p(path), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            done = 0
            while done < size:
                n = min(len(blk), size - done)
                os.pwrite(fd, blk[:n], offset + done)
                done += n
            return done
        finally:
            os.close(fd)

    def op_read(self, path):
        with open(self.p(path), "rb") as f:
            return _short(f.read())

    def op_pread(self, path, offset, n):
        fd = os.open(self.p(path), os.O_RDONLY)
        try:
            return _short(os.pread(fd, n, offset))
        finally:
            os.close(fd)

    def op_truncate(self, path, size):
        os.truncate(self.p(path), size)

    def op_seek_data(self, path, offset=0):
        fd = os.open(self.p(path), os.O_RDONLY)
        try:
            return os.lseek(fd, offset, os.SEEK_DATA)
        finally:
            os.close(fd)

    # names
    def op_mkdir(self, path, mode=0o755):
        os.mkdir(self.p(path), mode)

    def op_rmdir(self, path):
        os.rmdir(self.p(path))

    def op_unlink(self, path):
        os.unlink(self.p(path))

    def op_rename(self, a, b):
        os.rename(self.p(a), self.p(b))

    def op_rename2(self, a, b, flags):
        f = 0
        for part in flags.split("|"):
            f |= {"NOREPLACE": sysop.RENAME_NOREPLACE,
                  "EXCHANGE": sysop.RENAME_EXCHANGE,
                  "WHITEOUT": sysop.RENAME_WHITEOUT, "0": 0}[part]
        return sysop.renameat2(self.p(a), self.p(b), f)

    def op_symlink(self, target, path):
        os.symlink(target, self.p(path))

    def op_link(self, a, b):
        os.link(self.p(a), self.p(b))

    def op_mkfifo(self, path, mode=0o644):
        os.mkfifo(self.p(path), mode)

    def op_mknod_chr(self, path, major, minor, mode=0o644):
        os.mknod(self.p(path), stat.S_IFCHR | mode, os.makedev(major, minor))

    def op_readlink(self, path):
        return os.readlink(self.p(path))

    # metadata
    def op_chmod(self, path, mode):
        os.chmod(self.p(path), mode)

    def op_chown(self, path, uid, gid):
        os.chown(self.p(path), uid, gid, follow_symlinks=False)

    def op_utime(self, path, atime, mtime):
        os.utime(self.p(path), (atime, mtime), follow_symlinks=False)

    def op_mtime(self, path):
        st = os.lstat(self.p(path))
        return (int(st.st_mtime), int(st.st_atime))

    def op_stat(self, path):
        return _stat_tuple(os.stat(self.p(path)))

    def op_lstat(self, path):
        return _stat_tuple(os.lstat(self.p(path)))

    def op_access(self, path, mode=os.R_OK):
        return os.access(self.p(path), mode)

    def op_exists(self, path):
        return os.path.lexists(self.p(path))

    # xattrs
    def op_setxattr(self, path, name, value, flags=0):
        os.setxattr(self.p(path), name, _data(value), flags,
                    follow_symlinks=False)

    def op_getxattr(self, path, name):
        return os.getxattr(self.p(path), name, follow_symlinks=False)

    def op_removexattr(self, path, name):
        os.removexattr(self.p(path), name, follow_symlinks=False)

    def op_listxattr(self, path):
        return sorted(os.listxattr(self.p(path), follow_symlinks=False))

    # directories
    def op_readdir(self, path=""):
        return readdir_raw(self.p(path))

    def op_dino_check(self, path=""):
        """Names of @path whose readdir d_ino differs from lstat st_ino
        ("." included; ".." skipped: it may lie outside the mount)."""
        bad = []
        for name, ino in sorted(readdir_ino(self.p(path)).items()):
            if name == "..":
                continue
            st = os.lstat(os.path.join(self.p(path), name))
            if st.st_ino != ino:
                bad.append(name)
        return bad

    def op_ino_mark(self, path, key):
        self.inos = getattr(self, "inos", {})
        self.inos[key] = os.lstat(self.p(path)).st_ino

    def op_ino_same(self, path, key):
        """Whether @path now has the inode number marked as @key."""
        return os.lstat(self.p(path)).st_ino == self.inos[key]

    def op_seekdir(self, path=""):
        return seekdir_check(self.p(path))

    def op_readdir_unlink_all(self, path):
        """rm -rf of @path's contents while reading it (one open dir)."""
        d = _opendir(self.p(path))
        n = 0
        try:
            while True:
                e = _raw_readdir(d)
                if e is None:
                    break
                if e[0] in (".", ".."):
                    continue
                q = os.path.join(self.p(path), e[0])
                if e[1] == "dir":
                    shutil.rmtree(q)
                else:
                    os.unlink(q)
                n += 1
        finally:
            _libc.closedir(d)
        return n

    def op_rmtree(self, path):
        shutil.rmtree(self.p(path))


def run_ops(mnt, ops):
    r = Runner(mnt)
    try:
        return [r.run(op) for op in ops]
    finally:
        r.close_all()


# -------------------------------------------------------------- the engine

def _fresh_layers(base, sc, upper_spec, upper_root=None):
    lowers = []
    for i, spec in enumerate(sc.lowers):
        d = os.path.join(base, f"l{i}")
        L.build(d, spec)
        lowers.append(d)
    upper = os.path.join(upper_root or base, "upper")
    L.build(upper, upper_spec)
    return lowers, upper


class _UpperFs:
    """A private tmpfs for the upper and workdirs of one side (or
    nothing when @on is false); unmounted on exit, lazily if busy."""

    def __init__(self, base, on):
        self.path = os.path.join(base, "upperfs") if on else None

    def __enter__(self):
        if self.path:
            os.makedirs(self.path, exist_ok=True)
            r = sysop.mount("tmpfs", self.path, "tmpfs", 0, "size=256M")
            if r < 0:
                raise OSError(-r, "mount tmpfs " + self.path)
        return self.path

    def __exit__(self, *exc):
        if self.path and not testlib.umount(self.path):
            testlib.umount(self.path, lazy=True)
        return False


def merged_snapshot(mnt, sc):
    return L.snapshot_tree(mnt, nlink=sc.nlink)


def upper_snapshot(upper):
    return L.snapshot_tree(upper, keep=L.upper_xattr_filter, nlink=False)


def _run_side(side, base, sc, upper_spec, upper_root=None):
    lowers, upper = _fresh_layers(base, sc, upper_spec, upper_root)
    work = os.path.join(upper_root or base, "work")
    mnt = os.path.join(base, "mnt")
    with side.mount(base, lowers, upper, work, mnt) as m:
        results = run_ops(m.mnt, sc.ops)
        merged = merged_snapshot(m.mnt, sc)
    log = m.log() if hasattr(m, "log") else ""
    return {"results": results, "merged": merged, "lowers": lowers,
            "upper": upper, "upper_snap": upper_snapshot(upper), "log": log,
            "status": getattr(m, "returncode", None)}


def _cross(side, base, lowers, upper, sc):
    """@upper (with its own @lowers) mounted by @side on a fresh workdir
    next to it; returns the merged snapshot."""
    work = os.path.join(os.path.dirname(upper), "xwork")
    mnt = os.path.join(base, "xmnt")
    with side.mount(base, lowers, upper, work, mnt) as m:
        return merged_snapshot(m.mnt, sc)


SANITIZER_NEEDLES = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")


def _leak_in(func):
    def pred(log):
        return ("ERROR: LeakSanitizer" in log and func in log and
                "ERROR: AddressSanitizer" not in log and
                "runtime error:" not in log)
    return pred


# Known daemon bugs recognised by their stderr alone: when they are the
# only problem of a run, the run is reported as an (imperative, hence not
# strict) xfail naming the entry; any other difference still fails.
KNOWN_LOG_BUGS = [
    # e.g. ("D10", _leak_in("ovl_copy_range")) until D10 was fixed
]


def diff_dicts(a, b, la="kernel", lb="other"):
    """Readable list of differences between two snapshot dicts."""
    out = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            out.append(f"  {k!r}: only {la}: {a[k]}")
        elif k not in a:
            out.append(f"  {k!r}: only {lb}: {b[k]}")
        elif a[k] != b[k]:
            out.append(f"  {k!r}:\n    {la}: {a[k]}\n    {lb}: {b[k]}")
    return out


def run_differential(mode, sc, tmp_path):
    """Runs @sc in @mode ("k-k", "k-e", "k-ev", "k-et"); fails with a
    precise report of every difference."""
    side_a, side_b = make_sides(mode, sc)
    tmpfs = mode in TMPFS_UPPER_MODES
    with _UpperFs(str(tmp_path / "A"), tmpfs) as ua, \
            _UpperFs(str(tmp_path / "B"), tmpfs) as ub:
        return _run_differential(mode, sc, tmp_path, side_a, side_b, ua, ub)


def _run_differential(mode, sc, tmp_path, side_a, side_b, ua, ub):
    la, lb = side_a.name + "(A)", side_b.name + "(B)"
    base_a = str(tmp_path / "A")
    base_b = str(tmp_path / "B")
    a = _run_side(side_a, base_a, sc, sc.upper, ua)
    b_upper = sc.errovl_upper if (sc.errovl_upper is not None and
                                  isinstance(side_b, ErrovlSide)) else sc.upper
    b = _run_side(side_b, base_b, sc, b_upper, ub)
    problems = []
    for i, (op, ra, rb) in enumerate(zip(sc.ops, a["results"], b["results"])):
        if ra != rb:
            problems.append(f"step {i} {op!r}:\n    {la}: {ra}\n    {lb}: {rb}")
    d = diff_dicts(a["merged"], b["merged"], la, lb)
    if d:
        problems.append("merged tree differs:\n" + "\n".join(d))
    if sc.check_upper:
        d = diff_dicts(a["upper_snap"], b["upper_snap"], la, lb)
        if d:
            problems.append("upper dir differs:\n" + "\n".join(d))
    if sc.cross and not problems:
        xa = _cross(side_b, base_a, a["lowers"], a["upper"], sc)
        d = diff_dicts(a["merged"], xa, la, f"{side_b.name} on {la} upper")
        if d:
            problems.append(f"{side_b.name} mounting the upper {la} wrote "
                            "shows another tree:\n" + "\n".join(d))
        xb = _cross(side_a, base_b, b["lowers"], b["upper"], sc)
        d = diff_dicts(a["merged"], xb, la, f"{side_a.name} on {lb} upper")
        if d:
            problems.append(f"{side_a.name} mounting the upper {lb} wrote "
                            "shows another tree:\n" + "\n".join(d))
    daemon_problems = []
    for side, r, label in ((side_a, a, la), (side_b, b, lb)):
        if isinstance(side, ErrovlSide):
            if r["status"] != 0:
                daemon_problems.append(f"{label}: daemon exit status "
                                       f"{r['status']} after unmount (want 0)")
            for needle in SANITIZER_NEEDLES:
                if needle in r["log"]:
                    daemon_problems.append(f"{label}: '{needle}' in its "
                                           "stderr")
    if daemon_problems and not problems:
        for entry, pred in KNOWN_LOG_BUGS:
            if pred(b["log"]):
                pytest.xfail(f"{entry} in docs/known-differences.md: "
                             + "; ".join(daemon_problems))
    problems += daemon_problems
    if problems:
        msg = f"scenario {sc.name} ({mode}):\n" + "\n".join(problems)
        if b["log"]:
            msg += "\n--- errovl stderr ---\n" + b["log"][-4000:]
        pytest.fail(msg, pytrace=False)
    return a, b
