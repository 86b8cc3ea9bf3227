"""The transcription pipeline: pending recordings in, time-coded transcripts out.

For each recording: decide mixdown or one transcript per channel (channels carrying
different voices are split), decode the audio once (16 kHz), choose the language (metadata
first; detection only when unknown, only among the archive's expected languages, and only
when it is sure enough, otherwise the recording is marked "language uncertain" and left
alone), run the engine (no prompt unless asked: name prompts made Whisper write names nobody
said), clamp every time to the audio, flag suspect segments (word-probability confidence,
loops, prompt echoes), note audio that got no text, check that someone or somewhere in the
metadata was heard, and commit the run with its segments in one transaction. An
interrupted batch keeps every recording already committed; running again picks up the
rest, because "pending" means "no finished machine transcript".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from livingmemory.archive.audio import distinct_channels, load_audio
from livingmemory.archive.concurrency import claim_for_transcription, release
from livingmemory.archive.store import Archive, utc_now
from livingmemory.errors import LivingMemoryError
from livingmemory.ingest.languages import normalize_language
from livingmemory.speakers.stage import DiarizeSettings, WhoSpeaks, who_speaks
from livingmemory.transcription import models
from livingmemory.transcription.engines import DEFAULT_ENGINE, get_engine
from livingmemory.transcription.engines.base import SAMPLE_RATE, DecodeOptions, Engine, Segment
from livingmemory.transcription.quality import (
    THRESHOLDS,
    DroppedSpan,
    dropped_spans,
    flag_segments,
    names_heard,
    segment_confidence,
    untrusted,
)

EXPECTED_LANGUAGES = ("sl", "en", "de", "hr")


@dataclass(frozen=True)
class TranscribeSettings:
    """What the user asked for; everything has a default that works offline.

    The defaults come from ``benchmarks/honesty.py`` (figures in the README): no metadata
    prompt (a list of names as the prompt made the base model write those names over speech
    that never said them), word timestamps on (per-segment confidence from word
    probabilities), detection trusted only above ``min_language_probability``, and stereo
    files split per channel when their channels carry different voices.
    """

    engine: str = DEFAULT_ENGINE
    model: str = models.DEFAULT_MODEL
    language: str | None = None  # None: the recording's own; "auto": detect
    expected_languages: tuple[str, ...] = EXPECTED_LANGUAGES
    prompt: str | None = None
    metadata_prompt: bool = False
    beam_size: int = 5
    vad: bool = False
    word_timestamps: bool = True
    force: bool = False
    per_channel: bool | None = None  # None: decide from the audio; False: always mix down
    channel_roles: tuple[str, ...] = ("interviewer", "narrator")
    compute_type: str = "default"
    threads: int = 0
    min_language_probability: float = THRESHOLDS.min_language_probability
    batched: bool = False  # faster-whisper's batched pipeline (README: measured, not default)
    batch_size: int = 0  # 0: chosen for the machine
    # issue 15: who is speaking (livingmemory/speakers/turns.py)
    diarization: DiarizeSettings = field(default_factory=DiarizeSettings)


@dataclass
class RecordingOutcome:
    recording_id: int
    status: (
        str  # "transcribed" | "uncertain" (language unsure: not transcribed) | "skipped" | "failed"
    )
    message: str = ""
    transcript_id: int | None = None
    segments: int = 0
    suspect: int = 0
    dropped: int = 0
    language: str | None = None
    warnings: list[str] = field(default_factory=list)
    channels: str = "mix"  # how the channels were used, and why


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

    @property
    def uncertain(self) -> list[RecordingOutcome]:
        return [o for o in self.outcomes if o.status == "uncertain"]


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
    settings, progress, rows = start_batch(archive, ids, settings, progress)
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


@dataclass(frozen=True)
class ChannelPlan:
    """Which channels to decode (None = the mixdown) and why, said to the user and stored."""

    channels: tuple[int | None, ...]
    reason: str


def plan_channels(path: Path, row: dict[str, Any], settings: TranscribeSettings) -> ChannelPlan:
    """Mixdown or one transcript per channel.

    A field recorder with a lapel microphone per person puts each voice on its own channel;
    mixing them down lost one speaker (measured WER 0.64 against 0.00 per channel). Unless
    the user decided, the channels are compared
    (:func:`livingmemory.archive.audio.distinct_channels`)
    and split when they carry different voices.
    """
    count = min(row.get("channels") or 1, len(settings.channel_roles))
    if count < 2 or settings.per_channel is False:
        reason = "mono" if count < 2 else "mixed down (--mix)"
        return ChannelPlan((None,), reason)
    split = tuple(range(count))
    if settings.per_channel:
        return ChannelPlan(split, "one transcript per channel (--per-channel)")
    differ, why = distinct_channels(load_audio(path, channel=0), load_audio(path, channel=1))
    if differ:
        return ChannelPlan(split, f"one transcript per channel: {why}")
    return ChannelPlan((None,), f"mixed down: {why}")


def _speaker(archive: Archive, recording_id: int, role: str) -> str:
    """The first person in ``role`` for this recording, or the role itself."""
    names = archive.people_names(recording_id, role)
    return names[0] if names else role.capitalize()


@dataclass
class Decoded:
    """What the engine heard in one recording, before anything is written."""

    segments: list[tuple[int | None, Segment, list[str]]]  # (channel, segment, flags), in order
    spans: list[tuple[int | None, DroppedSpan]]


def decode_recording(
    engine: Engine,
    audios: dict[int | None, np.ndarray],
    options: DecodeOptions,
    language: str,
    progress: Progress | None = None,
) -> Decoded:
    """Decode every channel, clamp times to the audio, flag suspect segments, find dropped
    speech. Pure: touches no archive, so a worker on another machine can run it."""
    progress = progress or _Silent()
    results: list[tuple[int | None, Segment, list[str]]] = []
    spans: list[tuple[int | None, DroppedSpan]] = []
    share = 1.0 / len(audios)
    for channel, audio in audios.items():
        duration = len(audio) / SAMPLE_RATE
        segments_iter, _ = engine.transcribe(audio, options)
        decoded: list[Segment] = []
        position = 0.0
        for raw in segments_iter:
            segment = raw.clamped(duration)
            decoded.append(segment)
            progress.advance(max(0.0, segment.end - position) * share)
            position = max(position, segment.end)
        progress.advance(max(0.0, duration - position) * share)
        # Loops are judged within one speaker's channel.
        flags = flag_segments(decoded, language, options, prompt=options.initial_prompt)
        results += [(channel, s, f) for s, f in zip(decoded, flags, strict=True)]
        spans += [(channel, d) for d in dropped_spans(audio, decoded)]
    results.sort(key=lambda item: (item[1].start, item[0] or 0))
    return Decoded(results, spans)


def _mark_language_uncertain(
    archive: Archive, row: dict[str, Any], candidates: list[tuple[str, float]]
) -> None:
    archive.db.execute(
        "UPDATE recordings SET language_status = 'uncertain', language_candidates = ? WHERE id = ?",
        [json.dumps(candidates), row["id"]],
    )


@dataclass
class DecodedRecording:
    """What the engine made of one recording, before the archive judges and stores it.

    Produced by :func:`decode_one` (pure: a Dask worker on another machine can run it) and
    stored by :func:`commit_one` in the process that owns the archive. ``decoded`` is None when
    detection could not settle the language (nothing was transcribed in a guess).
    """

    recording_id: int
    plan: ChannelPlan
    language: str | None
    language_probability: float | None
    language_source: str
    language_candidates: list[tuple[str, float]]
    prompt: str | None
    options: DecodeOptions | None
    decoded: Decoded | None
    engine: str
    engine_version: str
    model: str
    model_sha256: str | None
    compute_type: str
    started_at: str
    wall_seconds: float
    worker: str = ""
    audio: np.ndarray | None = None  # the first channel, kept for diarization (serial runs)


def decode_options(
    settings: TranscribeSettings, language: str, prompt: str | None, word_timestamps: bool
) -> DecodeOptions:
    """The engine options for one recording."""
    return DecodeOptions(
        language=language,
        beam_size=settings.beam_size,
        initial_prompt=prompt,
        vad=settings.vad,
        word_timestamps=word_timestamps,
        batched=settings.batched,
        batch_size=settings.batch_size,
    )


def decode_one(
    path: Path,
    row: dict[str, Any],
    settings: TranscribeSettings,
    engine: Engine,
    model: models.ModelEntry,
    model_sha: str | None,
    *,
    prompt: str | None,
    word_timestamps: bool,
    progress: Progress | None = None,
    keep_audio: bool = False,
) -> DecodedRecording:
    """Channels, language and decoding for one recording; touches no archive.

    ``prompt`` and ``word_timestamps`` come from the archive side (:func:`build_prompt`; word
    times are forced on when speakers will be diarized).
    """
    progress = progress or _Silent()
    started_at, clock = utc_now(), time.monotonic()
    plan = plan_channels(path, row, settings)
    audios = {ch: load_audio(path, channel=ch) for ch in plan.channels}
    language, probability, source, candidates = choose_language(
        settings, row, engine, audios[plan.channels[0]], model.multilingual
    )
    options: DecodeOptions | None = None
    decoded: Decoded | None = None
    if source == "detected" and (probability or 0.0) < settings.min_language_probability:
        progress.advance(row["duration"] or 0.0)
    else:
        options = decode_options(settings, language, prompt, word_timestamps)
        decoded = decode_recording(engine, audios, options, language, progress)
    return DecodedRecording(
        recording_id=row["id"],
        plan=plan,
        language=language if decoded is not None else None,
        language_probability=probability,
        language_source=source,
        language_candidates=list(candidates),
        prompt=prompt,
        options=options,
        decoded=decoded,
        engine=engine.name,
        engine_version=engine.version(),
        model=model.name,
        model_sha256=model_sha,
        compute_type=engine.compute_type,
        started_at=started_at,
        wall_seconds=time.monotonic() - clock,
        audio=audios[plan.channels[0]] if keep_audio else None,
    )


def prepare(archive: Archive, row: dict[str, Any], settings: TranscribeSettings) -> tuple[
    str | None, bool
]:  # fmt: skip
    """What decoding needs from the archive: the prompt, and whether to keep word times."""
    prompt = build_prompt(archive, row, settings.prompt) if settings.metadata_prompt else (
        settings.prompt
    )  # fmt: skip
    # issue 15: speaker turns split segments between words, so diarizing needs word times
    # (the channel plan needs the audio; a stereo file may still be mixed down to one voice)
    mono = not ((row.get("channels") or 1) >= 2 and settings.per_channel is True)
    people = len({person["id"] for person in archive.people(row["id"])})
    words = settings.word_timestamps or settings.diarization.wanted(mono, people)
    return prompt, words


def start_batch(
    archive: Archive,
    ids: Iterable[int] | None,
    settings: TranscribeSettings | None,
    progress: Progress | None,
) -> tuple[TranscribeSettings, Progress, list[dict[str, Any]]]:
    """The defaults filled in, and the recordings still to transcribe: how every transcribe
    run starts, on this machine or on a cluster."""
    settings = settings or TranscribeSettings()
    return settings, progress or _Silent(), pending_recordings(archive, ids, force=settings.force)


def _transcribe_one(
    archive: Archive,
    row: dict[str, Any],
    settings: TranscribeSettings,
    engine: Engine,
    model: models.ModelEntry,
    model_sha: str | None,
    progress: Progress,
) -> RecordingOutcome:
    prompt, words = prepare(archive, row, settings)
    result = decode_one(
        archive.root / row["file_path"], row, settings, engine, model, model_sha,
        prompt=prompt, word_timestamps=words, progress=progress, keep_audio=True,
    )  # fmt: skip
    return commit_one(archive, row, settings, result)


def _finished(archive: Archive, recording_id: int) -> bool:
    return (
        archive.db.execute(
            "SELECT 1 FROM transcripts WHERE recording_id = ? AND source = 'machine' "
            "AND finished_at IS NOT NULL LIMIT 1",
            [recording_id],
        ).fetchone()
        is not None
    )


def commit_one(
    archive: Archive, row: dict[str, Any], settings: TranscribeSettings, result: DecodedRecording
) -> RecordingOutcome:
    """Judge and store one decoded recording: speakers, names heard, the run and its segments.

    Runs in the one process that writes the archive. Without ``settings.force``, a recording
    that got a finished machine transcript in the meantime (another run, a duplicate result
    from a cluster) is skipped, so nothing is stored twice.
    """
    plan = result.plan
    if result.decoded is None or result.options is None:
        return _uncertain(archive, row, result.language_candidates)
    language = result.language
    decoded, who = _who_speaks(archive, row, settings, result, result.decoded)
    speakers = {
        ch: _speaker(archive, row["id"], settings.channel_roles[ch])
        for ch in plan.channels
        if ch is not None
    }
    expected = [*archive.people_names(row["id"]), *([row["place"]] if row.get("place") else [])]
    heard = names_heard(
        [s.text for _, s, flags in decoded.segments if not untrusted(flags)], expected
    )
    warnings = ["names_not_heard"] if expected and not any(heard.values()) else []
    run = _run_row(row, result, decoded, speakers, warnings, heard)
    transcript_id = _commit(archive, row, run, decoded, speakers, who, force=settings.force)
    if transcript_id is None:
        return RecordingOutcome(
            row["id"], "skipped", "already transcribed (a finished transcript exists)"
        )
    return RecordingOutcome(
        row["id"],
        "transcribed",
        f"{len(decoded.segments)} segments in {language}",
        transcript_id,
        len(decoded.segments),
        run["suspect_segments"],
        len(decoded.spans),
        language,
        warnings,
        plan.reason,
    )


def _uncertain(
    archive: Archive, row: dict[str, Any], candidates: list[tuple[str, float]]
) -> RecordingOutcome:
    """Nothing is transcribed in a guessed language: the recording is marked instead."""
    with archive.db.atomic():
        _mark_language_uncertain(archive, row, candidates)
    guesses = ", ".join(f"{code} {p:.2f}" for code, p in candidates[:3])
    return RecordingOutcome(
        row["id"],
        "uncertain",
        f"language uncertain ({guesses}): not transcribed in a guess; set the recording's "
        "language, or pass --language",
        language=None,
    )


def _who_speaks(
    archive: Archive,
    row: dict[str, Any],
    settings: TranscribeSettings,
    result: DecodedRecording,
    decoded: Decoded,
) -> tuple[Decoded, WhoSpeaks | None]:
    """Who is speaking (livingmemory/speakers/stage.py, one call): for a mono recording
    when wanted, the segments split at speaker turns and named, each part keeping the flags
    of the segment it came from; else as decoded."""
    plan = result.plan

    def audio() -> np.ndarray:
        if result.audio is not None:
            return result.audio
        return load_audio(archive.root / row["file_path"], channel=plan.channels[0])

    triples = decoded.segments
    who = who_speaks(
        archive, row["id"], audio, [s for _, s, _ in triples], settings.diarization,
        mono=plan.channels == (None,),
    )  # fmt: skip
    if who is None:
        return decoded, None
    parts = [(triples[origin][0], part, list(triples[origin][2]))
             for origin, part in zip(who.origins, who.segments, strict=True)]  # fmt: skip
    return replace(decoded, segments=parts), who


def _run_row(
    row: dict[str, Any],
    result: DecodedRecording,
    decoded: Decoded,
    speakers: dict[int, str],
    warnings: list[str],
    heard: dict[str, bool],
) -> dict[str, Any]:
    """The ``transcripts`` row of a finished machine run: what ran, on what, and what it found."""
    assert result.options is not None  # an undecoded recording is marked uncertain instead
    candidates = result.language_candidates
    return {
        "recording_id": row["id"],
        "source": "machine",
        "engine": result.engine,
        "engine_version": result.engine_version,
        "model": result.model,
        "model_sha256": result.model_sha256,
        "compute_type": result.compute_type,
        "language": result.language,
        "language_probability": result.language_probability,
        "language_source": result.language_source,
        "language_candidates": json.dumps(candidates) if candidates else None,
        "options": json.dumps(replace(result.options, initial_prompt=None).as_dict()),
        "prompt": result.prompt,
        "channels": json.dumps({str(k): v for k, v in speakers.items()}) if speakers else "mix",
        "started_at": result.started_at,
        "finished_at": utc_now(),
        "audio_seconds": row["duration"],
        "wall_seconds": round(result.wall_seconds, 3),
        "is_current": 1,
        "suspect_segments": sum(1 for _, _, f in decoded.segments if f),
        "warnings": json.dumps(warnings) if warnings else None,
        "checks": json.dumps(
            {"names_heard": heard, "channels": result.plan.reason}, ensure_ascii=False
        ),
    }


def _commit(
    archive: Archive,
    row: dict[str, Any],
    run: dict[str, Any],
    decoded: Decoded,
    speakers: dict[int, str],
    who: WhoSpeaks | None = None,
    *,
    force: bool = True,
) -> int | None:
    """Write one finished run and its segments in one transaction; the run becomes current.

    None (nothing written) when ``force`` is off and a finished run appeared meanwhile."""
    with archive.db.atomic():
        if not force and _finished(archive, row["id"]):
            return None
        archive.db.execute(
            "UPDATE transcripts SET is_current = 0 WHERE recording_id = ? AND source = 'machine'",
            [row["id"]],
        )
        archive.db.execute(
            "UPDATE recordings SET language_status = ? WHERE id = ?",
            [run["language_source"], row["id"]],
        )
        transcript_id = int(archive.db.table("transcripts").insert(run).last_pk or 0)
        if who is not None:
            who.store(archive, row["id"], transcript_id)
        archive.db.table("segments").insert_all(
            {
                **_segment_row(
                    transcript_id, row["id"], position, channel, segment, flags, speakers
                ),
                "overlap": int(bool(who and who.others[position])),
            }
            for position, (channel, segment, flags) in enumerate(decoded.segments)
        )
        archive.db.table("dropped_spans").insert_all(
            {
                "transcript_id": transcript_id,
                "recording_id": row["id"],
                "channel": channel,
                "start": span.start,
                "end": span.end,
                "reason": span.reason,
                "loudness_dbfs": round(span.loudness_dbfs, 1),
            }
            for channel, span in decoded.spans
        )
    return transcript_id


def _segment_row(
    transcript_id: int,
    recording_id: int,
    position: int,
    channel: int | None,
    segment: Segment,
    flags: list[str],
    speakers: dict[int, str],
) -> dict[str, Any]:
    confidence = segment_confidence(segment)
    return {
        "transcript_id": transcript_id,
        "recording_id": recording_id,
        "position": position,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text,
        "speaker": segment.speaker  # issue 15: diarized name, else the channel's
        or (speakers.get(channel) if channel is not None else None),
        "channel": channel,
        "avg_logprob": round(segment.avg_logprob, 4),
        "no_speech_prob": round(segment.no_speech_prob, 4),
        "compression_ratio": round(segment.compression_ratio, 3),
        "temperature": segment.temperature,
        "confidence": round(confidence, 4) if confidence is not None else None,
        "words": json.dumps([w.__dict__ for w in segment.words], ensure_ascii=False)
        if segment.words
        else None,
        "flags": json.dumps(flags) if flags else None,
        "suspect": int(bool(flags)),
    }
