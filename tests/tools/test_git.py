# SPDX-License-Identifier: GPL-2.0-or-later
"""git in the mount.  A repository cloned into the lower layer gets new
commits, a branch, checkouts back and forth, a merge, fsck and gc in the
mount (its objects are then partly in the lower, partly in the upper,
and gc repacks them all into the upper); a second repository is made
from scratch in the mount.  Commit dates and identities are fixed, so
both runs make the same object ids; git's output and the merged tree
must match the kernel overlayfs run, also after a remount (fsck, log,
status); local clones in the mount hard-link the lower objects (which fails
on kernel overlayfs too) and then the repacked ones.  .git/index holds stat data (inode
numbers, times), so only its presence and mode are compared."""
import os

import pytest

import testlib

import toolhelp as T

GIT = ["git", "-c", "init.defaultBranch=main", "-c", "pack.threads=1",
       "-c", "gc.auto=0", "-c", "core.fsync=all"]


def _git_lower(tmp_path, env):
    origin = tmp_path / "origin"
    os.makedirs(origin / "src")
    script = """
set -e
git init -q
printf 'one\\n' > README
for i in 1 2 3 4 5 6; do printf 'line %s\\n' $i > src/f$i.c; done
mkdir -p doc/deep && printf 'doc\\n' > doc/deep/x.txt
ln -s src/f1.c link
git add -A && git commit -q -m first
printf 'two\\n' >> README && chmod +x src/f2.c && git rm -q src/f6.c
git commit -q -am second
"""
    st, out, err = T.run(GIT[:3] + ["version"], str(origin), env)
    assert st == 0, err
    st, out, err = T.run(script.replace("git ", " ".join(GIT) + " "),
                         str(origin), env)
    assert st == 0, err
    lower = tmp_path / "lower"
    os.makedirs(lower)
    st, out, err = T.run(GIT + ["clone", "-q", str(origin),
                                str(lower / "repo")], str(tmp_path), env)
    assert st == 0, err
    return str(lower)


def _run_steps(steps, cwd, env):
    g = " ".join(GIT)
    out = []
    for s in steps:
        cmd = s[2:] if s.startswith("! ") else g + " " + s
        out.append((s,) + T.run(cmd, cwd, env))
    return out


FRESH = ["init -q", "! printf 'a\\n' > a && printf 'x\\n' > x "
         "&& ln -s a c", "add -A", "commit -q -m init",
         "! printf 'b\\n' > a && rm x", "commit -q -am b",
         "checkout -q HEAD~1", "! cat a x", "checkout -q main",
         "fsck --full --strict --no-progress", "gc -q",
         "log --oneline", "ls-files -s"]

# Two names of one file made in the mount; the change made through one
# name must be seen by git through the other.
FRESH_LINKS = ["init -q", "! printf 'a\\n' > a && ln a b", "add -A",
               "commit -q -m init", "! printf 'b\\n' > b",
               "commit -q -am b", "ls-files -s", "status --porcelain"]


def _fresh_script(env, steps):
    def action(mnt, side):
        os.mkdir(os.path.join(mnt, "fresh"))
        return _run_steps(steps, os.path.join(mnt, "fresh"), env)
    return action


def _git_script(env):
    steps = [
        "status --porcelain",
        "log --oneline",
        "! printf 'three\\n' >> README && printf 'new\\n' > src/new.c",
        "add -A",
        "commit -q -m third",
        "branch feature",
        "checkout -q feature",
        "! printf 'feature\\n' > doc/deep/x.txt && rm src/f3.c "
        "&& mkdir -p gen && printf 'g\\n' > gen/g.h",
        "add -A",
        "commit -q -m feature-work",
        "checkout -q main",
        "! test ! -e gen/g.h && test -e src/f3.c && cat doc/deep/x.txt",
        "checkout -q feature",
        "! test -e gen/g.h && test ! -e src/f3.c",
        "checkout -q main",
        "merge -q --no-ff -m merge feature",
        "fsck --full --strict --no-progress",
        "gc -q --prune=now",
        "fsck --full --strict --no-progress",
        "count-objects -v",
        "log --graph --oneline --all",
        "status --porcelain",
    ]

    def action(mnt, side):
        # A local clone hard-links the objects.  With lower objects
        # kernel overlayfs makes git fail ("hardlink different from
        # source": link() copies the source up); errovl must fail alike.
        out = _run_steps(["clone -q --no-checkout repo clone1"], mnt, env)
        out += _run_steps(steps, os.path.join(mnt, "repo"), env)
        # now the objects are in a pack in the upper
        out += _run_steps(["clone -q --no-checkout repo clone2"], mnt, env)
        out += _run_steps(["fsck --full --strict --no-progress",
                           "log --oneline --all", "count-objects -v"],
                          os.path.join(mnt, "clone2"), env)
        return out
    return action


@pytest.mark.parametrize("mode", T.MODES)
def test_git_clone_in_lower_commit_in_mount(tmp_path, mode):
    testlib.require_tools("git")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = _git_lower(tmp_path, env)
    res = T.both(tmp_path, mode, [lower], _git_script(env),
                 # the clone records the absolute path of its origin
                 opaque=("repo/.git/index", "clone2/.git/config",
                         "clone2/.git/logs/HEAD",
                         "clone2/.git/logs/refs/heads/main",
                         "clone2/.git/logs/refs/remotes/origin/HEAD"),
                 verify=lambda mnt, side: _run_steps(
                     ["fsck --full --strict --no-progress",
                      "log --oneline --all", "status --porcelain"],
                     os.path.join(mnt, "repo"), env))
    for s, st, out, err in res["k"][0][1:]:
        assert st == 0, f"kernel run: {s}: {err}"
    T.assert_same(res, "git steps")


def _fresh(tmp_path, mode, steps):
    testlib.require_tools("git")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = tmp_path / "lower"
    os.makedirs(lower)
    res = T.both(tmp_path, mode, [str(lower)], _fresh_script(env, steps),
                 opaque=("fresh/.git/index",))
    for s, st, out, err in res["k"][0]:
        assert st == 0, f"kernel run: {s}: {err}"
    T.assert_same(res, "git steps")


@pytest.mark.parametrize("mode", T.MODES)
def test_git_fresh_repo_in_mount(tmp_path, mode):
    _fresh(tmp_path, mode, FRESH)


@pytest.mark.parametrize("mode", T.MODES)
def test_git_fresh_repo_with_hard_links(tmp_path, mode):
    _fresh(tmp_path, mode, FRESH_LINKS)
