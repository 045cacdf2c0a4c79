# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential scenarios on regular files, symlinks, fifos and
metadata: copy-up on write/truncate/chmod/chown/utime, O_TRUNC/O_EXCL,
hard-linked lower files, big and sparse copy-up, whiteouts on unlink."""
import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import Dir, Fifo, File, Link, Symlink, Whiteout

MiB = 1 << 20

BASE = {
    "a": "lower a\n",
    "b": "lower b\n",
    "d/": Dir(),
    "d/f": "d/f\n",
    "d/sub/g": "g\n",
    "s": Symlink("a"),
    "dangling": Symlink("nowhere"),
    "x": File("xattr file\n", xattrs={"user.one": "1", "user.two": "22"}),
    "ro": File("read only\n", mode=0o444),
    "p": Fifo(),
}

S = []


def sc(name, ops, lowers=None, **kw):
    S.append(Scenario(name, lowers=lowers or [BASE], ops=ops, **kw))


# reading never copies up
sc("read_lower_file", [("read", "a"), ("stat", "a"), ("lstat", "s"),
                       ("read", "s"), ("readlink", "s")])
sc("stat_dangling_symlink", [("stat", "dangling"), ("lstat", "dangling"),
                             ("readlink", "dangling")])
sc("open_rdonly_lower_no_copyup", [("open", "a", "O_RDONLY"),
                                   ("open", "d/f", "O_RDONLY")])
# writes
sc("write_lower_file_at_offset", [("write", "a", 2, "XY"), ("read", "a")])
sc("write_lower_file_past_eof", [("write", "a", 20, "tail"), ("read", "a"),
                                 ("stat", "a")])
sc("append_lower_file", [("append", "a", "more\n"), ("read", "a")])
sc("append_lower_file_twice", [("append", "d/f", "1"), ("append", "d/f", "2"),
                               ("read", "d/f")])
sc("write_lower_file_in_deep_dir", [("write", "d/sub/g", 0, "G"),
                                    ("read", "d/sub/g")])
sc("write_through_fd_then_read_other_fd", [
    ("open", "a", "O_RDWR", 0, "w"), ("fdwrite", "w", "abc", 0),
    ("open", "a", "O_RDONLY", 0, "r"), ("fdread", "r"), ("close", "w"),
    ("fdread", "r"), ("close", "r"), ("read", "a")])
sc("write_ro_lower_file_as_root", [("write", "ro", 0, "W"), ("read", "ro")])
# truncate
sc("truncate_lower_shrink", [("truncate", "a", 3), ("read", "a"),
                             ("stat", "a")])
sc("truncate_lower_grow", [("truncate", "a", 100000), ("read", "a"),
                           ("stat", "a")])
sc("truncate_lower_zero", [("truncate", "d/f", 0), ("read", "d/f")])
sc("truncate_dir_is_eisdir", [("truncate", "d", 0)])
sc("ftruncate_lower_via_fd", [("open", "b", "O_RDWR", 0, "f"),
                              ("fdtruncate", "f", 2), ("fdstat", "f"),
                              ("close", "f"), ("read", "b")])
# open flags
sc("otrunc_lower_file", [("open", "a", "O_WRONLY|O_TRUNC"), ("read", "a"),
                         ("stat", "a")])
sc("otrunc_then_write_lower", [("open", "a", "O_RDWR|O_TRUNC", 0, "f"),
                               ("fdwrite", "f", "new"), ("close", "f"),
                               ("read", "a")])
sc("ocreat_existing_lower_keeps_data", [("open", "a", "O_WRONLY|O_CREAT"),
                                        ("read", "a")])
sc("ocreat_excl_existing_lower", [("open", "a", "O_WRONLY|O_CREAT|O_EXCL")])
sc("ocreat_excl_after_unlink", [("unlink", "a"),
                                ("open", "a", "O_WRONLY|O_CREAT|O_EXCL"),
                                ("read", "a"), ("stat", "a")])
sc("ocreat_excl_lower_dir_name", [("open", "d", "O_WRONLY|O_CREAT|O_EXCL")])
sc("odirectory_on_file", [("open", "a", "O_RDONLY|O_DIRECTORY")])
sc("onofollow_on_symlink", [("open", "s", "O_RDONLY|O_NOFOLLOW")])
sc("open_missing_enoent", [("open", "nope", "O_RDONLY"),
                           ("open", "d/nope/x", "O_RDONLY")])
sc("open_wronly_dir_eisdir", [("open", "d", "O_WRONLY")])
sc("otrunc_ro_mode_lower_file", [("open", "ro", "O_WRONLY|O_TRUNC"),
                                 ("stat", "ro")])
# create
sc("create_file_in_root", [("create", "new", "hello"), ("read", "new"),
                           ("stat", "new")])
sc("create_file_in_lower_dir", [("create", "d/new", "hi"),
                                ("readdir", "d")])
sc("create_file_in_deep_lower_dir", [("create", "d/sub/new", "deep"),
                                     ("readdir", "d/sub")])
sc("create_file_mode_0600", [("create", "m", "", 0o600), ("stat", "m")])
sc("create_in_missing_dir", [("create", "nodir/f", "x")])
sc("create_name_max", [("create", "n" * 255, "x"), ("read", "n" * 255),
                       ("mkdir", "d/" + "m" * 255), ("readdir", "d")])
sc("create_name_too_long", [("create", "n" * 256, "x"),
                            ("mkdir", "d/" + "m" * 256),
                            ("stat", "q" * 256)])
sc("rename_to_name_max_over_lower", [("rename", "a", "z" * 255),
                                     ("read", "z" * 255), ("readdir", "")])
sc("create_under_file_enotdir", [("create", "a/f", "x")])
# unlink
sc("unlink_lower_file_leaves_whiteout", [("unlink", "a"), ("stat", "a"),
                                         ("readdir", "")])
sc("unlink_lower_file_in_dir", [("unlink", "d/sub/g"), ("readdir", "d/sub")])
sc("unlink_upper_only_file_no_whiteout", [("create", "u", "x"),
                                          ("unlink", "u"), ("readdir", "")])
sc("unlink_in_upper_only_dir_no_whiteout", [
    ("mkdir", "nd"), ("create", "nd/f", "x"), ("unlink", "nd/f"),
    ("readdir", "nd")])
sc("unlink_missing_enoent", [("unlink", "nope")])
sc("unlink_dir_eisdir", [("unlink", "d")])
sc("unlink_twice", [("unlink", "b"), ("unlink", "b")])
sc("unlink_open_file_keeps_fd_data", [("open", "a", "O_RDONLY", 0, "f"),
                                      ("unlink", "a"), ("fdread", "f"),
                                      ("close", "f"), ("exists", "a")])
sc("unlink_open_upper_file_close", [("create", "u", "upper"),
                                    ("open", "u", "O_RDONLY", 0, "f"),
                                    ("unlink", "u"), ("fdread", "f"),
                                    ("close", "f")])
sc("unlink_open_written_file_close", [("open", "b", "O_RDWR", 0, "f"),
                                      ("fdwrite", "f", "zz", 0),
                                      ("unlink", "b"), ("fdread", "f"),
                                      ("close", "f")])
# open fds must keep reaching their own inode whatever happens to the name
sc("fd_after_rename_over_upper", [
    ("create", "x", "aaaa"), ("create", "y", "bbbbbbbb"),
    ("open", "x", "O_RDWR", 0, "f"), ("rename", "y", "x"), ("fdstat", "f"),
    ("fdread", "f"), ("fdwrite", "f", "Z", 0), ("close", "f"),
    ("read", "x"), ("stat", "x")])
sc("fd_after_rename_over_lower", [
    ("open", "a", "O_RDONLY", 0, "f"), ("rename", "b", "a"), ("fdstat", "f"),
    ("fdread", "f"), ("close", "f"), ("read", "a")])
sc("fd_after_unlink_lower", [
    ("open", "a", "O_RDONLY", 0, "f"), ("unlink", "a"), ("fdstat", "f"),
    ("fdread", "f"), ("close", "f"), ("stat", "a")])
sc("fd_after_unlink_and_mkdir", [
    ("create", "x", "data"), ("open", "x", "O_RDWR", 0, "f"),
    ("unlink", "x"), ("mkdir", "x"), ("fdstat", "f"), ("fdwrite", "f", "W"),
    ("fdread", "f"), ("close", "f"), ("stat", "x"), ("readdir", "x")])
sc("fd_after_rename_away_and_recreate", [
    ("create", "x", "first"), ("open", "x", "O_RDWR", 0, "f"),
    ("rename", "x", "z"), ("create", "x", "second!"), ("fdstat", "f"),
    ("fdwrite", "f", "F", 0), ("close", "f"), ("read", "x"), ("read", "z")])
sc("fd_lower_after_rename_away_and_recreate", [
    ("open", "a", "O_RDONLY", 0, "f"), ("rename", "a", "z"),
    ("mkdir", "a"), ("fdstat", "f"), ("fdread", "f"), ("close", "f"),
    ("stat", "a"), ("read", "z")])
sc("fd_after_exchange", [
    ("create", "x", "xx"), ("create", "y", "yyyy"),
    ("open", "x", "O_RDWR", 0, "f"), ("rename2", "x", "y", "EXCHANGE"),
    ("fdstat", "f"), ("fdwrite", "f", "Q", 0), ("close", "f"),
    ("read", "x"), ("read", "y")])
sc("fd_survives_parent_dir_rename", [
    ("mkdir", "nd"), ("create", "nd/f", "abc"), ("open", "nd/f", "O_RDWR", 0,
                                                 "f"),
    ("rename", "nd", "nd2"), ("fdwrite", "f", "Z", 1), ("fdstat", "f"),
    ("close", "f"), ("read", "nd2/f"), ("stat", "nd/f")])
sc("stat_file_after_parent_rename", [
    ("mkdir", "nd"), ("create", "nd/f", "abc"), ("stat", "nd/f"),
    ("rename", "nd", "nd2"), ("stat", "nd2/f"), ("append", "nd2/f", "+"),
    ("read", "nd2/f"), ("readdir", "nd2")])
sc("fd_in_lower_dir_survives_sibling_changes", [
    ("open", "d/f", "O_RDWR", 0, "f"), ("create", "d/new", "n"),
    ("unlink", "d/sub/g"), ("fdwrite", "f", "W", 0), ("close", "f"),
    ("read", "d/f"), ("readdir", "d")])
sc("chmod_via_other_hardlink_name", [
    ("create", "u", "u"), ("link", "u", "u2"), ("chmod", "u", 0o600),
    ("stat", "u2"), ("append", "u2", "+"), ("stat", "u"), ("read", "u")])
sc("mmap_write_lower_file", [("mmap_write", "a", 2, "MM"), ("read", "a"),
                             ("stat", "a")])
sc("mmap_write_upper_file", [("create", "u", "0123456789"),
                             ("mmap_write", "u", 5, "xy"), ("read", "u")])
sc("two_fds_append", [
    ("open", "a", "O_WRONLY|O_APPEND", 0, "f1"),
    ("open", "a", "O_WRONLY|O_APPEND", 0, "f2"), ("fdwrite", "f1", "1"),
    ("fdwrite", "f2", "22"), ("fdwrite", "f1", "333"), ("close", "f1"),
    ("close", "f2"), ("read", "a")])
sc("truncate_while_open_for_read", [
    ("open", "b", "O_RDONLY", 0, "r"), ("truncate", "b", 2),
    ("fdread", "r"), ("fdstat", "r"), ("close", "r")])
sc("stat_after_type_change_via_other_name", [
    ("create", "x", "data"), ("stat", "x"), ("mkdir", "dd"),
    ("rename", "dd", "x"), ("stat", "x")])
# inode numbers: stable across copy-up, consistent with readdir d_ino
sc("ino_stable_across_file_copyup", [
    ("ino_mark", "a", "a"), ("chmod", "a", 0o600), ("ino_same", "a", "a"),
    ("append", "d/f", "x"), ("dino_check", ""), ("dino_check", "d")],
   tmpfs=False)
sc("ino_stable_across_dir_copyup", [
    ("ino_mark", "d", "d"), ("ino_mark", "d/sub", "s"),
    ("create", "d/sub/n", "n"), ("ino_same", "d", "d"),
    ("ino_same", "d/sub", "s"), ("dino_check", "d"), ("dino_check", "d/sub")],
   tmpfs=False)
sc("ino_rename_keeps_inode", [("ino_mark", "b", "b"), ("rename", "b", "bb"),
                              ("ino_same", "bb", "b"), ("dino_check", "")],
   tmpfs=False)
sc("unlink_then_recreate_file", [("unlink", "a"), ("create", "a", "again"),
                                 ("read", "a"), ("readdir", "")])
sc("unlink_symlink_lower", [("unlink", "s"), ("lstat", "s"),
                            ("read", "a")])
sc("unlink_fifo_lower", [("unlink", "p"), ("readdir", "")])
# metadata copy-up
sc("chmod_lower_file", [("chmod", "a", 0o600), ("stat", "a")])
sc("chmod_lower_dir", [("chmod", "d", 0o700), ("stat", "d"),
                       ("readdir", "d")])
sc("chown_lower_file", [("chown", "a", 1234, 5678), ("stat", "a")])
sc("chown_lower_dir", [("chown", "d/sub", 42, 43), ("stat", "d/sub")])
sc("chown_lower_symlink", [("chown", "s", 7, 8), ("lstat", "s"),
                           ("readlink", "s")])
sc("chmod_lower_fifo", [("chmod", "p", 0o600), ("stat", "p")])
sc("utime_lower_file", [("utime", "a", 1000000, 2000000),
                        ("mtime", "a")])
sc("utime_lower_dir", [("utime", "d/sub", 3000000, 4000000),
                       ("mtime", "d/sub")])
sc("setuid_bits_chmod", [("chmod", "b", 0o4755), ("stat", "b")])
# special files
sc("mkfifo_new", [("mkfifo", "q", 0o640), ("stat", "q"), ("readdir", "")])
sc("mkfifo_over_existing", [("mkfifo", "a")])
sc("mknod_char_device", [("mknod_chr", "c", 1, 3), ("stat", "c")])
sc("symlink_create", [("symlink", "d/f", "ln"), ("readlink", "ln"),
                      ("read", "ln")])
sc("symlink_over_existing_lower", [("symlink", "x", "a")])
sc("symlink_long_target", [("symlink", "t" * 1000, "longln"),
                           ("readlink", "longln")])
# hard links
HL = dict(BASE)
HL.update({"h1": "hard\n", "h2": Link("h1")})
sc("hardlinked_lower_stat", [("stat", "h1"), ("stat", "h2")],
   lowers=[HL])
sc("hardlinked_lower_write_one_name", [("append", "h1", "new\n"),
                                       ("read", "h1"), ("read", "h2"),
                                       ("stat", "h1"), ("stat", "h2")],
   lowers=[HL])
sc("hardlinked_lower_truncate_one_name", [("truncate", "h2", 1),
                                          ("read", "h1"), ("read", "h2")],
   lowers=[HL])
sc("hardlinked_lower_unlink_one_name", [("unlink", "h1"), ("read", "h2"),
                                        ("stat", "h2")], lowers=[HL])
sc("ino_hardlinked_lower_names", [("ino_mark", "h1", "h"),
                                  ("ino_same", "h2", "h"),
                                  ("append", "h1", "z"),
                                  ("ino_same", "h1", "h"),
                                  ("ino_same", "h2", "h"),
                                  ("dino_check", "")], lowers=[HL],
   tmpfs=False)
sc("hardlinked_lower_chmod_one_name", [("chmod", "h1", 0o600),
                                       ("stat", "h1"), ("stat", "h2")],
   lowers=[HL])
sc("link_lower_file_new_name", [("link", "a", "a2"), ("stat", "a"),
                                ("stat", "a2"), ("append", "a2", "+"),
                                ("read", "a")])
sc("link_upper_file", [("create", "u", "u"), ("link", "u", "u2"),
                       ("stat", "u2")])
sc("link_dir_eperm", [("link", "d", "d2")])
sc("link_over_existing", [("link", "a", "b")])
# fsync
sc("fsync_lower_file_no_copyup", [("fsync", "a"), ("fsync", "d")])
sc("fsync_upper_file", [("create", "u", "data"), ("fsync", "u"),
                        ("syncfs", "")])
# big and sparse copy-up
BIG = {"big": File(bytes(range(256)) * (6 * MiB // 256)),
       "sparse": File(sparse=[(0, b"head"), (40 * MiB, b"middle")],
                      size=64 * MiB)}
sc("copyup_big_file_write_middle", [("write", "big", 3 * MiB, "XYZ"),
                                    ("read", "big"), ("stat", "big")],
   lowers=[BIG])
sc("copyup_big_file_append", [("append", "big", "end"), ("read", "big")],
   lowers=[BIG])
sc("copyup_sparse_file", [("write", "sparse", 10 * MiB, "x"),
                          ("pread", "sparse", 40 * MiB, 6),
                          ("pread", "sparse", 10 * MiB - 2, 4),
                          ("read", "sparse"), ("stat", "sparse")],
   lowers=[BIG])
sc("copyup_sparse_truncate_grow", [("truncate", "sparse", 100 * MiB),
                                   ("pread", "sparse", 0, 4),
                                   ("stat", "sparse")], lowers=[BIG])
sc("write_big_new_file", [("writebig", "nb", 0, 3 * MiB), ("read", "nb")])
# xattrs survive copy-up
sc("copyup_keeps_user_xattrs_on_chmod", [("chmod", "x", 0o600),
                                         ("listxattr", "x"),
                                         ("getxattr", "x", "user.two")])
sc("copyup_keeps_user_xattrs_on_write", [("append", "x", "+"),
                                         ("getxattr", "x", "user.one")])
# shadowed and whiteout'd lower files in several layers
TOP = {"a": "top a\n", "gone": Whiteout(), "d/f": "top d/f\n"}
LOW = {"a": "low a\n", "gone": "should not show\n", "d/f": "low d/f\n",
       "d/lowonly": "lo\n", "c": "c from low\n"}
sc("shadowed_lower_read", [("read", "a"), ("read", "d/f"), ("stat", "gone"),
                           ("readdir", "")], lowers=[TOP, LOW])
sc("write_shadowed_lower_file", [("append", "a", "x"), ("read", "a")],
   lowers=[TOP, LOW])
sc("create_over_lower_whiteout", [("create", "gone", "back"),
                                  ("read", "gone")], lowers=[TOP, LOW])
sc("unlink_file_from_bottom_layer", [("unlink", "c"), ("readdir", "")],
   lowers=[TOP, LOW])


@pytest.mark.parametrize("mode,sc", mode_params(
    S, modes=("k-k", "k-e", "k-ev", "k-et")))
def test_files(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
