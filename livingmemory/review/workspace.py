"""The volunteers' workspace, as a library: edit metadata, save corrections, queue work.

Everything the browser workspace (:mod:`livingmemory.site.workspace_pages`) and the CLI
(``livingmemory edit``, ``livingmemory worker``, ``livingmemory user``) do goes through these
functions, so a web edit and a command-line edit are validated and recorded the same way:

* :func:`edit_recording` changes metadata and access with the same rules as ``add``, refuses
  public access without a consent note, and records every change (who, when, old, new) in
  ``edits``.
* :func:`save_transcript` stores an edited transcript exactly as ``review --apply`` does (a new
  human transcript with revisions; the machine text stays) and re-tags the interview.
* :func:`queue_transcription`, :func:`claim_job` and :func:`work_queue` are a small job queue in
  the archive itself: uploads wait there, one worker process transcribes and tags them, and
  its progress is what the interviews page shows.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from livingmemory.archive.access import PUBLIC_DB, public_dir
from livingmemory.archive.files import atomic_write_text
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import Archive, people_names_sql, utc_now
from livingmemory.errors import InputError, LivingMemoryError, readable
from livingmemory.ingest.metadata import ACCESS_ALIASES, Person, RecordingMetadata

USERS_FILE = "users.yml"
TEAM = "livingmemory"
# A running job whose worker has not reported for this long is taken over by another worker.
LEASE_SECONDS = 600

# Pipeline states, in order, with their Slovenian and English names.
STATES: dict[str, tuple[str, str]] = {
    "added": ("dodano", "added"),
    "language_uncertain": ("jezik negotov", "language uncertain"),
    "transcribing": ("prepisovanje", "transcribing"),
    "transcribed": ("prepisano", "transcribed"),
    "needs_review": ("potrebuje pregled", "needs review"),
    "reviewed": ("pregledano", "reviewed"),
    "tagged": ("označeno", "tagged"),
    "published": ("objavljeno", "published"),
}

# Editable fields: name -> (column or people role, Slovenian label, English label).
EDITABLE: dict[str, tuple[str, str, str]] = {
    "title": ("title", "Naslov", "Title"),
    "narrators": ("narrator", "Pripovedovalec", "Narrator"),
    "interviewers": ("interviewer", "Spraševalec", "Interviewer"),
    "recorded_date": ("recorded_date", "Datum", "Date"),
    "place": ("place", "Kraj", "Place"),
    "language": ("language", "Jezik", "Language"),
    "access": ("access", "Dostop", "Access"),
    "embargo_until": ("embargo_until", "Embargo do", "Embargo until"),
    "consent_notes": ("consent_notes", "Soglasje", "Consent"),
    "notes": ("notes", "Opombe", "Notes"),
}


# -- metadata edits -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str | None


def _names(people: Iterable[Person]) -> str | None:
    return "; ".join(p.name for p in people) or None


def _people_from_text(value: str | None) -> tuple[Person, ...]:
    return tuple(Person(n.strip()) for n in (value or "").split(";") if n.strip())


def require_consent(metadata: RecordingMetadata, source: str | Path) -> None:
    """Public access needs a consent note: nothing is published without recorded consent."""
    if metadata.access == "public" and not metadata.consent_notes:
        raise InputError(
            source,
            "public access needs a consent note (--consent: who agreed, when, how) / "
            "javni dostop zahteva opombo o soglasju",
        )


def edit_recording(
    archive: Archive,
    recording_id: int,
    changes: dict[str, str | None],
    *,
    author: str | None,
    source: str = "cli",
) -> list[Change]:
    """Change a recording's metadata; returns what changed (empty: nothing did).

    ``changes`` maps :data:`EDITABLE` names to new values (``""`` clears an optional field;
    people as ``"A; B"``). The result is validated like ``add`` (dates, languages, access
    levels, embargo dates, Slovenian values), public access needs a consent note, and every
    change is one ``edits`` row, all in one transaction: a refused edit changes nothing.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise LivingMemoryError(f"cannot edit {', '.join(sorted(unknown))}")
    # Text that cannot be stored (bytes of a non-UTF-8 command line) becomes U+FFFD.
    changes = {k: v if v is None else readable(v) for k, v in changes.items()}
    record = archive.recording(recording_id)
    people = {
        role: tuple(Person(p["name"]) for p in record["people"] if p["role"] == role)
        for role in ("narrator", "interviewer")
    }
    metadata = _edited_metadata(record, people, changes)
    done = _changes(record, people, metadata)
    if done:
        _store_changes(archive, recording_id, metadata, done, author=author, source=source)
        if {c.field for c in done} & {"narrators", "interviewers", "place"}:
            from livingmemory.review.revisions import refresh_warnings

            refresh_warnings(archive, recording_id)  # whose names must be heard changed
    return done


