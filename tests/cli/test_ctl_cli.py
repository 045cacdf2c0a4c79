# SPDX-License-Identifier: GPL-2.0-or-later
"""errovlctl: usage errors, exit codes, status --workdir on missing,
corrupt, clean and failed checkpoints, --json."""
import contextlib
import json
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "volatile"))
import volhelp as vh  # noqa: E402


@pytest.fixture(autouse=True)
def _ctl():
    vh.require_ctl()


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="errovlctl.")
    yield d
    shutil.rmtree(d, True)


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["status"],
    ["status", "--workdir"],
    ["status", "--workdir", "/a", "/b"],
    ["status", "/a", "/b"],
    ["status", "--bogus", "/a"],
    ["sync"],
    ["sync", "/a", "/b"],
    ["fault", "/a"],
    ["fault", "/a", "nosuchsite", "EIO"],
    ["fault", "/a", "write", "ENOTANERRNO"],
    ["fault", "/a", "write", "EIO", "0"],
    ["fault", "/a", "write", "EIO", "x"],
])
def test_usage_errors_exit_2(args):
    p = vh.ctl(*args)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stderr.startswith("errovlctl: ")
    assert p.stdout == ""


def test_help_and_version():
    p = vh.ctl("--help")
    assert p.returncode == 0
    assert "Exit status" in p.stdout and "status" in p.stdout
    assert "fault" not in p.stdout  # hidden test command
    p = vh.ctl("--version")
    assert p.returncode == 0 and p.stdout.startswith("errovlctl ")


def test_status_workdir_missing_checkpoint(workdir):
    p = vh.ctl("status", "--workdir", workdir)
    assert p.returncode == 1
    assert p.stderr == (f"errovlctl: {workdir}/errovl/volatile.ckpt: "
                        "No such file or directory\n")
    rc, st = vh.ctl_json("status", "--json", "--workdir", workdir)
    assert rc == 1 and st["checkpoint"] == "missing"
    assert st["status"] == "unknown" and st["marker"] is False


def test_status_workdir_nonexistent():
    p = vh.ctl("status", "--workdir", "/nonexistent/errovl-workdir")
    assert p.returncode == 1
    assert p.stderr.count("errovlctl: ") == 1
    assert "No such file or directory" in p.stderr


@pytest.mark.parametrize("content", [b"", b"garbage", b"ERROVLCK" + b"\0" * 216,
                                     os.urandom(224), os.urandom(225)])
def test_status_workdir_corrupt_checkpoint(workdir, content):
    os.makedirs(os.path.join(workdir, "errovl"))
    with open(os.path.join(workdir, "errovl", "volatile.ckpt"), "wb") as f:
        f.write(content)
    p = vh.ctl("status", "--workdir", workdir)
    assert p.returncode == 1
    assert "corrupt checkpoint" in p.stderr
    assert p.stderr.count("errovlctl: ") == 1
    rc, st = vh.ctl_json("status", "--json", "--workdir", workdir)
    assert rc == 1 and st["checkpoint"] == "corrupt"


def test_status_workdir_checkpoint_is_a_directory(workdir):
    os.makedirs(os.path.join(workdir, "errovl", "volatile.ckpt"))
    p = vh.ctl("status", "--workdir", workdir)
    assert p.returncode == 1 and p.stderr.count("errovlctl: ") == 1


def test_live_commands_on_a_non_errovl_path(workdir):
    for args in (["status", workdir], ["sync", workdir],
                 ["fault", workdir, "write", "EIO"]):
        p = vh.ctl(*args)
        assert p.returncode == 1, args
        assert p.stderr.count("errovlctl: ") == 1
        assert "not an errovl mount" in p.stderr
    p = vh.ctl("status", "/nonexistent/errovl-mnt")
    assert p.returncode == 1 and "No such file or directory" in p.stderr


@pytest.fixture
def layers():
    vh.require_daemon()
    vh.enter_private_ns()
    base = tempfile.mkdtemp(prefix="errovlctl-mnt.")
    vh.run("mount", "-t", "tmpfs", "-o", "size=16M", "tmpfs", base)
    daemons = []
    yield vh.Layers(base), daemons
    for d in daemons:
        d.cleanup()
    if not vh.umount(base):
        vh.umount(base, lazy=True)
    with contextlib.suppress(OSError):
        os.rmdir(base)


def test_status_clean_and_failed_sessions(layers):
    L, daemons = layers
    d = vh.Errovl(L, "volatile", "test_faults", "harvest_interval=0")
    daemons.append(d)
    assert d.start(), d.stderr
    p = vh.ctl("status", L.mnt)
    assert p.returncode == 0
    assert p.stdout.splitlines()[0] == f"{L.mnt}: clean"
    assert "mode:         volatile" in p.stdout
    rc, st = vh.ctl_json("status", "--json", L.mnt)
    assert rc == 0 and st["status"] == "clean" and st["errno"] is None
    assert st["source"] == "mount" and st["pid"] == d.proc.pid
    assert d.unmount() == 0, d.stderr

    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 0 and st["status"] == "clean" and st["state"] == "clean"
    assert st["marker"] is False and st["error_count"] == 0
    p = vh.ctl("status", "--workdir", L.work)
    assert p.returncode == 0 and p.stdout.startswith(f"{L.work}: clean\n")

    # The daemon must write the data back: no passthrough.
    d = vh.Errovl(L, "volatile", "test_faults", "harvest_interval=0",
                  "passthrough=0")
    daemons.append(d)
    assert d.start(), d.stderr
    assert vh.ctl("fault", L.mnt, "write", "ENOSPC", "always").returncode == 0
    fd = os.open(os.path.join(L.mnt, "f"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"q" * 4096)
    assert vh.fsync_err(fd) < 0
    vh.close_quiet(fd)
    p = vh.ctl("status", L.mnt)
    assert p.returncode == 1
    assert p.stdout.startswith(f"{L.mnt}: inconsistent: ENOSPC")
    assert d.unmount() == 0, d.stderr

    p = vh.ctl("status", "--workdir", L.work)
    assert p.returncode == 1
    assert p.stdout.startswith(f"{L.work}: inconsistent: ENOSPC")
    assert "first error:  ENOSPC" in p.stdout
    rc, st = vh.ctl_json("status", "--json", "--workdir", L.work)
    assert rc == 1 and st["status"] == "inconsistent"
    assert st["state"] == "failed" and st["marker"] is True
    assert st["first_error"]["errno"] == "ENOSPC"
    assert st["first_error"]["code"] == 28
    assert json.dumps(st)
