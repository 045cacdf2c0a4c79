# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential scenarios on rename(2)/renameat2(2): files across
layers, over whiteouts, RENAME_NOREPLACE / RENAME_EXCHANGE, and lower or
merged directories (EXDEV, since redirect_dir is off)."""
import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import Dir, Fifo, File, Link, Symlink, Whiteout

S = []

L0 = {"a": "a0\n", "b": "b0\n", "d/": Dir(), "d/f": "f0\n",
      "ld/": Dir(), "ld/in": "in\n", "ld/sub/deep": "deep\n",
      "emptyd/": Dir(), "s": Symlink("a"), "p": Fifo(),
      "gone": Whiteout(), "x": File("x\n", xattrs={"user.k": "v"}),
      "h1": "hl\n", "h2": Link("h1")}
L1 = {"a": "a1\n", "c": "c1\n", "gone": "g1\n", "d/": Dir(), "d/g": "g1\n",
      "e/": Dir(), "e/old": "e1\n", "ld/": Dir(), "ld/below": "b\n",
      "low1only/": Dir(), "low1only/z": "z\n"}
LL = [L0, L1]


def sc(name, ops, lowers=LL, **kw):
    S.append(Scenario(name, lowers=lowers, ops=ops, **kw))


sc("rename_lower_file_new_name", [("rename", "b", "b2"), ("read", "b2"),
                                  ("stat", "b"), ("readdir", "")])
sc("rename_lower_file_over_lower_file", [("rename", "b", "c"),
                                         ("read", "c"), ("stat", "b")])
sc("rename_lower_file_into_lower_dir", [("rename", "c", "d/c"),
                                        ("readdir", "d"), ("readdir", "")])
sc("rename_bottom_file_into_top_dir", [("rename", "e/old", "d/moved"),
                                       ("readdir", "e"), ("read", "d/moved")])
sc("rename_into_lower1_only_dir", [("rename", "a", "low1only/a"),
                                   ("readdir", "low1only"), ("read", "a")])
sc("rename_upper_file", [("create", "u", "u"), ("rename", "u", "v"),
                         ("readdir", "")])
sc("rename_upper_file_into_lower_dir", [("create", "u", "u"),
                                        ("rename", "u", "d/u"),
                                        ("readdir", "d")])
# sources whose data is already upper: the request loop answers these
# without a hand-over (fs/loop.c), also over names still open
sc("rename_written_file_into_place", [
    ("create", "t.tmp", "new"), ("fsync", "t.tmp"), ("rename", "t.tmp", "t"),
    ("read", "t"), ("stat", "t.tmp"), ("readdir", "")])
sc("rename_upper_over_open_upper", [
    ("create", "u", "uu"), ("create", "v", "vv"),
    ("open", "v", "O_RDONLY", 0, "r"), ("rename", "u", "v"),
    ("fdread", "r"), ("fdstat", "r"), ("close", "r"), ("read", "v"),
    ("readdir", "")])
sc("rename_upper_over_open_lower", [
    ("open", "c", "O_RDONLY", 0, "r"), ("create", "u", "uu"),
    ("rename", "u", "c"), ("fdread", "r"), ("fdstat", "r"), ("close", "r"),
    ("read", "c"), ("readdir", "")])
sc("rename_copied_up_file_leaves_whiteout", [
    ("append", "a", "+"), ("rename", "a", "a2"), ("stat", "a"),
    ("read", "a2"), ("readdir", "")])
sc("rename_copied_up_over_copied_up", [
    ("append", "a", "+"), ("append", "b", "-"), ("rename", "a", "b"),
    ("read", "b"), ("stat", "a"), ("readdir", "")])
sc("rename_copied_up_across_dirs", [
    ("append", "d/f", "+"), ("rename", "d/f", "e/f2"), ("readdir", "d"),
    ("readdir", "e"), ("read", "e/f2")])
sc("noreplace_upper_over_upper_eexist", [
    ("create", "u", "uu"), ("create", "v", "vv"),
    ("rename2", "u", "v", "NOREPLACE"), ("read", "u"), ("read", "v")])
sc("rename_over_lower_whiteout", [("rename", "c", "gone"), ("read", "gone"),
                                  ("readdir", "")])
sc("rename_over_deleted_name", [("unlink", "b"), ("rename", "c", "b"),
                                ("read", "b"), ("readdir", "")])
sc("rename_then_create_old_name", [("rename", "a", "a9"),
                                   ("create", "a", "fresh"), ("read", "a"),
                                   ("read", "a9")])
sc("rename_back_and_forth", [("rename", "a", "t"), ("rename", "t", "a"),
                             ("read", "a"), ("readdir", "")])
sc("rename_same_file_hardlinks_noop", [("rename", "h1", "h2"),
                                       ("readdir", ""), ("stat", "h1")])
sc("rename_hardlinked_lower_name", [("rename", "h1", "hh"), ("read", "hh"),
                                    ("stat", "h2")])
sc("rename_symlink_lower", [("rename", "s", "s2"), ("readlink", "s2")])
sc("rename_fifo_lower", [("rename", "p", "p2"), ("stat", "p2")])
sc("rename_keeps_xattrs", [("rename", "x", "x2"), ("listxattr", "x2"),
                           ("getxattr", "x2", "user.k")])
sc("rename_missing_enoent", [("rename", "nope", "z")])
sc("rename_file_over_dir_eisdir", [("rename", "a", "d")])
sc("rename_dir_over_file_enotdir", [("mkdir", "nd"), ("rename", "nd", "a")])
sc("rename_dir_into_itself_einval", [("mkdir", "nd"),
                                     ("rename", "nd", "nd/sub")])
sc("rename_file_to_missing_dir", [("rename", "a", "nodir/a")])
# directories
sc("rename_lower_dir_exdev", [("rename", "ld", "ld2"), ("readdir", "")])
sc("rename_merged_dir_exdev", [("rename", "d", "d2")])
sc("rename_lower_dir_after_child_copyup_exdev", [
    ("append", "ld/in", "+"), ("rename", "ld", "ld2")])
sc("rename_empty_lower_dir_exdev", [("rename", "emptyd", "ed2")])
sc("rename_upper_only_dir", [("mkdir", "nd"), ("create", "nd/f", "f"),
                             ("rename", "nd", "nd2"), ("readdir", "nd2"),
                             ("readdir", "")])
sc("rename_upper_only_dir_into_lower_dir", [
    ("mkdir", "nd"), ("create", "nd/f", "f"), ("rename", "nd", "d/nd"),
    ("readdir", "d/nd")])
sc("rename_upper_dir_over_empty_lower_dir", [
    ("mkdir", "nd"), ("create", "nd/f", "f"), ("rename", "nd", "emptyd"),
    ("readdir", "emptyd")])
sc("rename_upper_dir_over_nonempty_lower_dir", [
    ("mkdir", "nd"), ("rename", "nd", "ld"), ("readdir", "ld")])
sc("rename_upper_dir_over_deleted_lower_dir", [
    ("rmtree", "ld"), ("mkdir", "nd"), ("create", "nd/f", "f"),
    ("rename", "nd", "ld"), ("readdir", "ld"), ("stat", "ld/in")])
sc("rename_upper_dir_over_deleted_lower_dir_noreplace", [
    ("rmtree", "ld"), ("mkdir", "nd"), ("rename2", "nd", "ld", "NOREPLACE"),
    ("readdir", "ld")])
sc("rename_recreated_opaque_dir", [
    ("rmtree", "e"), ("mkdir", "e"), ("create", "e/n", "n"),
    ("rename", "e", "e2"), ("readdir", "e2"), ("readdir", "")])
# renameat2 flags
sc("noreplace_existing_eexist", [("rename2", "a", "b", "NOREPLACE"),
                                 ("read", "a"), ("read", "b")])
sc("noreplace_free_name", [("rename2", "a", "fresh", "NOREPLACE"),
                           ("read", "fresh"), ("readdir", "")])
sc("noreplace_over_whiteout", [("rename2", "c", "gone", "NOREPLACE"),
                               ("read", "gone")])
sc("noreplace_over_deleted_lower", [("unlink", "b"),
                                    ("rename2", "a", "b", "NOREPLACE"),
                                    ("read", "b"), ("readdir", "")])
sc("noreplace_onto_lower_dir", [("rename2", "a", "d", "NOREPLACE")])
sc("exchange_two_lower_files", [("rename2", "a", "b", "EXCHANGE"),
                                ("read", "a"), ("read", "b")])
sc("exchange_upper_and_lower", [("create", "u", "upper"),
                                ("rename2", "u", "c", "EXCHANGE"),
                                ("read", "u"), ("read", "c")])
sc("exchange_files_in_different_dirs", [
    ("rename2", "d/f", "e/old", "EXCHANGE"), ("read", "d/f"),
    ("read", "e/old"), ("readdir", "d"), ("readdir", "e")])
sc("exchange_missing_enoent", [("rename2", "a", "nope", "EXCHANGE")])
sc("exchange_with_whiteout_enoent", [("rename2", "a", "gone", "EXCHANGE")])
sc("exchange_file_and_lower_dir", [("rename2", "a", "ld", "EXCHANGE")])
sc("exchange_upper_dirs", [("mkdir", "m1"), ("create", "m1/f", "1"),
                           ("mkdir", "m2"), ("rename2", "m1", "m2", "EXCHANGE"),
                           ("readdir", "m1"), ("readdir", "m2")])
sc("noreplace_and_exchange_together_einval", [
    ("rename2", "a", "b", "NOREPLACE|EXCHANGE")])
sc("rename_whiteout_flag", [("rename2", "a", "w1", "WHITEOUT"),
                            ("readdir", "")])
sc("rename_file_over_file_hiding_dir", [
    ("rename", "c", "hid"), ("read", "hid")],
   lowers=[{"hid": "file\n"}, {"hid/": Dir(), "hid/q": "q", "c": "c"}])



@pytest.mark.parametrize("mode,sc", mode_params(
    S, modes=("k-k", "k-e", "k-ev", "k-et")))
def test_rename(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
