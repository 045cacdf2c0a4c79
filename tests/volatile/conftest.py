# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures of the volatile-mode tests: a cleanup stack, layers on a
small tmpfs, layers on a LoopExt4 upper, and an errovl factory. All
mounts live in the private mount namespace of the test process."""
import contextlib
import os
import shutil
import subprocess
import tempfile

import pytest

import testlib
import volhelp as vh


@pytest.fixture
def stack():
    with contextlib.ExitStack() as s:
        yield s


@pytest.fixture
def basedir(stack):
    d = tempfile.mkdtemp(prefix="errovl-vol.")
    stack.callback(shutil.rmtree, d, True)
    return d


@pytest.fixture
def tmpfs_layers(stack, basedir):
    """Layers on a private 64 MiB tmpfs."""
    vh.require_root()
    vh.enter_private_ns()
    vh.run("mount", "-t", "tmpfs", "-o", "size=64M", "tmpfs", basedir)
    stack.callback(lambda: vh.umount(basedir) or vh.umount(basedir, lazy=True))
    return vh.Layers(basedir)


@pytest.fixture
def ext4(stack, basedir):
    """A LoopExt4 with the layers on it."""
    vh.require_root()
    vh.require_tools("losetup", "mkfs.ext4")
    vh.enter_private_ns()
    try:
        e = vh.LoopExt4(basedir)
    except subprocess.CalledProcessError as err:
        # No loop devices here (a container): an environment limit.
        pytest.skip(f"cannot set up the loop ext4: {err.cmd[0]}: "
                    f"{(err.stderr or '').strip()}")
    stack.callback(e.cleanup)
    e.layers = vh.Layers(os.path.join(e.root, "ovl"))
    return e


@pytest.fixture
def errovl(stack):
    """Factory: errovl(layers, *opts) -> started vh.Errovl (check .mounted)."""
    vh.require_daemon()

    def start(layers, *opts):
        d = vh.Errovl(layers, *opts)
        stack.callback(d.cleanup)
        d.start()
        return d
    return start


@pytest.fixture
def kernel(stack):
    """Factory: kernel(layers, *opts) -> 0 or -errno; unmounted after."""
    vh.require_root()
    testlib.require_kernel_overlay()

    def mount(layers, *opts):
        r = vh.kernel_overlay(layers, *opts)
        if r == 0:
            stack.callback(lambda: vh.umount(layers.mnt)
                           or vh.umount(layers.mnt, lazy=True))
        return r
    return mount
