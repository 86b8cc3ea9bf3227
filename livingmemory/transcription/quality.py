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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from livingmemory.transcription.engines.base import SAMPLE_RATE, DecodeOptions, Segment

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


# Flags whose text is not evidence of anything said: such segments are kept (and put first in
# the review queue) but never tagged, so no person or place is stored from words nobody said.
UNTRUSTED_FLAGS = frozenset({"prompt_echo", "repetitive", "repeated_segment", "stock_phrase"})


@dataclass(frozen=True)
class Thresholds:
    """Where a number turns into a flag; the one home of every quality threshold.

    ``min_word_probability``: a segment whose words have a mean probability below this is
    ``low_confidence``. Chosen with ``benchmarks/honesty.py`` on its tuning clips (see the
    README for the catch / false-alarm figures on held-out clips). Word probabilities belong
    to each segment, unlike faster-whisper's avg_logprob and no_speech_prob, which are
    reported once per 30 s window and so cannot single out a bad segment.

    ``min_language_probability``: a detected language below this is a guess (measured:
    Slovenian clips were taken for English at p = 0.009 and 0.023 and transcribed as "Thank
    you, Marija Košir."; README, the language table of ``benchmarks/honesty.py``); the
    recording is marked "language uncertain" and left untranscribed.

    ``low_avg_logprob`` and ``unsure_tag_confidence``: the review queue's extra points for a
    segment with a low average log-probability, and for each machine tag below this
    confidence (fuzzy matches; the rules' guesses are stored at 0.6 and are not counted).

    ``max_foreign_script_share``: letters outside the Latin script above this share mark a
    transcript in a Latin-script language as ``wrong_script``.

    Whisper's own thresholds (log-probability, no-speech probability, compression ratio) are
    decoding settings and live in :class:`~livingmemory.transcription.engines.base.DecodeOptions`;
    the flags use the same values the decoder used.
    """

    min_word_probability: float = 0.6
    min_word_probability_single: float = 0.25
    min_words_repeated_segment: int = 3
    max_repeated_ngrams: float = 0.3
    high_temperature: float = 0.6
    prompt_echo_share: float = 0.5
    min_language_probability: float = 0.5
    low_avg_logprob: float = -0.5
    unsure_tag_confidence: float = 0.6
    max_foreign_script_share: float = 0.3


THRESHOLDS = Thresholds()


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


def segment_confidence(segment: Segment) -> float | None:
    """Mean probability of the segment's words, or None without word timestamps."""
    if not segment.words:
        return None
    return sum(w.probability for w in segment.words) / len(segment.words)


def is_short_loop(text: str) -> bool:
    """A word or two repeated over and over ("Zupan, Zupan, Zupan, Zupan").

    :func:`repeated_ngram_ratio` needs nine words to see a loop of three-word n-grams; Whisper's
    loops on names are often shorter.
    """
    words = _normalise(text).split()
    if len(words) < 4:
        return False
    for n in (1, 2):
        run = best = 1
        for i in range(n, len(words) - n + 1, n):
            run = run + 1 if words[i : i + n] == words[i - n : i] else 1
            best = max(best, run)
        if best >= 3:
            return True
    return len(set(words)) / len(words) <= 0.34


def echoes_prompt(
    text: str, prompt: str | None, share: float = THRESHOLDS.prompt_echo_share
) -> bool:
    """True when the segment is mostly words of the prompt it was decoded with.

    Whisper continues its prompt; with a list of names as the prompt, the base model has
    written "M. Zupan, Marija Košir, Bled." over speech that said none of them. Short words
    (articles, initials) do not count as prompt words.
    """
    if not prompt:
        return False
    prompt_words = {w for w in _fold(prompt).split() if len(w) >= 3}
    words = [w for w in _fold(text).split() if len(w) >= 3]
    if not words or not prompt_words:
        return False
    echoed = sum(1 for w in words if w in prompt_words)
    return echoed >= 1 and echoed / len(words) >= share


