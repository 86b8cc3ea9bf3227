"""``transcribe --cluster``: Dask workers decode, this process alone writes the archive.

Every archive here is filled with short English sentences synthesised by espeak-ng (distinct
per recording, so a result committed to the wrong recording would show) and transcribed with
the tiny.en model. The serial pipeline
(:func:`livingmemory.transcription.pipeline.transcribe_recordings`)
is the reference: the decode/commit split and the cluster must give the same rows, apart from
timing columns.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from support import add_json, db_rows, run_cli, snapshot

from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.transcription.pipeline import (
    RecordingOutcome,
    TranscribeSettings,
    transcribe_recordings,
)

SENTENCES = [
    "My father worked in the iron works at Jesenice for forty years.",
    "We walked to school through the snow every winter morning.",
    "After the war the whole family moved to a flat in Kranj.",
    "On Sundays we took the train to the lake at Bled.",
    "My aunt sewed dresses for every wedding in the village.",
    "The shepherds made cheese on the mountain pasture in summer.",
]
# Columns that say when and how long, not what: they differ between any two runs.
TIMING = {"id", "transcript_id", "started_at", "finished_at", "wall_seconds"}
SETTINGS = TranscribeSettings(model="tiny.en", threads=1)


@pytest.fixture(scope="module")
def sentences_audio(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("needs espeak-ng and ffmpeg to synthesise test speech")
    folder = tmp_path_factory.mktemp("sentences")
    paths = []
    for number, text in enumerate(SENTENCES):
        path = folder / f"sentence-{number}.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(path), text], check=True)
        paths.append(path)
    return paths


def make_archive(folder: Path, audio: list[Path]) -> Path:
    database = folder / "archive.db"
    init_archive(database)
    result, added = add_json(database, *audio, "--language", "en", "--access", "public")
    assert result.exit_code == 0, str(result)
    assert len(added) == len(audio)
    return database


def transcript_rows(database: Path) -> dict[int, dict[str, Any]]:
    """recording id -> its machine transcripts and their segments, timing columns left out."""
    found: dict[int, dict[str, Any]] = {}
    for run in db_rows(database, "SELECT * FROM transcripts WHERE source = 'machine' ORDER BY id"):
        segments = db_rows(
            database,
            "SELECT * FROM segments WHERE transcript_id = ? ORDER BY position",
            (run["id"],),
        )
        entry = found.setdefault(run["recording_id"], {"runs": []})
        entry["runs"].append(
            {
                "run": {k: v for k, v in run.items() if k not in TIMING},
                "segments": [{k: v for k, v in s.items() if k not in TIMING} for s in segments],
            }
        )
    return found


def assert_same_rows(got: dict[int, Any], expected: dict[int, Any]) -> None:
    """Equal, with a readable difference: the first column that differs, by recording."""
    assert sorted(got) == sorted(expected)
    for recording_id, entry in expected.items():
        for mine, theirs in zip(got[recording_id]["runs"], entry["runs"], strict=True):
            for key in theirs["run"]:
                assert mine["run"][key] == theirs["run"][key], (recording_id, key)
            for a, b in zip(mine["segments"], theirs["segments"], strict=True):
                assert a == b, (recording_id, a, b)
    assert got == expected


# -- fast: no cluster ---------------------------------------------------------------------------


def test_unknown_cluster_address_is_one_line_and_changes_nothing(
    archive_db: Path, archive_dir: Path, audio_files: dict[str, Path]
) -> None:
    pytest.importorskip("distributed")
    result, _ = add_json(archive_db, audio_files["en_wav"], "--language", "en")
    assert result.exit_code == 0, str(result)
    before = snapshot(archive_dir)
    result = run_cli(
        "transcribe", "--archive", archive_db, "--model", "tiny.en", "--cluster", "nowhere"
    )
    assert result.exit_code == 1, str(result)
    assert result.exception is None
    assert len(result.error_lines) == 1
    assert "'local' or a scheduler address" in result.error_lines[0]
    assert snapshot(archive_dir) == before


def test_cluster_plan_uses_every_core_once() -> None:
    from livingmemory.transcription.distributed import ClusterPlan

    plan = ClusterPlan.for_machine()
    cpus = os.cpu_count() or 1
    assert 1 <= plan.workers <= cpus
    assert plan.workers * plan.threads <= max(cpus, plan.threads)
    assert ClusterPlan.for_machine(workers=3) == ClusterPlan(3, max(1, cpus // 3))
    assert ClusterPlan.for_machine(workers=2, threads=4) == ClusterPlan(2, 4)


# -- slow: a real LocalCluster ------------------------------------------------------------------


@pytest.mark.slow
def test_local_cluster_gives_the_serial_results(
    tmp_path: Path, sentences_audio: list[Path]
) -> None:
    pytest.importorskip("distributed")
    audio = sentences_audio[:4]
    serial = make_archive(tmp_path / "serial", audio)
    clustered = make_archive(tmp_path / "cluster", audio)
    with open_archive(serial) as archive:
        transcribe_recordings(archive, None, SETTINGS)
    result = run_cli(
        "transcribe", "--archive", clustered, "--model", "tiny.en", "--cluster", "local",
        "--workers", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    rows = transcript_rows(clustered)
    assert_same_rows(rows, transcript_rows(serial))
    assert sorted(rows) == [1, 2, 3, 4]
    assert all(len(entry["runs"]) == 1 for entry in rows.values())
    # Running again finds nothing pending: resumable, nothing done twice.
    again = run_cli(
        "transcribe", "--archive", clustered, "--model", "tiny.en", "--cluster", "local",
        "--workers", "2",
    )  # fmt: skip
    assert again.exit_code == 0, str(again)
    assert "Nothing to transcribe" in again.stdout
    assert transcript_rows(clustered) == rows


class _KillOneWorker:
    """Progress that kills a busy worker process (SIGKILL) as soon as the first result lands."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.killed: list[str] = []
        self.outcomes: list[RecordingOutcome] = []

    def begin(self, total_seconds: float, recordings: int) -> None: ...
    def recording(self, row: dict[str, Any]) -> None: ...
    def advance(self, seconds: float) -> None: ...

    def finished(self, outcome: RecordingOutcome) -> None:
        self.outcomes.append(outcome)
        if self.killed:
            return
        pids = self.client.run(os.getpid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until a worker is mid-recording
            busy = [address for address, keys in self.client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                self.killed.append(busy[0])
                return
            time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_worker_still_finishes_every_recording_exactly_once(
    tmp_path: Path, sentences_audio: list[Path]
) -> None:
    pytest.importorskip("distributed")
    from livingmemory.transcription.distributed import (
        ClusterPlan,
        start_local_cluster,
        transcribe_on_cluster,
    )

    database = make_archive(tmp_path / "archive", sentences_audio)
    connection = start_local_cluster(ClusterPlan(workers=2, threads=1))
    progress = _KillOneWorker(connection.client)
    try:
        with open_archive(database) as archive:
            batch = transcribe_on_cluster(
                archive, None, SETTINGS, progress, cluster=connection, window=4
            )
    finally:
        connection.close()
    assert progress.killed, "no worker was busy to kill"
    assert [o.status for o in batch.outcomes] == ["transcribed"] * len(SENTENCES)
    counts = db_rows(
        database,
        "SELECT r.id, (SELECT count(*) FROM transcripts t WHERE t.recording_id = r.id "
        "AND t.source = 'machine') AS runs FROM recordings r ORDER BY r.id",
    )
    assert [c["runs"] for c in counts] == [1] * len(SENTENCES)
    # Each recording got its own words (no result committed to the wrong recording).
    texts = {
        row["recording_id"]: row["text"].casefold()
        for row in db_rows(
            database,
            "SELECT recording_id, group_concat(text, ' ') AS text FROM segments "
            "GROUP BY recording_id",
        )
    }
    assert "jesenice" in texts[1] or "iron" in texts[1]
    assert "snow" in texts[2]
    assert "cheese" in texts[6] or "mountain" in texts[6]
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_batched_and_sequential_are_recorded_with_each_run(
    archive_db: Path, audio_files: dict[str, Path]
) -> None:
    result, _ = add_json(archive_db, audio_files["en_wav"], "--language", "en")
    assert result.exit_code == 0, str(result)
    for flag in ("--batched", "--sequential"):
        result = run_cli(
            "transcribe", "--archive", archive_db, "--model", "tiny.en", flag, "--force", "1"
        )
        assert result.exit_code == 0, str(result)
    runs = db_rows(archive_db, "SELECT options, is_current FROM transcripts ORDER BY id")
    options = [json.loads(run["options"]) for run in runs]
    assert [o["batched"] for o in options] == [True, False]
    assert options[0]["batch_chunk_seconds"] == 20
    assert [run["is_current"] for run in runs] == [0, 1]
    segments = db_rows(archive_db, "SELECT transcript_id, text FROM segments ORDER BY id")
    assert {s["transcript_id"] for s in segments} == {1, 2}  # both runs produced text
    assert (
        "bohinj" in " ".join(s["text"] for s in segments).casefold()
        or "america" in " ".join(s["text"] for s in segments).casefold()
    )
