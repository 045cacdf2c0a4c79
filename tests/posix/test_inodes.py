# SPDX-License-Identifier: GPL-2.0-or-later
"""Inode numbers and hard links, errovl against kernel overlayfs (all
layers on one filesystem, so the kernel keeps the lower st_ino across
copy-up via trusted.overlay.origin)."""
import os

import pytest

import testlib

from posixlib import Inos, params, read, run_pair
from testlib import layers as L
from testlib.layers import Dir, Link

LOWER = {"a": "a\n", "b": "b\n", "d/": Dir(), "d/f": "f\n",
         "d/sub/g": "g\n"}
LOWER2 = {"c": "c in l1\n", "d/h": "h in l1\n"}
OBJS = ["", "a", "b", "c", "d", "d/f", "d/h", "d/sub", "d/sub/g"]


def _dinos(path):
    """{name: d_ino} of readdir(@path) without . and .."""
    return {e.name: e.inode() for e in os.scandir(path)}


def _dino_mismatch(path):
    """Names in @path whose d_ino is not their st_ino."""
    return sorted(n for n, ino in _dinos(path).items()
                  if ino != os.lstat(os.path.join(path, n)).st_ino)


def _ino_probe(s):
    r = {}
    with s.mount() as m:
        st = {o: os.lstat(os.path.join(m.mnt, o)) for o in OBJS}
        r["unique"] = len({x.st_ino for x in st.values()}) == len(OBJS)
        r["dev_constant"] = len({x.st_dev for x in st.values()}) == 1
        r["dev_is_mount_dev"] = st[""].st_dev == os.stat(m.mnt).st_dev
        dmis = []
        for d in ("", "d", "d/sub"):
            for n, ino in _dinos(os.path.join(m.mnt, d)).items():
                rel = os.path.join(d, n) if d else n
                if ino != st[rel].st_ino:
                    dmis.append(rel)
        r["d_ino_mismatch_before"] = sorted(dmis)
        before = {o: x.st_ino for o, x in st.items()}
        with open(os.path.join(m.mnt, "a"), "ab") as f:
            f.write(b"more\n")
        os.chmod(os.path.join(m.mnt, "d/f"), 0o600)
        os.chmod(os.path.join(m.mnt, "c"), 0o600)
        after = {o: os.lstat(os.path.join(m.mnt, o)).st_ino for o in OBJS}
        r["changed_by_copyup"] = sorted(o for o in OBJS
                                        if before[o] != after[o])
        dmis = []
        for d in ("", "d"):
            for n, ino in _dinos(os.path.join(m.mnt, d)).items():
                rel = os.path.join(d, n) if d else n
                if ino != after[rel]:
                    dmis.append(rel)
        r["d_ino_mismatch_after"] = sorted(dmis)
        r["devs_after"] = len({os.lstat(os.path.join(m.mnt, o)).st_dev
                               for o in OBJS})
    with s.mount() as m:
        again = {o: os.lstat(os.path.join(m.mnt, o)).st_ino for o in OBJS}
        r["changed_by_remount"] = sorted(o for o in OBJS
                                         if again[o] != after[o])
        dmis = []
        for d in ("", "d"):
            for n, ino in _dinos(os.path.join(m.mnt, d)).items():
                rel = os.path.join(d, n) if d else n
                if ino != again[rel]:
                    dmis.append(rel)
        r["d_ino_mismatch_remount"] = sorted(dmis)
    return r


