# SPDX-License-Identifier: GPL-2.0-or-later
"""Metacopy files written by kernel overlayfs (metacopy=on): errovl
follows overlay.metacopy to the lower data, copies the data up in place
before a change, and leaves an upper the kernel reads the same way.

Each side gets its own layers, prepared by a kernel mount with
metacopy=on (chown/chmod of lower files leaves metadata-only upper
copies, a rename leaves an absolute overlay.redirect); then the side's
implementation (kernel metacopy=on, or errovl) runs the same probe on
them with a fresh workdir, and finally a kernel metacopy=on mount reads
each resulting upper back."""
import os
import threading

import pytest

import testlib
from posixlib import cap_v2, params, read, res, run_pair, upper_xattrs
from testlib import layers as L
from testlib.layers import Dir, File

MC = "trusted.overlay.metacopy"
METACOPY_K = ("redirect_dir=on", "index=off", "metacopy=on")
CAP = cap_v2(1 << 10)  # CAP_NET_BIND_SERVICE

LOWER = {
    "own": File(b"metacopy data " * 100),
    "big": File(sparse=[(0, b"x" * 4096), (2 << 20, b"y" * 4096)],
                size=3 << 20),
    "capf": File(b"#!/bin/sh\n", mode=0o755,
                 xattrs={"security.capability": CAP}),
    "t1": File(b"truncate me " * 50),
    "t2": File(b"O_TRUNC me " * 50),
    "r1": File(b"rename me " * 50),
    "hl": File(b"link me " * 50),
    "ch": File(b"chmod twice " * 50),
    "mv": File(b"moved by the kernel " * 50),
    "d/": Dir(),
    "d/f": File(b"in a dir " * 50),
    "n/": Dir(),
}
# What the kernel leaves metadata-only: every lower file above.
PREP_FILES = ("own", "big", "t1", "t2", "r1", "hl", "ch", "mv", "d/f")


def _prep(mnt):
    for f in PREP_FILES:
        os.chown(os.path.join(mnt, f), 1234, 1234)
    # chmod keeps security.capability (chown would drop it)
    os.chmod(os.path.join(mnt, "capf"), 0o750)
    # a renamed metacopy file: absolute redirect "/mv"
    os.rename(os.path.join(mnt, "mv"), os.path.join(mnt, "n/mv2"))


def _prepared(s):
    """The side's layers after a kernel metacopy=on mount ran _prep."""
    with testlib.KernelOverlay(s.base, lowers=s.lowers, upper=s.upper,
                               work=os.path.join(s.base, "kwork"),
                               mnt=os.path.join(s.base, "kmnt"),
                               opts=METACOPY_K) as k:
        _prep(k.mnt)
    for f in PREP_FILES + ("capf", "n/mv2"):
        if f != "mv":
            assert MC in upper_xattrs(os.path.join(s.upper, f)), f
    assert upper_xattrs(os.path.join(s.upper, "n/mv2")).get(
        "trusted.overlay.redirect") == b"/mv"


def _kernel_reads(s):
    """The side's upper as a kernel metacopy=on mount shows it."""
    with testlib.KernelOverlay(s.base, lowers=s.lowers, upper=s.upper,
                               work=os.path.join(s.base, "kwork2"),
                               mnt=os.path.join(s.base, "kmnt2"),
                               opts=METACOPY_K) as k:
        return L.snapshot_tree(k.mnt)


def _stat(p, blocks=True):
    """Mode, owner, size, and (@blocks) st_blocks: those of the data
    for a metacopy file; after a copy-up they depend on how the data was
    written, so they are not compared then."""
    st = os.stat(p)
    return (oct(st.st_mode), st.st_uid, st.st_size) + \
        ((st.st_blocks,) if blocks else ())


def _append(p, data):
    with open(p, "ab") as f:
        f.write(data)


