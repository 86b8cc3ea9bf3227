"""Judging machine transcripts: which segments are suspect, and which speech was dropped.

Whisper fails in known ways on oral-history audio: it loops ("in the village, in the village,
in the village"), invents stock phrases in silence ("Thank you.", subtitle credits), drifts
into another language, and sometimes discards real speech as "no speech". We never hide or
delete such output: segments are flagged (so the review queue can send a human there) and
audio that carries sound but received no text is recorded as a dropped span.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

from livingmemory.engines.base import SAMPLE_RATE, DecodeOptions, Segment

# Phrases Whisper is known to produce from silence or music (lower-case, no punctuation).
HALLUCINATIONS = {
    "thank you", "thanks for watching", "thank you for watching", "please subscribe",
    "subtitles by the amaraorg community", "transcribed by", "you",
    "untertitel im auftrag des zdf", "untertitel der amaraorg community",
    "vielen dank", "danke fürs zuschauen", "hvala za ogled", "hvala", "podnapisi",
    "prevedel", "dziękuję", "продолжение следует",
}  # fmt: skip
# Scripts a transcript in these languages should be written in.
LATIN_LANGUAGES = {"sl", "en", "de", "hr", "it", "hu", "fr", "es", "pl", "cs", "sk", "bs"}


@dataclass(frozen=True)
class DroppedSpan:
    start: float
    end: float
    reason: str
    loudness_dbfs: float


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", "", text).split())


def repeated_ngram_ratio(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one (0 = none, near 1 = a loop)."""
    words = _normalise(text).split()
    if len(words) < n * 3:
        return 0.0
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    repeats = sum(count - 1 for count in counts.values())
    return repeats / len(grams)


def segment_flags(segment: Segment, language: str | None, options: DecodeOptions) -> list[str]:
    """Reasons to distrust ``segment``; empty when nothing looks wrong."""
    flags = []
    if segment.avg_logprob < options.log_prob_threshold:
        flags.append("low_confidence")
    if segment.no_speech_prob > options.no_speech_threshold:
        flags.append("maybe_no_speech")
    if (
        segment.compression_ratio > options.compression_ratio_threshold
        or repeated_ngram_ratio(segment.text) > 0.3
    ):
        flags.append("repetitive")
    if _normalise(segment.text) in HALLUCINATIONS:
        flags.append("stock_phrase")
    if language in LATIN_LANGUAGES and _foreign_script(segment.text):
        flags.append("language_drift")
    if segment.temperature >= 0.6:
        flags.append("high_temperature")
    return flags


def flag_segments(
    segments: list[Segment], language: str | None, options: DecodeOptions
) -> list[list[str]]:
    """Flags for each segment, including loops that span segments.

    A loop often comes out as the same short segment again and again ("the last three days
    of the future," x4), each one unremarkable on its own; a segment repeating one of the
    three before it is flagged ``repeated_segment``.
    """
    flags, recent = [], []
    for segment in segments:
        own = segment_flags(segment, language, options)
        text = _normalise(segment.text)
        if text and text in recent:
            own.append("repeated_segment")
        recent = [*recent[-2:], text]
        flags.append(own)
    return flags


def _foreign_script(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for c in letters if "LATIN" not in unicodedata.name(c, "LATIN"))
    return non_latin / len(letters) > 0.3


def dropped_spans(
    audio: np.ndarray,
    segments: list[Segment],
    *,
    min_gap: float = 3.0,
    speech_dbfs: float = -35.0,
) -> list[DroppedSpan]:
    """Stretches of at least ``min_gap`` seconds with sound but no transcript.

    Loudness is measured in 30 ms frames; a gap counts when at least a fifth of its frames
    are louder than ``speech_dbfs`` (quiet room noise sits well below -45 dBFS). This is a
    smoke alarm, not a speech detector: it sends a human to listen, nothing more.
    """
    duration = len(audio) / SAMPLE_RATE
    covered = sorted((s.start, s.end) for s in segments)
    gaps, cursor = [], 0.0
    for start, end in covered:
        if start - cursor >= min_gap:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if duration - cursor >= min_gap:
        gaps.append((cursor, duration))
    spans = []
    frame = int(0.03 * SAMPLE_RATE)
    for start, end in gaps:
        chunk = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        usable = len(chunk) // frame * frame
        if usable == 0:
            continue
        rms = np.sqrt(np.mean(chunk[:usable].reshape(-1, frame) ** 2, axis=1) + 1e-12)
        dbfs = 20 * np.log10(rms)
        if np.mean(dbfs > speech_dbfs) >= 0.2:
            loud = float(20 * np.log10(np.sqrt(np.mean(chunk**2)) + 1e-12))
            spans.append(
                DroppedSpan(round(start, 2), round(end, 2), "sound without transcript", loud)
            )
    return spans
