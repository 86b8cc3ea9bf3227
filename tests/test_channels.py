"""Stereo: two talkers, one per channel, are split even while they talk at once; one sound
on both channels (a mono copy, a stereo microphone) stays mixed (issue 23)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from livingmemory.archive.audio import channel_similarity, distinct_channels


@pytest.fixture(scope="module")
def voices() -> tuple[np.ndarray, np.ndarray]:
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("needs espeak-ng and ffmpeg to generate voices")
    from livingmemory.speakers import synthetic

    a = synthetic.speak("en+m3", "Where were you born, and what did your parents do there?")
    b = synthetic.speak("en+f2", "I was born in Kranj, by the river, in nineteen thirty two.")
    n = min(len(a), len(b))
    return a[:n], b[:n]


def test_two_talkers_at_once_on_their_own_channels_are_split(
    voices: tuple[np.ndarray, np.ndarray],
) -> None:
    a, b = voices
    # Both talk the whole time; each is heard at -20 dB on the other's lapel microphone.
    # Neither channel is louder by 10 dB, so a loudness test alone would mix them down.
    left, right = a + 0.1 * b, b + 0.1 * a
    differ, why = distinct_channels(left, right)
    assert differ, why
    assert "own signal" in why


def test_one_sound_on_both_channels_stays_mixed(voices: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = voices
    mono = a + b
    same, why = distinct_channels(mono, mono.copy())
    assert not same and "same sound" in why
    # A stereo microphone: one sound, quieter and 2 ms later on one side, with some hiss.
    rng = np.random.default_rng(0)
    delayed = np.concatenate([np.zeros(32, np.float32), mono[:-32]]) * 0.5
    similarity = channel_similarity(mono + rng.normal(0, 0.003, len(mono)), delayed)
    assert similarity is not None and similarity > 0.9
    assert not distinct_channels(mono, delayed)[0]
    assert not distinct_channels(mono, np.zeros_like(mono))[0]  # one dead channel