def _probe(s):
    _prepared(s)
    r = {}
    opts = METACOPY_K if s.kind == "kernel" else None
    with s.mount(opts=opts) as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        for f in ("own", "big", "capf", "d/f", "n/mv2"):
            r["read " + f] = res(read, p(f))
            r["stat " + f] = res(_stat, p(f))
        r["append own"] = res(_append, p("own"), b"appended\n")
        r["own after append"] = res(read, p("own"))
        # opened for writing, not written: the capability stays
        r["open capf rw"] = res(lambda: os.close(os.open(p("capf"),
                                                         os.O_RDWR)))
        r["capf caps"] = res(os.getxattr, p("capf"), "security.capability")
        r["capf mode"] = res(_stat, p("capf"), False)
        r["truncate t1"] = res(os.truncate, p("t1"), 100)
        r["t1"] = res(read, p("t1"))
        r["O_TRUNC t2"] = res(_write_trunc, p("t2"), b"new\n")
        r["t2"] = res(read, p("t2"))
        r["rename r1"] = res(os.rename, p("r1"), p("d/r1x"))
        r["r1x"] = res(read, p("d/r1x"))
        r["link hl"] = res(os.link, p("hl"), p("hl_link"))
        r["append hl_link"] = res(_append, p("hl_link"), b"via link\n")
        r["hl"] = res(read, p("hl"))
        r["hl nlink"] = res(lambda: os.stat(p("hl")).st_nlink)
        r["chmod ch"] = res(os.chmod, p("ch"), 0o600)
        r["ch"] = res(read, p("ch"))
        r["append n/mv2"] = res(_append, p("n/mv2"), b"more\n")
        r["tree"] = L.snapshot_tree(m.mnt)
    # The data is in the upper now wherever it was changed. (A rename
    # or chmod is where they differ: the kernel keeps a metacopy file,
    # errovl copies the data up.)
    for f in ("own", "capf", "t1", "t2", "hl", "n/mv2"):
        r["upper metacopy " + f] = MC in upper_xattrs(
            os.path.join(s.upper, f))
    r["kernel reads the upper"] = _kernel_reads(s)
    return r


def _write_trunc(p, data):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.mark.parametrize("mode", params("k-e", "k-ev"))
def test_metacopy_upper(tmp_path, mode):
    """A kernel metacopy=on upper: reads show the lower data (also of a
    file the kernel renamed, through its absolute redirect), stat shows
    the data's blocks, and append, truncate, O_TRUNC, rename and link
    copy the data up first, keeping security.capability; the kernel
    reads the result the same."""
    k, e = run_pair(tmp_path, mode, _probe, lowers=[LOWER])
    assert k["own after append"].endswith(b"appended\n")


def _chowned_by_kernel(tmp_path, spec, name):
    """One lower layer from @spec, and an upper where a kernel
    metacopy=on mount chowned @name. Returns (base, lower, upper)."""
    testlib.require_kernel_overlay()
    testlib.require_daemon()
    base = str(tmp_path)
    lower = os.path.join(base, "l0")
    L.build(lower, spec)
    upper = os.path.join(base, "upper")
    os.makedirs(upper)
    with testlib.KernelOverlay(base, lowers=[lower], upper=upper,
                               work=os.path.join(base, "kwork"),
                               opts=METACOPY_K) as k:
        os.chown(os.path.join(k.mnt, name), 1234, 1234)
    return base, lower, upper


def test_metacopy_missing_data(tmp_path):
    """A metacopy upper whose lower data is gone: EIO with a message,
    never the sparse upper file as data; its neighbours still read."""
    base, lower, upper = _chowned_by_kernel(
        tmp_path, {"own": File(b"data " * 100), "ok": "fine\n"}, "own")
    os.unlink(os.path.join(lower, "own"))
    with testlib.ErrovlMount(base, lowers=[lower], upper=upper,
                             work=os.path.join(base, "work")) as m:
        assert read(os.path.join(m.mnt, "own")) == "E:EIO"
        assert read(os.path.join(m.mnt, "ok")) == b"fine\n"
    assert "has no data in the lower layers" in m.log()


def _lower_probe(s):
    """A lower layer that was a kernel metacopy=on upper, above the
    layer with the data."""
    mid, bottom = s.lowers
    with testlib.KernelOverlay(s.base, lowers=[bottom], upper=mid,
                               work=os.path.join(s.base, "kwork"),
                               mnt=os.path.join(s.base, "kmnt"),
                               opts=METACOPY_K) as k:
        os.chown(os.path.join(k.mnt, "own"), 1234, 1234)
        os.rename(os.path.join(k.mnt, "mv"), os.path.join(k.mnt, "n/mv2"))
    assert MC in upper_xattrs(os.path.join(mid, "own"))
    r = {}
    opts = METACOPY_K if s.kind == "kernel" else None
    with s.mount(opts=opts) as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        for f in ("own", "n/mv2"):
            r["read " + f] = res(read, p(f))
            r["stat " + f] = res(_stat, p(f))
        r["append own"] = res(_append, p("own"), b"appended\n")
        r["chmod n/mv2"] = res(os.chmod, p("n/mv2"), 0o600)
        r["tree"] = L.snapshot_tree(m.mnt)
    r["upper metacopy own"] = MC in upper_xattrs(os.path.join(s.upper,
                                                               "own"))
    return r


