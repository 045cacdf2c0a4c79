# SPDX-License-Identifier: GPL-2.0-or-later
"""Directory rename with redirect_dir, uppers written by the kernel with
redirect_dir=on / metacopy=on, -o userxattr, and the fuse-overlayfs id
options (uidmapping=, gidmapping=, squash_to_*)."""
import errno
import os

import pytest

import testlib
from posixlib import params, read, res, run_pair, upper_xattrs
from testlib import layers as L
from testlib.layers import Dir, File

RD = {"d/": Dir(), "d/f": "d/f\n", "d/sub/g": "g\n", "keep": "k\n",
      "own": File(b"metacopy data " * 100, mode=0o644)}
REDIRECT_K = ("redirect_dir=on", "index=off", "metacopy=off")
METACOPY_K = ("redirect_dir=on", "index=off", "metacopy=on")


def _rename_probe(s):
    r = {}
    with s.mount() as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        r["rename_lower_dir"] = res(os.rename, p("d"), p("e"))
        r["rename_merged_sub"] = res(os.rename, p("e/sub"), p("moved"))
        r["tree"] = L.snapshot_tree(m.mnt)
    r["upper_e"] = upper_xattrs(os.path.join(s.upper, "e"))
    r["upper_moved"] = upper_xattrs(os.path.join(s.upper, "moved"))
    if s.kind == "kernel":
        assert "trusted.overlay.redirect" in r["upper_e"], r
    with s.mount() as m:
        r["tree_after_remount"] = L.snapshot_tree(m.mnt)
    return r


@pytest.mark.parametrize("mode", params(
    "k-e", xfail="P6: errovl has no redirect_dir=on (lower dir rename)"))
def test_rename_lower_dir_redirect_on(tmp_path, mode):
    """rename(2) of a lower and of a merged dir with redirect_dir=on:
    succeeds and writes trusted.overlay.redirect (kernel)."""
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
    """A lower dir renamed by the kernel (redirect_dir=on): errovl
    follows trusted.overlay.redirect or refuses to mount, clearly."""
    def ops(mnt):
        os.rename(os.path.join(mnt, "d"), os.path.join(mnt, "e"))
    lowers, upper, snap = _kernel_written(tmp_path, REDIRECT_K, ops)
    assert "trusted.overlay.redirect" in \
        upper_xattrs(os.path.join(upper, "e"))
    _errovl_reads(tmp_path, lowers, upper, snap, "redirect")


def test_reads_kernel_metacopy(tmp_path):
    """A lower file chowned by the kernel with metacopy=on (the upper
    is a sparse metadata-only copy): errovl must serve the lower data or
    refuse to mount; never zeros."""
    def ops(mnt):
        os.chown(os.path.join(mnt, "own"), 1234, 1234)
    lowers, upper, snap = _kernel_written(tmp_path, METACOPY_K, ops)
    assert "trusted.overlay.metacopy" in \
        upper_xattrs(os.path.join(upper, "own"))
    assert snap["own"]["sha256"] == L.sha256_file(
        os.path.join(lowers[0], "own"))
    _errovl_reads(tmp_path, lowers, upper, snap, "metacopy")


# --------------------------------------------------------------- userxattr

UX = {"d/": Dir(), "d/f": "f\n", "o/": Dir(), "o/hidden": "h\n", "x": "x\n",
      "t/": Dir(), "t/fromlower": "l\n"}
UX_UPPER = {"o/": Dir(xattrs={"user.overlay.opaque": "y"}),
            "o/visible": "v\n",
            "t/": Dir(xattrs={"trusted.overlay.opaque": "y"})}


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
        r["set_private"] = res(os.setxattr, p("x2") if False else p("o"),
                               "user.overlay.opaque", b"n")
    r["upper_d"] = upper_xattrs(os.path.join(s.upper, "d"), "")
    r["upper_x"] = os.path.lexists(os.path.join(s.upper, "x"))
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

ID_OPTS = ["uidmapping=0:1000:10", "gidmapping=0:1000:10", "squash_to_root",
           "squash_to_uid=1234", "squash_to_gid=55"]


@pytest.mark.parametrize("opt", ID_OPTS)
def test_id_option_rejected_by_name(tmp_path, opt):
    """Today: the id options are refused at mount time with a message
    naming the option, and nothing is mounted."""
    testlib.require_daemon()
    base = tmp_path
    for d in ("l", "u", "w", "m"):
        os.makedirs(base / d)
    o = f"lowerdir={base}/l,upperdir={base}/u,workdir={base}/w,{opt}"
    st, err, mounted = testlib.ErrovlMount.run(["-f", "-o", o,
                                                str(base / "m")],
                                               mnt=str(base / "m"))
    assert not mounted
    assert st not in (None, 0), err
    assert opt.split("=")[0] in err, err
    assert "AddressSanitizer" not in err and "runtime error" not in err, err


IDL = {"hostfile": File("h\n", uid=1000, gid=1000),
       "rootfile": File("r\n", uid=0, gid=0),
       "far": File("f\n", uid=5000, gid=5000)}


def _id_mount(tmp_path, opts):
    testlib.require_daemon()
    lo = str(tmp_path / "l0")
    L.build(lo, IDL)
    return testlib.ErrovlMount(str(tmp_path), lowers=[lo], opts=opts)


def _ids(m, n):
    st = os.lstat(os.path.join(m.mnt, n))
    return st.st_uid, st.st_gid


_INTENDED = "P7: fuse-overlayfs id options not implemented (rejected)"


@pytest.mark.xfail(strict=True, reason=_INTENDED)
def test_uidmapping_shifts_ids(tmp_path):
    """uidmapping=CONTAINER:HOST:LEN (fuse-overlayfs): host 1000 shows
    as 0 in the mount, unmapped ids as the overflow id 65534, and a file
    created by root in the mount is owned by host 1000 on the upper."""
    with _id_mount(tmp_path, ("uidmapping=0:1000:10",
                              "gidmapping=0:1000:10")) as m:
        assert _ids(m, "hostfile") == (0, 0)
        assert _ids(m, "far") == (65534, 65534)
        with open(os.path.join(m.mnt, "new"), "w") as f:
            f.write("n\n")
        assert _ids(m, "new") == (0, 0)
        os.chown(os.path.join(m.mnt, "rootfile"), 3, 3)
        assert _ids(m, "rootfile") == (3, 3)
    st = os.lstat(os.path.join(str(tmp_path), "upper", "new"))
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    st = os.lstat(os.path.join(str(tmp_path), "upper", "rootfile"))
    assert (st.st_uid, st.st_gid) == (1003, 1003)


@pytest.mark.xfail(strict=True, reason=_INTENDED)
def test_squash_to_root(tmp_path):
    """squash_to_root: every object shows as owned by 0:0."""
    with _id_mount(tmp_path, ("squash_to_root",)) as m:
        assert {_ids(m, n) for n in IDL} == {(0, 0)}
        assert _ids(m, "") == (0, 0)


@pytest.mark.xfail(strict=True, reason=_INTENDED)
def test_squash_to_uid_gid(tmp_path):
    """squash_to_uid=1234,squash_to_gid=55: every object shows as
    1234:55; the data is untouched."""
    with _id_mount(tmp_path, ("squash_to_uid=1234", "squash_to_gid=55")) \
            as m:
        assert {_ids(m, n) for n in IDL} == {(1234, 55)}
        assert read(os.path.join(m.mnt, "far")) == b"f\n"
