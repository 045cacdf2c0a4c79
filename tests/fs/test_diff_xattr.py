# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential scenarios on extended attributes: user.* through the
mount (copy-up), flags, limits, and overlay.* names kept hidden."""
import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import Dir, File, Symlink

S = []

LX = {"f": File("f\n", xattrs={"user.a": "1", "user.b": "two"}),
      "plain": "p\n",
      "d/": Dir(xattrs={"user.dir": "dv"}), "d/c": "c\n",
      "o/": Dir(opaque=True), "o/in": "i", "s": Symlink("f"),
      "t": File("t\n", xattrs={"trusted.other": "tv"})}
LOW = {"o/": Dir(), "o/below": "b"}


def sc(name, ops, lowers=None, **kw):
    S.append(Scenario(name, lowers=lowers or [LX, LOW], ops=ops, **kw))


sc("list_lower_xattrs_no_copyup", [("listxattr", "f"),
                                   ("getxattr", "f", "user.b")])
sc("get_missing_xattr_enodata", [("getxattr", "plain", "user.none")])
sc("set_xattr_on_lower_file", [("setxattr", "plain", "user.new", "v"),
                               ("listxattr", "plain"),
                               ("getxattr", "plain", "user.new")])
sc("set_xattr_on_lower_dir", [("setxattr", "d", "user.x", "y"),
                              ("listxattr", "d"), ("readdir", "d")])
sc("replace_lower_xattr", [("setxattr", "f", "user.a", "changed"),
                           ("getxattr", "f", "user.a"),
                           ("getxattr", "f", "user.b")])
sc("remove_lower_xattr", [("removexattr", "f", "user.a"),
                          ("listxattr", "f")])
sc("remove_missing_xattr_enodata", [("removexattr", "plain", "user.no")])
sc("xattr_create_flag_existing_eexist", [("setxattr", "f", "user.a", "z", 1)])
sc("xattr_replace_flag_missing_enodata", [
    ("setxattr", "plain", "user.q", "z", 2)])
sc("xattr_on_symlink_user_eperm", [("setxattr", "s", "user.q", "z")])
sc("xattr_large_value", [("setxattr", "plain", "user.big", "v" * 3000),
                         ("getxattr", "plain", "user.big")])
sc("xattr_many_names", [("setxattr", "plain", f"user.n{i}", str(i))
                        for i in range(40)] + [("listxattr", "plain")])
sc("xattr_on_new_file", [("create", "n", "n"),
                         ("setxattr", "n", "user.x", "1"),
                         ("listxattr", "n")])
sc("list_opaque_dir_hides_overlay_xattr", [("listxattr", "o"),
                                           ("readdir", "o")])
sc("get_overlay_xattr_through_mount", [
    ("getxattr", "o", "trusted.overlay.opaque")])
sc("set_overlay_xattr_through_mount", [
    ("setxattr", "plain", "trusted.overlay.opaque", "y"),
    ("listxattr", "plain")])
sc("remove_overlay_xattr_through_mount", [
    ("removexattr", "o", "trusted.overlay.opaque"), ("readdir", "o")])
sc("trusted_non_overlay_xattr_visible", [("listxattr", "t"),
                                         ("getxattr", "t", "trusted.other")])
sc("copyup_file_keeps_xattrs_after_rename", [("rename", "f", "g"),
                                             ("listxattr", "g")])
sc("child_create_copies_dir_xattrs", [("create", "d/new", "n"),
                                      ("listxattr", "d")])
sc("list_after_unlink_recreated_dir", [
    ("rmtree", "d"), ("mkdir", "d"), ("listxattr", "d")])
sc("list_xattr_created_dir_over_whiteout", [
    ("rmtree", "o"), ("mkdir", "o"), ("listxattr", "o"), ("readdir", "o")])


@pytest.mark.parametrize("mode,sc", mode_params(S))
def test_xattr(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
