"""spaCy components shared by the language pipelines, registered as factories.

Registered with ``@Language.factory`` so a pipeline that uses them can be serialised with
``nlp.to_disk`` and loaded again with ``spacy.load`` (after ``import livingmemory.tagging``).
Every rule matches on ``Token._.lm_lemma``: a lower-cased lemma from lemmagen3, which knows
Slovenian, German, Croatian and English inflection offline. That is what lets "v Kranju",
"iz Škofje Loke" and "na Jesenicah" find Kranj, Škofja Loka and Jesenice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

# The word helpers live in a spaCy-free module so that search need not import spaCy.
from livingmemory.words import LEMMAGEN_LANGUAGES, fold, lemmatize_word, word_forms  # noqa: F401

if not Token.has_extension("lm_lemma"):
    Token.set_extension("lm_lemma", default=None)
if not Token.has_extension("lm_forms"):
    Token.set_extension("lm_forms", default=())
if not Span.has_extension("lm_canonical"):
    Span.set_extension("lm_canonical", default=None)
if not Span.has_extension("lm_confidence"):
    Span.set_extension("lm_confidence", default=1.0)
if not Span.has_extension("lm_value"):
    Span.set_extension("lm_value", default=None)


class LemmagenLemmatizer:
    """Sets ``Token._.lm_lemma`` and ``Token._.lm_forms`` (and ``lemma_`` when no other
    lemmatizer did)."""

    def __init__(self, language: str, overwrite: bool) -> None:
        self.language = language
        self.overwrite = overwrite

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            lemma = lemmatize_word(token.text, self.language)
            token._.lm_lemma = lemma
            token._.lm_forms = word_forms(token.text, self.language)
            if self.overwrite or not token.lemma_:
                token.lemma_ = lemma
        return doc


@Language.factory("lm_lemmagen", default_config={"language": "sl", "overwrite": True})
def make_lemmagen(nlp: Language, name: str, language: str, overwrite: bool) -> LemmagenLemmatizer:
    return LemmagenLemmatizer(language, overwrite)


# -- dates ---------------------------------------------------------------------------------

_YEAR = r"(1[89]\d\d|20[0-4]\d)"
_SL_MONTHS = [
    "januar",
    "februar",
    "marec",
    "april",
    "maj",
    "junij",
    "julij",
    "avgust",
    "september",
    "oktober",
    "november",
    "december",
]
_DE_MONTHS = [
    "januar",
    "februar",
    "märz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
]
_EN_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_SL_DECADES = {
    "dvajset": 1920,
    "trideset": 1930,
    "štirideset": 1940,
    "petdeset": 1950,
    "šestdeset": 1960,
    "sedemdeset": 1970,
    "osemdeset": 1980,
    "devetdeset": 1990,
}
_EN_DECADES = {
    "twenties": 1920,
    "thirties": 1930,
    "forties": 1940,
    "fifties": 1950,
    "sixties": 1960,
    "seventies": 1970,
    "eighties": 1980,
    "nineties": 1990,
}


def _month_pattern(months: list[str]) -> str:
    return "(" + "|".join(m[:3] + r"\w*" for m in months) + ")"


def date_patterns(language: str) -> list[tuple[re.Pattern[str], str]]:
    """(regex, kind) pairs, most specific first; kind tells :func:`date_value` what to do."""
    months = {"sl": _SL_MONTHS, "de": _DE_MONTHS, "hr": _SL_MONTHS}.get(language, _EN_MONTHS)
    month = _month_pattern(months)
    flags = re.IGNORECASE
    patterns = [
        (re.compile(rf"\b(\d{{1,2}})\.?\s+{month}\s+{_YEAR}\b", flags), "dmy"),
        (re.compile(rf"\b{month}\s+(\d{{1,2}}),?\s+{_YEAR}\b", flags), "mdy"),
        (re.compile(rf"\b{month}\s+{_YEAR}\b", flags), "my"),
        (re.compile(r"\b(?:19)?([2-9]0)-?(?:ih|ies|er|s)\b", flags), "decade_digits"),
    ]  # fmt: skip
    if language in ("sl", "hr"):
        decades = "|".join(_SL_DECADES)
        patterns += [
            # "v tridesetih letih", "konec petdesetih let", "šestdeseta leta" are decades;
            # "trideset let" (thirty years) is a duration and no date.
            (re.compile(rf"\b(?:v\s+)?({decades})(?:ih|a)\s+let\w*", flags), "decade_sl"),
            (re.compile(r"\b(?:po|pred|med)\s+(?:prv\w+\s+|drug\w+\s+)?(?:svetovn\w+\s+)?vojn\w*",
                        flags), "war"),
            (re.compile(rf"\b(?:leta|leto|letu|l\.)\s+{_YEAR}\b", flags), "year"),
        ]  # fmt: skip
    elif language == "de":
        patterns += [
            (re.compile(r"\b(?:nach|vor|während|im)\s+(?:dem\s+)?krieg\w*", flags), "war"),
            (re.compile(rf"\b(?:im\s+jahr[e]?\s+){_YEAR}\b", flags), "year"),
        ]
    else:
        decades = "|".join(_EN_DECADES)
        patterns += [
            (re.compile(rf"\b(?:the\s+)?({decades})\b", flags), "decade_en"),
            (re.compile(r"\b(?:the\s+)?(19[2-9])0s\b", flags), "decade_en_digits"),
            (
                re.compile(
                    r"\b(?:after|before|during)\s+the\s+(?:second\s+world\s+|first\s+world\s+)?war\b",
                    flags,
                ),
                "war",
            ),
        ]
    patterns.append((re.compile(rf"\b{_YEAR}\b"), "year"))
    return patterns


def date_value(match: re.Match[str], kind: str, language: str) -> tuple[str, int | None]:
    """Normalised value (ISO date, year, "1950s", "war") and the decade, if known."""
    groups = [g for g in match.groups() if g]
    months = {"sl": _SL_MONTHS, "de": _DE_MONTHS, "hr": _SL_MONTHS}.get(language, _EN_MONTHS)

    def month_number(word: str) -> int:
        word = word.casefold()
        return next((i + 1 for i, m in enumerate(months) if word.startswith(m[:3])), 1)

    if kind == "dmy":
        day, month, year = groups
        return f"{year}-{month_number(month):02d}-{int(day):02d}", int(year) // 10 * 10
    if kind == "mdy":
        month, day, year = groups
        return f"{year}-{month_number(month):02d}-{int(day):02d}", int(year) // 10 * 10
    if kind == "my":
        month, year = groups
        return f"{year}-{month_number(month):02d}", int(year) // 10 * 10
    if kind == "year":
        year = groups[-1]
        return year, int(year) // 10 * 10
    if kind == "decade_sl":
        decade = next(v for k, v in _SL_DECADES.items() if groups[0].casefold().startswith(k))
        return f"{decade}s", decade
    if kind == "decade_en":
        decade = _EN_DECADES[groups[0].casefold()]
        return f"{decade}s", decade
    if kind == "decade_en_digits":
        decade = int(groups[0]) * 10
        return f"{decade}s", decade
    if kind == "decade_digits":
        decade = 1900 + int(groups[0])
        return f"{decade}s", decade
    return "war", None


class DateMatcher:
    """DATE entities from language-specific patterns ("13. maja 1945", "po vojni", "1950s")."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.patterns = date_patterns(language)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        taken: set[int] = set()
        for pattern, kind in self.patterns:
            for match in pattern.finditer(doc.text):
                if taken & set(range(*match.span())):
                    continue
                span = doc.char_span(*match.span(), label="DATE", alignment_mode="expand")
                if span is None:
                    continue
                value, _ = date_value(match, kind, self.language)
                # A model's DATE around ours ("the 1950s" around "1950s") keeps its extent
                # and gets our normalised value.
                for ent in doc.ents:
                    if ent.label_ == "DATE" and ent.start <= span.start and span.end <= ent.end:
                        span = Span(doc, ent.start, ent.end, label="DATE")
                span._.lm_value = value
                span._.lm_canonical = value
                spans.append(span)
                taken |= set(range(*match.span()))
        # Rule spans first: on equal length they win, so their normalised value is kept.
        doc.ents = filter_spans([*spans, *doc.ents]) if spans else doc.ents
        return doc


