"""Judging machine transcripts without a model: loop measures, suspect flags, dropped spans.

Everything here runs on hand-made :class:`Segment` objects and synthetic numpy audio, so the
expectations follow from the definitions in :mod:`livingmemory.transcription.quality` (and
Whisper's own
thresholds in :class:`DecodeOptions`), not from any model's output.
"""

from __future__ import annotations

import numpy as np
import pytest

from livingmemory.transcription.engines.base import SAMPLE_RATE, DecodeOptions, Segment
from livingmemory.transcription.quality import (
    HALLUCINATIONS,
    dropped_spans,
    flag_segments,
    repeated_ngram_ratio,
    segment_flags,
)

OPTIONS = DecodeOptions()


def seg(
    text: str = "She worked in the iron works for forty years.",
    start: float = 0.0,
    end: float = 4.0,
    *,
    avg_logprob: float = -0.3,
    no_speech_prob: float = 0.05,
    compression_ratio: float = 1.2,
    temperature: float = 0.0,
) -> Segment:
    """A segment that looks healthy unless a test says otherwise."""
    return Segment(start, end, text, avg_logprob, no_speech_prob, compression_ratio, temperature)


# -- repeated_ngram_ratio -------------------------------------------------------------------


def _naive_ratio(words: list[str], n: int) -> float:
    """Independent reference: count n-grams already seen earlier in the sequence."""
    seen: set[tuple[str, ...]] = set()
    repeats = total = 0
    for i in range(len(words) - n + 1):
        gram = tuple(words[i : i + n])
        total += 1
        repeats += gram in seen
        seen.add(gram)
    return repeats / total


def test_ngram_ratio_is_zero_for_ordinary_speech() -> None:
    text = "My grandmother was born in Kranj and worked in the iron works for forty years"
    assert repeated_ngram_ratio(text) == 0.0


def test_ngram_ratio_of_a_loop() -> None:
    loop = "in the village " * 6
    ratio = repeated_ngram_ratio(loop)
    # 18 words, 16 trigrams, only 3 distinct: 13 of them repeat an earlier one.
    assert ratio == pytest.approx(13 / 16)
    assert ratio == pytest.approx(_naive_ratio(loop.split(), 3))
    assert ratio > 0.3


@pytest.mark.parametrize("n", [2, 3, 4])
def test_ngram_ratio_matches_a_naive_count(n: int) -> None:
    text = "we went to the fair and then we went to the river and then we went home"
    assert repeated_ngram_ratio(text, n) == pytest.approx(_naive_ratio(text.split(), n))


def test_ngram_ratio_ignores_case_and_punctuation() -> None:
    plain = "in the village in the village in the village in the village"
    noisy = "In the village, in THE village... In the village; in the Village!"
    assert repeated_ngram_ratio(noisy) == repeated_ngram_ratio(plain) > 0.3


def test_ngram_ratio_needs_enough_words() -> None:
    """Fewer than 3n words never count as a loop (a short phrase said twice is normal)."""
    assert repeated_ngram_ratio("yes yes yes yes yes yes yes yes") == 0.0  # 8 words, n=3
    assert repeated_ngram_ratio("yes yes yes yes yes yes yes yes yes") > 0.5  # 9 words
    assert repeated_ngram_ratio("") == 0.0


# -- segment_flags ------------------------------------------------------------------------


def test_healthy_segment_has_no_flags() -> None:
    assert segment_flags(seg(), "en", OPTIONS) == []
    assert segment_flags(seg("Rodila sem se v Kranju, oče je bil kovač."), "sl", OPTIONS) == []


def test_low_confidence_uses_the_decode_threshold() -> None:
    threshold = OPTIONS.log_prob_threshold
    assert "low_confidence" in segment_flags(seg(avg_logprob=threshold - 0.01), "en", OPTIONS)
    assert "low_confidence" not in segment_flags(seg(avg_logprob=threshold), "en", OPTIONS)
    stricter = DecodeOptions(log_prob_threshold=-0.2)
    assert "low_confidence" in segment_flags(seg(avg_logprob=-0.3), "en", stricter)


def test_no_speech_uses_the_decode_threshold() -> None:
    threshold = OPTIONS.no_speech_threshold
    assert "maybe_no_speech" in segment_flags(seg(no_speech_prob=threshold + 0.01), "en", OPTIONS)
    assert "maybe_no_speech" not in segment_flags(seg(no_speech_prob=threshold), "en", OPTIONS)


