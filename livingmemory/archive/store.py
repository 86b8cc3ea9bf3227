"""The archive: one SQLite file, a ``recordings/`` folder beside it, and ``metadata.yml``.

:class:`Archive` opens the file with the settings every writer needs (WAL so Datasette can read
while a volunteer adds, foreign keys on, a busy timeout instead of "database is locked"),
upgrades the schema (after taking a backup), and answers the questions the CLI asks.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import sqlite_utils

from livingmemory.archive import schema
from livingmemory.archive.sqlite import sqlite3
from livingmemory.errors import ArchiveError

DEFAULT_ARCHIVE = Path("archive.db")
RECORDINGS_DIR = "recordings"
METADATA_FILE = "metadata.yml"
BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def current_user() -> str | None:
    """Who is making a change from this machine, for the rows that record who did what.

    The one rule for ``add``, ``edit``, the review queue, speaker renames and redactions:
    ``LIVINGMEMORY_USER`` when set (a shared volunteer laptop names the person, not the
    account), else the login name, else ``None`` (no user database, e.g. in a container).
    The web workspace does not use this: there the logged-in volunteer is the author.
    """
    try:
        return os.environ.get("LIVINGMEMORY_USER") or getpass.getuser()
    except (KeyError, OSError):
        return None


def people_names_sql(role: str, recording: str = "r.id") -> str:
    """SQL for the names in ``role`` of the recording ``recording`` (an SQL expression),
    ``'; '``-joined in the volunteer's order: :meth:`Archive.people_names` as a scalar
    subquery, for lists of many recordings in one indexed query."""
    if role not in ("narrator", "interviewer", "other"):
        raise ValueError(f"no such role: {role!r}")
    return (
        "(SELECT group_concat(name, '; ') FROM (SELECT p.name FROM recording_people rp "
        f"JOIN people p ON p.id = rp.person_id WHERE rp.recording_id = {recording} "
        f"AND rp.role = '{role}' ORDER BY rp.position))"
    )


class Archive:
    """An open archive. Use :func:`open_archive` or :func:`init_archive` to get one."""

    def __init__(self, path: Path, db: sqlite_utils.Database) -> None:
        self.path = path
        self.db = db

    @property
    def root(self) -> Path:
        """The folder that holds the archive file, ``recordings/`` and ``metadata.yml``."""
        return self.path.parent

    @property
    def recordings_dir(self) -> Path:
        return self.root / RECORDINGS_DIR

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries -----------------------------------------------------------------------

    def recordings(self) -> list[dict[str, Any]]:
        """One row per recording with narrators and pipeline state, oldest first."""
        return list(self.db.query("SELECT * FROM recording_status ORDER BY id"))

    def recording(self, recording_id: int) -> dict[str, Any]:
        """Everything about one recording, including its people and pipeline state."""
        if not 0 < recording_id < 2**63:  # SQLite's integers end at 2**63 - 1
            raise ArchiveError(f"there is no recording #{recording_id} in {self.path}")
        row = self.db.execute(
            "SELECT r.*, s.state, s.warnings FROM recordings r "
            "JOIN recording_status s ON s.id = r.id "
            "WHERE r.id = ?",
            [recording_id],
        ).fetchone()
        if row is None:
            raise ArchiveError(f"there is no recording #{recording_id} in {self.path}")
        columns = [c.name for c in self.db["recordings"].columns] + ["state", "warnings"]
        record = dict(zip(columns, row, strict=True))
        # Narrators first: the interview is theirs (a stable sort keeps each role's order).
        record["people"] = sorted(
            self.people(recording_id), key=lambda p: p["role"] == "interviewer"
        )
        record["transcripts"] = self.db["transcripts"].count_where(
            "recording_id = ?", [recording_id]
        )
        record["segments"] = self.db["segments"].count_where("recording_id = ?", [recording_id])
        record["entities"] = self.db["entities"].count_where("recording_id = ?", [recording_id])
        return record

    def people(self, recording_id: int, role: str | None = None) -> list[dict[str, Any]]:
        """The people in a recording (in one ``role``, or all: interviewers first, then
        narrators), in the order the volunteer gave them: id, name, birth_year, home_place,
        role. The one query for who is in a recording (CLI, exports, publish, speakers)."""
        where = "rp.recording_id = ?"
        params: list[int | str] = [recording_id]
        if role:
            where += " AND rp.role = ?"
            params.append(role)
        return list(
            self.db.query(
                "SELECT p.id, p.name, p.birth_year, p.home_place, rp.role FROM recording_people rp "
                f"JOIN people p ON p.id = rp.person_id WHERE {where} ORDER BY rp.role, rp.position",
                params,
            )
        )

    def people_names(self, recording_id: int, role: str | None = None) -> list[str]:
        """Names of :meth:`people`, in the same order."""
        return [person["name"] for person in self.people(recording_id, role)]

    def current_segments(self, recording_id: int) -> list[dict[str, Any]]:
        """Segments of the recording's current transcript (the newest human one if people
        reviewed it, else the current machine run), in time order."""
        return list(
            self.db.query(
                "SELECT s.id, s.start, s.end, s.speaker, s.text, s.flags, s.avg_logprob, "
                "s.no_speech_prob, s.transcript_id, s.overlap "
                "FROM segments s JOIN current_transcripts c "
                "ON c.transcript_id = s.transcript_id WHERE c.recording_id = ? "
                "ORDER BY s.start, s.position",
                [recording_id],
            )
        )

    def current_transcript(self, recording_id: int) -> dict[str, Any] | None:
        rows = list(
            self.db.query(
                "SELECT t.* FROM transcripts t JOIN current_transcripts c "
                "ON c.transcript_id = t.id WHERE c.recording_id = ?",
                [recording_id],
            )
        )
        return rows[0] if rows else None

    def find_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        rows = list(self.db["recordings"].rows_where("sha256 = ?", [sha256], limit=1))
        return rows[0] if rows else None


def _connect(path: Path, *, new_ok: bool) -> tuple[sqlite_utils.Database, int]:
    """Open ``path`` with the archive's settings; return the database and its schema version.

    The file is checked *before* anything is written to it (WAL mode changes the header), so
    pointing the tool at some other program's database leaves that file untouched.
    ``new_ok`` allows an empty database (``init``); otherwise it is "not initialised".
    """
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:  # a folder we may not write, /proc/...
        raise ArchiveError(f"{path}: cannot open or create the archive ({error})") from None
    try:
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = _check_is_archive(db, path)
        if version == 0 and not new_ok:
            raise ArchiveError(f"{path}: an empty file, not an archive: run 'livingmemory init'")
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
    except sqlite3.DatabaseError as error:
        conn.close()
        raise ArchiveError(f"{path}: not a SQLite archive ({error})") from None
    except BaseException:
        conn.close()
        raise
    return db, version


def register_functions(db: sqlite_utils.Database) -> None:
    """SQL helpers the library relies on; SQLite's NOCASE only folds ASCII (not Č, Š, Ž)."""
    db.register_function(
        lambda text: text.casefold() if isinstance(text, str) else text,
        name="casefold",
        deterministic=True,
        replace=True,
    )


