"""Exports in the formats archives use: WebVTT, SRT, plain text, JSON, OHMS XML, Dublin Core.

Each export is built from the recording's current transcript (human corrections included)
and its tags: OHMS index points carry keywords (people, places, organisations), subjects
(topics) and GPS from the gazetteer; the Dublin Core catalogue lists the public recordings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError, write_text
from livingmemory.formats import dublin_core_csv, dumps, dumps_json, ohms_xml
from livingmemory.review.redaction import overlaps, public_title, redaction_spans, visible_segments
from livingmemory.review.revisions import part_offset, transcript_document
from livingmemory.site.publish import publishable

EXPORT_FORMATS = ("vtt", "srt", "txt", "json", "ohms")
EXTENSIONS = {"vtt": ".vtt", "srt": ".srt", "txt": ".txt", "json": ".json", "ohms": ".xml"}
INDEX_POINT_SECONDS = 120.0  # one OHMS index point per two minutes of interview


def _entities(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """Tags in the current transcript, except those in redacted segments."""
    spans = redaction_spans(archive, recording_id)
    rows = list(
        archive.db.query(
            "SELECT e.segment_id, e.label, e.text, e.canonical, e.value, e.start_seconds, "
            "e.confidence, e.source, p.latitude, p.longitude, s.start AS segment_start, "
            "s.end AS segment_end FROM entities e "
            "JOIN segments s ON s.id = e.segment_id "
            "JOIN current_transcripts c ON c.transcript_id = s.transcript_id "
            "LEFT JOIN places p ON p.id = e.place_id WHERE e.recording_id = ? "
            "ORDER BY e.start_seconds",
            [recording_id],
        )
    )
    return [r for r in rows if not overlaps(r["segment_start"], r["segment_end"], spans)]


def index_points(archive: Archive, recording_id: int, offset: float = 0.0) -> list[dict]:
    """OHMS index points: the transcript in two-minute stretches, each with its tags
    (redacted segments left out)."""
    segments = visible_segments(archive, recording_id, archive.current_segments(recording_id))
    entities = _entities(archive, recording_id)
    points: list[dict[str, Any]] = []
    chunk: list[dict[str, Any]] = []

    def close() -> None:
        if not chunk:
            return
        ids = {s["id"] for s in chunk}
        tags = [e for e in entities if e["segment_id"] in ids]
        keywords = list(dict.fromkeys(
            e["canonical"] for e in tags if e["label"] in ("PER", "LOC", "ORG")
        ))  # fmt: skip
        subjects = list(dict.fromkeys(e["canonical"] for e in tags if e["label"] == "TOPIC"))
        placed = next((e for e in tags if e["latitude"] is not None), None)
        text = " ".join(s["text"] for s in chunk)
        points.append(
            {
                "time": chunk[0]["start"] + offset,
                "title": " ".join(text.split()[:8]) + ("…" if len(text.split()) > 8 else ""),
                "partial_transcript": " ".join(text.split()[:25]),
                "synopsis": text[:400],
                "keywords": keywords,
                "subjects": subjects,
                "gps": f"{placed['latitude']}, {placed['longitude']}" if placed else None,
                "gps_text": placed["canonical"] if placed else None,
            }
        )
        chunk.clear()

    for segment in segments:
        if chunk and segment["start"] - chunk[0]["start"] >= INDEX_POINT_SECONDS:
            close()
        chunk.append(segment)
    close()
    return points


# Long: JSON and OHMS add the interview's metadata to the same redacted document.
def export_recording(
    archive: Archive, recording_id: int, fmt: str, *, interview_time: bool = False
) -> str:
    """One recording's transcript in ``fmt`` (see :data:`EXPORT_FORMATS`).

    Exports leave the archive, so they are public outputs: redacted passages are left out
    (with their words and tags) and a title that is only the file name is replaced.
    """
    if fmt not in EXPORT_FORMATS:
        raise LivingMemoryError(f"unknown format {fmt!r} (use {', '.join(EXPORT_FORMATS)})")
    recording = archive.recording(recording_id)
    document = transcript_document(
        archive, recording_id, interview_time=interview_time, redact=True
    )
    offset = part_offset(archive, recording) if interview_time else 0.0
    if fmt == "json":
        extras: dict[str, dict[str, Any]] = {}
        words = {
            r["id"]: json.loads(r["words"])
            for r in archive.db.query(
                "SELECT id, words FROM segments WHERE recording_id = ? AND words IS NOT NULL",
                [recording_id],
            )
        }
        for entity in _entities(archive, recording_id):
            key = f"seg-{entity['segment_id']}"
            extras.setdefault(key, {}).setdefault("entities", []).append(
                {
                    k: entity[k]
                    for k in (
                        "label",
                        "text",
                        "canonical",
                        "value",
                        "confidence",
                        "source",
                        "start_seconds",
                    )
                }
            )
        for segment_id, segment_words in words.items():
            key = f"seg-{segment_id}"
            if any(c.id == key for c in document.cues):
                extras.setdefault(key, {})["words"] = segment_words
        return dumps_json(document, extras)
    if fmt == "ohms":
        entities = _entities(archive, recording_id)
        interview = {
            "id": str(recording_id),
            "title": public_title(recording),
            "date": recording["recorded_date"],
            "duration": recording["duration"],
            "interviewees": archive.people_names(recording_id, "narrator"),
            "interviewers": archive.people_names(recording_id, "interviewer"),
            "keywords": list(
                dict.fromkeys(
                    e["canonical"] for e in entities if e["label"] in ("PER", "LOC", "ORG")
                )
            ),
            "subjects": list(
                dict.fromkeys(e["canonical"] for e in entities if e["label"] == "TOPIC")
            ),
            "language": recording["language"],
            "description": recording["place"] and f"Recorded in {recording['place']}",
        }
        return ohms_xml(interview, document, index_points(archive, recording_id, offset))
    return dumps(document, fmt)


def export_all(archive: Archive, fmt: str, output: Path) -> list[Path]:
    """Every *public* recording with a transcript, one file each, into ``output``."""
    if fmt not in EXPORT_FORMATS:
        raise LivingMemoryError(f"unknown format {fmt!r} (use {', '.join(EXPORT_FORMATS)})")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LivingMemoryError(f"{output}: cannot create folder ({error.strerror})") from None
    written = []
    for recording in publishable(archive):
        if archive.current_transcript(recording["id"]) is None:
            continue
        path = output / f"recording-{recording['id']}{EXTENSIONS[fmt]}"
        write_text(path, export_recording(archive, recording["id"], fmt))
        written.append(path)
    return written


def catalogue(archive: Archive) -> str:
    """A Dublin Core CSV of the public catalogue."""
    rows = []
    for recording in publishable(archive):
        # Topics of the current transcript only, and none from a redacted passage.
        topics = sorted(
            {
                e["canonical"]
                for e in _entities(archive, recording["id"])
                if e["label"] == "TOPIC" and e["canonical"]
            }
        )
        rows.append(
            {
                "identifier": f"livingmemory:{recording['id']}",
                "title": public_title(recording),
                "narrators": archive.people_names(recording["id"], "narrator"),
                "interviewers": archive.people_names(recording["id"], "interviewer"),
                "date": recording["recorded_date"],
                "place": recording["place"],
                "language": recording["language"],
                "format": recording["format"],
                "duration": recording["duration"],
                "topics": topics,
            }
        )
    return dublin_core_csv(rows)
