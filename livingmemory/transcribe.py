"""The transcription pipeline: pending recordings in, time-coded transcripts out.

For each recording: decode the audio once (16 kHz mono, or one array per channel), choose
the language (metadata first; detection only when unknown, and only among the archive's
expected languages), build a prompt from the metadata so names are spelled right, run the
engine, flag suspect segments, note audio that got no text, and commit the run with its
segments in one transaction. An interrupted batch keeps every recording already committed;
running again picks up the rest, because "pending" means "no finished machine transcript".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from livingmemory import models
from livingmemory.archive import Archive, utc_now
from livingmemory.audio import load_audio
from livingmemory.concurrency import claim_for_transcription, release
from livingmemory.engines import DEFAULT_ENGINE, get_engine
from livingmemory.engines.base import SAMPLE_RATE, DecodeOptions, Engine, Segment
from livingmemory.errors import LivingMemoryError
from livingmemory.languages import normalize_language
from livingmemory.quality import DroppedSpan, dropped_spans, flag_segments

EXPECTED_LANGUAGES = ("sl", "en", "de", "hr")


@dataclass(frozen=True)
class TranscribeSettings:
    """What the user asked for; everything has a default that works offline."""

    engine: str = DEFAULT_ENGINE
    model: str = models.DEFAULT_MODEL
    language: str | None = None  # None: the recording's own; "auto": detect
    expected_languages: tuple[str, ...] = EXPECTED_LANGUAGES
    prompt: str | None = None
    metadata_prompt: bool = True
    beam_size: int = 5
    vad: bool = False
    word_timestamps: bool = False
    force: bool = False
    per_channel: bool = False
    channel_roles: tuple[str, ...] = ("interviewer", "narrator")
    compute_type: str = "default"
    threads: int = 0


@dataclass
class RecordingOutcome:
    recording_id: int
    status: str  # "transcribed" | "skipped" | "failed"
    message: str = ""
    transcript_id: int | None = None
    segments: int = 0
    suspect: int = 0
    dropped: int = 0
    language: str | None = None


class Progress(Protocol):
    """What the pipeline reports while it works (the CLI draws a progress bar from it)."""

    def begin(self, total_seconds: float, recordings: int) -> None: ...
    def recording(self, row: dict[str, Any]) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def finished(self, outcome: RecordingOutcome) -> None: ...


class _Silent:
    def begin(self, total_seconds: float, recordings: int) -> None: ...
    def recording(self, row: dict[str, Any]) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def finished(self, outcome: RecordingOutcome) -> None: ...


@dataclass
class Batch:
    """The outcome of one ``transcribe`` run."""

    outcomes: list[RecordingOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[RecordingOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def pending_recordings(
    archive: Archive, ids: Iterable[int] | None = None, *, force: bool = False
) -> list[dict[str, Any]]:
    """Recordings to transcribe: those without a finished machine transcript, or all named
    ones with ``force``."""
    where, params = "", []
    ids = list(ids or [])
    if ids:
        missing = set(ids) - {
            r["id"] for r in archive.db.query(
                f"SELECT id FROM recordings WHERE id IN ({','.join('?' * len(ids))})", ids
            )
        }  # fmt: skip
        if missing:
            raise LivingMemoryError(f"no recording #{min(missing)} in {archive.path}")
        where = f"AND r.id IN ({','.join('?' * len(ids))})"
        params = ids
    done = (
        ""
        if force
        else "AND NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id "
        "AND t.source = 'machine' AND t.finished_at IS NOT NULL)"
    )
    return list(archive.db.query(f"SELECT r.* FROM recordings r WHERE 1 {where} {done} "
                                 "ORDER BY r.id", params))  # fmt: skip


def build_prompt(archive: Archive, recording: dict[str, Any], extra: str | None) -> str | None:
    """Names the model should spell right: people in the recording, the place, user words.

    Whisper continues the style of its prompt, so this is written as a plain list of names
    rather than an instruction.
    """
    names = archive.people_names(recording["id"])
    words = [*names, *(p for p in (recording.get("place"),) if p)]
    parts = [", ".join(dict.fromkeys(words)) + "." if words else "", extra or ""]
    prompt = " ".join(p for p in parts if p).strip()
    return prompt or None


def choose_language(
    settings: TranscribeSettings,
    recording: dict[str, Any],
    engine: Engine,
    audio: np.ndarray,
    multilingual: bool | None,
) -> tuple[str, float | None, str, list[tuple[str, float]]]:
    """(language, probability, how it was chosen, detection candidates).

    Detection is unreliable for Slovenian (measured: taken for Latin or Czech at p~0.33) and
    openai-whisper has taken German for Yiddish, so the recording's metadata wins; detection
    runs only when it is unknown, and picks among the archive's expected languages.
    """
    if multilingual is False:
        wanted = settings.language if settings.language not in (None, "auto") else None
        wanted = wanted or recording.get("language")
        if wanted and normalize_language(wanted) != "en":
            raise LivingMemoryError(
                f"the model is English-only but recording #{recording['id']} is in {wanted}; "
                "use a multilingual model (--model base)"
            )
        return "en", None, "model", []
    if settings.language and settings.language != "auto":
        return normalize_language(settings.language), None, "option", []
    if settings.language is None and recording.get("language"):
        return recording["language"], None, "metadata", []
    candidates = engine.detect_language(audio)
    allowed = [c for c in candidates if c[0] in settings.expected_languages] or candidates
    language, probability = allowed[0]
    return language, float(probability), "detected", [(c, round(p, 4)) for c, p in candidates[:5]]


def transcribe_recordings(
    archive: Archive,
    ids: Iterable[int] | None = None,
    settings: TranscribeSettings | None = None,
    progress: Progress | None = None,
) -> Batch:
    """Transcribe pending recordings, committing each one as soon as it is done."""
    settings = settings or TranscribeSettings()
    progress = progress or _Silent()
    rows = pending_recordings(archive, ids, force=settings.force)
    batch = Batch()
    if not rows:
        return batch
    engine_class = get_engine(settings.engine)
    model = models.resolve(settings.model)
    threads = settings.threads or os.cpu_count() or 1
    engine = engine_class(model, compute_type=settings.compute_type, threads=threads)
    model_sha = models.model_sha256(model)
    progress.begin(sum(r["duration"] for r in rows), len(rows))
    for row in rows:
        progress.recording(row)
        if not claim_for_transcription(archive, row, force=settings.force):  # another run has it
            outcome = RecordingOutcome(row["id"], "skipped", "another transcribe run took it")
            batch.outcomes.append(outcome)
            progress.finished(outcome)
            continue
        try:
            outcome = _transcribe_one(archive, row, settings, engine, model, model_sha, progress)
        except LivingMemoryError as error:
            outcome = RecordingOutcome(row["id"], "failed", str(error))
        finally:
            release(archive, row["id"], "transcribe")
        batch.outcomes.append(outcome)
        progress.finished(outcome)
    return batch


def _channels(row: dict[str, Any], settings: TranscribeSettings) -> list[int | None]:
    if settings.per_channel and (row.get("channels") or 1) >= 2:
        return list(range(min(row["channels"], len(settings.channel_roles))))
    return [None]


def _speaker(archive: Archive, recording_id: int, role: str) -> str:
    """The first person in ``role`` for this recording, or the role itself."""
    names = archive.people_names(recording_id, role)
    return names[0] if names else role.capitalize()


def _transcribe_one(
    archive: Archive,
    row: dict[str, Any],
    settings: TranscribeSettings,
    engine: Engine,
    model: models.ModelEntry,
    model_sha: str | None,
    progress: Progress,
) -> RecordingOutcome:
    started_at, clock = utc_now(), time.monotonic()
    path = archive.root / row["file_path"]
    channels = _channels(row, settings)
    audios = {ch: load_audio(path, channel=ch) for ch in channels}
    first = audios[channels[0]]
    language, probability, source, candidates = choose_language(
        settings, row, engine, first, model.multilingual
    )
    prompt = build_prompt(archive, row, settings.prompt) if settings.metadata_prompt else (
        settings.prompt
    )  # fmt: skip
    options = DecodeOptions(
        language=language,
        beam_size=settings.beam_size,
        initial_prompt=prompt,
        vad=settings.vad,
        word_timestamps=settings.word_timestamps,
    )
    results: list[tuple[int | None, Segment]] = []
    spans: list[tuple[int | None, DroppedSpan]] = []
    share = 1.0 / len(channels)
    for channel, audio in audios.items():
        segments_iter, info = engine.transcribe(audio, options)
        decoded: list[Segment] = []
        position = 0.0
        for segment in segments_iter:
            decoded.append(segment)
            progress.advance(max(0.0, min(segment.end, info.duration) - position) * share)
            position = max(position, min(segment.end, info.duration))
        progress.advance(max(0.0, len(audio) / SAMPLE_RATE - position) * share)
        results += [(channel, s) for s in decoded]
        spans += [(channel, d) for d in dropped_spans(audio, decoded)]
    results.sort(key=lambda pair: (pair[1].start, pair[0] or 0))
    speakers = {
        ch: _speaker(archive, row["id"], settings.channel_roles[ch])
        for ch in channels
        if ch is not None
    }
    wall = time.monotonic() - clock
    run = {
        "recording_id": row["id"],
        "source": "machine",
        "engine": engine.name,
        "engine_version": engine.version(),
        "model": model.name,
        "model_sha256": model_sha,
        "compute_type": engine.compute_type,
        "language": language,
        "language_probability": probability,
        "language_source": source,
        "language_candidates": json.dumps(candidates) if candidates else None,
        "options": json.dumps(replace(options, initial_prompt=None).as_dict()),
        "prompt": prompt,
        "channels": json.dumps({str(k): v for k, v in speakers.items()}) if speakers else "mix",
        "started_at": started_at,
        "finished_at": utc_now(),
        "audio_seconds": row["duration"],
        "wall_seconds": round(wall, 3),
        "is_current": 1,
    }
    flagged = []
    for channel in channels:  # loops are judged within one speaker's channel
        own = [s for ch, s in results if ch == channel]
        flagged += [(channel, s, f) for s, f in zip(own, flag_segments(own, language, options),
                                                    strict=True)]  # fmt: skip
    flagged.sort(key=lambda item: (item[1].start, item[0] or 0))
    run["suspect_segments"] = sum(1 for _, _, f in flagged if f)
    with archive.db.atomic():
        archive.db.execute(
            "UPDATE transcripts SET is_current = 0 WHERE recording_id = ? AND source = 'machine'",
            [row["id"]],
        )
        transcript_id = archive.db["transcripts"].insert(run).last_pk
        archive.db["segments"].insert_all(
            {
                "transcript_id": transcript_id,
                "recording_id": row["id"],
                "position": position,
                "start": round(segment.start, 3),
                "end": round(segment.end, 3),
                "text": segment.text,
                "speaker": speakers.get(channel) if channel is not None else None,
                "channel": channel,
                "avg_logprob": round(segment.avg_logprob, 4),
                "no_speech_prob": round(segment.no_speech_prob, 4),
                "compression_ratio": round(segment.compression_ratio, 3),
                "temperature": segment.temperature,
                "words": json.dumps([w.__dict__ for w in segment.words], ensure_ascii=False)
                if segment.words
                else None,
                "flags": json.dumps(flags) if flags else None,
                "suspect": int(bool(flags)),
            }
            for position, (channel, segment, flags) in enumerate(flagged)
        )
        archive.db["dropped_spans"].insert_all(
            {
                "transcript_id": transcript_id,
                "recording_id": row["id"],
                "channel": channel,
                "start": span.start,
                "end": span.end,
                "reason": span.reason,
                "loudness_dbfs": round(span.loudness_dbfs, 1),
            }
            for channel, span in spans
        )
    return RecordingOutcome(
        row["id"],
        "transcribed",
        f"{len(results)} segments in {language}",
        transcript_id,
        len(results),
        run["suspect_segments"],
        len(spans),
        language,
    )