def _redirect_ino_probe(s):
    """Directories renamed with redirect_dir=on (in place, to another
    parent, and a parent of a renamed one): st_ino kept by the rename
    and by a remount, d_ino == st_ino in their new parents."""
    moves = [("d", "d2"), ("d2/sub", "x/sub2"), ("x", "y")]
    where = {"d": "d2", "d/sub": "y/sub2"}
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        os.mkdir(p("x"))
        before = {o: os.lstat(p(o)).st_ino for o in ("d", "d/sub")}
        for a, b in moves:
            os.rename(p(a), p(b))
        now = {o: os.lstat(p(where[o])).st_ino for o in before}
        r["changed_by_rename"] = sorted(o for o in before
                                        if before[o] != now[o])
        r["d_ino_mismatch"] = _dino_mismatch(p("y"))
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        again = {o: os.lstat(p(where[o])).st_ino for o in before}
        r["changed_by_remount"] = sorted(o for o in before
                                         if again[o] != now[o])
        r["d_ino_mismatch_remount"] = _dino_mismatch(p("y"))
        r["tree"] = L.snapshot_tree(m.mnt)
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_inode_numbers_of_renamed_dirs(tmp_path, mode):
    """redirect_dir=on: a renamed lower directory keeps its st_ino, and
    readdir agrees, also after a remount."""
    _, e = run_pair(tmp_path, mode, _redirect_ino_probe,
                    lowers=[LOWER, LOWER2],
                    kopts=("redirect_dir=on", "index=off", "metacopy=off"),
                    eopts=("redirect_dir=on",))
    for k in ("changed_by_rename", "changed_by_remount", "d_ino_mismatch",
              "d_ino_mismatch_remount"):
        assert e[k] == [], (k, e[k])


def _only(probe, keep):
    def filtered(s):
        return {k: v for k, v in probe(s).items() if keep(k)}
    return filtered


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_inode_numbers(tmp_path, mode):
    """st_ino unique, == d_ino (before and after copy-ups and after a
    remount); one st_dev for objects of both lower layers and the
    upper."""
    run_pair(tmp_path, mode, _only(_ino_probe, lambda k: k not in (
        "changed_by_copyup", "changed_by_remount")), lowers=[LOWER, LOWER2])


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_inode_number_kept_by_remount(tmp_path, mode):
    """st_ino of lower, copied-up and merged objects unchanged by an
    unmount/remount (kernel: origin xattr)."""
    run_pair(tmp_path, mode, _only(_ino_probe,
                                   lambda k: k == "changed_by_remount"),
             lowers=[LOWER, LOWER2])


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_inode_number_kept_by_copy_up(tmp_path, mode):
    """The kernel keeps a lower file's st_ino across copy-up (same fs,
    trusted.overlay.origin)."""
    run_pair(tmp_path, mode, _only(_ino_probe,
                                   lambda k: k == "changed_by_copyup"),
             lowers=[LOWER, LOWER2])


HL = {"a": "orig\n", "b": Link("a"), "d/c": Link("a"), "other": "o\n"}


def _names(m, names, ino):
    out = {}
    for n in names:
        p = os.path.join(m.mnt, n)
        try:
            st = os.lstat(p)
        except OSError as e:
            out[n] = e.errno
            continue
        out[n] = (ino(st.st_ino), st.st_nlink, read(p))
    return out


def _hardlink_probe(s):
    r = {}
    ino = Inos()
    names = ["a", "b", "d/c"]
    with s.mount() as m:
        r["before"] = _names(m, names, ino)
        with open(os.path.join(m.mnt, "a"), "ab") as f:
            f.write(b"new\n")
        r["after_write"] = _names(m, names, ino)
    up = os.path.join(s.upper, "a")
    r["upper_a"] = (os.lstat(up).st_nlink, read(up)) \
        if os.path.lexists(up) else None
    with s.mount() as m:
        r["after_remount"] = _names(m, names, ino)
        r["unlink_c"] = _try(os.unlink, os.path.join(m.mnt, "d/c"))
        r["rename_b"] = _try(os.rename, os.path.join(m.mnt, "b"),
                             os.path.join(m.mnt, "b2"))
        r["after_unlink_rename"] = _names(m, ["a", "b", "b2", "d/c"], ino)
    with s.mount() as m:
        r["final"] = _names(m, ["a", "b", "b2", "d/c"], ino)
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_lower_hardlinks_copy_up(tmp_path, mode):
    """a, b, d/c are one lower inode; write through a: the kernel
    (index=off) breaks the link (a copied up alone) -- compare exactly,
    before, after and across a remount (the fuse-overlayfs corruption
    case of peers.md 2.6)."""
    run_pair(tmp_path, mode, _hardlink_probe, lowers=[HL])


