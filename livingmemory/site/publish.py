"""Publishing: the public database and audio that Datasette serves to schools and researchers.

Only recordings whose access level is public, or whose embargo has passed, go in, with their
current transcript, tags, places and people. Restricted and embargoed interviews, consent
notes, internal notes, source paths and the archive team's names are absent from the file,
not hidden: a full publish builds the database from scratch (no free pages holding old
rows); an incremental one (the default once a manifest exists, see below) deletes a changed
or withdrawn recording's rows with ``secure_delete`` (zeroed), and FTS5's own
``secure-delete`` takes its words out of the full-text indexes at once (where the SQLite in
use is older than 3.42, the indexes are rewritten instead). Redacted passages are cut
from the text, the search index and the play links, and silenced in the published audio.

The public database is changed **in place**, in one transaction (WAL mode): a running site
(Datasette opens the file read-only, not immutable) sees the old or the new database on
every request, never a mix, and the new one on the very next request after ``publish``
returns: no restart, no second file. An incremental publish writes straight into the
file (no copy: the 2.5 GB copy dominated it at 10,000 hours); a full one builds a compact
file beside it and copies it in with SQLite's backup API, in one transaction too. A
checkpoint at the end moves every page into the main file and empties the WAL, so no
withdrawn byte stays in either. Audio files no longer public are removed before the commit,
new copies appear after it.

Recordings whose stored file no longer matches its SHA-256 are withheld (never published,
and removed if they were), each with a one-line reason in :attr:`PublishResult.damaged`.
Other public tables are written by the functions in :data:`PUBLIC_TABLE_WRITERS`, for the
recordings each publish writes, inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from livingmemory.archive.access import (
    AUDIO_DIR,
    PUBLIC_DB,
    Span,
    hidden_speakers,
    overlaps,
    public_dir,
    public_speaker,
    public_title,
    publishable,
    redaction_spans,
)
from livingmemory.archive.audio import ff_input, require_ffmpeg
from livingmemory.archive.concurrency import process_alive
from livingmemory.archive.files import partial_path
from livingmemory.archive.fixity import damaged_recordings
from livingmemory.archive.sqlite import FTS5_SECURE_DELETE, sqlite3
from livingmemory.archive.store import Archive, current_user, utc_now
from livingmemory.errors import LivingMemoryError
from livingmemory.search import purge_deleted_words
from livingmemory.site.index_points import write_public_index
from livingmemory.site.maps import write_map_places
from livingmemory.site.pages import BrowseCounts, build_browse_index
from livingmemory.site.trails import write_public_trails

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
    # Recordings whose rows were written this time (all of them in a full publish).
    rewritten: list[int] = field(default_factory=list)
    incremental: bool = False
    # Recordings that left the public database this time (withdrawn, embargoed, damaged...).
    removed: list[int] = field(default_factory=list)
    # Recordings withheld because their stored file is not what was added: id -> one line.
    damaged: dict[int, str] = field(default_factory=dict)


# Other public tables (index points, trails...): each writer gets the archive, the public
# database inside publish's open transaction, and the recordings whose rows this publish
# (re)writes; it deletes its rows of those recordings and writes them again for the ones
# now in the public ``recordings`` table (the others were withdrawn), creating its table
# when absent. A full publish passes every published recording, an incremental one the
# changed and withdrawn ones. Append to this list to add a table.
class PublicTableWriter(Protocol):
    def __call__(
        self,
        archive: Archive,
        public: sqlite_utils.Database,
        recording_ids: list[int],
        *,
        today: dt.date | None = None,
    ) -> Any: ...


PUBLIC_TABLE_WRITERS: list[PublicTableWriter] = [write_public_index]
Progress = Callable[[float, str], None]
# The progress message at the moment an incremental publish's change is visible to readers.
COMMITTED = "committed"


def _no_progress(share: float, message: str) -> None:
    pass


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
    archive: Archive,
    output: Path | None = None,
    *,
    today: dt.date | None = None,
    full: bool = False,
    only: Iterable[int] | None = None,
    progress: Progress = _no_progress,
) -> PublishResult:
    """Bring the public database (and its audio folder) up to date with the archive.

    When the previous publish to ``output`` left a manifest that still matches (same code,
    same file), only recordings whose public rows may have changed are rewritten, in place
    (see :func:`_publish_incremental`); ``full=True``, or anything unexpected, builds the
    whole database from scratch. ``only`` limits an incremental publish to those
    recordings (a withdrawal taking effect at once leaves other pending changes for the
    next publish). One publish at a time per public folder: another waits for it.
    """
    output = Path(output) if output else public_dir(archive) / PUBLIC_DB
    output.parent.mkdir(parents=True, exist_ok=True)
    with _publish_lock(output.parent):
        return _publish(archive, output, today, full, set(only) if only is not None else None,
                        progress)  # fmt: skip


@contextmanager
def _publish_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the public folder (released by the kernel if we die)."""
    with (folder / ".publish.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _publish(
    archive: Archive,
    output: Path,
    today: dt.date | None,
    full: bool,
    only: set[int] | None,
    progress: Progress,
) -> PublishResult:
    audio_dir = output.parent / AUDIO_DIR
    audio_dir.mkdir(exist_ok=True)
    recordings = publishable(archive, today)
    # Copies made by a release that did not strip tags are made again (same names).
    regenerate = _audio_generation(output) < AUDIO_GENERATION
    _remove_stale_temporaries(output.parent)
    manifest = None if full or regenerate else _load_manifest(archive, output)
    # Fixity first: a damaged file is withheld (and leaves the public site), never copied.
    checked = recordings
    if manifest is not None and only is not None:
        checked = [r for r in recordings if r["id"] in only]
    damaged = damaged_recordings(archive, checked)
    recordings = [r for r in recordings if r["id"] not in damaged]
    if manifest is not None and only is not None:
        _retag_corrections(archive, [r["id"] for r in recordings if r["id"] in only])
    else:
        _retag_corrections(archive, [r["id"] for r in recordings])
    total = archive.db["recordings"].count
    result = PublishResult(output, withheld=total - len(recordings))
    result.damaged = {
        rid: f"#{rid}: {problem}; withheld from the public site until it is restored"
        for rid, problem in damaged.items()
    }
    # A publish limited to ``only`` (a withdrawal at once) hashes just those recordings.
    looked_at = recordings
    if manifest is not None and only is not None:
        looked_at = [r for r in recordings if r["id"] in only]
    fingerprints = _fingerprints(archive, looked_at)
    if manifest is not None:
        done = _publish_incremental(
            archive,
            output,
            recordings,
            fingerprints,
            manifest,
            audio_dir,
            result,
            only,
            progress,
            today,
        )
        if done is not None:
            return done
    if len(looked_at) < len(recordings):
        fingerprints = _fingerprints(archive, recordings)
    previous = set(_published_ids(output))
    entries: dict[int, list[Any]] = {}
    with _staged_database(output) as (temp, staged):
        _forget_manifest(archive)
        public = sqlite_utils.Database(temp, recreate=True)
        _create_schema(public)
        keep_audio: set[str] = set()
        audio = _stage_audio(
            archive, recordings, audio_dir, staged, regenerate, progress, (0.0, 0.5)
        )
        with public.atomic():
            for number, recording in enumerate(recordings):
                progress(0.5 + 0.4 * number / max(1, len(recordings)), f"#{recording['id']}")
                entries[recording["id"]] = _copy_recording(
                    archive, public, recording, audio[recording["id"]], keep_audio, result
                )
                entries[recording["id"]][0] = fingerprints[recording["id"]]
            ids = [r["id"] for r in recordings]
            for writer in PUBLIC_TABLE_WRITERS:
                writer(archive, public, ids, today=today)
            public.execute(f"PRAGMA application_id = {_token(entries)}")
        progress(0.9, "search index")
        _finish(public)
        _write_site_tables(archive, public.conn)  # after _finish: reads the browse counts
        public.conn.commit()
        public.close()
        _remove_stale_audio(audio_dir, keep_audio, staged, result)
        _install(temp, output)
        _move_staged(staged)
    _save_manifest(archive, output, entries, today)
    result.rewritten = [r["id"] for r in recordings]
    result.removed = sorted(previous - set(entries))
    progress(1.0, "done")
    return result