@Language.factory("lm_dates", default_config={"language": "sl"})
def make_dates(nlp: Language, name: str, language: str) -> DateMatcher:
    return DateMatcher(language)


# -- people --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    text = (resources.files("livingmemory") / "data" / "first_names.txt").read_text("utf-8")
    words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    return frozenset(w.casefold() for w in words)


# Prepositions that put the next capitalised word in a place ("v Parizu", "iz Londona").
PLACE_PREPOSITIONS = {"v", "na", "iz", "pri", "do", "proti", "pod", "nad", "u", "kod"}


def _shouting(doc: Doc) -> bool:
    """Text typed in capitals: there, capitals say nothing about names."""
    if "lm_shouting" not in doc.user_data:
        letters = [t for t in doc if t.is_alpha and len(t) > 1]
        doc.user_data["lm_shouting"] = bool(letters) and (
            sum(t.is_upper for t in letters) > len(letters) / 2
        )
    return doc.user_data["lm_shouting"]


def _title(token: Token) -> bool:
    if not token.is_alpha:
        return False
    if token.is_title:
        return True
    return token.is_upper and len(token) > 1 and not _shouting(token.doc)


class PersonRule:
    """PER entities: the recording's own people from ``doc.user_data["people"]``; a known
    first name followed by a capitalised word (on lemmas, so "Marijo Košir" is Marija
    Košir); and, with lower confidence, two capitalised words inside a sentence that nothing
    else claimed ("Lisl Cade")."""

    def __init__(self, capitalised_pairs: bool = True) -> None:
        self.capitalised_pairs = capitalised_pairs

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        names = first_names()
        for person in doc.user_data.get("people", ()):
            spans += _find_sequence(doc, [w.casefold() for w in person.split()], person)
        tokens = list(doc)
        for i, token in enumerate(tokens[:-1]):
            nxt = tokens[i + 1]
            if (
                token.is_title
                and (token._.lm_lemma or token.lower_) in names
                and (nxt.is_title or (nxt.is_upper and len(nxt) > 1))
                and nxt.is_alpha
            ):
                span = Span(doc, i, i + 2, label="PER")
                span._.lm_canonical = " ".join((t._.lm_lemma or t.lower_).title() for t in span)
                spans.append(span)
        if self.capitalised_pairs:
            taken = {t.i for e in [*doc.ents, *spans] for t in e}
            for i, token in enumerate(tokens[:-1]):
                nxt = tokens[i + 1]
                if (
                    _title(token)
                    and _title(nxt)
                    and not token.is_sent_start
                    and not {i, i + 1} & taken
                    and (i == 0 or tokens[i - 1].lower_ not in PLACE_PREPOSITIONS)
                ):
                    span = Span(doc, i, i + 2, label="PER")
                    span._.lm_canonical = " ".join((t._.lm_lemma or t.lower_).title() for t in span)
                    span._.lm_confidence = 0.6
                    spans.append(span)
                    taken |= {i, i + 1}
        if spans:
            doc.ents = filter_spans([*doc.ents, *spans])
        return doc


