"""What the archive says is what the public sees: publishing that follows the archive.

:mod:`livingmemory.site.publish` writes the public database in place, so a running site shows
a publish on its very next request. This module decides *when* to publish without a person
remembering to:

* :func:`publish_due`: recordings the public site still shows but may no longer see
  (access made restricted, consent withdrawn, embargoed again, deleted, file damaged) and
  embargoed ones whose date has come, published at once as an incremental publish of just
  those recordings (other pending changes wait for the team's next publish). ``edit``
  (CLI and workspace) calls it after every change of access; ``serve`` calls it every
  minute, so an embargo that ends shows its interview without anyone acting.
* :func:`preview`: what the next publish would change (new, withdrawn and corrected
  interviews, and warnings: suspect lines, names not heard), for the workspace's "Objavi"
  page and ``publish --preview``.
* :func:`recorded_publish` and :func:`start_publish`: every publish recorded in
  ``publish_runs`` (who, when, progress, what changed), in the background for the workspace.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from livingmemory.archive.access import PUBLIC_DB, public_dir, publishable
from livingmemory.archive.concurrency import process_alive
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import Archive, current_user, open_archive, utc_now
from livingmemory.site import publish as publishing
from livingmemory.site.publish import PublishResult

# How often a running site looks for what is due (embargoes that ended, withdrawals).
DUE_SECONDS_ENV = "LIVINGMEMORY_DUE_SECONDS"
DUE_SECONDS = 60.0
# How long a publish's outcome waits for a busy archive before the publish reports failure.
OUTCOME_SECONDS = 30.0
AUTOMATIC = "samodejno"  # who the history names for a publish nobody started


def _output(archive: Archive) -> Path:
    return public_dir(archive) / PUBLIC_DB


def _manifest(archive: Archive) -> dict[str, Any] | None:
    return publishing._load_manifest(archive, _output(archive))


def _published(archive: Archive) -> tuple[dict[int, list[Any]] | None, set[int]]:
    """The last publish's manifest entries (None when none matches the file), and the ids
    the public database holds."""
    manifest = _manifest(archive)
    if manifest is not None:
        return manifest["recordings"], set(manifest["recordings"])
    return None, set(publishing._published_ids(_output(archive)))


def due(archive: Archive, today: dt.date | None = None) -> list[int]:
    """Recordings whose public state must change now: shown but no longer publishable, and
    those the last publish left waiting for an embargo that has ended since."""
    if not _output(archive).is_file():
        return []  # nothing published yet: nothing to withdraw, the first publish is the team's
    manifest = _manifest(archive)
    shown = (
        set(manifest["recordings"])
        if manifest is not None
        else set(publishing._published_ids(_output(archive)))
    )
    waiting = set(manifest.get("embargoed") or []) if manifest is not None else set()
    allowed = {r["id"] for r in publishable(archive, today)}
    return sorted((shown - allowed) | ((waiting & allowed) - shown))


def publish_due(
    archive: Archive, today: dt.date | None = None, *, by: str = AUTOMATIC
) -> PublishResult | None:
    """Publish what is due (see :func:`due`) at once; None when nothing is."""
    ids = due(archive, today)
    if not ids:
        return None
    return recorded_publish(archive, by=by, kind="withdrawals", today=today, only=ids)


def edit_and_publish(
    archive: Archive,
    recording_id: int,
    changes: dict[str, str | None],
    *,
    author: str | None,
    source: str = "cli",
) -> tuple[list[Any], PublishResult | None]:
    """An edit that takes effect on the public site at once when it withdraws or releases
    a recording (access, embargo): the edit, then :func:`publish_due`. The publish result
    comes back only when the recording's place on the public site changed (whoever
    published it: a serving site's own check may be quicker)."""
    from livingmemory.review.workspace import edit_recording

    shown_before = recording_id in _published(archive)[1]
    done = edit_recording(archive, recording_id, changes, author=author, source=source)
    result = None
    if any(c.field in ("access", "embargo_until", "consent_notes") for c in done):
        result = publish_due(archive, by=author or current_user() or AUTOMATIC)
        shown_after = recording_id in _published(archive)[1]
        if result is None and shown_after != shown_before:  # the other publisher's result
            result = PublishResult(_output(archive), recordings=sorted(_published(archive)[1]))
        if shown_after == shown_before:
            result = None
    return done, result


# -- preview ----------------------------------------------------------------------------------


@dataclass
class Preview:
    """What the next publish would change, each list of ``{id, title, ...}`` rows."""

    new: list[dict[str, Any]] = field(default_factory=list)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[dict[str, Any]] = field(default_factory=list)
    full: bool = False  # no usable manifest: everything will be written again

    @property
    def pending(self) -> set[int]:
        return {row["id"] for rows in (self.new, self.withdrawn, self.changed) for row in rows}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pending": sorted(self.pending)}


def _warnings(archive: Archive, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per recording, the current transcript's suspect lines and whether nobody named in
    the metadata is heard (both follow corrections: see review.revisions.refresh_warnings)."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in archive.db.query(
            "SELECT c.recording_id, t.warnings, (SELECT count(*) FROM segments s WHERE "
            "s.transcript_id = c.transcript_id AND s.suspect = 1) AS suspect FROM "
            "current_transcripts c JOIN transcripts t ON t.id = c.transcript_id "
            f"WHERE c.recording_id IN ({marks})",
            chunk,
        ):
            found[row["recording_id"]] = {
                "suspect": row["suspect"],
                "names_not_heard": "names_not_heard" in (row["warnings"] or ""),
            }
    return found