def segment_flags(
    segment: Segment,
    language: str | None,
    options: DecodeOptions,
    *,
    prompt: str | None = None,
    thresholds: Thresholds = THRESHOLDS,
) -> list[str]:
    """Reasons to distrust ``segment``; empty when nothing looks wrong."""
    flags = []
    confidence = segment_confidence(segment)
    if confidence is not None:
        # One word ("Hello.", "Ja.") has one noisy probability: only a very low one counts.
        single = len(segment.words) == 1
        limit = (
            thresholds.min_word_probability_single if single else thresholds.min_word_probability
        )
        if confidence < limit:
            flags.append("low_confidence")
    elif segment.avg_logprob < options.log_prob_threshold:
        flags.append("low_confidence")
    # no_speech_prob is one number per 30 s window: trusted only where the words are unsure too.
    if segment.no_speech_prob > options.no_speech_threshold and (
        confidence is None or confidence < thresholds.min_word_probability
    ):
        flags.append("maybe_no_speech")
    if (
        segment.compression_ratio > options.compression_ratio_threshold
        or repeated_ngram_ratio(segment.text) > thresholds.max_repeated_ngrams
        or is_short_loop(segment.text)
    ):
        flags.append("repetitive")
    if echoes_prompt(segment.text, prompt, thresholds.prompt_echo_share):
        flags.append("prompt_echo")
    if _normalise(segment.text) in HALLUCINATIONS:
        flags.append("stock_phrase")
    if language in LATIN_LANGUAGES and _foreign_script(segment.text):
        flags.append("language_drift")
    if segment.temperature >= thresholds.high_temperature:
        flags.append("high_temperature")
    return flags


def flag_segments(
    segments: list[Segment],
    language: str | None,
    options: DecodeOptions,
    *,
    prompt: str | None = None,
    thresholds: Thresholds = THRESHOLDS,
) -> list[list[str]]:
    """Flags for each segment, including loops that span segments.

    A loop often comes out as the same short segment again and again ("the last three days
    of the future," x4), each one unremarkable on its own; a segment of three words or more
    repeating one of the three before it is flagged ``repeated_segment``. Shorter repeats are
    how people talk ("Hello?" "Hello?" on a call) and stock phrases have their own flag.
    """
    flags: list[list[str]] = []
    recent: list[str] = []
    for segment in segments:
        own = segment_flags(segment, language, options, prompt=prompt, thresholds=thresholds)
        text = _normalise(segment.text)
        if text and text in recent and len(text.split()) >= thresholds.min_words_repeated_segment:
            own.append("repeated_segment")
        recent = [*recent[-2:], text]
        flags.append(own)
    return flags


def untrusted(flags: Iterable[str] | str | None) -> bool:
    """True when a segment's flags (a list or the stored JSON) say its words were not heard."""
    if isinstance(flags, str):
        import json

        flags = json.loads(flags)
    return bool(UNTRUSTED_FLAGS.intersection(flags or ()))


def _fold(text: str) -> str:
    """Lower case without diacritics or punctuation: "Košir," -> "kosir"."""
    text = unicodedata.normalize("NFKD", _normalise(text))
    return "".join(c for c in text if not unicodedata.combining(c))


def names_heard(texts: Sequence[str], names: Iterable[str]) -> dict[str, bool]:
    """For each metadata name, whether any of its words (3+ letters) was heard, in any form.

    Inflection-aware without a lemmatiser: a transcript word matches a name word when both
    starts with the name and adds at most four letters ("Koširjeva"; two for short names, so
    "analiza" is not Ana), or with the name's stem (all but its last letter) and adds at most
    three ("Bledu", "Marijo"), or, for names of five letters or more, is within one edit of
    it (rapidfuzz), which tolerates Whisper's spelling of an unfamiliar name
    ("Kosir", "Zupan"). Used to send volunteers to recordings where nobody in the metadata is
    ever mentioned, often a sign of a wrong language or a transcript of something else.
    """
    from rapidfuzz.distance import Levenshtein

    heard: set[str] = set()
    for text in texts:
        heard.update(w for w in _fold(text).split() if len(w) >= 3)
    result = {}
    for name in names:
        parts = [w for w in _fold(name).split() if len(w) >= 3]
        found = False
        for part in parts:
            stem = part[:-1] if len(part) > 3 else part
            if any(
                (w.startswith(part) and len(w) - len(part) <= (4 if len(part) >= 5 else 2))
                or (w.startswith(stem) and len(w) - len(stem) <= 3)
                or (len(part) >= 5 and Levenshtein.distance(w, part, score_cutoff=1) <= 1)
                # the root of a derived name: "Bohinj" for "Bohinjska Bistrica"
                or (
                    len(w) >= 5
                    and part.startswith(w)
                    and part[len(w) :] in ("ska", "ski", "sko", "ske", "ovo", "ova", "ina")
                )
                for w in heard
            ):
                found = True
                break
        result[name] = found
    return result


def _foreign_script(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for c in letters if "LATIN" not in unicodedata.name(c, "LATIN"))
    return non_latin / len(letters) > THRESHOLDS.max_foreign_script_share


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