def _find_sequence(doc: Doc, words: list[str], canonical: str) -> list[Span]:
    """Spans whose tokens' lemmas (or lower-cased text) equal ``words`` in order."""
    found, n = [], len(words)
    lemmas = [(t._.lm_lemma or t.lower_, t.lower_) for t in doc]
    wanted = [(w, w) for w in words]
    for i in range(len(lemmas) - n + 1):
        if all(words[k] in lemmas[i + k] or wanted[k][0] == lemmas[i + k][1] for k in range(n)):
            span = Span(doc, i, i + n, label="PER")
            span._.lm_canonical = canonical
            found.append(span)
    return found


@Language.factory("lm_persons", default_config={"capitalised_pairs": True})
def make_persons(nlp: Language, name: str, capitalised_pairs: bool) -> PersonRule:
    return PersonRule(capitalised_pairs)


class UnknownPlaceRule:
    """LOC entities for capitalised words after a preposition of place that the gazetteer
    does not know ("v Parizu" -> Pariz), with lower confidence. In Slovenian, months and
    days are lower-case, so a capital after "v", "na", "iz" is almost always a name."""

    def __call__(self, doc: Doc) -> Doc:
        taken = {t.i for e in doc.ents for t in e}
        spans = []
        for token in doc[1:]:
            i = token.i
            if i in taken or not _title(token) or doc[i - 1].lower_ not in PLACE_PREPOSITIONS:
                continue
            end = i + 1
            while end < len(doc) and end - i < 3 and _title(doc[end]) and end not in taken:
                end += 1
            span = Span(doc, i, end, label="LOC")
            span._.lm_canonical = " ".join((t._.lm_lemma or t.lower_).title() for t in span)
            span._.lm_confidence = 0.5
            spans.append(span)
            taken |= set(range(i, end))
        if spans:
            doc.ents = filter_spans([*doc.ents, *spans])
        return doc


