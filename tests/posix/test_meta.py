# SPDX-License-Identifier: GPL-2.0-or-later
"""O_TMPFILE, utimensat, set-id and sticky bits, POSIX ACLs,
security.capability and a lower layer without xattr support, errovl
against kernel overlayfs."""
import errno
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

import testlib
from posixlib import (UTIME_NOW, UTIME_OMIT, cap_v2, linkat_empty_path,
                      params, read, res, run_pair, utimensat)
from testlib.layers import Dir, Fifo, File, Symlink

# -------------------------------------------------------------- O_TMPFILE

TMP = {"d/": Dir(), "d/f": "f\n"}


def _tmpfile_probe(s):
    r = {}
    with s.mount() as m:
        d = os.path.join(m.mnt, "d")
        fd = res(os.open, d, os.O_TMPFILE | os.O_RDWR, 0o640)
        r["open"] = fd if isinstance(fd, str) else "fd"
        if isinstance(fd, str):
            return r
        try:
            os.write(fd, b"tmp data\n")
            r["listed_before_link"] = sorted(os.listdir(d))
            r["nlink_before"] = os.fstat(fd).st_nlink
            r["linkat"] = res(os.link, f"/proc/self/fd/{fd}",
                              os.path.join(d, "named"), follow_symlinks=True)
            r["nlink_after"] = os.fstat(fd).st_nlink
        finally:
            os.close(fd)
        r["named"] = read(os.path.join(d, "named"))
        st = res(os.lstat, os.path.join(d, "named"))
        r["mode"] = st if isinstance(st, str) else \
            oct(stat.S_IMODE(st.st_mode))
        r["listed"] = sorted(os.listdir(d))
        fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
        try:
            os.write(fd, b"second\n")
            r["linkat_empty_path"] = linkat_empty_path(
                fd, os.path.join(d, "named2"))
        finally:
            os.close(fd)
        r["named2"] = read(os.path.join(d, "named2"))
        r["listed_end"] = sorted(os.listdir(d))
    r["upper"] = read(os.path.join(s.upper, "d", "named"))
    r["upper2"] = read(os.path.join(s.upper, "d", "named2"))
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_o_tmpfile_linkat(tmp_path, mode):
    """open(merged dir, O_TMPFILE), write, linkat from /proc/self/fd
    (the kernel answers EXDEV) and linkat(fd, "", AT_EMPTY_PATH) (the
    kernel links it)."""
    run_pair(tmp_path, mode, _tmpfile_probe, lowers=[TMP])


# -------------------------------------------------------------- utimensat

T0 = 1_000_000_000
UT = {"f": File("f\n", mtime=T0), "g": File("g\n", mtime=T0),
      "d/": Dir(), "s": Symlink("g")}


def _times(p):
    st = os.lstat(p)
    return st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns


def _near_now(ns, now):
    return abs(ns / 1e9 - now) < 30


def _utime_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        f, g = p("f"), p("g")
        now = time.time()
        a0, m0, c0 = _times(f)
        r["set_mtime_now_omit_atime"] = utimensat(f, (0, UTIME_OMIT),
                                                  (0, UTIME_NOW))
        a1, m1, c1 = _times(f)
        r["f"] = (a1 == a0, m1 != m0 and _near_now(m1, now),
                  _near_now(c1, now))
        a0, m0, c0 = _times(g)
        r["set_atime_now_omit_mtime"] = utimensat(g, (0, UTIME_NOW),
                                                  (0, UTIME_OMIT))
        a1, m1, c1 = _times(g)
        r["g"] = (_near_now(a1, now), m1 == m0, _near_now(c1, now))
        r["explicit"] = utimensat(g, (T0 + 5, 7), (T0 + 9, 11))
        a2, m2, _ = _times(g)
        r["g_explicit"] = (a2, m2)
        r["both_omit"] = utimensat(f, (0, UTIME_OMIT), (0, UTIME_OMIT))
        r["dir"] = utimensat(p("d"), (T0 + 1, 0), (0, UTIME_OMIT))
        r["dir_times"] = _times(p("d"))[0]
        r["symlink_nofollow"] = utimensat(p("s"), (0, UTIME_OMIT),
                                          (T0 + 3, 5), nofollow=True)
        r["symlink_times"] = (_times(p("s"))[1], _times(p("f"))[1] ==
                              T0 + 3)
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_utimensat_now_omit(tmp_path, mode):
    """UTIME_NOW / UTIME_OMIT on lower files: which of atime, mtime,
    ctime change (30 s tolerance on "now"), explicit ns times."""
    run_pair(tmp_path, mode, _utime_probe, lowers=[UT])


