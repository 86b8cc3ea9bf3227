"""kill -9 at random moments of add, publish, review --apply and tag; after every kill the
archive passes SQLite's integrity check, every registered recording has its file, the public
database is a whole one and no audio outside it is downloadable; re-running each command
completes without duplicates.

Transcription is left out here (it needs a Whisper model and minutes of CPU); its resume and
claims are tested in test_transcribe.py and test_concurrency.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, db_rows, insert_transcript, run_cli, tone_files

from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import init_archive, open_archive, utc_now

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _kill_during(args: list[str], delay: float) -> bool:
    """Start ``livingmemory ARGS``, SIGKILL it after ``delay`` s; True if it was still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "livingmemory", *args],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(delay)
    running = process.poll() is None
    if running:
        process.send_signal(signal.SIGKILL)
    process.wait()
    return running


def _kill_phase(args: list[str], hits: int, rng: random.Random, high: float, check) -> int:  # type: ignore[no-untyped-def]
    """Kill ``livingmemory ARGS`` until ``hits`` kills found it running (at most 3x as many
    tries); a try that came too late shortens the next delays. Runs ``check`` after each."""
    done = 0
    for _ in range(3 * hits):
        if _kill_during(args, rng.uniform(0.2, high)):
            done += 1
        else:
            high = max(0.4, high * 0.7)
        check()
        if done == hits:
            break
    return done


def _check_archive(archive_db: Path) -> None:
    conn = sqlite3.connect(archive_db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for (path,) in conn.execute("SELECT file_path FROM recordings"):
            assert (archive_db.parent / path).is_file(), f"a row without its file: {path}"
    finally:
        conn.close()


def _check_public(archive_db: Path) -> None:
    public = archive_db.parent / PUBLIC_DIR
    database = public / PUBLIC_DB
    if not database.exists():
        return
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        listed = {
            url.rsplit("/", 1)[1] for (url,) in conn.execute("SELECT audio_url FROM recordings")
        }
    finally:
        conn.close()
    served = {p.name for p in (public / AUDIO_DIR).iterdir() if not p.name.startswith(".")}
    assert served <= listed, f"audio outside the public database: {served - listed}"


def test_kill_9_anywhere_leaves_a_sound_archive(tmp_path: Path) -> None:
    rng = random.Random(1954)
    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    files = tone_files(tmp_path / "in", 5, 12)
    kills = 0

    # add
    add = ["add", "--archive", str(archive_db), "--access", "public", *map(str, files)]
    kills += _kill_phase(add, 10, rng, 3.0, lambda: _check_archive(archive_db))
    assert run_cli(*add).exit_code == 0
    assert len(db_rows(archive_db, "SELECT id FROM recordings")) == 5
    assert not list((archive_db.parent / "recordings").glob(".*.partial"))  # leftovers cleared
    assert run_cli("verify", "--archive", archive_db).exit_code == 0

    # transcripts (written directly: no model), a redaction, one recording withdrawn
    with open_archive(archive_db) as archive:
        for recording_id in range(1, 6):
            insert_transcript(archive, recording_id, ["Rodila sem se v Kranju.", "Oče je delal."])
        archive.db["redactions"].insert(
            {"recording_id": 1, "start": 0.1, "end": 0.4, "added_at": utc_now()}
        )
        archive.db.conn.commit()

    # publish, with the public set changing between attempts
    publish = ["publish", "--archive", str(archive_db)]
    attempt = 0

    def withdraw_and_check() -> None:
        nonlocal attempt
        attempt += 1
        _check_archive(archive_db)
        _check_public(archive_db)
        with open_archive(archive_db) as archive:  # the public set changes between attempts
            access = "restricted" if attempt % 2 else "public"
            archive.db.execute("UPDATE recordings SET access = ? WHERE id = 2", [access])
            archive.db.conn.commit()

    kills += _kill_phase(publish, 10, rng, 3.5, withdraw_and_check)
    assert run_cli(*publish).exit_code == 0
    _check_public(archive_db)
    public = archive_db.parent / PUBLIC_DIR
    assert not list(public.glob(".public-*.db"))

    # review --apply
    review_file = tmp_path / "r.vtt"
    assert run_cli("review", 3, "--output", review_file, "--archive", archive_db).exit_code == 0
    review_file.write_text(
        review_file.read_text(encoding="utf-8").replace("Kranju", "Kranju na Gorenjskem"),
        encoding="utf-8",
    )
    apply = ["review", "3", "--apply", str(review_file), "--archive", str(archive_db)]
    kills += _kill_phase(apply, 6, rng, 2.5, lambda: _check_archive(archive_db))
    assert run_cli(*apply).exit_code == 0
    humans = db_rows(archive_db, "SELECT id FROM transcripts WHERE source = 'human'")
    assert len(humans) == 1

    # tag
    pytest.importorskip("spacy")
    tag = ["tag", "--archive", str(archive_db)]
    kills += _kill_phase(tag, 4, rng, 8.0, lambda: _check_archive(archive_db))
    assert run_cli(*tag).exit_code == 0
    duplicates = db_rows(
        archive_db,
        "SELECT segment_id, label, start_char, count(*) AS n FROM entities "
        "GROUP BY segment_id, label, start_char HAVING n > 1",
    )
    assert duplicates == []
    assert kills >= 30, f"only {kills} kills hit a running process"
