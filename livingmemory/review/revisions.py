"""Human review: corrections that never overwrite, a queue, statuses, imports and exports.

Oral-history practice is that people check machine transcripts of elderly dialect speakers
and correct them. A reviewed (or imported) transcript is stored as a new *human* transcript:
its segments point at the machine segments they correct (``based_on``) and every changed,
split, merged or deleted cue adds a ``revisions`` row (old and new text and speaker, who,
when, note). The machine text stays as it was; a later machine run is kept beside the
corrections, and the human transcript stays current (see the ``current_transcripts`` view).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from livingmemory.archive.store import Archive, utc_now
from livingmemory.errors import InputError, LivingMemoryError, quoted, write_text
from livingmemory.formats import Cue, TranscriptDocument, dumps, read_file
from livingmemory.formats.exports import transcript_document

STATUSES = ("pending", "in_progress", "ready_for_qc", "complete")
# A file may end a little after the recording (rounding, padding); more means another file.
DURATION_TOLERANCE = 1.0


@dataclass
class ApplyResult:
    transcript_id: int
    cues: int
    changed: int
    deleted: int
    already_applied: bool = False  # the current human transcript says exactly this already


def export_review(archive: Archive, recording_id: int, output: Path) -> Path:
    """Write the current transcript as WebVTT for editing; marks the recording in progress."""
    document = transcript_document(archive, recording_id)
    write_text(output, dumps(document, "vtt"))
    with archive.db.atomic():
        archive.db.execute(
            "UPDATE recordings SET review_status = 'in_progress' WHERE id = ? "
            "AND review_status = 'pending'",
            [recording_id],
        )
    return output


def _check_matches(recording: dict[str, Any], document: TranscriptDocument, path: Path) -> None:
    notes = document.notes
    if notes.get("recording") and notes["recording"] != str(recording["id"]):
        raise InputError(
            path, f"this file is for recording #{notes['recording']}, not #{recording['id']}"
        )
    if notes.get("sha256") and notes["sha256"] != recording["sha256"]:
        raise InputError(path, f"this file was made from different audio than #{recording['id']}")
    # Our own files say which recording they were made from; only then is their duration
    # note the audio's length (a Transcriber file's section end is where speech stops).
    ours = bool(notes.get("recording") or notes.get("sha256"))
    if ours and notes.get("duration"):
        try:
            duration = float(notes["duration"])
        except ValueError:
            duration = recording["duration"]
        if abs(duration - recording["duration"]) > DURATION_TOLERANCE:
            raise InputError(
                path,
                f"this file is for a recording of {duration:.1f} s; "
                f"#{recording['id']} lasts {recording['duration']:.1f} s",
            )
    if not document.cues:
        raise InputError(path, "no cues in the file")
    last = max(cue.end for cue in document.cues)
    if last > recording["duration"] + DURATION_TOLERANCE:
        raise InputError(
            path,
            f"a cue ends at {last:.1f} s but recording #{recording['id']} lasts "
            f"{recording['duration']:.1f} s (wrong recording?)",
        )


def _same_cues(segments: Any, cues: list[Cue]) -> bool:
    """Whether ``cues`` say exactly what ``segments`` say (text, speaker, times to 1 ms)."""

    def key(start: float, end: float, text: str, speaker: str | None) -> tuple:
        return (round(start, 3), round(end, 3), text, speaker or None)

    stored = sorted(key(s["start"], s["end"], s["text"], s["speaker"]) for s in segments)
    return stored == sorted(key(c.start, c.end, c.text, c.speaker) for c in cues)


def _base_segment(cue: Cue, base: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The machine/previous segment a cue corrects: by its ``seg-N`` id, else by overlap."""
    if cue.id and cue.id.startswith("seg-") and cue.id[4:].isdigit():
        found = base.get(int(cue.id[4:]))
        if found:
            return found
    best, best_overlap = None, 0.0
    for segment in base.values():
        overlap = min(cue.end, segment["end"]) - max(cue.start, segment["start"])
        if overlap > best_overlap:
            best, best_overlap = segment, overlap
    return best


