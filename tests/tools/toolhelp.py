# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the real-tool tests: run the same tool script in a kernel
overlayfs mount and in an errovl mount built over the same lower
directories, and compare what the tools printed and what the merged
trees look like afterwards.

The lower directories are shared read-only by both mounts (each side gets
its own upper and workdir), so the layers are identical by construction.
Every tool runs with the mount point as its working directory and with
relative paths, so its output does not name the mount.

API
    MODES                      pytest params: errovl plain ("e") and
                               with -o volatile ("ev")
    errovl_opts(mode)          the errovl options of a mode
    tool_env(home, **extra)    a fixed environment (C locale, UTC, fixed
                               git identity and dates)
    run(argv|str, cwd, env)    (exit status, stdout, stderr) of a command
    merged_picture(root, ...)  tree snapshot + hard-link partition
    both(tmp_path, mode, lowers, action, ...)
                               runs @action on kernel then errovl and
                               returns {"k": .., "e": ..} of
                               (action result, picture); the errovl daemon
                               must exit 0 with no sanitizer report
    assert_same(res, what)     compares the two sides with a readable diff
"""
import os
import subprocess

import testlib
from testlib import layers as L

import pytest

MODES = [pytest.param("e", id="errovl"),
         pytest.param("ev", id="errovl-volatile")]

_OPTS = {"e": (), "ev": ("volatile",)}

# Keep the sanitizer quarantine small: some tests make many nodes.
ASAN_ENV = {"ASAN_OPTIONS": "quarantine_size_mb=8:detect_leaks=1",
            "UBSAN_OPTIONS": "print_stacktrace=1"}

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def errovl_opts(mode):
    return _OPTS[mode]


def tool_env(home, **extra):
    """Environment for the tools: nothing that differs between the two
    runs (dates of git commits are fixed, so hashes match)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "LC_ALL": "C",
        "TZ": "UTC",
        "GIT_AUTHOR_NAME": "T. Ester",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "T. Ester",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": "2020-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2020-01-02T03:04:05Z",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(argv, cwd, env=None, timeout=120, user=None):
    """Runs @argv (a list, or a string for sh -c) in @cwd; returns
    (status, stdout, stderr) as text.  @user: (uid, gid) to run as."""
    if isinstance(argv, str):
        argv = ["sh", "-c", argv]
    pre = None
    if user is not None:
        uid, gid = user

        # Enter @cwd as the user: root may not enter a FUSE mount that
        # a user's daemon serves (no allow_other).
        target, cwd = cwd, None

        def pre():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.chdir(target)
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, preexec_fn=pre)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def keep_all_xattrs(name):
    """Every xattr a tool can see through the mount except the security
    module's label."""
    return not name.startswith("security.selinux")


def link_groups(root, hide=()):
    """The partition of the non-directories under @root into names that
    share an inode: a sorted list of sorted name lists (only groups of two
    or more).  Inode numbers themselves are not part of the result."""
    by_ino = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = [x for x in dirs
                   if os.path.normpath(os.path.join(rel, x)) not in hide]
        for n in files + [x for x in dirs if os.path.islink(
                os.path.join(d, x))]:
            r = os.path.normpath(os.path.join(rel, n))
            if r in hide:
                continue
            try:
                st = os.lstat(os.path.join(d, n))
            except OSError:
                continue
            by_ino.setdefault((st.st_dev, st.st_ino), []).append(r)
    return sorted(sorted(g) for g in by_ino.values() if len(g) > 1)


def merged_picture(root, hide=(), opaque=(), keep=keep_all_xattrs):
    """{"tree": snapshot, "links": partition} of @root.  @hide: relative
    paths left out entirely; @opaque: relative paths of regular files
    whose content legitimately differs (only type and mode are kept)."""
    snap = L.snapshot_tree(root, keep=keep, nlink=True, hide=hide)
    for p in opaque:
        if p in snap and snap[p].get("type") == "reg":
            snap[p] = {"type": "reg", "mode": snap[p]["mode"],
                       "note": "content not compared"}
    return {"tree": snap, "links": link_groups(root, hide)}


def sanitizer_report(log):
    """The lines of a daemon log that report a sanitizer error."""
    return [ln for ln in log.splitlines()
            if any(m in ln for m in SANITIZER_MARKS)]


def _finish_errovl(m):
    st = m.unmount(wait=True, timeout=60)
    log = m.log()
    bad = sanitizer_report(log)
    assert not bad, "sanitizer report from errovl:\n" + log[-6000:]
    assert st == 0, f"errovl exited with {st}:\n" + log[-3000:]


