"""Generated interviews: espeak-ng voices taking turns, with the exact truth of who spoke when.

Tests and ``benchmarks/diarization.py`` need conversations whose speaker turns are known to
the millisecond and that every machine can make (no recordings to ship): each turn is read
by its own espeak-ng voice (e.g. ``en+m3`` and ``en+f2``), trimmed to its speech, and laid
end to end with a pause, or overlapping the previous turn by ``overlap`` seconds (the two
voices are then mixed, as when people talk over each other).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livingmemory.archive.audio import load_audio
from livingmemory.errors import LivingMemoryError

SAMPLE_RATE = 16_000

# An interview: the interviewer asks, the narrator answers at length.
INTERVIEW_EN: list[tuple[str, str]] = [
    ("interviewer", "Where were you born, and what did your parents do?"),
    ("narrator", "I was born in Jesenice in nineteen thirty two. My father worked at the "
                 "steel works and my mother looked after the farm below the mountain."),
    ("interviewer", "Do you remember the first day at the factory?"),
    ("narrator", "Of course. It was a cold morning in November, and the noise of the furnaces "
                 "was louder than anything I had ever heard."),
    ("interviewer", "Who did you work with in those years?"),
    ("narrator", "With my cousin Ivan and two girls from Kranj. We took the early train "
                 "together every day, and on Sundays we walked up to Bled."),
]  # fmt: skip


@dataclass
class Conversation:
    audio: np.ndarray  # 16 kHz mono float32
    turns: list[tuple[float, float, str]]  # (start, end, speaker) of each voice's speech
    texts: list[tuple[str, str]]  # (speaker, text) in order

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def write_wav(self, path: Path) -> Path:
        pcm = (np.clip(self.audio, -1, 1) * 32767).astype("<i2")
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(pcm.tobytes())
        return path


def speak(voice: str, text: str, *, speed: int = 160) -> np.ndarray:
    """One voice reading ``text``, 16 kHz mono, trimmed to its speech.

    ``voice`` is an espeak-ng voice, optionally with a pitch (0-99) after a slash:
    ``en-gb+m1/20``. Voices of other accents, variants and pitches differ about as much
    as real people's do to CAM++ (see benchmarks/diarization.py); variants of one accent at
    one pitch are closer."""
    voice, _, pitch = voice.partition("/")
    if shutil.which("espeak-ng") is None:
        raise LivingMemoryError("generated voices need espeak-ng (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "turn.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), *(["-p", pitch] if pitch else []),
             "-w", str(target), text],
            check=True, capture_output=True,
        )  # fmt: skip
        audio = load_audio(target)
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def conversation(
    script: Sequence[tuple[str, str]],
    voices: dict[str, str],
    *,
    gap: float = 0.6,
    overlap: float = 0.0,
    lead_in: float = 0.5,
) -> Conversation:
    """``script`` ((speaker, text) in order) read by ``voices`` (speaker -> espeak voice)."""
    pieces = [(speaker, speak(voices[speaker], text)) for speaker, text in script]
    turns: list[tuple[float, float, str]] = []
    at = lead_in
    for i, (speaker, audio) in enumerate(pieces):
        if i:
            previous_end = turns[-1][1]
            at = previous_end - overlap if overlap > 0 else previous_end + gap
        turns.append((round(at, 3), round(at + len(audio) / SAMPLE_RATE, 3), speaker))
    total = int((turns[-1][1] + lead_in) * SAMPLE_RATE) + 1
    mix = np.zeros(total, np.float32)
    for (start, _, _), (_, audio) in zip(turns, pieces, strict=True):
        a = round(start * SAMPLE_RATE)
        mix[a : a + len(audio)] += audio
    peak = float(np.abs(mix).max()) or 1.0
    return Conversation(mix / max(peak, 1.0) * 0.9, turns, list(script))
