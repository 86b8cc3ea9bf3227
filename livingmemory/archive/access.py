"""What the public may see, and where it goes: publishable recordings, the public folder; of a
recording: redacted passages, speaker names, the public title.

One place for the rules that every public output applies alike (the public database, the
published audio, and every export format): a segment that overlaps a redacted passage is
left out entirely, with everything that points at it (words, tags, index-point keywords),
a title that is only the volunteer's file name is not shown (file names carry names,
dates and places the narrator may not have agreed to publish), and a machine transcript names
only the recording's own people as speakers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from livingmemory.archive.store import Archive

Span = tuple[float, float]

PUBLIC_DIR = "public"  # beside the archive: the public database and its audio
PUBLIC_DB = "public.db"
AUDIO_DIR = "recordings"  # inside PUBLIC_DIR


def public_dir(archive: Archive) -> Path:
    return archive.root / PUBLIC_DIR


def publishable(archive: Archive, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Recordings the public may hear: public ones, and embargoed ones whose date has passed."""
    today_iso = (today or dt.date.today()).isoformat()
    return list(
        archive.db.query(
            "SELECT * FROM recordings WHERE access = 'public' OR (access = 'embargoed' AND "
            "embargo_until IS NOT NULL AND embargo_until <= ?) ORDER BY id",
            [today_iso],
        )
    )


def redaction_spans(archive: Archive, recording_id: int) -> list[Span]:
    """The recording's redacted passages as ``(start, end)`` seconds, in time order."""
    return [
        (float(r["start"]), float(r["end"]))
        for r in archive.db.query(
            "SELECT start, end FROM redactions WHERE recording_id = ? ORDER BY start, end",
            [recording_id],
        )
    ]


def overlaps(start: float, end: float, spans: list[Span]) -> bool:
    """Whether ``start``-``end`` touches any span (a segment partly inside one is withheld:
    its words cannot be split reliably, and half a sentence can still say too much)."""
    return any(start < b and a < end for a, b in spans)


def visible_segments(
    archive: Archive, recording_id: int, segments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``segments`` without those a redaction touches (each needs ``start`` and ``end``), and
    without speaker names the public may not see (:func:`hidden_speakers`)."""
    spans = redaction_spans(archive, recording_id)
    hidden = hidden_speakers(archive, recording_id)
    return [
        public_speaker(s, hidden)
        for s in segments
        if not spans or not overlaps(s["start"], s["end"], spans)
    ]


def hidden_speakers(
    archive: Archive, recording_id: int, transcript: dict[str, Any] | None = None
) -> set[str]:
    """Speaker names that a stored voice of someone outside this recording put on its
    transcripts: not shown in public.

    Diarization now names only the recording's own people, but an archive labelled by an
    earlier version may carry a name matched from another interview's stored voice, someone
    who may be known only from a restricted one. Corrections keep the labels of the machine
    transcript they start from, so the rule covers every transcript of the recording. A name
    a person chose (``speakers --rename``, a speaker change in the editor or a review file) is
    the team's decision and stays. The rule reads only this recording's own rows, so an
    incremental publish sees every change that moves it (``transcript`` is accepted for
    callers that have it, and not needed).
    """
    rows = archive.db.query(
        "SELECT label FROM speaker_voices WHERE recording_id = :r AND method = 'voice' "
        "AND person_id NOT IN (SELECT person_id FROM recording_people WHERE recording_id = :r) "
        "AND label NOT IN (SELECT label FROM speaker_voices WHERE recording_id = :r "
        "AND method = 'manual') AND label NOT IN (SELECT new_speaker FROM revisions "
        "WHERE recording_id = :r AND new_speaker IS NOT old_speaker)",
        {"r": recording_id},
    )
    return {row["label"] for row in rows}


def public_speaker(segment: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """``segment`` without its speaker name when that name is hidden from the public."""
    if segment.get("speaker") in hidden:
        return {**segment, "speaker": None}
    return segment


def public_title(recording: dict[str, Any]) -> str:
    """The title the public sees: the volunteer's title, but never the file's name.

    ``add`` falls back to the file name when no title is given; such a title (``Novak
    Marija 1932 Jesenice.wav``) is replaced by a neutral ``Posnetek N`` (Slovenian first).
    """
    title = (recording.get("title") or "").strip()
    original = recording.get("original_filename") or ""
    if not title or (original and title in (original, Path(original).stem)):
        return f"Posnetek {recording['id']}"
    return title


# -- the interview index (issue 25) ----------------------------------------------------------

INDEX_POINT_COLUMNS = ("id", "recording_id", "at", "title", "partial_transcript", "synopsis",
                       "keywords", "subjects", "place", "lat", "lon", "links")  # fmt: skip
_JSON_LISTS = ("keywords", "subjects", "links")
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _word_set(text: str | None) -> set[str]:
    return {word.casefold() for word in _WORD_RE.findall(text or "")}


def redacted_words(archive: Archive, recording_id: int) -> set[str]:
    """Words said only inside the recording's redacted passages (in its current transcript):
    a volunteer's text that contains one may be quoting what was taken out."""
    spans = redaction_spans(archive, recording_id)
    if not spans:
        return set()
    inside: set[str] = set()
    outside: set[str] = set()
    for segment in archive.current_segments(recording_id):
        words = _word_set(segment["text"])
        (inside if overlaps(segment["start"], segment["end"], spans) else outside).update(words)
    return inside - outside


def public_index_points(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """The recording's index as the public may see it (:data:`INDEX_POINT_COLUMNS`, lists
    decoded): accepted points only, none inside a redacted passage, and no partial transcript
    that carries a word said only in one. Publishability of the recording is the caller's
    check (:func:`publishable`), as for its transcript."""
    if "index_points" not in archive.db.table_names():
        return []
    spans = redaction_spans(archive, recording_id)
    hidden = redacted_words(archive, recording_id)
    points = []
    for row in archive.db.query(
        f"SELECT {', '.join(INDEX_POINT_COLUMNS)} FROM index_points "
        "WHERE recording_id = ? AND status = 'accepted' ORDER BY at, id",
        [recording_id],
    ):
        if any(a <= row["at"] < b for a, b in spans):
            continue
        if hidden & _word_set(row["partial_transcript"]):
            row["partial_transcript"] = None
        for key in _JSON_LISTS:
            row[key] = json.loads(row[key] or "[]")
        points.append(row)
    return points