# ------------------------------------------------------ set-id and sticky

SG = {"sg/": Dir(mode=0o2775, gid=1234), "sg/old": File("o\n", gid=1234),
      "sgw/": Dir(mode=0o2777, gid=1234),
      "sg0/": Dir(mode=0o2775, gid=0), "fg/": Dir(mode=0o775, gid=1234),
      "pub": File("p\n", mode=0o666, uid=1000, gid=1000, mtime=T0),
      "t/": Dir(mode=0o1777), "t/theirs": File("x\n", uid=1000, gid=1000),
      "t/mine": File("m\n", uid=2000, gid=2000),
      "su": File("s\n", mode=0o4755, uid=1000, gid=1000),
      "sgx": File("s\n", mode=0o2755, uid=1000, gid=1000),
      "sgnx": File("s\n", mode=0o2644, uid=1000, gid=1000),
      "kw": File("s\n", mode=0o6777, uid=1000, gid=1000),
      "kt": File("s\n", mode=0o6777, uid=1000, gid=1000),
      "ko": File("s\n", mode=0o6777, uid=1000, gid=1000),
      "kn": File("s\n", mode=0o2666, uid=1000, gid=1000),
      "kr": File("s\n", mode=0o6777, uid=1000, gid=1000)}


def _world_base():
    """A fresh 0755 dir under /tmp: pytest's tmp dirs are 0700 root, so
    other users could not reach mounts made there.  The caller removes
    it."""
    base = tempfile.mkdtemp(prefix="errovl-posix-", dir="/tmp")
    os.chmod(base, 0o755)
    return base


