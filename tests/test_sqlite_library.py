"""One SQLite library in the process: Living Memory's, Datasette's and sqlite-utils' are the
same module (archive/sqlite.py), and it is new enough for FTS5 secure-delete where the
``pysqlite3-binary`` wheel exists."""

from __future__ import annotations

import platform
import sys

import pytest
import sqlite_utils.utils

from livingmemory.archive.sqlite import FTS5_SECURE_DELETE, SQLITE_VERSION, sqlite3


def test_datasette_and_sqlite_utils_use_the_same_library():
    datasette_sqlite = pytest.importorskip("datasette.utils.sqlite")
    assert datasette_sqlite.sqlite3 is sqlite3
    assert sqlite_utils.utils.sqlite3 is sqlite3


def test_the_library_has_fts5_secure_delete_where_the_wheel_exists():
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("pysqlite3-binary ships wheels for Linux x86-64 only")
    assert sqlite3.__name__ == "pysqlite3"
    assert SQLITE_VERSION >= (3, 42, 0) and FTS5_SECURE_DELETE


def test_secure_delete_removes_a_deleted_rows_words_from_the_file(tmp_path):
    """What publishing relies on, on this library: with secure-delete on, a deleted row's
    words leave the index's pages at the delete, without a rewrite of the index."""
    if not FTS5_SECURE_DELETE:
        pytest.skip(f"SQLite {sqlite3.sqlite_version} has no FTS5 secure-delete")
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5 (text)")
    conn.execute("INSERT INTO f (f, rank) VALUES ('secure-delete', 1)")
    for number in range(300):  # several index segments, the old ones untouched later
        secret = " zaupnikovič" if number == 17 else ""
        conn.execute("INSERT INTO f (rowid, text) VALUES (?, ?)", (number, f"skupna{secret}"))
        conn.commit()
    assert "zaupnikovič".encode() in path.read_bytes()
    conn.execute("DELETE FROM f WHERE rowid = 17")
    conn.commit()
    conn.close()
    data = path.read_bytes()
    assert "zaupnikovič".encode() not in data and b"skupna" in data
