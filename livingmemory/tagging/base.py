"""What a language pipeline module provides, and the registry that finds one by language.

A language is a module in this package with ``NAME``, ``VERSION`` and ``build(gazetteer)``
returning a spaCy ``Language`` whose ``doc.ents`` carry LOC/ORG/PER/DATE entities. Adding a
language means adding a module and one line in :data:`PIPELINES`; nothing else changes.
Languages without a module use :mod:`livingmemory.tagging.generic` (with a warning).
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from types import ModuleType

from spacy.language import Language

from livingmemory.tagging.gazetteer import Gazetteer

PIPELINES = {
    "sl": "livingmemory.tagging.slovenian",
    "en": "livingmemory.tagging.english",
    "de": "livingmemory.tagging.generic",
    "hr": "livingmemory.tagging.generic",
}


@dataclass
class LanguagePipeline:
    language: str
    name: str
    version: str
    nlp: Language


def _module(language: str) -> tuple[ModuleType, bool]:
    path = PIPELINES.get(language)
    if path is None:
        return importlib.import_module("livingmemory.tagging.generic"), False
    return importlib.import_module(path), True


def pipeline_for(language: str | None, gazetteer: Gazetteer) -> LanguagePipeline:
    """The tagging pipeline for ``language`` (an ISO code), built around ``gazetteer``."""
    language = language or "xx"
    module, known = _module(language)
    if not known:
        warnings.warn(
            f"no tagging pipeline for language {language!r}: using the generic one "
            "(gazetteer, dates by year, people and organisation rules)",
            stacklevel=2,
        )
    nlp = module.build(language, gazetteer)
    version = f"{module.VERSION}+gaz.{gazetteer.fingerprint()}"
    return LanguagePipeline(language, f"{module.NAME}-{language}", version, nlp)


def pipeline_version(language: str | None, gazetteer: Gazetteer) -> str:
    module, _ = _module(language or "xx")
    return f"{module.VERSION}+gaz.{gazetteer.fingerprint()}"
