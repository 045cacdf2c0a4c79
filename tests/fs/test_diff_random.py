# SPDX-License-Identifier: GPL-2.0-or-later
"""Random differential scenarios: seeded sequences of operations over a
small pool of names, on two random lower layers, run on kernel
overlayfs and on errovl by the differential harness (every step's
result, the merged tree, the upper directory and the cross-mounts are
compared).

The same seed always gives the same scenario. A fixed set of seeds runs
with the test suite; ERROVL_RANDOM_SEEDS runs others instead, a count
from 0 or a range ("500", "1000-1999"), e.g.

    ERROVL_RANDOM_SEEDS=1000-1999 python3 -m pytest -q -x \\
        tests/fs/test_diff_random.py

(ERROVL_RANDOM_STEPS sets the number of steps, 14 by default). A
failing test's id names its seed; its report adds every step and the
lower layers (top first) to the differences found.
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


def _env_int(name, default):
    """$@name as an integer of at least 0 (@default when unset)."""
    v = os.environ.get(name, "")
    if not v:
        return default
    if not v.isdigit():
        raise pytest.UsageError(f"{name}={v!r}: want a number")
    return int(v)


STEPS = _env_int("ERROVL_RANDOM_STEPS", 14)
if STEPS < 1:
    raise pytest.UsageError("ERROVL_RANDOM_STEPS: want at least 1 step")


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


def _describe(spec):
    """@spec (a layer) in words, for a failure report."""
    out = []
    for name, e in spec.items():
        if isinstance(e, File):
            out.append(f"{name} file {oct(e.mode)} {e.data!r}"
                       + (f" xattrs {e.xattrs}" if e.xattrs else ""))
        elif isinstance(e, Dir):
            out.append(f"{name} dir" + (" opaque" if e.opaque else ""))
        elif isinstance(e, Symlink):
            out.append(f"{name} -> {e.target}")
        else:
            out.append(f"{name} whiteout")
    return "\n".join("  " + x for x in out)


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
    """The seeds to run: ERROVL_RANDOM_SEEDS as "N" (0 to N-1) or "A-B"
    (A to B), else the first SEEDS."""
    spec = os.environ.get("ERROVL_RANDOM_SEEDS", "")
    lo, sep, hi = spec.partition("-")
    if not spec:
        seeds = range(SEEDS)
    elif not lo.isdigit() or (sep and not hi.isdigit()):
        raise pytest.UsageError(f"ERROVL_RANDOM_SEEDS={spec!r}: want N or "
                                "A-B (numbers)")
    else:
        seeds = range(int(lo), int(hi) + 1) if sep else range(int(lo))
    if not seeds:
        raise pytest.UsageError(f"ERROVL_RANDOM_SEEDS={spec!r}: no seed")
    return seeds


S = [scenario(s) for s in _seeds()]


@pytest.mark.parametrize("mode,sc", mode_params(S, modes=("k-e", "k-ev")))
def test_random(mode, sc, tmp_path):
    try:
        run_differential(mode, sc, tmp_path)
        return
    except pytest.fail.Exception as e:
        found = e.msg
    steps = "\n".join(f"  {i}: {op!r}" for i, op in enumerate(sc.ops))
    layers = "\n".join(f"--- lower {i} ---\n{_describe(spec)}"
                       for i, spec in enumerate(sc.lowers))
    pytest.fail(f"{found}\n--- steps ---\n{steps}\n{layers}", pytrace=False)