def _as_user(uid, fn):
    """Runs fn() in a child with real/effective uid and gid @uid; returns
    its errno (0 on success)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            fn()
        except OSError as e:
            code = e.errno
        except BaseException:
            code = 255
        os._exit(code)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def _own(p):
    st = os.lstat(p)
    return (st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode)))


def _setid_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        os.close(os.open(p("sg/newf"), os.O_CREAT | os.O_WRONLY, 0o644))
        os.mkdir(p("sg/newd"), 0o755)
        os.mkdir(p("sg/newd/deeper"), 0o700)
        r["newf"] = _own(p("sg/newf"))
        r["newd"] = _own(p("sg/newd"))
        r["deeper"] = _own(p("sg/newd/deeper"))
        # root in a set-group-ID dir of its own group, and in a plain
        # dir of another group: the daemon skips its chown only when
        # the kernel already gave the requester's ids
        for d in ("sg0", "fg"):
            os.close(os.open(p(f"{d}/f"), os.O_CREAT | os.O_WRONLY, 0o4755))
            os.mkdir(p(f"{d}/d"), 0o755)
            os.mkfifo(p(f"{d}/p"), 0o640)
            os.symlink("f", p(f"{d}/l"))
            for n in ("f", "d", "p", "l"):
                r[f"{d}/{n}"] = _own(p(f"{d}/{n}"))
        r["user_create_no_write"] = _as_user(2000, lambda: os.close(
            os.open(p("sg/u"), os.O_CREAT | os.O_WRONLY, 0o666)))
        r["user_create"] = _as_user(2000, lambda: os.close(os.open(
            p("sgw/u"), os.O_CREAT | os.O_WRONLY, 0o666)))
        r["u"] = res(_own, p("sgw/u"))
        r["user_mkdir"] = _as_user(2000, lambda: os.mkdir(p("sgw/ud")))
        r["ud"] = res(_own, p("sgw/ud"))
        r["sticky_unlink_theirs"] = _as_user(2000, lambda: os.unlink(
            p("t/theirs")))
        r["sticky_rename_theirs"] = _as_user(2000, lambda: os.rename(
            p("t/theirs"), p("t/x")))
        r["sticky_unlink_mine"] = _as_user(2000, lambda: os.unlink(
            p("t/mine")))
        r["t"] = sorted(os.listdir(p("t")))
        os.chown(p("su"), 1001, -1)
        r["chown_clears_suid"] = _own(p("su"))
        os.chown(p("sgx"), -1, 1001)
        r["chgrp_clears_sgid"] = _own(p("sgx"))
        os.chown(p("sgnx"), -1, 1001)
        r["chgrp_keeps_sgid_without_gx"] = _own(p("sgnx"))
        os.chmod(p("sg/old"), 0o2644)
        r["chmod_sgid_root"] = _own(p("sg/old"))
        r["user_chmod_sgid_own_group"] = _as_user(2000, lambda: (
            os.close(os.open(p("t/u2"), os.O_CREAT | os.O_WRONLY, 0o644)),
            os.chmod(p("t/u2"), 0o2644)))
        r["u2"] = res(_own, p("t/u2"))
        r["user_chmod_sgid_other_group"] = _as_user(2000, lambda: os.chmod(
            p("sgw/u"), 0o2644))
        r["u_after_chmod"] = res(_own, p("sgw/u"))
    with s.mount() as m:
        pub = os.path.join(m.mnt, "pub")

        def ut(at, mt):
            def f():
                e = utimensat(pub, at, mt)
                if e:
                    raise OSError(getattr(errno, e[2:]), e)
            return f
        r["other_utime_now"] = _as_user(2000, ut((0, UTIME_NOW),
                                                 (0, UTIME_NOW)))
        r["other_utime_explicit"] = _as_user(2000, ut((T0, 0), (T0, 0)))
        r["other_utime_omit_now"] = _as_user(2000, ut((0, UTIME_OMIT),
                                                      (0, UTIME_NOW)))
        r["other_chmod"] = _as_user(2000, lambda: os.chmod(pub, 0o600))
        r["other_chown_self"] = _as_user(2000, lambda: os.chown(pub, 2000,
                                                                -1))
        r["owner_chgrp_not_member"] = _as_user(1000, lambda: os.chown(
            pub, -1, 1234))
        r["owner_chmod"] = _as_user(1000, lambda: os.chmod(pub, 0o4640))
        r["pub"] = _own(pub)
    for n in ("sg/newf", "sg/newd", "sg/newd/deeper", "su", "sgx"):
        r["upper " + n] = res(_own, os.path.join(s.upper, n))
    return r


def _kill_probe(names):
    """Another user writes, truncates, opens with O_TRUNC; root writes."""
    def probe(s):
        r = {}
        with s.mount() as m:
            k = lambda n: os.path.join(m.mnt, n)  # noqa: E731

            def append(n):
                def f():
                    with open(k(n), "ab") as fh:
                        fh.write(b"+")
                return f
            acts = {"kw": append("kw"),
                    "kt": lambda: os.truncate(k("kt"), 1),
                    "ko": lambda: os.close(os.open(
                        k("ko"), os.O_WRONLY | os.O_TRUNC)),
                    "kn": append("kn")}
            for n in names:
                if n == "kr":
                    append("kr")()
                    r["root kr"] = 0
                else:
                    r["user " + n] = _as_user(2000, acts[n])
                r["after " + n] = _own(k(n))
        return r
    return probe


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_write_truncate_clear_setid(mode):
    """A write, a truncate and an O_TRUNC open by another user clear
    S_ISUID and S_ISGID (with group exec) of a lower file; root's write
    does what the kernel's does."""
    base = _world_base()
    try:
        _, e = run_pair(pathlib.Path(base), mode,
                        _kill_probe(["kw", "kt", "ko", "kr"]), lowers=[SG],
                        eopts=("allow_other",))
        assert [e["after " + n][2] for n in ("kw", "kt", "ko")] == \
            ["0o777"] * 3, e
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_write_clears_sgid_of_non_member(mode):
    """Kernel 6.x: a write by a user outside the file's group clears
    S_ISGID even without group exec."""
    base = _world_base()
    try:
        run_pair(pathlib.Path(base), mode, _kill_probe(["kn"]), lowers=[SG],
                 eopts=("allow_other",))
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("mode", params("k-e"))
def test_setgid_sticky_chown(mode):
    """setgid dir: gid inheritance and S_ISGID on new subdirs (root and
    a user); sticky dir: a user may not unlink/rename another's file;
    chown/chgrp clear set-id bits; S_ISGID kept/dropped on chmod."""
    base = _world_base()
    try:
        run_pair(pathlib.Path(base), mode, _setid_probe, lowers=[SG],
                 eopts=("allow_other",))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _suid_dev_probe(s):
    shutil.copy2("/usr/bin/id", os.path.join(s.lowers[0], "id"))
    os.chmod(os.path.join(s.lowers[0], "id"), 0o4755)
    os.mknod(os.path.join(s.lowers[0], "null"), stat.S_IFCHR | 0o666,
             os.makedev(1, 3))
    r = {}
    with s.mount() as m:
        rf, wf = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(rf)
                os.dup2(wf, 1)
                os.setgroups([])
                os.setresgid(2000, 2000, 2000)
                os.setresuid(2000, 2000, 2000)
                os.execv(os.path.join(m.mnt, "id"), ["id", "-u"])
            finally:
                os._exit(127)
        os.close(wf)
        out = b""
        while True:
            b = os.read(rf, 256)
            if not b:
                break
            out += b
        os.close(rf)
        os.waitpid(pid, 0)
        r["setuid_euid"] = out.strip()

        def wr():
            fd = os.open(os.path.join(m.mnt, "null"), os.O_WRONLY)
            try:
                return os.write(fd, b"x")
            finally:
                os.close(fd)
        r["device_write"] = res(wr)
    return r


