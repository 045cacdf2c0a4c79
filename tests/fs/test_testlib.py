# SPDX-License-Identifier: GPL-2.0-or-later
"""The fixtures keep their promises: every mount and loop device they
make is gone afterwards, even after a failure or a killed daemon."""
import os
import subprocess

import pytest

import testlib
from testlib import sysop
from testlib.mounts import mounted_at


def _loops_backed_by(prefix):
    r = subprocess.run(["losetup", "-a"], stdout=subprocess.PIPE, text=True,
                       check=False)
    return [ln for ln in r.stdout.splitlines() if prefix in ln]


def test_private_namespace_is_active():
    testlib.require_root()
    assert testlib.in_private_namespace()
    with open("/proc/self/mountinfo") as f:
        root = [ln for ln in f if ln.split()[4] == "/"]
    assert root and all("shared:" not in ln for ln in root)


def test_loopext4_writeback_fails_and_cleans_up(tmp_path):
    with testlib.LoopExt4(str(tmp_path), tmpfs_mb=24, disk_mb=256) as e:
        assert mounted_at(e.path) == "ext4"
        r = e.fill_until_writeback_fails()
        assert r in (-5, -28), r
        loop = e.loop
    assert not mounted_at(e.path) and not mounted_at(e.tmpfs)
    assert not _loops_backed_by(str(tmp_path)), loop


def test_loopext4_roomy_has_no_errors(tmp_path):
    with testlib.LoopExt4.roomy(str(tmp_path), disk_mb=64) as e:
        p = os.path.join(e.path, "f")
        with open(p, "wb") as f:
            f.write(b"x" * (8 << 20))
            os.fsync(f.fileno())
        fd = os.open(e.path, os.O_RDONLY)
        try:
            assert sysop.syncfs(fd) == 0
        finally:
            os.close(fd)
    assert not _loops_backed_by(str(tmp_path))


def test_loopext4_cleans_up_on_exception(tmp_path):
    e = testlib.LoopExt4(str(tmp_path), tmpfs_mb=24, disk_mb=64)
    with pytest.raises(RuntimeError):
        with e:
            raise RuntimeError("boom")
    assert not mounted_at(e.path) and not mounted_at(e.tmpfs)
    assert not _loops_backed_by(str(tmp_path))


def test_kernel_overlay_unmounts_even_when_busy(tmp_path):
    with testlib.KernelOverlay(str(tmp_path), nlowers=2) as k:
        fd = os.open(k.mnt, os.O_RDONLY)  # keeps it busy
    try:
        assert not mounted_at(k.mnt)
    finally:
        os.close(fd)


def test_errovl_unmount_returns_exit_status(tmp_path):
    with testlib.ErrovlMount(str(tmp_path)) as m:
        assert m.mounted and m.rss_kib() > 0
        st = m.unmount()
        assert st == 0, m.log()
        assert not m.mounted


def test_errovl_kill9_then_cleanup(tmp_path):
    m = testlib.ErrovlMount(str(tmp_path))
    with m:
        assert m.kill9() == -9
        with pytest.raises(OSError):  # ENOTCONN
            os.listdir(m.mnt)
    assert not mounted_at(m.mnt)


def test_errovl_early_exit_fails_with_its_stderr(tmp_path):
    m = testlib.ErrovlMount(str(tmp_path), opts=("no_such_option",))
    with pytest.raises(pytest.fail.Exception) as ei:
        m.start()
    assert "no_such_option" in str(ei.value)
    assert not mounted_at(m.mnt)
