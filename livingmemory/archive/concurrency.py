"""Several processes on one archive: a write lock for critical sections, and claims.

Volunteers run ``add`` from two terminals and start a second ``transcribe`` while the first
is still going. SQLite serialises writes, but a check-then-act sequence ("is this audio
already here? then copy and register it"; "is this recording transcribed? then transcribe
it") needs the check and the act under one lock:

* :func:`write_transaction` is ``BEGIN IMMEDIATE``: it takes the archive's write lock at the
  start (waiting up to the busy timeout), so no other writer can act between our check and
  our write.
* :func:`claim` marks a recording as being worked on by this process (``claims`` table:
  recording, task, owner ``host:pid``, expiry). Another process skips a claimed recording.
  A claim whose process has died (same host) or whose lease ran out is taken over, so a
  ``kill -9`` never blocks a recording for good. :func:`release` drops it when done.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from livingmemory.archive.store import Archive

# A lease long enough for the slowest transcription of the recording (CPU, large model).
MIN_LEASE_SECONDS = 3600.0
LEASE_PER_AUDIO_SECOND = 10.0


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A transaction that holds the archive's write lock from its first statement."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    else:
        db.conn.commit()


def owner_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _alive(owner: str) -> bool:
    """False only when ``owner`` is a process on this host that no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: trust its lease
    return process_alive(int(pid))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def claim(
    archive: Archive,
    recording_id: int,
    task: str,
    *,
    still_needed_sql: str | None = None,
    lease_seconds: float = MIN_LEASE_SECONDS,
) -> bool:
    """Claim ``recording_id`` for ``task``; False when another live process holds it, or
    when ``still_needed_sql`` (a query with one ``?`` for the id, true when the work is
    still to do) says another process already finished it."""
    owner = owner_id()
    now = _now()
    with write_transaction(archive.db) as db:
        row = db.execute(
            "SELECT owner, expires_at FROM claims WHERE recording_id = ? AND task = ?",
            [recording_id, task],
        ).fetchone()
        if row and row[0] != owner and row[1] > now.isoformat() and _alive(row[0]):
            return False
        if still_needed_sql and not db.execute(still_needed_sql, [recording_id]).fetchone()[0]:
            return False
        db.execute(
            "INSERT OR REPLACE INTO claims (recording_id, task, owner, claimed_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [recording_id, task, owner, now.isoformat(),
             (now + dt.timedelta(seconds=lease_seconds)).isoformat()],
        )  # fmt: skip
    return True


def release(archive: Archive, recording_id: int, task: str) -> None:
    """Drop this process's claim (a claim another process took over is left alone)."""
    with archive.db.atomic():
        archive.db.execute(
            "DELETE FROM claims WHERE recording_id = ? AND task = ? AND owner = ?",
            [recording_id, task, owner_id()],
        )


# -- transcription -------------------------------------------------------------------------

_NEEDS_TRANSCRIPT = (
    "SELECT NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = ? "
    "AND t.source = 'machine' AND t.finished_at IS NOT NULL)"
)


def claim_for_transcription(archive: Archive, recording: dict, *, force: bool = False) -> bool:
    """Take a recording for ``transcribe``: False if another run is transcribing it or (without
    ``force``) has transcribed it since this run made its list."""
    lease = max(MIN_LEASE_SECONDS, LEASE_PER_AUDIO_SECOND * float(recording.get("duration") or 0))
    return claim(
        archive,
        recording["id"],
        "transcribe",
        still_needed_sql=None if force else _NEEDS_TRANSCRIPT,
        lease_seconds=lease,
    )
