"""Batched decoding in the faster-whisper engine (``DecodeOptions(batched=True)``).

The fast tests check the engine's repair of faster-whisper's token splitting against the real
faster-whisper function; the slow one decodes a generated recording longer than one 30-s
window both ways with tiny.en and checks that batching loses no sentence.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import MethodType, SimpleNamespace

import pytest

from livingmemory.transcription.engines.base import DecodeOptions, default_batch_size

BEGIN = 50364  # the first timestamp token of Whisper's multilingual vocabulary


def ts(seconds: float) -> int:
    return BEGIN + round(seconds / 0.02)


def keep_unfinished() -> object:
    """The engine's wrapper around a stand-in model that has faster-whisper's real splitter."""
    faster_whisper = pytest.importorskip("faster_whisper")
    from livingmemory.transcription.engines.faster_whisper import _KeepUnfinished

    model = SimpleNamespace(time_precision=0.02, input_stride=2)
    model._split_segments_by_timestamps = MethodType(
        faster_whisper.WhisperModel._split_segments_by_timestamps, model
    )
    return _KeepUnfinished(model)


TOKENIZER = SimpleNamespace(timestamp_begin=BEGIN)


def test_an_unfinished_last_sentence_is_kept_as_a_segment() -> None:
    wrapper = keep_unfinished()
    tokens = [ts(0.0), 1, 2, ts(2.0), ts(2.0), 3, 4, ts(4.5), ts(4.5), 5, 6, 7]
    segments, _, _ = wrapper._split_segments_by_timestamps(  # type: ignore[attr-defined]
        tokenizer=TOKENIZER,
        tokens=tokens,
        time_offset=10.0,
        segment_size=1000,
        segment_duration=8.0,
        seek=0,
    )
    assert [s["tokens"] for s in segments][-1] == [ts(4.5), 5, 6, 7]
    assert segments[-1]["start"] == pytest.approx(14.5)
    assert segments[-1]["end"] == pytest.approx(18.0)  # the chunk's end
    assert [t for s in segments for t in s["tokens"]] == tokens  # every token placed once


def test_complete_windows_are_left_as_faster_whisper_splits_them() -> None:
    wrapper = keep_unfinished()
    for tokens in (
        [ts(0.0), 1, 2, ts(2.0), ts(2.0), 3, 4, ts(4.5)],  # closed by a single timestamp
        [ts(0.0), 1, 2, ts(2.0), ts(2.0), 3, 4, ts(4.5), ts(4.5)],  # ends on a pair
        [ts(0.0), 1, 2, 3],  # no pair at all: one segment over the chunk
    ):
        got, _, _ = wrapper._split_segments_by_timestamps(  # type: ignore[attr-defined]
            tokenizer=TOKENIZER, tokens=tokens, time_offset=0.0, segment_size=1000,
            segment_duration=8.0, seek=0,
        )  # fmt: skip
        plain, _, _ = wrapper._model._split_segments_by_timestamps(  # type: ignore[attr-defined]
            tokenizer=TOKENIZER, tokens=tokens, time_offset=0.0, segment_size=1000,
            segment_duration=8.0, seek=0,
        )  # fmt: skip
        assert got == plain


def test_batching_is_an_option_with_a_machine_sized_batch() -> None:
    options = DecodeOptions()
    assert isinstance(options.batched, bool)
    assert "batched" in options.as_dict() and "batch_size" in options.as_dict()
    assert default_batch_size(cpus=1) == 4
    assert default_batch_size(cpus=2) == 8
    assert default_batch_size(cpus=64) == 16
    assert default_batch_size("cuda") == 16


LONG_TEXT = [
    "My grandmother came to Cleveland from a small village in the mountains.",
    "She worked in a bakery and saved every penny for a house.",
    "My grandfather found a job in the steel mill across the river.",
    "On Sundays the whole family walked down to the lake after church.",
    "The children spoke their parents' language at home and English at school.",
    "During the war my uncle served in the navy and wrote letters every month.",
    "When he came back he opened a small shop that sold shoes and hats.",
    "In winter the streets were covered with snow for weeks at a time.",
    "My mother sang old songs while she cooked soup in a big iron pot.",
    "We had no car, so we took the streetcar whenever we went downtown.",
    "My father taught me to play the accordion in the evenings.",
    "Every summer there was a picnic with music and dancing in the park.",
    "I still remember the smell of fresh bread in the kitchen.",
]


@pytest.mark.slow
def test_batched_decoding_keeps_every_sentence_of_a_long_recording(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng to synthesise test speech")
    from livingmemory.archive.audio import load_audio
    from livingmemory.transcription import models
    from livingmemory.transcription.engines import get_engine

    wav = tmp_path / "long.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), " ".join(LONG_TEXT)], check=True)
    audio = load_audio(wav)
    assert len(audio) / 16_000 > 45  # more than two 20-s chunks: batching has chunks to batch
    engine = get_engine("faster-whisper")(models.resolve("tiny.en"), threads=2)
    texts, infos = {}, {}
    for batched in (False, True):
        segments, info = engine.transcribe(audio, DecodeOptions(language="en", batched=batched))
        segments = list(segments)
        texts[batched], infos[batched] = " ".join(s.text for s in segments).casefold(), info
        assert all(0 <= s.start <= s.end <= info.duration + 0.5 for s in segments)
        if batched:  # sentence-sized segments with their own time codes, not 20-s chunks
            assert len(segments) >= len(LONG_TEXT) - 2
    assert infos[True].extra["batched"] is True and infos[False].extra["batched"] is False
    assert infos[True].extra["batch_size"] == default_batch_size()
    for sentence_marker in (
        "cleveland",
        "bakery",
        "steel mill",
        "navy",
        "shoes",
        "snow",
        "soup",
        "accordion",
        "kitchen",
    ):
        assert sentence_marker in texts[True], (sentence_marker, texts[True])
