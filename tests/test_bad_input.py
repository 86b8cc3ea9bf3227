"""Bad input never reaches the archive: one clear error line, non-zero exit, nothing changed."""

from __future__ import annotations

import datetime as dt
import errno
import os
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import (
    MONO_FORMATS,
    add_json,
    copy_audio,
    db_rows,
    list_json,
    run_cli,
    sha256,
    show_json,
    snapshot,
)

import livingmemory.ingest.add
from livingmemory.archive.sqlite import sqlite3
from livingmemory.ingest.add import stable_name

# A case builds its input in a folder and returns (add arguments, the file the error must
# name, a word or phrase the error must contain).
Case = Callable[[Path, dict[str, Path]], tuple[list[object], Path, str]]


def _png_bytes() -> bytes:
    """A real 2x2 grey PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _text_as_mp3(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    path = _write(folder, "intervju.mp3", "To ni zvočni posnetek, samo besedilo.\n" * 30)
    return [path], path, "cannot be read as audio"


def _png(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    path = _write(folder, "fotografija.png", _png_bytes())
    return [path], path, "not an audio file"


def _random_bytes(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    path = _write(folder, "noise.wav", random.Random(1954).randbytes(8192))
    return [path], path, "cannot be read as audio"


def _zero_length(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    path = _write(folder, "prazno.flac", b"")
    return [path], path, "empty file"


def _missing(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    path = folder / "ni-ga.wav"
    return [path], path, "no such file"


def _directory(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    path = folder / "mapa.wav"
    path.mkdir(parents=True)
    return [path], path, "no audio files"  # add FOLDER adds what is inside; here nothing


def _option(*options: str, problem: str) -> Case:
    def case(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
        path = copy_audio(audio["wav"], folder, "posnetek.wav")
        return [path, *options], path, problem

    return case


def _future(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    path = copy_audio(audio["wav"], folder, "posnetek.wav")
    return [path, "--date", future], path, "future"


def _sidecar(text: str, problem: str) -> Case:
    def case(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
        path = copy_audio(audio["wav"], folder, "posnetek.wav")
        sidecar = _write(folder, "posnetek.yml", text)
        return [path], sidecar, problem

    return case


def _csv(text: str, problem: str, encoding: str = "utf-8") -> Case:
    def case(folder: Path, audio: dict[str, Path]) -> tuple[list[object], Path, str]:
        copy_audio(audio["wav"], folder, "posnetek.wav")
        sheet = folder / "sheet.csv"
        sheet.write_text(text, encoding=encoding)
        return ["--from-csv", sheet], sheet, problem

    return case


CASES: dict[str, Case] = {
    "text-renamed-mp3": _text_as_mp3,
    "png": _png,
    "random-bytes": _random_bytes,
    "zero-length": _zero_length,
    "missing-file": _missing,
    "directory": _directory,
    "unknown-language": _option("--language", "xx", problem="unknown language"),
    "impossible-date": _option("--date", "2023-13-45", problem="2023-13-45"),
    "word-date": _option("--date", "yesterday", problem="'yesterday' is not a date"),
    "future-date": _future,
    "embargoed-without-date": _option("--access", "embargoed", problem="embargo date"),
    "unknown-access": _option("--access", "secret", problem="unknown access level"),
    "embargo-date-but-public": _option(
        "--access", "public", "--embargo-until", "2040-01-01", problem="embargo"
    ),
    "embargo-date-without-day": _option("--embargo-until", "2040-05", problem="full date"),
    "sidecar-typo": _sidecar("narator: Marija Košir\n", "did you mean 'narrator'"),
    "sidecar-person-typo": _sidecar(
        "narrator:\n  name: Marija Košir\n  birthyear: 1932\n", "did you mean 'birth_year'"
    ),
    "sidecar-bad-birth-year": _sidecar(
        "narrator:\n  name: Marija Košir\n  birth_year: 19x2\n", "birth year"
    ),
    "sidecar-invalid-yaml": _sidecar("title: [Od železarne\nplace: Kranj\n", "not valid YAML"),
    "sidecar-not-mapping": _sidecar("- Marija\n- Ana\n", "mapping"),
    "csv-typo-header": _csv("file,titel,date\nposnetek.wav,Ena,1987\n", "did you mean 'title'"),
    "csv-without-file-column": _csv("title,date\nEna,1987\n", "'file' column"),
    "csv-not-utf8": _csv("file,title\nposnetek.wav,Čebelar\n", "UTF-8", encoding="cp1250"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_refused_cleanly(
    case: str, tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files
) -> None:
    args, named, problem = CASES[case](tmp_path / "input", audio_files)
    before = snapshot(archive_dir)

    result = run_cli("add", "--archive", archive_db, *args)

    assert result.exit_code != 0, str(result)
    assert result.exception is None, str(result)  # a message, not a traceback
    assert len(result.lines) == 1, str(result)
    [line] = result.error_lines
    assert line.startswith("Error:")
    assert str(named) in line
    assert problem.lower() in line.lower(), line
    assert snapshot(archive_dir) == before


@pytest.mark.parametrize("fmt", MONO_FORMATS)
def test_truncated_file_is_refused(
    fmt: str, tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files
) -> None:
    whole = audio_files[fmt].read_bytes()
    cut = _write(
        tmp_path / "input", f"cut-in-half.{audio_files[fmt].suffix[1:]}", whole[: len(whole) // 2]
    )
    before = snapshot(archive_dir)

    result = run_cli("add", "--archive", archive_db, cut)

    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.lines) == 1, str(result)
    [line] = result.error_lines
    assert str(cut) in line
    assert any(word in line for word in ("truncated", "damaged", "cannot be read")), line
    assert snapshot(archive_dir) == before


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [("wav", "truncated WAV"), ("stereo_wav", "truncated WAV"), ("ogg", "truncated Ogg"),
     ("opus", "truncated Ogg")],
)  # fmt: skip
def test_slightly_truncated_file_is_refused(
    fmt: str, problem: str, tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files
) -> None:
    """A cut of a fraction of a second decodes cleanly; the container's bookkeeping catches it."""
    whole = audio_files[fmt].read_bytes()
    keep = len(whole) - 4410 * 4  # 0.1 s of stereo / 0.2 s of mono 16-bit 22.05 kHz; whole frames
    cut = _write(tmp_path / "input", f"almost-whole{audio_files[fmt].suffix}", whole[:keep])
    before = snapshot(archive_dir)
    result = run_cli("add", "--archive", archive_db, cut)
    assert result.exit_code == 1, str(result)
    assert len(result.lines) == 1, str(result)
    assert str(cut) in result.error_lines[0]
    assert problem in result.error_lines[0]
    assert snapshot(archive_dir) == before