def _published_ids(output: Path) -> list[int]:
    """The recordings the public database holds now (none if there is none)."""
    if not output.is_file():
        return []
    try:
        conn = sqlite3.connect(f"file:{output}?mode=ro", uri=True)
        try:
            return [row[0] for row in conn.execute("SELECT id FROM recordings")]
        finally:
            conn.close()
    except sqlite3.Error:
        return []


@contextmanager
def _staged_database(output: Path) -> Iterator[tuple[Path, list[tuple[Path, Path]]]]:
    """A temporary database file beside ``output``, and the list of audio copies staged for
    it; if anything fails, both go (and a rollback journal), so no half-written file stays."""
    handle, temp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".db", dir=output.parent
    )
    os.close(handle)
    temp = Path(temp_name)
    staged: list[tuple[Path, Path]] = []
    try:
        yield temp, staged
    except BaseException:
        for leftover in (temp, Path(f"{temp}-journal"), Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            leftover.unlink(missing_ok=True)
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise
    finally:
        temp.unlink(missing_ok=True)


def _remove_stale_audio(
    audio_dir: Path, keep_audio: set[str], staged: list[tuple[Path, Path]], result: PublishResult
) -> None:
    """Audio that is no longer public goes *before* the database stops listing it: a crash
    between the two leaves some play links broken, never audio that is no longer public (or
    no longer redacted) still downloadable. New copies appear only after the commit
    (:func:`_move_staged`), under names the new database lists."""
    mine = {partial.name for partial, _ in staged}
    for stale in audio_dir.iterdir():
        if stale.name not in keep_audio and stale.name not in mine:
            stale.unlink()
            result.removed_audio += not stale.name.startswith(".")


def _move_staged(staged: list[tuple[Path, Path]]) -> None:
    for partial, target in staged:
        os.replace(partial, target)


# How long publish waits for readers (site requests) to let the checkpoint finish.
CHECKPOINT_SECONDS = 30.0


def _open_public(path: Path) -> sqlite_utils.Database:
    """The public database for writing: WAL (readers never wait, and see whole transactions)
    with deleted rows zeroed."""
    conn = sqlite3.connect(path, timeout=CHECKPOINT_SECONDS, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA secure_delete = ON")
    return sqlite_utils.Database(conn)


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Copy every committed page into the main file and empty the WAL.

    Until then the main file still holds pages of the previous version (withdrawn rows
    among them) and the WAL the new ones; a reader in the middle of a request can hold the
    checkpoint back for a moment, so it is retried.
    """
    deadline = time.monotonic() + CHECKPOINT_SECONDS
    while True:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy or time.monotonic() > deadline:
            return
        time.sleep(0.02)


def _is_wal(path: Path) -> bool:
    """Whether a database file is in WAL mode (bytes 18-19 of its header are 2)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2


def _install(temp: Path, output: Path) -> None:
    """Make a finished database the public one, in one transaction for running readers.

    Into an existing WAL public database, SQLite's backup API copies every page in one
    write transaction: readers go on with the old database until the commit and see the
    new one on their next query, without reopening anything. A first publish (or a file
    from a release that renamed files) gets the new file renamed into place, in WAL mode.
    """
    if _is_wal(output):
        source = sqlite3.connect(temp)
        target = _open_public(output)
        try:
            try:
                source.backup(target.conn)
            finally:
                source.close()
            _checkpoint(target.conn)
        finally:
            target.close()
        return
    conn = sqlite3.connect(temp)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    os.replace(temp, output)


def _retag_corrections(archive: Archive, ids: list[int]) -> None:
    """Tag corrected transcripts first: a correction is a new, untagged transcript, and
    publishing it as it is would silently drop that interview's tags."""
    from livingmemory.review.workspace import retag_recording, stale_tag_ids

    # Only recordings with a tagged transcript and an untagged current one can be stale: one
    # query instead of two per recording (seconds at 10,000 recordings, on every publish).
    candidates = {
        row[0]
        for row in archive.db.execute(
            "SELECT recording_id FROM transcripts WHERE tagged_version IS NULL AND "
            "is_current = 1 AND finished_at IS NOT NULL INTERSECT SELECT recording_id FROM "
            "transcripts WHERE tagged_version IS NOT NULL"
        )
    }
    ids = [i for i in ids if i in candidates]
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


_TEMP_RE = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-.*\.db(-journal|-wal|-shm)?$")
STALE_TEMP_SECONDS = 3600.0


def _remove_stale_temporaries(folder: Path) -> None:
    """Half-built databases a crashed ``publish`` left behind (``.public-<pid>-*.db``).

    One whose process still runs on this machine is another publish at work and stays; one
    without a pid in its name (older releases) goes once it is an hour old.
    """
    for path in folder.glob(f"{TEMP_PREFIX}*.db*"):
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


def _stage_audio(
    archive: Archive,
    recordings: list[dict[str, Any]],
    audio_dir: Path,
    staged: list[tuple[Path, Path]],
    regenerate: bool = False,
    progress: Progress = _no_progress,
    share: tuple[float, float] = (0.0, 0.0),
) -> dict[int, tuple[str, list[Span]]]:
    """Make the public audio copies of ``recordings`` that do not exist yet, staged (see
    :func:`_publish_audio`); returns each recording's ``(audio name, redacted spans)``.

    Each copy is one ffmpeg process, independent of the others, so they run on every core:
    the first publish of a large archive is mostly this (10,000 copies at about 0.1 s each
    on one core). The first failure stops the copies not yet started and is raised; copies
    already staged are left in ``staged`` for the caller to remove.
    """
    plan: dict[int, tuple[str, list[Span]]] = {}
    jobs: list[tuple[Path, Path, list[Span], dict[str, Any]]] = []
    wanted: set[Path] = set()
    for recording in recordings:
        spans = redaction_spans(archive, recording["id"])
        name = _audio_name(recording, spans)
        plan[recording["id"]] = (name, spans)
        target = audio_dir / name
        if (regenerate or not target.exists()) and target not in wanted:
            wanted.add(target)  # one copy per name (two rows may hold the same file)
            jobs.append((archive.root / recording["file_path"], target, spans, recording))
    if not jobs:
        return plan
    start, end = share
    workers = min(len(jobs), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="public-audio") as pool:
        futures = [
            pool.submit(_publish_audio, source, target, spans, recording, overwrite=True,
                        staged=staged)
            for source, target, spans, recording in jobs
        ]  # fmt: skip
        try:
            for done, future in enumerate(as_completed(futures), 1):
                future.result()
                if done % 25 == 0 or done == len(futures):
                    progress(start + (end - start) * done / len(futures), f"audio {done}")
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return plan


def _copy_recording(
    archive: Archive,
    public: sqlite_utils.Database,
    recording: dict[str, Any],
    audio: tuple[str, list[Span]],
    keep_audio: set[str],
    result: PublishResult,
) -> list[Any]:
    """Insert one recording's public rows (its audio copy, ``audio`` = ``(name, redacted
    spans)``, staged by :func:`_stage_audio`); returns its manifest entry
    ``[fingerprint placeholder, audio name, segments published, segments redacted]``."""
    name, spans = audio
    redacted_before = result.redacted_segments
    keep_audio.add(name)
    audio_url = AUDIO_ROUTE + name
    _insert_recording(archive, public, recording, audio_url, len(spans))
    transcript = archive.current_transcript(recording["id"])
    segments = 0
    if transcript is not None:
        segments = _copy_transcript(
            archive, public, recording["id"], transcript, spans, audio_url, result
        )
    result.recordings.append(recording["id"])
    return ["", name, segments, result.redacted_segments - redacted_before]


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
) -> int:
    """The current transcript's segments outside redacted passages, and only their tags;
    returns how many segments were published."""
    kept: set[int] = set()
    segments = []
    hidden = hidden_speakers(archive, recording_id, transcript)
    for segment in archive.db.query(
        "SELECT id, start, end, speaker, text, lemmas, suspect, overlap FROM segments "
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
    return len(segments)


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
         "text": str, "lemmas": str, "suspect": int, "overlap": int, "play": str},
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


def _write_site_tables(archive: Archive, conn: sqlite3.Connection) -> None:
    """The map's located places and the public heritage trails: small whole tables,
    rewritten on every publish that writes (site/maps.py, site/trails.py)."""
    write_map_places(archive, conn)
    write_public_trails(archive, conn)


def _site_tables_stale(archive: Archive, output: Path) -> bool:
    """Whether the map or trail tables would change although no recording did (a trail
    composed, a place added to the vocabulary): then an incremental publish rewrites them."""
    from livingmemory.site.maps import map_rows, published_map_rows
    from livingmemory.site.trails import public_trail_tuples, published_trail_rows

    conn = sqlite3.connect(f"file:{output}?mode=ro", uri=True)
    try:
        return bool(
            published_map_rows(conn) != map_rows(archive, conn)
            or published_trail_rows(conn) != public_trail_tuples(archive, conn)
        )
    finally:
        conn.close()


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


# -- incremental publishing ------------------------------------------------------------------
#
# A manifest beside the archive (never in the public folder: its fingerprints are hashes of
# private fields) records what the last publish wrote: per recording a fingerprint of
# everything that feeds its public rows, its audio copy's name and its segment counts, plus
# the code that shaped the file and the file's identity. The next publish compares
# fingerprints (a few small queries; segments and entities are covered by the change counters
# that triggers keep in ``publish_changes``) and rewrites only the recordings that differ.

MANIFEST = ".publish-manifest.json"
MANIFEST_FORMAT = 1
# Above this share of recordings changed, a full publish is as quick and leaves a compact file.
INCREMENTAL_SHARE = 0.25


def _code_version() -> str:
    """What built the public file: the source of the modules whose code shapes it (found from
    the functions used, so it follows the modules wherever they live), SQLite, audio rules."""
    import sys

    from livingmemory.archive.schema import _segment_tags_sql
    from livingmemory.search import build_public_index

    digest = hashlib.sha256(f"{sqlite3.sqlite_version}|{AUDIO_GENERATION}".encode())
    shaping = (
        publish, build_public_index, build_browse_index, redaction_spans, _segment_tags_sql,
        Archive.people, *PUBLIC_TABLE_WRITERS, write_map_places, write_public_trails,
    )  # fmt: skip
    for name in sorted({function.__module__ for function in shaping}):
        source = getattr(sys.modules[name], "__file__", None)
        digest.update(name.encode())
        digest.update(Path(source).read_bytes() if source else b"")
    return digest.hexdigest()


def _manifest_path(archive: Archive) -> Path:
    return archive.root / MANIFEST


def _token(entries: dict[int, list[Any]]) -> int:
    """What this publish wrote, as a 28-bit number stored as the public file's
    ``application_id``: the manifest describes the file only while the two agree (the file
    is now changed in place, so its size and times no longer identify a version)."""
    import json

    digest = hashlib.sha256(json.dumps(sorted(entries.items()), default=str).encode())
    return int(digest.hexdigest()[:7], 16)


def _file_identity(path: Path) -> list[int]:
    """The public file's inode and the token of the publish that last wrote it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        token = int(conn.execute("PRAGMA application_id").fetchone()[0])
    finally:
        conn.close()
    return [path.stat().st_ino, token]


def _forget_manifest(archive: Archive) -> None:
    _manifest_path(archive).unlink(missing_ok=True)


def _load_manifest(archive: Archive, output: Path) -> dict[str, Any] | None:
    """The last publish's manifest if ``output`` is still the file it describes, else None."""
    import json

    try:
        manifest = json.loads(_manifest_path(archive).read_text("utf-8"))
        if (
            manifest.get("format") != MANIFEST_FORMAT
            or manifest.get("code") != _code_version()
            or manifest.get("output") != str(output.resolve())
            or manifest.get("database") != _file_identity(output)
        ):
            return None
        manifest["recordings"] = {int(k): v for k, v in manifest["recordings"].items()}
        return manifest
    except (OSError, ValueError, KeyError, TypeError, AttributeError, sqlite3.Error):
        return None


def _save_manifest(
    archive: Archive, output: Path, entries: dict[int, list[Any]], today: dt.date | None = None
) -> None:
    import json

    # Recordings waiting for their embargo to end: when it does, they are published without
    # anyone acting (livingmemory.site.live.due); one added with a date already past waits
    # for the team's publish like any new interview.
    waiting = [
        row[0]
        for row in archive.db.execute(
            "SELECT id FROM recordings WHERE access = 'embargoed' AND (embargo_until IS NULL "
            "OR embargo_until > ?) ORDER BY id",
            [(today or dt.date.today()).isoformat()],
        )
    ]
    manifest = {
        "format": MANIFEST_FORMAT,
        "code": _code_version(),
        "output": str(output.resolve()),
        "database": _file_identity(output),
        "recordings": {str(k): v for k, v in sorted(entries.items())},
        "embargoed": waiting,
    }
    path = _manifest_path(archive)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps(manifest, separators=(",", ":")), "utf-8")
        os.replace(partial, path)
    except OSError:  # the publish itself succeeded; the next one will simply be full
        partial.unlink(missing_ok=True)


