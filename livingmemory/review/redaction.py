"""What the public may see of a recording: redacted passages and the public title.

One place for the rules that every public output applies alike (the public database, the
published audio, and every export format): a segment that overlaps a redacted passage is
left out entirely, with everything that points at it (words, tags, index-point keywords),
and a title that is only the volunteer's file name is not shown (file names carry names,
dates and places the narrator may not have agreed to publish).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livingmemory.archive.store import Archive

Span = tuple[float, float]


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
    """``segments`` without those a redaction touches (each needs ``start`` and ``end``)."""
    spans = redaction_spans(archive, recording_id)
    if not spans:
        return segments
    return [s for s in segments if not overlaps(s["start"], s["end"], spans)]


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
