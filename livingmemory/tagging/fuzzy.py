"""Approximate place spotting through noisy transcripts.

Offline Whisper base mangles Slovenian names (measured on synthetic speech: "Jesenicah" came
out as "jese nitsa", "Škofji Loki" as "uško fi luki"). Exact rules cannot see those, so this
compares words, and pairs of words joined (a wrongly split name), against the gazetteer's
names with a bounded edit distance, after folding case and diacritics. Matches are tagged with
a lower confidence and the canonical name; the transcript is never rewritten.

It must not invent places in ordinary sentences, so it is deliberately strict (measured on the
SSJ test set in benchmarks/tagging.py: without the preposition rule it "found" Puštal in every
"postal"): the candidate must follow a preposition of place ("v", "na", "iz", "pri", "in",
"from", "nach"...), names need at least six letters and must not be ordinary words, the first
letter must agree, and the distance bound grows slowly with length.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein
from spacy.tokens import Doc

from livingmemory.tagging.gazetteer import Gazetteer
from livingmemory.words import fold

# Words after which a place name is expected, per language ("in" is "and" in Slovenian).
PREPOSITIONS = {
    "sl": {"v", "na", "iz", "z", "s", "pri", "do", "proti", "pod", "nad", "čez", "od", "skozi"},
    "hr": {"u", "na", "iz", "s", "kod", "do", "prema", "pod", "nad", "od"},
    "en": {"in", "to", "from", "at", "near"},
    "de": {"in", "nach", "aus", "bei", "von", "im", "zu"},
}
# Short function words never joined into a "wrongly split" name ("vode in" is not Wochein).
_FUNCTION_WORDS = {w for words in PREPOSITIONS.values() for w in words} | {
    "in", "je", "so", "pa", "da", "ki", "se", "ne", "and", "the", "und", "der", "die", "das",
}  # fmt: skip
# Endings Slovenian case forms add to a name ("Jesenic-ah", "Kranj-u", "Lok-i").
_ENDINGS = ("ah", "ih", "em", "om", "u", "i", "e", "o", "a", "ju", "ja", "jem", "ami", "ama")


@dataclass(frozen=True)
class FuzzyMatch:
    start_char: int
    end_char: int
    text: str
    canonical: str
    distance: int
    confidence: float


_SOUNDS = (("tsch", "c"), ("tz", "c"), ("ts", "c"), ("ch", "c"), ("sh", "s"), ("zh", "z"),
           ("ck", "k"), ("w", "v"), ("y", "i"), ("q", "k"))  # fmt: skip


def phonetic(text: str) -> str:
    """Fold case and diacritics, then spellings Whisper uses for Slovenian sounds: it writes
    "c" (pronounced ts) as "ts" ("jese nitsa" for Jesenice), "č" as "ch", "š" as "sh"."""
    text = fold(text).replace(" ", "").replace("-", "")
    for spelling, sound in _SOUNDS:
        text = text.replace(spelling, sound)
    return text


def max_distance(length: int) -> int:
    if length < 6:
        return 0
    if length < 10:
        return 1
    return 2


class FuzzyPlaceSpotter:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.targets: list[tuple[str, str]] = []  # (folded form, canonical)
        for entry in gazetteer:
            if entry.kind != "place" or entry.ambiguous:
                continue
            for name in entry.names:
                folded = phonetic(name)
                if len(folded) >= 6 and folded.isalpha():
                    self.targets.append((folded, entry.name))

    def _best(self, candidate: str) -> tuple[str, int] | None:
        best = None
        for folded, canonical in self.targets:
            if folded[0] != candidate[0]:
                continue
            bound = max_distance(len(folded))
            stems = [
                candidate[: -len(e)]
                for e in _ENDINGS
                if candidate.endswith(e) and len(candidate) - len(e) >= 5
            ]
            for form in (candidate, *stems):
                # bound + 1 as soon as the distance must exceed the bound
                distance = Levenshtein.distance(form, folded, score_cutoff=bound)
                if distance <= bound and (best is None or distance < best[1]):
                    best = (canonical, distance)
        return best

    def spot(self, doc: Doc, language: str = "sl") -> list[FuzzyMatch]:
        """Fuzzy matches right after a preposition, among tokens not already in an entity.

        Low-confidence guesses of the unknown-place rule (confidence <= 0.5) do not count as
        entities here: a gazetteer match beats "some capitalised word after 'v'".
        """
        prepositions = PREPOSITIONS.get(language, PREPOSITIONS["sl"])
        strong = [ent for ent in doc.ents if ent._.lm_confidence > 0.5]
        in_entity = {t.i for ent in strong for t in ent}
        # A one-word gazetteer match may be the tail of a mangled longer name: "Skofje Loke"
        # found only "Loke" (alias Loka); the pair may extend it to the same place.
        tails = {ent.start: ent.ent_id_ for ent in strong if len(ent) == 1 and ent.ent_id_}

        def free(i: int) -> bool:
            return i < len(doc) and doc[i].is_alpha and i not in in_entity

        matches: list[FuzzyMatch] = []
        for token in doc:
            i = token.i
            if i == 0 or not free(i) or doc[i - 1].lower_ not in prepositions:
                continue
            options = []
            if (
                (free(i + 1) or (i + 1) in tails)
                and i + 1 < len(doc)
                and doc[i + 1].idx == token.idx + len(token.text) + 1
                and doc[i + 1].lower_ not in _FUNCTION_WORDS
            ):
                options.append((token, doc[i + 1]))
            options.append((token, token))
            for first, last in options:
                required = tails.get(last.i) if last.i != first.i else None
                candidate = phonetic(doc.text[first.idx : last.idx + len(last.text)])
                if len(candidate) < 6:
                    continue
                found = self._best(candidate)
                if found is None:
                    continue
                canonical, distance = found
                if required and canonical != required:
                    continue
                matches.append(
                    FuzzyMatch(
                        first.idx,
                        last.idx + len(last.text),
                        doc.text[first.idx : last.idx + len(last.text)],
                        canonical,
                        distance,
                        round(max(0.3, 0.7 - 0.15 * distance), 2),
                    )
                )
                break
        return matches
