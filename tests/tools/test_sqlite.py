# SPDX-License-Identifier: GPL-2.0-or-later
"""sqlite3 in WAL mode on a database that starts in the lower layer with
a -wal (and -shm) its writer left behind (it exited without closing), so
the first open in the mount copies up the db and replays its -wal.  Then
several transactions, a checkpoint and integrity checks through the
sqlite3 shell; the shell's output and the merged tree after the last
connection closed must match the kernel overlayfs run, and so must an
integrity check after a remount."""
import os
import subprocess
import sys

import pytest

import testlib

import toolhelp as T

# Writes a WAL-mode database and exits without closing it: the lower
# then holds db, db-wal (with committed rows not yet checkpointed) and
# db-shm, as after a crash of the writer.
MAKE_DB = r"""
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER)")
c.execute("CREATE INDEX t_n ON t(n)")
c.execute("BEGIN")
for i in range(400):
    c.execute("INSERT INTO t(v, n) VALUES (?, ?)", ("x" * (i % 50), i))
c.execute("COMMIT")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("BEGIN")
for i in range(400, 700):
    c.execute("INSERT INTO t(v, n) VALUES (?, ?)", ("in the wal", i))
c.execute("UPDATE t SET v = 'updated' WHERE n % 7 = 0")
c.execute("COMMIT")
os._exit(0)
"""

SQL = [
    "PRAGMA journal_mode; SELECT count(*), sum(n) FROM t;"
    " PRAGMA integrity_check;",
    "PRAGMA journal_mode=WAL; BEGIN; INSERT INTO t(v, n) SELECT 'copy', n"
    " + 1000 FROM t WHERE n < 100; COMMIT; BEGIN; DELETE FROM t WHERE"
    " n % 5 = 1; COMMIT; BEGIN; UPDATE t SET v = v || '!' WHERE n < 50;"
    " COMMIT; SELECT count(*) FROM t;",
    "CREATE TABLE u AS SELECT n, v FROM t WHERE n > 600;"
    " PRAGMA wal_checkpoint(TRUNCATE); SELECT count(*) FROM u;",
    "BEGIN; UPDATE u SET v = 'later'; COMMIT; PRAGMA integrity_check;"
    " SELECT count(*), sum(n), group_concat(DISTINCT v) FROM t;"
    " SELECT count(*) FROM u WHERE v = 'later';",
    "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA integrity_check;"
    " PRAGMA journal_mode;",
]


def _sqlite_script(env):
    def action(mnt, side):
        out = [T.run(["ls"], mnt, env)]
        for sql in SQL:
            out.append(T.run(["sqlite3", "-batch", "db.sqlite", sql], mnt,
                             env))
        out.append(T.run(["ls"], mnt, env))
        return out
    return action


def _verify(env):
    def action(mnt, side):
        return T.run(["sqlite3", "-batch", "db.sqlite",
                      "PRAGMA integrity_check; SELECT count(*), sum(n) "
                      "FROM t; SELECT count(*) FROM u;"], mnt, env)
    return action


@pytest.mark.parametrize("mode", T.MODES)
def test_sqlite_wal_db_from_lower(tmp_path, mode):
    testlib.require_tools("sqlite3")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = tmp_path / "lower"
    os.makedirs(lower)
    subprocess.run([sys.executable, "-c", MAKE_DB,
                    str(lower / "db.sqlite")], check=True)
    names = sorted(os.listdir(lower))
    assert names == ["db.sqlite", "db.sqlite-shm", "db.sqlite-wal"], names
    assert os.path.getsize(lower / "db.sqlite-wal") > 0
    res = T.both(tmp_path, mode, [str(lower)], _sqlite_script(env),
                 verify=_verify(env))
    for st, out, err in res["k"][0]:
        assert st == 0, f"kernel run: {err}"
    assert "ok" in res["k"][0][1][1]
    assert res["k2"][0][0] == 0 and res["k2"][0][1].startswith("ok\n")
    T.assert_same(res, "sqlite3 output")


def _two_processes(env):
    """A writer (this process) and readers/writers in sqlite3 shells:
    they share the WAL index (-shm, mmap'ed) through the mount."""
    import sqlite3

    def cli(mnt, sql):
        return T.run(["sqlite3", "-batch", "db.sqlite", sql], mnt, env)

    def action(mnt, side):
        out = []
        c = sqlite3.connect(os.path.join(mnt, "db.sqlite"),
                            isolation_level=None)
        try:
            out.append(c.execute("PRAGMA journal_mode").fetchall())
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT INTO t(v, n) VALUES ('pending', -1)")
            out.append(cli(mnt, "SELECT count(*) FROM t;"))
            out.append(cli(mnt, "PRAGMA busy_timeout=0; "
                                "INSERT INTO t(v, n) VALUES ('x', -2);"))
            c.execute("COMMIT")
            out.append(cli(mnt, "SELECT count(*) FROM t;"))
            c.execute("BEGIN")
            out.append(c.execute("SELECT count(*) FROM t").fetchall())
            out.append(cli(mnt, "INSERT INTO t(v, n) VALUES ('cli', -3); "
                                "SELECT count(*) FROM t;"))
            # this read transaction still sees its snapshot
            out.append(c.execute("SELECT count(*) FROM t").fetchall())
            c.execute("COMMIT")
            out.append(c.execute("SELECT count(*) FROM t").fetchall())
            out.append(c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                       .fetchall())
            out.append(c.execute("PRAGMA integrity_check").fetchall())
        finally:
            c.close()
        out.append(sorted(os.listdir(mnt)))
        return out
    return action


@pytest.mark.parametrize("mode", T.MODES)
def test_sqlite_wal_two_processes(tmp_path, mode):
    testlib.require_tools("sqlite3")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = tmp_path / "lower"
    os.makedirs(lower)
    subprocess.run([sys.executable, "-c", MAKE_DB,
                    str(lower / "db.sqlite")], check=True)
    res = T.both(tmp_path, mode, [str(lower)], _two_processes(env))
    k = res["k"][0]
    assert k[1][1] == "700\n" and k[3][1] == "701\n", k
    assert k[2][0] != 0 and "locked" in k[2][2], k
    T.assert_same(res, "sqlite results")
