"""The registry that finds a language's tagging pipeline, and what a built one holds.

A language is a plug-in (:mod:`livingmemory.plugins`): a module whose ``register_languages``
hook registers a :class:`~.language.LanguageTagger` for one or more ISO codes. The
built-ins are modules in this package listed in ``plugins.DEFAULT_PLUGINS``; adding a language
is one module and that one line, and an outside package does the same through an entry point.
Languages nobody registered use :mod:`livingmemory.tagging.generic` (with a warning).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from livingmemory import plugins
from livingmemory.errors import quoted
from livingmemory.tagging.gazetteer import Gazetteer
from livingmemory.tagging.language import LanguageTagger

if TYPE_CHECKING:
    from spacy.language import Language


@dataclass
class LanguagePipeline:
    language: str
    name: str
    version: str
    nlp: Language


def language_codes() -> list[str]:
    """The languages a plug-in registered a tagging pipeline for, sorted."""
    return sorted(plugins.get().languages)


def _tagger(language: str) -> tuple[LanguageTagger, bool]:
    registered = plugins.get().languages.get(language)
    if registered is None or not isinstance(registered.value, LanguageTagger):
        from livingmemory.tagging import generic

        return generic.TAGGER, False
    return registered.value, True


def pipeline_for(language: str | None, gazetteer: Gazetteer) -> LanguagePipeline:
    """The tagging pipeline for ``language`` (an ISO code), built around ``gazetteer``."""
    from livingmemory.tagging import register_components

    language = language or "xx"
    tagger, known = _tagger(language)
    if not known:
        warnings.warn(
            f"no tagging pipeline for language {quoted(language)} "
            f"(registered: {', '.join(language_codes())}): using the generic one "
            "(gazetteer, dates by year, people and organisation rules)",
            stacklevel=2,
        )
    register_components()  # the extensions and components every pipeline may use
    nlp = tagger.build(language, gazetteer)
    version = f"{tagger.version}+gaz.{gazetteer.fingerprint()}"
    return LanguagePipeline(language, f"{tagger.name}-{language}", version, nlp)


def pipeline_version(language: str | None, gazetteer: Gazetteer) -> str:
    tagger, _ = _tagger(language or "xx")
    return f"{tagger.version}+gaz.{gazetteer.fingerprint()}"