@pytest.mark.parametrize("opts", [
    pytest.param(("allow_other", "suid", "dev"), id="suid-dev"),
    pytest.param(("allow_other",), id="default")])
def test_setuid_and_device_nodes(opts):
    """A set-uid lower binary run by another user gets euid 0 and a
    lower char device node (1:3) can be written, like on kernel
    overlayfs: with -o suid,dev, and by default."""
    base = _world_base()
    try:
        run_pair(pathlib.Path(base), "k-e", _suid_dev_probe, eopts=opts)
    finally:
        shutil.rmtree(base, ignore_errors=True)


UC = {"home/": Dir(mode=0o755), "home/u/": Dir(mode=0o700, uid=1000,
                                               gid=1000),
      "home/u/sub/": Dir(mode=0o750, uid=1000, gid=100),
      "home/u/sub/f": File("f\n", mode=0o600, uid=1000, gid=1000),
      "shared/": Dir(mode=0o1777)}


def _user_copyup_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731

        def append():
            with open(p("home/u/sub/f"), "a") as f:
                f.write("by user\n")
        r["append"] = _as_user(1000, append)
        r["create"] = _as_user(1000, lambda: os.close(os.open(
            p("home/u/sub/new"), os.O_CREAT | os.O_WRONLY, 0o640)))
        r["mkdir_shared"] = _as_user(1000, lambda: os.mkdir(
            p("shared/mine"), 0o700))
        r["other_user_denied"] = _as_user(1001, lambda: os.listdir(
            p("home/u")))
        r["merged"] = {n: res(_own, p(n)) for n in (
            "home/u", "home/u/sub", "home/u/sub/f", "home/u/sub/new",
            "shared/mine")}
    r["upper"] = {n: res(_own, os.path.join(s.upper, n)) for n in (
        "home", "home/u", "home/u/sub", "home/u/sub/f", "home/u/sub/new",
        "shared", "shared/mine")}
    return r


