"""Two processes on one archive: concurrent ``add`` of the same files loses nothing, and two
``transcribe`` runs never transcribe the same recording twice (claims)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, db_rows, run_cli, tone_files

import livingmemory.ingest.add as ingest
import livingmemory.transcription.pipeline as transcribe_module
from livingmemory.archive.concurrency import claim, claim_for_transcription, owner_id, release
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.transcription.pipeline import (
    RecordingOutcome,
    TranscribeSettings,
    transcribe_recordings,
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_two_processes_adding_the_same_files_lose_none(tmp_path: Path) -> None:
    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    files = tone_files(tmp_path / "in", 6, 0.5)
    command = [sys.executable, "-m", "livingmemory", "add", "--archive", str(archive_db),
               "--json", *map(str, files)]  # fmt: skip
    processes = [
        subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    statuses = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
        statuses += [row["status"] for row in json.loads(out)]
    assert sorted(statuses) == ["added"] * 6 + ["duplicate"] * 6
    rows = db_rows(archive_db, "SELECT file_path FROM recordings")
    assert len(rows) == 6
    for row in rows:
        assert (archive_db.parent / row["file_path"]).is_file()
    assert not list((archive_db.parent / "recordings").glob(".*partial"))
    assert run_cli("verify", "--archive", archive_db).exit_code == 0


def test_an_add_that_loses_the_race_reports_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Process B registers the file while process A is still copying it."""
    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    [audio] = tone_files(tmp_path / "in", 1, 0.5)
    real_copy = ingest._copy_verified
    partials: list[Path] = []

    def copy_while_another_process_adds(source: Path, target: Path, sha256: str) -> None:
        partials.append(target)
        if len(partials) == 1:  # A is copying: B (another connection) adds the same file
            with open_archive(archive_db) as other:
                result = ingest.add_recording(other, audio)
            assert result.status == "added"
        real_copy(source, target, sha256)

    monkeypatch.setattr(ingest, "_copy_verified", copy_while_another_process_adds)
    with open_archive(archive_db) as archive:
        result = ingest.add_recording(archive, audio)
    assert result.status == "duplicate", result.message
    assert len(set(partials)) == len(partials)  # A and B never shared a partial copy
    [row] = db_rows(archive_db, "SELECT file_path FROM recordings")
    assert (archive_db.parent / row["file_path"]).is_file()
    assert not list((archive_db.parent / "recordings").glob(".*partial"))


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, int]:
    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    files = tone_files(tmp_path / "in", 1, 0.5)
    result = run_cli("add", "--archive", archive_db, *files)
    assert result.exit_code == 0, str(result)
    return archive_db, 1


def _other_live_owner() -> str:
    return f"{socket.gethostname()}:{os.getppid()}"  # our parent: alive, and not us


def _claim_as(archive_db: Path, recording_id: int, owner: str, expires: str) -> None:
    with open_archive(archive_db) as archive:
        archive.db.execute(
            "INSERT OR REPLACE INTO claims VALUES (?, 'transcribe', ?, '2026-01-01', ?)",
            [recording_id, owner, expires],
        )
        archive.db.conn.commit()


def test_a_claim_held_by_a_live_process_is_respected(recording: tuple[Path, int]) -> None:
    archive_db, recording_id = recording
    _claim_as(archive_db, recording_id, _other_live_owner(), "2999-01-01")
    with open_archive(archive_db) as archive:
        row = archive.recording(recording_id)
        assert not claim_for_transcription(archive, row)
        assert not claim_for_transcription(archive, row, force=True)


def test_a_dead_or_expired_claim_is_taken_over(recording: tuple[Path, int]) -> None:
    archive_db, recording_id = recording
    with open_archive(archive_db) as archive:
        row = archive.recording(recording_id)
        _claim_as(archive_db, recording_id, f"{socket.gethostname()}:999999999", "2999-01-01")
        assert claim_for_transcription(archive, row)  # its process is gone (kill -9)
        _claim_as(archive_db, recording_id, _other_live_owner(), "2000-01-01")
        assert claim_for_transcription(archive, row)  # its lease ran out
        [held] = db_rows(archive_db, "SELECT owner FROM claims")
        assert held["owner"] == owner_id()
        release(archive, recording_id, "transcribe")
    assert db_rows(archive_db, "SELECT * FROM claims") == []


def test_a_recording_transcribed_meanwhile_is_not_claimed(recording: tuple[Path, int]) -> None:
    archive_db, recording_id = recording
    with open_archive(archive_db) as archive:
        archive.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "other-run",
             "started_at": "2026-01-01", "finished_at": "2026-01-01", "is_current": 1}
        )  # fmt: skip
        archive.db.conn.commit()
        row = archive.recording(recording_id)
        assert not claim_for_transcription(archive, row)
        assert claim_for_transcription(archive, row, force=True)
        assert claim(archive, recording_id, "other-task")


def test_transcribe_skips_what_another_run_holds(
    recording: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive_db, recording_id = recording
    done: list[int] = []

    class FakeEngine:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

    def fake_one(archive, row, *args):  # type: ignore[no-untyped-def]
        done.append(row["id"])
        return RecordingOutcome(row["id"], "transcribed")

    monkeypatch.setattr(transcribe_module, "get_engine", lambda name: FakeEngine)
    monkeypatch.setattr(transcribe_module.models, "resolve", lambda name: Path("model"))
    monkeypatch.setattr(transcribe_module.models, "model_sha256", lambda model: "0" * 64)
    monkeypatch.setattr(transcribe_module, "_transcribe_one", fake_one)
    _claim_as(archive_db, recording_id, _other_live_owner(), "2999-01-01")
    with open_archive(archive_db) as archive:
        batch = transcribe_recordings(archive, settings=TranscribeSettings())
    assert done == []
    assert [o.status for o in batch.outcomes] == ["skipped"]
    _claim_as(archive_db, recording_id, f"{socket.gethostname()}:999999999", "2999-01-01")
    with open_archive(archive_db) as archive:
        batch = transcribe_recordings(archive, settings=TranscribeSettings())
    assert done == [recording_id]
    assert db_rows(archive_db, "SELECT * FROM claims") == []  # released when done


def test_partial_copies_of_killed_adds_are_cleared(tmp_path: Path) -> None:
    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    [audio] = tone_files(tmp_path / "in", 1, 0.5)
    folder = archive_db.parent / "recordings"
    digest = ingest.sha256_file(audio)
    final = folder / ingest.stable_name(audio, digest)
    dead = folder / f".{final.name}.999999999-dead.partial"
    alive = folder / f".{final.name}.{os.getppid()}-busy.partial"  # another add at work
    old = folder / f".{final.name}.partial"
    for path in (dead, alive, old):
        path.write_bytes(b"half a copy")
    result = run_cli("add", "--archive", archive_db, audio)
    assert result.exit_code == 0, str(result)
    assert not dead.exists() and not old.exists()
    assert alive.exists()
