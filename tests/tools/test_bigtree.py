# SPDX-License-Identifier: GPL-2.0-or-later
"""A large tree under the default fd limit: 25,000 files in 250
directories (some of them merged with lower directories) are created
through the mount, then walked with find -ls and a stat of every file.
The daemon inherits this process's RLIMIT_NOFILE (it cannot raise its
hard limit), which is below the number of files, so a daemon that keeps
one fd per known node runs out: every call must still succeed and every
file must be there."""
import os
import resource

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

NDIRS = 250
PER_DIR = 100


def _daemon_nofile(pid):
    """The daemon's hard RLIMIT_NOFILE (None if unreadable)."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            for ln in f:
                if ln.startswith("Max open files"):
                    return int(ln.split()[4])
    except (OSError, ValueError, IndexError):
        return None
    return None


@pytest.mark.parametrize("mode", T.MODES)
def test_25k_files_create_and_walk(tmp_path, mode):
    testlib.require_daemon()
    testlib.require_tools("find")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = str(tmp_path / "lower")
    L.build(lower, {f"d{i:03d}/lower-file": f"{i}\n" for i in range(0, 25)})
    m = T.mount_side("e", tmp_path / "e", [lower], mode)
    with m:
        errors = []
        for i in range(NDIRS):
            d = os.path.join(m.mnt, f"d{i:03d}")
            try:
                os.makedirs(d, exist_ok=True)
                for j in range(PER_DIR):
                    fd = os.open(os.path.join(d, f"f{j:03d}"),
                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    try:
                        os.write(fd, b"%d/%d\n" % (i, j))
                    finally:
                        os.close(fd)
            except OSError as e:
                errors.append((d, e.errno, e.strerror))
                if len(errors) > 5:
                    break
        assert not errors, (f"creating files (RLIMIT_NOFILE {soft}/{hard}):"
                            f" {errors}\n" + m.log()[-2000:])
        st, out, err = T.run(["find", ".", "-ls"], m.mnt, None, timeout=300)
        assert st == 0 and not err, f"find -ls: {st} {err[:2000]}"
        lines = out.count("\n")
        # "." + NDIRS dirs + their files + the 25 lower files
        assert lines == 1 + NDIRS + NDIRS * PER_DIR + 25, lines
        n = 0
        bad = []
        for i in range(NDIRS):
            d = os.path.join(m.mnt, f"d{i:03d}")
            names = os.listdir(d)
            want = PER_DIR + (1 if i < 25 else 0)
            if len(names) != want:
                bad.append((d, len(names)))
            for name in names:
                try:
                    s = os.stat(os.path.join(d, name))
                    n += 1
                    if name != "lower-file" and s.st_size != len(
                            b"%d/%d\n" % (i, int(name[1:]))):
                        bad.append((d, name, s.st_size))
                except OSError as e:
                    bad.append((d, name, e.strerror))
            if len(bad) > 5:
                break
        assert not bad, bad
        assert n == NDIRS * PER_DIR + 25
        lim = _daemon_nofile(m.proc.pid)
        assert lim is None or lim < n, (
            f"the daemon may open {lim} fds: the tree does not exceed it")
        assert "Too many open files" not in m.log(), m.log()[-2000:]
        T._finish_errovl(m)
