"""Any language without a trained pipeline: a blank spaCy language (or the multilingual
"xx"), lemmagen3 where it knows the language (German, Croatian...), the gazetteer, dates,
people and organisation rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from livingmemory.plugins import Register, hookimpl
from livingmemory.tagging.language import LanguageTagger

if TYPE_CHECKING:
    from spacy.language import Language

    from livingmemory.tagging.gazetteer import Gazetteer

NAME = "generic-rules"
VERSION = "2"
NOUNS_CAPITALISED = {"de", "lb"}


def build(language: str, gazetteer: Gazetteer) -> Language:
    import spacy

    from livingmemory.tagging import components

    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError, ValueError):
        nlp = spacy.blank("xx")
    lemma_language = language if language in components.LEMMAGEN_LANGUAGES else "xx"
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lm_lemmagen", config={"language": lemma_language})
    ruler = cast(components.GazetteerMatcher, nlp.add_pipe("lm_gazetteer"))
    ruler.add_patterns(components.gazetteer_patterns(gazetteer, lemma_language))
    nlp.add_pipe("lm_dates", config={"language": language})
    # German capitalises every noun: capitals are no evidence of a name or an organisation.
    nouns_capitalised = language in NOUNS_CAPITALISED
    nlp.add_pipe("lm_organisations", config={"heads": not nouns_capitalised})
    nlp.add_pipe("lm_persons", config={"capitalised_pairs": not nouns_capitalised})
    return nlp


#: Also the pipeline of every language no plug-in registered (see ``tagging.base``).
TAGGER = LanguageTagger(NAME, VERSION, build)


@hookimpl
def register_languages(register: Register[LanguageTagger]) -> None:
    for language in ("de", "hr"):
        register(TAGGER, language)
