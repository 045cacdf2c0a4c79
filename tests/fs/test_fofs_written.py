# SPDX-License-Identifier: GPL-2.0-or-later
"""Uppers really written by fuse-overlayfs (the installed binary, with
".wh.NAME" whiteouts forced by FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT and
with its default 0/0 whiteouts): run a scenario's steps through
fuse-overlayfs, take its merged view, then mount the upper it wrote with
errovl (fresh workdir): errovl must show the same tree."""
import os
import shutil

import pytest

import diffharness as H
import testlib
from test_diff_dirs import S as DIR_SCENARIOS
from test_diff_files import S as FILE_SCENARIOS
from test_diff_rename import S as RENAME_SCENARIOS

FOFS = shutil.which("fuse-overlayfs")

# Left out: hard links (fuse-overlayfs keeps them linked in memory while
# the upper it writes breaks them, so its live view is not what any
# reader of that upper can show), big files (time), pure seekdir checks.
PICK = [sc for sc in DIR_SCENARIOS + FILE_SCENARIOS + RENAME_SCENARIOS
        if not sc.name.startswith(("seekdir", "twelve", "deep", "copyup_big",
                                   "copyup_sparse"))
        and "hardlink" not in sc.name and "link_" not in sc.name
        and "h1" not in str(sc.ops)
        # fuse-overlayfs 1.10 exchanges a file with a lower dir (the kernel
        # says EXDEV) and then shows a "directory" whose readdir fails
        # with ENOTDIR: no sane reference view
        and sc.name != "exchange_file_and_lower_dir"]


def _fofs_mount(base, lowers, upper, work, mnt, wh_files):
    env = {"FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT": "1"} if wh_files else None
    return testlib.ErrovlMount(base, lowers=lowers, upper=upper, work=work,
                               mnt=mnt, binary=FOFS, env=env)


@pytest.mark.parametrize("wh_files", [True, False],
                         ids=["wh-files", "chr-whiteouts"])
@pytest.mark.parametrize("sc", PICK, ids=[s.name for s in PICK])
def test_errovl_reads_fofs_upper(tmp_path, sc, wh_files):
    testlib.require_daemon()
    if FOFS is None:
        pytest.skip("fuse-overlayfs not installed")
    base = str(tmp_path / "f")
    lowers, upper = H._fresh_layers(base, sc, sc.upper)
    with _fofs_mount(base, lowers, upper, os.path.join(base, "work"),
                     os.path.join(base, "mnt"), wh_files) as f:
        H.run_ops(f.mnt, sc.ops)
        # fuse-overlayfs shows st_nlink differently; names, types, modes,
        # contents and user xattrs are compared
        want = H.L.snapshot_tree(f.mnt, nlink=False)
    with testlib.ErrovlMount(str(tmp_path / "e"), lowers=lowers, upper=upper,
                             work=str(tmp_path / "ework")) as e:
        got = H.L.snapshot_tree(e.mnt, nlink=False)
    d = H.diff_dicts(want, got, "fuse-overlayfs", "errovl")
    assert not d, (f"errovl reads the upper fuse-overlayfs wrote for "
                   f"{sc.name} differently:\n" + "\n".join(d))
    assert e.returncode == 0, e.log()[-3000:]
