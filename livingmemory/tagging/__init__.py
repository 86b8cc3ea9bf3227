"""Tagging: people, places, organisations, dates and topics in transcripts.

The languages are plug-ins (:mod:`livingmemory.plugins`): each language module registers a
:class:`~.language.LanguageTagger` through the ``register_languages`` hook, so this
package imports nothing heavy until a pipeline is built (listing plug-ins stays fast, and a
core install without spaCy can still load them). Building any pipeline imports
:mod:`~livingmemory.tagging.components` and :mod:`~livingmemory.tagging.names`, which register
the spaCy components (``lm_lemmagen``, ``lm_dates``, ``lm_persons``, ``lm_organisations``,
``lm_sl_names``); import them (or call :func:`register_components`) before ``spacy.load`` of a
saved pipeline.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["LanguagePipeline", "pipeline_for", "pipeline_version", "register_components"]


def register_components() -> None:
    """Register the spaCy components and extensions every pipeline uses (imports spaCy)."""
    import_module("livingmemory.tagging.components")
    import_module("livingmemory.tagging.names")


def __getattr__(name: str) -> Any:
    if name in ("LanguagePipeline", "pipeline_for", "pipeline_version"):
        value = getattr(import_module("livingmemory.tagging.base"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
