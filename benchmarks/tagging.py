"""Tagging benchmark: precision/recall/F1 per label, throughput, fuzzy-spotting precision.

Prints figures for the README (nothing here is a pass/fail test):

1. Gold entities of the Universal Dependencies Slovenian SSJ test set, document ``ssj619``
   only (the only document with real NER annotation; every other ``NER=O`` is a placeholder),
   from ``../shared/data/text/sl_ssj_ud`` when present. Exact-span and overlap matching.
2. Hand-written oral-history style passages in Slovenian and English (gold spans inline).
3. Throughput of the Slovenian pipeline in tokens per second over the whole SSJ test set.
4. Fuzzy place spotting on clean text: how many matches it makes in ordinary sentences
   (each one is listed, so a reader can judge whether it invented a place).
5. What the tagger finds in the real Gorenjska transcripts (``sl_rog_gorenjska``).

Run: ``.venv/bin/python benchmarks/tagging.py``
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

from livingmemory.gazetteer import load_gazetteer
from livingmemory.tagging import pipeline_for
from livingmemory.tagging.fuzzy import FuzzyPlaceSpotter

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"
SSJ = SHARED / "sl_ssj_ud" / "sl-ssj-ud-test.conllu"
SSJ = SSJ if SSJ.exists() else SHARED / "sl_ssj_ud" / "sl_ssj-ud-test.conllu"
ROG = SHARED / "sl_rog_gorenjska"
LABELS = ("PER", "LOC", "ORG")
GOLD_MAP = {"per": "PER", "loc": "LOC", "org": "ORG"}

# Hand-written passages in the style of the archive's interviews; [text|LABEL] marks gold.
PASSAGES = {
    "sl": [
        "Rodila sem se v [Kranju|LOC], oče [Janez Novak|PER] pa je bil doma iz [Bohinja|LOC]. "
        "Po vojni je delal v [Železarni Jesenice|ORG], mama pa v [Iskri|ORG]. "
        "Brat je odšel v [Argentino|LOC], sestra [Marija|-] pa v [Celovec|LOC].",
        "Ob nedeljah smo hodili na [Bled|LOC] in na [Pokljuko|LOC]; enkrat smo šli peš do "
        "[Škofje Loke|LOC]. [Društvo upokojencev Jesenice|ORG] je organiziralo izlet na "
        "[Triglav|LOC]. Teta [Francka Kos|PER] je živela v [Tržiču|LOC] in delala v [Peku|ORG].",
    ],
    "en": [
        "My father [John Novak|PER] left [Bohinj|LOC] in 1923 and worked in the steel mills of "
        "[Cleveland|LOC]. My mother came from [Kranj|LOC]; she wrote letters to [Ljubljana|LOC] "
        "every month. Later we moved to [Toronto|LOC] and worked for [Alpina|ORG].",
    ],
}


def parse_conllu(path: Path, doc_id: str | None) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Sentences (text, gold spans as char offsets) of one document, or of all documents."""
    sentences, current_doc = [], None
    text, tokens = "", []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("# newdoc id"):
            current_doc = line.split("=", 1)[1].strip()
        elif line.startswith("# text ="):
            text = line.split("=", 1)[1].strip()
        elif line and not line.startswith("#"):
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue
            tokens.append((cols[1], cols[9]))
        elif not line and tokens:
            if doc_id is None or current_doc == doc_id:
                sentences.append((text, _gold_spans(text, tokens)))
            tokens = []
    return sentences


