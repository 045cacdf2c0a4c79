# SPDX-License-Identifier: GPL-2.0-or-later
"""Marker, checkpoint and remount decisions (docs/volatile.md, 7.3)."""
import os
import struct

import volhelp as vh


def _write(path, data=b"hello\n"):
    with open(path, "wb") as f:
        f.write(data)


def test_clean_unmount_allows_remount_and_kernel(tmpfs_layers, errovl, kernel):
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    # The marker exists while mounted, before anything was written.
    assert os.path.isfile(L.marker)
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1 and st["state"] == "mounted" and st["status"] == "unknown"
    _write(os.path.join(L.mnt, "f"))
    assert d.unmount() == 0, d.stderr
    assert not os.path.exists(L.marker)
    assert not os.path.exists(os.path.dirname(L.marker))
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 0 and st["status"] == "clean" and st["state"] == "clean"

    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    with open(os.path.join(L.mnt, "f"), "rb") as f:
        assert f.read() == b"hello\n"
    assert d.unmount() == 0, d.stderr

    assert kernel(L) == 0
    with open(os.path.join(L.mnt, "f"), "rb") as f:
        assert f.read() == b"hello\n"
    assert vh.umount(L.mnt)


def test_kill9_refuses_remount(tmpfs_layers, errovl, kernel):
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    _write(os.path.join(L.mnt, "f"))
    d.kill9()
    assert os.path.isfile(L.marker)
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1 and st["status"] == "unknown" and st["state"] == "mounted"

    d = errovl(L, "volatile")
    assert not d.mounted
    assert "killed or crashed" in d.stderr, d.stderr
    assert "volatile_discard" in d.stderr
    # Non-volatile errovl and kernel overlayfs refuse it too.
    d = errovl(L)
    assert not d.mounted and "killed or crashed" in d.stderr
    assert kernel(L) < 0

    d = errovl(L, "volatile", "volatile_discard")
    assert d.mounted, d.stderr
    assert "discarding" in d.stderr
    assert d.unmount() == 0, d.stderr
    assert not os.path.exists(L.marker)


def test_corrupt_checkpoint_refused(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    d.kill9()
    with open(L.ckpt, "r+b") as f:
        f.seek(30)
        b = f.read(1)
        f.seek(30)
        f.write(bytes([b[0] ^ 0xFF]))
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1 and st["checkpoint"] == "corrupt"
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "corrupt" in d.stderr, d.stderr
    d = errovl(L, "volatile", "volatile_discard")
    assert d.mounted, d.stderr
    assert d.unmount() == 0, d.stderr


def test_kernel_marker_refused(tmpfs_layers, errovl, kernel):
    """A marker left by kernel overlayfs (no errovl checkpoint)."""
    L = tmpfs_layers
    assert kernel(L, "volatile") == 0
    _write(os.path.join(L.mnt, "k"))
    assert vh.umount(L.mnt)
    assert os.path.isfile(L.marker)
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "not left by errovl" in d.stderr, d.stderr
    d = errovl(L, "volatile_discard")
    assert d.mounted, d.stderr
    assert d.unmount() == 0, d.stderr
    assert not os.path.exists(L.marker)


def test_recreated_marker_refused(tmpfs_layers, errovl):
    """A marker re-created after our session: identity mismatch."""
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    d.kill9()
    os.unlink(L.marker)
    _write(L.marker, b"")
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "re-created" in d.stderr, d.stderr


def test_fsync0_is_volatile(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "fsync=0")
    assert d.mounted, d.stderr
    assert os.path.isfile(L.marker)
    rc, st = vh.ctl_json("status", "--json", L.mnt)
    assert rc == 0 and st["mode"] == "volatile"
    assert d.unmount() == 0, d.stderr
    assert not os.path.exists(L.marker)


def test_ioctls_on_files_and_unknown_commands(tmpfs_layers, errovl):
    import errno
    import fcntl
    L = tmpfs_layers
    d = errovl(L, "harvest_interval=0")
    assert d.mounted, d.stderr
    fd = os.open(os.path.join(L.mnt, "f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert vh.ioctl_sync(fd) == 0
        st = vh.ioctl_status(fd)
        assert st["version"] == 1 and st["size"] == vh.STATUS_SIZE
        assert st["state"] == 0 and st["pid"] == d.proc.pid
        try:
            fcntl.ioctl(fd, vh._ioc(0, 9, 0))
            raise AssertionError("unknown ioctl accepted")
        except OSError as e:
            assert e.errno == errno.ENOTTY
    finally:
        os.close(fd)
    assert d.unmount() == 0, d.stderr


def test_checkpoint_of_another_upper_refused(tmpfs_layers, errovl):
    """The workdir's checkpoint was written for another upper dir."""
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    d.kill9()
    other = os.path.join(L.base, "upper2")
    os.mkdir(other)
    L.upper = other
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "another upper" in d.stderr, d.stderr


def _boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return bytes.fromhex(f.read().strip().replace("-", ""))


def test_checkpoint_layout_matches_the_documentation(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    ck, raw = vh.read_ckpt(L.ckpt)
    assert len(raw) == 224
    assert ck["magic"] == b"ERROVLCK" and ck["version"] == 1
    assert ck["length"] == 224 and ck["state"] == 1  # mounted
    assert ck["crc"] == vh.crc32c(raw[:220])
    assert ck["boot_id"] == _boot_id()
    st = os.stat(L.upper)
    assert ck["upper_dev"] == st.st_dev and ck["upper_ino"] == st.st_ino
    mst = os.stat(L.marker)
    assert ck["marker_ino"] == mst.st_ino
    assert ck["marker_ctime_ns"] == mst.st_ctime_ns
    assert ck["pid"] == d.proc.pid
    assert ck["error_count"] == 0 and ck["first_errno"] == 0
    assert ck["reserved1"] == 0 and ck["reserved2"] == 0
    assert d.unmount() == 0, d.stderr
    ck, raw = vh.read_ckpt(L.ckpt)
    assert ck["state"] == 2 and ck["crc"] == vh.crc32c(raw[:220])


def test_reboot_refused(tmpfs_layers, errovl):
    """A checkpoint from another boot (its boot id patched, crc fixed)."""
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    d.kill9()
    vh.patch_ckpt(L.ckpt, 24, bytes(16))
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "rebooted" in d.stderr, d.stderr


def test_unknown_checkpoint_version_is_corrupt(tmpfs_layers, errovl):
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    d.kill9()
    vh.patch_ckpt(L.ckpt, 8, struct.pack("<I", 2))
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1 and st["checkpoint"] == "corrupt"
    d = errovl(L, "volatile")
    assert not d.mounted and "corrupt" in d.stderr, d.stderr


def test_upper_remounted_refused(tmpfs_layers, errovl):
    """A checkpoint whose upper mount id differs (patched, crc fixed)."""
    L = tmpfs_layers
    d = errovl(L, "volatile")
    assert d.mounted, d.stderr
    d.kill9()
    ck, _ = vh.read_ckpt(L.ckpt)
    vh.patch_ckpt(L.ckpt, 56, struct.pack("<Q", ck["upper_mnt_id"] + 1000))
    d = errovl(L, "volatile")
    assert not d.mounted
    assert "remounted" in d.stderr, d.stderr
