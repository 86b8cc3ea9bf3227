"""The contract every transcription engine fulfils, and the typed results it returns.

An engine turns a 16 kHz mono float32 array into :class:`Segment` objects. Audio is decoded
once, by :mod:`livingmemory.archive.audio`, and the same array goes to whichever engine is chosen,
so
engines are compared on identical input and none needs its own decoder. Adding an engine
means adding a module with a class that satisfies :class:`Engine` and registering it (see
:mod:`livingmemory.transcription.engines`); nothing else changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:  # NumPy only in annotations: plug-ins load without it
    import numpy as np

    from livingmemory.transcription.models import ResolvedModel

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None  # set by diarization (livingmemory.speakers.diarize)


@dataclass(frozen=True)
class Segment:
    """One decoded stretch of speech, with the numbers needed to judge how far to trust it."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float = 0.0
    words: tuple[Word, ...] = ()
    speaker: str | None = None  # set by diarization (livingmemory.speakers.diarize)

    def clamped(self, duration: float) -> Segment:
        """This segment with every time inside ``[0, duration]``.

        Whisper pads its last window and can time the final words past the end of the
        audio (measured: a segment ending at 7.0 s in a 5.8 s recording); stored times must
        be real positions in the recording, or players, exports and re-imports disagree.
        A segment that starts at or after the end keeps a sliver before the end, so its
        text stays visible (and flagged) rather than silently lost.
        """
        if (
            self.end <= duration
            and self.start >= 0
            and all(w.start >= 0 and w.end <= duration for w in self.words)
        ):
            return self
        start = min(max(self.start, 0.0), max(duration - 0.1, 0.0))
        end = min(max(self.end, start), duration)
        if end <= start:
            end = min(start + 0.1, duration) if duration > start else start
        words = tuple(
            replace(w, start=min(max(w.start, start), end), end=min(max(w.end, start), end))
            for w in self.words
        )
        return replace(self, start=start, end=end, words=words)


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding settings shared by all engines (each maps them to its own API)."""

    language: str | None = None
    beam_size: int = 5
    initial_prompt: str | None = None
    # Never set by the package (README: names as hotwords invented names); kept for the
    # prompt-policy table that benchmarks/honesty.py measures and the README reports.
    hotwords: str | None = None
    vad: bool = False
    word_timestamps: bool = False
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    condition_on_previous_text: bool = True
    # Whisper's own fallbacks; the thresholds also feed our suspect-segment flags.
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    # Batched decoding (faster-whisper's BatchedInferencePipeline): Silero VAD cuts the audio
    # at pauses into chunks of up to 30 s, and ``batch_size`` chunks are decoded at once, which
    # keeps every core busy on long recordings. Chunks are decoded independently, so there is
    # no temperature fallback and no conditioning on the previous chunk's text. Engines that
    # cannot batch decode sequentially and say so in ``TranscriptionInfo.extra``.
    batched: bool = False
    batch_size: int = 0  # 0: chosen for the machine (see default_batch_size)
    # The longest VAD chunk. Whisper tends to stop before a sentence that runs up to the end of
    # a full 30-s window (sequential decoding then re-reads it in the next window; a batched
    # chunk has no next window, so it was lost): shorter chunks leave it room to finish.
    batch_chunk_seconds: int = 20

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def default_batch_size(device: str = "cpu", cpus: int | None = None) -> int:
    """How many 30-s chunks to decode at once when the user does not say.

    On a CPU the gain comes from larger matrix products per thread; beyond about four chunks
    per core it only costs memory (each chunk holds its encoder output and beams). A GPU takes
    16 comfortably even with large-v3.
    """
    if device != "cpu":
        return 16
    cpus = cpus or os.cpu_count() or 1
    return max(4, min(16, 4 * cpus))


@dataclass
class TranscriptionInfo:
    language: str
    language_probability: float
    duration: float
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """A loaded model that can transcribe audio arrays."""

    name: ClassVar[str]
    #: The precision the loaded model runs at (int8, float32...), stored with each run.
    compute_type: str

    @classmethod
    def version(cls) -> str: ...

    @classmethod
    def available(cls) -> bool:
        """True when the engine's package imports (engines are optional extras)."""
        ...

    def __init__(
        self, model: ResolvedModel, *, compute_type: str = "default", threads: int = 0
    ) -> None: ...

    def detect_language(self, audio: np.ndarray) -> list[tuple[str, float]]:
        """All languages with their probability, most likely first (first 30 s)."""
        ...

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments are yielded as they are decoded, so callers can show progress."""
        ...
