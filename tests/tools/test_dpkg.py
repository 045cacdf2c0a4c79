# SPDX-License-Identifier: GPL-2.0-or-later
"""dpkg as a package manager in the mount.  The lower layer is a root
with a dpkg database where version 1 of a small package is installed;
in the mount version 2 is installed over it (dpkg unpacks to .dpkg-new
names, keeps .dpkg-tmp hard-link backups, renames over the lower files,
drops files the new version no longer has and asks about nothing: the
changed conffile is kept), verified, listed and removed.  dpkg's output
and the merged tree must match kernel overlayfs."""
import os

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

DPKG = ["dpkg", "--root=.", "--force-not-root", "--force-script-chrootless",
        "--force-confold", "--no-triggers", "--log=/dev/null"]


def _deb(tmp_path, version, files, env):
    """Builds errovl-probe_<version>_all.deb from {path: text}."""
    root = tmp_path / f"pkg-{version}"
    spec = {
        "DEBIAN/control": (f"Package: errovl-probe\nVersion: {version}\n"
                           "Architecture: all\nMaintainer: T <t@e.org>\n"
                           "Description: probe\n probe package\n"),
        "DEBIAN/conffiles": "/etc/errovl-probe.conf\n",
    }
    spec.update(files)
    L.build(str(root), spec)
    for d, dirs, fs in os.walk(root):
        os.chmod(d, 0o755)
    deb = str(tmp_path / f"errovl-probe_{version}_all.deb")
    st, out, err = T.run(["dpkg-deb", "--root-owner-group", "-Zgzip",
                          "--build", str(root), deb], str(tmp_path),
                         dict(env, SOURCE_DATE_EPOCH="1600000000"))
    assert st == 0, err
    return deb


def _lower_root(tmp_path, deb1, env):
    root = tmp_path / "lower"
    L.build(str(root), {"var/lib/dpkg/status": "",
                        "var/lib/dpkg/available": "",
                        "var/lib/dpkg/info/.keep": "",
                        "var/lib/dpkg/updates": L.Dir(),
                        "etc": L.Dir(), "usr/share": L.Dir()})
    os.unlink(root / "var/lib/dpkg/info/.keep")
    st, out, err = T.run(DPKG + ["-i", deb1], str(root), env)
    assert st == 0, out + err
    # a local change of the conffile, which the upgrade must keep
    with open(root / "etc/errovl-probe.conf", "a") as f:
        f.write("local=1\n")
    return str(root)


def _script(deb2, env):
    def action(mnt, side):
        out = []
        for args in (["-l", "errovl-probe"], ["-i", deb2], ["-V"],
                     ["-L", "errovl-probe"], ["-s", "errovl-probe"],
                     ["-r", "errovl-probe"], ["-P", "errovl-probe"],
                     ["-l"]):
            out.append((args[0],) + T.run(DPKG + args, mnt, env))
        out.append(T.run("find . -path ./var -prune -o -print | sort", mnt,
                         env))
        return out
    return action


@pytest.mark.parametrize("mode", T.MODES)
def test_dpkg_upgrade_and_remove(tmp_path, mode):
    testlib.require_tools("dpkg", "dpkg-deb")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    deb1 = _deb(tmp_path, "1.0", {
        "usr/share/errovl-probe/a": "a1\n",
        "usr/share/errovl-probe/gone-in-2": "old\n",
        "usr/share/errovl-probe/sub/b": "b1\n",
        "usr/bin/errovl-probe": L.File("#!/bin/sh\necho 1\n", mode=0o755),
        "etc/errovl-probe.conf": "v=1\n",
    }, env)
    deb2 = _deb(tmp_path, "2.0", {
        "usr/share/errovl-probe/a": "a2\n",
        "usr/share/errovl-probe/sub/b": "b2\n",
        "usr/share/errovl-probe/sub/new": "n2\n",
        "usr/bin/errovl-probe": L.File("#!/bin/sh\necho 2\n", mode=0o755),
        "etc/errovl-probe.conf": "v=2\n",
    }, env)
    lower = _lower_root(tmp_path, deb1, env)
    res = T.both(tmp_path, mode, [lower], _script(deb2, env),
                 opaque=("var/lib/dpkg/status-old",
                         "var/lib/dpkg/available-old"))
    for step, st, out, err in res["k"][0][:-1]:
        assert st == 0 or step in ("-V",), f"kernel: dpkg {step}: {err}"
    T.assert_same(res, "dpkg output")
