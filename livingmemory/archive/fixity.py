"""Fixity: are the stored recordings still the bytes that were added, and is the file sound?

``add`` records every recording's SHA-256 and makes the copy read-only, but disks fail,
backups get restored wrongly and people "tidy up" folders. :func:`verify` re-reads every
recording and compares its SHA-256, and runs SQLite's ``integrity_check`` and
``foreign_key_check`` on the archive; each problem is one line. ``publish`` calls
:func:`check_source` before it makes a public copy, so a changed or missing recording is
refused rather than published (or crashing half-way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livingmemory.archive.files import sha256_file
from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError


@dataclass(frozen=True)
class Problem:
    """One thing wrong, as one line: ``#3 recordings/x.wav: changed since it was added``."""

    where: str
    problem: str
    recording_id: int | None = None

    def __str__(self) -> str:
        prefix = f"#{self.recording_id} " if self.recording_id is not None else ""
        return f"{prefix}{self.where}: {self.problem}"


def recording_problem(archive: Archive, recording: dict[str, Any]) -> str | None:
    """What is wrong with one stored recording's file, or ``None`` when it is intact."""
    path = archive.root / recording["file_path"]
    try:
        if not path.is_file():
            return "missing (restore it from a backup)"
        actual = sha256_file(path)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if actual != recording["sha256"]:
        return (
            f"changed since it was added (SHA-256 {actual[:12]}…, expected "
            f"{recording['sha256'][:12]}…): restore it from a backup"
        )
    return None


def check_source(archive: Archive, recording: dict[str, Any], *, hash_file: bool = True) -> Path:
    """The recording's stored file, proven intact; raises a one-line error otherwise.

    ``hash_file=False`` only checks that it exists (for a public copy made earlier from a
    file that was checked then).
    """
    path = archive.root / recording["file_path"]
    if hash_file:
        problem = recording_problem(archive, recording)
    else:
        problem = None if path.is_file() else "missing (restore it from a backup)"
    if problem:
        raise LivingMemoryError(
            f"recording #{recording['id']} ({recording['file_path']}): {problem}; "
            "nothing was published ('livingmemory verify' checks every recording)"
        )
    return path


def verify(
    archive: Archive, progress: Callable[[dict[str, Any]], None] | None = None
) -> tuple[int, list[Problem]]:
    """Check the archive file and every recording; returns (recordings checked, problems)."""
    problems = [
        Problem(archive.path.name, f"integrity check: {row[0]}")
        for row in archive.db.execute("PRAGMA integrity_check").fetchall()
        if row[0] != "ok"
    ]
    problems += [
        Problem(
            archive.path.name,
            f"foreign key: row {row[1]} of {row[0]} points at a missing row of {row[2]}",
        )
        for row in archive.db.execute("PRAGMA foreign_key_check").fetchall()
    ]
    checked = 0
    for recording in archive.db.query("SELECT id, file_path, sha256 FROM recordings ORDER BY id"):
        if progress:
            progress(recording)
        checked += 1
        problem = recording_problem(archive, recording)
        if problem:
            problems.append(Problem(recording["file_path"], problem, recording["id"]))
    return checked, problems
