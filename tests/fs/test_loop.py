# SPDX-License-Identifier: GPL-2.0-or-later
"""The request loop (fs/loop.c): a signal ends it at once whatever the
spin setting and while workers are busy, the mount then goes away and
the daemon exits 0; requests are answered with spin=0 too."""
import contextlib
import ctypes
import errno
import os
import signal
import threading
import time

import pytest

import testlib


@pytest.mark.parametrize("opts", [(), ("spin=0",), ("spin=1000000",),
                                  ("threaded=0",)],
                         ids=["default", "spin0", "spin1s", "single"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["TERM", "INT"])
def test_signal_unmounts(tmp_path, opts, sig):
    testlib.require_daemon()
    lo = str(tmp_path / "l")
    os.makedirs(os.path.join(lo, "d"))
    for i in range(200):
        with open(os.path.join(lo, "d", f"f{i}"), "w") as f:
            f.write("x" * i)
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=[lo], opts=opts)
    # A test run started in the background of a non-interactive shell
    # ignores SIGINT, and so would the daemon (ignored signals survive
    # exec): give it a handler for the moment of the fork instead.
    old = signal.getsignal(signal.SIGINT)
    if old == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        m.start()
    finally:
        signal.signal(signal.SIGINT, old)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(m.cleanup)
        # Keep the reader and the workers busy while the signal comes.
        stop = threading.Event()

        def busy():
            while not stop.is_set():
                try:
                    for n in os.listdir(os.path.join(m.mnt, "d")):
                        os.stat(os.path.join(m.mnt, "d", n))
                    with open(os.path.join(m.mnt, "w"), "a") as f:
                        f.write("y")
                        os.fsync(f.fileno())
                except OSError:
                    return
        t = threading.Thread(target=busy)
        t.start()
        time.sleep(0.3)
        assert sorted(os.listdir(os.path.join(m.mnt, "d")))[:1] == ["f0"]
        start = time.monotonic()
        m.proc.send_signal(sig)
        try:
            rc = m.proc.wait(timeout=10)
        finally:
            stop.set()
            t.join(timeout=10)
        assert time.monotonic() - start < 5
        assert rc == 0, m.log()[-2000:]
        assert not testlib.mounted_at(m.mnt)


def _linkat_empty_path(fd, path):
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, at_empty_path = -100, 0x1000
    if libc.linkat(fd, b"", at_fdcwd, os.fsencode(path), at_empty_path):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


@pytest.mark.parametrize("opts", [(), ("threaded=0",), ("volatile",)],
                         ids=["default", "single", "volatile"])
def test_tmpfile_through_the_loop(tmp_path, opts):
    """O_TMPFILE reaches errovl (the loop passes FUSE_TMPFILE on as a
    create) with and without workers: an unnamed upper file, linked
    later with linkat(AT_EMPTY_PATH); never listed before; a second one
    closed without a link leaves nothing behind in the upper."""
    testlib.require_daemon()
    lo = str(tmp_path / "l")
    os.makedirs(os.path.join(lo, "d"))
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=[lo], opts=opts)
    with m:
        d = os.path.join(m.mnt, "d")
        fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o640)
        try:
            os.write(fd, b"unnamed\n")
            st = os.fstat(fd)
            assert st.st_nlink == 0 and st.st_size == 8
            assert os.listdir(d) == []
            # As on kernel overlayfs: not through /proc, but by the fd.
            with pytest.raises(OSError) as ei:
                os.link(f"/proc/self/fd/{fd}", os.path.join(d, "named"),
                        follow_symlinks=True)
            assert ei.value.errno == errno.EXDEV
            _linkat_empty_path(fd, os.path.join(d, "named"))
            assert os.fstat(fd).st_nlink == 1
        finally:
            os.close(fd)
        with open(os.path.join(d, "named"), "rb") as f:
            assert f.read() == b"unnamed\n"
        fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
        os.write(fd, b"gone\n")
        os.close(fd)
        assert os.listdir(d) == ["named"]
        status = m.unmount()
    assert status == 0
    assert os.listdir(os.path.join(m.upper, "d")) == ["named"]
    with open(os.path.join(m.upper, "d", "named"), "rb") as f:
        assert f.read() == b"unnamed\n"
    assert oct(os.stat(os.path.join(m.upper, "d", "named")).st_mode
               & 0o777) == "0o640"


