# SPDX-License-Identifier: GPL-2.0-or-later
"""Everyday shell tools on a lower tree: mv of a lower directory (the
kernel answers EXDEV without redirect_dir, mv falls back to copying),
cp --sparse and cp --reflink=auto of a sparse lower file (SEEK_DATA /
SEEK_HOLE), lsattr/chattr, default ACLs, find -newer, truncate, dd
conv=notrunc, ln -sf over a lower file, rm -rf of a deep lower tree,
du; mv of lower directories with redirect_dir=on.  Output, exit status and merged tree must match kernel overlayfs."""

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

LOWER = {
    "ld/a": "a\n",
    "ld/sub/b": "b\n",
    "ld/sub/deeper/c": L.File("c\n", xattrs={"user.c": "1"}),
    "sp": L.File(size=6 << 20, sparse=[(2 << 20, b"x" * 4096),
                                        ((6 << 20) - 1, b"z")]),
    "plain": "0123456789\n",
    "target": "t\n",
    "rmme/1/2/3/4/f": "deep\n",
    "rmme/1/x": "x\n",
    "acldir": L.Dir(mode=0o775),
    "old": L.File("old\n", mtime=1_500_000_000),
    "new": L.File("new\n", mtime=1_600_000_000),
}

MAIN = r"""
step() { echo "== $*"; "$@" 2>&1; echo "-> $?"; }
step mv ld moved
step ls -R moved
step cp --sparse=always sp sp.always
step cp --reflink=auto sp sp.reflink
step cmp sp sp.reflink
/usr/bin/python3 -c '
for n in ("sp", "sp.always"):
    fd = os.open(n, os.O_RDONLY)
    try:
        d = os.lseek(fd, 0, os.SEEK_DATA)
        h = os.lseek(fd, d, os.SEEK_HOLE)
        print(n, "data", d, "hole", h, "size", os.fstat(fd).st_size)
    finally:
        os.close(fd)
'
step find . -maxdepth 1 -newer old -name 'n*'
step truncate -s 4 plain
step sh -c 'printf AB | dd of=target bs=1 seek=1 conv=notrunc status=none'
step cat target
step ln -sf moved/a target
step readlink target
step rm -rf rmme
step ls
step du -s --apparent-size --block-size=1 moved sp
"""

ATTRS = r"""
step() { echo "== $*"; "$@" 2>&1; echo "-> $?"; }
step lsattr -d acldir
step lsattr plain
step chattr +A plain
step lsattr plain
"""

ACLS = r"""
step() { echo "== $*"; "$@" 2>&1; echo "-> $?"; }
step setfacl -d -m u:4242:rwx acldir
step touch acldir/inherits
step mkdir acldir/subdir
step getfacl -c acldir/inherits acldir/subdir
"""

# ls -i / find -inum / tar and rsync link detection rely on this
INODES = r"""
step() { echo "== $*"; "$@" 2>&1; echo "-> $?"; }
i0=$(stat -c %i plain)
step sh -c 'echo more >> plain'
i1=$(stat -c %i plain)
[ "$i0" = "$i1" ] && echo "same inode after copy-up" || echo "changed"
step sh -c "find . -inum $i0 | sort"
"""

SCRIPTS = [
    pytest.param(MAIN, id="mv-cp-dd-rm"),
    pytest.param(ATTRS, id="lsattr-chattr"),
    pytest.param(ACLS, id="default-acl"),
    pytest.param(INODES, id="inode-after-copy-up"),
]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("mode", T.MODES)
def test_coreutils_on_lower_tree(tmp_path, mode, script):
    testlib.require_tools("lsattr", "chattr", "setfacl", "getfacl", "dd",
                          "truncate", "du")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = str(tmp_path / "lower")
    L.build(lower, LOWER)
    res = T.both(tmp_path, mode, [lower],
                 lambda mnt, side: T.run(script, mnt, env))
    assert res["k"][0][1].count("-> 0\n") == res["k"][0][1].count("== "), \
        "a step failed on the kernel side"
    T.assert_same(res, "tool output")


# redirect_dir=on: mv renames lower and merged directories in place
MOVES = r"""
step() { echo "== $*"; "$@" 2>&1; echo "-> $?"; }
step mv ld moved
step mkdir -p into/here
step mv moved/sub into/here/sub
step mv into renamed
step ls -R moved renamed
step sh -c 'echo new > renamed/here/sub/deeper/n'
step getfattr -n user.c --only-values renamed/here/sub/deeper/c
step sh -c 'find . -path ./sp -prune -o -print | sort'
step mv rmme ld
step rm -rf ld
step ls
"""


@pytest.mark.parametrize("mode", T.MODES)
def test_mv_directories_with_redirect_dir(tmp_path, mode):
    """mv of lower directories with redirect_dir=on on both sides: a real
    rename (no copy), the same output and tree as the kernel, and the
    kernel reads the upper errovl wrote (cross-mount)."""
    testlib.require_tools("getfattr")
    env = T.tool_env(tmp_path)
    lower = str(tmp_path / "lower")
    L.build(lower, LOWER)
    res = T.both(tmp_path, mode, [lower],
                 lambda mnt, side: T.run(MOVES, mnt, env),
                 opts=("redirect_dir=on",),
                 verify=lambda mnt, side: T.run(
                     "find . -path ./sp -prune -o -print | sort; "
                     "cat renamed/here/sub/deeper/n", mnt, env))
    assert res["k"][0][1].count("-> 0\n") == res["k"][0][1].count("== "), \
        "a step failed on the kernel side"
    T.assert_same(res, "tool output")