@Language.factory("lm_unknown_places")
def make_unknown_places(nlp: Language, name: str) -> UnknownPlaceRule:
    return UnknownPlaceRule()


# -- organisations ------------------------------------------------------------------------

ORG_HEADS = {
    "društvo", "zavod", "tovarna", "železarna", "zadruga", "šola", "občina", "ministrstvo",
    "podjetje", "gimnazija", "zveza", "klub", "sindikat", "bolnišnica", "banka", "muzej",
    "verein", "fabrik", "schule", "gemeinde", "company", "society", "school", "factory",
}  # fmt: skip
_STOP = {"in", "v", "na", "je", "so", "pa", "ki", "da", "z", "s", "za", "se", "and", "the",
         "und", "der", "die", "das"}  # fmt: skip
# Company forms of Slovenian law: d.d., d.o.o., d.n.o., k.d., s.p. ("Gradis d.d.",
# "Krka, d. d.", "Mizarstvo Kralj s.p."), after up to four capitalised words.
_COMPANY = re.compile(
    r"\b((?:[A-ZČŠŽ][\w&-]*\s+){0,3}[A-ZČŠŽ][\w&-]*),?\s+"
    r"(d\.\s?d\.|d\.\s?o\.\s?o\.|d\.\s?n\.\s?o\.|k\.\s?d\.|s\.\s?p\.)",
    re.UNICODE,
)


class OrganisationRule:
    """ORG entities headed by words like Društvo, Zavod, Tovarna, Železarna, Zadruga, Šola,
    Občina, Ministrstvo ("Društvo upokojencev Jesenice"), and names ending in d.d./d.o.o."""

    def __init__(self, heads: bool = True) -> None:
        self.heads = heads

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        tokens = list(doc)
        known = {t.i for e in doc.ents if e.label_ == "ORG" for t in e}
        for i, token in enumerate(tokens):
            if not self.heads or i in known or not _title(token):
                continue
            if not set(token._.lm_forms or (token.lower_,)) & ORG_HEADS:
                continue
            # Capitalised words belong to the name; a lower-case word only when a capitalised
            # one follows ("Društvo upokojencev Jesenice", not "... Jesenice organizira").
            end = i + 1
            while end < len(tokens) and end - i <= 4:
                nxt = tokens[end]
                if not nxt.is_alpha or nxt.lower_ in _STOP or end in known:
                    break
                if not _title(nxt) and not (end + 1 < len(tokens) and _title(tokens[end + 1])):
                    break
                end += 1
            if end - i >= 2:
                span = Span(doc, i, end, label="ORG")
                span._.lm_canonical = " ".join(t.text for t in span)
                spans.append(span)
        for match in _COMPANY.finditer(doc.text):
            company = doc.char_span(*match.span(), label="ORG", alignment_mode="expand")
            if company is not None:
                company._.lm_canonical = company.text
                spans.append(company)
        if spans:
            doc.ents = filter_spans([*doc.ents, *spans])
        return doc


@Language.factory("lm_organisations", default_config={"heads": True})
def make_organisations(nlp: Language, name: str, heads: bool) -> OrganisationRule:
    return OrganisationRule(heads)


