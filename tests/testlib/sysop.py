# SPDX-License-Identifier: GPL-2.0-or-later
"""Exact syscall results: every helper returns 0 (or a value) or -errno,
never raises for an errno.  errno is read right after the failing call
(ctypes use_errno=True)."""
import ctypes
import ctypes.util
import os
import struct

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                    use_errno=True)

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_FORCE = 1
MNT_DETACH = 2

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
AT_FDCWD = -100

_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                            ctypes.c_char_p, ctypes.c_uint]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.syncfs.argtypes = [ctypes.c_int]
_libc.getdents64.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_libc.getdents64.restype = ctypes.c_ssize_t


def _b(p):
    if p is None:
        return None
    return os.fsencode(p)


def _ret(r):
    if r < 0:
        return -ctypes.get_errno()
    return r


def call(fn, *args, **kwargs):
    """Runs fn(*args); returns (result, 0) or (None, errno) for OSError."""
    try:
        return fn(*args, **kwargs), 0
    except OSError as e:
        return None, e.errno


def renameat2(old, new, flags=0, olddirfd=AT_FDCWD, newdirfd=AT_FDCWD):
    """renameat2(2) -> 0 or -errno."""
    return _ret(_libc.renameat2(olddirfd, _b(old), newdirfd, _b(new), flags))


def mount(source, target, fstype, flags=0, data=None):
    """mount(2) -> 0 or -errno."""
    return _ret(_libc.mount(_b(source), _b(target), _b(fstype), flags,
                            _b(data)))


def umount2(target, flags=0):
    """umount2(2) -> 0 or -errno."""
    return _ret(_libc.umount2(_b(target), flags))


def unshare(flags):
    """unshare(2) -> 0 or -errno."""
    return _ret(_libc.unshare(flags))


def syncfs(fd):
    """syncfs(2) -> 0 or -errno."""
    return _ret(_libc.syncfs(fd))


def fsync(fd):
    """fsync(2) -> 0 or -errno."""
    try:
        os.fsync(fd)
        return 0
    except OSError as e:
        return -e.errno


def getdents64(fd, bufsize):
    """One getdents64(2) call with a @bufsize buffer -> a list of
    (name, d_ino), "." and ".." included ([] at the end), or -errno."""
    buf = ctypes.create_string_buffer(bufsize)
    n = _ret(_libc.getdents64(fd, buf, bufsize))
    if n < 0:
        return n
    got, pos, raw = [], 0, buf.raw[:n]
    while pos < n:
        # struct linux_dirent64: d_ino, d_off, d_reclen, d_type, d_name
        ino, _off, reclen = struct.unpack_from("=QqH", raw, pos)
        name = raw[pos + 19:pos + reclen].split(b"\0", 1)[0]
        got.append((os.fsdecode(name), ino))
        pos += reclen
    return got
