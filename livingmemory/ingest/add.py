"""Adding interviews: probe, verify, hash, copy byte-for-byte, register, all or nothing.

The volunteer's original file is only ever read. The archive gets its own copy under a stable
name in ``recordings/`` (the content hash is part of the name, so the same audio always lands in
the same place), made read-only, and verified against the original's SHA-256 before the
database row that points at it is committed. One recording is one transaction: a failure
leaves the archive exactly as it was, and a batch keeps the recordings that succeeded.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from livingmemory.archive.audio import AudioInfo, probe, verify_complete
from livingmemory.archive.concurrency import write_transaction
from livingmemory.archive.files import CHUNK, partial_path, remove_stale_partials, sha256_file
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import Archive, current_user, utc_now
from livingmemory.errors import InputError, LivingMemoryError, readable
from livingmemory.ingest.metadata import (
    Person,
    RecordingMetadata,
    find_sidecar,
    read_csv,
    read_sidecar,
)


@dataclass(frozen=True)
class AddRequest:
    """One file to add, with metadata from the command line or a CSV row.

    ``source`` names where the metadata came from (a CSV row such as ``sheet.csv:4``) so an
    error points the volunteer at the line to fix; ``error`` carries a problem found while
    reading that row, reported in its turn without stopping the batch.
    """

    path: Path
    metadata: RecordingMetadata = field(default_factory=RecordingMetadata)
    source: str | None = None
    error: LivingMemoryError | None = None


@dataclass(frozen=True)
class AddResult:
    path: Path
    status: str  # "added" | "duplicate" | "failed"
    recording_id: int | None = None
    message: str = ""
    info: AudioInfo | None = None
    sidecar: Path | None = None  # the sidecar whose metadata was used


def requests_from_csv(csv_path: Path, overrides: RecordingMetadata) -> list[AddRequest]:
    """Requests for every row of a volunteer spreadsheet; command-line values win."""
    return [
        AddRequest(entry.path, entry.metadata.merged(overrides), entry.source, entry.error)
        for entry in read_csv(csv_path)
    ]


def add_many(
    archive: Archive,
    requests: Iterable[AddRequest],
    on_result: Callable[[AddResult], None] | None = None,
) -> list[AddResult]:
    """Add each request in its own transaction; failures are reported, not raised."""
    results = []
    for request in requests:
        try:
            if request.error:
                raise request.error
            result = add_recording(archive, request.path, request.metadata, source=request.source)
        except LivingMemoryError as error:
            result = AddResult(request.path, "failed", message=str(error))
        results.append(result)
        if on_result:
            on_result(result)
    return results


def add_recording(
    archive: Archive,
    path: Path,
    metadata: RecordingMetadata | None = None,
    *,
    source: str | None = None,
) -> AddResult:
    """Register one interview. Raises :class:`LivingMemoryError`; the archive is untouched then.

    Metadata precedence: the sidecar next to the file, overridden by ``metadata`` (command-line
    options or a CSV row). Adding audio that is already in the archive changes nothing.
    """
    path = Path(path)
    metadata = metadata or RecordingMetadata()
    sidecar = find_sidecar(path) if path.is_file() else None
    if sidecar:
        metadata = read_sidecar(sidecar).merged(metadata)
    metadata = metadata.validate(source or path)
    info = probe(path)
    sha256 = sha256_file(path)
    existing = archive.find_by_sha256(sha256)
    if existing:
        remove_stale_partials(archive.root / existing["file_path"])
        return _duplicate(path, existing)
    verify_complete(path, info)
    result = _place(archive, path, metadata, source, info, sha256)
    return AddResult(result.path, result.status, result.recording_id, result.message,
                     result.info, sidecar)  # fmt: skip


# Long: the copy, the transaction and each failure's undo belong in one try (each except undoes what
# the try did).
def _place(
    archive: Archive,
    path: Path,
    metadata: RecordingMetadata,
    source: str | None,
    info: AudioInfo,
    sha256: str,
) -> AddResult:
    """Copy, verify and register one checked recording (all or nothing)."""

    final = archive.recordings_dir / stable_name(path, sha256)
    archive.recordings_dir.mkdir(parents=True, exist_ok=True)
    # Unique per process and attempt: two adds of the same file must not share a partial copy.
    partial = partial_path(final)
    remove_stale_partials(final)
    placed = reuse = False
    try:
        copied = False
        if not final.is_file():
            _copy_verified(path, partial, sha256)  # the slow part, outside the write lock
            copied = True
        # From the duplicate check to the rename, one adder at a time (BEGIN IMMEDIATE).
        with write_transaction(archive.db):
            existing = archive.find_by_sha256(sha256)
            if existing:
                return _duplicate(path, existing)
            # A copy left by an interrupted earlier add is reused only if it is intact.
            reuse = final.is_file() and sha256_file(final) == sha256
            if not reuse and not copied:
                _copy_verified(path, partial, sha256)
            recording_id = _insert(archive, path, final, sha256, info, metadata)
            if not reuse:
                os.replace(partial, final)
                placed = True
    except sqlite3.IntegrityError:
        # Another process added the same audio between our check and our insert.
        existing = archive.find_by_sha256(sha256)
        if existing:
            return _duplicate(path, existing)
        raise
    except sqlite3.OperationalError as error:
        # SQLITE_FULL, SQLITE_BUSY...: the transaction was rolled back, nothing was added.
        if placed:
            final.unlink(missing_ok=True)
        problem = "disk full" if "full" in str(error).lower() else str(error)
        raise LivingMemoryError(
            f"{path}: the archive could not be written ({problem}); nothing was added"
        ) from None
    except OSError as error:
        if placed:
            final.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise LivingMemoryError(
                f"{path}: disk full while copying into {archive.recordings_dir} (nothing was added)"
            ) from None
        raise LivingMemoryError(f"{path}: could not copy into the archive ({error})") from None
    except BaseException:
        if placed:
            final.unlink(missing_ok=True)
        raise
    finally:
        partial.unlink(missing_ok=True)
    message = f"added as #{recording_id}"
    if reuse:  # never silently: the volunteer sees that a leftover copy was taken
        message += (
            f" (took the copy {final.relative_to(archive.root)} an interrupted add left, "
            "after checking its SHA-256)"
        )
    return AddResult(path, "added", recording_id, message, info)


# What ``add FOLDER`` picks up: audio ffmpeg reads, by extension (sidecars, notes and
# spreadsheets in the same folder are not recordings).
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wma",
                  ".aif", ".aiff", ".webm", ".mka", ".mp4", ".3gp", ".amr")  # fmt: skip


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(audio files to add, sidecars recognised) for files and folders named by a volunteer.

    A folder is searched recursively for audio files (hidden files skipped), in name order.
    A ``.yml``/``.yaml`` named directly (``add tapes/*``) is a sidecar when a recording with
    the same name sits beside it: it is used for that recording, not reported as a failure.
    """
    from livingmemory.ingest.metadata import SIDECAR_SUFFIXES

    audio: list[Path] = []
    sidecars: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            audio += _audio_in_folder(path)
        elif (
            path.suffix.lower() in SIDECAR_SUFFIXES
            and path.is_file()
            and any(
                sibling.is_file() and sibling.suffix.lower() not in SIDECAR_SUFFIXES
                for sibling in path.parent.glob(f"{glob.escape(path.stem)}.*")
            )
        ):
            sidecars.append(path)
        else:
            audio.append(path)
    return list(dict.fromkeys(audio)), sidecars


