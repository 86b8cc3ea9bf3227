"""The archive file: connection settings, schema versions, migrations, and refusing strangers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils
from support import db_rows, list_json, run_cli, sha256, show_json

from livingmemory.archive import schema
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import open_archive
from livingmemory.errors import ArchiveError


def _recording_values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "title": "Pri stari mami",
        "file_path": "recordings/pri-stari-mami-0123456789.wav",
        "original_filename": "pri stari mami.wav",
        "sha256": "0123456789" + "ab" * 27,
        "size_bytes": 1234,
        "format": "wav",
        "duration": 12.5,
        "access": "restricted",
        "added_at": "1999-01-01T00:00:00+00:00",
    }
    values.update(overrides)
    return values


def _insert_recording(conn: sqlite3.Connection, **overrides: object) -> int:
    values = _recording_values(**overrides)
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = conn.execute(
        f"INSERT INTO recordings ({columns}) VALUES ({marks})", list(values.values())
    )
    return cursor.lastrowid


# -- a fresh archive ----------------------------------------------------------------------


def test_fresh_archive_has_current_version_and_application_id(archive_db: Path) -> None:
    conn = sqlite3.connect(archive_db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
        # WAL is a property of the file, so a plain connection sees it too.
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert {"recordings", "people", "recording_people", "transcripts", "segments"} <= tables
    assert "recording_status" in tables


def test_open_archive_connection_settings(archive_db: Path) -> None:
    with open_archive(archive_db) as archive:
        db = archive.db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        # Foreign keys are enforced, not merely declared.
        with pytest.raises(sqlite3.IntegrityError), db.atomic():
            db.execute(
                "INSERT INTO recording_people (recording_id, person_id, role) "
                "VALUES (4242, 4343, 'narrator')"
            )
    assert db_rows(archive_db, "SELECT * FROM recording_people") == []


def test_opening_current_archive_changes_nothing(archive_dir: Path, archive_db: Path) -> None:
    before = sha256(archive_db)
    with open_archive(archive_db) as archive:
        assert schema.migrate(archive.db) == []
    assert sha256(archive_db) == before
    assert not list(archive_dir.glob("*.bak"))


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"access": "secret"}, "unknown access level"),
        ({"access": "embargoed", "embargo_until": None}, "embargoed without a date"),
    ],
)
def test_check_constraints(archive_db: Path, overrides: dict[str, object], why: str) -> None:
    with open_archive(archive_db) as archive:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"), archive.db.atomic():
            _insert_recording(archive.db.conn, **overrides)
        # The same row with acceptable values goes in, so the CHECK (not something else) said no.
        with archive.db.atomic():
            _insert_recording(archive.db.conn, access="embargoed", embargo_until="2040-01-01")
    assert len(db_rows(archive_db, "SELECT id FROM recordings")) == 1, why


# -- migrations --------------------------------------------------------------------------


def _make_v1_archive(path: Path) -> None:
    db = sqlite_utils.Database(path)
    assert schema.migrate(db, target=1) == [1]
    conn = db.conn
    recording_id = _insert_recording(conn, title="Stara šola")
    person = conn.execute(
        "INSERT INTO people (name, birth_year, home_place) VALUES (?, ?, ?)",
        ["Marija Košir", 1932, "Jesenice"],
    ).lastrowid
    conn.execute(
        "INSERT INTO recording_people (recording_id, person_id, role) VALUES (?, ?, 'narrator')",
        [recording_id, person],
    )
    conn.commit()
    db.close()


def test_migrate_v1_to_latest_keeps_data_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _make_v1_archive(path)
    v1_bytes = sha256(path)

    with open_archive(path) as archive:
        assert schema.schema_version(archive.db) == schema.SCHEMA_VERSION
        assert "transcripts" in archive.db.table_names()
        [row] = archive.recordings()
        assert row["title"] == "Stara šola"
        assert row["narrators"] == "Marija Košir"
        assert row["state"] == "added"

    backup = tmp_path / "archive.db.v1.bak"
    assert backup.is_file()
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT title FROM recordings").fetchall() == [("Stara šola",)]
        assert conn.execute("SELECT name, birth_year FROM people").fetchall() == [
            ("Marija Košir", 1932)
        ]
        assert "transcripts" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert sha256(path) != v1_bytes  # the archive itself was upgraded

    # The CLI sees the migrated recording with its person.
    record = show_json(path, 1)
    assert record["people"][0]["name"] == "Marija Košir"
    assert record["people"][0]["role"] == "narrator"
    assert [r["id"] for r in list_json(path)] == [1]


def test_interrupted_migration_leaves_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "archive.db"
    _make_v1_archive(path)

    def half_a_migration(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE transcripts (id INTEGER PRIMARY KEY)")
        raise RuntimeError("power cut")

    monkeypatch.setattr(schema, "MIGRATIONS", [schema.MIGRATIONS[0], half_a_migration])
    with pytest.raises(RuntimeError, match="power cut"):
        open_archive(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "transcripts" not in names
        assert conn.execute("SELECT count(*) FROM recordings").fetchone()[0] == 1
    finally:
        conn.close()


# -- refusing files that are not (our) archives ----------------------------------------------


def test_newer_archive_is_refused(archive_dir: Path, archive_db: Path) -> None:
    conn = sqlite3.connect(archive_db)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = sha256(archive_db)

    with pytest.raises(ArchiveError, match="newer"):
        open_archive(archive_db)
    result = run_cli("list", "--archive", archive_db)
    assert result.exit_code == 1, str(result)
    assert len(result.lines) == 1 and "upgrade livingmemory" in result.error_lines[0]
    assert sha256(archive_db) == before


def test_other_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()
    before = sha256(path)

    with pytest.raises(ArchiveError, match="not a Living Memory archive"):
        open_archive(path)
    result = run_cli("list", "--archive", path)
    assert result.exit_code == 1, str(result)
    assert len(result.lines) == 1
    assert "not a Living Memory archive" in result.error_lines[0]
    assert str(path) in result.error_lines[0]
    # Someone else's database must not be modified by a refused open (e.g. switched to WAL).
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        conn.close()
    assert sha256(path) == before


@pytest.mark.parametrize("command", ["list", "add", "init"])
def test_non_sqlite_archive_file_is_refused(tmp_path: Path, audio_files, command: str) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    path = folder / "archive.db"
    path.write_text("Seznam intervjujev: Marija, Janez, Frančiška\n" * 20, encoding="utf-8")
    before = path.read_bytes()

    with pytest.raises(ArchiveError, match="not a SQLite archive"):
        open_archive(path)
    args = {
        "list": ["list", "--archive", path],
        "add": ["add", "--archive", path, audio_files["wav"]],
        "init": ["init", folder],
    }[command]
    result = run_cli(*args)
    assert result.exit_code == 1, str(result)
    assert len(result.lines) == 1, str(result)
    assert str(path) in result.error_lines[0]
    assert "not a SQLite archive" in result.error_lines[0]
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["archive.db"]