def _link_probe(s):
    r = {}
    ino = Inos()
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["link"] = _try(os.link, p("other"), p("o2"))
        r["link2"] = _try(os.link, p("o2"), p("d/o3"))
        r["names"] = _names(m, ["other", "o2", "d/o3"], ino)
        with open(p("o2"), "ab") as f:
            f.write(b"x\n")
        r["after_write"] = _names(m, ["other", "o2", "d/o3"], ino)
    ups = {}
    for n in ("other", "o2", "d/o3"):
        up = os.path.join(s.upper, n)
        ups[n] = (ino(os.lstat(up).st_ino), os.lstat(up).st_nlink) \
            if os.path.lexists(up) else None
    # the upper inode numbers are not the merged ones: relabel
    r["upper_links"] = len({v[0] for v in ups.values() if v}) == 1 and \
        all(v and v[1] == 3 for v in ups.values())
    with s.mount() as m:
        r["after_remount"] = _names(m, ["other", "o2", "d/o3"], ino)
    return r


def _try(fn, *a):
    try:
        fn(*a)
        return 0
    except OSError as e:
        return e.errno


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_link_of_lower_file(tmp_path, mode):
    """link() of a lower file copies it up once: all names share st_ino,
    st_nlink 3 and data, also after a write and a remount; the upper holds
    one inode with three names."""
    run_pair(tmp_path, mode, _link_probe, lowers=[HL])


def test_st_dev_across_filesystems(tmp_path):
    """errovl with a lower on a tmpfs, another lower and the upper on the
    test fs: one st_dev for every object, unique st_ino, d_ino ==
    st_ino, also after copy-up of a file from each layer.  (The kernel
    without xino reports each layer's own st_dev here: no comparison.)"""
    testlib.require_daemon()
    tfs = tmp_path / "tmpfs"
    os.makedirs(tfs)
    if testlib.sysop.mount("tmpfs", str(tfs), "tmpfs", 0, "size=16M") < 0:
        pytest.skip("cannot mount a tmpfs")
    try:
        L.build(str(tfs / "l0"), {"a": "a\n", "d/f": "f\n"})
        L.build(str(tmp_path / "l1"), LOWER2 | {"b": "b\n"})
        with testlib.ErrovlMount(str(tmp_path),
                                 lowers=[str(tfs / "l0"),
                                         str(tmp_path / "l1")]) as m:
            objs = ["", "a", "b", "c", "d", "d/f", "d/h"]
            p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
            with open(p("new"), "w") as f:
                f.write("n\n")
            objs.append("new")
            for step in ("before", "after"):
                st = {o: os.lstat(p(o)) for o in objs}
                devs = {o: x.st_dev for o, x in st.items()}
                assert len(set(devs.values())) == 1, (step, devs)
                inos = [x.st_ino for x in st.values()]
                assert len(set(inos)) == len(inos), (step, inos)
                for d in ("", "d"):
                    for e in os.scandir(p(d)):
                        rel = os.path.join(d, e.name) if d else e.name
                        assert e.inode() == st[rel].st_ino, (step, rel)
                for o in ("a", "b", "d/f", "d/h"):
                    os.chmod(p(o), 0o600)
    finally:
        if not testlib.umount(str(tfs)):
            testlib.umount(str(tfs), lazy=True)


NL = {"m/": Dir(), "m/s1/": Dir(), "m/s2/": Dir(), "lo/": Dir(),
      "lo/x/": Dir(), "lo/f": "f\n"}
NL_UPPER = {"m/": Dir(), "m/s3/": Dir(), "up/": Dir(), "up/y/": Dir(),
            "up/z/": Dir()}