def _audio_in_folder(folder: Path) -> list[Path]:
    """Audio files under ``folder``, in name order; hidden files and folders are skipped.

    Links to folders are not followed (a link back up would never end), and a folder that
    cannot be read stops the whole ``add`` with one line naming it, before anything is added:
    a volunteer would otherwise not know which recordings were left out.
    """

    def unreadable(error: OSError) -> None:
        name = readable(str(error.filename or folder))
        raise LivingMemoryError(
            f"{name}: cannot read this folder ({error.strerror or error}); nothing was added"
        )

    found = []
    for parent, folders, files in os.walk(folder, onerror=unreadable):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            candidate = Path(parent, name)
            if name.startswith(".") or candidate.suffix.lower() not in AUDIO_SUFFIXES:
                continue
            try:
                if candidate.is_file():
                    found.append(candidate)
            except OSError as error:
                unreadable(error)
    return sorted(found)


def _duplicate(path: Path, existing: dict) -> AddResult:
    label = f"#{existing['id']}" + (f" ({existing['title']})" if existing["title"] else "")
    return AddResult(
        path, "duplicate", existing["id"], f"already in the archive as {label}; nothing changed"
    )


def stable_name(path: Path, sha256: str) -> str:
    """``ana-novak-1954-3f9a0c2d1e.mp3``: readable, and fixed by the content."""
    ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:60] or "recording"
    return f"{slug}-{sha256[:10]}{path.suffix.lower()}"