def _fingerprints(archive: Archive, recordings: list[dict[str, Any]]) -> dict[int, str]:
    """Per publishable recording, a hash of everything its public rows come from.

    Metadata, access and consent, the audio checksum (all in its ``recordings`` row), its
    people, its transcripts (which one is current), its redactions, and the change counter
    of its segments and entities. A handful of queries over small tables: no segment is read.
    """
    import json

    parts: dict[int, list[Any]] = {r["id"]: [sorted(r.items())] for r in recordings}
    queries = (
        "SELECT rp.recording_id, rp.role, rp.position, p.* FROM recording_people rp "
        "JOIN people p ON p.id = rp.person_id ORDER BY rp.recording_id, rp.role, rp.position, "
        "p.id",
        "SELECT recording_id, id, source, is_current, finished_at IS NOT NULL, tagged_version "
        "FROM transcripts ORDER BY recording_id, id",
        "SELECT recording_id, start, end FROM redactions ORDER BY recording_id, start, end",
        "SELECT recording_id, version FROM publish_changes",
    )
    for sql in queries:
        for row in archive.db.execute(sql).fetchall():
            if row[0] in parts:
                parts[row[0]].append(row[1:])
    return {
        recording_id: hashlib.sha256(
            json.dumps(values, default=str, ensure_ascii=False).encode()
        ).hexdigest()[:32]
        for recording_id, values in parts.items()
    }