def test_copy_up_by_another_user():
    """Another user writes their lower file (copy-up of the file and its
    parent chain), creates a file and a dir: owners and modes in the
    mount and on the upper are the kernel's."""
    base = _world_base()
    try:
        run_pair(pathlib.Path(base), "k-e", _user_copyup_probe, lowers=[UC],
                 eopts=("allow_other",))
    finally:
        shutil.rmtree(base, ignore_errors=True)


XP = {"pub": File("p\n", mode=0o666, uid=1000, gid=1000),
      "priv": File("q\n", mode=0o644, uid=1000, gid=1000,
                   xattrs={"user.k": "v"}),
      "sym": Symlink("pub"), "fifo": Fifo(mode=0o666)}


def _xattr_perm_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731

        def sx(n, name, follow=True):
            return lambda: os.setxattr(p(n), name, b"1",
                                       follow_symlinks=follow)
        r["user_on_writable"] = _as_user(2000, sx("pub", "user.a"))
        r["user_on_readonly"] = _as_user(2000, sx("priv", "user.a"))
        r["user_get_readable"] = _as_user(2000, lambda: os.getxattr(
            p("priv"), "user.k"))
        r["user_remove_readonly"] = _as_user(2000, lambda: os.removexattr(
            p("priv"), "user.k"))
        r["trusted_as_user"] = _as_user(2000, sx("pub", "trusted.a"))
        r["security_as_user"] = _as_user(2000, sx("pub", "security.a"))
        r["user_on_symlink"] = res(sx("sym", "user.a", False))
        r["user_on_fifo"] = res(sx("fifo", "user.a"))
        r["trusted_as_root"] = res(sx("pub", "trusted.a"))
        r["pub"] = sorted(os.listxattr(p("pub")))
        r["owner_on_readonly_mode"] = _as_user(1000, lambda: (
            os.chmod(p("priv"), 0o444), sx("priv", "user.b")()))
    return r


def test_xattr_permissions():
    """user.* needs write access (not allowed on symlinks and fifos),
    trusted.* and security.* need privilege: checked for another user
    and root, through the mount."""
    base = _world_base()
    try:
        run_pair(pathlib.Path(base), "k-e", _xattr_perm_probe, lowers=[XP],
                 eopts=("allow_other",))
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------- POSIX ACLs

AC = {"plain": "p\n", "acl": "has acl\n", "d/": Dir(), "dd/": Dir()}


def _getfacl(p):
    r = subprocess.run(["getfacl", "-n", "-p", "--omit-header", p],
                       capture_output=True, text=True)
    if r.returncode:
        return "E:" + r.stderr.strip().split(":")[-1].strip()
    return r.stdout.strip().splitlines()


def _setfacl(*args):
    r = subprocess.run(["setfacl"] + list(args), capture_output=True,
                       text=True)
    return r.returncode


