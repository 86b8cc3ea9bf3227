"""Exports in the formats archives use: WebVTT, SRT, plain text, JSON, OHMS XML, Dublin Core.

Each export is built from the recording's current transcript (human corrections included)
and its tags: OHMS index points carry keywords (people, places, organisations), subjects
(topics) and GPS from the gazetteer; the Dublin Core catalogue lists the public recordings.

The formats are plug-ins (:mod:`livingmemory.plugins`): a format's ``export`` function gets an
:class:`ExportContext`, whose document and tags already leave redacted passages out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livingmemory.archive.access import (
    overlaps,
    public_index_points,
    public_title,
    publishable,
    redaction_spans,
    visible_segments,
)
from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError, quoted, write_text
from livingmemory.formats import Cue, TranscriptDocument, dublin_core_csv, export_formats
from livingmemory.formats import registered_formats as _registered_formats

if TYPE_CHECKING:
    from livingmemory.formats.base import Format

INDEX_POINT_SECONDS = 120.0  # one OHMS index point per two minutes of interview


def part_offset(archive: Archive, recording: dict[str, Any]) -> float:
    """Seconds before this part in a multi-part interview (tapes recorded one after another)."""
    if not recording.get("interview_key") or recording.get("part") is None:
        return 0.0
    row = archive.db.execute(
        "SELECT coalesce(sum(duration), 0) FROM recordings WHERE interview_key = ? AND part < ?",
        [recording["interview_key"], recording["part"]],
    ).fetchone()
    return float(row[0])


def transcript_document(
    archive: Archive,
    recording_id: int,
    *,
    interview_time: bool = False,
    redact: bool = False,
) -> TranscriptDocument:
    """The recording's current transcript as cues (with ``seg-<id>`` ids for review).

    ``redact`` leaves out every segment a redaction touches and uses the public title: what
    exports need. The review file keeps everything (the team corrects redacted passages too;
    leaving them out would make applying the file back delete them).
    """
    recording = archive.recording(recording_id)
    segments = archive.current_segments(recording_id)
    if not segments:
        raise LivingMemoryError(f"recording #{recording_id} has no transcript yet")
    if redact:
        segments = visible_segments(archive, recording_id, segments)
    offset = part_offset(archive, recording) if interview_time else 0.0
    cues = [
        Cue(
            s["start"] + offset,
            s["end"] + offset,
            s["text"],
            s["speaker"],
            f"seg-{s['id']}",
            bool(s.get("overlap")),
        )
        for s in segments
    ]
    notes = {
        "recording": str(recording_id),
        "sha256": recording["sha256"],
        "duration": f"{recording['duration']:.3f}",
        "title": public_title(recording) if redact else recording["title"] or "",
    }
    if offset:
        notes["interview"] = recording["interview_key"]
        notes["offset"] = f"{offset:.3f}"
    return TranscriptDocument(cues=cues, notes=notes)


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


@dataclass(frozen=True)
class ExportContext:
    """What a format's ``export`` sees of one recording.

    Exports leave the archive, so they are public outputs: ``document`` and every method
    here leave redacted passages out (with their words and tags).
    """

    archive: Archive
    recording: dict[str, Any]
    document: TranscriptDocument  # the current transcript, redacted
    offset: float = 0.0  # added to times: the part's start in a multi-part interview

    def entities(self) -> list[dict[str, Any]]:
        """Tags of the current transcript, in time order, with ``segment_id``, label, text,
        canonical, value, confidence, source, start_seconds and the place's coordinates."""
        return _entities(self.archive, self.recording["id"])

    def words(self) -> dict[int, list[dict[str, Any]]]:
        """Word timings by segment id, for the segments in :attr:`document`."""
        cue_ids = {cue.id for cue in self.document.cues}
        return {
            row["id"]: json.loads(row["words"])
            for row in self.archive.db.query(
                "SELECT id, words FROM segments WHERE recording_id = ? AND words IS NOT NULL",
                [self.recording["id"]],
            )
            if f"seg-{row['id']}" in cue_ids
        }

    def index_points(self) -> list[dict[str, Any]]:
        """The transcript in two-minute stretches, each with its tags (see :func:`index_points`)."""
        return index_points(self.archive, self.recording["id"], self.offset)

    def people_index(self) -> list[dict[str, Any]] | None:
        """The index people wrote (accepted points, as the public may see them: see
        :func:`~livingmemory.archive.access.public_index_points`) in the shape of
        :func:`index_points`, or None when the recording has none."""
        points = public_index_points(self.archive, self.recording["id"])
        if not points:
            return None
        return [
            {
                "time": p["at"] + self.offset,
                "title": p["title"],
                "partial_transcript": p["partial_transcript"],
                "synopsis": p["synopsis"],
                "keywords": p["keywords"],
                "subjects": p["subjects"],
                "gps": f"{p['lat']}, {p['lon']}" if p["lat"] is not None else None,
                "gps_text": p["place"],
                "links": p["links"],
            }
            for p in points
        ]

    def people(self, role: str) -> list[str]:
        """Names of the recording's people in ``role`` (narrator, interviewer...)."""
        return self.archive.people_names(self.recording["id"], role)

    def title(self) -> str:
        """The public title (never a bare file name)."""
        return public_title(self.recording)


def _export_format(fmt: str) -> Format:
    format_ = _registered_formats().get(fmt)
    if format_ is None or (format_.export is None and format_.dumps is None):
        raise LivingMemoryError(f"unknown format {quoted(fmt)} (use {', '.join(export_formats())})")
    return format_


def export_recording(
    archive: Archive, recording_id: int, fmt: str, *, interview_time: bool = False
) -> str:
    """One recording's transcript in ``fmt`` (see :func:`livingmemory.formats.export_formats`).

    Exports leave the archive, so they are public outputs: redacted passages are left out
    (with their words and tags) and a title that is only the file name is replaced.
    """
    format_ = _export_format(fmt)
    recording = archive.recording(recording_id)
    document = transcript_document(
        archive, recording_id, interview_time=interview_time, redact=True
    )
    offset = part_offset(archive, recording) if interview_time else 0.0
    if format_.export is not None:
        return format_.export(ExportContext(archive, recording, document, offset))
    assert format_.dumps is not None  # _export_format checked
    return format_.dumps(document)


def export_all(archive: Archive, fmt: str, output: Path) -> list[Path]:
    """Every *public* recording with a transcript, one file each, into ``output``."""
    format_ = _export_format(fmt)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LivingMemoryError(f"{output}: cannot create folder ({error.strerror})") from None
    written = []
    for recording in publishable(archive):
        if archive.current_transcript(recording["id"]) is None:
            continue
        path = output / f"recording-{recording['id']}{format_.extension}"
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


def __getattr__(name: str) -> Any:
    # The constants of earlier versions, now read from the plug-ins on each access.
    if name == "EXPORT_FORMATS":
        return export_formats()
    if name == "EXTENSIONS":
        return {key: f.extension for key, f in _registered_formats().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