def _edited_metadata(
    record: dict[str, Any], people: dict[str, tuple[Person, ...]], changes: dict[str, str | None]
) -> RecordingMetadata:
    """The recording's metadata with ``changes`` applied, validated like ``add``'s."""
    current = RecordingMetadata(
        title=record["title"],
        narrators=people["narrator"],
        interviewers=people["interviewer"],
        recorded_date=record["recorded_date"],
        place=record["place"],
        language=record["language"],
        access=record["access"],
        embargo_until=record["embargo_until"],
        consent_notes=record["consent_notes"],
        notes=record["notes"],
    )
    wanted = dict(current.__dict__)
    for name, value in changes.items():
        if value is None:
            continue
        if name in ("narrators", "interviewers"):
            wanted[name] = _people_from_text(value)
        else:
            wanted[name] = value
    level = str(changes.get("access") or "").strip().lower()
    leaving_embargo = bool(level) and ACCESS_ALIASES.get(level, level) != "embargoed"
    if leaving_embargo and changes.get("embargo_until") in (None, "", record["embargo_until"]):
        # Moving out of an embargo drops its date (the web form sends the old one back).
        wanted["embargo_until"] = None
    if changes.get("title") == "":
        wanted["title"] = record["title"]  # a recording always has a title
    label = f"#{record['id']}"
    metadata = RecordingMetadata(**wanted).validate(label)
    if metadata.access != record["access"] or metadata.consent_notes != record["consent_notes"]:
        # Checked when access or consent change, so a typo in an older public interview
        # without a note can still be fixed.
        require_consent(metadata, label)
    return metadata


def _changes(
    record: dict[str, Any], people: dict[str, tuple[Person, ...]], metadata: RecordingMetadata
) -> list[Change]:
    """The fields whose value differs (an empty text and none count as the same)."""
    new_values = {
        "title": metadata.title,
        "narrators": _names(metadata.narrators),
        "interviewers": _names(metadata.interviewers),
        "recorded_date": metadata.recorded_date,
        "place": metadata.place,
        "language": metadata.language,
        "access": metadata.access,
        "embargo_until": metadata.embargo_until,
        "consent_notes": metadata.consent_notes,
        "notes": metadata.notes,
    }
    old_values = {
        **{k: record[k] for k in new_values if k not in ("narrators", "interviewers")},
        "narrators": _names(people["narrator"]),
        "interviewers": _names(people["interviewer"]),
    }
    return [
        Change(name, old_values[name], new_values[name])
        for name in EDITABLE
        if (old_values[name] or None) != (new_values[name] or None)
    ]


def _store_changes(
    archive: Archive,
    recording_id: int,
    metadata: RecordingMetadata,
    done: list[Change],
    *,
    author: str | None,
    source: str,
) -> None:
    """Write the changed fields and one ``edits`` row each, in one transaction."""
    from livingmemory.ingest.add import link_people

    now = utc_now()
    # The recording's own fields in one UPDATE: access and its embargo date are checked
    # together (a CHECK constraint), so "embargoed" cannot be written before its date.
    fields = [c for c in done if c.field not in ("narrators", "interviewers")]
    with archive.db.atomic():
        if fields:
            archive.db.execute(
                f"UPDATE recordings SET {', '.join(f'{c.field} = ?' for c in fields)} WHERE id = ?",
                [*(c.new for c in fields), recording_id],
            )
        for change in done:
            if change.field in ("narrators", "interviewers"):
                role = EDITABLE[change.field][0]
                archive.db.execute(
                    "DELETE FROM recording_people WHERE recording_id = ? AND role = ?",
                    [recording_id, role],
                )
                link_people(archive, recording_id, role, getattr(metadata, change.field))
            archive.db.table("edits").insert(
                {
                    "recording_id": recording_id,
                    "field": change.field,
                    "old_value": change.old,
                    "new_value": change.new,
                    "author": author,
                    "created_at": now,
                    "source": source,
                }
            )


