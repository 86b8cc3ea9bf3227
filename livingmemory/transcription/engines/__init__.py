"""Transcription engines, found by name.

Every engine is registered by a plug-in (:mod:`livingmemory.plugins`) through the
``register_engines`` hook: the built-ins by the modules of this package (listed in
``plugins.DEFAULT_PLUGINS``), others by installed packages with an entry point in the
``livingmemory`` group. An engine is a class satisfying
:class:`~livingmemory.transcription.engines.base.Engine`.
"""

from __future__ import annotations

from livingmemory import plugins
from livingmemory.errors import LivingMemoryError, MissingDependencyError, quoted
from livingmemory.transcription.engines.base import Engine

DEFAULT_ENGINE = "faster-whisper"


def engine_names() -> list[str]:
    """The registered engines, sorted."""
    return sorted(plugins.get().engines)


def get_engine(name: str) -> type[Engine]:
    """The engine class called ``name``; a clear error if unknown or not installed."""
    registered = plugins.get().engines.get(name)
    if registered is None:
        raise LivingMemoryError(
            f"unknown engine {quoted(name)} (available: {', '.join(engine_names())})"
        )
    engine: type[Engine] = registered.value
    if not engine.available():
        if registered.plugin in plugins.DEFAULT_PLUGINS:
            raise MissingDependencyError(
                f"engine {quoted(name)} is not installed: pip install 'livingmemory[transcribe]'"
            )
        raise MissingDependencyError(
            f"engine {quoted(name)} (plug-in {registered.plugin}) is missing what it needs to run"
        )
    return engine
