"""The one SQLite library every part of Living Memory uses.

Datasette and sqlite-utils both import ``pysqlite3`` when it is installed and fall back to
Python's own ``sqlite3``; the ``pysqlite3-binary`` wheel (a dependency where it exists: Linux
on x86-64) brings SQLite 3.51 where Python 3.11 has 3.40. Every module imports ``sqlite3``
from here so that one process never mixes the two libraries: an exception of one is not
caught by ``except`` clauses naming the other, and a ``Row`` factory refuses the other's
cursors.

What the newer library buys: FTS5's ``secure-delete`` (SQLite 3.42+), which removes a
deleted row's words from the full-text index at once. Without it a withdrawn interview's
words stay in the index's older segments until the whole index is rewritten, which is what
made a withdrawal at 10,000 hours take seconds (``site/publish.py``). A search index that
uses it can be read only by SQLite 3.42 or newer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3 as sqlite3
else:
    try:  # the same choice, in the same order, as Datasette and sqlite-utils
        import pysqlite3 as sqlite3
    except ImportError:  # pragma: no cover - where no pysqlite3 wheel exists
        import sqlite3

__all__ = ["FTS5_SECURE_DELETE", "SQLITE_VERSION", "sqlite3"]

SQLITE_VERSION: tuple[int, ...] = tuple(int(part) for part in sqlite3.sqlite_version.split("."))

# FTS5 can remove a deleted row's tokens from its index at once (SQLite 3.42, 2023).
FTS5_SECURE_DELETE = SQLITE_VERSION >= (3, 42, 0)
