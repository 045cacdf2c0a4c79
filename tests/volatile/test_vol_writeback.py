# SPDX-License-Identifier: GPL-2.0-or-later
"""Real upper writeback errors (LoopExt4 upper: writes succeed, the
ext4 writeback fails once its backing tmpfs is full), on errovl and,
where comparable, on kernel overlayfs."""
import os

import pytest

import volhelp as vh


def _open_clean_handles(mnt):
    fa = os.open(os.path.join(mnt, "a"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fa, b"a")
    dfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    return fa, dfd


def _sync_equiv(flavor, mnt, dfd):
    """errovl: errovlctl sync; kernel: syncfs(2). Returns 0 or -errno."""
    if flavor == "kernel":
        return vh.syncfs(dfd)
    p = vh.ctl("sync", mnt)
    if p.returncode == 0:
        return 0
    assert p.returncode == 1, p.stderr
    assert p.stderr.count("errovlctl: ") == 1, p.stderr
    assert "Input/output error" in p.stderr, p.stderr
    return -5


@pytest.mark.parametrize("flavor", ["errovl", "kernel"])
def test_volatile_sticky_after_writeback_error(flavor, ext4, errovl, kernel):
    L = ext4.layers
    if flavor == "errovl":
        d = errovl(L, "volatile", "harvest_interval=1")
        assert d.mounted, d.stderr
    else:
        assert kernel(L, "volatile") == 0
    fa, dfd = _open_clean_handles(L.mnt)
    os.sync()  # the mount's own state reaches the disk while there is room
    try:
        # Clean: every sync call returns 0 at once.
        for _ in range(2):
            assert vh.fsync_err(fa) == 0
            assert vh.fsync_err(fa, data=True) == 0
            assert vh.fsync_err(dfd) == 0
            assert _sync_equiv(flavor, L.mnt, dfd) == 0
        if flavor == "errovl":
            assert vh.ctl("status", L.mnt).returncode == 0

        # Buffered data the upper cannot write back; force writeback.
        # (Background writeback may fail while we still write: then the
        # final fsync of big already reports the sticky error.)
        r = vh.write_through(os.path.join(L.mnt, "big"), 64)
        assert r <= 0
        os.sync()
        if flavor == "errovl":
            # The harvest thread records it (bounded poll).
            vh.wait_for(lambda: vh.ctl("status", L.mnt).returncode == 1,
                        "the harvest to record the upper error")

        e = vh.fsync_err(fa)
        assert e < 0
        fb = os.open(os.path.join(L.mnt, "b"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            for _ in range(3):
                assert vh.fsync_err(fa) == e
                assert vh.fsync_err(fa, data=True) == e
                assert vh.fsync_err(dfd) == e
                assert vh.fsync_err(fb) == e
                assert _sync_equiv(flavor, L.mnt, dfd) == -5
            d2 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
            assert vh.fsync_err(d2) == e
            assert _sync_equiv(flavor, L.mnt, d2) == -5
            if flavor == "errovl":
                # Plain syncfs(2) never reaches the daemon: not sticky
                # (docs/volatile.md, section 5).
                assert vh.syncfs(d2) == 0
            os.close(d2)
        finally:
            os.close(fb)

        if flavor == "errovl":
            rc, st = vh.ctl_json("status", "--json", L.mnt)
            assert rc == 1
            assert st["status"] == "inconsistent"
            assert st["mode"] == "volatile"
            assert st["errno"] == vh.errno_name(-e)
            assert st["error_count"] >= 1
            assert st["first_error"]["time"] != "-"
            human = vh.ctl("status", L.mnt).stdout
            assert "inconsistent" in human and "first error" in human
    finally:
        os.close(fa)
        os.close(dfd)

    if flavor == "kernel":
        assert vh.umount(L.mnt)
        assert os.path.exists(L.marker)
        return
    d.unmount()
    assert os.path.exists(L.marker)
    # The workdir shares the failing filesystem: the final checkpoint
    # may only live in the page cache, which the kernel can drop after
    # a failed writeback; then it reads back corrupt. Either way the
    # state is not clean (docs/volatile.md, Limits).
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1, d.stderr
    if "checkpoint" in st:
        assert st["checkpoint"] in ("corrupt", "unreadable")
        reasons = ("checkpoint",)
    else:
        assert st["status"] == "inconsistent" and st["state"] == "failed"
        reasons = ("recorded",)
    # The next mount is refused with the recorded error (or, as above,
    # because the checkpoint was lost)...
    d2 = errovl(L, "volatile")
    assert not d2.mounted
    assert "volatile_discard" in d2.stderr
    assert any(r in d2.stderr for r in reasons + ("checkpoint",)), d2.stderr
    # ...a non-volatile one too, and kernel overlayfs refuses the marker.
    d3 = errovl(L)
    assert not d3.mounted and "refusing to mount" in d3.stderr
    assert kernel(L) < 0


def test_nonvolatile_sync_reports_once_per_handle(ext4, errovl):
    """The kernel's syncfs semantics: each error once per handle."""
    vh.require_tools("fstrim")
    L = ext4.layers
    d = errovl(L, "harvest_interval=0")
    assert d.mounted, d.stderr
    os.sync()  # the mount's own state reaches the disk while there is room
    h1 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
    h2 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert vh.ioctl_sync(h1) == 0
        assert vh.ioctl_sync(h2) == 0
        big = os.path.join(L.mnt, "big")
        vh.write_through(big, 64, sync=False)
        os.sync()  # the upper's writeback fails; nobody has looked
        # Give the upper room again so later flushes succeed: what is
        # left to report is the one recorded error.
        os.unlink(big)
        ext4.heal()
        os.sync()
        assert vh.ioctl_sync(h1) < 0
        assert vh.ioctl_sync(h1) == 0
        assert vh.ioctl_sync(h2) < 0
        assert vh.ioctl_sync(h2) == 0
        # A handle opened after the error was reported: nothing new.
        assert vh.ctl("sync", L.mnt).returncode == 0
        st = vh.ioctl_status(h1)
        assert st["flags"] & 1 == 0  # not volatile
        assert st["error_count"] >= 1
        assert st["state"] == 1
    finally:
        os.close(h1)
        os.close(h2)
    assert d.unmount() == 0, d.stderr
    # Non-volatile: no marker, nothing to refuse.
    assert not os.path.exists(L.marker)
    d = errovl(L)
    assert d.mounted, d.stderr


def test_volatile_refused_on_unseen_upper_error(ext4, errovl):
    L = ext4.layers
    vh.require_tools("fstrim")
    # Make the workdir's own state durable while there is room, so the
    # lost writeback below does not take it (and its inodes) along.
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    assert d.unmount() == 0, d.stderr
    os.sync()
    junk = os.path.join(ext4.root, "junk")
    ext4.fill(junk, 64)
    os.sync()  # writeback fails; nobody has seen the error
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "unseen writeback error" in d.stderr, d.stderr
    assert "now marked seen" in d.stderr
    assert not os.path.exists(L.marker)
    # Room again for the marker's fsync; the error itself is now seen.
    ext4.heal(junk)
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    assert vh.ctl("status", L.mnt).returncode == 0
    d.unmount()


def test_kernel_volatile_refused_on_unseen_upper_error(ext4, kernel):
    """The kernel behaviour errovl copies."""
    L = ext4.layers
    ext4.fill(os.path.join(ext4.root, "junk"), 64)
    os.sync()
    assert kernel(L, "volatile") == -5
    fd = os.open(ext4.root, os.O_RDONLY | os.O_DIRECTORY)
    assert vh.syncfs(fd) < 0  # marks it seen
    os.close(fd)
    assert kernel(L, "volatile") == 0


def test_plain_syncfs_reports_failed_daemon_write_once(tmpfs_layers, errovl):
    """docs/volatile.md section 5: a writeback WRITE the daemon failed is
    reported by plain syncfs(2), once per fd."""
    L = tmpfs_layers
    d = errovl(L, "volatile", "test_faults", "harvest_interval=0",
               "passthrough=0")  # the daemon writes back cached data
    assert d.mounted, d.stderr
    h1 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
    h2 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert vh.syncfs(h1) == 0
        assert vh.ctl("fault", L.mnt, "write", "EIO", "always").returncode == 0
        fd = os.open(os.path.join(L.mnt, "f"), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"x" * 65536)
        # fsync writes the dirty pages back and waits for the WRITE
        # replies (syncfs would not wait for them on a FUSE mount): the
        # daemon fails the WRITE, the kernel records it in the file and
        # in the FUSE superblock.
        assert vh.fsync_err(fd) == -5
        assert vh.syncfs(h1) == -5
        assert vh.syncfs(h1) == 0
        assert vh.syncfs(h2) == -5
        assert vh.syncfs(h2) == 0
        # The sticky state is visible through the control interface.
        assert vh.ioctl_sync(h1) == -5
        assert vh.ioctl_sync(h1) == -5
        assert vh.ctl("fault", L.mnt, "write", "none").returncode == 0
        vh.close_quiet(fd)
    finally:
        os.close(h1)
        os.close(h2)
    d.unmount()


def test_volatile_error_found_at_unmount(ext4, errovl):
    """harvest_interval=0: no periodic harvest, but the unmount flush
    harvests, so the session still ends "failed"."""
    L = ext4.layers
    d = errovl(L, "volatile", "harvest_interval=0")
    assert d.mounted, d.stderr
    os.sync()  # the mount's own state reaches the disk while there is room
    assert vh.write_through(os.path.join(L.mnt, "big"), 64) == 0
    os.sync()
    # Not harvested yet: fsync is still 0 (the documented window).
    fd = os.open(os.path.join(L.mnt, "big"), os.O_RDONLY)
    assert vh.fsync_err(fd) == 0
    os.close(fd)
    assert vh.ctl("status", L.mnt).returncode == 0
    d.unmount()
    assert "upper writeback error" in d.stderr, d.stderr
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1, d.stderr
    # As above: "failed", unless the page cache lost the checkpoint.
    assert st.get("state") == "failed" or st["checkpoint"] == "corrupt"
    assert os.path.exists(L.marker)
