# SPDX-License-Identifier: GPL-2.0-or-later
"""Directory rename with redirect_dir, uppers written by the kernel with
redirect_dir=on / metacopy=on, -o userxattr, and the fuse-overlayfs id
options (uidmapping=, gidmapping=, squash_to_*)."""
import errno
import os
import subprocess

import pytest

import testlib
from posixlib import params, read, res, run_pair, upper_xattrs
from testlib import layers as L
from testlib.mounts import mounted_at
from testlib.layers import Dir, File, Link

RD = {"d/": Dir(), "d/f": "d/f\n", "d/sub/g": "g\n", "keep": "k\n",
      "own": File(b"metacopy data " * 100, mode=0o644),
      "own2": File(b"second file " * 100, mode=0o644),
      "hl": "hard linked\n", "hl2": Link("hl")}
REDIRECT_K = ("redirect_dir=on", "index=off", "metacopy=off")
METACOPY_K = ("redirect_dir=on", "index=off", "metacopy=on")


def _rename_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["rename_lower_dir"] = res(os.rename, p("d"), p("e"))
        r["rename_merged_sub"] = res(os.rename, p("e/sub"), p("moved"))
        r["tree"] = L.snapshot_tree(m.mnt)
    for k in ("e", "moved"):
        x = upper_xattrs(os.path.join(s.upper, k))
        # an origin names a lower inode: each side has its own layers
        if "trusted.overlay.origin" in x:
            x["trusted.overlay.origin"] = "(a file handle)"
        r["upper_" + k] = x
    if s.kind == "kernel":
        assert "trusted.overlay.redirect" in r["upper_e"], r
    with s.mount() as m:
        r["tree_after_remount"] = L.snapshot_tree(m.mnt)
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_rename_lower_dir_redirect_on(tmp_path, mode):
    """rename(2) of a lower and of a merged dir with redirect_dir=on:
    succeeds, writes trusted.overlay.redirect as the kernel does, and the
    tree is the same after a remount."""
    run_pair(tmp_path, mode, _rename_probe, lowers=[RD], kopts=REDIRECT_K,
             eopts=("redirect_dir=on",))


def _kernel_written(tmp_path, kopts, ops):
    """Kernel overlay with @kopts runs @ops on fresh layers; returns
    (lowers, upper, merged snapshot)."""
    testlib.require_kernel_overlay()
    testlib.require_daemon()
    base = str(tmp_path / "k")
    lower = os.path.join(base, "l0")
    L.build(lower, RD)
    upper = os.path.join(base, "upper")
    os.makedirs(upper)
    with testlib.KernelOverlay(base, lowers=[lower], upper=upper,
                               opts=kopts) as k:
        ops(k.mnt)
        snap = L.snapshot_tree(k.mnt)
    return [lower], upper, snap


def _errovl_reads(tmp_path, lowers, upper, snap, marker):
    """errovl on a kernel-written upper (fresh workdir): it must show
    the kernel's merged tree, or refuse to mount naming @marker."""
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=lowers, upper=upper,
                            work=str(tmp_path / "e" / "work"))
    try:
        m.start()
    except pytest.fail.Exception:
        log = m.log()
        assert marker in log.lower() or "overlay." + marker in log, \
            f"errovl refused the upper without naming {marker}:\n{log}"
        return "refused"
    try:
        got = L.snapshot_tree(m.mnt)
    finally:
        m.cleanup()
    log = m.log()
    failed = [k for k, v in got.items() if v.get("error") == errno.EIO]
    bad = []
    for k in sorted(set(snap) | set(got)):
        if snap.get(k) == got.get(k) or k in failed:
            continue
        if k not in got and any(k.startswith(f + "/") for f in failed):
            continue
        bad.append(f"  {k!r}:\n    kernel: {snap.get(k)}\n"
                   f"    errovl: {got.get(k)}")
    assert not bad, "errovl shows another tree:\n" + "\n".join(bad)
    if failed:
        assert marker in log, \
            f"EIO on {failed} without a message naming {marker}:\n{log}"
        return "eio"
    return "followed"


