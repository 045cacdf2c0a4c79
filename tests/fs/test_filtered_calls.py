# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon under a seccomp profile that does not know the calls newer
than it and answers them EPERM, as the default profiles of container
runtimes do: fchmodat2 (Linux 6.6), getxattrat and listxattrat (6.13).
xattrs, opaque directories and chmod then work through the older calls,
exactly as on kernel overlayfs, and a genuine EPERM stays one."""
import errno
import functools
import os
import subprocess

import pytest

import testlib
import test_diff_dirs
import test_diff_files
import test_diff_xattr
from diffharness import run_differential

# fchmodat2, getxattrat, listxattrat in the common syscall table
FILTERED = "452,464,465"

PICK = {
    test_diff_xattr: ["list_lower_xattrs_no_copyup", "set_xattr_on_lower_file",
                      "list_opaque_dir_hides_overlay_xattr",
                      "list_xattr_created_dir_over_whiteout",
                      "child_create_copies_dir_xattrs"],
    test_diff_dirs: ["rmdir_then_mkdir_is_opaque",
                     "opaque_lower_dir_hides_below",
                     "opaque_upper_dir_preexisting"],
    test_diff_files: ["chmod_lower_file", "chmod_lower_dir",
                      "setuid_bits_chmod",
                      "copyup_keeps_user_xattrs_on_chmod"],
}
SCENARIOS = [s for mod, names in PICK.items() for s in mod.S
             if s.name in names]


@functools.lru_cache(maxsize=None)
def _nosys_probe():
    """The nosys wrapper, and why it cannot be used here (or None)."""
    p = testlib.build_path("tests", "fs", "nosys")
    if not os.access(p, os.X_OK):
        return p, f"{p} is not built (x86_64 and aarch64 only)"
    r = subprocess.run([p, "-e", str(errno.EPERM), "452", "true"],
                       capture_output=True, text=True)
    if r.returncode:
        return p, f"no seccomp filter here: {r.stderr.strip()}"
    return p, None


def _nosys():
    p, why = _nosys_probe()
    if why:
        pytest.skip(why)
    return p


@pytest.fixture
def eperm_profile(monkeypatch):
    wrapper = f"{_nosys()} -e {errno.EPERM} {FILTERED}"
    monkeypatch.setenv("ERROVL_TEST_WRAPPER", wrapper)


def test_scenarios_picked():
    assert len(SCENARIOS) == sum(len(v) for v in PICK.values())


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.name)
def test_filtered_calls(sc, tmp_path, eperm_profile):
    run_differential("k-e", sc, tmp_path)


def test_genuine_eperm_stays(tmp_path, eperm_profile):
    """chmod of an immutable upper file is EPERM through the older call
    too; the next chmod of another file still works."""
    testlib.require_daemon()
    testlib.require_tools("chattr")
    with testlib.ErrovlMount(str(tmp_path)) as m:
        for n in ("frozen", "free"):
            with open(os.path.join(m.mnt, n), "w") as f:
                f.write(n)
        up = os.path.join(m.upper, "frozen")
        r = subprocess.run(["chattr", "+i", up], capture_output=True,
                           text=True)
        if r.returncode:
            pytest.skip(f"no immutable flag on this upper: {r.stderr}")
        try:
            with pytest.raises(PermissionError):
                os.chmod(os.path.join(m.mnt, "frozen"), 0o600)
            os.chmod(os.path.join(m.mnt, "free"), 0o600)
            assert os.stat(os.path.join(m.mnt, "free")).st_mode & 0o777 \
                == 0o600
        finally:
            subprocess.run(["chattr", "-i", up], check=False)