def _copy_verified(source: Path, target: Path, sha256: str) -> None:
    """Copy ``source`` to ``target``, fsync it, and prove the copy has the same SHA-256."""
    try:
        with source.open("rb") as reader, target.open("wb") as writer:
            shutil.copyfileobj(reader, writer, CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
        copied = sha256_file(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if copied != sha256:
        target.unlink(missing_ok=True)
        raise InputError(
            source, "the copy in the archive differs from the original (file changed?)"
        )
    target.chmod(0o444)


def _insert(
    archive: Archive,
    path: Path,
    final: Path,
    sha256: str,
    info: AudioInfo,
    metadata: RecordingMetadata,
) -> int:
    db = archive.db
    cursor = db.execute(
        """
        INSERT INTO recordings (title, file_path, original_filename, source_path, sha256,
          size_bytes, format, codec, duration, sample_rate, channels, bit_rate, language,
          recorded_date, place, access, embargo_until, consent_notes, notes, added_at, added_by,
          interview_key, part)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            metadata.title or readable(path.stem),
            final.relative_to(archive.root).as_posix(),
            readable(path.name),
            readable(str(path.resolve())),
            sha256,
            info.size_bytes,
            info.format,
            info.codec,
            info.duration,
            info.sample_rate,
            info.channels,
            info.bit_rate,
            metadata.language,
            metadata.recorded_date,
            metadata.place,
            metadata.access,
            metadata.embargo_until,
            metadata.consent_notes,
            metadata.notes,
            utc_now(),
            metadata.added_by or current_user(),
            metadata.interview,
            metadata.part,
        ],
    )
    recording_id = cast(int, cursor.lastrowid)  # an INSERT always sets lastrowid
    link_people(archive, recording_id, "narrator", metadata.narrators)
    link_people(archive, recording_id, "interviewer", metadata.interviewers)
    return recording_id


def link_people(archive: Archive, recording_id: int, role: str, people: Iterable[Person]) -> None:
    """Record ``people`` in ``role`` in a recording, in the order given (inside the caller's
    transaction; ``edit`` deletes the role's old rows first)."""
    for position, person in enumerate(people):
        archive.db.execute(
            "INSERT OR IGNORE INTO recording_people (recording_id, person_id, role, position) "
            "VALUES (?, ?, ?, ?)",
            [recording_id, _person_id(archive, person), role, position],
        )


def _person_id(archive: Archive, person: Person) -> int:
    """Reuse a person with the same name unless their birth years disagree.

    Names repeat (there are many Janez Novaks in Gorenjska), so a differing known birth year
    means a different person; missing details are filled in, never overwritten.
    """
    db = archive.db
    for row in db.query(
        "SELECT id, birth_year, home_place FROM people WHERE casefold(name) = ? ORDER BY id",
        [person.name.casefold()],
    ):
        if person.birth_year and row["birth_year"] and person.birth_year != row["birth_year"]:
            continue
        db.execute(
            "UPDATE people SET birth_year = coalesce(birth_year, ?), "
            "home_place = coalesce(home_place, ?) WHERE id = ?",
            [person.birth_year, person.home_place, row["id"]],
        )
        return row["id"]
    cursor = db.execute(
        "INSERT INTO people (name, birth_year, home_place) VALUES (?, ?, ?)",
        [person.name, person.birth_year, person.home_place],
    )
    return cast(int, cursor.lastrowid)  # an INSERT always sets lastrowid