def edit_history(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    return list(
        archive.db.query(
            "SELECT * FROM edits WHERE recording_id = ? ORDER BY id DESC", [recording_id]
        )
    )


def recording_tags(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """Tags of the current transcript: label, name, mentions, most mentioned first."""
    return list(
        archive.db.query(
            "SELECT e.label, coalesce(e.canonical, e.text) AS name, count(*) AS mentions "
            "FROM entities e JOIN segments s ON s.id = e.segment_id WHERE e.recording_id = ? "
            "AND s.transcript_id = (SELECT transcript_id FROM current_transcripts "
            "WHERE recording_id = ?) GROUP BY 1, 2 ORDER BY mentions DESC, name",
            [recording_id, recording_id],
        )
    )


def history(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """Transcript revisions, metadata edits and index point changes (their titles) of one
    recording, newest first."""
    archive.recording(recording_id)  # a clear error for an unknown id
    rows = list(
        archive.db.query(
            "SELECT created_at, author, 'transcript' AS what, start, old_text AS old, "
            "new_text AS new, id AS n, 0 AS kind FROM revisions WHERE recording_id = ? "
            "UNION ALL SELECT created_at, author, field, NULL, old_value, new_value, id, 1 "
            "FROM edits WHERE recording_id = ? "
            "UNION ALL SELECT created_at, author, 'index ' || action, "
            "json_extract(coalesce(new, old), '$.at'), json_extract(old, '$.title'), "
            "json_extract(new, '$.title'), id, 2 FROM index_point_revisions "
            "WHERE recording_id = ? ORDER BY created_at DESC, kind, n DESC",
            [recording_id, recording_id, recording_id],
        )
    )
    for row in rows:
        row.pop("n"), row.pop("kind")
    return rows


# -- states ---------------------------------------------------------------------------------


def published_ids(archive: Archive) -> set[int]:
    """Recordings in the published database (what the public site shows right now)."""
    path = public_dir(archive) / PUBLIC_DB
    if not path.is_file():
        return set()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {row[0] for row in conn.execute("SELECT id FROM recordings")}
        finally:
            conn.close()
    except sqlite3.Error:
        return set()


def interviews(
    archive: Archive, limit: int = 500, recording_id: int | None = None
) -> list[dict[str, Any]]:
    """The newest recordings (or one) with their pipeline state, for the workspace pages.

    Every sub-query is an indexed lookup by recording (no view over the whole archive).
    """
    where, params = ("WHERE r.id = ?", [recording_id]) if recording_id is not None else ("", [])
    rows = list(
        archive.db.query(
            f"""
            SELECT r.id, r.title, r.access, r.duration, r.recorded_date, r.place, r.language,
              r.review_status, r.added_at, r.added_by, r.language_status,
              {people_names_sql("narrator")} AS narrators,
              (SELECT j.status || ':' || j.progress FROM jobs j WHERE j.recording_id = r.id
                 AND j.status IN ('queued', 'running') ORDER BY j.id DESC LIMIT 1) AS job,
              (SELECT j.message FROM jobs j WHERE j.recording_id = r.id
                 ORDER BY j.id DESC LIMIT 1) AS job_message,
              (SELECT j.status FROM jobs j WHERE j.recording_id = r.id
                 ORDER BY j.id DESC LIMIT 1) AS last_job,
              (SELECT t.id FROM transcripts t WHERE t.recording_id = r.id AND t.source = 'human'
                 AND t.is_current = 1 AND t.finished_at IS NOT NULL
                 ORDER BY t.id DESC LIMIT 1) AS human_id,
              (SELECT t.id FROM transcripts t WHERE t.recording_id = r.id
                 AND t.source = 'machine' AND t.is_current = 1 AND t.finished_at IS NOT NULL
                 ORDER BY t.id DESC LIMIT 1) AS machine_id
            FROM recordings r {where} ORDER BY r.id DESC LIMIT ?
            """,
            [*params, limit],
        )
    )
    published = published_ids(archive)
    for row in rows:
        current = row["human_id"] or row["machine_id"]
        transcript = archive.db.table("transcripts").get(current) if current else None
        job = row.pop("job")
        row["progress"] = None
        if job:
            status, progress = job.split(":", 1)
            row["progress"] = float(progress) if status == "running" else None
            row["queued"] = status == "queued"
        row["suspect"] = (transcript or {}).get("suspect_segments") or 0
        row["names_not_heard"] = "names_not_heard" in ((transcript or {}).get("warnings") or "")
        row["state"] = _state(row, transcript, job, row["id"] in published)
        row["state_sl"], row["state_en"] = STATES[row["state"]]
    return rows


def _state(
    row: dict[str, Any], transcript: dict[str, Any] | None, job: str | None, published: bool
) -> str:
    if job:
        return "transcribing"
    if transcript is None:
        # detection could not tell the language: a volunteer must set it (see transcribe.py)
        return "language_uncertain" if row.get("language_status") == "uncertain" else "added"
    if published and row["access"] != "restricted":
        return "published"
    human = transcript["source"] == "human"
    if human and row["review_status"] == "complete":
        return "tagged" if transcript.get("tagged_version") else "reviewed"
    if human or (transcript.get("suspect_segments") or 0) > 0:
        return "needs_review"
    return "tagged" if transcript.get("tagged_version") else "transcribed"


# -- transcript corrections ---------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of the editor: the segment it corrects (``seg-N``), times, speaker, text."""

    start: float
    end: float
    text: str
    speaker: str | None = None
    id: str | None = None
    reviewed: bool = False


def editor_lines(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """The current transcript as editor lines, with suspect reasons, review marks and the
    overlap mark (another voice talks over the line: its words may be hard to hear)."""
    rows = archive.db.query(
        "SELECT s.id, s.start, s.end, s.speaker, s.text, s.flags, s.reviewed, s.words, "
        "s.overlap "
        "FROM segments s JOIN current_transcripts c ON c.transcript_id = s.transcript_id "
        "WHERE c.recording_id = ? ORDER BY s.start, s.position",
        [recording_id],
    )
    lines = []
    for row in rows:
        # The transcriber's own flags (quality.py, tuned on real speech) mark suspect lines.
        flags = json.loads(row["flags"]) if row["flags"] else []
        lines.append(
            {
                "id": f"seg-{row['id']}",
                "start": row["start"],
                "end": row["end"],
                "speaker": row["speaker"] or "",
                "text": row["text"],
                "flags": flags,
                "reviewed": bool(row["reviewed"]),
                "overlap": bool(row["overlap"]),
                # Word times (when the engine gave them) light up the word being heard.
                "words": _word_times(row["words"]),
            }
        )
    return lines


def _word_times(value: str | None) -> list[list[Any]]:
    """``[[start, end, word], …]`` from a segment's stored words (empty when it has none)."""
    try:
        words = json.loads(value) if value else []
    except ValueError:
        return []
    return [
        [w["start"], w["end"], str(w["word"]).strip()]
        for w in words
        if isinstance(w, dict)
        and w.get("start") is not None
        and w.get("end") is not None
        and str(w.get("word") or "").strip()
    ]


def parse_lines(data: Any) -> list[Line]:
    """Lines from the editor's JSON, checked (a bad request is refused as a whole)."""
    if not isinstance(data, list) or not data:
        raise LivingMemoryError("the transcript has no lines")
    lines = []
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise LivingMemoryError(f"line {number} is not an object")
        try:
            start, end = float(item["start"]), float(item["end"])
        except (KeyError, TypeError, ValueError):
            raise LivingMemoryError(f"line {number} has no valid start and end") from None
        if not 0 <= start < end:
            raise LivingMemoryError(f"line {number}: start must be before end")
        text = " ".join(str(item.get("text") or "").split())
        speaker = " ".join(str(item.get("speaker") or "").split()) or None
        ident = item.get("id")
        ident = ident if isinstance(ident, str) and ident.startswith("seg-") else None
        if text:
            lines.append(Line(start, end, text, speaker, ident, bool(item.get("reviewed"))))
    if not lines:
        raise LivingMemoryError("the transcript has no text")
    return lines


# Long: write, apply, then carry the reviewed marks and flags over: the editor's one save.
def save_transcript(
    archive: Archive,
    recording_id: int,
    lines: list[Line],
    *,
    author: str | None,
    note: str | None = None,
    retag: bool = True,
) -> dict[str, Any]:
    """Store the editor's lines as the recording's human transcript, like ``review --apply``.

    The lines are written as the same WebVTT review file ``review`` exports (recording id,
    audio hash and duration in its notes, ``seg-N`` cue ids) and applied with
    :func:`livingmemory.review.revisions.attach_transcript`: the machine text stays, every changed,
    split, merged or deleted line becomes a revision with its author. Lines marked reviewed
    keep that mark; when every line is reviewed the recording's review is complete. The
    interview is re-tagged so that search and publishing see the corrected names at once.
    """
    from livingmemory.formats import Cue, TranscriptDocument, dumps
    from livingmemory.formats.exports import transcript_document
    from livingmemory.review.revisions import attach_transcript

    ordered = sorted(lines, key=lambda line: (line.start, line.end))
    notes = transcript_document(archive, recording_id).notes
    document = TranscriptDocument(
        cues=[Cue(x.start, x.end, x.text, x.speaker, x.id) for x in ordered], notes=notes
    )
    with tempfile.TemporaryDirectory(prefix="livingmemory-editor-") as folder:
        path = Path(folder) / f"workspace-recording-{recording_id}.vtt"
        path.write_text(dumps(document, "vtt"), encoding="utf-8")
        result = attach_transcript(
            archive, recording_id, path, author=author, note=note or "workspace editor"
        )
    with archive.db.atomic():
        segments = [
            row["id"]
            for row in archive.db.query(
                "SELECT id FROM segments WHERE transcript_id = ? ORDER BY position",
                [result.transcript_id],
            )
        ]
        for segment_id, line in zip(segments, ordered, strict=False):
            if line.reviewed:  # a person vouched for it: the machine's doubts no longer apply
                archive.db.execute(
                    "UPDATE segments SET reviewed = 1, flags = NULL, suspect = 0 WHERE id = ?",
                    [segment_id],
                )
        # A line nobody touched keeps the machine's doubts until someone marks it reviewed.
        archive.db.execute(
            "UPDATE segments SET flags = (SELECT b.flags FROM segments b WHERE b.id = "
            "segments.based_on), suspect = 1 WHERE transcript_id = ? AND reviewed = 0 AND "
            "EXISTS (SELECT 1 FROM segments b WHERE b.id = segments.based_on AND "
            "b.flags IS NOT NULL AND b.text = segments.text)",
            [result.transcript_id],
        )
        complete = all(line.reviewed for line in ordered)
        archive.db.execute(
            "UPDATE recordings SET review_status = ? WHERE id = ?",
            ["complete" if complete else "in_progress", recording_id],
        )
    from livingmemory.review.revisions import refresh_warnings

    refresh_warnings(archive, recording_id)  # the lines just marked reviewed count too
    tags = retag_recording(archive, recording_id) if retag else None
    return {
        "transcript_id": result.transcript_id,
        "lines": result.cues,
        "changed": result.changed,
        "deleted": result.deleted,
        "complete": complete,
        "tags": tags,
    }


def retag_recording(archive: Archive, recording_id: int) -> int | None:
    """Tag the recording's current transcript; ``None`` when tagging is not installed."""
    try:
        from livingmemory.tagging.pipeline import tag_transcripts

        batch = tag_transcripts(archive, [recording_id])
    except ImportError:
        return None
    return sum(count for _, count in batch.tagged)


def stale_tag_ids(archive: Archive, ids: Iterable[int]) -> list[int]:
    """Recordings whose tags belong to an older transcript than the current one.

    After a correction the new human transcript is untagged while the machine one was
    tagged; publishing would then show no tags at all for that interview.
    """
    stale = []
    for recording_id in ids:
        current = archive.current_transcript(recording_id)
        if current is None or current.get("tagged_version"):
            continue
        tagged_before = archive.db.execute(
            "SELECT 1 FROM transcripts WHERE recording_id = ? AND tagged_version IS NOT NULL "
            "LIMIT 1",
            [recording_id],
        ).fetchone()
        if tagged_before:
            stale.append(recording_id)
    return stale


# -- the transcription queue ----------------------------------------------------------------


def queue_transcription(archive: Archive, ids: Iterable[int], by: str | None) -> list[int]:
    """Queue recordings that have no machine transcript and no open job; returns job ids."""
    jobs = []
    now = utc_now()
    with archive.db.atomic():
        for recording_id in ids:
            open_job = archive.db.execute(
                "SELECT 1 FROM jobs WHERE recording_id = ? AND status IN ('queued', 'running')",
                [recording_id],
            ).fetchone()
            done = archive.db.execute(
                "SELECT 1 FROM transcripts WHERE recording_id = ? AND source = 'machine' "
                "AND finished_at IS NOT NULL",
                [recording_id],
            ).fetchone()
            if open_job or done:
                continue
            job = archive.db.table("jobs").insert(
                {"recording_id": recording_id, "queued_at": now, "queued_by": by}
            )
            jobs.append(cast(int, job.last_pk))  # an insert of one row always sets last_pk
    return jobs


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_jobs(
    archive: Archive, worker: str, limit: int = 20, lease_seconds: int = LEASE_SECONDS
) -> list[dict[str, Any]]:
    """Take up to ``limit`` of the oldest queued jobs (or ones whose worker stopped
    reporting), atomically.

    ``BEGIN IMMEDIATE`` takes SQLite's write lock before reading, so two workers can never
    claim the same job. A batch shares one model load.
    """
    import datetime as dt

    stale_before = (
        dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=lease_seconds)
    ).isoformat(timespec="seconds")
    available = (
        "SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND "
        "heartbeat_at < ?) ORDER BY id LIMIT ?"
    )
    conn = archive.db.conn
    # A plain read first: an idle worker polling an empty queue never takes the write lock.
    if not conn.execute(available, [stale_before, 1]).fetchone():
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = [row[0] for row in conn.execute(available, [stale_before, limit])]
        now = utc_now()
        conn.executemany(
            "UPDATE jobs SET status = 'running', worker = ?, started_at = ?, heartbeat_at = ?, "
            "progress = 0, message = NULL WHERE id = ?",
            [(worker, now, now, job_id) for job_id in ids],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [archive.db.table("jobs").get(job_id) for job_id in ids]


def claim_job(
    archive: Archive, worker: str, lease_seconds: int = LEASE_SECONDS
) -> dict[str, Any] | None:
    """Take the oldest available job, atomically (see :func:`claim_jobs`)."""
    jobs = claim_jobs(archive, worker, 1, lease_seconds)
    return jobs[0] if jobs else None


class JobProgress:
    """Reports a batch's progress into its jobs for the interviews page.

    The job of the recording being transcribed gets its share of audio done; every job of
    the batch gets a fresh heartbeat (at most once a second), so none of them looks stale
    to another worker while it waits its turn. A finished recording's job is closed at once.
    """

    def __init__(self, archive: Archive, jobs: list[dict[str, Any]]) -> None:
        self.archive = archive
        self.jobs = {job["recording_id"]: job["id"] for job in jobs}
        self.current: int | None = None
        self.duration = 0.0
        self.done = 0.0
        self.last = 0.0
        self.finished_ids: dict[int, str] = {}

    def _write(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        now = utc_now()
        with self.archive.db.atomic():
            self.archive.db.execute(
                f"UPDATE jobs SET heartbeat_at = ? WHERE id IN "
                f"({','.join('?' * len(self.jobs))}) AND status = 'running'",
                [now, *self.jobs.values()],
            )
            if self.current in self.jobs:
                share = min(0.99, self.done / self.duration) if self.duration else 0.0
                self.archive.db.execute(
                    "UPDATE jobs SET progress = ? WHERE id = ?",
                    [round(share, 3), self.jobs[self.current]],
                )

    def begin(self, total_seconds: float, recordings: int) -> None:
        self._write(force=True)

    def recording(self, row: dict[str, Any]) -> None:
        self.current, self.duration, self.done = row["id"], float(row["duration"] or 0), 0.0
        self._write(force=True)

    def advance(self, seconds: float) -> None:
        self.done += seconds
        self._write()

    def finished(self, outcome: Any) -> None:
        job_id = self.jobs.get(outcome.recording_id)
        if job_id is None:
            return
        status = "done" if outcome.status == "transcribed" else "failed"
        self.finished_ids[outcome.recording_id] = status
        _finish_job(self.archive, job_id, status, outcome.message)


def _finish_job(archive: Archive, job_id: int, status: str, message: str) -> None:
    with archive.db.atomic():
        archive.db.execute(
            "UPDATE jobs SET status = ?, message = ?, finished_at = ?, progress = ? WHERE id = ?",
            [status, message, utc_now(), 1.0 if status == "done" else 0.0, job_id],
        )


def run_jobs(archive: Archive, jobs: list[dict[str, Any]], settings: Any = None) -> dict[int, str]:
    """Transcribe a batch of queued recordings with one model load (the same pipeline as
    ``transcribe``), then tag them; returns recording id -> "done" | "failed"."""
    from livingmemory.transcription.pipeline import transcribe_recordings

    progress = JobProgress(archive, jobs)
    ids = [job["recording_id"] for job in jobs]
    try:
        transcribe_recordings(archive, ids, settings, progress)
    except LivingMemoryError as error:  # no model, no engine: every job of the batch failed
        for job in jobs:
            if job["recording_id"] not in progress.finished_ids:
                _finish_job(archive, job["id"], "failed", str(error))
                progress.finished_ids[job["recording_id"]] = "failed"
    for job in jobs:  # transcribed meanwhile by someone else: nothing left to do
        if job["recording_id"] not in progress.finished_ids:
            _finish_job(archive, job["id"], "done", "already transcribed")
            progress.finished_ids[job["recording_id"]] = "done"
    for job in jobs:
        if progress.finished_ids[job["recording_id"]] == "done":
            tags = retag_recording(archive, job["recording_id"])
            if tags is not None:
                with archive.db.atomic():
                    archive.db.execute(
                        "UPDATE jobs SET message = coalesce(message, '') || ? WHERE id = ?",
                        [f", {tags} tags", job["id"]],
                    )
    return dict(progress.finished_ids)


def work_queue(
    archive: Archive,
    *,
    once: bool = False,
    poll_seconds: float = 2.0,
    batch: int = 20,
    settings: Any = None,
    on_job: Callable[[dict[str, Any], str], None] = lambda job, status: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Work the queue until it is empty (``once``) or forever; returns jobs worked."""
    worker = worker_name()
    worked = 0
    while not should_stop():
        jobs = claim_jobs(archive, worker, batch)
        if not jobs:
            if once:
                break
            time.sleep(poll_seconds)
            continue
        try:
            statuses = run_jobs(archive, jobs, settings)
        except BaseException:
            # Stopped (Ctrl-C): what was not finished goes back to the queue at once.
            with archive.db.atomic():
                archive.db.execute(
                    f"UPDATE jobs SET status = 'queued', progress = 0 WHERE status = 'running' "
                    f"AND id IN ({','.join('?' * len(jobs))})",
                    [job["id"] for job in jobs],
                )
            raise
        for job in jobs:
            worked += 1
            on_job(archive.db.table("jobs").get(job["id"]), statuses[job["recording_id"]])
    return worked


# -- accounts -------------------------------------------------------------------------------


def users_path(root: Path) -> Path:
    return Path(root) / USERS_FILE


def load_users(root: Path) -> dict[str, str]:
    """``users.yml`` next to the archive: one account per volunteer, name -> password hash."""
    path = users_path(root)
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise LivingMemoryError(f"{path}: not valid YAML") from None
    if not isinstance(data, dict):
        raise LivingMemoryError(f"{path}: must map each name to a password hash")
    return {str(name): str(value) for name, value in data.items()}


def set_password(root: Path, name: str, password: str) -> Path:
    """Add a volunteer's account (or change their password) in ``users.yml``."""
    from datasette_auth_passwords.utils import hash_password

    name = " ".join(name.split())
    if not name:
        raise LivingMemoryError("a user needs a name")
    if len(password) < 8:
        raise LivingMemoryError("the password must have at least 8 characters")
    users = load_users(root)
    users[name] = hash_password(password)
    path = users_path(root)
    return atomic_write_text(path, yaml.safe_dump(users, allow_unicode=True), mode=0o600)


def check_login(
    root: Path, shared_hash: str | None, name: str, password: str
) -> dict[str, Any] | None:
    """The actor for a name and password, or ``None``.

    With a users file, only its accounts log in. Without one, the team's shared password
    (``LIVINGMEMORY_PASSWORD``) logs in under the name the volunteer types, so every edit
    still says who made it.
    """
    from datasette_auth_passwords.utils import verify_password

    name = " ".join((name or "").split())
    if not name or not password:
        return None
    users = load_users(root)
    if users:
        stored = users.get(name)
        if stored and verify_password(password, stored):
            return {"id": name, "team": TEAM}
        return None
    if shared_hash and verify_password(password, shared_hash):
        return {"id": name, "team": TEAM}
    return None
