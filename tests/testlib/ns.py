# SPDX-License-Identifier: GPL-2.0-or-later
"""The private mount namespace of a test process."""
import os

from . import sysop

_state = {"done": False}


def in_private_namespace():
    """True once private_mount_namespace() succeeded in this process."""
    return _state["done"] and _state.get("pid") == os.getpid()


def private_mount_namespace():
    """Moves this process into a new mount namespace where "/" is
    recursively private, so no mount made by the tests is seen by other
    processes.  Idempotent per process.  Returns False when not root (the
    mounting tests then skip); raises OSError when root but unshare or
    the propagation change fails."""
    if in_private_namespace():
        return True
    if os.geteuid() != 0:
        return False
    r = sysop.unshare(sysop.CLONE_NEWNS)
    if r < 0:
        raise OSError(-r, "unshare(CLONE_NEWNS): " + os.strerror(-r))
    r = sysop.mount(None, "/", None, sysop.MS_REC | sysop.MS_PRIVATE)
    if r < 0:
        raise OSError(-r, "mount(/, MS_REC|MS_PRIVATE): " + os.strerror(-r))
    _state["done"] = True
    _state["pid"] = os.getpid()
    return True
