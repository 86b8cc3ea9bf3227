"""What a tagging language plug-in registers: a :class:`LanguageTagger`.

It lives in its own small module, below the registry (:mod:`livingmemory.tagging.base`) and
the language modules, so that :mod:`livingmemory.plugins` needs no stage's types and a
language module imports only downwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

    from livingmemory.tagging.gazetteer import Gazetteer


@dataclass(frozen=True)
class LanguageTagger:
    """A tagging pipeline for one or more languages.

    ``build(language, gazetteer)`` returns a spaCy ``Language`` whose ``doc.ents`` carry
    LOC/ORG/PER/DATE entities (import spaCy inside ``build``, so listing plug-ins stays fast).
    ``version`` is stored with every tag: change it when results change and ``tag`` re-tags.
    """

    name: str
    version: str
    build: Callable[[str, Gazetteer], Language]