def mount_side(side, base, lowers, mode=None, upper=None, work=None,
               opts=(), binary=None):
    """An unstarted mount object: kernel overlayfs (@side "k") or errovl
    with the options of @mode (@side "e") over @lowers.  @binary: run
    this instead of the daemon (a wrapper that execs it)."""
    if side == "k":
        kopts = testlib.DEFAULT_KERNEL_OPTS
        if "userxattr" in opts:
            # the kernel refuses userxattr with redirects followed
            kopts = tuple("redirect_dir=nofollow" if o == "redirect_dir=off"
                          else o for o in kopts)
        return testlib.KernelOverlay(str(base), lowers=lowers, upper=upper,
                                     work=work, opts=kopts + tuple(opts))
    return testlib.ErrovlMount(str(base), lowers=lowers, upper=upper,
                               work=work, opts=errovl_opts(mode) +
                               tuple(opts), env=ASAN_ENV, timeout=30,
                               binary=binary)


def both(tmp_path, mode, lowers, action, hide=(), opaque=(), opts=(),
         picture=True, binary=None, cross=True, verify=None):
    """Runs @action(mnt, side) in a kernel overlay ("k") and then in an
    errovl mount ("e") of @mode, each with a fresh upper over the shared
    @lowers.  Returns {"k": (result, picture), "e": (...)} where picture
    is merged_picture() of the mount taken before unmounting (None when
    @picture is false).  The errovl daemon must exit 0 without a
    sanitizer report.  With @cross (and @picture), kernel overlayfs is
    then mounted on the upper errovl wrote (fresh workdir): its merged
    tree must be the kernel's own final one ("x": (None, picture)).  @verify:
    verify(mnt, side) is run in a second mount of the same upper and
    workdir after the first was unmounted; its results are in
    "k2"/"e2" (result, picture)."""
    testlib.require_kernel_overlay()
    testlib.require_daemon()
    out = {}
    for side in ("k", "e"):
        m = mount_side(side, tmp_path / side, lowers, mode, opts=opts,
                       binary=binary)
        with m:
            r = action(m.mnt, side)
            pic = merged_picture(m.mnt, hide, opaque) if picture else None
            if side == "e":
                _finish_errovl(m)
        out[side] = (r, pic)
        if verify is None:
            continue
        m = mount_side(side, tmp_path / side, lowers, mode, opts=opts,
                       binary=binary)
        with m:
            r = verify(m.mnt, side)
            pic = merged_picture(m.mnt, hide, opaque) if picture else None
            if side == "e":
                _finish_errovl(m)
        out[side + "2"] = (r, pic)
    if cross and picture:
        x = mount_side("k", tmp_path / "x", lowers, mode, opts=opts,
                       upper=str(tmp_path / "e" / "upper"))
        with x:
            out["x"] = (None, merged_picture(x.mnt, hide, opaque))
    return out


def _diff_dicts(a, b):
    lines = []
    for k in sorted(set(a) | set(b), key=str):
        if a.get(k) != b.get(k):
            lines.append(f"  {k}:\n    kernel: {a.get(k)!r}\n"
                         f"    errovl: {b.get(k)!r}")
    return "\n".join(lines)


def assert_same(res, what="result"):
    """Asserts the kernel and errovl results and pictures are equal (also
    those of the remount, when there was one)."""
    if "k2" in res:
        assert_same({"k": res["k2"], "e": res["e2"]},
                    what + " (after the remount)")
    (rk, pk), (re_, pe) = res["k"], res["e"]
    assert rk == re_, f"{what} differs:\n kernel: {rk!r}\n errovl: {re_!r}"
    if pk is None:
        return
    if pk["tree"] != pe["tree"]:
        pytest.fail("merged tree differs:\n" +
                    _diff_dicts(pk["tree"], pe["tree"]))
    assert pk["links"] == pe["links"], "hard-link groups differ"
    if "x" in res:
        # the upper as the last mount (the remount, if any) left it
        pk = res["k2"][1] if res.get("k2") else pk
        px = res["x"][1]
        if pk["tree"] != px["tree"]:
            pytest.fail("kernel overlayfs on errovl's upper differs from "
                        "the kernel's own run:\n" +
                        _diff_dicts(pk["tree"], px["tree"]))
        assert pk["links"] == px["links"], \
            "hard-link groups differ (kernel on errovl's upper)"
