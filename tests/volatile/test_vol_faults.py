# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection through -o test_faults: every capture path, with
deterministic budgets (the next N calls fail)."""
import os

import volhelp as vh


def _status(mnt):
    return vh.ctl_json("status", "--json", mnt)


def test_faults_need_test_faults_option(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    p = vh.ctl("fault", L.mnt, "write", "EIO")
    assert p.returncode == 1
    assert "test_faults" in p.stderr and p.stderr.count("errovlctl:") == 1
    assert d.unmount() == 0, d.stderr


def test_fault_write_writeback_volatile(tmpfs_layers, errovl):
    """A failed writeback WRITE of cached data makes the mount sticky."""
    L = tmpfs_layers
    d = errovl(L, "volatile", "test_faults", "harvest_interval=0",
               "passthrough=0")  # the daemon writes back cached data
    assert d.mounted, d.stderr
    assert vh.ctl("fault", L.mnt, "write", "EIO", "1").returncode == 0
    fd = os.open(os.path.join(L.mnt, "f"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"y" * 8192)
        assert vh.fsync_err(fd) == -5
        assert vh.fsync_err(fd) == -5
    finally:
        vh.close_quiet(fd)
    fd = os.open(os.path.join(L.mnt, "g"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert vh.fsync_err(fd) == -5  # opened after the error
    finally:
        os.close(fd)
    rc, st = _status(L.mnt)
    assert rc == 1 and st["status"] == "inconsistent"
    assert st["first_error"]["errno"] == "EIO" and st["error_count"] == 1
    assert "volume is now inconsistent" in d.stderr
    assert d.unmount() == 0, d.stderr
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1 and st["state"] == "failed" and st["errno"] == "EIO"
    d = errovl(L, "volatile")
    assert not d.mounted and "EIO" in d.stderr


def test_fault_harvest_volatile(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "volatile", "test_faults", "harvest_interval=1")
    assert d.mounted, d.stderr
    fd = os.open(os.path.join(L.mnt, "f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert vh.fsync_err(fd) == 0
        assert vh.ctl("fault", L.mnt, "harvest", "ENOSPC", "1").returncode == 0
        vh.wait_for(lambda: _status(L.mnt)[0] == 1, "a harvest")
        assert vh.fsync_err(fd) == -28
        assert vh.fsync_err(fd) == -28
    finally:
        os.close(fd)
    p = vh.ctl("sync", L.mnt)
    assert p.returncode == 1 and "Input/output error" in p.stderr
    rc, st = _status(L.mnt)
    assert st["errno"] == "ENOSPC" and st["error_count"] == 1
    assert d.unmount() == 0, d.stderr
    assert os.path.exists(L.marker)


def test_fault_harvest_nonvolatile_sync(tmpfs_layers, errovl):
    """The syncfs-equivalent of a non-volatile mount reports a failed
    flush to its caller, and the error once to other handles."""
    L = tmpfs_layers
    d = errovl(L, "test_faults", "harvest_interval=0")
    assert d.mounted, d.stderr
    h1 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
    h2 = os.open(L.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert vh.ctl("fault", L.mnt, "harvest", "EIO", "1").returncode == 0
        assert vh.ioctl_sync(h1) == -5
        assert vh.ioctl_sync(h1) == 0
        assert vh.ioctl_sync(h2) == -5
        assert vh.ioctl_sync(h2) == 0
        assert vh.ctl("sync", L.mnt).returncode == 0
    finally:
        os.close(h1)
        os.close(h2)
    assert d.unmount() == 0, d.stderr
    assert not os.path.exists(L.marker)


def test_fault_fsync_nonvolatile(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "test_faults", "harvest_interval=0")
    assert d.mounted, d.stderr
    fd = os.open(os.path.join(L.mnt, "f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"z")
        assert vh.ctl("fault", L.mnt, "fsync", "EIO", "2").returncode == 0
        assert vh.fsync_err(fd) == -5
        assert vh.fsync_err(fd) == -5
        assert vh.fsync_err(fd) == 0  # budget of 2 used up
    finally:
        os.close(fd)
    assert d.unmount() == 0, d.stderr


def test_fault_copy_up(tmpfs_layers, errovl):
    L = tmpfs_layers
    with open(os.path.join(L.lower, "low"), "wb") as f:
        f.write(b"lower data\n")
    d = errovl(L, "volatile", "test_faults", "harvest_interval=0")
    assert d.mounted, d.stderr
    assert vh.ctl("fault", L.mnt, "copy_up", "EIO", "1").returncode == 0
    path = os.path.join(L.mnt, "low")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.close(fd)
        raise AssertionError("copy-up did not fail")
    except OSError as e:
        assert e.errno == 5
    assert not os.path.exists(os.path.join(L.upper, "low"))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)  # budget used: succeeds
    os.write(fd, b"more\n")
    os.close(fd)
    with open(os.path.join(L.upper, "low"), "rb") as f:
        assert f.read() == b"lower data\nmore\n"
    assert d.unmount() == 0, d.stderr
