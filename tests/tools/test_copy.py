# SPDX-License-Identifier: GPL-2.0-or-later
"""cp -a and rsync -aHAX with a tree from the lower layer: hard links,
symlinks, owners, odd modes, user xattrs, a POSIX ACL, a fifo, empty
dirs and a sparse file.  cp -a copies it inside the mount; rsync copies
it out of the mount to a plain directory, which is changed and synced
back into the mount twice (into a new dir and over the lower tree, with
--delete).  Tool output, the merged tree and the plain copy must match
the kernel overlayfs run."""
import os

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

LOWER = {
    "src": L.Dir(mode=0o755),
    "src/a": L.File("a\n", xattrs={"user.note": "lower a"}),
    "src/a2": L.Link("src/a"),
    "src/sub/a3": L.Link("src/a"),
    "src/owned": L.File("o\n", uid=1234, gid=99, mode=0o640),
    "src/suid": L.File("s\n", mode=0o4711),
    "src/sym": L.Symlink("a"),
    "src/dangling": L.Symlink("../nowhere"),
    "src/fifo": L.Fifo(0o600),
    "src/empty": L.Dir(mode=0o1777),
    "src/deep/er/est": L.File("deep\n"),
    "src/xdir": L.Dir(xattrs={"user.d": "1"}),
    "src/sparse": L.File(size=4 << 20, sparse=[(1 << 20, b"data")]),
    "src/gone": "removed by rsync --delete\n",
}

SCRIPT = """
set -e
setfacl -m u:4242:r-- src/a 2>&1 || true
cp -a src copy
rsync -aHAX --numeric-ids -i src/ {plain}/
printf 'changed\\n' > {plain}/a
printf 'new\\n' > {plain}/sub/new
rm {plain}/gone
mkdir {plain}/empty/now-full && touch {plain}/empty/now-full/f
find {plain} -exec touch -h -d @1600000000 {{}} +
rsync -aHAX --numeric-ids -i {plain}/ back/
rsync -aHAX --numeric-ids --delete -i {plain}/ src/
cat src/a2 src/sub/a3 copy/a2
"""


def _action(env, tmp_path):
    def action(mnt, side):
        plain = os.path.join(str(tmp_path), side + "-plain")
        # rsync prints the destination for new dirs; name it relatively
        rel = os.path.relpath(plain, mnt)
        r = T.run(SCRIPT.format(plain=rel), mnt, env)
        r = (r[0], r[1].replace(rel, "PLAIN"), r[2].replace(rel, "PLAIN"))
        return r, T.merged_picture(plain)
    return action


@pytest.mark.parametrize("mode", T.MODES)
def test_cp_a_and_rsync_round_trip(tmp_path, mode):
    testlib.require_tools("rsync", "cp", "setfacl")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = str(tmp_path / "lower")
    L.build(lower, LOWER)
    res = T.both(tmp_path, mode, [lower], _action(env, tmp_path))
    (st, out, err), _ = res["k"][0]
    assert st == 0, f"kernel run: {out} {err}"
    T.assert_same(res, "cp/rsync output and plain copy")


TOP = {
    "etc/hosts": "top hosts\n",
    "etc/removed": L.Whiteout(),
    "opt": L.Dir(opaque=True),
    "opt/only-top": "t\n",
    "usr/lib/new.so": L.File(b"\x7fELF top", mode=0o755),
    "usr/lib/link": L.Symlink("new.so"),
}
BOTTOM = {
    "etc/hosts": "bottom hosts\n",
    "etc/removed": "hidden by a whiteout\n",
    "etc/passwd": L.File("root:x:0:0\n", mode=0o600),
    "opt/hidden": "hidden by the opaque dir\n",
    "usr/lib/old.so": L.File(b"\x7fELF bottom", mode=0o755),
    "usr/lib/old.so.1": L.Link("usr/lib/old.so"),
}

LAYERED = """
set -e
find . | sort
tar -cf - --sort=name --numeric-owner --mtime=@0 . | tar -tvf - | \\
    awk '{{print $1, $2, $3, $6, $7, $8}}'
rsync -aHAX --numeric-ids -i ./ {plain}/ | sort
rsync -aHAX --numeric-ids --delete -i --exclude=/opt {plain}/ ./ | sort
cp -a usr usr2
rm -r etc
mkdir etc && echo new > etc/hosts
find . | sort
"""


@pytest.mark.parametrize("mode", T.MODES)
def test_tools_on_two_lower_layers(tmp_path, mode):
    """Whiteouts and an opaque dir of the top lower layer hide entries of
    the bottom one: tar, rsync and cp see only the merged view, and
    replacing a merged dir works as on the kernel."""
    testlib.require_tools("rsync", "tar")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    top, bottom = str(tmp_path / "top"), str(tmp_path / "bottom")
    L.build(top, TOP)
    L.build(bottom, BOTTOM)

    def action(mnt, side):
        plain = os.path.join(str(tmp_path), side + "-plain")
        rel = os.path.relpath(plain, mnt)
        r = T.run(LAYERED.format(plain=rel), mnt, env)
        return (r[0], r[1].replace(rel, "PLAIN"),
                r[2].replace(rel, "PLAIN")), T.merged_picture(plain)
    res = T.both(tmp_path, mode, [top, bottom], action)
    (st, out, err), _ = res["k"][0]
    assert st == 0 and "removed" not in out and "hidden" not in out, \
        out + err
    T.assert_same(res, "tool output and plain copy")
