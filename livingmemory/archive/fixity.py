"""Fixity: are the stored recordings still the bytes that were added, and is the file sound?

``add`` records every recording's SHA-256 and makes the copy read-only, but disks fail,
backups get restored wrongly and people "tidy up" folders. :func:`verify` re-reads every
recording and compares its SHA-256, and runs SQLite's ``integrity_check`` and
``foreign_key_check`` on the archive; each problem is one line. :func:`damaged_recordings`
is what ``publish`` asks before every publish (a changed or missing recording is withheld,
never copied): each file whose identity (size, inode, times) changed
since its SHA-256 was last found right is hashed again, so a byte changed in a recording
long published is still caught, without re-reading the whole archive each time.
:func:`verify` also names files in ``recordings/`` that no recording owns (an ``add``
killed between moving its copy in and committing leaves one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livingmemory.archive.concurrency import process_alive
from livingmemory.archive.files import sha256_file
from livingmemory.archive.store import Archive, utc_now


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


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)


def damaged_recordings(archive: Archive, recordings: Iterable[dict[str, Any]]) -> dict[int, str]:
    """What is wrong with each recording whose stored file is not the bytes that were added.

    A file is hashed again unless it is, by size, inode, modification and change time, the
    file last found intact (``file_checks``); changing a file's bytes in any way changes
    its change time, which nobody can set back. Intact files are remembered.
    """
    remembered = {row["recording_id"]: row for row in archive.db.query("SELECT * FROM file_checks")}
    problems: dict[int, str] = {}
    intact: list[dict[str, Any]] = []
    for recording in recordings:
        path = archive.root / recording["file_path"]
        try:
            identity = _identity(path.stat())
        except OSError:
            identity = None
        known = remembered.get(recording["id"])
        if (
            identity is not None
            and known is not None
            and known["sha256"] == recording["sha256"]
            and (known["size"], known["inode"], known["mtime_ns"], known["ctime_ns"]) == identity
        ):
            continue
        problem = recording_problem(archive, recording)
        if problem:
            problems[recording["id"]] = problem
        elif identity is not None:
            size, inode, mtime_ns, ctime_ns = identity
            intact.append(
                {
                    "recording_id": recording["id"],
                    "sha256": recording["sha256"],
                    "size": size,
                    "inode": inode,
                    "mtime_ns": mtime_ns,
                    "ctime_ns": ctime_ns,
                    "checked_at": utc_now(),
                }
            )
    if intact:
        with archive.db.atomic():
            archive.db.table("file_checks").upsert_all(intact, pk="recording_id")
    return problems


def unowned_files(archive: Archive) -> list[Path]:
    """Files in ``recordings/`` that no recording row names (partial copies of adds still
    running are not counted: their process is alive)."""
    folder = archive.recordings_dir
    if not folder.is_dir():
        return []
    owned = {
        (archive.root / row[0]).resolve()
        for row in archive.db.execute("SELECT file_path FROM recordings")
    }
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.resolve() in owned:
            continue
        if path.name.endswith(".partial"):
            pid = path.name.rsplit(".", 2)[-2].split("-", 1)[0]
            if pid.isdigit() and process_alive(int(pid)):
                continue
        found.append(path)
    return found


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
    for path in unowned_files(archive):
        problems.append(
            Problem(
                str(path.relative_to(archive.root)),
                "no recording owns this file (left by an interrupted add?): add the original "
                "again, or move it out of the archive",
            )
        )
    return checked, problems
