"""Transcription engines, found by name.

Built-in engines live in this package; others can be installed as plugins that declare an
entry point in the ``livingmemory.engines`` group pointing at a class satisfying
:class:`~livingmemory.transcription.engines.base.Engine`.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from livingmemory.errors import LivingMemoryError, MissingDependencyError
from livingmemory.transcription.engines.base import Engine

DEFAULT_ENGINE = "faster-whisper"
_BUILTIN = {
    "faster-whisper": "livingmemory.transcription.engines.faster_whisper:FasterWhisperEngine",
    "openai-whisper": "livingmemory.transcription.engines.openai_whisper:OpenAIWhisperEngine",
}


def engine_names() -> list[str]:
    plugins = [ep.name for ep in entry_points(group="livingmemory.engines")]
    return sorted({*_BUILTIN, *plugins})


def get_engine(name: str) -> type[Engine]:
    """The engine class called ``name``; a clear error if unknown or not installed."""
    if name in _BUILTIN:
        module, _, attribute = _BUILTIN[name].partition(":")
        engine = getattr(import_module(module), attribute)
    else:
        matches = [ep for ep in entry_points(group="livingmemory.engines") if ep.name == name]
        if not matches:
            raise LivingMemoryError(
                f"unknown engine {name!r} (available: {', '.join(engine_names())})"
            )
        engine = matches[0].load()
    if not engine.available():
        raise MissingDependencyError(
            f"engine {name!r} is not installed: pip install 'livingmemory[transcribe]'"
        )
    return engine
