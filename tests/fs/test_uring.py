# SPDX-License-Identifier: GPL-2.0-or-later
"""FUSE over io_uring (fs/uring.c): where the fuse module allows it
(enable_uring), requests come through per-CPU io_uring queues.  The mount
reports it; every kind of request is answered there, by the queue thread
or a worker (copy-ups, renames, fsync, listings); reads of lower
files come back whole; blocked requests do not stop the others; uring=0
and a kernel that does not offer it keep /dev/fuse.  The rest of the
suite runs a second time in this mode (scripts/test.sh)."""
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import testlib

PARAM = "/sys/module/fuse/parameters/enable_uring"


def _set_param(value):
    with open(PARAM, "w") as f:
        f.write(value)


@pytest.fixture
def uring(request):
    """enable_uring set to the test's parameter (default Y), restored
    afterwards."""
    testlib.require_daemon()
    if not os.path.exists(PARAM):
        pytest.skip("the fuse module has no io_uring support "
                    "(CONFIG_FUSE_IO_URING, Linux 6.14+)")
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            if f.read().strip() == "2":
                pytest.skip("io_uring is disabled (kernel.io_uring_disabled=2)")
    except FileNotFoundError:
        pass
    with open(PARAM) as f:
        old = f.read().strip()
    want = getattr(request, "param", "Y")
    try:
        _set_param(want)
    except OSError as e:
        pytest.skip(f"cannot set {PARAM}: {e}")
    yield want
    _set_param(old)


def _requests(mnt):
    return testlib.ctl_status(mnt)["requests"]


@contextlib.contextmanager
def _on_ring(tmp_path, files=None):
    """A started mount with @files in its lower layer, whose requests
    come through io_uring (else the test would prove nothing)."""
    with testlib.errovl_with_files(tmp_path, (), files) as m:
        assert _requests(m.mnt) == "io_uring"
        yield m


@pytest.mark.parametrize("uring,opts,want", [
    ("Y", (), "io_uring"),
    ("Y", ("uring=0",), "/dev/fuse"),
    ("Y", ("threaded=0",), "/dev/fuse"),
    ("N", (), "/dev/fuse"),
], ids=["on", "opt-off", "unthreaded", "module-off"], indirect=["uring"])
def test_status_reports_requests(tmp_path, uring, opts, want):
    """errovlctl status says how requests arrive: io_uring when the
    module allows it, unless uring=0 or threaded=0 (one thread answers
    everything); /dev/fuse when the module does not offer it."""
    with testlib.errovl_with_files(tmp_path, opts, {"f": b"x"}) as m:
        with open(os.path.join(m.mnt, "f"), "rb") as f:
            assert f.read() == b"x"
        assert _requests(m.mnt) == want


def test_every_kind_of_request(tmp_path, uring):
    """Lookups, creates, writes, renames (worker), fsync (worker),
    listings (worker), xattrs, links, symlinks, truncation, unlink and
    rmdir all work and land in the upper layer."""
    with _on_ring(tmp_path, files={"low": b"lower data"}) as m:
        d = os.path.join(m.mnt, "d")
        os.mkdir(d)
        for i in range(50):
            p = os.path.join(d, f"f{i}")
            with open(p, "wb") as f:
                f.write(b"%d" % i * 100)
                f.flush()
                os.fsync(f.fileno())
            os.rename(p, p + ".done")
        assert sorted(os.listdir(d)) == sorted(f"f{i}.done"
                                               for i in range(50))
        low = os.path.join(m.mnt, "low")
        os.setxattr(low, "user.k", b"v")
        assert os.getxattr(low, "user.k") == b"v"
        os.link(low, os.path.join(m.mnt, "hard"))
        os.symlink("low", os.path.join(m.mnt, "sym"))
        assert os.readlink(os.path.join(m.mnt, "sym")) == "low"
        os.truncate(low, 5)
        with open(os.path.join(m.mnt, "hard"), "rb") as f:
            assert f.read() == b"lower"
        os.unlink(os.path.join(m.mnt, "hard"))
        for i in range(50):
            os.unlink(os.path.join(d, f"f{i}.done"))
        os.rmdir(d)
        assert sorted(os.listdir(m.mnt)) == ["low", "sym"]
        assert os.getxattr(os.path.join(m.upper, "low"), "user.k") == b"v"


