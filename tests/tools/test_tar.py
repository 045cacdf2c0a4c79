# SPDX-License-Identifier: GPL-2.0-or-later
"""GNU tar in the mount: extract an archive with hard links, symlinks, a
sparse file, owners and user xattrs over a lower layer that already has
some of the paths (files, a symlink, a non-empty directory, empty
directories and a file the archive replaces by other types, and a
directory both have), archive the result again and
extract that copy elsewhere in the mount.  Kernel overlayfs over the same
lower is the reference: tar's status and messages, the listing of the
re-made archive and the merged tree must be the same."""
import os

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

LOWER = {
    "d": L.Dir(mode=0o700),
    "d/f": "lower version of f\n",
    "d/keep": "kept from lower\n",
    "d/hl1": "lower hl1\n",
    "d/linkme": L.Symlink("somewhere/else"),
    "tree/a/b/c": "deep lower file\n",
    "tree/a/x": "x\n",
    "tree/top": "top\n",
    "wasfile": "becomes a directory\n",
    "shared1": "lower hard link\n",
    "shared2": L.Link("shared1"),
    "untouched/u": L.File("owned", uid=1234, gid=4321, mode=0o640),
    "emptyd": L.Dir(),
    "lnkd": L.Dir(mode=0o700),
    "merged/lower-only": "stays\n",
}


def _source_tree(root):
    """The tree that goes into the archive."""
    L.build(root, {
        "d": L.Dir(mode=0o751),
        "d/f": L.File("archive version of f\n", mode=0o600,
                      xattrs={"user.origin": "archive"}),
        "d/hl1": L.File("archive hl1, two names\n", uid=1001, gid=1002),
        "d/hl2": L.Link("d/hl1"),
        "d/sub/hl3": L.Link("d/hl1"),
        "d/linkme": "now a regular file\n",
        "d/sym": L.Symlink("../tree/a"),
        "d/dangling": L.Symlink("no/such/target"),
        "tree": L.Symlink("d"),
        "wasfile/inside": "file in the new dir\n",
        "sparse": L.File(size=8 << 20, sparse=[(0, b"head"),
                                                (3 << 20, b"middle"),
                                                ((8 << 20) - 4, b"tail")],
                         xattrs={"user.kind": "sparse"}),
        "empty": L.File(b"", mode=0o4755),
        "dirx": L.Dir(mode=0o3775, xattrs={"user.dir": "yes"}, uid=7,
                      gid=8),
        "shared2": "archive replaces one name of a lower link pair\n",
        "emptyd": "an empty lower dir becomes this file\n",
        "lnkd": L.Symlink("merged"),
        "merged": L.Dir(mode=0o750),
        "merged/from-archive": "added\n",
    })


def _make_archive(tmp_path):
    src = tmp_path / "src"
    _source_tree(str(src))
    arc = tmp_path / "in.tar"
    env = T.tool_env(tmp_path)
    st, out, err = T.run(["tar", "--xattrs", "--xattrs-include=user.*",
                          "--sparse", "--sort=name", "-cf", str(arc), "."],
                         cwd=str(src), env=env)
    assert st == 0, err
    return str(arc)


def _tar_script(arc, tmp_path):
    env = T.tool_env(tmp_path)

    def action(mnt, side):
        steps = []
        # The symlink "tree" of the archive replaces a non-empty merged
        # dir of the lower: remove that one first, as a user would.
        steps.append(T.run(["rm", "-r", "tree"], cwd=mnt, env=env))
        steps.append(T.run(["tar", "--xattrs", "--xattrs-include=user.*",
                            "-xpf", arc], cwd=mnt, env=env))
        out = os.path.join(mnt, "..", side + "-out.tar")
        steps.append(T.run(
            ["tar", "--xattrs", "--xattrs-include=user.*", "--sparse",
             "--sort=name", "--numeric-owner", "--mtime=@0",
             "--exclude=./rt", "-cf", out, "."], cwd=mnt, env=env))
        steps.append(T.run(["tar", "--numeric-owner", "--xattrs",
                            "--xattrs-include=user.*", "-tvf", out],
                           cwd=mnt, env=env))
        os.mkdir(os.path.join(mnt, "rt"))
        steps.append(T.run(["tar", "--xattrs", "--xattrs-include=user.*",
                            "-xpf", out], cwd=os.path.join(mnt, "rt"),
                           env=env))
        # what tar itself compares: the copy against the archive
        steps.append(T.run(["tar", "--xattrs", "--xattrs-include=user.*",
                            "-df", out], cwd=os.path.join(mnt, "rt"),
                           env=env))
        st = os.stat(os.path.join(mnt, "rt", "sparse"))
        sparse_ok = st.st_blocks * 512 < st.st_size
        return steps, sparse_ok
    return action


@pytest.mark.parametrize("mode", T.MODES)
def test_tar_roundtrip_over_lower(tmp_path, mode):
    testlib.require_tools("tar")
    testlib.require_daemon()
    lower = tmp_path / "lower"
    L.build(str(lower), LOWER)
    arc = _make_archive(tmp_path)
    res = T.both(tmp_path, mode, [str(lower)], _tar_script(arc, tmp_path))
    steps, sparse_ok = res["k"][0]
    for st, out, err in steps:
        assert st == 0, f"kernel run of tar failed: {err}"
    assert sparse_ok, "sparse file not sparse on the kernel side"
    T.assert_same(res, "tar steps")
