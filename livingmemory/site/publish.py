"""Publishing: the public database and audio that Datasette serves to schools and researchers.

Only recordings whose access level is public, or whose embargo has passed, go in, with their
current transcript, tags, places and people. Restricted and embargoed interviews, consent
notes, internal notes, source paths and the archive team's names are absent from the file,
not hidden; the database is built from scratch each time (no free pages holding old rows).
Redacted passages are cut from the text, the search index and the play links, and silenced
in the published audio. The new database is written beside the old one and renamed over it,
so a running site never sees half a database; audio files no longer public are then removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from livingmemory.archive.audio import ff_input, require_ffmpeg
from livingmemory.archive.concurrency import process_alive
from livingmemory.archive.files import partial_path
from livingmemory.archive.fixity import check_source
from livingmemory.archive.store import Archive, current_user, utc_now
from livingmemory.errors import LivingMemoryError
from livingmemory.review.redaction import (
    Span,
    hidden_speakers,
    overlaps,
    public_speaker,
    public_title,
    redaction_spans,
)
from livingmemory.site.pages import build_browse_index

PUBLIC_DIR = "public"
PUBLIC_DB = "public.db"
AUDIO_DIR = "recordings"
AUDIO_ROUTE = "/-/audio/"
# What of a person is public: their notes (and anything added later) never are.
PUBLIC_PERSON = ("id", "name", "birth_year", "home_place")


@dataclass
class PublishResult:
    database: Path
    recordings: list[int] = field(default_factory=list)
    withheld: int = 0
    segments: int = 0
    redacted_segments: int = 0
    removed_audio: int = 0


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


# Public audio by codec: (extension, ffmpeg muxer, encoder when a redaction re-encodes it).
# The extension comes from what the file *is*, not what it was called (a FLAC named .mp3
# would be served as audio/mpeg), and a redacted recording keeps its codec (Opus stays Opus).
PUBLIC_CODECS: dict[str, tuple[str, str, str]] = {
    "opus": (".opus", "ogg", "libopus"),
    "vorbis": (".ogg", "ogg", "libvorbis"),
    "mp3": (".mp3", "mp3", "libmp3lame"),
    "flac": (".flac", "flac", "flac"),
    "aac": (".m4a", "ipod", "aac"),
    "alac": (".m4a", "ipod", "alac"),
}
_CODEC_BY_SUFFIX = {".wav": "pcm_s16le", ".flac": "flac", ".mp3": "mp3", ".ogg": "vorbis",
                    ".oga": "vorbis", ".opus": "opus", ".m4a": "aac", ".aac": "aac"}  # fmt: skip
# Anything else (WMA, AMR...) is re-encoded losslessly as FLAC, which every browser plays.
_FALLBACK = (".flac", "flac", "flac")


def public_codec(recording: dict[str, Any]) -> tuple[str, str, str, bool]:
    """``(extension, muxer, encoder, can_copy)`` for a recording's public copy."""
    codec = recording.get("codec") or _CODEC_BY_SUFFIX.get(
        Path(recording["file_path"]).suffix.lower(), ""
    )
    if codec.startswith("pcm_"):
        return ".wav", "wav", codec, True
    if codec in PUBLIC_CODECS:
        return (*PUBLIC_CODECS[codec], True)
    return (*_FALLBACK, False)


