# SPDX-License-Identifier: GPL-2.0-or-later
"""FUSE passthrough (fs/passthrough.c): the kernel reads and writes upper
files itself.  The mount reports its file I/O mode; writes to upper files
send no WRITE request; opens that must use the page cache (a handle still
on a lower file, an O_DSYNC open of a volatile mount) and opens that pass
through never meet on one file in a way the kernel refuses (EIO); the
page cache is dropped where passthrough writes bypassed it; data written
through every kind of handle, mapping and append is where it belongs."""
import errno
import mmap
import os
import random
import shutil
import subprocess
import threading

import pytest

import testlib


def _io(mnt):
    """The file I/O mode errovlctl status reports for @mnt."""
    return testlib.ctl_status(mnt)["io"]


def _mount(tmp_path, opts=(), files=None, **kw):
    testlib.require_daemon()
    return testlib.errovl_with_files(tmp_path, opts, files, **kw)


def _require_passthrough():
    if not testlib.passthrough_expected():
        pytest.skip("no FUSE passthrough here (needs root and "
                    "CONFIG_FUSE_PASSTHROUGH, Linux 6.9+)")


BIG = bytes(range(256)) * 8192  # 2 MiB


def _sent_reads(log):
    """Whether the daemon's -d trace @log shows a READ request."""
    return "read(" in log.replace("readdir", "").replace("readlink", "")


def _read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("opts,want", [
    ((), None),
    (("passthrough=0",), "writeback cache"),
    (("passthrough=0", "writeback=0"), "write-through"),
    (("passthrough=1", "writeback=1"), None),
], ids=["default", "off", "off-nowb", "on-wb"])
def test_status_reports_io(tmp_path, opts, want):
    """errovlctl status names the file I/O mode: passthrough by default
    where the kernel and the daemon's privileges allow it (it then wins
    over writeback=1), else the writeback cache; passthrough=0 keeps the
    writeback cache, writeback=0 as well writes through."""
    if want is None:
        want = ("passthrough" if testlib.passthrough_expected(opts)
                else "writeback cache")
    with _mount(tmp_path, opts) as m:
        assert _io(m.mnt) == want


def _ro_merge(tmp_path, opts=(), extra_args=()):
    """A read-only merge (no upperdir) of two lower layers: "f" and a
    2 MiB "big" on top, "low" and a hidden "f" below."""
    testlib.require_daemon()
    lo, lo2 = tmp_path / "l", tmp_path / "l2"
    lo.mkdir()
    lo2.mkdir()
    (lo / "f").write_text("top")
    (lo / "big").write_bytes(BIG)
    (lo2 / "f").write_text("hidden")
    (lo2 / "low").write_text("bottom")
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=[str(lo), str(lo2)],
                            opts=list(opts), extra_args=list(extra_args))
    m.upper = m.work = None
    return m


def test_no_upper_lower_files_pass_through(tmp_path):
    """A read-only merge (no upperdir) passes its lower files through:
    nothing can be copied up there, so no descriptor has to follow a
    file to an upper copy. Reads, a mapping and many handles on one file
    get the lower data with no READ request (the -d trace); opens for
    writing still fail with EROFS."""
    _require_passthrough()
    m = _ro_merge(tmp_path, extra_args=["-d"])
    with m:
        assert _io(m.mnt) == "passthrough"
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        assert _read(p("f")) == b"top" and _read(p("low")) == b"bottom"
        fds = [os.open(p("big"), os.O_RDONLY) for _ in range(4)]
        try:
            assert all(os.pread(fd, 1 << 21, 0) == BIG for fd in fds)
            with mmap.mmap(fds[0], 0, prot=mmap.PROT_READ) as mm:
                assert mm[4096:4100] == BIG[4096:4100]
        finally:
            for fd in fds:
                os.close(fd)
        with pytest.raises(OSError) as e:
            os.open(p("f"), os.O_RDWR)
        assert e.value.errno == errno.EROFS
        log = m.log()
    assert not _sent_reads(log)


def test_no_upper_passthrough_off(tmp_path):
    """passthrough=0 keeps a read-only merge on the page cache, its reads
    answered by the daemon (READ requests in its -d trace)."""
    testlib.require_daemon()
    with _ro_merge(tmp_path, opts=["passthrough=0"],
                   extra_args=["-d"]) as m:
        assert _io(m.mnt) == "writeback cache"
        assert _read(os.path.join(m.mnt, "low")) == b"bottom"
        log = m.log()
    assert _sent_reads(log)


def test_writes_send_no_requests(tmp_path):
    """With passthrough, writing 8 MiB to a new file and to a copied-up
    one, and reading them back, sends no WRITE and no READ to the daemon
    (its -d trace), and the data is in the upper files."""
    _require_passthrough()
    with _mount(tmp_path, files={"old": b"o" * 4096},
                extra_args=["-d"]) as m:
        data = os.urandom(1 << 20)
        for name in ("new", "old"):
            with open(os.path.join(m.mnt, name), "r+b" if name == "old"
                      else "wb") as f:
                for _ in range(8):
                    f.write(data)
            assert _read(os.path.join(m.mnt, name)) == data * 8
        log = m.log()
    assert " write(" not in log and not _sent_reads(log)
    for name in ("new", "old"):
        assert _read(os.path.join(m.upper, name)) == data * 8


