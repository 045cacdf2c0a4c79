# SPDX-License-Identifier: GPL-2.0-or-later
"""Hard links as shells and tools use them.

The known fuse-overlayfs corruption: two names of one lower inode, one
of them appended to through the mount.  Kernel overlayfs (index=off)
breaks the link at copy-up: the written name reads "orig\\nnew\\n", the
other one "orig\\n", in the same mount and after a remount of the same
upper.  errovl must show the same (no NUL padding, no content served
from the other name's layer), and kernel overlayfs mounted on errovl's
upper must show it too.

Links made in the mount share one inode: data written through one name
is read through the other."""
import os
import time

import pytest

import testlib
from testlib import layers as L

import toolhelp as T


def _names(mnt):
    out = {}
    for n in ("a", "b"):
        p = os.path.join(mnt, n)
        st = os.stat(p)
        with open(p, "rb") as f:
            out[n] = (f.read(), st.st_size, st.st_nlink)
    sa, sb = os.stat(os.path.join(mnt, "a")), os.stat(os.path.join(mnt, "b"))
    out["same_ino"] = sa.st_ino == sb.st_ino
    return out


def _append_and_remount(side, base, lower, mode, env):
    """Returns (after the append, after the remount) pictures of a/b."""
    upper, work = str(base / "upper"), str(base / "work")
    m = T.mount_side(side, base, [lower], mode, upper=upper, work=work)
    with m:
        st, out, err = T.run("cat a b >/dev/null; echo new >> a", m.mnt,
                             env)
        assert st == 0, err
        first = _names(m.mnt)
        if side == "e":
            T._finish_errovl(m)
    m = T.mount_side(side, base, [lower], mode, upper=upper, work=work)
    with m:
        second = _names(m.mnt)
        second["cat"] = T.run("cat a b", m.mnt, env)
        if side == "e":
            T._finish_errovl(m)
    return first, second


@pytest.mark.parametrize("mode", T.MODES)
def test_lower_hard_link_append_then_remount(tmp_path, mode):
    testlib.require_daemon()
    testlib.require_kernel_overlay()
    env = T.tool_env(tmp_path)
    lower = str(tmp_path / "lower")
    L.build(lower, {"a": "orig\n", "b": L.Link("a")})
    k = _append_and_remount("k", tmp_path / "k", lower, mode, env)
    e = _append_and_remount("e", tmp_path / "e", lower, mode, env)
    want = {"a": (b"orig\nnew\n", 9, 1), "b": (b"orig\n", 5, 2),
            "same_ino": False}
    assert k[0] == want, "kernel overlayfs reference changed"
    assert e[0] == k[0], "mount 1 differs from kernel overlayfs"
    assert e[1] == k[1], "after the remount errovl differs from kernel"
    # kernel overlayfs on the upper errovl wrote (fresh workdir)
    x = testlib.KernelOverlay(str(tmp_path / "x"), lowers=[lower],
                              upper=str(tmp_path / "e" / "upper"))
    with x:
        got = _names(x.mnt)
    want2 = dict(k[1])
    del want2["cat"]
    assert got == want2, "kernel overlayfs on errovl's upper"


def _link_then_write(mnt, side):
    """Writes through b, reads through a, several times with pauses
    around the attribute timeout (same size each time, as when a tool
    rewrites a small file).  a is made in the mount unless the lower
    has it."""
    a, b = os.path.join(mnt, "a"), os.path.join(mnt, "b")
    if not os.path.exists(a):
        with open(a, "w") as f:
            f.write("0\n")
    os.link(a, b)
    out = []
    for i, pause in enumerate((0.0, 1.1, 0.1)):
        with open(a) as f:
            f.read()
        os.stat(a)
        time.sleep(pause)
        with open(b, "w") as f:
            f.write(f"{i + 1}\n")
        with open(a) as f:
            got = f.read()
        sa, sb = os.stat(a), os.stat(b)
        out.append((got, sa.st_size, sa.st_ino == sb.st_ino,
                    sa.st_mtime_ns == sb.st_mtime_ns))
    return out


@pytest.mark.parametrize("where", ["new-file", "lower-file"])
@pytest.mark.parametrize("mode", T.MODES)
def test_link_in_mount_shares_data(tmp_path, mode, where):
    lower = tmp_path / "lower"
    os.makedirs(lower)
    if where == "lower-file":
        L.build(str(lower), {"a": "0\n"})
    res = T.both(tmp_path, mode, [str(lower)], _link_then_write,
                 verify=_after_remount)
    assert [r[0] for r in res["k"][0]] == ["1\n", "2\n", "3\n"]
    assert res["k2"][0][0] == "3\n" and res["k2"][0][2], res["k2"]
    T.assert_same(res, "reads through the other name")


def _after_remount(mnt, side):
    """Both names after a remount: one inode, the last data; a write
    through a is read through b."""
    a, b = os.path.join(mnt, "a"), os.path.join(mnt, "b")
    with open(b) as f:
        got = f.read()
    sa, sb = os.stat(a), os.stat(b)
    with open(a, "w") as f:
        f.write("9\n")
    with open(b) as f:
        again = f.read()
    return got, sa.st_nlink, sa.st_ino == sb.st_ino, again


def _lower_links(mnt, side):
    """cp/ln/mv on a lower link pair: the pair stays one inode in the
    merged view until one name is written (then the kernel breaks it)."""
    env = T.tool_env("/")
    out = [T.run("stat -c '%h %s' a b c; ln c d; mv b e; "
                 "stat -c '%h' a e d; chmod 600 a; stat -c '%h %a' a e",
                 mnt, env)]
    return out


@pytest.mark.parametrize("mode", T.MODES)
def test_lower_links_renamed_and_chmod(tmp_path, mode):
    lower = str(tmp_path / "lower")
    L.build(lower, {"a": "orig\n", "b": L.Link("a"), "c": "c\n"})
    res = T.both(tmp_path, mode, [lower], _lower_links)
    T.assert_same(res, "shell output")
