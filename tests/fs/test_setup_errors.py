# SPDX-License-Identifier: GPL-2.0-or-later
"""Every setup error of the daemon: exit status 1, exactly one clear
line on stderr naming the offending path or option, and no mount left
behind."""
import os
import subprocess
import time

import pytest

import testlib
from testlib.mounts import mounted_at


def _dirs(tmp_path, *names):
    out = {}
    for n in names:
        p = tmp_path / n
        p.mkdir(parents=True, exist_ok=True)
        out[n] = str(p)
    return out


def _expect_setup_error(argv, mnt, *needles, cwd=None):
    """Runs the daemon; asserts status 1, one stderr line containing
    every needle, nothing mounted on @mnt."""
    binary = testlib.require_daemon()
    p = subprocess.Popen([binary] + argv, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # A daemon that mounts instead of failing is caught within ~0.5 s.
    was_mounted = False
    for _ in range(500):
        if p.poll() is not None:
            break
        if mounted_at(mnt):
            was_mounted = True
            time.sleep(0.5)
            break
        time.sleep(0.02)
    still = p.poll() is None
    was_mounted = was_mounted or bool(mounted_at(mnt))
    if was_mounted:
        subprocess.run(["fusermount3", "-u", "-z", mnt], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        testlib.umount(mnt, lazy=True)
    if still:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    out, err = p.communicate(timeout=10)
    text = err.decode(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert not still, f"daemon did not exit (mounted={was_mounted}): {argv}"
    assert not was_mounted, f"a mount was left on {mnt}"
    assert p.returncode == 1, (f"exit status {p.returncode}, want 1; "
                               f"stderr: {text!r}")
    assert len(lines) == 1, f"want exactly one stderr line, got: {text!r}"
    for n in needles:
        assert n in lines[0], f"{n!r} not named in {lines[0]!r}"
    return lines[0]


def _o(d, lower=None, upper=None, work=None, extra=()):
    o = [f"lowerdir={lower if lower is not None else d['l']}"]
    if upper is not False:
        o.append(f"upperdir={upper or d['u']}")
    if work is not False:
        o.append(f"workdir={work or d['w']}")
    return ["-f", "-o", ",".join(o + list(extra))]


@pytest.fixture
def d(tmp_path):
    testlib.require_daemon()
    return _dirs(tmp_path, "l", "l2", "u", "w", "m")


def test_missing_lowerdir_path(d, tmp_path):
    bad = str(tmp_path / "nope")
    _expect_setup_error(_o(d, lower=bad) + [d["m"]], d["m"], bad)


def test_lowerdir_is_a_file(d, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    _expect_setup_error(_o(d, lower=str(f)) + [d["m"]], d["m"], str(f))


def test_second_missing_lower_named(d, tmp_path):
    bad = str(tmp_path / "missing2")
    _expect_setup_error(_o(d, lower=d["l"] + ":" + bad) + [d["m"]], d["m"],
                        bad)


def test_missing_upperdir(d, tmp_path):
    bad = str(tmp_path / "noupper")
    _expect_setup_error(_o(d, upper=bad) + [d["m"]], d["m"], bad)


def test_upperdir_is_a_file(d, tmp_path):
    f = tmp_path / "ufile"
    f.write_text("x")
    _expect_setup_error(_o(d, upper=str(f)) + [d["m"]], d["m"], str(f))


def test_missing_workdir(d, tmp_path):
    bad = str(tmp_path / "nowork")
    _expect_setup_error(_o(d, work=bad) + [d["m"]], d["m"], bad)


def test_upperdir_without_workdir(d):
    _expect_setup_error(_o(d, work=False) + [d["m"]], d["m"], "workdir")


def test_workdir_without_upperdir(d):
    _expect_setup_error(_o(d, upper=False) + [d["m"]], d["m"], "upperdir")


def test_relative_paths_resolve_against_cwd(d, tmp_path):
    """Relative layer paths and mountpoint are resolved against the
    daemon's working directory at startup, as kernel overlayfs does."""
    binary = testlib.require_daemon()
    with open(os.path.join(d["l"], "from_lower"), "w") as f:
        f.write("lower\n")
    p = subprocess.Popen([binary, "-f", "-o",
                          "lowerdir=l,upperdir=u,workdir=w", "m"],
                         cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        testlib.wait_for_mount(d["m"], p)
        with open(os.path.join(d["m"], "from_lower")) as f:
            assert f.read() == "lower\n"
        with open(os.path.join(d["m"], "new"), "w") as f:
            f.write("upper\n")
    finally:
        testlib.umount(d["m"]) or testlib.umount(d["m"], lazy=True)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    assert p.returncode == 0, p.stderr.read()
    with open(os.path.join(d["u"], "new")) as f:
        assert f.read() == "upper\n"


def test_relative_missing_lowerdir_named(d, tmp_path):
    _expect_setup_error(_o(d, lower="nope") + [d["m"]], d["m"], "nope",
                        cwd=str(tmp_path))


def test_workdir_on_other_filesystem(d, tmp_path):
    t = tmp_path / "tmpfs"
    t.mkdir()
    r = testlib.sysop.mount("tmpfs", str(t), "tmpfs", 0, "size=1M")
    assert r == 0, os.strerror(-r)
    try:
        _expect_setup_error(_o(d, work=str(t)) + [d["m"]], d["m"], str(t))
    finally:
        testlib.umount(str(t)) or testlib.umount(str(t), lazy=True)


def test_workdir_inside_upperdir(d):
    w = os.path.join(d["u"], "w")
    os.mkdir(w)
    _expect_setup_error(_o(d, work=w) + [d["m"]], d["m"], w)


def test_upperdir_inside_workdir(d):
    u = os.path.join(d["w"], "u")
    os.mkdir(u)
    _expect_setup_error(_o(d, upper=u) + [d["m"]], d["m"], u)


def test_upperdir_inside_lowerdir(d):
    u = os.path.join(d["l"], "u")
    os.mkdir(u)
    _expect_setup_error(_o(d, upper=u) + [d["m"]], d["m"], u)


def test_lowerdir_inside_upperdir(d):
    lo = os.path.join(d["u"], "lo")
    os.mkdir(lo)
    _expect_setup_error(_o(d, lower=lo) + [d["m"]], d["m"], lo)


def test_workdir_inside_lowerdir(d):
    w = os.path.join(d["l"], "w")
    os.mkdir(w)
    _expect_setup_error(_o(d, work=w) + [d["m"]], d["m"], w)


def test_same_upper_already_mounted(d, tmp_path):
    m2 = str(tmp_path / "m2")
    os.mkdir(m2)
    with testlib.ErrovlMount(str(tmp_path / "first"), lowers=[d["l"]],
                             upper=d["u"], work=d["w"], mnt=d["m"]) as m:
        line = _expect_setup_error(_o(d) + [m2], m2)
        assert str(m.proc.pid) in line, \
            f"message does not name the pid {m.proc.pid}: {line!r}"
        assert m.mounted
    assert m.returncode == 0


def test_501_lower_layers(d, tmp_path):
    many = []
    for i in range(501):
        p = tmp_path / "many" / str(i)
        p.mkdir(parents=True)
        many.append(str(p))
    _expect_setup_error(_o(d, lower=":".join(many)) + [d["m"]], d["m"],
                        "500")


def test_500_lower_layers_mount(d, tmp_path):
    many = []
    for i in range(500):
        p = tmp_path / "many" / str(i)
        p.mkdir(parents=True)
        (p / f"f{i}").write_text(str(i))
        many.append(str(p))
    with testlib.ErrovlMount(str(tmp_path / "e"), lowers=many, upper=d["u"],
                             work=d["w"], mnt=d["m"]) as m:
        names = os.listdir(m.mnt)
        assert len(names) == 500
        with open(os.path.join(m.mnt, "f499")) as f:
            assert f.read() == "499"


def test_empty_lowerdir(d):
    _expect_setup_error(_o(d, lower="") + [d["m"]], d["m"], "lowerdir")


def test_empty_layer_in_lowerdir(d):
    _expect_setup_error(_o(d, lower=d["l"] + "::" + d["l2"]) + [d["m"]],
                        d["m"], "lowerdir")


def test_no_lowerdir_option(d):
    _expect_setup_error(["-f", "-o", f"upperdir={d['u']},workdir={d['w']}",
                         d["m"]], d["m"], "lowerdir")


def test_single_lower_without_upper(d):
    _expect_setup_error(["-f", "-o", f"lowerdir={d['l']}", d["m"]], d["m"],
                        "lowerdir")


def test_unknown_option_named(d):
    _expect_setup_error(_o(d, extra=["frobnicate=3"]) + [d["m"]], d["m"],
                        "frobnicate")


@pytest.mark.parametrize("opt", ["xattr_permissions=1", "static_nlink",
                                 "plugins=/x.so", "fast_ino=1", "ino32_t",
                                 "noxattrs=1"])
def test_unsupported_fuse_overlayfs_option_named(d, opt):
    _expect_setup_error(_o(d, extra=[opt]) + [d["m"]], d["m"],
                        opt.split("=")[0])


@pytest.mark.parametrize("opt", [
    "uidmapping=0:1000", "uidmapping=0:1000:0", "uidmapping=a:b:c",
    "gidmapping=0:1000:10:", "uidmapping=",
    "uidmapping=-1:0:1", "uidmapping=4294967295:0:1",
    "uidmapping=4294967290:0:10", "uidmapping=0:1000:10:x",
    "squash_to_uid=", "squash_to_uid=-5", "squash_to_gid=1x",
    "squash_to_root=1", "uidmapping",
    "uidmapping=" + ":".join(["0:1:1"] * 65)])
def test_bad_id_option_named(d, opt):
    """fuse-overlayfs' id options with a bad value: refused, naming the
    option; never mounted with a partial map."""
    _expect_setup_error(_o(d, extra=[opt]) + [d["m"]], d["m"],
                        opt.split("=")[0])


@pytest.mark.parametrize("opt", ["index=on", "metacopy=on",
                                 "nfs_export=on", "redirect_dir=yes",
                                 "redirect_dir="])
def test_unsupported_kernel_feature_named(d, opt):
    _expect_setup_error(_o(d, extra=[opt]) + [d["m"]], d["m"],
                        opt.split("=")[0])


@pytest.mark.parametrize("opt", ["redirect_dir=on", "redirect_dir=follow"])
def test_redirect_with_userxattr_refused(d, opt):
    """As the kernel: redirects are never followed with userxattr (the
    layers' owner could plant them), so asking for them is an error."""
    _expect_setup_error(_o(d, extra=["userxattr", opt]) + [d["m"]], d["m"],
                        "redirect_dir", "userxattr")


def test_missing_mountpoint(d, tmp_path):
    bad = str(tmp_path / "nomnt")
    _expect_setup_error(_o(d) + [bad], bad, bad)


def test_mountpoint_is_a_file(d, tmp_path):
    f = tmp_path / "mfile"
    f.write_text("x")
    _expect_setup_error(_o(d) + [str(f)], str(f), str(f))


def test_no_mountpoint_argument(d):
    _expect_setup_error(_o(d), d["m"], "mountpoint")


def test_no_options_at_all(d):
    _expect_setup_error([d["m"]], d["m"], "lowerdir")


@pytest.mark.parametrize("opt", ["spin=", "spin=-1", "spin=x",
                                 "spin=1000001", "spin=5us"])
def test_bad_spin_named(d, opt):
    _expect_setup_error(_o(d, extra=[opt]) + [d["m"]], d["m"], "spin")


@pytest.mark.parametrize("opt", ["readahead=", "readahead=-1", "readahead=x",
                                 "readahead=65537", "readahead=1m"])
def test_bad_readahead_named(d, opt):
    _expect_setup_error(_o(d, extra=[opt]) + [d["m"]], d["m"], "readahead")
