# SPDX-License-Identifier: GPL-2.0-or-later
"""Declarative layer specs and comparable pictures of trees.

A spec is a dict {relative path: entry}, built in order; parents are
created as needed (mode 0755).  Entries:
    "text" or b"bytes"            regular file, mode 0644
    File(data=b"", size=None, mode=0o644, xattrs=None, sparse=None,
         uid=None, gid=None)      sparse=[(offset, bytes), ...] writes
                                  only those chunks into a file of size
    Dir(mode=0o755, opaque=False, xattrs=None, uid=None, gid=None)
    Symlink(target)   Link(existing relative path)   Fifo(mode=0o644)
    Whiteout()                    char device 0/0 (kernel format)
    FofsWhiteout()                fuse-overlayfs ".wh.NAME" empty file
    FofsOpaqueDir(xattr=True, sentinel=True)
                                  dir with user.fuseoverlayfs.opaque=y
                                  and/or a ".wh..wh..opq" file
"""
import hashlib
import os
import stat

OPAQUE_XATTR = "trusted.overlay.opaque"
REDIRECT_XATTR = "trusted.overlay.redirect"
FOFS_OPAQUE_XATTR = "user.fuseoverlayfs.opaque"


class File:
    def __init__(self, data=b"", size=None, mode=0o644, xattrs=None,
                 sparse=None, uid=None, gid=None, mtime=None):
        self.data = data.encode() if isinstance(data, str) else data
        self.size = size
        self.mode = mode
        self.xattrs = xattrs or {}
        self.sparse = sparse
        self.uid, self.gid, self.mtime = uid, gid, mtime


class Dir:
    def __init__(self, mode=0o755, opaque=False, xattrs=None, uid=None,
                 gid=None):
        self.mode, self.opaque = mode, opaque
        self.xattrs = xattrs or {}
        self.uid, self.gid = uid, gid


class Symlink:
    def __init__(self, target):
        self.target = target


class Link:
    def __init__(self, existing):
        self.existing = existing


class Fifo:
    def __init__(self, mode=0o644):
        self.mode = mode


class Whiteout:
    pass


class FofsWhiteout:
    pass


class FofsOpaqueDir:
    def __init__(self, xattr=True, sentinel=True, mode=0o755):
        self.xattr, self.sentinel, self.mode = xattr, sentinel, mode


def _setx(path, xattrs):
    for k, v in xattrs.items():
        os.setxattr(path, k, v.encode() if isinstance(v, str) else v,
                    follow_symlinks=False)


def _own(path, uid, gid):
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid,
                 follow_symlinks=False)


def build(root, spec):
    """Creates the entries of @spec under @root (see the module doc)."""
    os.makedirs(root, exist_ok=True)
    links = []
    for rel, e in spec.items():
        rel = rel.rstrip("/") if rel != "/" else rel
        p = os.path.join(root, rel)
        parent = os.path.dirname(p)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if isinstance(e, (str, bytes)):
            e = File(e)
        if isinstance(e, File):
            with open(p, "wb") as f:
                if e.sparse:
                    for off, chunk in e.sparse:
                        f.seek(off)
                        f.write(chunk)
                else:
                    f.write(e.data)
                if e.size is not None:
                    f.truncate(e.size)
            os.chmod(p, e.mode)
            _setx(p, e.xattrs)
            _own(p, e.uid, e.gid)
            if e.mtime is not None:
                os.utime(p, (e.mtime, e.mtime))
        elif isinstance(e, Dir):
            if rel == "/" or rel == "":
                p = root
            os.makedirs(p, exist_ok=True)
            os.chmod(p, e.mode)
            if e.opaque:
                os.setxattr(p, OPAQUE_XATTR, b"y")
            _setx(p, e.xattrs)
            _own(p, e.uid, e.gid)
        elif isinstance(e, FofsOpaqueDir):
            os.makedirs(p, exist_ok=True)
            os.chmod(p, e.mode)
            if e.xattr:
                os.setxattr(p, FOFS_OPAQUE_XATTR, b"y")
            if e.sentinel:
                open(os.path.join(p, ".wh..wh..opq"), "wb").close()
        elif isinstance(e, Symlink):
            os.symlink(e.target, p)
        elif isinstance(e, Link):
            links.append((e.existing, p))
        elif isinstance(e, Fifo):
            os.mkfifo(p, e.mode)
            os.chmod(p, e.mode)
        elif isinstance(e, Whiteout):
            os.mknod(p, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        elif isinstance(e, FofsWhiteout):
            d, n = os.path.split(p)
            open(os.path.join(d, ".wh." + n), "wb").close()
        else:
            raise TypeError(f"bad spec entry for {rel}: {e!r}")
    for existing, p in links:
        os.link(os.path.join(root, existing), p)


def _ftype(mode):
    if stat.S_ISREG(mode):
        return "reg"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "lnk"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode):
        return "chr"
    if stat.S_ISBLK(mode):
        return "blk"
    if stat.S_ISSOCK(mode):
        return "sock"
    return "?"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def user_xattr_filter(name):
    return name.startswith("user.")