def gazetteer_patterns(entries: Iterable[Any], language: str) -> list[dict[str, Any]]:
    """Patterns for :class:`GazetteerMatcher`: per name, the accepted forms of each word.

    A word of the name matches when the text token's lemma equals the name word's lemma or
    the name word itself ("Železniki" lemmatises to "železnik" but "Železnikih" to
    "železniki"; accepting both catches every case form). Ambiguous names (Bled: "pale",
    Iskra: "spark") must be capitalised.
    """
    patterns = []
    for entry in entries:
        for name in entry.names:
            words = name.replace("-", " - ").split()
            # Names are Slovenian spellings: lemmatise them as Slovenian whatever the text's
            # language (German lemmatisation turned "Kamen" into "kommen", Italian "Sava"
            # into "sare"); texts in other languages still match the plain and folded words.
            # An acronym is not inflected by lemmagen's rules: "EU" lemmatised to "e" and
            # matched a lone "E" ("razreda E"), "NSi" to "ns". Its own spelling only (its case
            # forms, "EU-ja", "NLB-ju", still lemmatise to it on the text's side).
            forms = [
                sorted({w.casefold(), fold(w.casefold())})
                if sum(c.isupper() for c in w) >= 2
                else sorted(word_forms(w, "sl"))
                for w in words
            ]
            patterns.append(
                {
                    "label": entry.label,
                    "id": entry.name,
                    "forms": forms,
                    # Everyday words ("pol", "sto", "loki") must not become places: a one-word
                    # name, or an ambiguous one, must be capitalised; an acronym upper-case.
                    "capitalised": entry.ambiguous or len(words) == 1,
                    "upper": len(words) == 1 and words[0].isupper(),
                }
            )
    return patterns


_CASE_SUFFIX = re.compile(r"^([^\W\d_]{2,6})-[^\W\d_]{1,3}$")


def _acronym_text(text: str) -> bool:
    """Capitals, also with a case ending after a hyphen: "NLB", "EU-ju", "SDS-a"."""
    found = _CASE_SUFFIX.match(text)
    return (found.group(1) if found else text).isupper()


class GazetteerMatcher:
    """Entities for known names, matched on lemmas with a dictionary lookup per token.

    (spaCy's EntityRuler can match extension attributes too, but with ~1000 patterns it ran
    at a few hundred tokens per second; this lookup is linear in the text.)
    """

    def __init__(self, overwrite: bool = True) -> None:
        self.overwrite = overwrite
        self.patterns: list[dict[str, Any]] = []
        # first word form -> [(pattern, one set of accepted forms per word)]
        self._index: dict[str, list[tuple[dict[str, Any], list[set[str]]]]] = {}

    def add_patterns(self, patterns: Iterable[dict[str, Any]]) -> None:
        for pattern in patterns:
            self.patterns.append(pattern)
            sets = [set(forms) for forms in pattern["forms"]]
            for form in pattern["forms"][0]:
                self._index.setdefault(form, []).append((pattern, sets))
        for candidates in self._index.values():
            candidates.sort(key=lambda p: -len(p[1]))  # longest name first

    def __call__(self, doc: Doc) -> Doc:
        keys = [set(t._.lm_forms or (t.lower_,)) for t in doc]
        spans = []
        i = 0
        while i < len(doc):
            found = None
            for key in dict.fromkeys(keys[i]):
                for pattern, sets in self._index.get(key, ()):
                    n = len(sets)
                    if i + n > len(doc):
                        continue
                    if pattern["capitalised"] and doc[i].is_lower:
                        continue
                    if pattern.get("upper") and not _acronym_text(doc[i].text):
                        continue
                    if all(keys[i + k] & sets[k] for k in range(n)):
                        found = (n, pattern)
                        break
                if found:
                    break
            if found:
                n, pattern = found
                span = Span(doc, i, i + n, label=pattern["label"], span_id=pattern["id"])
                span._.lm_canonical = pattern["id"]
                spans.append(span)
                i += n
            else:
                i += 1
        if spans:
            if self.overwrite:
                kept = [e for e in doc.ents if not any(e.start < s.end and s.start < e.end
                                                       for s in spans)]  # fmt: skip
                doc.ents = filter_spans([*spans, *kept])
            else:
                doc.ents = filter_spans([*doc.ents, *spans])
        return doc

    # Serialisation, so pipelines saved with nlp.to_disk load again with spacy.load.
    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.json_dumps(self.patterns).encode("utf-8")

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> GazetteerMatcher:
        self.patterns, self._index = [], {}
        self.add_patterns(srsly.json_loads(data.decode("utf-8")))
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "patterns.json").write_bytes(self.to_bytes())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> GazetteerMatcher:
        return self.from_bytes((Path(path) / "patterns.json").read_bytes())


@Language.factory("lm_gazetteer", default_config={"overwrite": True})
def make_gazetteer(nlp: Language, name: str, overwrite: bool) -> GazetteerMatcher:
    return GazetteerMatcher(overwrite)