def test_metacopy_lower(tmp_path):
    """Metacopy files in a lower layer (an old upper) take their data
    from the layer below, also through an absolute redirect; copy-up
    copies that data."""
    run_pair(tmp_path, "k-e", _lower_probe,
             lowers=[{"n/": Dir()},
                     {"own": File(b"bottom data " * 100),
                      "mv": File(b"moved " * 100), "n/": Dir()}],
             kopts=METACOPY_K)


def test_metacopy_fill_under_readers(tmp_path):
    """Readers of a big metacopy file while another handle opens it for
    writing (the data fill) and appends: every read shows the lower data
    (plus whole appends), never the sparse upper's zeros."""
    data = bytes(range(256)) * (32 << 10)  # 8 MiB, no zero pages
    base, lower, upper = _chowned_by_kernel(tmp_path, {"big": File(data)},
                                            "big")
    bad = []
    stop = threading.Event()
    with testlib.ErrovlMount(base, lowers=[lower], upper=upper,
                             work=os.path.join(base, "work")) as m:
        p = os.path.join(m.mnt, "big")

        def reader():
            while not stop.is_set():
                got = read(p)
                if got[:len(data)] != data or \
                        got[len(data):].replace(b"+", b""):
                    bad.append(len(got))
                    return
        ts = [threading.Thread(target=reader) for _ in range(3)]
        for t in ts:
            t.start()
        try:
            for _ in range(10):
                _append(p, b"+")
        finally:
            stop.set()
            for t in ts:
                t.join()
        assert read(p) == data + b"+" * 10
    assert not bad, f"reads that were not the data: sizes {bad}"
    assert MC not in upper_xattrs(os.path.join(upper, "big"))


@pytest.mark.parametrize("case", ["over-dir", "bottom-layer", "bad-redirect"])
def test_metacopy_bad_on_disk(tmp_path, case):
    """Hand-made metacopy marks with no data behind them (over a lower
    directory, in the only layer, with a redirect to nothing): EIO with a
    log line for that name, never its sparse content; the mount and its
    other files keep working."""
    testlib.require_daemon()
    base = str(tmp_path)
    lower = os.path.join(base, "l0")
    upper = os.path.join(base, "upper")
    L.build(lower, {"ok": "fine\n", "own/": Dir(), "mv": "data\n"})
    os.makedirs(upper)
    mc = {MC: b""}
    if case == "over-dir":
        L.build(upper, {"own": File(size=4096, xattrs=mc)})
    elif case == "bottom-layer":
        L.build(lower, {"solo": File(size=4096, xattrs=mc)})
    else:
        L.build(upper, {"own2": File(size=5, xattrs={
            **mc, "trusted.overlay.redirect": b"/nowhere"})})
    name = {"over-dir": "own", "bottom-layer": "solo"}.get(case, "own2")
    with testlib.ErrovlMount(base, lowers=[lower], upper=upper,
                             work=os.path.join(base, "work")) as m:
        assert read(os.path.join(m.mnt, name)) == "E:EIO"
        assert read(os.path.join(m.mnt, "ok")) == b"fine\n"
        assert read(os.path.join(m.mnt, "mv")) == b"data\n"
    assert "has no data in the lower layers" in m.log()


def test_metacopy_not_followed_with_userxattr(tmp_path):
    """With userxattr the layers' owner could plant user.overlay.metacopy
    to show a lower file's data under an owner and mode of their choice:
    as the kernel, errovl refuses such a file (EPERM, logged) instead of
    following it, and serves the rest."""
    testlib.require_daemon()
    base = str(tmp_path)
    lower = os.path.join(base, "l0")
    upper = os.path.join(base, "upper")
    L.build(lower, {"own": "lower data\n", "ok": "fine\n"})
    L.build(upper, {"own": File(size=11, mode=0o666, xattrs={
        "user.overlay.metacopy": b""})})
    with testlib.ErrovlMount(base, lowers=[lower], upper=upper,
                             work=os.path.join(base, "work"),
                             opts=("userxattr",)) as m:
        assert read(os.path.join(m.mnt, "own")) == "E:EPERM"
        assert read(os.path.join(m.mnt, "ok")) == b"fine\n"
    assert "refusing to follow the metacopy file 'own' (userxattr)" in \
        m.log()
