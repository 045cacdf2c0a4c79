# SPDX-License-Identifier: GPL-2.0-or-later
"""In volatile mode no sync reaches the upper layer: not from fsync,
fdatasync or fsyncdir, not inside copy-up, and O_SYNC/O_DSYNC are not
passed on. Checked by tracing the daemon's system calls; the same
sequence on a non-volatile mount must show real syncs, which proves the
trace would catch them."""
import os
import re
import subprocess
import time

import pytest

import volhelp as vh

SYNC_CALLS = ("fsync", "fdatasync", "syncfs", "sync", "sync_file_range",
              "msync")


def _threads(pid):
    return set(os.listdir(f"/proc/{pid}/task"))


def _traced(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1]) != 0
    return False


class Trace:
    """strace -f attached to every thread of a running daemon."""

    def __init__(self, pid, log):
        self.log = log
        calls = ",".join(SYNC_CALLS + ("openat", "openat2"))
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", f"trace={calls}", "-o", log,
             "-p", str(pid)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        vh.wait_for(lambda: all(_traced(pid, t) for t in _threads(pid)),
                    "strace attached to every daemon thread")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        with open(self.log) as f:
            return f.read()


def _workload(mnt):
    """Every path that syncs in a non-volatile overlay."""
    fd = os.open(os.path.join(mnt, "new"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"n" * 4096)
    os.fsync(fd)
    os.fdatasync(fd)
    os.close(fd)
    # Copy-up of a lower file, then fsync of the copy.
    fd = os.open(os.path.join(mnt, "lowerfile"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"appended\n")
    os.fsync(fd)
    os.close(fd)
    # Copy-up of a lower directory (a create inside it), then fsyncdir.
    with open(os.path.join(mnt, "lowerdir", "child"), "w") as f:
        f.write("c")
    dfd = os.open(os.path.join(mnt, "lowerdir"), os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    for name, flag in (("osync", os.O_SYNC), ("odsync", os.O_DSYNC)):
        fd = os.open(os.path.join(mnt, name),
                     os.O_WRONLY | os.O_CREAT | flag, 0o644)
        os.write(fd, b"s" * 4096)
        os.close(fd)


def _sync_calls(log):
    pat = re.compile(r"^\d+\s+(%s)\(" % "|".join(SYNC_CALLS))
    return [l for l in log.splitlines() if pat.match(l)]


def _sync_opens(log):
    return [l for l in log.splitlines()
            if re.search(r"openat2?\(", l) and re.search(r"O_D?SYNC", l)]


@pytest.mark.parametrize("volatile", [True, False],
                         ids=["volatile", "non-volatile"])
def test_no_sync_reaches_upper_in_volatile_mode(tmpfs_layers, errovl,
                                                 volatile):
    vh.require_tools("strace")
    L = tmpfs_layers
    with open(os.path.join(L.lower, "lowerfile"), "w") as f:
        f.write("lower\n")
    os.mkdir(os.path.join(L.lower, "lowerdir"))
    opts = ["harvest_interval=0"] + (["volatile"] if volatile else [])
    d = errovl(L, *opts)
    assert d.mounted, d.stderr
    trace = Trace(d.proc.pid, os.path.join(L.base, "strace.log"))
    try:
        _workload(L.mnt)
        time.sleep(0.2)  # let the last replies' syscalls reach the log
    finally:
        log = trace.stop()
    assert d.unmount() == 0, d.stderr
    with open(os.path.join(L.upper, "lowerfile")) as f:
        assert f.read() == "lower\nappended\n"
    # The trace saw the workload (the copy-up opens the lower file).
    assert re.search(r"openat2?\(.*lowerfile", log), log
    if volatile:
        assert _sync_calls(log) == []
        assert _sync_opens(log) == []
    else:
        assert any("fsync(" in l for l in _sync_calls(log)), log
        assert any("fdatasync(" in l for l in _sync_calls(log)), log