def _check_is_archive(db: sqlite_utils.Database, path: Path) -> int:
    version = schema.schema_version(db)
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    if version == 0 and app_id == 0 and not db.table_names():
        return 0
    if app_id != schema.APPLICATION_ID:
        raise ArchiveError(f"{path}: a SQLite file, but not a Living Memory archive")
    if version > schema.SCHEMA_VERSION:
        raise ArchiveError(
            f"{path}: made by a newer Living Memory (schema {version}; this version knows "
            f"{schema.SCHEMA_VERSION}): upgrade livingmemory"
        )
    return version


def backup(db: sqlite_utils.Database, target: Path) -> Path:
    """A consistent copy of the archive (SQLite's online backup), e.g. before a migration."""
    destination = sqlite3.connect(str(target))
    try:
        db.conn.backup(destination)
    finally:
        destination.close()
    return target


def open_archive(path: Path | str = DEFAULT_ARCHIVE) -> Archive:
    """Open an existing archive, upgrading its schema if it is older than this software.

    Before an upgrade the old file is backed up next to it (``archive.db.v1.bak``): a
    migration should never lose anything, and if it ever did, the volunteer has the copy.
    """
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(
            f"no archive at {path}: run 'livingmemory init {path}' first (or pass --archive)"
        )
    db, version = _connect(path, new_ok=False)
    try:
        if version < schema.SCHEMA_VERSION:
            backup(db, path.with_name(f"{path.name}.v{version}.bak"))
        schema.migrate(db)
        register_functions(db)
    except BaseException:
        db.close()
        raise
    return Archive(path, db)


@dataclass
class InitResult:
    """What ``init`` made and what it found already there (and left alone)."""

    archive: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def init_archive(path: Path | str = DEFAULT_ARCHIVE) -> InitResult:
    """Create an archive, its ``recordings/`` folder and a starter ``metadata.yml``.

    Existing files are never overwritten: an existing archive is only upgraded in place.
    """
    try:
        return _init_archive(Path(path))
    except OSError as error:
        # /proc/..., a read-only disk, a name that is a file: one line, not a traceback.
        where = error.filename or path
        problem = error.strerror or error
        raise ArchiveError(f"{where}: cannot create the archive here ({problem})") from None


def _init_archive(path: Path) -> InitResult:
    # A folder, existing or new ("init oral-history"), gets archive.db inside it; an archive
    # file is named with a suffix (archive.db, zbirka.sqlite).
    if path.is_dir() or (not path.exists() and not path.suffix):
        path = path / DEFAULT_ARCHIVE.name
    result = InitResult(archive=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    open_or_create, version = _connect(path, new_ok=True)
    try:
        if existed and 0 < version < schema.SCHEMA_VERSION:
            backup(open_or_create, path.with_name(f"{path.name}.v{version}.bak"))
        schema.migrate(open_or_create)
    finally:
        open_or_create.close()
    (result.kept if existed else result.created).append(path)

    recordings = path.parent / RECORDINGS_DIR
    (result.kept if recordings.is_dir() else result.created).append(recordings)
    recordings.mkdir(exist_ok=True)

    metadata = path.parent / METADATA_FILE
    if metadata.exists():
        result.kept.append(metadata)
    else:
        template = resources.files("livingmemory") / "templates" / METADATA_FILE
        with metadata.open("x", encoding="utf-8") as handle:
            handle.write(template.read_text(encoding="utf-8"))
        result.created.append(metadata)
    return result