def attach_transcript(
    archive: Archive,
    recording_id: int,
    path: Path,
    *,
    author: str | None = None,
    note: str | None = None,
    fmt: str | None = None,
) -> ApplyResult:
    """Store ``path`` (an edited review file or an existing human transcript) as the
    recording's current human transcript, recording every change as a revision.

    A file that does not match the recording (another recording's id or audio hash, another
    duration, cues past the end) is refused and nothing changes.
    """
    recording = archive.recording(recording_id)
    document = read_file(path) if fmt is None else _read_as(path, fmt)
    _check_matches(recording, document, path)
    base = {s["id"]: s for s in archive.current_segments(recording_id)}
    current = archive.current_transcript(recording_id)
    if current and current["source"] == "human" and _same_cues(base.values(), document.cues):
        # Applied already (e.g. again after a crash, not knowing whether it went in): a second
        # identical human transcript would only double the history.
        return ApplyResult(current["id"], len(document.cues), 0, 0, already_applied=True)
    now = utc_now()
    matched: set[int] = set()
    changed = 0
    with archive.db.atomic():
        transcript_id = _new_human_transcript(archive, recording, current, path, author, note, now)
        for position, cue in enumerate(sorted(document.cues, key=lambda c: (c.start, c.end))):
            segment = _base_segment(cue, base)
            segment_id = _insert_cue(archive, recording_id, transcript_id, position, cue, segment)
            if segment:
                matched.add(segment["id"])
            if not _unchanged(segment, cue):
                changed += 1
                _revision(archive, recording_id, transcript_id, segment_id, segment, cue,
                          author, now, note, path)  # fmt: skip
        deleted = [s for s in base.values() if s["id"] not in matched]
        for segment in deleted:
            _revision(archive, recording_id, transcript_id, None, segment, None, author, now,
                      note, path)  # fmt: skip
        archive.db.execute(
            "UPDATE recordings SET review_status = 'in_progress' WHERE id = ? "
            "AND review_status = 'pending'",
            [recording_id],
        )
    refresh_warnings(archive, recording_id)
    return ApplyResult(transcript_id, len(document.cues), changed, len(deleted))


def refresh_warnings(archive: Archive, recording_id: int) -> None:
    """Recompute the current transcript's warnings and suspect-line count.

    Transcription judges its own text once; after a correction (a name made audible, a
    line marked reviewed) or a change of the people named in the metadata, the warnings
    the workspace, ``review --queue`` and the "Objavi" preview show must follow the
    transcript people now read, not the machine's first guess.
    """
    current = archive.current_transcript(recording_id)
    if current is None:
        return
    try:  # the transcription extra; without it there were no machine warnings to correct
        from livingmemory.transcription.quality import names_heard, untrusted
    except ImportError:
        return
    rows = archive.db.execute(
        "SELECT text, flags, suspect FROM segments WHERE transcript_id = ?", [current["id"]]
    ).fetchall()
    record = archive.recording(recording_id)
    expected = [
        *archive.people_names(recording_id),
        *([record["place"]] if record["place"] else []),
    ]
    heard = names_heard([text for text, flags, _ in rows if not untrusted(flags)], expected)
    kept = [w for w in json.loads(current.get("warnings") or "[]") if w != "names_not_heard"]
    warnings = kept + (["names_not_heard"] if expected and not any(heard.values()) else [])
    with archive.db.atomic():
        archive.db.execute(
            "UPDATE transcripts SET warnings = ?, suspect_segments = ? WHERE id = ?",
            [json.dumps(warnings) if warnings else None, sum(r[2] == 1 for r in rows),
             current["id"]],
        )  # fmt: skip


def _new_human_transcript(
    archive: Archive,
    recording: dict[str, Any],
    current: dict[str, Any] | None,
    path: Path,
    author: str | None,
    note: str | None,
    now: str,
) -> int:
    """A new current human transcript (the earlier human one stops being current)."""
    archive.db.execute(
        "UPDATE transcripts SET is_current = 0 WHERE recording_id = ? AND source = 'human'",
        [recording["id"]],
    )
    return cast(  # an insert of one row always sets last_pk
        int,
        archive.db.table("transcripts")
        .insert(
            {
                "recording_id": recording["id"],
                "source": "human",
                "engine": "review",
                "language": (current or {}).get("language") or recording["language"],
                "options": json.dumps({"file": path.name, "author": author, "note": note}),
                "started_at": now,
                "finished_at": now,
                "audio_seconds": recording["duration"],
                "is_current": 1,
            }
        )
        .last_pk,
    )


def _insert_cue(
    archive: Archive,
    recording_id: int,
    transcript_id: int,
    position: int,
    cue: Cue,
    segment: dict[str, Any] | None,
) -> int:
    """One cue as a segment of the human transcript, linked to the machine segment it
    corrects (``based_on``). Overlapped speech is a fact of the audio, not of the words: the
    cue keeps the mark of the segment it corrects (the editor's file has no field for it)."""
    return cast(
        int,
        archive.db.table("segments")
        .insert(
            {
                "transcript_id": transcript_id,
                "recording_id": recording_id,
                "position": position,
                "start": round(cue.start, 3),
                "end": round(cue.end, 3),
                "text": cue.text,
                "speaker": cue.speaker,
                "based_on": segment["id"] if segment else None,
                "suspect": 0,
                "overlap": int(cue.overlap or bool(segment and segment.get("overlap"))),
            }
        )
        .last_pk,
    )