@pytest.mark.parametrize("size", [1, 4096, 131072, 1 << 20])
def test_lower_reads_whole(tmp_path, uring, size):
    """A lower file (read by the daemon, straight into the ring entry) of
    every size reads back byte for byte, sequentially and at random
    offsets."""
    data = os.urandom(size)
    with _on_ring(tmp_path, files={"f": data}) as m:
        p = os.path.join(m.mnt, "f")
        with open(p, "rb") as f:
            assert f.read() == data
        fd = os.open(p, os.O_RDONLY)
        try:
            for off in (0, size // 3, size - 1, size):
                assert os.pread(fd, 70000, off) == data[off:off + 70000]
        finally:
            os.close(fd)


def _copy_up_all(mnt, names):
    """Processes that each open a lower file for writing (a copy-up, on
    a worker) and append to it."""
    return [subprocess.Popen(
        [sys.executable, "-c",
         "import sys\n"
         "with open(sys.argv[1], 'ab') as f:\n"
         "    f.write(b'+')\n", os.path.join(mnt, n)],
        stderr=subprocess.DEVNULL) for n in names]


def test_slow_requests_do_not_stop_others(tmp_path, uring):
    """Eight copy-ups of 32 MiB files run on workers, each holding a
    ring entry; meanwhile creates, renames and listings are answered
    (some finish while copy-ups still run), and every copy ends up
    whole."""
    big = {f"big{i}": bytes([i]) * (32 << 20) for i in range(8)}
    with _on_ring(tmp_path, files=big) as m:
        procs = _copy_up_all(m.mnt, big)
        # As many creates and renames as fit while copy-ups run; those
        # that finish with a copy-up still running prove the point (if
        # they waited for the copy-ups, none would).
        n = during = 0
        while any(p.poll() is None for p in procs) and n < 5000:
            q = os.path.join(m.mnt, f"other{n}")
            with open(q, "wb") as f:
                f.write(b"x")
            os.rename(q, q + ".r")
            n += 1
            during += any(p.poll() is None for p in procs)
        assert len(os.listdir(m.mnt)) == 8 + n
        for p in procs:
            assert p.wait(timeout=120) == 0
        for name, data in big.items():
            with open(os.path.join(m.upper, name), "rb") as f:
                assert f.read() == data + b"+", name
        if not during:
            pytest.skip("no create finished while a copy-up ran (they "
                        "ended first, or the creates waited for them): "
                        "nothing was shown")


def test_parallel_clients(tmp_path, uring):
    """Threads on every CPU create, write, read back and remove files at
    the same time; nothing is lost or mixed up."""
    with _on_ring(tmp_path) as m:
        errors = []

        def work(n):
            try:
                for i in range(200):
                    p = os.path.join(m.mnt, f"t{n}-{i}")
                    data = os.urandom(1000 + i)
                    with open(p, "wb") as f:
                        f.write(data)
                    with open(p, "rb") as f:
                        assert f.read() == data
                    os.unlink(p)
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,))
                   for n in range(2 * (os.cpu_count() or 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert os.listdir(m.mnt) == []


def test_sigterm_with_requests_in_flight(tmp_path, uring):
    """SIGTERM while copy-ups hold ring entries: the daemon finishes what
    it answers and exits (status 0), and no client hangs."""
    big = {f"big{i}": bytes([i]) * (64 << 20) for i in range(4)}
    with _on_ring(tmp_path, files=big) as m:
        procs = _copy_up_all(m.mnt, big)
        # Signal once a copy-up has begun (its temp file is in work/)
        # or ended (a reflinking upper copies at once).
        deadline = time.monotonic() + 30
        while not (os.listdir(os.path.join(m.work, "work")) or
                   any(os.path.exists(os.path.join(m.upper, n))
                       for n in big)):
            assert time.monotonic() < deadline, "no copy-up started"
            time.sleep(0.005)
        m.proc.send_signal(signal.SIGTERM)
        assert m.wait(timeout=60) == 0
        for p in procs:
            p.wait(timeout=60)