@pytest.mark.parametrize(
    "text", ["Thank you.", "thank you", " THANK YOU! ", "Thanks for watching!", "Hvala."]
)
def test_stock_phrases_are_flagged(text: str) -> None:
    assert "stock_phrase" in segment_flags(seg(text), "en", OPTIONS)


def test_stock_phrase_only_when_it_is_the_whole_segment() -> None:
    text = "Thank you, she said, and walked to the station."
    assert "stock_phrase" not in segment_flags(seg(text), "en", OPTIONS)


def test_hallucination_list_is_normalised() -> None:
    """Entries are compared with normalised text, so they must be normalised themselves."""
    for phrase in HALLUCINATIONS:
        assert phrase == phrase.casefold().strip()
        assert not any(mark in phrase for mark in ".,!?;:")


def test_cyrillic_in_a_slovenian_transcript_is_language_drift() -> None:
    drift = seg("Продолжение истории о деревне и реке")
    assert "language_drift" in segment_flags(drift, "sl", OPTIONS)
    assert "language_drift" in segment_flags(drift, "en", OPTIONS)
    # The same text is correct in a Russian transcript.
    assert "language_drift" not in segment_flags(drift, "ru", OPTIONS)
    # Slovenian letters with carons are Latin script.
    assert "language_drift" not in segment_flags(
        seg("Železarna, čevlji, šola, ŽIČE"), "sl", OPTIONS
    )


def test_a_few_foreign_letters_are_not_drift() -> None:
    """One Cyrillic word in a long Latin sentence (a quoted name) is below the 30 % share."""
    text = "My father met a Russian soldier called Иван near the river in nineteen forty five"
    assert "language_drift" not in segment_flags(seg(text), "en", OPTIONS)


def test_repetitive_by_ngrams_or_compression() -> None:
    loop = seg("in the village " * 5)
    assert "repetitive" in segment_flags(loop, "en", OPTIONS)
    squeezed = seg(compression_ratio=OPTIONS.compression_ratio_threshold + 0.1)
    assert "repetitive" in segment_flags(squeezed, "en", OPTIONS)
    at_threshold = seg(compression_ratio=OPTIONS.compression_ratio_threshold)
    assert "repetitive" not in segment_flags(at_threshold, "en", OPTIONS)


def test_high_temperature_fallback_is_flagged() -> None:
    assert "high_temperature" in segment_flags(seg(temperature=0.6), "en", OPTIONS)
    assert "high_temperature" not in segment_flags(seg(temperature=0.4), "en", OPTIONS)


def test_several_flags_at_once() -> None:
    bad = seg("Thank you.", avg_logprob=-1.5, no_speech_prob=0.9, temperature=1.0)
    flags = segment_flags(bad, "en", OPTIONS)
    assert set(flags) == {"low_confidence", "maybe_no_speech", "stock_phrase", "high_temperature"}
    assert len(flags) == len(set(flags))


# -- flag_segments: loops across segments --------------------------------------------------


def test_a_segment_repeating_a_recent_one_is_flagged() -> None:
    texts = ["The last three days.", "We walked.", "the last three days", "The last three days!"]
    flags = flag_segments([seg(t, i, i + 1) for i, t in enumerate(texts)], "en", OPTIONS)
    assert len(flags) == len(texts)
    assert flags[0] == [] and flags[1] == []
    assert flags[2] == ["repeated_segment"]
    assert flags[3] == ["repeated_segment"]


def test_repetition_is_only_looked_for_in_the_three_segments_before() -> None:
    texts = ["A cow came.", "One.", "Two.", "A cow came."]  # 3 segments back: flagged
    assert flag_segments([seg(t) for t in texts], "en", OPTIONS)[-1] == ["repeated_segment"]
    texts = ["A cow came.", "One.", "Two.", "Three.", "A cow came."]  # 4 back: not flagged
    assert flag_segments([seg(t) for t in texts], "en", OPTIONS)[-1] == []


def test_flag_segments_keeps_each_segments_own_flags() -> None:
    segments = [seg("Thank you."), seg("We walked home.", avg_logprob=-2.0), seg("Thank you.")]
    flags = flag_segments(segments, "en", OPTIONS)
    assert flags[0] == ["stock_phrase"]
    assert flags[1] == ["low_confidence"]
    # A two-word repeat is how people talk; "Thank you." is caught as a stock phrase anyway.
    assert flags[2] == ["stock_phrase"]


def test_short_repeats_are_speech_not_loops() -> None:
    flags = flag_segments([seg("Hello?"), seg("Hello?"), seg("Oh, hello.")], "en", OPTIONS)
    assert flags == [[], [], []]


