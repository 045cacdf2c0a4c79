# SPDX-License-Identifier: GPL-2.0-or-later
"""An unprivileged errovl: the daemon runs as an ordinary uid with
-o userxattr (fusermount3 mounts for it), and shell tools, cp, tar and
git run as that uid.  The reference is kernel overlayfs with userxattr
over the same lower, the tools again run as that uid.  Where /dev/fuse
is root-only, the test binds a world-usable node of the same device
over it in its private mount namespace, as a desktop system has it."""
import os
import subprocess
import shutil
import stat
import tempfile

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

UID = GID = 65534

SCRIPT = """
set -e
id -u
echo more >> f
rm d/x
mkdir -p n/m && echo y > n/m/y
cp -a d d2
mv n n2
mkdir t && tar -cf - --exclude=./t --exclude=./g . | tar -C t -xf -
git init -q g && cd g && echo a > a && git add a && git commit -q -m a
git log --oneline && git fsck --no-progress && cd ..
ln -s f s && chmod 600 f && setfattr -n user.mine -v 1 f
getfattr -d f
ls -la d2 t | grep -v '^total' | awk '{print $1, $3, $4, $NF}'
"""


def _wrapper(base):
    """A script that execs the daemon as UID/GID."""
    p = os.path.join(base, "as-user.sh")
    with open(p, "w") as f:
        f.write("#!/bin/sh\nexec setpriv --reuid=%d --regid=%d "
                "--clear-groups %s -o allow_other \"$@\"\n"
                % (UID, GID, testlib.errovl_binary()))
    os.chmod(p, 0o755)
    return p


def _chown_tree(root):
    for d, dirs, files in os.walk(root):
        for n in [d] + [os.path.join(d, x) for x in dirs + files]:
            os.lchown(n, UID, GID)


@pytest.fixture
def open_base():
    """A base dir the unprivileged uid can traverse (pytest's tmp dirs
    are private to root)."""
    d = tempfile.mkdtemp(prefix="errovl-unpriv-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def user_fuse(tmp_path):
    """FUSE as UID gets it on a typical desktop, in this test process's
    private mount namespace (nothing of the host changes): /dev/fuse
    usable by everyone (a 0666 node of the same device is bound over it
    where its mode is stricter) and user_allow_other in /etc/fuse.conf,
    so that root can compare the trees the user's daemon serves."""
    testlib.require_root()
    testlib.require_tools("mount", "umount", "fusermount3")
    d = str(tmp_path / "devfuse")
    os.mkdir(d)
    # A tmpfs of our own: the node must not sit on a nodev mount.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755",
                    "devfuse", d], check=True)
    binds = []
    try:
        conf = os.path.join(d, "fuse.conf")
        with open(conf, "w") as f:
            f.write("user_allow_other\n")
        subprocess.run(["mount", "--bind", conf, "/etc/fuse.conf"],
                       check=True)
        binds.append("/etc/fuse.conf")
        st = os.stat("/dev/fuse")
        if st.st_mode & 0o006 != 0o006:
            node = os.path.join(d, "fuse")
            os.mknod(node, stat.S_IFCHR | 0o666, st.st_rdev)
            os.chmod(node, 0o666)
            subprocess.run(["mount", "--bind", node, "/dev/fuse"],
                           check=True)
            binds.append("/dev/fuse")
        yield
    finally:
        for b in reversed(binds):
            testlib.umount(b, lazy=True)
        testlib.umount(d, lazy=True)


def test_unprivileged_setup_failure_is_named(open_base):
    """Where an unprivileged daemon cannot mount, it says why on stderr
    and exits 1."""
    testlib.require_daemon()
    testlib.require_tools("setpriv")
    if os.stat("/dev/fuse").st_mode & 0o006 == 0o006:
        pytest.skip("unprivileged FUSE works here: the tools test runs")
    base = os.path.abspath(open_base)
    dirs = [os.path.join(base, n) for n in ("l", "u", "w", "m")]
    for d in dirs:
        os.mkdir(d)
        os.chown(d, 65534, 65534)
    p = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         testlib.require_daemon(), "-f", "-o",
         f"lowerdir={dirs[0]},upperdir={dirs[1]},workdir={dirs[2]},"
         "userxattr", dirs[3]],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=30)
    assert p.returncode == 1, p
    assert "errovl:" in p.stderr, p.stderr


@pytest.mark.parametrize("mode", T.MODES)
def test_unprivileged_userxattr_tools(open_base, user_fuse, mode):
    testlib.require_daemon()
    testlib.require_tools("setpriv", "git", "tar", "setfattr", "getfattr")
    base = os.path.abspath(open_base)
    lower = os.path.join(base, "lower")
    L.build(lower, {"f": "lower f\n", "d/x": "x\n", "d/y": "y\n",
                    "d/sub/z": "z\n", "l": L.Symlink("f")})
    for side in ("k", "e"):
        for sub in ("upper", "work", "mnt"):
            os.makedirs(os.path.join(base, side, sub))
    _chown_tree(base)
    os.chmod(base, 0o755 | stat.S_ISVTX)
    env = T.tool_env(base)

    def action(mnt, side):
        return T.run(SCRIPT, mnt, env, user=(UID, GID))
    from pathlib import Path
    res = T.both(Path(base), mode, [lower], action, opts=("userxattr",),
                 binary=_wrapper(base), hide=("g/.git",))
    st, out, err = res["k"][0]
    assert st == 0, f"kernel run: {out} {err}"
    assert out.startswith(f"{UID}\n")
    T.assert_same(res, "tool output as uid %d" % UID)