def test_batch_of_good_and_bad_files(tmp_path: Path, archive_db: Path, audio_files) -> None:
    text = _write(tmp_path / "input", "besedilo.mp3", "samo besedilo\n" * 50)
    empty = _write(tmp_path / "input", "prazno.wav", b"")
    result = run_cli(
        "add", "--archive", archive_db, audio_files["wav"], text, audio_files["ogg"], empty
    )
    assert result.exit_code == 1, str(result)
    assert result.exception is None
    errors = result.error_lines
    assert len(errors) == 2, str(result)
    assert str(text) in errors[0] and str(empty) in errors[1]
    assert "2 added, 0 already there, 2 failed" in result.stdout
    rows = list_json(archive_db)
    assert sorted(row["title"] for row in rows) == sorted(
        [audio_files["wav"].stem, audio_files["ogg"].stem]
    )


def test_a_folder_that_cannot_be_read_is_named_and_nothing_is_added(
    tmp_path: Path, archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``add tapes/`` with a sub-folder it may not read (root runs the tests, so the
    permission error is made where the folder is listed): one line naming that folder,
    exit 1, and not even the readable recordings are added (the volunteer would not know
    which were left out)."""
    tapes = tmp_path / "tapes"
    copy_audio(audio_files["wav"], tapes, "prvi.wav")
    copy_audio(audio_files["flac"], tapes / "zaklenjeno", "drugi.flac")
    copy_audio(audio_files["mp3"], tapes / ".skrito", "skrit.mp3")
    listed = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(os.fsdecode(path)).name == "zaklenjeno":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return listed(path)

    before = snapshot(archive_db.parent)
    monkeypatch.setattr(os, "scandir", scandir)
    result = run_cli("add", "--archive", archive_db, tapes)
    assert result.exit_code == 1 and result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert str(tapes / "zaklenjeno") in result.error_lines[0]
    assert "nothing was added" in result.error_lines[0]
    assert snapshot(archive_db.parent) == before
    # Readable again, the folder is added whole, the hidden one left out.
    monkeypatch.setattr(os, "scandir", listed)
    result = run_cli("add", "--archive", archive_db, tapes)
    assert result.exit_code == 0, str(result)
    assert sorted(row["title"] for row in list_json(archive_db)) == ["drugi", "prvi"]


def test_batch_json_reports_each_file(tmp_path: Path, archive_db: Path, audio_files) -> None:
    missing = tmp_path / "ni-ga.flac"
    result, entries = add_json(archive_db, missing, audio_files["flac"])
    assert result.exit_code == 1
    assert [(e["file"], e["status"]) for e in entries] == [
        (str(missing), "failed"),
        (str(audio_files["flac"]), "added"),
    ]
    assert "no such file" in entries[0]["message"]


@pytest.mark.filterwarnings("ignore:Couldn't find:RuntimeWarning")  # pydub's own complaint
def test_missing_ffmpeg(
    tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files, monkeypatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    before = snapshot(archive_dir)
    monkeypatch.setenv("PATH", str(empty))
    result = run_cli("add", "--archive", archive_db, audio_files["wav"])
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.lines) == 1, str(result)
    assert "ffmpeg" in result.error_lines[0]
    assert "install" in result.error_lines[0]
    assert snapshot(archive_dir) == before


def test_missing_ffmpeg_real_stderr_is_one_line(
    tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files
) -> None:
    """Run the real program (not in-process): what a volunteer sees on stderr is one line."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    before = snapshot(archive_dir)
    env = {**os.environ, "PATH": str(empty)}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "livingmemory", "add", "--archive", str(archive_db),
         str(audio_files["wav"])],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "ffmpeg" in lines[-1]
    assert len(lines) == 1, f"stderr should be one line, got:\n{done.stderr}"
    assert snapshot(archive_dir) == before


