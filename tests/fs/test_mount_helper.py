# SPDX-License-Identifier: GPL-2.0-or-later
"""`mount -t fuse.errovl` through mount.fuse3 (the binary found on PATH),
the daemonised (non -f) start, and the harness's own ability to see a
difference (a differential test that can never fail proves nothing)."""
import os
import subprocess
import time

import pytest

import diffharness as H
import testlib
from testlib import layers as L
from testlib.mounts import mounted_at


def _daemon_pids(binary, mnt):
    """pids of processes running @binary with @mnt on their command line."""
    out = []
    real = os.path.realpath(binary)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if exe == real and os.fsencode(mnt) in cmd:
            out.append(int(pid))
    return out


def _wait_gone(pids, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(os.path.exists(f"/proc/{p}") for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("via", ["mount.fuse3", "mount-t-fuse", "daemonised"])
def test_mount_type_fuse_errovl(tmp_path, via):
    """mount(8) resets PATH to the standard one before running its
    helpers, so `mount -t fuse.errovl` only finds an installed errovl.
    "mount.fuse3" runs exactly what mount(8) runs for -t fuse.errovl
    (mount.fuse3 SOURCE MNT -t errovl -o OPTS, errovl found on PATH);
    "mount-t-fuse" goes through mount(8) with the "PROGRAM#SOURCE" form."""
    binary = testlib.require_daemon()
    testlib.require_tools("mount", "mount.fuse3")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(binary, bindir / "errovl")
    lo, up, wk, mnt = (str(tmp_path / n) for n in ("l", "u", "w", "m"))
    L.build(lo, {"hello": "world\n", "d/f": "f\n"})
    for p in (up, wk, mnt):
        os.mkdir(p)
    opts = f"lowerdir={lo},upperdir={up},workdir={wk}"
    env = dict(os.environ)
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    if via == "mount.fuse3":
        argv = ["mount.fuse3", "errovl", mnt, "-t", "errovl", "-o", opts]
    elif via == "mount-t-fuse":
        argv = ["mount", "-t", "fuse", "-o", opts, f"{bindir}/errovl#errovl",
                mnt]
    else:
        argv = [str(bindir / "errovl"), "-o", opts, mnt]
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    pids = []
    try:
        assert r.returncode == 0, f"{argv} failed: {r.stderr}"
        assert testlib.wait_for_mount(mnt, timeout=10)
        assert mounted_at(mnt).startswith("fuse"), mounted_at(mnt)
        pids = _daemon_pids(binary, mnt)
        assert len(pids) == 1, f"daemon processes for {mnt}: {pids}"
        with open(os.path.join(mnt, "hello")) as f:
            assert f.read() == "world\n"
        with open(os.path.join(mnt, "new"), "w") as f:
            f.write("x")
        assert sorted(os.listdir(mnt)) == ["d", "hello", "new"]
    finally:
        if mounted_at(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt], check=False)
        if mounted_at(mnt):
            testlib.umount(mnt, lazy=True)
        gone = _wait_gone(pids)
        for p in pids:
            if os.path.exists(f"/proc/{p}"):
                os.kill(p, 9)
    assert gone, f"the daemon {pids} did not exit after the unmount"
    with open(os.path.join(up, "new")) as f:
        assert f.read() == "x"


# ----------------------------------------------------- harness self-checks

def test_harness_sees_a_different_errno(tmp_path):
    """kernel vs kernel with redirect_dir=on on one side: renaming a lower
    dir succeeds there and fails with EXDEV on the other; the harness must
    report it."""
    testlib.require_kernel_overlay()
    sc = H.Scenario("selfcheck", lowers=[{"ld/": L.Dir(), "ld/f": "f"}],
                    ops=[("rename", "ld", "ld2"), ("readdir", "")])
    a = H.KernelSide()
    b = H.KernelSide(("redirect_dir=on", "index=off", "metacopy=off"))
    orig = H.make_sides
    H.make_sides = lambda mode, sc=None: (a, b)
    try:
        with pytest.raises(pytest.fail.Exception) as ei:
            H.run_differential("k-k", sc, tmp_path)
    finally:
        H.make_sides = orig
    msg = str(ei.value)
    assert "step 0" in msg and "EXDEV" in msg
    assert "merged tree differs" in msg and "upper dir differs" in msg


def test_snapshot_sees_content_xattr_and_whiteout(tmp_path):
    testlib.require_root()  # mknod of whiteouts, trusted.* xattrs
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    L.build(a, {"f": L.File("one", xattrs={"user.k": "1"}),
                "w": L.Whiteout(), "o/": L.Dir(opaque=True)})
    L.build(b, {"f": L.File("two", xattrs={"user.k": "2"}), "w": "x",
                "o/": L.Dir()})
    ka = L.snapshot_tree(a, keep=L.upper_xattr_filter)
    kb = L.snapshot_tree(b, keep=L.upper_xattr_filter)
    assert ka["w"] == {"type": "whiteout"}
    assert ka["o"]["xattrs"] == {"trusted.overlay.opaque": b"y"}
    d = "\n".join(H.diff_dicts(ka, kb))
    assert "'f'" in d and "'w'" in d and "'o'" in d
    # times and inode numbers never make a difference
    os.utime(os.path.join(b, "f"), (1, 1))
    assert L.snapshot_tree(b)["f"]["sha256"] == kb["f"]["sha256"]


def test_seekdir_check_reports_entries(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for i in range(40):
        (d / f"n{i}").write_text("")
    assert H.seekdir_check(str(d)) == ("entries", 42)
    assert len(H.readdir_raw(str(d))) == 40


def test_kernel_reference_options_are_this_kernels_defaults():
    """The kernel side runs with redirect_dir=off,index=off,metacopy=off.
    On this kernel those are the module defaults too, so the reference
    is plain `mount -t overlay` behaviour."""
    testlib.require_kernel_overlay()
    base = "/sys/module/overlay/parameters"
    want = {"redirect_dir": "N", "index": "N", "metacopy": "N"}
    have = {}
    for k in want:
        try:
            with open(os.path.join(base, k)) as f:
                have[k] = f.read().strip()
        except OSError:
            pytest.skip(f"{base}/{k} not readable")
    if have != want:
        pytest.skip(f"this kernel's overlay defaults differ: {have}; the "
                    "harness still passes the options explicitly")
    assert H.KERNEL_OPTS == ("redirect_dir=off", "index=off", "metacopy=off")
