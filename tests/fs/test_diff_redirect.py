# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential scenarios on directory renames with redirect_dir=on:
lower and merged directories renamed in place, moved to other parents,
renamed again, exchanged, removed and recreated; redirects too long to
write (EXDEV); and uppers or lower layers that already hold redirects
(written by kernel overlayfs), read with the default redirect_dir=off.

The harness compares each step, the merged tree, the upper directory
with its overlay.redirect values (relative or absolute, byte for byte
the kernel's) and mounts each side's upper with the other
implementation. Scenarios that compare inode numbers leave out the
tmpfs-upper mode, where the kernel's numbers mean nothing (xino off).
"""
import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import REDIRECT_XATTR, Dir, Whiteout

S = []

L0 = {"a/": Dir(), "a/f": "af0\n", "a/sub/": Dir(), "a/sub/g": "g0\n",
      "m/": Dir(), "m/x": "x0\n", "p/": Dir(), "p/q/": Dir(),
      "p/q/r": "r0\n", "t/": Dir(), "t/keep": "k\n", "e/": Dir(),
      "file": "file0\n", "o/": Dir(opaque=True), "o/top": "ot\n"}
L1 = {"a/": Dir(), "a/low": "low1\n", "a/sub/": Dir(), "a/sub/h": "h1\n",
      "m/": Dir(), "m/y": "y1\n", "b/": Dir(), "b/bb": "bb1\n",
      "p/q/": Dir(), "p/q/s": "s1\n", "only1/": Dir(), "only1/o": "o1\n",
      "o/": Dir(), "o/hidden": "no\n"}
LL = [L0, L1]


def sc(name, ops, lowers=LL, redirect=True, **kw):
    S.append(Scenario(name, lowers=lowers, ops=ops, redirect=redirect, **kw))


# renamed in place: a relative redirect (the old name)
sc("lower_dir_same_parent", [
    ("rename", "a", "a2"), ("readdir", "a2"), ("read", "a2/f"),
    ("read", "a2/low"), ("readdir", "a2/sub"), ("stat", "a"),
    ("readdir", ""), ("dino_check", ""), ("dino_check", "a2")],
   tmpfs=False)
sc("lower1_only_dir_same_parent", [
    ("rename", "b", "b2"), ("readdir", "b2"), ("read", "b2/bb"),
    ("readdir", "")])
sc("opaque_lower_dir", [("rename", "o", "o2"), ("readdir", "o2")])
sc("empty_lower_dir", [("rename", "e", "e2"), ("readdir", "e2"),
                       ("readdir", "")])
sc("twice_same_parent_keeps_redirect", [
    ("rename", "a", "a2"), ("rename", "a2", "a3"), ("readdir", "a3"),
    ("readdir", "")])
sc("back_to_the_old_name", [
    ("rename", "a", "a2"), ("rename", "a2", "a"), ("readdir", "a"),
    ("read", "a/low"), ("readdir", "")])
sc("rename_keeps_st_ino", [
    ("ino_mark", "m", "m"), ("rename", "m", "m2"), ("ino_same", "m2", "m"),
    ("dino_check", "")], tmpfs=False)
# moved to another parent: an absolute redirect
sc("lower_dir_into_lower_dir", [
    ("rename", "a", "t/a"), ("readdir", "t"), ("readdir", "t/a"),
    ("read", "t/a/sub/h"), ("dino_check", "t")], tmpfs=False)
sc("lower_dir_into_new_dir", [
    ("mkdir", "n"), ("rename", "a", "n/a2"), ("readdir", "n/a2"),
    ("readdir", "n/a2/sub"), ("dino_check", "n")], tmpfs=False)
sc("subdir_to_the_root", [
    ("rename", "a/sub", "sub2"), ("readdir", "sub2"), ("readdir", "a"),
    ("read", "sub2/h")])
sc("relative_then_absolute", [
    ("rename", "a", "a2"), ("rename", "a2", "t/a3"), ("readdir", "t/a3"),
    ("readdir", "")])
sc("into_lower1_only_dir", [
    ("rename", "a", "only1/a"), ("readdir", "only1"), ("readdir", "only1/a")])
sc("parent_renamed_then_child", [
    ("rename", "p", "p2"), ("rename", "p2/q", "t/q"), ("readdir", "t/q"),
    ("readdir", "p2")])
sc("child_renamed_then_parent", [
    ("rename", "p/q", "p/q2"), ("rename", "p", "p2"), ("readdir", "p2/q2"),
    ("read", "p2/q2/s")])
sc("moved_then_its_new_parent_renamed", [
    ("rename", "a", "t/a"), ("rename", "t", "t2"), ("readdir", "t2/a"),
    ("read", "t2/a/low"), ("readdir", "")])
sc("moved_dir_moved_again", [
    ("rename", "a", "t/a"), ("mkdir", "n"), ("rename", "t/a", "n/z"),
    ("readdir", "n/z"), ("readdir", "t")])
# changes inside and around a renamed directory
sc("children_changed_after_rename", [
    ("rename", "a", "a2"), ("append", "a2/low", "+"), ("unlink", "a2/f"),
    ("create", "a2/new", "n"), ("rename", "a2/sub/g", "a2/g2"),
    ("readdir", "a2"), ("read", "a2/low"), ("readdir", "a2/sub")])
sc("children_changed_before_rename", [
    ("append", "a/f", "+"), ("unlink", "a/low"), ("rename", "a", "a2"),
    ("readdir", "a2"), ("read", "a2/f")])
sc("old_name_recreated", [
    ("rename", "a", "a2"), ("mkdir", "a"), ("create", "a/new", "n"),
    ("readdir", "a"), ("readdir", "a2")])
sc("old_name_recreated_as_file", [
    ("rename", "m", "m2"), ("create", "m", "file"), ("read", "m"),
    ("readdir", "m2")])
sc("rmdir_after_rename", [
    ("rename", "e", "e2"), ("rmdir", "e2"), ("readdir", ""),
    ("stat", "e2")])
sc("rmtree_after_rename", [
    ("rename", "a", "a2"), ("rmtree", "a2"), ("readdir", ""),
    ("stat", "a")])
sc("rename_onto_empty_lower_dir", [
    ("rename", "a", "e"), ("readdir", "e"), ("read", "e/low"),
    ("readdir", "")])
sc("rename_onto_nonempty_dir_enotempty", [
    ("rename", "a", "m"), ("readdir", "m")])
sc("rename_onto_deleted_lower_dir", [
    ("rmtree", "m"), ("rename", "a", "m"), ("readdir", "m"),
    ("stat", "m/y")])
sc("noreplace_dir", [
    ("rename2", "a", "m", "NOREPLACE"), ("rename2", "a", "a9", "NOREPLACE"),
    ("readdir", "a9")])
sc("exchange_lower_dirs", [
    ("rename2", "a", "m", "EXCHANGE"), ("readdir", "a"), ("readdir", "m")])
sc("exchange_dirs_across_parents", [
    ("rename2", "a", "p/q", "EXCHANGE"), ("readdir", "a"),
    ("readdir", "p/q"), ("read", "p/q/low")])
sc("exchange_dir_and_file", [
    ("rename2", "m", "file", "EXCHANGE"), ("read", "m"),
    ("readdir", "file")])
sc("into_itself_einval", [("rename", "a", "a/sub/a")])
sc("upper_dir_into_merged_parent_opaque", [
    ("mkdir", "n"), ("create", "n/f", "f"), ("rename", "n", "a/n"),
    ("readdir", "a/n")])
sc("whiteouts_travel_with_the_dir", [
    ("unlink", "a/low"), ("rmtree", "a/sub"), ("rename", "a", "t/a"),
    ("readdir", "t/a"), ("stat", "t/a/low")])
LONG = "l" * 100
sc("redirect_too_long_exdev", [
    ("rename", f"{LONG}/{LONG}/{LONG}", "short"), ("readdir", "")],
   lowers=[{f"{LONG}/{LONG}/{LONG}/": Dir(), f"{LONG}/{LONG}/{LONG}/x": "x"}])
sc("redirect_almost_too_long", [
    ("rename", f"{LONG}/{LONG}/{'m' * 50}", "short"), ("readdir", "short")],
   lowers=[{f"{LONG}/{LONG}/{'m' * 50}/": Dir(),
            f"{LONG}/{LONG}/{'m' * 50}/x": "x"}])
# many lowers: a merged directory spread over three layers
sc("three_layer_merge_moved", [
    ("rename", "d", "t/d"), ("readdir", "t/d"), ("dino_check", "t")],
   lowers=[{"d/": Dir(), "d/0": "0", "t/": Dir()},
           {"d/": Dir(), "d/1": "1"}, {"d/": Dir(), "d/2": "2"}],
   tmpfs=False)

# redirects already on disk (kernel-written), read with redirect_dir=off
R = REDIRECT_XATTR
sc("upper_relative_redirect", [
    ("readdir", ""), ("readdir", "x"), ("read", "x/low")],
   upper={"x/": Dir(xattrs={R: "a"}), "a": Whiteout()}, redirect=False)
sc("upper_absolute_redirect", [
    ("readdir", "t"), ("readdir", "t/y"), ("read", "t/y/h")],
   upper={"t/": Dir(), "t/y/": Dir(xattrs={R: "/a/sub"}),
          "a/": Dir(), "a/sub": Whiteout()}, redirect=False)
sc("upper_redirect_to_missing_path", [("readdir", "x")],
   upper={"x/": Dir(xattrs={R: "/nowhere/at/all"})}, redirect=False)
sc("lower_layer_redirect", [("readdir", "n"), ("readdir", "")],
   lowers=[{"n/": Dir(xattrs={R: "old"}), "n/top": "t", "old": Whiteout()},
           {"old/": Dir(), "old/z": "z"}], redirect=False)
sc("lower_layer_absolute_redirect_on_the_way", [
    ("readdir", "n/deep"), ("readdir", "")],
   lowers=[{"n/": Dir(xattrs={R: "/far/away"}), "n/deep/": Dir()},
           {"far/away/deep/": Dir(), "far/away/deep/w": "w"}],
   redirect=False)

# malformed redirects: EINVAL, "." or ".." components: EACCES (the kernel)
BADL = [{"a/": Dir(), "a/f": "f", "a/b/": Dir(), "a/b/g": "g"}]
for i, v in enumerate(["a/b", "/a/../a", "/a//b", "", "..", "/", "a/",
                       "/a/b/", "/./a"]):
    sc(f"bad_redirect_{i}", [("readdir", "x"), ("stat", "x"),
                             ("readdir", "")],
       lowers=BADL, upper={"x/": Dir(xattrs={R: v})}, redirect=False,
       cross=False)
# redirect_dir=nofollow: a redirect that leads somewhere is refused
sc("nofollow_refuses_redirect", [("readdir", "x"), ("readdir", "")],
   upper={"x/": Dir(xattrs={R: "a"}), "a": Whiteout()},
   redirect="nofollow", cross=False)
sc("nofollow_redirect_to_nothing", [("readdir", "x")],
   upper={"x/": Dir(xattrs={R: "nothing"})}, redirect="nofollow")
sc("nofollow_rename_exdev", [("rename", "a", "a2")], redirect="nofollow")
sc("follow_reads_but_does_not_write", [
    ("readdir", "x"), ("rename", "a", "a2")],
   upper={"x/": Dir(xattrs={R: "m"}), "m": Whiteout()}, redirect="follow")


@pytest.mark.parametrize("mode,sc", mode_params(
    S, modes=("k-k", "k-e", "k-ev", "k-et")))
def test_redirect(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