def _acl_probe(s):
    r = {}
    assert _setfacl("-m", "u:1234:rw,g:55:r", os.path.join(s.lowers[0],
                                                           "acl")) == 0
    assert _setfacl("-d", "-m", "u:1234:rwx",
                    os.path.join(s.lowers[0], "dd")) == 0
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["lower_acl"] = _getfacl(p("acl"))
        with open(p("acl"), "a") as f:
            f.write("more\n")
        r["lower_acl_after_copyup"] = _getfacl(p("acl"))
        r["set_access"] = _setfacl("-m", "u:1234:r", p("plain"))
        r["plain"] = _getfacl(p("plain"))
        r["mode_plain"] = oct(stat.S_IMODE(os.stat(p("plain")).st_mode))
        r["set_default"] = _setfacl("-d", "-m", "u:1234:rwx,g:55:rx",
                                    p("d"))
        r["d"] = _getfacl(p("d"))
        os.close(os.open(p("d/newf"), os.O_CREAT | os.O_WRONLY, 0o666))
        os.mkdir(p("d/newd"), 0o777)
        r["d/newf"] = _getfacl(p("d/newf"))
        r["d/newd"] = _getfacl(p("d/newd"))
        os.close(os.open(p("dd/f"), os.O_CREAT | os.O_WRONLY, 0o666))
        r["lower_default_inherited"] = _getfacl(p("dd/f"))
        r["remove"] = _setfacl("-b", p("plain"))
        r["plain_removed"] = _getfacl(p("plain"))
    for n in ("acl", "d/newf", "d/newd", "dd/f"):
        r["upper " + n] = _getfacl(os.path.join(s.upper, n))
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_posix_acls(tmp_path, mode):
    """setfacl/getfacl of access and default ACLs through the mount,
    default ACL inherited by create and mkdir, a lower file's ACL kept by
    copy-up (also a lower dir's default ACL applied to new files)."""
    testlib.require_tools("setfacl", "getfacl")
    run_pair(tmp_path, mode, _acl_probe, lowers=[AC])


def _acl_enforce_probe(s):
    lo = s.lowers[0]
    assert _setfacl("-m", "u:2000:r", os.path.join(lo, "grant")) == 0
    assert _setfacl("-m", "u:2000:-", os.path.join(lo, "deny")) == 0
    assert _setfacl("-m", "u:2000:rwx", os.path.join(lo, "gdir")) == 0
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731

        def rd(n):
            return lambda: os.close(os.open(p(n), os.O_RDONLY))
        r["read_granted"] = _as_user(2000, rd("grant"))
        r["read_denied"] = _as_user(2000, rd("deny"))
        r["create_in_granted_dir"] = _as_user(2000, lambda: os.close(
            os.open(p("gdir/u"), os.O_CREAT | os.O_WRONLY, 0o644)))
        r["read_other_user"] = _as_user(2001, rd("deny"))
        assert _setfacl("-m", "u:2001:-", p("plain")) == 0
        r["read_denied_after_setfacl"] = _as_user(2001, rd("plain"))
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_acl_enforced(mode):
    """Named-user ACL entries are enforced through the mount: a grant
    beyond the mode (read, create in a dir) and a deny below it, set on
    the lower or through the mount."""
    testlib.require_tools("setfacl", "getfacl")
    base = _world_base()
    try:
        run_pair(pathlib.Path(base), mode, _acl_enforce_probe,
                 lowers=[ACE], eopts=("allow_other",))
    finally:
        shutil.rmtree(base, ignore_errors=True)


ACE = {"grant": File("g\n", mode=0o600), "deny": File("d\n", mode=0o644),
       "gdir/": Dir(mode=0o755), "plain": File("p\n", mode=0o644)}


CAP = "security.capability"
CAPS = {"bin": File(b"\x7fELF fake\n", mode=0o755),
        "bin2": File(b"\x7fELF fake\n", mode=0o755)}


def _getcap(p):
    try:
        return os.getxattr(p, CAP)
    except OSError as e:
        return "E:%d" % e.errno