def test_empty_segments_are_not_repeats() -> None:
    flags = flag_segments([seg(""), seg("..."), seg("")], "en", OPTIONS)
    assert all("repeated_segment" not in f for f in flags)
    assert flag_segments([], "en", OPTIONS) == []


# -- dropped_spans ------------------------------------------------------------------------

RNG_SEED = 1234


def _noise(seconds: float, dbfs: float, seed: int = RNG_SEED) -> np.ndarray:
    """White noise whose RMS level is ``dbfs`` (full scale = 1.0)."""
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal(int(seconds * SAMPLE_RATE)).astype(np.float32)
    samples /= np.sqrt(np.mean(samples**2))
    return samples * np.float32(10 ** (dbfs / 20))


def _tone(seconds: float, dbfs: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    amplitude = 10 ** (dbfs / 20) * np.sqrt(2)  # a sine's RMS is its peak / sqrt(2)
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def _speechlike(seconds: float) -> np.ndarray:
    return _noise(seconds, -18.0, seed=99)


AROUND = [seg("First part.", 0.0, 5.0), seg("Second part.", 10.0, 15.0)]


def test_silence_between_segments_is_not_dropped() -> None:
    audio = np.concatenate([_speechlike(5), _silence(5), _speechlike(5)])
    assert dropped_spans(audio, AROUND) == []


@pytest.mark.parametrize("burst", [_noise, _tone], ids=["noise", "tone"])
def test_loud_gap_between_segments_is_one_dropped_span(burst) -> None:
    audio = np.concatenate([_speechlike(5), burst(5, -20.0), _speechlike(5)])
    spans = dropped_spans(audio, AROUND)
    assert len(spans) == 1
    span = spans[0]
    assert (span.start, span.end) == (5.0, 10.0)
    assert span.loudness_dbfs == pytest.approx(-20.0, abs=0.5)
    assert span.reason


def test_quiet_room_noise_is_not_dropped() -> None:
    audio = np.concatenate([_speechlike(5), _noise(5, -60.0), _speechlike(5)])
    assert dropped_spans(audio, AROUND) == []


def test_sound_without_any_segment_is_one_span_over_the_whole_file() -> None:
    audio = _noise(6, -20.0)
    [span] = dropped_spans(audio, [])
    assert (span.start, span.end) == (0.0, 6.0)


def test_sound_after_the_last_segment_is_dropped() -> None:
    audio = np.concatenate([_speechlike(5), _silence(5), _speechlike(5), _noise(4, -25.0)])
    spans = dropped_spans(audio, AROUND)
    assert [(s.start, s.end) for s in spans] == [(15.0, 19.0)]


def test_gaps_shorter_than_min_gap_are_ignored() -> None:
    segments = [seg("a", 0.0, 5.0), seg("b", 7.5, 12.0)]  # a 2.5 s gap
    audio = np.concatenate([_speechlike(5), _noise(2.5, -20.0), _speechlike(4.5)])
    assert dropped_spans(audio, segments) == []
    assert len(dropped_spans(audio, segments, min_gap=2.0)) == 1


def test_a_gap_needs_a_fifth_of_its_frames_loud() -> None:
    segments = [seg("a", 0.0, 2.0), seg("b", 12.0, 14.0)]  # a 10 s gap
    mostly_quiet = np.concatenate([_noise(1.0, -20.0), _silence(9.0)])  # 10 % loud
    partly_loud = np.concatenate([_noise(3.0, -20.0), _silence(7.0)])  # 30 % loud
    for gap, expected in ((mostly_quiet, 0), (partly_loud, 1)):
        audio = np.concatenate([_speechlike(2), gap, _speechlike(2)])
        assert len(dropped_spans(audio, segments)) == expected


def test_overlapping_segments_cover_their_union() -> None:
    """Per-channel runs can overlap; a later short segment must not reopen a covered gap."""
    segments = [seg("long", 0.0, 12.0), seg("short", 2.0, 3.0), seg("end", 12.0, 15.0)]
    audio = _noise(15, -20.0)
    assert dropped_spans(audio, segments) == []


def test_speech_threshold_is_configurable() -> None:
    audio = np.concatenate([_speechlike(5), _noise(5, -40.0), _speechlike(5)])
    assert dropped_spans(audio, AROUND) == []  # default: louder than -35 dBFS counts
    assert len(dropped_spans(audio, AROUND, speech_dbfs=-45.0)) == 1