def preview(archive: Archive, today: dt.date | None = None, *, warnings: bool = True) -> Preview:
    """What ``publish`` would do now, without writing anything (no file is hashed)."""
    allowed = {r["id"]: r for r in publishable(archive, today)}
    entries, shown = _published(archive)
    result = Preview(full=entries is None)
    fingerprints = publishing._fingerprints(archive, list(allowed.values()))
    titles = {
        row["id"]: row["title"]
        for row in archive.db.query("SELECT id, title FROM recordings ORDER BY id")
    }
    notes = _warnings(archive, sorted(allowed)) if warnings else {}
    for rid in sorted(set(allowed) | shown):
        row = {"id": rid, "title": titles.get(rid) or f"#{rid}", **notes.get(rid, {})}
        if rid not in allowed:
            result.withdrawn.append(row)
        elif rid not in shown:
            result.new.append(row)
        elif entries is None or entries[rid][0] != fingerprints[rid]:
            result.changed.append(row)
    return result


# -- recorded publishing ------------------------------------------------------------------------


def _update_run(archive: Archive, run_id: int, *, best_effort: bool = False, **values: Any) -> None:
    """Write a publish's progress or outcome into ``publish_runs``.

    A progress note is ``best_effort``: when the archive stays busy past its timeout
    (another process writing, a loaded machine) the note is skipped and the next one
    carries on, so a note never stops a publish half way. An outcome is retried for
    :data:`OUTCOME_SECONDS`."""
    deadline = time.monotonic() + (0 if best_effort else OUTCOME_SECONDS)
    while True:
        try:
            with archive.db.atomic():
                archive.db.table("publish_runs").update(run_id, values)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() >= deadline:
                if best_effort:
                    return
                raise
            time.sleep(0.1)


def _summary(result: PublishResult) -> dict[str, Any]:
    return {
        "published": len(result.recordings),
        "rewritten": result.rewritten if result.incremental else [],
        "removed": result.removed,
        "damaged": result.damaged,
        "full": not result.incremental,
    }


def _begin_run(archive: Archive, by: str | None, kind: str) -> int:
    row = {
        "kind": kind,
        "status": "running",
        "started_at": utc_now(),
        "started_by": by or current_user(),
        "pid": os.getpid(),
        "progress": 0.0,
    }
    with archive.db.atomic():
        run_id = archive.db.table("publish_runs").insert(row).last_pk
    assert isinstance(run_id, int)
    return run_id


def recorded_publish(
    archive: Archive,
    *,
    by: str | None = None,
    kind: str = "publish",
    run_id: int | None = None,
    **options: Any,
) -> PublishResult:
    """:func:`livingmemory.site.publish.publish`, recorded in ``publish_runs`` with its
    progress (at most a few writes a second) and outcome."""
    if run_id is None:
        run_id = _begin_run(archive, by, kind)
    last = [0.0]

    def progress(share: float, message: str) -> None:
        if time.monotonic() - last[0] > 0.25 or share >= 1.0:
            last[0] = time.monotonic()
            _update_run(
                archive, run_id, best_effort=True, progress=round(share, 3), message=message
            )

    try:
        result = publishing.publish(archive, progress=progress, **options)
    except BaseException as error:
        _update_run(archive, run_id, status="failed", finished_at=utc_now(),
                    message=str(error) or type(error).__name__)  # fmt: skip
        raise
    _update_run(archive, run_id, status="done", finished_at=utc_now(), progress=1.0,
                message=None, summary=json.dumps(_summary(result), ensure_ascii=False))  # fmt: skip
    return result


def start_publish(archive_path: Path, by: str, *, full: bool = False) -> int:
    """Start a recorded publish in a background thread (the workspace's "Objavi"); returns
    its ``publish_runs`` id at once. The thread opens its own archive connection."""
    with open_archive(archive_path) as archive:
        run_id = _begin_run(archive, by, "full" if full else "publish")

    def work() -> None:
        try:
            with open_archive(archive_path) as archive:
                recorded_publish(archive, run_id=run_id, full=full)
        except Exception:  # recorded as failed in publish_runs; the page shows the message
            pass

    threading.Thread(target=work, name=f"publish-{run_id}", daemon=True).start()
    return run_id


def runs(archive: Archive, limit: int = 20) -> list[dict[str, Any]]:
    """The newest publishes, newest first; one whose process died shows as interrupted."""
    rows = list(archive.db.query("SELECT * FROM publish_runs ORDER BY id DESC LIMIT ?", [limit]))
    for row in rows:
        row["summary"] = json.loads(row["summary"]) if row["summary"] else None
        if row["status"] == "running" and row["pid"] and not process_alive(row["pid"]):
            row["status"] = "interrupted"
    return rows


def due_loop(archive_path: Path, stop: threading.Event, interval: float | None = None) -> None:
    """Publish what is due every ``interval`` seconds until ``stop`` is set (``serve`` runs
    this in a thread beside the site); a failure is reported on the next round again."""
    if interval is None:
        interval = float(os.environ.get(DUE_SECONDS_ENV) or DUE_SECONDS)
    while not stop.is_set():
        try:
            with open_archive(archive_path) as archive:
                publish_due(archive)
        except Exception as error:  # the site keeps running; the problem is printed
            print(f"livingmemory: publishing what is due failed: {error}", flush=True)
        stop.wait(interval)
