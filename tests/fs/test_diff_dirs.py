# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential scenarios on directories: merged readdir (each name
once, right d_type), telldir/seekdir stability, rmdir of merged dirs,
whiteout-then-recreate, opaque dirs in lowers and created, non-dirs
hiding lower dirs, deep trees and many lower layers."""
import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import Dir, Fifo, Symlink, Whiteout

S = []


def sc(name, lowers, ops, **kw):
    S.append(Scenario(name, lowers=lowers, ops=ops, **kw))


L0 = {"d/": Dir(), "d/top": "t\n", "d/both": "from top\n",
      "d/gone": Whiteout(), "e/": Dir(), "only0": "0\n",
      "types/reg": "r", "types/dir/": Dir(), "types/lnk": Symlink("reg"),
      "types/fifo": Fifo()}
L1 = {"d/": Dir(), "d/both": "from bottom\n", "d/gone": "hidden\n",
      "d/bottom": "b\n", "d/sub/x": "x\n", "e/": Dir(), "only1/": Dir(),
      "emptylow/": Dir()}
TWO = [L0, L1]

sc("readdir_merged_two_lowers", TWO, [("readdir", ""), ("readdir", "d"),
                                      ("read", "d/both")])
sc("readdir_dtypes", TWO, [("readdir", "types")])
sc("readdir_hides_lower_whiteout", TWO, [("readdir", "d"),
                                         ("stat", "d/gone")])
sc("readdir_after_create_and_unlink", TWO, [
    ("create", "d/new", "n"), ("unlink", "d/bottom"), ("unlink", "d/top"),
    ("readdir", "d")])
sc("seekdir_merged_dir", TWO, [("seekdir", "d"), ("seekdir", "")])
MANY = {"big/": Dir()}
for i in range(150):
    MANY[f"big/f{i:03d}"] = f"{i}\n"
MANY2 = {"big/": Dir()}
for i in range(100, 300):
    MANY2[f"big/f{i:03d}"] = f"low {i}\n"
MANY2["big/f120"] = Whiteout()
sc("seekdir_large_merged_dir", [MANY, MANY2],
   [("seekdir", "big"), ("readdir", "big")])
# One real directory is streamed; the reader answers a READDIRPLUS of
# it with a part of the entries and the kernel asks for the rest.
BIG1 = {"one/": Dir()}
for i in range(400):
    BIG1[f"one/f{i:04d}_" + "n" * (i % 200)] = f"{i}\n"
sc("seekdir_large_lower_dir", [BIG1], [("seekdir", "one"), ("readdir", "one")])
sc("readdir_large_upper_dir", TWO, [("mkdir", "u")] + [
    ("create", f"u/g{i:03d}_" + "m" * (i % 150), str(i)) for i in range(300)]
   + [("readdir", "u"), ("seekdir", "u")])
sc("seekdir_after_changes", [MANY, MANY2], [
    ("unlink", "big/f010"), ("create", "big/zz", "z"),
    ("seekdir", "big"), ("readdir", "big")])
sc("readdir_unlink_all_while_reading", [MANY, MANY2], [
    ("readdir_unlink_all", "big"), ("readdir", "big"), ("rmdir", "big")])
# mkdir / rmdir
sc("mkdir_new", TWO, [("mkdir", "nd", 0o750), ("stat", "nd"),
                      ("readdir", "nd")])
sc("mkdir_in_lower_dir", TWO, [("mkdir", "d/sub/nd"), ("readdir", "d/sub")])
sc("mkdir_existing_lower_eexist", TWO, [("mkdir", "d"), ("mkdir", "only1")])
sc("mkdir_over_lower_file_eexist", TWO, [("mkdir", "only0")])
sc("rmdir_lower_empty_dir", TWO, [("rmdir", "emptylow"), ("stat", "emptylow"),
                                  ("readdir", "")])
sc("rmdir_merged_dir_not_empty", TWO, [("rmdir", "d"), ("rmdir", "d/sub")])
sc("rmdir_merged_dir_empty_in_merged_view", TWO, [
    ("unlink", "d/top"), ("unlink", "d/both"), ("unlink", "d/bottom"),
    ("rmtree", "d/sub"), ("readdir", "d"), ("rmdir", "d"), ("stat", "d"),
    ("readdir", "")])
sc("rmdir_dir_only_whiteouts_in_lower", [
    {"w/": Dir(), "w/a": Whiteout(), "w/b": Whiteout()},
    {"w/": Dir(), "w/a": "a", "w/b": "b"}],
   [("readdir", "w"), ("rmdir", "w"), ("stat", "w")])
sc("whiteout_in_unmerged_lower_dir", [
    {"w/": Dir(), "w/a": Whiteout(), "w/b": "b"}, {"x": "x"}],
   [("readdir", "w"), ("stat", "w/a"), ("create", "w/c", "c"),
    ("readdir", "w"), ("stat", "w/a")],
   xfail="D14: a whiteout in a lower directory that merges with nothing "
   "is listed by the kernel until the directory is copied up")
sc("rmdir_merged_two_layers_same_dir", TWO, [("rmdir", "e"), ("stat", "e")])
sc("rmdir_upper_only_dir_no_whiteout", TWO, [("mkdir", "nd"), ("rmdir", "nd"),
                                             ("readdir", "")])
sc("rmdir_in_upper_only_dir", TWO, [("mkdir", "nd"), ("mkdir", "nd/x"),
                                    ("rmdir", "nd/x"), ("readdir", "nd")])
sc("rmdir_missing_and_file", TWO, [("rmdir", "nope"), ("rmdir", "only0")])
sc("rmtree_merged_tree", TWO, [("rmtree", "d"), ("readdir", ""),
                               ("stat", "d")])
# whiteout then recreate
sc("rmdir_then_mkdir_is_opaque", TWO, [
    ("rmtree", "d"), ("mkdir", "d"), ("readdir", "d"), ("stat", "d/bottom")])
sc("rmdir_then_create_file_same_name", TWO, [
    ("rmdir", "emptylow"), ("create", "emptylow", "now a file"),
    ("read", "emptylow"), ("readdir", "")])
sc("unlink_then_mkdir_same_name", TWO, [
    ("unlink", "only0"), ("mkdir", "only0"), ("readdir", "only0"),
    ("create", "only0/in", "i"), ("readdir", "only0")])
sc("recreate_dir_twice", TWO, [
    ("rmtree", "e"), ("mkdir", "e"), ("rmdir", "e"), ("mkdir", "e"),
    ("create", "e/f", "x"), ("readdir", "e")])
# opaque dirs in lowers and in a pre-existing upper
OPQ0 = {"o/": Dir(opaque=True), "o/new": "n\n"}
OPQ1 = {"o/": Dir(), "o/old": "o\n", "o/sub/deep": "d\n"}
sc("opaque_lower_dir_hides_below", [OPQ0, OPQ1], [("readdir", "o"),
                                                  ("stat", "o/old")])
sc("opaque_lower_dir_create_and_rmdir", [OPQ0, OPQ1], [
    ("create", "o/c", "c"), ("unlink", "o/new"), ("unlink", "o/c"),
    ("readdir", "o"), ("rmdir", "o"), ("readdir", "")])
sc("opaque_upper_dir_preexisting", [OPQ1], [("readdir", "o"),
                                            ("create", "o/x", "x"),
                                            ("readdir", "o")],
   upper={"o/": Dir(opaque=True), "o/mine": "m"})
sc("upper_whiteout_preexisting", [OPQ1], [("readdir", "o"),
                                          ("create", "o/old", "back"),
                                          ("read", "o/old")],
   upper={"o/": Dir(), "o/old": Whiteout()})
sc("opaque_middle_layer_of_three", [
    {"m/": Dir(), "m/a": "0"}, {"m/": Dir(opaque=True), "m/b": "1"},
    {"m/": Dir(), "m/c": "2"}], [("readdir", "m"), ("stat", "m/c")])
# a non-directory hiding a lower directory, and the reverse
HIDE = [{"x": "file hides dir\n", "y/": Dir(), "y/in": "i"},
        {"x/": Dir(), "x/inner": "i\n", "y": "file under dir\n"}]
sc("nondir_hides_lower_dir", HIDE, [("stat", "x"), ("read", "x"),
                                    ("stat", "x/inner"), ("readdir", "")])
sc("dir_hides_lower_nondir", HIDE, [("stat", "y"), ("readdir", "y")])
sc("unlink_file_then_mkdir_over_lower_dir", HIDE, [
    ("unlink", "x"), ("stat", "x"), ("mkdir", "x"), ("readdir", "x")])
sc("rmtree_dir_over_lower_file_then_create", HIDE, [
    ("rmtree", "y"), ("create", "y", "new"), ("read", "y")])
sc("symlink_hides_lower_dir", [{"z": Symlink("elsewhere")},
                               {"z/": Dir(), "z/f": "f"}],
   [("lstat", "z"), ("readlink", "z"), ("readdir", "")])
sc("whiteout_in_top_hides_lower_dir", [{"w": Whiteout()},
                                       {"w/": Dir(), "w/f": "f"}],
   [("stat", "w"), ("readdir", ""), ("mkdir", "w"), ("readdir", "w")])
# deep trees
DEEP = {}
p = ""
for i in range(24):
    p += f"l{i}/"
    DEEP[p] = Dir()
    DEEP[p + "file"] = f"depth {i}\n"
DEEP_PATH = p.rstrip("/")
sc("deep_tree_create_at_bottom", [DEEP], [
    ("create", DEEP_PATH + "/new", "bottom"), ("read", DEEP_PATH + "/new"),
    ("readdir", DEEP_PATH)])
sc("deep_tree_write_bottom_file", [DEEP], [
    ("append", DEEP_PATH + "/file", "more"), ("read", DEEP_PATH + "/file")])
sc("deep_tree_rmtree", [DEEP], [("rmtree", "l0/l1/l2"), ("readdir", "l0/l1")])
# many lower layers
THREE = [{"s/": Dir(), "s/a": "0a", "s/w": Whiteout()},
         {"s/": Dir(), "s/a": "1a", "s/b": "1b", "s/w": "1w"},
         {"s/": Dir(), "s/b": "2b", "s/c": "2c", "s/w": "2w", "s/sub/q": "q"}]
sc("three_lowers_merge", THREE, [("readdir", "s"), ("read", "s/a"),
                                 ("read", "s/b"), ("stat", "s/w")])
sc("three_lowers_unlink_bottom_and_middle", THREE, [
    ("unlink", "s/c"), ("unlink", "s/b"), ("readdir", "s"),
    ("create", "s/b", "new"), ("read", "s/b")])
TWELVE = []
for i in range(12):
    lay = {"shared/": Dir(), f"shared/own{i}": f"layer {i}\n",
           "shared/common": f"common from {i}\n", f"top{i}": f"{i}"}
    if i == 3:
        lay["shared/own7"] = Whiteout()
    if i == 5:
        lay["shared/sub/"] = Dir(opaque=True)
        lay["shared/sub/five"] = "5"
    if i == 8:
        lay["shared/sub/eight"] = "8"
    TWELVE.append(lay)
sc("twelve_lowers_merge", TWELVE, [("readdir", "shared"),
                                   ("read", "shared/common"),
                                   ("readdir", "shared/sub"),
                                   ("stat", "shared/own7"),
                                   ("readdir", "")])
sc("twelve_lowers_modify", TWELVE, [
    ("append", "shared/own11", "+"), ("unlink", "shared/own0"),
    ("rmtree", "shared/sub"), ("mkdir", "shared/sub"),
    ("readdir", "shared"), ("readdir", "shared/sub")])
sc("twelve_lowers_seekdir", TWELVE, [("seekdir", "shared"), ("seekdir", "")])


@pytest.mark.parametrize("mode,sc", mode_params(S))
def test_dirs(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