def test_reads_kernel_redirect(tmp_path):
    """Lower dirs renamed by the kernel (redirect_dir=on): errovl, with
    its default redirect_dir=off, follows trusted.overlay.redirect and
    shows the kernel's tree."""
    def ops(mnt):
        os.rename(os.path.join(mnt, "d"), os.path.join(mnt, "e"))
        os.mkdir(os.path.join(mnt, "n"))
        os.rename(os.path.join(mnt, "e/sub"), os.path.join(mnt, "n/s"))
    lowers, upper, snap = _kernel_written(tmp_path, REDIRECT_K, ops)
    assert "trusted.overlay.redirect" in \
        upper_xattrs(os.path.join(upper, "e"))
    # moved to another parent: an absolute redirect ("/d/sub")
    assert upper_xattrs(os.path.join(upper, "n/s")).get(
        "trusted.overlay.redirect", b"").startswith(b"/")
    assert _errovl_reads(tmp_path, lowers, upper, snap,
                         "redirect") == "followed"


def test_reads_kernel_metacopy(tmp_path):
    """A lower file chowned by the kernel with metacopy=on (the upper
    is a sparse metadata-only copy): errovl must serve the lower data or
    refuse to mount; never zeros."""
    def ops(mnt):
        os.chown(os.path.join(mnt, "own"), 1234, 1234)
        os.chown(os.path.join(mnt, "own2"), 1234, 1234)
        with open(os.path.join(mnt, "own2"), "ab") as f:
            f.write(b"appended\n")
    lowers, upper, snap = _kernel_written(tmp_path, METACOPY_K, ops)
    # own2: the write completed the copy-up (no metacopy mark left)
    assert "trusted.overlay.metacopy" not in \
        upper_xattrs(os.path.join(upper, "own2"))
    assert "trusted.overlay.metacopy" in \
        upper_xattrs(os.path.join(upper, "own"))
    assert snap["own"]["sha256"] == L.sha256_file(
        os.path.join(lowers[0], "own"))
    assert _errovl_reads(tmp_path, lowers, upper, snap,
                         "metacopy") == "followed"


def test_reads_kernel_index(tmp_path):
    """An upper/workdir used by the kernel with index=on (a lower hard
    link copied up, so work/index/ is not empty): errovl shows the
    kernel's tree or refuses to mount naming the index."""
    def ops(mnt):
        with open(os.path.join(mnt, "hl"), "ab") as f:
            f.write(b"more\n")
    testlib.require_kernel_overlay()
    testlib.require_daemon()
    base = str(tmp_path / "k")
    lower = os.path.join(base, "l0")
    L.build(lower, RD)
    upper = os.path.join(base, "upper")
    work = os.path.join(base, "work")
    with testlib.KernelOverlay(base, lowers=[lower], upper=upper, work=work,
                               opts=("redirect_dir=on", "index=on",
                                     "metacopy=off")) as k:
        ops(k.mnt)
        snap = L.snapshot_tree(k.mnt)
    assert os.listdir(os.path.join(work, "index"))
    assert snap["hl2"]["sha256"] == snap["hl"]["sha256"]
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=[lower],
                            upper=upper, work=work)
    try:
        m.start()
    except pytest.fail.Exception:
        assert "index" in m.log(), m.log()
        return
    try:
        got = L.snapshot_tree(m.mnt)
    finally:
        m.cleanup()
    from diffharness import diff_dicts
    d = diff_dicts(snap, got, "kernel", "errovl")
    assert not d, "errovl shows another tree:\n" + "\n".join(d)


# --------------------------------------------------------------- userxattr

UX = {"d/": Dir(), "d/f": "f\n", "o/": Dir(), "o/hidden": "h\n", "x": "x\n",
      "t/": Dir(), "t/fromlower": "l\n"}
UX_UPPER = {"o/": Dir(xattrs={"user.overlay.opaque": "y"}),
            "o/visible": "v\n",
            "t/": Dir(xattrs={"trusted.overlay.opaque": "y"})}


def _ux_keep(name):
    """user.* xattrs on the upper, minus the ones only the kernel writes
    (origin, impure, uuid: no effect on the merged view)."""
    return name.startswith("user.") and name not in (
        "user.overlay.origin", "user.overlay.impure", "user.overlay.uuid")


