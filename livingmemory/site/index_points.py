"""The interview index on the public site: the public ``index_points`` table and the Kazalo.

:func:`write_public_index` is the one writer of the public database's ``index_points`` (and
its search rows): called by publishing for the recordings it writes or withdraws, it replaces
those recordings' rows with what :func:`~livingmemory.archive.access.public_index_points`
allows (accepted points of publishable recordings, none inside a redacted passage, no
partial transcript carrying a redacted word). Other outputs (IIIF ranges, the map) read the
table it leaves; its columns are a contract: see :data:`PUBLIC_COLUMNS`.

:func:`kazalo` reads one recording's points back for the interview page's table of contents.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from livingmemory.archive.access import INDEX_POINT_COLUMNS, public_index_points, publishable
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import Archive
from livingmemory.search import build_index_point_search, purge_deleted_words

PUBLIC_COLUMNS: dict[str, type] = {
    "id": int, "recording_id": int, "at": float, "title": str, "partial_transcript": str,
    "synopsis": str, "keywords": str, "subjects": str, "place": str, "lat": float,
    "lon": float, "links": str,
}  # fmt: skip
assert tuple(PUBLIC_COLUMNS) == INDEX_POINT_COLUMNS

# The words of the Kazalo (Slovenian first, then English), merged into the site's STRINGS.
KAZALO_STRINGS: dict[str, tuple[str, str]] = {
    "kazalo": ("Kazalo", "Contents"),
    "kazalo_hint": (
        "Poglavja intervjuja, kot so jih zapisali sodelavci arhiva. Odpri za povzetek.",
        "The interview's chapters, as the archive's people wrote them. Open for a summary.",
    ),
    "kazalo_play": ("Poslušaj od", "Listen from"),
    "kazalo_keywords": ("Ključne besede", "Keywords"),
    "kazalo_subjects": ("Teme", "Subjects"),
    "kazalo_partial": ("Iz prepisa", "From the transcript"),
    "kazalo_links": ("Povezave", "Links"),
    "kazalo_place": ("Kraj", "Place"),
    "kazalo_search": ("Išči", "Search for"),
    "kazalo_here": ("V kazalih intervjujev", "In the interviews' contents"),
}


def _connection(public: Any) -> sqlite3.Connection:
    conn = getattr(public, "conn", public)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(f"not a database: {public!r}")
    return conn


def ensure_public_table(public: Any) -> None:
    """Create the public ``index_points`` table (and its index by recording) if missing."""
    db = sqlite_utils.Database(_connection(public))
    if "index_points" not in db.table_names():
        db.table("index_points").create(
            PUBLIC_COLUMNS, pk="id", foreign_keys=[("recording_id", "recordings", "id")]
        )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_index_points_recording ON index_points (recording_id, at)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_index_points_place ON index_points (place)")


def write_public_index(
    archive: Archive,
    public: Any,
    recording_ids: Iterable[int],
    *,
    today: dt.date | None = None,
) -> int:
    """Replace the public ``index_points`` rows (and search rows) of ``recording_ids`` with
    what the public may see of their index; a recording that is not publishable (withdrawn,
    restricted, under embargo on ``today``) keeps none. ``public`` is the public database (a
    ``sqlite_utils.Database`` or ``sqlite3.Connection``); the caller commits. Returns how
    many points were written."""
    conn = _connection(public)
    ensure_public_table(conn)
    ids = sorted({int(i) for i in recording_ids})
    if not ids:
        return 0
    allowed = {r["id"] for r in publishable(archive, today)}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM index_points WHERE recording_id IN ({marks})", chunk)
    rows = []
    for recording_id in ids:
        if recording_id not in allowed:
            continue
        for point in public_index_points(archive, recording_id):
            rows.append(
                [
                    json.dumps(point[c], ensure_ascii=False)
                    if c in ("keywords", "subjects", "links")
                    else point[c]
                    for c in PUBLIC_COLUMNS
                ]
            )
    conn.executemany(
        f"INSERT INTO index_points ({', '.join(PUBLIC_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(PUBLIC_COLUMNS))})",
        rows,
    )
    build_index_point_search(conn, ids)
    purge_deleted_words(conn, "index_points_search")  # no word of a withdrawn point stays
    return len(rows)


def kazalo(conn: sqlite3.Connection, recording_id: int) -> list[dict[str, Any]]:
    """One recording's public index points in time order, lists decoded (the interview
    page's table of contents). Empty for a database published before the index."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'index_points'"
    ).fetchone():
        return []
    conn_rows = conn.execute(
        f"SELECT {', '.join(PUBLIC_COLUMNS)} FROM index_points WHERE recording_id = ? "
        "ORDER BY at, id",
        [recording_id],
    ).fetchall()
    points = []
    for row in conn_rows:
        point = dict(zip(PUBLIC_COLUMNS, row, strict=True))
        for key in ("keywords", "subjects", "links"):
            point[key] = json.loads(point[key] or "[]")
        points.append(point)
    return points


def points_at_place(conn: sqlite3.Connection, place: str, limit: int) -> list[dict[str, Any]]:
    """Public index points placed at ``place`` (the place page lists them)."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'index_points'"
    ).fetchone():
        return []
    rows = conn.execute(
        "SELECT id, recording_id, at, title, synopsis FROM index_points WHERE place = ? "
        "ORDER BY recording_id, at LIMIT ?",
        [place, limit],
    ).fetchall()
    return [
        dict(zip(("id", "recording_id", "at", "title", "synopsis"), r, strict=True)) for r in rows
    ]
