# SPDX-License-Identifier: GPL-2.0-or-later
"""Skip helpers: each calls pytest.skip() with a clear reason."""
import gzip
import json
import os
import shlex
import shutil
import subprocess

import pytest

from .ns import private_mount_namespace


def is_root():
    return os.geteuid() == 0


def require_root():
    """Skips unless root; then makes sure we are in the private mount
    namespace (mounting tests always call this first)."""
    if not is_root():
        pytest.skip("needs root (mounts filesystems)")
    if not private_mount_namespace():
        pytest.skip("no private mount namespace")


def require_tools(*names):
    for n in names:
        if shutil.which(n) is None:
            pytest.skip(f"needs the '{n}' tool on PATH")


def require_fuse():
    """Skips unless /dev/fuse can be opened and fusermount3 exists."""
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        pytest.skip(f"/dev/fuse cannot be opened: {os.strerror(e.errno)}")
    os.close(fd)
    require_tools("fusermount3")


def _filesystems():
    try:
        with open("/proc/filesystems") as f:
            return {ln.split()[-1] for ln in f if ln.strip()}
    except OSError:
        return set()


def require_kernel_overlay():
    """Skips unless root and the kernel knows the overlay filesystem."""
    require_root()
    if "overlay" not in _filesystems():
        os.system("modprobe overlay >/dev/null 2>&1")
        if "overlay" not in _filesystems():
            pytest.skip("kernel overlayfs not available (/proc/filesystems)")


_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def build_path(*parts):
    """Path of a built file: $ERROVL_BUILD/parts... (default build/; a
    relative $ERROVL_BUILD is taken from the repository's root)."""
    build = os.environ.get("ERROVL_BUILD", "build")
    return os.path.abspath(os.path.join(_REPO, build, *parts))


def errovl_binary():
    """Path of the daemon: $ERROVL_BUILD/fs/errovl (default build/)."""
    return build_path("fs", "errovl")


def ctl(*args):
    """Runs errovlctl with @args; returns the CompletedProcess (text)."""
    return subprocess.run([build_path("cli", "errovlctl"), *args],
                          capture_output=True, text=True, timeout=120)


def ctl_status(mnt):
    """``errovlctl status --json`` of the mount at @mnt, as a dict."""
    p = ctl("status", "--json", mnt)
    assert p.returncode == 0, f"errovlctl status {mnt}: {p.stderr}"
    return json.loads(p.stdout)


def require_daemon():
    """Skips unless root, /dev/fuse and the errovl binary are there;
    returns the binary path."""
    require_root()
    require_fuse()
    b = errovl_binary()
    if not os.access(b, os.X_OK):
        pytest.skip(f"errovl daemon not built: {b} missing "
                    "(set ERROVL_BUILD to the build dir)")
    return b


def _kernel_config(name):
    """'y', 'm', 'n' for CONFIG_@name of the running kernel; None if its
    configuration cannot be read."""
    rel = os.uname().release
    for path, opener in ((f"/boot/config-{rel}", open),
                         ("/proc/config.gz", gzip.open)):
        try:
            with opener(path, "rt") as f:
                for ln in f:
                    if ln.startswith(f"CONFIG_{name}="):
                        return ln.split("=", 1)[1].strip()
            return "n"
        except OSError:
            continue
    return None


def extra_opts():
    """Options from $ERROVL_TEST_OPTS (comma-separated) that every errovl
    mount of the tests gets before its own (which win), e.g.
    ERROVL_TEST_OPTS=passthrough=0 runs them on the writeback cache."""
    return [o for o in os.environ.get("ERROVL_TEST_OPTS", "").split(",")
            if o]


def daemon_wrapper():
    """The command prefix from $ERROVL_TEST_WRAPPER (split like a shell
    would) that the errovl daemons of ErrovlMount and volhelp.Errovl run
    under, e.g. "build/tests/fs/nosys 452,464,465" for a kernel without
    those calls."""
    return shlex.split(os.environ.get("ERROVL_TEST_WRAPPER", ""))


def passthrough_expected(opts=()):
    """Whether errovl mounts made by these tests (with @opts) use FUSE
    passthrough: root in the initial user namespace (CAP_SYS_ADMIN) on a
    kernel with CONFIG_FUSE_PASSTHROUGH (Linux 6.9+; assumed from the
    version when the configuration cannot be read), unless
    $ERROVL_TEST_OPTS or @opts (the last one wins) turn it off."""
    pt = [o for o in extra_opts() + list(opts)
          if o.startswith("passthrough=")]
    if not is_root() or (pt and pt[-1] == "passthrough=0"):
        return False
    conf = _kernel_config("FUSE_PASSTHROUGH")
    if conf is not None:
        return conf == "y"
    major, minor = (int(x) for x in
                    os.uname().release.split("-")[0].split(".")[:2])
    return (major, minor) >= (6, 9)
