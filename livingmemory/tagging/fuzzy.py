"""Approximate place spotting through noisy transcripts.

Offline Whisper base mangles Slovenian names (measured on synthetic speech: "Jesenicah" came
out as "jese nitsa", "Škofji Loki" as "uško fi luki"). Exact rules cannot see those, so this
compares words, and pairs of words joined (a wrongly split name), against the gazetteer's
names with a bounded edit distance, after folding case and diacritics. Matches are tagged with
a lower confidence and the canonical name; the transcript is never rewritten.

It must not invent places in ordinary sentences, so it is deliberately strict: only names of
at least six letters that are not ordinary words, same first letter, a distance bound that
grows slowly with length, and never on a word the lemmatiser recognises as a form of a
common Slovenian word already (precision measured in benchmarks/tagging.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc

from livingmemory.gazetteer import Gazetteer
from livingmemory.tagging.components import fold

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


def max_distance(length: int) -> int:
    if length < 6:
        return 0
    if length < 9:
        return 1
    if length < 13:
        return 2
    return 3


def levenshtein(a: str, b: str, bound: int) -> int:
    """Edit distance, giving up (returning bound + 1) once it must exceed ``bound``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > bound:
            return bound + 1
        previous = current
    return previous[-1]


class FuzzyPlaceSpotter:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.targets: list[tuple[str, str]] = []  # (folded form, canonical)
        for entry in gazetteer:
            if entry.kind != "place" or entry.ambiguous:
                continue
            for name in entry.names:
                folded = fold(name).replace(" ", "").replace("-", "")
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
                distance = levenshtein(form, folded, bound)
                if distance <= bound and (best is None or distance < best[1]):
                    best = (canonical, distance)
        return best

    def spot(self, doc: Doc) -> list[FuzzyMatch]:
        """Fuzzy matches among tokens that are not already part of an entity."""
        in_entity = {t.i for ent in doc.ents for t in ent}
        tokens = [t for t in doc if t.is_alpha and t.i not in in_entity]
        matches: list[FuzzyMatch] = []
        used: set[int] = set()
        for k, token in enumerate(tokens):
            if token.i in used:
                continue
            options = []
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is not None and nxt.i == token.i + 1 and nxt.i not in used:
                options.append((token, nxt, fold(token.text + nxt.text)))
            options.append((token, token, fold(token.text)))
            for first, last, candidate in options:
                if len(candidate) < 6:
                    continue
                found = self._best(candidate)
                if found is None:
                    continue
                canonical, distance = found
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
                used.update(range(first.i, last.i + 1))
                break
        return matches
