"""openai-whisper (PyTorch): the reference implementation, selectable with ``--engine``.

It cannot load CTranslate2 folders, so offline models are converted once into an
openai-whisper checkpoint (:mod:`livingmemory.transcription.convert`) and cached beside the user's
models;
a named model that is not installed is left to openai-whisper's own download.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from importlib import metadata
from typing import TYPE_CHECKING, ClassVar

from livingmemory.plugins import Register, hookimpl
from livingmemory.transcription.engines.base import DecodeOptions, Segment, TranscriptionInfo, Word

if TYPE_CHECKING:  # NumPy only in annotations: plug-ins load without it
    import numpy as np

    from livingmemory.transcription.engines.base import Engine
    from livingmemory.transcription.models import ResolvedModel


class OpenAIWhisperEngine:
    name: ClassVar[str] = "openai-whisper"
    default_compute_type: ClassVar[str] = "float32"

    @classmethod
    def version(cls) -> str:
        return metadata.version("openai-whisper")

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec("whisper") is not None

    def __init__(
        self, model: ResolvedModel, *, compute_type: str = "default", threads: int = 0
    ) -> None:
        import torch
        import whisper

        from livingmemory.transcription.models import openai_checkpoint

        if threads:
            torch.set_num_threads(threads)
        self.compute_type = "float32"  # fp16 is GPU-only in openai-whisper
        if model.path is None:  # not installed: openai-whisper's own download
            self.model = whisper.load_model(model.name, device="cpu")
        else:
            from livingmemory.transcription.convert import load_openai_model

            checkpoint = openai_checkpoint(model)
            self.model = load_openai_model(checkpoint, model.path / "config.json")

    def detect_language(self, audio: np.ndarray) -> list[tuple[str, float]]:
        import whisper

        mel = whisper.log_mel_spectrogram(
            whisper.pad_or_trim(audio), n_mels=self.model.dims.n_mels
        ).to(self.model.device)
        _, probabilities = self.model.detect_language(mel)
        return sorted(probabilities.items(), key=lambda pair: -pair[1])

    def transcribe(
        self, audio: np.ndarray, options: DecodeOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        import whisper

        language = options.language
        probability = 1.0
        if language is None:
            language, probability = self.detect_language(audio)[0]
        prompt = " ".join(p for p in (options.hotwords, options.initial_prompt) if p) or None
        decode: dict = {"beam_size": options.beam_size} if options.beam_size > 1 else {}
        if options.beam_size > 1:
            decode["best_of"] = options.beam_size
        if options.vad:
            decode["clip_timestamps"] = _speech_clips(audio)
        result = whisper.transcribe(
            self.model,
            audio,
            language=language,
            temperature=options.temperature,
            initial_prompt=prompt,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
            compression_ratio_threshold=options.compression_ratio_threshold,
            logprob_threshold=options.log_prob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            fp16=False,
            verbose=None,
            **decode,
        )
        info = TranscriptionInfo(
            language=language,
            language_probability=float(probability),
            duration=len(audio) / 16_000,
        )
        return (_convert(s) for s in result["segments"]), info


def _speech_clips(audio: np.ndarray) -> list[float]:
    """Speech regions from faster-whisper's Silero VAD (offline, ships in the package), as
    openai-whisper's ``clip_timestamps``, so ``--vad`` means the same for both engines."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(audio, VadOptions())
    clips = [t for span in spans for t in (span["start"] / 16_000, span["end"] / 16_000)]
    return clips or [0.0, 0.0]


def _convert(segment: dict) -> Segment:
    words = tuple(
        Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
        for w in segment.get("words", ())
    )
    return Segment(
        start=float(segment["start"]),
        end=float(segment["end"]),
        text=segment["text"].strip(),
        avg_logprob=float(segment["avg_logprob"]),
        no_speech_prob=float(segment["no_speech_prob"]),
        compression_ratio=float(segment["compression_ratio"]),
        temperature=float(segment.get("temperature", 0.0)),
        words=words,
    )


@hookimpl
def register_engines(register: Register[type[Engine]]) -> None:
    register(OpenAIWhisperEngine, OpenAIWhisperEngine.name)