def _gold_spans(text: str, tokens: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    spans, position, open_span = [], 0, None
    for form, misc in tokens:
        start = text.find(form, position)
        end = start + len(form)
        position = end
        tag = re.search(r"NER=([BIO])-?([\w-]*)", misc)
        kind = tag.group(1) if tag else "O"
        label = GOLD_MAP.get(tag.group(2)) if tag else None
        if kind == "B":
            if open_span:
                spans.append(tuple(open_span))
            open_span = [start, end, label] if label else None
        elif kind == "I" and open_span:
            open_span[1] = end
        else:
            if open_span:
                spans.append(tuple(open_span))
            open_span = None
    if open_span:
        spans.append(tuple(open_span))
    return spans  # type: ignore[return-value]


def parse_passage(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    text, spans, position = "", [], 0
    for match in re.finditer(r"\[([^|\]]+)\|([A-Z-]+)\]", marked):
        text += marked[position : match.start()]
        if match.group(2) in LABELS:
            spans.append((len(text), len(text) + len(match.group(1)), match.group(2)))
        text += match.group(1)
        position = match.end()
    return text + marked[position:], spans


def evaluate(nlp, sentences) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    counts = {label: Counter() for label in LABELS}
    for text, gold in sentences:
        doc = nlp(text)
        predicted = {(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in LABELS}
        gold_set = set(gold)
        for label in LABELS:
            p = {s for s in predicted if s[2] == label}
            g = {s for s in gold_set if s[2] == label}
            counts[label]["tp"] += len(p & g)
            counts[label]["fp"] += len(p - g)
            counts[label]["fn"] += len(g - p)
            overlap = sum(1 for a in p if any(a[0] < b[1] and b[0] < a[1] for b in g))
            counts[label]["overlap_tp"] += overlap
    table = {}
    for label, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = {"gold": c["tp"] + c["fn"], "predicted": c["tp"] + c["fp"],
                        "precision": precision, "recall": recall, "f1": f1}  # fmt: skip
    return table


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n### {title}\n")
    print("| label | gold | predicted | precision | recall | F1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, row in table.items():
        print(f"| {label} | {row['gold']} | {row['predicted']} | {row['precision']:.2f} | "
              f"{row['recall']:.2f} | {row['f1']:.2f} |")  # fmt: skip


def main() -> int:
    gazetteer = load_gazetteer()
    sl = pipeline_for("sl", gazetteer).nlp
    en = pipeline_for("en", gazetteer).nlp
    print(f"## Tagging benchmark\n\nGazetteer: {len(gazetteer)} entries.")

    for language, nlp in (("sl", sl), ("en", en)):
        sentences = [parse_passage(p) for p in PASSAGES[language]]
        print_table(f"Hand-written oral-history passages ({language})", evaluate(nlp, sentences))

    if SSJ.exists():
        gold = parse_conllu(SSJ, "ssj619")
        print_table(f"SSJ test set, document ssj619 ({len(gold)} sentences, gold NER)",
                    evaluate(sl, gold))  # fmt: skip
        everything = parse_conllu(SSJ, None)
        texts = [text for text, _ in everything]
        started = time.perf_counter()
        docs = list(sl.pipe(texts))
        elapsed = time.perf_counter() - started
        tokens = sum(len(d) for d in docs)
        print(f"\nThroughput (Slovenian pipeline, {len(texts)} SSJ sentences): "
              f"{tokens / elapsed:,.0f} tokens/s ({tokens} tokens in {elapsed:.2f} s)")  # fmt: skip
        spotter = FuzzyPlaceSpotter(gazetteer)
        found = [(m.text, m.canonical, m.distance) for d in docs for m in spotter.spot(d)]
        print(f"\nFuzzy place spotting on clean text: {len(found)} matches in {len(texts)} "
              f"sentences ({1000 * len(found) / len(texts):.1f} per 1000 sentences):")  # fmt: skip
        for text, canonical, distance in found:
            print(f"  {text!r} -> {canonical} (distance {distance})")
    else:
        print(f"\n(SSJ test set not found at {SSJ}: skipped)")

    if ROG.exists():
        texts = []
        for path in sorted((ROG / "ROG-Art" / "TXT").glob("*-std.txt")):
            texts += [
                line.split(":", 1)[-1].strip() for line in path.read_text("utf-8").splitlines()
            ]
        for path in sorted(ROG.glob("DERIVED_*.turns.tsv")):
            texts += [line.split("\t")[1] for line in path.read_text("utf-8").splitlines()[1:]]
        found: Counter[tuple[str, str]] = Counter()
        for doc in sl.pipe(texts):
            for ent in doc.ents:
                found[(ent.label_, ent.ent_id_ or ent._.lm_canonical or ent.text)] += 1
        print(f"\n### Real Gorenjska transcripts (ROG): {len(texts)} turns\n")
        for (label, name), count in sorted(found.items(), key=lambda x: (x[0][0], -x[1])):
            print(f"- {label} {name} x{count}")
    else:
        print(f"\n(ROG transcripts not found at {ROG}: skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
