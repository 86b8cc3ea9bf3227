"""Helpers the test modules import (``from support import run_cli, db_rows``): plain functions
and constants, no fixtures. The fixtures (fresh archives, synthetic speech, the shared
material) live in ``conftest.py`` and reach a test as arguments, the pytest way.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click.testing
from typer.testing import CliRunner

from livingmemory.archive.sqlite import sqlite3
from livingmemory.cli import app

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_SPEECH = SHARED / "data" / "speech"

# Short sentences (about 4 s): every add decodes the whole file once, so length is test time.
SLOVENIAN_TEXT = "Rodila sem se leta tisoč devetsto dvaintrideset v Kranju."
ENGLISH_TEXT = "My father left Bohinj for America in nineteen twenty three."

# Key -> (file name, ffmpeg output options). All are made from the Slovenian WAV.
FORMATS: dict[str, tuple[str, list[str]]] = {
    "wav": ("speech.wav", []),
    "flac": ("speech.flac", ["-c:a", "flac"]),
    "mp3": ("speech.mp3", ["-c:a", "libmp3lame", "-q:a", "4"]),
    "m4a": ("speech.m4a", ["-c:a", "aac", "-b:a", "64k"]),
    "ogg": ("speech.ogg", ["-c:a", "libvorbis", "-q:a", "3"]),
    "opus": ("speech.opus", ["-c:a", "libopus", "-b:a", "32k"]),
    "stereo_wav": ("speech-stereo.wav", ["-ac", "2"]),
    "stereo_flac": ("speech-stereo.flac", ["-ac", "2", "-c:a", "flac"]),
}
MONO_FORMATS = ["wav", "flac", "mp3", "m4a", "ogg", "opus"]
ALL_FORMATS = list(FORMATS)


# -- audio ------------------------------------------------------------------------------


def run_program(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")


def synthesize(voice: str, text: str, target: Path) -> None:
    run_program(["espeak-ng", "-v", voice, "-w", str(target), text])


def tone_files(folder: Path, count: int, seconds: float) -> list[Path]:
    """``count`` different 8 kHz tones of ``seconds`` each: distinct audio (distinct SHA-256)
    without espeak-ng, for tests about files rather than speech."""
    import wave

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(count):
        path = folder / f"tape-{n}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(bytes((i * (n + 7)) % 251 for i in range(int(2 * 8000 * seconds))))
        files.append(path)
    return files


def copy_audio(source: Path, folder: Path, name: str | None = None) -> Path:
    """A private copy of a session audio file (so a test may put a sidecar next to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or source.name)
    shutil.copyfile(source, target)
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ffprobe(path: Path) -> dict[str, Any]:
    """Independent facts about ``path`` straight from ffprobe (not through the package)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    stream = next(s for s in data["streams"] if s["codec_type"] == "audio")
    return {
        "sample_rate": int(stream["sample_rate"]),
        "channels": int(stream["channels"]),
        "duration": float(stream.get("duration") or data["format"]["duration"]),
        "codec": stream["codec_name"],
    }


# -- archive ----------------------------------------------------------------------------


def snapshot(archive_dir: Path) -> dict[str, str]:
    """{relative path: sha256} of everything in the archive folder (folders too, as "<dir>").

    Call it only while no connection is open (the CLI closes its own, which checkpoints the
    WAL); -wal/-shm files are included when present, so a left-over WAL shows as a change.
    """
    state: dict[str, str] = {}
    for path in sorted(archive_dir.rglob("*")):
        key = path.relative_to(archive_dir).as_posix()
        state[key] = "<dir>" if path.is_dir() else sha256(path)
    return state


def db_rows(archive_db: Path, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    """Read the archive with a plain, short-lived read-only connection."""
    conn = sqlite3.connect(f"file:{archive_db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


# -- CLI --------------------------------------------------------------------------------


def _make_runner() -> CliRunner:
    # click < 8.2 mixes stderr into stdout unless told not to; 8.2+ always separates them.
    if "mix_stderr" in inspect.signature(click.testing.CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def lines(self) -> list[str]:
        """Every non-blank line printed, stdout first then stderr."""
        return [line for line in (self.stdout + self.stderr).splitlines() if line.strip()]

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self) -> str:  # shown by pytest when an assertion about it fails
        return (
            f"exit {self.exit_code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
            f"--- exception {self.exception!r}"
        )


def run_cli(*args: object) -> CliResult:
    """Run ``livingmemory ARGS`` in-process; stdout and stderr are kept apart."""
    result = _make_runner().invoke(app, [str(a) for a in args], prog_name="livingmemory")
    stderr = result.stderr if result.stderr_bytes is not None else ""
    exception = None if isinstance(result.exception, SystemExit) else result.exception
    return CliResult(result.exit_code, result.stdout, stderr, exception)


def add_json(archive_db: Path, *args: object) -> tuple[CliResult, list[dict[str, Any]]]:
    """``livingmemory add --json``; returns the result and its parsed JSON list."""
    result = run_cli("add", "--archive", archive_db, "--json", *args)
    return result, json.loads(result.stdout) if result.stdout.strip() else []


def show_json(archive_db: Path, recording_id: int) -> dict[str, Any]:
    result = run_cli("show", recording_id, "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    return json.loads(result.stdout)


def list_json(archive_db: Path) -> list[dict[str, Any]]:
    result = run_cli("list", "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    return json.loads(result.stdout)


# -- transcripts built directly (tagging and search) ------------------------------------
#
# Tagging and search need transcripts, not audio: these helpers write a recording row, its
# people, a finished transcript and segments with known text straight into the archive, so
# no test has to run Whisper. Segment ``k`` starts at ``k * SEGMENT_SECONDS`` unless the
# test gives its own start times.

SEGMENT_SECONDS = 5.0


def insert_recording(
    archive: Any,
    *,
    title: str = "Intervju",
    language: str | None = "sl",
    narrators: tuple[str, ...] | list[str] = (),
) -> int:
    """A recording row (no audio file behind it) and its narrators; returns its id."""
    from livingmemory.archive.store import utc_now

    number = archive.db["recordings"].count + 1
    digest = hashlib.sha256(f"{title}-{number}".encode()).hexdigest()
    recording_id = (
        archive.db["recordings"]
        .insert(
            {
                "title": title,
                "file_path": f"recordings/test-{number}-{digest[:8]}.wav",
                "original_filename": f"test-{number}.wav",
                "sha256": digest,
                "size_bytes": 1000,
                "format": "wav",
                "duration": 3600.0,
                "language": language,
                "added_at": utc_now(),
            }
        )
        .last_pk
    )
    for position, name in enumerate(narrators):
        person_id = archive.db["people"].insert({"name": name}).last_pk
        archive.db["recording_people"].insert(
            {
                "recording_id": recording_id,
                "person_id": person_id,
                "role": "narrator",
                "position": position,
            }
        )
    return recording_id


def insert_transcript(
    archive: Any,
    recording_id: int,
    texts: list[str],
    *,
    language: str | None = "sl",
    is_current: int = 1,
    source: str = "machine",
    starts: list[float] | None = None,
    words: list[list[dict[str, Any]] | None] | None = None,
) -> tuple[int, list[int]]:
    """A finished transcript with one segment per text; returns (transcript id, segment ids)."""
    from livingmemory.archive.store import utc_now

    if is_current and source == "machine":
        archive.db.execute(
            "UPDATE transcripts SET is_current = 0 WHERE recording_id = ? AND source = 'machine'",
            [recording_id],
        )
    transcript_id = (
        archive.db["transcripts"]
        .insert(
            {
                "recording_id": recording_id,
                "source": source,
                "engine": "test",
                "language": language,
                "started_at": utc_now(),
                "finished_at": utc_now(),
                "is_current": is_current,
            }
        )
        .last_pk
    )
    segment_ids = []
    for position, text in enumerate(texts):
        start = starts[position] if starts else position * SEGMENT_SECONDS
        segment_words = words[position] if words else None
        segment_ids.append(
            archive.db["segments"]
            .insert(
                {
                    "transcript_id": transcript_id,
                    "recording_id": recording_id,
                    "position": position,
                    "start": start,
                    "end": start + SEGMENT_SECONDS,
                    "text": text,
                    "words": json.dumps(segment_words) if segment_words else None,
                }
            )
            .last_pk
        )
    archive.db.conn.commit()
    return transcript_id, segment_ids


def entity_rows(archive_db: Path, where: str = "1", params: tuple = ()) -> list[dict[str, Any]]:
    """Rows of ``entities`` (joined with their segment's text), in a stable order."""
    return db_rows(
        archive_db,
        "SELECT e.*, s.text AS segment_text FROM entities e "
        f"LEFT JOIN segments s ON s.id = e.segment_id WHERE {where} "
        "ORDER BY e.segment_id, e.start_char, e.label, e.id",
        params,
    )
