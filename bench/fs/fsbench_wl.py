#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Workload bodies for fsbench.sh that a single shell command cannot express.

Each subcommand does its work once and may print one "note: ..." line that
fsbench.sh stores next to the timing. Errors end with a message on stderr
and exit status 1; a usage error exits with 2.

  copyup ROOT LIST   append one byte to every file named (relative to ROOT)
                     in LIST: the overlay copies each file up on open
  fsync DIR N        N times: create fN.tmp, write 4 KiB, fsync, close,
                     rename to fN; then fsync DIR (how package managers
                     replace files)
  sqlite DB N        N autocommit INSERT transactions, journal_mode=DELETE,
                     synchronous=FULL: every commit creates, fsyncs and
                     deletes the rollback journal
"""

import os
import sqlite3
import sys


def wl_copyup(root, listfile):
    with open(listfile, encoding="utf-8", errors="surrogateescape") as f:
        names = f.read().splitlines()
    for rel in names:
        fd = os.open(os.path.join(root, rel), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"+")
        finally:
            os.close(fd)
    print("note: %d files" % len(names))


def wl_fsync(d, n):
    os.makedirs(d, exist_ok=True)
    data = os.urandom(4096)
    for i in range(n):
        final = os.path.join(d, "f%06d" % i)
        tmp = final + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    print("note: %d files" % n)


def wl_sqlite(db, n):
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        payload = os.urandom(200)
        for _ in range(n):
            con.execute("INSERT INTO t (v) VALUES (?)", (payload,))
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        con.close()
    if rows != n:
        raise RuntimeError("expected %d rows, found %d" % (n, rows))
    print("note: %d transactions" % n)


def main(argv):
    cmds = {
        "copyup": (wl_copyup, (str, str)),
        "fsync": (wl_fsync, (str, int)),
        "sqlite": (wl_sqlite, (str, int)),
    }
    if len(argv) < 2 or argv[1] not in cmds:
        print("usage: fsbench_wl.py copyup ROOT LIST | fsync DIR N | "
              "sqlite DB N", file=sys.stderr)
        return 2
    func, types = cmds[argv[1]]
    if len(argv) != 2 + len(types):
        print("fsbench_wl.py %s: expected %d arguments"
              % (argv[1], len(types)), file=sys.stderr)
        return 2
    try:
        args = [t(a) for t, a in zip(types, argv[2:])]
    except ValueError as e:
        print("fsbench_wl.py %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    try:
        func(*args)
    except (OSError, sqlite3.Error, RuntimeError) as e:
        print("fsbench_wl.py %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
