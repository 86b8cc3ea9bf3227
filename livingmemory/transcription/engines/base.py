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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

# The transcript's segment and word live on the ground floor (archive/segments.py): engines
# make them, and "who speaks" splits and names them without reaching up here.
from livingmemory.archive.segments import SAMPLE_RATE, Segment, Word

if TYPE_CHECKING:  # NumPy only in annotations: plug-ins load without it
    import numpy as np

    from livingmemory.transcription.models import ResolvedModel


__all__ = ["SAMPLE_RATE", "DecodeOptions", "Engine", "Segment", "TranscriptionInfo", "Word"]


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