@pytest.mark.parametrize("opts", [(), ("volatile",)], ids=["plain", "vol"])
def test_cached_and_passthrough_handles_mix(tmp_path, opts):
    """A read-only handle on a lower file stays with the daemon; writes
    through a second handle (copy-up) then go through the daemon too, and
    both handles and a third see them; once all are closed a new writer
    passes through, and a read-only handle opened while it is open does
    too. No open fails (the kernel answers EIO to a mode it refuses)."""
    with _mount(tmp_path, opts, files={"f": b"lower"}) as m:
        p = os.path.join(m.mnt, "f")
        ro = os.open(p, os.O_RDONLY)
        assert os.pread(ro, 100, 0) == b"lower"
        rw = os.open(p, os.O_RDWR)
        os.pwrite(rw, b"UPPER", 0)
        ro2 = os.open(p, os.O_RDONLY)
        for fd in (ro, rw, ro2):
            assert os.pread(fd, 100, 0) == b"UPPER"
        for fd in (ro, rw, ro2):
            os.close(fd)
        rw = os.open(p, os.O_RDWR | os.O_APPEND)
        os.write(rw, b"+more")
        ro = os.open(p, os.O_RDONLY)
        dsync = os.open(p, os.O_RDWR | os.O_DSYNC)
        os.pwrite(dsync, b"u", 0)
        for fd in (rw, ro, dsync):
            assert os.pread(fd, 100, 0) == b"uPPER+more"
        for fd in (rw, ro, dsync):
            os.close(fd)
        assert os.stat(p).st_size == 10
        assert _read(os.path.join(m.upper, "f")) == b"uPPER+more"


def test_page_cache_dropped_after_passthrough(tmp_path):
    """Volatile mounts keep O_DSYNC opens with the daemon (cached): one
    reads the file into the page cache, a plain writer then passes
    through and changes it, and the next O_DSYNC reader must see the new
    bytes, not the stale cached page."""
    _require_passthrough()
    with _mount(tmp_path, ("volatile",)) as m:
        p = os.path.join(m.mnt, "f")
        with open(p, "wb") as f:
            f.write(b"A" * 8192)
        for want, new in ((b"A", b"B"), (b"B", b"C")):
            fd = os.open(p, os.O_RDONLY | os.O_DSYNC)
            assert os.pread(fd, 8192, 0) == want * 8192
            os.close(fd)
            with open(p, "r+b") as f:
                f.write(new * 8192)
        fd = os.open(p, os.O_RDONLY | os.O_DSYNC)
        assert os.pread(fd, 8192, 0) == b"C" * 8192
        os.close(fd)


def test_shared_mapping_and_truncate(tmp_path):
    """A MAP_SHARED writable mapping of an upper file, read through
    another descriptor, then truncate and fallocate(PUNCH_HOLE) through
    the daemon while the mapping's file is open: every view agrees, and
    the upper file has the result."""
    with _mount(tmp_path, files={"f": b"\0" * 65536}) as m:
        p = os.path.join(m.mnt, "f")
        fd = os.open(p, os.O_RDWR)
        mm = mmap.mmap(fd, 65536)
        mm[100:105] = b"hello"
        mm.flush()
        other = os.open(p, os.O_RDONLY)
        assert os.pread(other, 5, 100) == b"hello"
        mm.close()
        os.ftruncate(fd, 4096)
        assert os.fstat(other).st_size == 4096
        os.pwrite(fd, b"z" * 4096, 0)
        os.close(fd)
        os.close(other)
        assert _read(os.path.join(m.upper, "f")) == b"z" * 4096


def test_exec_from_both_layers(tmp_path):
    """Programs run from a lower file and from an upper copy (whose text
    is mapped through passthrough), also while the file is open for
    reading."""
    testlib.require_daemon()
    true = shutil.which("true")
    with open(true, "rb") as f:
        prog = f.read()
    with _mount(tmp_path, files={"low": prog}) as m:
        os.chmod(os.path.join(m.lowers[0], "low"), 0o755)
        up = os.path.join(m.mnt, "up")
        with open(up, "wb") as f:
            f.write(prog)
        os.chmod(up, 0o755)
        with open(up, "rb"):
            for name in ("low", "up"):
                assert subprocess.run([os.path.join(m.mnt, name)],
                                      check=False).returncode == 0


@pytest.mark.parametrize("opts", [(), ("volatile",)], ids=["plain", "vol"])
def test_concurrent_opens_in_every_mode(tmp_path, opts):
    """Four threads open one file (lower at first) over and over in
    every mode (read, write, append, O_DSYNC) and read and write it:
    no call fails, every append lands, and the final size adds up."""
    with _mount(tmp_path, opts, files={"f": b"x" * 100}) as m:
        p = os.path.join(m.mnt, "f")
        errors, appended = [], [0]
        lock = threading.Lock()
        modes = [os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND,
                 os.O_RDWR | os.O_DSYNC, os.O_RDONLY | os.O_DSYNC]

        def work(seed):
            rnd = random.Random(seed)
            try:
                for _ in range(300):
                    mode = rnd.choice(modes)
                    fd = os.open(p, mode)
                    try:
                        if mode & os.O_APPEND:
                            os.write(fd, b"a")
                            with lock:
                                appended[0] += 1
                        elif mode & os.O_ACCMODE == os.O_RDWR:
                            os.pwrite(fd, b"w", rnd.randrange(100))
                        else:
                            assert len(os.pread(fd, 200, 0)) >= 100
                    finally:
                        os.close(fd)
            except (OSError, AssertionError) as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:5]
        assert os.stat(p).st_size == 100 + appended[0]
        assert len(_read(os.path.join(m.upper, "f"))) == 100 + appended[0]