def _unchanged(segment: dict[str, Any] | None, cue: Cue) -> bool:
    """The cue says what the segment said, by the same speaker, at the same times (10 ms)."""
    return segment is not None and (
        segment["text"] == cue.text
        and (segment["speaker"] or None) == (cue.speaker or None)
        and abs(segment["start"] - cue.start) < 0.01
        and abs(segment["end"] - cue.end) < 0.01
    )


def _revision(
    archive: Archive,
    recording_id: int,
    transcript_id: int,
    segment_id: int | None,
    base: dict[str, Any] | None,
    cue: Cue | None,
    author: str | None,
    now: str,
    note: str | None,
    path: Path,
) -> None:
    archive.db.table("revisions").insert(
        {
            "recording_id": recording_id,
            "transcript_id": transcript_id,
            "segment_id": segment_id,
            "based_on": base["id"] if base else None,
            "old_text": base["text"] if base else None,
            "new_text": cue.text if cue else None,
            "old_speaker": base["speaker"] if base else None,
            "new_speaker": cue.speaker if cue else None,
            "start": cue.start if cue else base["start"] if base else None,
            "end": cue.end if cue else base["end"] if base else None,
            "author": author,
            "created_at": now,
            "note": note,
            "source_file": path.name,
        }
    )


def _read_as(path: Path, fmt: str) -> TranscriptDocument:
    from livingmemory.formats import loads

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read ({error})") from None
    return loads(text, fmt, source=path)


def set_status(archive: Archive, recording_id: int, status: str) -> None:
    if status not in STATUSES:
        raise LivingMemoryError(f"unknown status {quoted(status)} (use {', '.join(STATUSES)})")
    archive.recording(recording_id)
    with archive.db.atomic():
        archive.db.execute(
            "UPDATE recordings SET review_status = ? WHERE id = ?", [status, recording_id]
        )


def review_queue(archive: Archive, limit: int = 20) -> list[dict[str, Any]]:
    """Segments most in need of a human: suspect flags, low confidence, unsure tags.

    Score: 2 per suspect flag, up to 2 more for low average log-probability, 1 per tag the
    tagger was unsure of (below ``Thresholds.unsure_tag_confidence``). Segments whose
    words were not heard at all (prompt echoes, loops:
    :data:`~livingmemory.transcription.quality.UNTRUSTED_FLAGS`) come before everything else.
    """
    # numpy: an extra, needed only here
    from livingmemory.transcription.quality import THRESHOLDS, untrusted

    low = THRESHOLDS.low_avg_logprob

    rows = archive.db.query(
        """
        SELECT s.id AS segment_id, s.recording_id, r.title, s.start, s.end, s.text, s.flags,
               s.avg_logprob,
               (SELECT count(*) FROM entities e WHERE e.segment_id = s.id
                  AND e.source = 'machine' AND e.confidence < ?) AS unsure_tags
        FROM segments s
        JOIN current_transcripts c ON c.transcript_id = s.transcript_id
        JOIN recordings r ON r.id = s.recording_id
        WHERE r.review_status != 'complete'
        """,
        [THRESHOLDS.unsure_tag_confidence],
    )
    scored = []
    for row in rows:
        flags = json.loads(row["flags"]) if row["flags"] else []
        logprob = row["avg_logprob"]
        score = 2 * len(flags) + row["unsure_tags"] + (10 if untrusted(flags) else 0)
        if logprob is not None and logprob < low:
            score += min(2.0, (low - logprob) * 2)
        if score > 0:
            reasons = flags + (["unsure tags"] if row["unsure_tags"] else [])
            if logprob is not None and logprob < low and "low_confidence" not in flags:
                reasons.append(f"avg log-probability {logprob:.2f}")
            scored.append({**row, "flags": flags, "reasons": reasons, "score": round(score, 2)})
    scored.sort(key=lambda r: (-r["score"], r["recording_id"], r["start"]))
    return scored[:limit]


def recordings_needing_attention(archive: Archive) -> list[dict[str, Any]]:
    """Recordings a volunteer must look at before any segment: those whose language detection
    could not settle (not transcribed at all), and those where nobody and nothing named in
    the metadata is heard in the machine transcript (often the wrong language or tape)."""
    rows = archive.db.query(
        "SELECT id AS recording_id, title, state, language_status, warnings "
        "FROM recording_status WHERE language_status = 'uncertain' AND state = "
        "'language uncertain' OR warnings LIKE '%names_not_heard%' ORDER BY id"
    )
    return [
        {
            **row,
            "reason": "language uncertain: set it (transcribe ID --language CODE)"
            if row["state"] == "language uncertain"
            else "nobody named in the metadata is heard: check the transcript",
        }
        for row in rows
    ]