def _nlink_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        for d in ("", "m", "lo", "up", "lo/x"):
            r["nlink " + d] = os.lstat(p(d)).st_nlink
        os.mkdir(p("lo/new"))
        os.mkdir(p("m/s4"))
        for d in ("m", "lo"):
            r["after mkdir " + d] = os.lstat(p(d)).st_nlink
        vfs = os.statvfs(m.mnt)
        r["statvfs"] = (vfs.f_namemax, vfs.f_flag & os.ST_RDONLY)
    return r


@pytest.mark.parametrize("mode", params("k-e"))
def test_dir_nlink_and_statvfs(tmp_path, mode):
    """st_nlink of merged, lower-only, upper-only dirs (find's leaf
    optimisation trusts it), before and after mkdir; statvfs f_namemax."""
    run_pair(tmp_path, mode, _nlink_probe, lowers=[NL], upper=NL_UPPER)


def _upper_link_probe(s):
    r = {}
    ino = Inos()
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        with open(p("u1"), "w") as f:
            f.write("upper\n")
        r["link"] = _try(os.link, p("u1"), p("d/u2"))
        r["both"] = _names(m, ["u1", "d/u2"], ino)
        r["unlink_u1"] = _try(os.unlink, p("u1"))
        r["left"] = _names(m, ["u1", "d/u2"], ino)
        r["link_lower_then_unlink_lower_name"] = (
            _try(os.link, p("other"), p("o2")), _try(os.unlink, p("other")))
        r["o2"] = _names(m, ["other", "o2"], ino)
    with s.mount() as m:
        r["after_remount"] = _names(m, ["d/u2", "o2"], Inos())
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_link_then_unlink_nlink(tmp_path, mode):
    """st_nlink of the remaining name drops when another name of the
    inode is unlinked (upper file; lower file linked then its original
    name unlinked), also after a remount."""
    run_pair(tmp_path, mode, _upper_link_probe, lowers=[HL])


@pytest.mark.parametrize("first", ["errovl", "kernel"])
def test_origin_shared_with_kernel(tmp_path, first):
    """One upper, two implementations: a file copied up by one keeps the
    lower st_ino when the other mounts the upper (both write and read
    overlay.origin), in stat and in readdir; a file created in the
    upper keeps its own number."""
    testlib.require_daemon()
    testlib.require_kernel_overlay()
    lo = str(tmp_path / "l")
    L.build(lo, {"a": "a\n", "d/b": "b\n", "c": "c\n"})
    lino = {n: os.lstat(os.path.join(lo, n)).st_ino for n in ("a", "d/b")}
    up, wk = str(tmp_path / "u"), str(tmp_path / "w")

    def mount(who):
        if who == "kernel":
            return testlib.KernelOverlay(str(tmp_path / "k"), lowers=[lo],
                                         upper=up, work=wk)
        return testlib.ErrovlMount(str(tmp_path / "e"), lowers=[lo],
                                   upper=up, work=wk)

    with mount(first) as m:
        for n in ("a", "d/b"):
            with open(os.path.join(m.mnt, n), "a") as f:
                f.write("more\n")
        with open(os.path.join(m.mnt, "new"), "w") as f:
            f.write("n\n")
    second = "kernel" if first == "errovl" else "errovl"
    with mount(second) as m:
        got = {n: os.lstat(os.path.join(m.mnt, n)).st_ino
               for n in ("a", "d/b")}
        dino = {e.name: e.inode() for e in os.scandir(m.mnt)}
        dino_d = {e.name: e.inode()
                  for e in os.scandir(os.path.join(m.mnt, "d"))}
        new = os.lstat(os.path.join(m.mnt, "new")).st_ino
    assert got == lino
    assert dino["a"] == lino["a"] and dino_d["b"] == lino["d/b"]
    assert dino["new"] == new == os.lstat(os.path.join(up, "new")).st_ino
