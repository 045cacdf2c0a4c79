# SPDX-License-Identifier: GPL-2.0-or-later
"""Uppers written by fuse-overlayfs: ".wh.NAME" whiteout files,
".wh..wh..opq" sentinels and user.fuseoverlayfs.opaque.  errovl mounts
the fuse-overlayfs-format upper; the kernel mounts the equivalent
kernel-format upper; the merged views and every step must agree.  (The
upper dirs themselves differ by construction and are not compared.)"""
import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import (Dir, FofsOpaqueDir, FofsWhiteout,
                            Whiteout)

S = []

LOW = {"a": "a\n", "b": "b\n", "d/": Dir(), "d/x": "x\n", "d/y": "y\n",
       "d/sub/z": "z\n", "e/": Dir(), "e/k": "k\n", "keep": "keep\n"}


def sc(name, kernel_upper, fofs_upper, ops, lowers=None, **kw):
    S.append(Scenario(name, lowers=lowers or [LOW], upper=kernel_upper,
                      errovl_upper=fofs_upper, ops=ops, **kw))


READ_ALL = [("readdir", ""), ("readdir", "d"), ("readdir", "e")]

sc("fofs_whiteout_file_hides_lower_file",
   {"a": Whiteout()}, {"a": FofsWhiteout()},
   READ_ALL + [("stat", "a"), ("stat", ".wh.a")])
sc("fofs_whiteout_file_hides_lower_dir",
   {"d": Whiteout()}, {"d": FofsWhiteout()},
   READ_ALL + [("stat", "d"), ("stat", "d/x")])
sc("fofs_whiteout_in_subdir",
   {"d/": Dir(), "d/x": Whiteout()}, {"d/": Dir(), "d/x": FofsWhiteout()},
   READ_ALL + [("stat", "d/x")])
sc("fofs_opaque_xattr_and_sentinel",
   {"d/": Dir(opaque=True), "d/new": "n"},
   {"d/": FofsOpaqueDir(), "d/new": "n"},
   READ_ALL + [("stat", "d/x"), ("listxattr", "d")])
sc("fofs_opaque_xattr_only",
   {"d/": Dir(opaque=True)}, {"d/": FofsOpaqueDir(sentinel=False)},
   READ_ALL + [("listxattr", "d")])
sc("fofs_opaque_sentinel_only",
   {"d/": Dir(opaque=True), "d/n": "n"},
   {"d/": FofsOpaqueDir(xattr=False), "d/n": "n"},
   READ_ALL + [("stat", "d/.wh..wh..opq"), ("stat", "d/y")])
sc("fofs_new_dir_with_sentinel",
   {"nd/": Dir(opaque=True), "nd/f": "f"},
   {"nd/": FofsOpaqueDir(), "nd/f": "f"},
   [("readdir", "nd"), ("seekdir", "nd"), ("listxattr", "nd")])
sc("fofs_create_over_whiteout_file",
   {"a": Whiteout()}, {"a": FofsWhiteout()},
   [("create", "a", "new a"), ("read", "a"), ("readdir", "")])
sc("fofs_mkdir_over_whiteout_of_dir",
   {"d": Whiteout()}, {"d": FofsWhiteout()},
   [("mkdir", "d"), ("readdir", "d"), ("readdir", "")])
sc("fofs_unlink_in_opaque_dir",
   {"d/": Dir(opaque=True), "d/n": "n", "d/m": "m"},
   {"d/": FofsOpaqueDir(), "d/n": "n", "d/m": "m"},
   [("unlink", "d/n"), ("readdir", "d"), ("rmdir", "d")])
sc("fofs_rmdir_opaque_dir_with_sentinel",
   {"d/": Dir(opaque=True)}, {"d/": FofsOpaqueDir()},
   [("rmdir", "d"), ("stat", "d"), ("readdir", "")])
sc("fofs_rename_over_whiteout_file",
   {"a": Whiteout()}, {"a": FofsWhiteout()},
   [("rename", "b", "a"), ("read", "a"), ("readdir", "")])
sc("fofs_whiteouts_and_copyups_mixed",
   {"a": Whiteout(), "b": "b upper\n", "e/": Dir(), "e/k": Whiteout(),
    "e/new": "n"},
   {"a": FofsWhiteout(), "b": "b upper\n", "e/": Dir(), "e/k": FofsWhiteout(),
    "e/new": "n"},
   READ_ALL + [("read", "b"), ("rmdir", "e")])
sc("fofs_sentinel_name_not_creatable_view",
   {"d/": Dir(opaque=True)}, {"d/": FofsOpaqueDir()},
   [("readdir", "d"), ("rename", "keep", "d/keep"), ("readdir", "d")])


@pytest.mark.parametrize("mode,sc", mode_params(S))
def test_fofs(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
