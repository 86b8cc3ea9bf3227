"""Shared fixtures: synthetic speech in every format, a fresh archive, the shared material.

Audio is synthesised once per test session with espeak-ng (a Slovenian and an English voice)
and converted with ffmpeg into every format the archive accepts. Tests that put a sidecar next
to a recording copy the audio into their own ``tmp_path`` first (a sidecar beside the shared
session files would leak into every other test). The plain helpers (CLI runner, database
reads, rows written directly) are in ``support.py``, which test modules import.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from support import (
    ENGLISH_TEXT,
    FORMATS,
    SHARED_SPEECH,
    SLOVENIAN_TEXT,
    insert_recording,
    insert_transcript,
    run_program,
    synthesize,
)

from livingmemory.archive.store import init_archive

# -- environment ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No archive or user from the developer's shell leaks into a test."""
    monkeypatch.delenv("LIVINGMEMORY_ARCHIVE", raising=False)
    monkeypatch.setenv("LIVINGMEMORY_USER", "test-volunteer")


# -- audio ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """format -> Path: the same Slovenian sentence in every format, plus ``en_wav``.

    Keys: wav, flac, mp3, m4a, ogg, opus, stereo_wav, stereo_flac, en_wav. These files are
    shared by the whole session: never modify them or put anything next to them.
    """
    missing = [tool for tool in ("espeak-ng", "ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} to synthesise test speech (apt-get install them)")
    folder = tmp_path_factory.mktemp("speech")
    source = folder / "espeak-sl.wav"
    synthesize("sl", SLOVENIAN_TEXT, source)
    files: dict[str, Path] = {}
    for key, (name, options) in FORMATS.items():
        target = folder / name
        ffmpeg = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source)]
        run_program([*ffmpeg, *options, str(target)])
        files[key] = target
    english = folder / "english.wav"
    synthesize("en", ENGLISH_TEXT, english)
    files["en_wav"] = english
    source.unlink()
    return files


# -- archive ----------------------------------------------------------------------------


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    """A freshly initialised archive; returns its folder (archive.db, recordings/, metadata.yml).

    The archive lives in its own sub-folder so that :func:`snapshot` sees exactly the archive
    and nothing a test puts in ``tmp_path``.
    """
    folder = tmp_path / "archive"
    init_archive(folder / "archive.db")
    return folder


@pytest.fixture
def archive_db(archive_dir: Path) -> Path:
    return archive_dir / "archive.db"


# -- shared material --------------------------------------------------------------------


@pytest.fixture
def shared_speech() -> Path:
    """``../shared/data/speech``, or a clean skip on a fresh clone where it is absent."""
    if not SHARED_SPEECH.is_dir():
        pytest.skip(f"shared material not found at {SHARED_SPEECH} (absent on a fresh clone)")
    return SHARED_SPEECH


# -- transcripts built directly (tagging and search) ------------------------------------


@pytest.fixture
def make_interview(archive_db: Path):  # type: ignore[no-untyped-def]
    """``make_interview(texts, language=..., narrators=..., title=..., starts=...)``: a
    recording with one current machine transcript whose segments say ``texts``; returns the
    recording id. The archive is closed again before the test goes on."""
    from livingmemory.archive.store import open_archive

    def make(
        texts: list[str],
        *,
        language: str | None = "sl",
        recording_language: str | None = None,
        narrators: tuple[str, ...] | list[str] = (),
        title: str = "Intervju",
        starts: list[float] | None = None,
        words: list[list[dict[str, Any]] | None] | None = None,
    ) -> int:
        with open_archive(archive_db) as archive:
            recording_id = insert_recording(
                archive, title=title, language=recording_language or language, narrators=narrators
            )
            insert_transcript(
                archive, recording_id, texts, language=language, starts=starts, words=words
            )
        return recording_id

    return make
