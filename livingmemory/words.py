"""Words without spaCy: folding case and diacritics, and lemmas from lemmagen3.

Search and tagging must agree on what a word "is": tagging stores each segment's lemmas
with these functions and search lemmatises a query with the same ones. This module imports
nothing heavy (lemmagen3 is a small C++ extension, loaded on first use), so that
``import livingmemory.search`` and a cold ``livingmemory search`` stay well under a second;
spaCy and torch belong to tagging and transcription only.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

LEMMAGEN_LANGUAGES = {"bg", "cs", "de", "en", "es", "et", "fa", "fr", "hr", "hu", "it", "mk",
                      "pl", "ro", "ru", "sk", "sl", "sr", "uk"}  # fmt: skip


def fold(text: str) -> str:
    """Lower-case without diacritics: "Železarna" -> "zelezarna"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=8)
def _lemmagen(language: str) -> Any:
    from lemmagen3 import Lemmatizer

    return Lemmatizer(language)


def lemmatize_word(word: str, language: str) -> str:
    """Lower-cased lemma; all-caps words are title-cased first (lemmagen is case-sensitive:
    "KRANJU" stays "KRANJU" but "Kranju" becomes "Kranj")."""
    if language not in LEMMAGEN_LANGUAGES or not any(c.isalpha() for c in word):
        return word.casefold()
    if word.isupper() and len(word) > 1:
        word = word.title()
    return _lemmagen(language).lemmatize(word).casefold()


def word_forms(word: str, language: str) -> tuple[str, ...]:
    """Every lower-cased form a rule may match a word by: its lemma, the lemma of its
    lower-cased spelling (lemmagen is case-sensitive, so a sentence-initial "Vojna" gives
    "vojen" but "vojna" gives "vojna"), the word itself, and all of these without diacritics
    (volunteers and Whisper both drop them: "Zeleznikih")."""
    lower = word.casefold()
    forms = [lemmatize_word(word, language), lower]
    if word[:1].isupper() and not word.isupper():
        forms.append(lemmatize_word(lower, language))
    forms += [fold(f) for f in forms]
    return tuple(dict.fromkeys(forms))