def _userxattr_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["o"] = sorted(os.listdir(p("o")))
        r["t_trusted_opaque_ignored"] = sorted(os.listdir(p("t")))
        r["rmtree"] = res(lambda: [os.unlink(p("d/f")), os.rmdir(p("d"))])
        r["mkdir"] = res(os.mkdir, p("d"))
        r["d"] = sorted(os.listdir(p("d")))
        r["unlink"] = res(os.unlink, p("x"))
        r["list_o"] = sorted(os.listxattr(p("o")))
        r["set_private"] = res(os.setxattr, p("o"), "user.overlay.opaque",
                               b"n")
    r["upper_d"] = upper_xattrs(os.path.join(s.upper, "d"), "")
    r["upper_x"] = os.path.lexists(os.path.join(s.upper, "x"))
    r["upper_tree"] = L.snapshot_tree(s.upper, keep=_ux_keep, nlink=False)
    with s.mount() as m:
        r["tree"] = L.snapshot_tree(m.mnt, keep=lambda n: True)
    return r


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_userxattr(tmp_path, mode):
    """-o userxattr: user.overlay.opaque read from the upper and written
    on a dir that replaces a lower one; trusted.* marks not interpreted;
    user.overlay.* hidden through the mount."""
    run_pair(tmp_path, mode, _userxattr_probe, lowers=[UX], upper=UX_UPPER,
             kopts=("redirect_dir=nofollow", "index=off", "metacopy=off",
                    "userxattr"),
             eopts=("userxattr",))


# ------------------------------------------------- fuse-overlayfs id opts

def test_id_options_accepted(tmp_path):
    """The id options mount and apply to the root too (bad values:
    tests/fs/test_setup_errors.py)."""
    testlib.require_daemon()
    lo = str(tmp_path / "l")
    os.makedirs(lo)
    opts = ("uidmapping=0:1000:10:10:5000:5", "gidmapping=0:1000:10",
            "squash_to_uid=7")
    with testlib.ErrovlMount(str(tmp_path / "e"), lowers=[lo],
                             opts=opts) as m:
        st = os.lstat(m.mnt)
        assert (st.st_uid, st.st_gid) == (7, 1000)


IDL = {"hostfile": File("h\n", uid=1000, gid=1000),
       "rootfile": File("r\n", uid=0, gid=0),
       "far": File("f\n", uid=5000, gid=5000),
       "d/": Dir(uid=1001, gid=1001), "d/in": File("i\n", uid=12, gid=3)}


class _Fofs:
    """fuse-overlayfs on the same layout (the reference for its own id
    options); unmounted with fusermount3 on exit."""

    def __init__(self, base, lowers, upper, work, mnt, opts):
        self.mnt = mnt
        self.argv = ["fuse-overlayfs", "-o", ",".join(
            [f"lowerdir={':'.join(lowers)}", f"upperdir={upper}",
             f"workdir={work}"] + list(opts)), mnt]
        os.makedirs(mnt, exist_ok=True)

    def __enter__(self):
        r = subprocess.run(self.argv, capture_output=True, text=True)
        if r.returncode or not testlib.wait_for_mount(self.mnt, None, 10):
            self.__exit__()
            pytest.fail("fuse-overlayfs did not mount: " + r.stderr)
        return self

    def __exit__(self, *exc):
        if mounted_at(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt],
                           capture_output=True)
        if mounted_at(self.mnt):
            testlib.umount(self.mnt, lazy=True)
        return False


def _id_probe(opts):
    def probe(s):
        r = {}
        if s.kind == "kernel":
            mnt = _Fofs(s.base, s.lowers, s.upper, s.work,
                        os.path.join(s.base, "fofs"), opts)
        else:
            mnt = s.mount(opts=opts)
        with mnt as m:
            p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
            names = ["", "hostfile", "rootfile", "far", "d", "d/in"]
            r["shown"] = {n: _ids(p(n)) for n in names}
            with open(p("new"), "w") as f:
                f.write("n\n")
            r["new"] = _ids(p("new"))
            r["chown_1003"] = res(os.chown, p("rootfile"), 1003, 1003)
            r["rootfile_after"] = _ids(p("rootfile"))
            r["far_data"] = read(p("far"))
        r["upper"] = {n: res(_ids, os.path.join(s.upper, n))
                      for n in ("new", "rootfile")}
        return r
    return probe


def _ids(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


@pytest.mark.parametrize("opts", [
    ("uidmapping=0:1000:10", "gidmapping=0:1000:10"),
    ("uidmapping=0:1000:10:10:5000:5", "gidmapping=0:1000:10"),
    ("squash_to_root",),
    ("squash_to_uid=1234", "squash_to_gid=55"),
], ids=["map", "map2", "squash_root", "squash_ids"])
def test_id_options_like_fuse_overlayfs(tmp_path, opts):
    """The fuse-overlayfs id options behave as in fuse-overlayfs, compared
    with fuse-overlayfs itself on identical layers: ids shown for lower
    objects, owner of a file created by root, chown through the mount,
    and the ids stored on the upper."""
    testlib.require_tools("fuse-overlayfs", "fusermount3")
    run_pair(tmp_path, "k-e", _id_probe(opts), lowers=[IDL],
             ref="fuse-overlayfs")