def _changed_places(archive: Archive, output: Path) -> list[dict[str, Any]] | None:
    """Archive rows of places the public database lists with other values (a corrected
    name or coordinates): the gazetteer is edited apart from any recording. None when a
    published place is gone from the archive: a full publish then rebuilds everything."""
    conn = sqlite3.connect(f"file:{output}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        published = {row["id"]: dict(row) for row in conn.execute("SELECT * FROM places")}
    finally:
        conn.close()
    changed = []
    ids = sorted(published)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = list(archive.db.query(f"SELECT * FROM places WHERE id IN ({marks})", chunk))
        if len(rows) < len(chunk):
            return None
        for row in rows:
            old = published[row["id"]]
            if any(row.get(key) != value for key, value in old.items()):
                changed.append(row)
    return changed


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _publish_incremental(
    archive: Archive,
    output: Path,
    recordings: list[dict[str, Any]],
    fingerprints: dict[int, str],
    manifest: dict[str, Any],
    audio_dir: Path,
    result: PublishResult,
    only: set[int] | None = None,
    progress: Progress = _no_progress,
    today: dt.date | None = None,
) -> PublishResult | None:
    """Rewrite only what changed since the last publish, with a full publish's guarantees.

    In one transaction on the public database itself: the rows of every changed, withdrawn
    or deleted recording are deleted (``secure_delete``: their bytes are zeroed, not left
    in free pages) and the changed ones inserted again exactly as a full publish writes
    them; the search index, tag names, people, places and browse counts they touch are
    updated. When a published recording was rewritten or withdrawn, the full-text index is
    purged of its words (FTS5 secure-delete, or a rewrite of the index where the SQLite
    has none), so no token of its old text stays in the index's older segments.
    Readers see all of it at the commit; the checkpoint after it leaves no old page behind.

    Returns None, having written nothing, when so much changed that a full publish is the
    better way.
    """
    old: dict[int, list[Any]] = manifest["recordings"]
    current = {r["id"]: r for r in recordings}
    removed = sorted(set(old) - set(current))
    changed = [
        rid
        for rid in (current if only is None else [rid for rid in current if rid in only])
        if rid not in old
        or old[rid][0] != fingerprints[rid]
        or not (audio_dir / old[rid][1]).is_file()
    ]
    if only is not None:
        removed = [rid for rid in removed if rid in only]
    elif len(changed) + len(removed) > max(10, INCREMENTAL_SHARE * len(current)):
        return None
    places = _changed_places(archive, output) if only is None else []
    if places is None:
        return None
    result.incremental = True
    result.rewritten = list(changed)
    result.removed = list(removed)
    # What stays as the last publish wrote it: unchanged recordings, and (with ``only``)
    # changes and withdrawals left for a later publish.
    entries = {
        rid: list(entry) for rid, entry in old.items() if rid not in changed and rid not in removed
    }
    if not (removed or changed or places or _site_tables_stale(archive, output)):
        _save_manifest(archive, output, entries, today)  # the embargoes waiting may differ
        _summarise(result, entries)
        return result

    public = _open_public(output)
    staged: list[tuple[Path, Path]] = []
    try:
        conn = public.conn
        touched = removed + [rid for rid in changed if rid in old]
        # Without secure-delete, FTS5 marks deleted rows but keeps their words in its older
        # index segments until they are merged: any published recording rewritten
        # (withdrawn, redacted, or only corrected: a name taken out of the text) then means
        # the text index is rewritten too, or the old words stay in the public file. With
        # it (SQLite 3.42+, archive/sqlite.py) the delete itself takes the words out.
        purging = _purging_index(conn)
        if purging is None:  # an index this SQLite cannot write: build the file afresh
            result.incremental, result.rewritten, result.removed = False, [], []
            return None
        rewrite_index = bool(touched) and not purging
        with public.atomic():
            progress(0.05, "withdrawing")
            places_before = set(conn.execute("SELECT id, name FROM places"))
            # With secure-delete, a withdrawn recording's words leave the index just
            # after the commit that takes it off the site (see _delete_recordings).
            later = removed if purging else []
            counts_before, tags, people, place_ids = _delete_recordings(conn, touched, later)
            keep_audio: set[str] = set()
            audio = _stage_audio(
                archive, [current[rid] for rid in changed], audio_dir, staged,
                progress=progress, share=(0.1, 0.4),
            )  # fmt: skip
            for number, rid in enumerate(changed):
                progress(0.4 + 0.3 * number / len(changed), f"#{rid}")
                entries[rid] = _copy_recording(
                    archive, public, current[rid], audio[rid], keep_audio, result
                )
                entries[rid][0] = fingerprints[rid]
            new_tags = _index_recordings(conn, changed)
            for writer in PUBLIC_TABLE_WRITERS:
                writer(archive, public, sorted(set(touched) | set(changed)), today=today)
            for row in places:
                public.table("places").upsert(row, pk="id")
            _update_search_tags(conn, tags, new_tags)
            _prune_people_and_places(conn, people, place_ids)
            # Browse entries take their coordinates from places of the same name: recount
            # those of places added, removed, renamed or moved.
            places_after = set(conn.execute("SELECT id, name FROM places"))
            recount = {("place", str(name)) for _, name in places_before ^ places_after}
            recount |= {("place", str(row["name"])) for row in places}
            from livingmemory.site.pages import adjust_browse, browse_counts

            # After the writers: index points place an interview too.
            adjust_browse(conn, counts_before, browse_counts(conn, changed), recount)
            _write_site_tables(archive, conn)
            progress(0.75, "search index")
            if not purging:
                for table in ("recording_search", "search_tags_fts"):  # small: one row each
                    purge_deleted_words(conn, table)
            conn.execute(f"PRAGMA application_id = {_token(entries)}")
            keep_audio |= {entry[1] for entry in entries.values()}
            _remove_stale_audio(audio_dir, keep_audio, staged, result)
        # Committed: the site shows the change from its next request on. What follows only
        # takes words out of the text index, so no token of a withdrawn or corrected text
        # stays in the file (searches already skip them); a crash before it ends leaves the
        # manifest unsaved, so the next publish is a full one.
        progress(0.8, COMMITTED)
        if later:
            with public.atomic():
                _purge_withdrawn_words(conn)
        if rewrite_index:  # a file from before secure-delete: purging from now on
            with public.atomic():
                purge_deleted_words(conn, "segments_fts")
        progress(0.95, "checkpoint")
        _checkpoint(conn)
    except BaseException:
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise
    finally:
        public.close()
    _move_staged(staged)
    _save_manifest(archive, output, entries, today)
    _summarise(result, entries)
    progress(1.0, "done")
    return result


def _purging_index(conn: sqlite3.Connection) -> bool | None:
    """Whether deleting from the public full-text indexes removes the words at once (FTS5
    ``secure-delete`` is on in all of them); None when this SQLite cannot write them (an
    index made by a newer SQLite than this one)."""
    from livingmemory.search import PUBLIC_FTS_TABLES, secure_delete_on

    states = [secure_delete_on(conn, table) for table in PUBLIC_FTS_TABLES]
    if any(states) and not FTS5_SECURE_DELETE:
        return None
    return all(states)


def _summarise(result: PublishResult, entries: dict[int, list[Any]]) -> None:
    result.recordings = sorted(entries)
    result.segments = sum(entry[2] for entry in entries.values())
    result.redacted_segments = sum(entry[3] for entry in entries.values())


def _tag_sql() -> str:
    from livingmemory.archive.schema import _tag_token

    return _tag_token("e")


def _tag_names(conn: sqlite3.Connection, ids: list[int]) -> set[tuple[Any, ...]]:
    """The tag names recordings ``ids``' entities count towards, each with what made it."""
    return set(
        conn.execute(
            f"SELECT DISTINCT {_tag_sql()}, e.label, e.canonical, e.value FROM entities e "
            f"WHERE e.recording_id IN ({_marks(ids)}) AND e.canonical IS NOT NULL",
            ids,
        )
    )


def _delete_recordings(
    conn: sqlite3.Connection, ids: list[int], later: Iterable[int] = ()
) -> tuple[BrowseCounts, set[tuple[Any, ...]], set[int], set[tuple[Any, ...]]]:
    """Delete recordings ``ids``' rows from a public database; returns what they counted
    towards (their counts in each browse entry, tag names with the entity that made each,
    people, places) so those can be adjusted or removed.

    The full-text index entries of recordings in ``later`` (withdrawn ones, whose segment
    ids nothing reuses) are not deleted here but noted in a temporary table for
    :func:`_purge_withdrawn_words`, run after the commit: a secure delete from the index
    costs seconds in a large archive (about 5 s for one hour of 10,000), and the site
    already stops finding the recording once its segments are gone (every search joins
    them; the index tables themselves are not served, see ``site/plugin.py``).
    """
    from livingmemory.site.pages import browse_counts

    deferred = set(later)
    counts = browse_counts(conn, ids)
    tags: set[tuple[Any, ...]] = set()
    people: set[int] = set()
    places: set[tuple[Any, ...]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = _marks(chunk)
        tags |= _tag_names(conn, chunk)
        people |= {
            row[0]
            for row in conn.execute(
                f"SELECT person_id FROM recording_people WHERE recording_id IN ({marks})", chunk
            )
        }
        places |= set(
            conn.execute(
                f"SELECT DISTINCT place_id, label, canonical FROM entities "
                f"WHERE recording_id IN ({marks}) AND place_id IS NOT NULL",
                chunk,
            )
        )
        waiting = [rid for rid in chunk if rid in deferred]
        now = [rid for rid in chunk if rid not in deferred]
        if now:
            conn.execute(
                "INSERT INTO segments_fts (segments_fts, rowid, text, lemmas, tags, tags_loose) "
                "SELECT 'delete', id, text, lemmas, tags, tags_loose FROM segments "
                f"WHERE recording_id IN ({_marks(now)})",
                now,
            )
        if waiting:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS withdrawn_words (id INTEGER PRIMARY KEY, "
                "text, lemmas, tags, tags_loose)"
            )
            conn.execute(
                "INSERT INTO temp.withdrawn_words SELECT id, text, lemmas, tags, tags_loose "
                f"FROM segments WHERE recording_id IN ({_marks(waiting)})",
                waiting,
            )
        for table, column in (
            ("entities", "recording_id"),
            ("segments", "recording_id"),
            ("recording_people", "recording_id"),
            ("recordings", "id"),
            ("recording_search", "rowid"),
        ):
            conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
    return counts, tags, people, places


def _purge_withdrawn_words(conn: sqlite3.Connection) -> None:
    """Take the words noted by :func:`_delete_recordings` out of ``segments_fts`` (FTS5
    secure-delete: out of the file, not only marked deleted), in one transaction."""
    exists = conn.execute(
        "SELECT 1 FROM temp.sqlite_master WHERE name = 'withdrawn_words'"
    ).fetchone()
    if not exists:
        return
    conn.execute(
        "INSERT INTO segments_fts (segments_fts, rowid, text, lemmas, tags, tags_loose) "
        "SELECT 'delete', id, text, lemmas, tags, tags_loose FROM temp.withdrawn_words"
    )
    conn.execute("DROP TABLE temp.withdrawn_words")


def _index_recordings(conn: sqlite3.Connection, ids: list[int]) -> set[tuple[Any, ...]]:
    """Search rows for freshly inserted recordings ``ids``, as :func:`_finish` makes them for
    all: segment tags, the full-text index, the metadata index. Returns their tag names."""
    from livingmemory.archive.schema import _segment_tags_sql
    from livingmemory.search import build_recording_index

    tags: set[tuple[Any, ...]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = _marks(chunk)
        conn.execute(
            _segment_tags_sql(
                f"recording_id IN ({marks}) AND id IN "
                f"(SELECT segment_id FROM entities WHERE recording_id IN ({marks}))",
                "segments.id",
            ),
            chunk + chunk,
        )
        conn.execute(
            "INSERT INTO segments_fts (rowid, text, lemmas, tags, tags_loose) "
            f"SELECT id, text, lemmas, tags, tags_loose FROM segments WHERE recording_id IN "
            f"({marks})",
            chunk,
        )
        tags |= _tag_names(conn, chunk)
    if ids:
        build_recording_index(conn, ids)
    return tags


def _update_search_tags(
    conn: sqlite3.Connection, old: set[tuple[Any, ...]], new: set[tuple[Any, ...]]
) -> None:
    """Add the tag names new rows brought; drop those no entity gives any more.

    A name may stay because another entity with the same label and name (found through the
    index) or any other entity (one scan, only for names that seem to be gone) gives it.
    """
    for name in sorted({row[0] for row in new}):
        if conn.execute("SELECT 1 FROM search_tags WHERE name = ?", [name]).fetchone() is None:
            rowid = conn.execute("INSERT INTO search_tags (name) VALUES (?)", [name]).lastrowid
            conn.execute("INSERT INTO search_tags_fts (rowid, name) VALUES (?, ?)", [rowid, name])
    new_names = {row[0] for row in new}
    doubtful = set()
    for name, label, canonical, value in old:
        if name in new_names or name in doubtful:
            continue
        if conn.execute(
            "SELECT 1 FROM entities WHERE label = ? AND canonical = ? AND (? != 'DATE' OR "
            "value IS ?) LIMIT 1",
            [label, canonical, label, value],
        ).fetchone():
            new_names.add(name)
        else:
            doubtful.add(name)
    doubtful -= new_names
    if not doubtful:
        return
    names = sorted(doubtful)
    found = {
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT {_tag_sql()} AS name FROM entities e WHERE e.canonical IS NOT NULL "
            f"AND {_tag_sql()} IN ({_marks(names)})",
            names,
        )
    }
    for name in names:
        if name in found:
            continue
        for (rowid,) in conn.execute("SELECT rowid FROM search_tags WHERE name = ?", [name]):
            conn.execute(
                "INSERT INTO search_tags_fts (search_tags_fts, rowid, name) VALUES "
                "('delete', ?, ?)",
                [rowid, name],
            )
            conn.execute("DELETE FROM search_tags WHERE rowid = ?", [rowid])


def _prune_people_and_places(
    conn: sqlite3.Connection, people: set[int], places: set[tuple[Any, ...]]
) -> None:
    """Remove people and places no published recording refers to any more."""
    for person_id in sorted(people):
        if not conn.execute(
            "SELECT 1 FROM recording_people WHERE person_id = ? LIMIT 1", [person_id]
        ).fetchone():
            conn.execute("DELETE FROM people WHERE id = ?", [person_id])
    doubtful = set()
    kept = set()
    for place_id, label, canonical in places:
        if place_id in kept or place_id in doubtful:
            continue
        if conn.execute(
            "SELECT 1 FROM entities WHERE label = ? AND canonical = ? AND place_id = ? LIMIT 1",
            [label, canonical, place_id],
        ).fetchone():
            kept.add(place_id)
        else:
            doubtful.add(place_id)
    doubtful -= kept
    if doubtful:
        ids = sorted(doubtful)
        found = {
            row[0]
            for row in conn.execute(
                f"SELECT DISTINCT place_id FROM entities WHERE place_id IN ({_marks(ids)})", ids
            )
        }
        for place_id in ids:
            if place_id not in found:
                conn.execute("DELETE FROM places WHERE id = ?", [place_id])