def _cap_probe(s):
    blob = cap_v2(1 << 10)
    os.setxattr(os.path.join(s.lowers[0], "bin"), CAP, blob)
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["lower"] = _getcap(p("bin")) == blob
        os.chmod(p("bin"), 0o750)
        r["after_chmod_copyup"] = _getcap(p("bin")) == blob
        r["upper_after_chmod"] = _getcap(os.path.join(s.upper, "bin")) \
            == blob
        with open(p("bin"), "r+b") as f:
            f.write(b"\x7f")
        r["after_write"] = _getcap(p("bin"))
        r["set_through_mount"] = res(os.setxattr, p("bin2"), CAP, blob)
        r["bin2"] = _getcap(p("bin2")) == blob
        r["bin2_list"] = CAP in os.listxattr(p("bin2"))
        with open(p("bin2"), "ab") as f:
            f.write(b"x")
        r["bin2_after_append"] = _getcap(p("bin2"))
    r["upper_bin"] = _getcap(os.path.join(s.upper, "bin"))
    r["upper_bin2"] = _getcap(os.path.join(s.upper, "bin2"))
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_security_capability(tmp_path, mode):
    """A v2 security.capability on a lower file survives a chmod copy-up
    and is removed by a write (kernel killpriv); set through the mount."""
    run_pair(tmp_path, mode, _cap_probe, lowers=[CAPS])


def _cap_upper_probe(s):
    blob = cap_v2(1 << 10)
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        with open(p("new"), "wb") as f:
            f.write(b"\x7fELF new\n")
        os.chmod(p("new"), 0o4755)
        r["set"] = res(os.setxattr, p("new"), CAP, blob)
        r["get"] = _getcap(p("new")) == blob
        os.chown(p("new"), 1000, 1000)
        r["after_chown"] = _getcap(p("new"))
        r["mode_after_chown"] = oct(stat.S_IMODE(os.stat(p("new")).st_mode))
        r["set_again"] = res(os.setxattr, p("new"), CAP, blob)
        r["remove"] = res(os.removexattr, p("new"), CAP)
        r["after_remove"] = _getcap(p("new"))
        r["remove_missing"] = res(os.removexattr, p("new"), CAP)
        r["set_garbage"] = res(os.setxattr, p("new"), CAP, b"xx")
    r["upper"] = _getcap(os.path.join(s.upper, "new"))
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_security_capability_upper_file(tmp_path, mode):
    """security.capability on a file created in the mount: set, killed
    by chown (with the set-uid bit), removed, an invalid blob refused."""
    run_pair(tmp_path, mode, _cap_upper_probe)


def _chattr(*args):
    r = subprocess.run(["chattr"] + list(args), capture_output=True,
                       text=True)
    return r.returncode == 0


def _lsattr(p):
    r = subprocess.run(["lsattr", "-d", p], capture_output=True, text=True)
    if r.returncode:
        return "E"
    return "".join(c for c in r.stdout.split()[0] if c in "ia")


def _protattr_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["chattr_i"] = _chattr("+i", p("imm"))
        r["lsattr_i"] = _lsattr(p("imm"))
        r["write_imm"] = res(lambda: open(p("imm"), "a").close())
        r["unlink_imm"] = res(os.unlink, p("imm"))
        r["chmod_imm"] = res(os.chmod, p("imm"), 0o600)
        r["chattr_a"] = _chattr("+a", p("app"))
        r["append_app"] = res(lambda: open(p("app"), "a").write("x"))
        r["trunc_app"] = res(os.truncate, p("app"), 0)
        r["chattr_i_dir"] = _chattr("+i", p("d"))
        r["create_in_imm_dir"] = res(lambda: open(p("d/new"), "w").close())
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["after_remount"] = (_lsattr(p("imm")), _lsattr(p("app")),
                              _lsattr(p("d")))
        r["unlink_imm_remount"] = res(os.unlink, p("imm"))
        r["unchattr"] = (_chattr("-i", p("imm")), _chattr("-a", p("app")),
                         _chattr("-i", p("d")))
        r["unlink_after"] = res(os.unlink, p("imm"))
        r["trunc_after"] = res(os.truncate, p("app"), 0)
        r["create_after"] = res(lambda: open(p("d/new"), "w").close())
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_chattr_immutable_append_only(tmp_path, mode):
    """chattr +i / +a on lower files and a lower dir through the mount:
    writes, unlink, chmod, truncate, create refused; kept across a
    remount; chattr -i/-a restores."""
    testlib.require_tools("chattr", "lsattr")
    try:
        run_pair(tmp_path, mode, _protattr_probe,
                 lowers=[{"imm": "i\n", "app": "a\n", "d/": Dir()}])
    finally:
        # never leave immutable files behind in the temp dirs
        subprocess.run(["chattr", "-R", "-f", "-i", "-a", str(tmp_path)],
                       capture_output=True)