def _getdents_all(path, bufsize):
    """Lists @path with getdents64(2) and a @bufsize buffer: a list of
    (name, d_ino) per call, "." and ".." left out."""
    calls = []
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while True:
            got = testlib.sysop.getdents64(fd, bufsize)
            if isinstance(got, int):
                raise OSError(-got, os.strerror(-got), path)
            if not got:
                return calls
            calls.append([(n, i) for n, i in got if n not in (".", "..")])
    finally:
        os.close(fd)


@pytest.mark.parametrize("layout", ["one_lower", "merged"])
@pytest.mark.parametrize("opts", [(), ("threaded=0",)],
                         ids=["default", "single"])
def test_large_listing_in_parts(tmp_path, layout, opts):
    """A listing the reader answers holds at most 32 KiB of entries
    (each one a lookup), however large the caller's buffer; the kernel
    asks again for the rest; a worker answers the first read of a
    merged directory. Every name comes exactly once, with the
    inode number stat() gives, in one directory read from one real
    directory and in a merged one."""
    testlib.require_daemon()
    n = 1500
    lo = str(tmp_path / "l")
    lowers = [lo]
    os.makedirs(os.path.join(lo, "d"))
    for i in range(n):
        with open(os.path.join(lo, "d", f"file-{i:05d}"), "w") as f:
            f.write(str(i))
    if layout == "merged":
        lo2 = str(tmp_path / "l2")
        os.makedirs(os.path.join(lo2, "d"))
        for i in range(n, n + 100):
            open(os.path.join(lo2, "d", f"file-{i:05d}"), "w").close()
        lowers.append(lo2)
        n += 100
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=lowers, opts=opts)
    with m:
        d = os.path.join(m.mnt, "d")
        calls = _getdents_all(d, 1 << 20)
        names = [name for call in calls for name, _ in call]
        assert sorted(names) == [f"file-{i:05d}" for i in range(n)]
        # All of them would fit the 1 MiB buffer. The first part of a
        # merged listing (every layer read) comes from a worker, whole.
        if layout == "one_lower" or opts:
            assert len(calls) > 1
            assert max(len(c) for c in calls) <= 32768 // 160
        for call in calls:
            for name, ino in call:
                assert os.stat(os.path.join(d, name)).st_ino == ino
        with open(os.path.join(d, "file-00007")) as f:
            assert f.read() == "7"


def _bdi_readahead(mnt, want=None):
    """read_ahead_kb of the mount at @mnt; waits (5 s at most) for @want,
    which the daemon writes right after its INIT reply."""
    st = os.stat(mnt)
    p = os.path.join(f"/sys/class/bdi/{os.major(st.st_dev)}:"
                     f"{os.minor(st.st_dev)}", "read_ahead_kb")
    if not os.access(p, os.W_OK):
        pytest.skip(f"{p} is not writable here (read-only /sys)")
    deadline = time.monotonic() + 5
    while True:
        with open(p) as f:
            ra = int(f.read())
        if want is None or ra == want or time.monotonic() > deadline:
            return ra
        time.sleep(0.01)


@pytest.mark.parametrize("opts,want", [((), 1024), (("readahead=4096",), 4096),
                                       (("readahead=0",), None)],
                         ids=["default", "4m", "kernel"])
def test_readahead_window(tmp_path, opts, want):
    """The mount's readahead window is raised once the INIT is answered
    (readahead=0 leaves the kernel's, at most 128 KiB for FUSE), and a
    cold lower file read sequentially in 1 MiB pieces arrives intact."""
    testlib.require_daemon()
    lo = tmp_path / "l"
    lo.mkdir()
    data = os.urandom(6 << 20) + b"tail"
    (lo / "big").write_bytes(data)
    with testlib.ErrovlMount(str(tmp_path / "e"), lowers=[str(lo)],
                             opts=opts) as m:
        ra = _bdi_readahead(m.mnt, want)
        if want is None:
            assert ra <= 128
        else:
            assert ra == want
        # Cold: what the kernel cached at the daemon's first reads goes.
        with open(os.path.join(m.mnt, "big"), "rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            got = b""
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                got += b
        assert got == data