# -- the disk fills up -----------------------------------------------------------------------


def _no_leftovers(archive_dir: Path) -> None:
    assert not [p for p in archive_dir.rglob("*") if p.name.endswith(".partial")]


def test_disk_full_while_copying(
    archive_dir: Path, archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []

    def copy_until_full(source: Path, target: Path, sha: str) -> None:
        data = source.read_bytes()
        target.write_bytes(data[: len(data) // 3])  # some of it made it to disk
        written.append(target)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(livingmemory.ingest.add, "_copy_verified", copy_until_full)
    before = snapshot(archive_dir)
    result = run_cli("add", "--archive", archive_db, audio_files["flac"])

    assert written, "the copy was never attempted"
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.lines) == 1, str(result)
    line = result.error_lines[0]
    assert "disk full" in line and str(audio_files["flac"]) in line
    _no_leftovers(archive_dir)
    assert snapshot(archive_dir) == before


def test_disk_full_on_fsync(
    archive_dir: Path, archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(livingmemory.ingest.add.os, "fsync", fsync)
    before = snapshot(archive_dir)
    result = run_cli("add", "--archive", archive_db, audio_files["mp3"])
    monkeypatch.undo()

    assert calls, "fsync was never called: the copy is not flushed to disk"
    assert result.exit_code == 1, str(result)
    assert len(result.lines) == 1, str(result)
    assert "disk full" in result.error_lines[0]
    _no_leftovers(archive_dir)
    assert snapshot(archive_dir) == before
    # Once there is space again the same file goes in.
    assert run_cli("add", "--archive", archive_db, audio_files["mp3"]).exit_code == 0
    assert len(list_json(archive_db)) == 1


def test_database_full_is_a_clear_error(
    archive_dir: Path, archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reports a full disk as sqlite3.OperationalError, not OSError."""

    def insert(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(livingmemory.ingest.add, "_insert", insert)
    before = snapshot(archive_dir)
    result = run_cli("add", "--archive", archive_db, audio_files["ogg"])

    assert result.exit_code == 1, str(result)
    assert result.exception is None, f"a traceback instead of a message: {result.exception!r}"
    assert len(result.lines) == 1, str(result)
    assert "full" in result.error_lines[0]
    _no_leftovers(archive_dir)
    assert snapshot(archive_dir) == before


def test_file_changing_during_copy_is_refused(
    archive_dir: Path, archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy is checked against the hash taken before copying."""
    real = livingmemory.ingest.add.sha256_file
    source = audio_files["wav"]
    monkeypatch.setattr(
        livingmemory.ingest.add,
        "sha256_file",
        lambda path: "f" * 64 if Path(path) == source else real(path),
    )
    before = snapshot(archive_dir)
    result = run_cli("add", "--archive", archive_db, source)
    assert result.exit_code == 1, str(result)
    assert len(result.lines) == 1, str(result)
    assert "differs from the original" in result.error_lines[0]
    _no_leftovers(archive_dir)
    assert snapshot(archive_dir) == before


# -- left-overs of an interrupted add -----------------------------------------------------------


def test_intact_leftover_copy_is_reused(archive_dir: Path, archive_db: Path, audio_files) -> None:
    source = audio_files["flac"]
    leftover = archive_dir / "recordings" / stable_name(source, sha256(source))
    leftover.write_bytes(source.read_bytes())
    result, [entry] = add_json(archive_db, source)
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entry["recording_id"])
    assert archive_dir / record["file_path"] == leftover
    assert leftover.read_bytes() == source.read_bytes()


def test_damaged_leftover_copy_is_replaced(
    archive_dir: Path, archive_db: Path, audio_files
) -> None:
    source = audio_files["opus"]
    leftover = archive_dir / "recordings" / stable_name(source, sha256(source))
    leftover.write_bytes(source.read_bytes()[:1000])
    result, [entry] = add_json(archive_db, source)
    assert result.exit_code == 0, str(result)
    assert leftover.read_bytes() == source.read_bytes()
    assert db_rows(archive_db, "SELECT sha256 FROM recordings") == [{"sha256": sha256(source)}]
    assert entry["status"] == "added"