# ------------------------------------------------- lower without xattrs

class _Ramfs:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        r = testlib.sysop.mount("ramfs", self.path, "ramfs", 0, "mode=755")
        if r < 0:
            pytest.skip("cannot mount ramfs: " + os.strerror(-r))
        return self

    def __exit__(self, *exc):
        if not testlib.umount(self.path):
            testlib.umount(self.path, lazy=True)
        return False


def _noxattr_probe(s):
    r = {}
    with _Ramfs(os.path.join(s.base, "ramfs")) as rf:
        with open(os.path.join(rf.path, "f"), "w") as f:
            f.write("on ramfs\n")
        os.mkdir(os.path.join(rf.path, "d"))
        r["ramfs_itself"] = res(os.getxattr, os.path.join(rf.path, "f"),
                                "user.x")
        mnt = s.mount()
        mnt.lowers = [rf.path]
        with mnt as m:
            p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
            for n in ("f", "d", ""):
                r["get " + n] = res(os.getxattr, p(n), "user.x")
                r["list " + n] = res(os.listxattr, p(n))
                r["get_acl " + n] = res(os.getxattr, p(n),
                                        "system.posix_acl_access")
            r["read"] = read(p("f"))
            r["set_copies_up"] = res(os.setxattr, p("f"), "user.x", b"1")
            r["get_after_set"] = res(os.getxattr, p("f"), "user.x")
            r["write"] = res(lambda: open(p("d/new"), "w").close())
            r["ls"] = sorted(os.listdir(p("d")))
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_lower_without_xattr_support(tmp_path, mode):
    """Lower layer on ramfs (no xattr handlers): getxattr/listxattr of
    lower-only objects give the kernel's answers, copy-up works."""
    run_pair(tmp_path, mode, _noxattr_probe, lowers=[{}])


def _acl_chmod_probe(s):
    assert _setfacl("-m", "u:1234:rwx,g:55:rw",
                    os.path.join(s.lowers[0], "acl")) == 0
    r = {}
    with s.mount() as m:
        p = os.path.join(m.mnt, "acl")
        os.chmod(p, 0o640)
        r["after_chmod"] = _getfacl(p)
        r["mode"] = oct(stat.S_IMODE(os.stat(p).st_mode))
        r["set_mask"] = _setfacl("-m", "m::rwx", p)
        r["mode_after_mask"] = oct(stat.S_IMODE(os.stat(p).st_mode))
    r["upper"] = _getfacl(os.path.join(s.upper, "acl"))
    r["upper_mode"] = oct(stat.S_IMODE(os.stat(os.path.join(
        s.upper, "acl")).st_mode))
    with s.mount() as m:
        r["mode_after_remount"] = oct(stat.S_IMODE(os.stat(os.path.join(
            m.mnt, "acl")).st_mode))
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_acl_chmod_updates_mask(tmp_path, mode):
    """chmod of a lower file with an extended ACL rewrites the ACL mask
    (copy-up keeps the named entries); setting the mask changes the
    group bits of st_mode."""
    testlib.require_tools("setfacl", "getfacl")
    run_pair(tmp_path, mode, _acl_chmod_probe, lowers=[AC])
