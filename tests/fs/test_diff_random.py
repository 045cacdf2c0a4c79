# SPDX-License-Identifier: GPL-2.0-or-later
"""Random differential scenarios: seeded sequences of operations over a
small pool of names, on two random lower layers, run on kernel
overlayfs and on errovl by the differential harness (every step's
result, the merged tree, the upper directory and the cross-mounts are
compared).

The same seed always gives the same scenario. A fixed set of seeds runs
with the test suite; more run with ERROVL_RANDOM_SEEDS, a count or a
range ("500", "1000-1999"), e.g.

    ERROVL_RANDOM_SEEDS=1000-1999 python3 -m pytest -q -x \\
        tests/fs/test_diff_random.py

(ERROVL_RANDOM_STEPS sets the number of steps, 14 by default). A
failing test's id names its seed; the failure report lists the steps.
"""
import os
import random

import pytest

from diffharness import Scenario, mode_params, run_differential
from testlib.layers import Dir, File, Symlink, Whiteout

# The names operations pick from: top-level ones and two levels below.
NAMES = ["a", "b", "c", "d", "e", "d/a", "d/b", "e/a", "d/s", "d/s/a"]
DIRS = ["", "d", "e", "d/s"]
SEEDS = 48
STEPS = int(os.environ.get("ERROVL_RANDOM_STEPS", "14"))


def _layer(rng, below=None):
    """A random lower layer and the kinds of its entries. A layer above
    @below (the kinds of the layer under it) also gets whiteouts and
    opaque directories; a whiteout only where its directory merges with
    one below (kernel overlayfs lists whiteouts of a directory that comes
    from one layer as devices, docs/known-differences.md D14)."""
    spec, kinds = {}, {}
    merged_dirs = {""} if below is not None else set()
    for name in NAMES:
        parent = os.path.dirname(name)
        if parent and kinds.get(parent) not in ("dir", "opaque"):
            continue
        merged = parent in merged_dirs
        # names with children below them are mostly directories
        k = rng.choice((["dir"] * 4 if name in DIRS else []) +
                       ["none", "none", "file", "file", "dir", "symlink"] +
                       (["opaque"] if below is not None else []) +
                       (["whiteout"] if merged else []))
        if k == "file":
            spec[name] = File(f"{name} {rng.randrange(100)}\n",
                              mode=rng.choice([0o644, 0o600, 0o755]),
                              xattrs=({"user.k": "low"} if rng.random() < .3
                                      else None))
        elif k in ("dir", "opaque"):
            spec[name + "/"] = Dir(opaque=k == "opaque")
        elif k == "symlink":
            spec[name] = Symlink(rng.choice(["a", "../a", "nowhere"]))
        elif k == "whiteout":
            spec[name] = Whiteout()
        if k != "none":
            kinds[name] = k
        if merged and k == "dir" and below.get(name) == "dir":
            merged_dirs.add(name)
    return spec, kinds


def _op(rng, fds):
    """One random step; @fds is the set of descriptor names opened so
    far (a step on one that failed to open gets EBADF on both sides)."""
    n = lambda: rng.choice(NAMES)  # noqa: E731
    data = lambda: rng.choice(["", "x", "hello\n", "Z" * 5000])  # noqa: E731
    kind = rng.choice([
        "create", "write", "append", "truncate", "read", "stat", "lstat",
        "unlink", "mkdir", "rmdir", "rename", "rename", "rename2",
        "symlink", "link", "chmod", "setxattr", "getxattr", "removexattr",
        "listxattr", "readdir", "readdir", "rmtree", "open", "fd", "fd"])
    if kind == "create":
        return ("create", n(), data())
    if kind == "write":
        return ("write", n(), rng.choice([0, 3, 9000]), data() or "w")
    if kind == "append":
        return ("append", n(), data() or "+")
    if kind == "truncate":
        return ("truncate", n(), rng.choice([0, 2, 7000]))
    if kind in ("read", "stat", "lstat", "unlink", "rmdir", "rmtree",
                "listxattr"):
        return (kind, n())
    if kind == "mkdir":
        return ("mkdir", n(), rng.choice([0o755, 0o700]))
    if kind == "rename":
        return ("rename", n(), n())
    if kind == "rename2":
        return ("rename2", n(), n(), rng.choice(["NOREPLACE", "EXCHANGE"]))
    if kind == "symlink":
        return ("symlink", rng.choice(["a", "d/a", "../x"]), n())
    if kind == "link":
        return ("link", n(), n())
    if kind == "chmod":
        return ("chmod", n(), rng.choice([0o600, 0o644, 0o751]))
    if kind == "setxattr":
        return ("setxattr", n(), "user.k", rng.choice(["1", "two"]))
    if kind in ("getxattr", "removexattr"):
        return (kind, n(), "user.k")
    if kind == "readdir":
        return ("readdir", rng.choice(DIRS))
    if kind == "open":
        name = rng.choice(["f1", "f2"])
        fds.add(name)
        return ("open", n(), rng.choice(["O_RDONLY", "O_RDWR",
                                         "O_RDWR|O_APPEND",
                                         "O_WRONLY|O_TRUNC"]), 0o644, name)
    if not fds:
        return ("readdir", "")
    name = rng.choice(sorted(fds))
    step = rng.choice(["fdread", "fdwrite", "fdstat", "close"])
    if step == "fdwrite":
        return ("fdwrite", name, data() or "f", rng.choice([None, 0, 6]))
    if step == "close":
        fds.discard(name)
    return (step, name)


def scenario(seed):
    """The scenario of @seed."""
    rng = random.Random(seed)
    bottom, kinds = _layer(rng)
    top, _ = _layer(rng, kinds)
    lowers = [top, bottom]
    fds = set()
    ops = [_op(rng, fds) for _ in range(STEPS)]
    ops += [("readdir", d) for d in DIRS]
    # every third seed lets directories with lower parts move
    return Scenario(f"seed{seed}", lowers=lowers, ops=ops,
                    redirect=seed % 3 == 2)


def _seeds():
    spec = os.environ.get("ERROVL_RANDOM_SEEDS", "")
    if not spec:
        return range(SEEDS)
    if "-" in spec:
        lo, hi = spec.split("-", 1)
        return range(int(lo), int(hi) + 1)
    return range(int(spec))


S = [scenario(s) for s in _seeds()]


@pytest.mark.parametrize("mode,sc", mode_params(S, modes=("k-e", "k-ev")))
def test_random(mode, sc, tmp_path):
    run_differential(mode, sc, tmp_path)
