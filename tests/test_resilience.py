"""Accidents: a review applied twice, a publish that crashed half-way, leftovers of crashes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support import db_rows, run_cli
from test_fixity import _store

import livingmemory.site.publish as publish_module
from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import open_archive, utc_now
from livingmemory.site.publish import publish


def test_applying_the_same_review_twice_stores_one_transcript(
    archive_db: Path, make_interview, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    recording_id = make_interview(["Rodila sem se v Kranju.", "Oče je delal v železarni."])
    review_file = tmp_path / "r.vtt"
    result = run_cli("review", recording_id, "--output", review_file, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    text = review_file.read_text(encoding="utf-8").replace("železarni", "Železarni Jesenice")
    review_file.write_text(text, encoding="utf-8")
    for _ in range(2):  # again after a crash, not knowing whether the first went in
        result = run_cli("review", recording_id, "--apply", review_file, "--archive", archive_db)
        assert result.exit_code == 0, str(result)
    assert "already applied" in result.stdout
    humans = db_rows(archive_db, "SELECT id FROM transcripts WHERE source = 'human'")
    assert len(humans) == 1
    assert len(db_rows(archive_db, "SELECT id FROM revisions")) == 1
    # A different edit is still stored as a new transcript.
    review_file.write_text(text.replace("Kranju", "Kranju na Gorenjskem"), encoding="utf-8")
    result = run_cli("review", recording_id, "--apply", review_file, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert len(db_rows(archive_db, "SELECT id FROM transcripts WHERE source = 'human'")) == 2


@pytest.fixture
def published(tmp_path: Path) -> dict:
    from livingmemory.archive.store import init_archive

    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    first = _store(archive_db, "a.wav", 3)
    second = _store(archive_db, "b.wav", 4)
    with open_archive(archive_db) as archive:
        publish(archive)
    audio = archive_db.parent / PUBLIC_DIR / AUDIO_DIR
    return {"db": archive_db, "ids": (first, second), "audio": audio}


def _crash_at_the_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine goes down right after the audio no longer public was removed, before the
    public database's transaction commits (a full publish: before its backup is copied in)."""
    real_remove = publish_module._remove_stale_audio

    def remove(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_remove(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(publish_module, "_remove_stale_audio", remove)


def test_a_crash_at_the_swap_leaves_no_withdrawn_audio(
    published: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in published["audio"].iterdir())
    assert len(before) == 2
    with open_archive(published["db"]) as archive:
        archive.db.execute(
            "UPDATE recordings SET access = 'restricted' WHERE id = ?", [published["ids"][0]]
        )
        archive.db["redactions"].insert(
            {"recording_id": published["ids"][1], "start": 0.2, "end": 0.6,
             "added_at": utc_now()}
        )  # fmt: skip
        archive.db.conn.commit()
        _crash_at_the_swap(monkeypatch)
        with pytest.raises(KeyboardInterrupt):
            publish(archive)
    after = sorted(p.name for p in published["audio"].iterdir())
    # Neither the withdrawn recording nor the unredacted copy can still be downloaded.
    assert not set(before) & set(after), (before, after)
    folder = published["audio"].parent
    assert not list(folder.glob(".public-*.db"))
    # the public database is the previous one, whole (the transaction never committed)
    with sqlite3.connect(folder / PUBLIC_DB) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert {r[0] for r in conn.execute("SELECT id FROM recordings")} == set(published["ids"])


def test_stale_temporary_databases_are_cleared(published: dict) -> None:
    folder = published["audio"].parent
    dead = folder / ".public-999999999-abc.db"
    dead.write_bytes(b"half a database")
    old = folder / ".public-xyz.db"
    old.write_bytes(b"from an older release")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    alive = folder / f".public-{os.getppid()}-busy.db"  # another publish at work
    alive.write_bytes(b"being written")
    with open_archive(published["db"]) as archive:
        publish(archive)
    assert not dead.exists() and not old.exists()
    assert alive.exists()
