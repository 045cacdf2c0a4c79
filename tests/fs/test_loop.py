# SPDX-License-Identifier: GPL-2.0-or-later
"""The request loop (fs/loop.c): a signal ends it at once whatever the
spin setting and while workers are busy, the mount then goes away and
the daemon exits 0; requests are answered with spin=0 too."""
import os
import signal
import threading
import time

import pytest

import testlib


@pytest.mark.parametrize("opts", [(), ("spin=0",), ("spin=1000000",),
                                  ("threaded=0",)],
                         ids=["default", "spin0", "spin1s", "single"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["TERM", "INT"])
def test_signal_unmounts(tmp_path, opts, sig):
    testlib.require_daemon()
    lo = str(tmp_path / "l")
    os.makedirs(os.path.join(lo, "d"))
    for i in range(200):
        with open(os.path.join(lo, "d", f"f{i}"), "w") as f:
            f.write("x" * i)
    m = testlib.ErrovlMount(str(tmp_path / "e"), lowers=[lo], opts=opts)
    with m:
        # Keep the reader and the workers busy while the signal comes.
        stop = threading.Event()

        def busy():
            while not stop.is_set():
                try:
                    for n in os.listdir(os.path.join(m.mnt, "d")):
                        os.stat(os.path.join(m.mnt, "d", n))
                    with open(os.path.join(m.mnt, "w"), "a") as f:
                        f.write("y")
                        os.fsync(f.fileno())
                except OSError:
                    return
        t = threading.Thread(target=busy)
        t.start()
        time.sleep(0.3)
        assert sorted(os.listdir(os.path.join(m.mnt, "d")))[:1] == ["f0"]
        start = time.monotonic()
        m.proc.send_signal(sig)
        try:
            rc = m.proc.wait(timeout=10)
        finally:
            stop.set()
            t.join(timeout=10)
        assert time.monotonic() - start < 5
        assert rc == 0, m.log()[-2000:]
        assert not testlib.mounted_at(m.mnt)