def upper_xattr_filter(name):
    """xattrs compared on an upper dir: user.*, the opaque mark and
    redirects; origin/impure/uuid etc. legitimately differ."""
    return name.startswith("user.") or name in (OPAQUE_XATTR,
                                                 REDIRECT_XATTR)


def list_xattrs(path, keep=user_xattr_filter):
    """{name: value} of the xattrs of @path (not followed) kept by
    @keep; an errno string on failure."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        return "E:" + (os.strerror(e.errno) if e.errno else "?")
    out = {}
    for n in sorted(names):
        if not keep(n):
            continue
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:
            out[n] = "E:%d" % e.errno
    return out


def describe(path, keep=user_xattr_filter, nlink=True, times=False,
             dtype=None):
    """A comparable dict for one inode (not followed)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return {"error": e.errno}
    t = _ftype(st.st_mode)
    d = {"type": t}
    if t == "chr" and st.st_rdev == 0:
        d["type"] = "whiteout"
        return d
    d["mode"] = oct(stat.S_IMODE(st.st_mode))
    d["uid"], d["gid"] = st.st_uid, st.st_gid
    if dtype is not None:
        d["dtype"] = dtype
    if t == "reg":
        d["size"] = st.st_size
        try:
            d["sha256"] = sha256_file(path)
        except OSError as e:
            d["sha256"] = "E:%d" % e.errno
        if nlink:
            d["nlink"] = st.st_nlink
    elif t == "lnk":
        d["target"] = os.readlink(path)
    elif t in ("chr", "blk"):
        d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if times:
        d["mtime"] = st.st_mtime_ns
    if t != "lnk":
        d["xattrs"] = list_xattrs(path, keep)
    return d


def _dtype(entry):
    try:
        if entry.is_symlink():
            return "lnk"
        if entry.is_dir(follow_symlinks=False):
            return "dir"
        if entry.is_file(follow_symlinks=False):
            return "reg"
        return "other"
    except OSError as e:
        return "E:%d" % e.errno


def snapshot_tree(root, keep=user_xattr_filter, nlink=True, times=False,
                  hide=()):
    """{relative path: describe()} for every entry under @root (root
    itself is ""), readdir order ignored; names listed twice by readdir
    are recorded as a "dup" error.  @hide: names to skip (e.g. "work")."""
    out = {"": describe(root, keep, nlink=False, times=False)}
    stack = [""]
    while stack:
        rel = stack.pop()
        p = os.path.join(root, rel) if rel else root
        try:
            entries = list(os.scandir(p))
        except OSError as e:
            out[rel + "/<readdir>"] = {"error": e.errno}
            continue
        seen = set()
        for ent in entries:
            r = os.path.join(rel, ent.name) if rel else ent.name
            if r in hide:
                continue
            if ent.name in seen:
                out[r + "/<dup>"] = {"error": "listed twice"}
            seen.add(ent.name)
            d = describe(ent.path, keep, nlink=nlink, times=times,
                         dtype=_dtype(ent))
            out[r] = d
            if d.get("type") == "dir":
                stack.append(r)
    return out
