"""``livingmemory init``: creates what is missing, overwrites nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import db_rows, list_json, run_cli, snapshot

from livingmemory.archive import schema
from livingmemory.archive.sqlite import sqlite3


def _assert_is_archive(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    finally:
        conn.close()


def test_init_creates_archive_recordings_and_metadata(tmp_path: Path) -> None:
    target = tmp_path / "zbirka" / "archive.db"
    result = run_cli("init", target)
    assert result.exit_code == 0, str(result)
    _assert_is_archive(target)
    assert (target.parent / "recordings").is_dir()
    metadata = target.parent / "metadata.yml"
    assert metadata.is_file() and metadata.read_text(encoding="utf-8").strip()
    text = "".join(result.stdout.split())  # long paths may be wrapped, even mid-path
    for made in (target, target.parent / "recordings", metadata):
        assert f"created{made}" in text, str(result)
    assert list_json(target) == []


def test_init_twice_overwrites_nothing(tmp_path: Path, audio_files) -> None:
    folder = tmp_path / "zbirka"
    target = folder / "archive.db"
    assert run_cli("init", target).exit_code == 0
    metadata = folder / "metadata.yml"
    edited = "title: Spomini Gorenjske\n# edited by hand\n"
    metadata.write_text(edited, encoding="utf-8")
    added = run_cli("add", "--archive", target, audio_files["flac"], "--title", "Prvi")
    assert added.exit_code == 0, str(added)
    before = snapshot(folder)

    again = run_cli("init", target)
    assert again.exit_code == 0, str(again)
    words = again.stdout.split()
    assert "created" not in words, str(again)
    assert words.count("kept") == 3, str(again)
    assert metadata.read_text(encoding="utf-8") == edited
    assert snapshot(folder) == before
    assert [row["title"] for row in list_json(target)] == ["Prvi"]


def test_init_with_existing_directory_argument(tmp_path: Path) -> None:
    folder = tmp_path / "oral-history"
    folder.mkdir()
    result = run_cli("init", folder)
    assert result.exit_code == 0, str(result)
    _assert_is_archive(folder / "archive.db")
    assert (folder / "recordings").is_dir()
    assert (folder / "metadata.yml").is_file()
    assert db_rows(folder / "archive.db", "SELECT * FROM recordings") == []


def test_init_without_argument_uses_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("init")
    assert result.exit_code == 0, str(result)
    _assert_is_archive(tmp_path / "archive.db")
    assert (tmp_path / "recordings").is_dir()
    assert (tmp_path / "metadata.yml").is_file()


def test_init_with_new_folder_and_trailing_slash_creates_the_folder(tmp_path: Path) -> None:
    """``init myarchive/`` names a folder; it must not become a database file called myarchive.

    The help says PATH is the archive file "or a folder to create it in".
    """
    result = run_cli("init", f"{tmp_path / 'myarchive'}/")
    assert result.exit_code == 0, str(result)
    assert (tmp_path / "myarchive").is_dir(), "the folder was created as a SQLite file instead"
    _assert_is_archive(tmp_path / "myarchive" / "archive.db")
    assert not (tmp_path / "recordings").exists()


def test_init_upgrades_an_old_archive_with_backup(tmp_path: Path) -> None:
    import sqlite_utils

    path = tmp_path / "archive.db"
    db = sqlite_utils.Database(path)
    schema.migrate(db, target=1)
    db.close()
    result = run_cli("init", path)
    assert result.exit_code == 0, str(result)
    _assert_is_archive(path)
    assert (tmp_path / "archive.db.v1.bak").is_file()