def _publish_audio(
    source: Path,
    target: Path,
    spans: list[Span],
    recording: dict[str, Any],
    *,
    overwrite: bool = False,
    staged: list[tuple[Path, Path]] | None = None,
) -> None:
    """Write the public copy: the audio stream only, with no tags, pictures or chapters.

    Volunteers' files carry ID3/Vorbis comments, cover pictures and encoder notes (names,
    phone numbers, "do not publish"); none of it is copied. Without redactions the stream is
    copied as it is (no quality lost); redacted spans are silenced per sample and the audio
    re-encoded with the same codec.

    With ``staged``, the copy is left under its hidden partial name (which the audio route
    never serves) and ``(partial, target)`` is appended: :func:`publish` moves it into place
    only after the new database is in place, so a crash never leaves audio in the public
    folder that the public database does not list.
    """
    if target.exists() and not overwrite:
        return
    ffmpeg, _ = require_ffmpeg()
    _, muxer, encoder, can_copy = public_codec(recording)
    partial = partial_path(target)
    command = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", ff_input(source),
               "-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1",
               "-fflags", "+bitexact", "-flags:a", "+bitexact"]  # fmt: skip
    if spans:
        # Per sample: volume's enable= works per frame and left ~24 ms of a passage audible.
        inside = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in spans)
        command += ["-af", f"aeval=exprs='val(ch)*not({inside})':c=same", "-c:a", encoder]
        if recording.get("bit_rate") and encoder in ("libopus", "libvorbis", "libmp3lame", "aac"):
            command += ["-b:a", str(int(recording["bit_rate"]))]
    else:
        command += ["-c:a", "copy" if can_copy else encoder]
    if muxer == "mp3":
        command += ["-id3v2_version", "0", "-write_id3v1", "0"]
    command += ["-f", muxer, ff_input(partial)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        problem = (result.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
        raise LivingMemoryError(f"{source}: could not make the public copy ({problem})")
    if staged is None:
        os.replace(partial, target)
    else:
        staged.append((partial, target))


def publish(
    archive: Archive, output: Path | None = None, *, today: dt.date | None = None
) -> PublishResult:
    """Build the public database (and its audio folder) from the archive, atomically."""
    output = Path(output) if output else public_dir(archive) / PUBLIC_DB
    output.parent.mkdir(parents=True, exist_ok=True)
    audio_dir = output.parent / AUDIO_DIR
    audio_dir.mkdir(exist_ok=True)
    recordings = publishable(archive, today)
    _retag_corrections(archive, [r["id"] for r in recordings])
    total = archive.db["recordings"].count
    result = PublishResult(output, withheld=total - len(recordings))

    # Copies made by a release that did not strip tags are made again (same names).
    regenerate = _audio_generation(output) < AUDIO_GENERATION
    _check_sources(archive, recordings, audio_dir, hash_all=regenerate)
    _remove_stale_temporaries(output.parent)
    handle, temp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".db", dir=output.parent
    )
    os.close(handle)
    temp = Path(temp_name)
    staged: list[tuple[Path, Path]] = []
    try:
        public = sqlite_utils.Database(temp, recreate=True)
        _create_schema(public)
        keep_audio: set[str] = set()
        with public.atomic():
            for recording in recordings:
                _copy_recording(
                    archive, public, recording, audio_dir, keep_audio, result, regenerate, staged
                )
        _finish(public)
        public.close()
        # Audio that is no longer public goes *before* the new database replaces the old one:
        # a crash between the two then leaves the old database with some play links broken,
        # never audio that is no longer public (or no longer redacted) still downloadable.
        mine = {partial.name for partial, _ in staged}
        for stale in audio_dir.iterdir():
            if stale.name not in keep_audio and stale.name not in mine:
                stale.unlink()
                result.removed_audio += not stale.name.startswith(".")
        os.replace(temp, output)
        # New copies appear only now, under names the new database lists.
        for partial, target in staged:
            os.replace(partial, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise
    return result


def _retag_corrections(archive: Archive, ids: list[int]) -> None:
    """Tag corrected transcripts first: a correction is a new, untagged transcript, and
    publishing it as it is would silently drop that interview's tags."""
    from livingmemory.review.workspace import retag_recording, stale_tag_ids

    for recording_id in stale_tag_ids(archive, ids):
        if retag_recording(archive, recording_id) is None:
            raise LivingMemoryError(
                f"recording #{recording_id} was corrected and needs tagging again, but "
                "tagging is not installed: pip install 'livingmemory[tag]', or run 'tag'"
            )


TEMP_PREFIX = ".public-"
# Stored as public.db's user_version: 2 means its audio copies carry no tags.
AUDIO_GENERATION = 2


def _audio_generation(database: Path) -> int:
    """The audio generation of a published database (0 if absent or from an older release)."""
    if not database.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


_TEMP_RE = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-.*\.db$")
STALE_TEMP_SECONDS = 3600.0


def _remove_stale_temporaries(folder: Path) -> None:
    """Half-built databases a crashed ``publish`` left behind (``.public-<pid>-*.db``).

    One whose process still runs on this machine is another publish at work and stays; one
    without a pid in its name (older releases) goes once it is an hour old.
    """
    for path in folder.glob(f"{TEMP_PREFIX}*.db"):
        match = _TEMP_RE.match(path.name)
        try:
            if match:
                if process_alive(int(match.group(1))):
                    continue
            elif time.time() - path.stat().st_mtime < STALE_TEMP_SECONDS:
                continue
            path.unlink()
        except OSError:
            continue


def _audio_name(recording: dict[str, Any], spans: list[tuple[float, float]]) -> str:
    """An opaque name: nothing about the original file, and not guessable from the id."""
    redacted = hashlib.sha256(repr(spans).encode()).hexdigest()[:8] if spans else ""
    name = f"{recording['sha256'][:16]}{'-r' + redacted if spans else ''}"
    return name + public_codec(recording)[0]


def _check_sources(
    archive: Archive, recordings: list[dict[str, Any]], audio_dir: Path, *, hash_all: bool
) -> None:
    """Fixity, before anything is written: a changed or missing recording is refused.

    A recording whose public copy exists was checked when the copy was made; re-hashing
    every recording on every publish would read the whole archive, so only its presence is
    checked.
    """
    for recording in recordings:
        name = _audio_name(recording, redaction_spans(archive, recording["id"]))
        check_source(archive, recording, hash_file=hash_all or not (audio_dir / name).exists())


def _copy_recording(
    archive: Archive,
    public: sqlite_utils.Database,
    recording: dict[str, Any],
    audio_dir: Path,
    keep_audio: set[str],
    result: PublishResult,
    regenerate: bool = False,
    staged: list[tuple[Path, Path]] | None = None,
) -> None:
    spans = redaction_spans(archive, recording["id"])
    name = _audio_name(recording, spans)
    source = archive.root / recording["file_path"]
    _publish_audio(source, audio_dir / name, spans, recording, overwrite=regenerate, staged=staged)
    keep_audio.add(name)
    audio_url = AUDIO_ROUTE + name
    _insert_recording(archive, public, recording, audio_url, len(spans))
    transcript = archive.current_transcript(recording["id"])
    if transcript is not None:
        _copy_transcript(archive, public, recording["id"], transcript, spans, audio_url, result)
    result.recordings.append(recording["id"])


def _insert_recording(
    archive: Archive,
    public: sqlite_utils.Database,
    recording: dict[str, Any],
    audio_url: str,
    redacted_passages: int,
) -> None:
    """The public row of a recording, and its people (only the columns in PUBLIC_PERSON)."""
    narrators, interviewers = (
        [{column: person[column] for column in PUBLIC_PERSON} for person in people]
        for people in (
            archive.people(recording["id"], "narrator"),
            archive.people(recording["id"], "interviewer"),
        )
    )
    date = recording["recorded_date"]
    public.table("recordings").insert(
        {
            "id": recording["id"],
            "title": public_title(recording),
            "narrators": "; ".join(p["name"] for p in narrators) or None,
            "interviewers": "; ".join(p["name"] for p in interviewers) or None,
            "recorded_date": date,
            "decade": f"{date[:3]}0s" if date else None,
            "place": recording["place"],
            "language": recording["language"],
            "duration": recording["duration"],
            "audio_url": audio_url,
            "redacted_passages": redacted_passages,
        }
    )
    for role, people in (("narrator", narrators), ("interviewer", interviewers)):
        for person in people:
            public.table("people").upsert(person, pk="id")
            public.table("recording_people").insert(
                {"recording_id": recording["id"], "person_id": person["id"], "role": role}
            )


def _copy_transcript(
    archive: Archive,
    public: sqlite_utils.Database,
    recording_id: int,
    transcript: dict[str, Any],
    spans: list[Span],
    audio_url: str,
    result: PublishResult,
) -> None:
    """The current transcript's segments outside redacted passages, and only their tags."""
    kept: set[int] = set()
    segments = []
    hidden = hidden_speakers(archive, recording_id, transcript)
    for segment in archive.db.query(
        "SELECT id, start, end, speaker, text, lemmas, suspect FROM segments "
        "WHERE transcript_id = ? ORDER BY position",
        [transcript["id"]],
    ):
        if overlaps(segment["start"], segment["end"], spans):
            result.redacted_segments += 1
            continue
        kept.add(segment["id"])
        segments.append(
            {
                **public_speaker(segment, hidden),
                "recording_id": recording_id,
                "play": f"{audio_url}#t={segment['start']:g}",
            }
        )
    # One batch per table and recording: row-by-row inserts made publishing slow at scale.
    public.table("segments").insert_all(segments, batch_size=500)
    result.segments += len(segments)
    entities, places = [], set()
    for entity in archive.db.query(
        "SELECT e.id, e.segment_id, e.label, e.text, e.canonical, e.value, e.decade, "
        "e.start_seconds, e.confidence, e.method, e.place_id FROM entities e "
        "WHERE e.recording_id = ?",
        [recording_id],
    ):
        if entity["segment_id"] not in kept:
            continue
        entities.append(
            {
                **entity,
                "recording_id": recording_id,
                "play": f"{audio_url}#t={entity['start_seconds'] or 0:g}",
            }
        )
        if entity["place_id"]:
            places.add(entity["place_id"])
    public.table("entities").insert_all(entities, batch_size=500)
    for place_id in sorted(places):
        public.table("places").upsert(archive.db.table("places").get(place_id), pk="id")


def _create_schema(public: sqlite_utils.Database) -> None:
    public.table("recordings").create(
        {"id": int, "title": str, "narrators": str, "interviewers": str, "recorded_date": str,
         "decade": str, "place": str, "language": str, "duration": float, "audio_url": str,
         "redacted_passages": int},
        pk="id",
    )  # fmt: skip
    public.table("people").create(
        {"id": int, "name": str, "birth_year": int, "home_place": str}, pk="id"
    )
    public.table("recording_people").create(
        {"recording_id": int, "person_id": int, "role": str},
        pk=("recording_id", "person_id", "role"),
        foreign_keys=[("recording_id", "recordings", "id"), ("person_id", "people", "id")],
    )
    public.table("segments").create(
        {"id": int, "recording_id": int, "start": float, "end": float, "speaker": str,
         "text": str, "lemmas": str, "suspect": int, "play": str},
        pk="id",
        foreign_keys=[("recording_id", "recordings", "id")],
    )  # fmt: skip
    public.table("places").create(
        {"id": int, "name": str, "kind": str, "type": str, "region": str, "latitude": float,
         "longitude": float, "source": str},
        pk="id",
    )  # fmt: skip
    public.table("entities").create(
        {"id": int, "recording_id": int, "segment_id": int, "label": str, "text": str,
         "canonical": str, "value": str, "decade": int, "start_seconds": float,
         "confidence": float, "method": str, "place_id": int, "play": str},
        pk="id",
        foreign_keys=[("recording_id", "recordings", "id"), ("segment_id", "segments", "id"),
                      ("place_id", "places", "id")],
    )  # fmt: skip


def _finish(public: sqlite_utils.Database) -> None:
    """Search index, views for the map and the facets, and a compact file.

    Nothing time-dependent is written, so publishing an unchanged archive gives a
    byte-identical file (and a site cache never sees a spurious change).
    """
    from livingmemory.search import build_public_index

    build_public_index(public)  # the same search as the archive's (tags, titles, lemmas)
    public.create_view(
        "place_map",
        """
        SELECT p.id, p.name, p.type, p.latitude, p.longitude, count(e.id) AS mentions,
               count(DISTINCT e.recording_id) AS recordings
        FROM places p JOIN entities e ON e.place_id = p.id
        WHERE p.latitude IS NOT NULL AND e.label = 'LOC'
        GROUP BY p.id ORDER BY mentions DESC
        """,
    )
    build_browse_index(public.conn)  # the public site's indexes and browse table
    public.execute(f"PRAGMA user_version = {AUDIO_GENERATION}")
    public.execute("PRAGMA journal_mode = DELETE")
    public.vacuum()


def redact(
    archive: Archive, recording_id: int, start: float, end: float, reason: str | None = None
) -> int:
    """Mark a passage to be removed from everything published (takes effect on publish)."""
    recording = archive.recording(recording_id)
    if not 0 <= start < end <= recording["duration"] + 0.5:
        raise LivingMemoryError(
            f"passage {start:g}-{end:g} s is not inside recording #{recording_id} "
            f"(0-{recording['duration']:g} s)"
        )
    with archive.db.atomic():
        return archive.db.table("redactions").insert(
            {"recording_id": recording_id, "start": start, "end": end, "reason": reason,
             "added_at": utc_now(), "added_by": current_user()}
        ).last_pk  # type: ignore[return-value]  # fmt: skip
