# SPDX-License-Identifier: GPL-2.0-or-later
"""Session setup of every Python test: put tests/ on sys.path (for
testlib) and, when root, move the whole test process into a private mount
namespace before any test runs, so no test mount is seen outside."""
import os
import sys

import pytest

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

import testlib  # noqa: E402


def pytest_configure(config):
    if os.geteuid() == 0:
        testlib.private_mount_namespace()


def pytest_report_header(config):
    return (f"errovl binary: {testlib.errovl_binary()} "
            f"(private mount namespace: {testlib.in_private_namespace()})")


@pytest.fixture
def errovl_mount(tmp_path):
    """Factory: errovl_mount(lowers=None, opts=(), **kw) -> a started
    testlib.ErrovlMount under tmp_path, cleaned up after the test."""
    made = []

    def start(sub="e", **kw):
        m = testlib.ErrovlMount(str(tmp_path / sub), **kw)
        made.append(m)
        return m.start()
    yield start
    for m in reversed(made):
        m.cleanup()


@pytest.fixture
def kernel_overlay(tmp_path):
    """Factory: kernel_overlay(lowers=None, opts=..., **kw) -> a mounted
    testlib.KernelOverlay under tmp_path, unmounted after the test."""
    made = []

    def start(sub="k", **kw):
        m = testlib.KernelOverlay(str(tmp_path / sub), **kw)
        made.append(m)
        return m.start()
    yield start
    for m in reversed(made):
        m.cleanup()
