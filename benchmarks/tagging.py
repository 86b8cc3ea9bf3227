"""Tagging benchmark: precision/recall/F1 per label (exact spans and overlap), throughput,
fuzzy-spotting precision.

Prints figures for the README (nothing here is a pass/fail test). Entities come from
:class:`livingmemory.tagging.pipeline.TextTagger`, the code behind ``livingmemory entities``.

``benchmarks/tagging.py GOLD...`` scores any gold file: CoNLL-U (``NER=B-PER`` in MISC, or a
bare ``B-PER`` there; labels in any case) or JSON lines (``text`` with ``entities`` /
``spans`` / ``ents`` / ``label`` as ``[start, end, label]`` or objects with ``start``,
``end``, ``label``; or ``tokens`` with ``ner_tags`` / ``tags``). ``--doc ID`` keeps one
CoNLL-U document; ``--halves`` also scores even and odd sentences apart; ``--errors``
lists the misses. The lines of one gold file are read as one document, in order, as the
command would read them.

Without arguments it prints:

1. Hand-written oral-history passages in Slovenian and English (gold inline) - these show
   the rules work on the archive's kind of text; they are not evidence of accuracy. Then
   ``benchmarks/data/sl_handwritten_ner.jsonl``: 43 hand-written Slovenian sentences (news
   and oral-history style, with traps) written before the organisation rules were tuned
   and never tuned on (see ``benchmarks/data/README.md``); not evidence of accuracy either.
2. The Universal Dependencies Slovenian SSJ test set, document ``ssj619`` only (the only
   document with real NER annotation; every other ``NER=O`` is a placeholder), from
   ``../shared/data/text/sl_ssj_ud``: all of it, the even sentences the rules were tuned on,
   and the odd sentences, which nobody looked at while tuning.
3. Any other gold file in ``../shared/data/text`` (``*.jsonl``, ``*ner*.conllu``).
4. Throughput of the Slovenian pipeline in tokens per second over the whole SSJ test set.
5. Fuzzy place spotting on clean text: how many matches it makes in ordinary sentences.
6. What the tagger finds in the real Gorenjska transcripts (``sl_rog_gorenjska``).

Run: ``.venv/bin/python benchmarks/tagging.py [GOLD...] [--language sl]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from livingmemory.tagging.gazetteer import load_gazetteer
from livingmemory.tagging.pipeline import TextTagger

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIVINGMEMORY_SHARED", ROOT.parent / "shared")) / "data" / "text"
SSJ = SHARED / "sl_ssj_ud" / "sl_ssj-ud-test.conllu"
ROG = SHARED / "sl_rog_gorenjska"
HANDWRITTEN = ROOT / "benchmarks" / "data" / "sl_handwritten_ner.jsonl"
SSJ_HALVES = ("even sentences: tuned on", "odd sentences: held out")
LABELS = ("PER", "LOC", "ORG")
# Other schemes' names for the three labels (spaCy, CoNLL, OntoNotes...); anything else
# (MISC, DERIV-PER, dates) is not scored.
LABEL_NAMES = {
    "PER": "PER", "PERSON": "PER", "LOC": "LOC", "GPE": "LOC", "LOCATION": "LOC",
    "FAC": "LOC", "ORG": "ORG", "ORGANIZATION": "ORG", "ORGANISATION": "ORG",
}  # fmt: skip

Span = tuple[int, int, str]
Sentence = tuple[str, list[Span]]

# Hand-written passages in the style of the archive's interviews; [text|LABEL] marks gold.
PASSAGES = {
    "sl": [
        "Rodila sem se v [Kranju|LOC], oče [Janez Novak|PER] pa je bil doma iz [Bohinja|LOC]. "
        "Po vojni je delal v [Železarni Jesenice|ORG], mama pa v [Iskri|ORG]. "
        "Brat je odšel v [Argentino|LOC], sestra [Marija|PER] pa v [Celovec|LOC].",
        "Ob nedeljah smo hodili na [Bled|LOC] in na [Pokljuko|LOC]; enkrat smo šli peš do "
        "[Škofje Loke|LOC]. [Društvo upokojencev Jesenice|ORG] je organiziralo izlet na "
        "[Triglav|LOC]. Teta [Francka Kos|PER] je živela v [Tržiču|LOC] in delala v [Peku|ORG].",
        "V šoli smo brali [Franceta Prešerna|PER]. Učitelj [Kos|PER] nam je razlagal, da je "
        "[Prešeren|PER] živel v [Kranju|LOC]. Trideset let je delal v [Gorenjski predilnici|ORG], "
        "potem pa pri [Merkurju|ORG].",
        "Oče je bil član [Društva kmečkih žena|ORG], stric pa je delal na [Ministrstvu za "
        "kmetijstvo|ORG] v [Ljubljani|LOC]. Gospod [Zupan|PER] je prišel iz [Tržiča|LOC] "
        "z ženo [Ivanko|PER].",
    ],
    "en": [
        "My father [John Novak|PER] left [Bohinj|LOC] in 1923 and worked in the steel mills of "
        "[Cleveland|LOC]. My mother came from [Kranj|LOC]; she wrote letters to [Ljubljana|LOC] "
        "every month. Later we moved to [Toronto|LOC] and worked for [Alpina|ORG].",
    ],
}


def norm_label(label: str) -> str | None:
    return LABEL_NAMES.get(label.strip().upper())


# -- reading gold ----------------------------------------------------------------------------


def _bio_spans(text: str, tokens: list[tuple[str, str]]) -> list[Span]:
    """Character spans from tokens and their BIO tags (``B-PER``, ``I-loc``, ``O``)."""
    spans: list[Span] = []
    position, current = 0, None
    for form, tag in tokens:
        start = text.find(form, position)
        if start < 0:
            start = position
        end = start + len(form)
        position = end
        kind, _, name = tag.partition("-")
        kind = kind.upper()
        label = norm_label(name) if name else None
        if kind in ("B", "S", "U") or (kind == "I" and (current is None or current[2] != label)):
            if current:
                spans.append(tuple(current))  # type: ignore[arg-type]
            current = [start, end, label] if label else None
        elif kind in ("I", "E", "L") and current:
            current[1] = end
        else:
            if current:
                spans.append(tuple(current))  # type: ignore[arg-type]
            current = None
    if current:
        spans.append(tuple(current))  # type: ignore[arg-type]
    return spans


def read_conllu(path: Path, doc_id: str | None = None) -> list[Sentence]:
    """Sentences (text, gold spans as character offsets), of one document or of all."""
    sentences: list[Sentence] = []
    current_doc, text, tokens = None, "", []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("# newdoc id"):
            current_doc = line.split("=", 1)[1].strip()
        elif line.startswith("# text ="):
            text = line.split("=", 1)[1].strip()
        elif line and not line.startswith("#"):
            cols = line.split("\t")
            if len(cols) < 10 or "-" in cols[0] or "." in cols[0]:
                continue
            found = re.search(r"(?:^|\|)NER=([^|]+)", cols[9], re.IGNORECASE)
            tag = found.group(1) if found else cols[9]
            if not re.fullmatch(r"[BIOESLU](-[\w-]+)?", tag, re.IGNORECASE):
                tag = "O"
            space = "" if "SpaceAfter=No" in cols[9] else " "
            tokens.append((cols[1], tag, space))
        elif not line and tokens:
            if doc_id is None or current_doc == doc_id:
                text = text or "".join(f + s for f, _, s in tokens).strip()
                sentences.append((text, _bio_spans(text, [(f, t) for f, t, _ in tokens])))
            text, tokens = "", []
    return sentences


def read_genres(path: Path, doc_id: str) -> list[str]:
    """The ``# document_genre`` of each sentence of one document, in order."""
    genres, current_doc, genre = [], None, ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newdoc id"):
            current_doc = line.split("=", 1)[1].strip()
        elif line.startswith("# document_genre"):
            genre = line.split("=", 1)[1].strip()
        elif line.startswith("# text =") and current_doc == doc_id:
            genres.append(genre)
    return genres


def read_jsonl(path: Path) -> list[Sentence]:
    sentences: list[Sentence] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if "tokens" in record and ("ner_tags" in record or "tags" in record):
            tags = record.get("ner_tags") or record.get("tags")
            text = record.get("text") or " ".join(record["tokens"])
            sentences.append(
                (text, _bio_spans(text, list(zip(record["tokens"], tags, strict=True))))
            )
            continue
        text = record.get("text")
        if not isinstance(text, str):
            raise SystemExit(f"{path}: line {number}: no text")
        raw = next((record[k] for k in ("entities", "spans", "ents", "label", "labels")
                    if isinstance(record.get(k), list)), [])  # fmt: skip
        spans = []
        for item in raw:
            if isinstance(item, dict):
                start = item.get("start", item.get("start_offset", item.get("start_char")))
                end = item.get("end", item.get("end_offset", item.get("end_char")))
                label = item.get("label") or item.get("type") or item.get("tag")
            else:
                start, end, label = item[0], item[1], item[2]
            label = norm_label(str(label))
            if label:
                spans.append((int(start), int(end), label))
        sentences.append((text, spans))
    return sentences


def read_gold(path: Path, doc_id: str | None = None) -> list[Sentence]:
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return read_jsonl(path)
    return read_conllu(path, doc_id)


def parse_passage(marked: str) -> Sentence:
    text, spans, position = "", [], 0
    for match in re.finditer(r"\[([^|\]]+)\|([A-Z-]+)\]", marked):
        text += marked[position : match.start()]
        if match.group(2) in LABELS:
            spans.append((len(text), len(text) + len(match.group(1)), match.group(2)))
        text += match.group(1)
        position = match.end()
    return text + marked[position:], spans


# -- scoring ---------------------------------------------------------------------------------


def predict(tagger: TextTagger, sentences: list[Sentence]) -> list[list[Span]]:
    """Tag the sentences in order as one document (as ``livingmemory entities`` would)."""
    tagger.new_document()
    out = []
    for text, _ in sentences:
        entities = tagger.entities(text, topics=False)
        out.append([(e["start"], e["end"], e["label"]) for e in entities if e["label"] in LABELS])
    return out


def _prf(tp_p: int, predicted: int, tp_g: int, gold: int) -> tuple[float, float, float]:
    precision = tp_p / predicted if predicted else 0.0
    recall = tp_g / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(sentences: list[Sentence], predictions: list[list[Span]]) -> dict[str, dict[str, Any]]:
    """Per label: exact (same start, end and label) and overlap (a predicted span of the
    label overlaps a gold one: precision counts predictions, recall counts gold spans)."""
    counts = {label: Counter() for label in LABELS}
    for (_, gold), predicted in zip(sentences, predictions, strict=True):
        for label in LABELS:
            p = {s for s in predicted if s[2] == label}
            g = {s for s in gold if s[2] == label}
            c = counts[label]
            c["gold"] += len(g)
            c["predicted"] += len(p)
            c["exact"] += len(p & g)
            c["overlap_p"] += sum(1 for a in p if any(a[0] < b[1] and b[0] < a[1] for b in g))
            c["overlap_g"] += sum(1 for b in g if any(a[0] < b[1] and b[0] < a[1] for a in p))
    table = {}
    for label, c in counts.items():
        exact = _prf(c["exact"], c["predicted"], c["exact"], c["gold"])
        overlap = _prf(c["overlap_p"], c["predicted"], c["overlap_g"], c["gold"])
        table[label] = {"gold": c["gold"], "predicted": c["predicted"],
                        "exact": exact, "overlap": overlap}  # fmt: skip
    return table


def print_table(title: str, table: dict[str, dict[str, Any]]) -> None:
    print(f"\n### {title}\n")
    print("| label | gold | predicted | P exact | R exact | F1 exact | P overlap | R overlap "
          "| F1 overlap |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, row in table.items():
        e, o = row["exact"], row["overlap"]
        print(f"| {label} | {row['gold']} | {row['predicted']} | {e[0]:.2f} | {e[1]:.2f} | "
              f"**{e[2]:.2f}** | {o[0]:.2f} | {o[1]:.2f} | {o[2]:.2f} |")  # fmt: skip


def print_errors(sentences: list[Sentence], predictions: list[list[Span]]) -> None:
    print("\nMisses (-) and false alarms (+), exact spans:")
    for (text, gold), predicted in zip(sentences, predictions, strict=True):
        g, p = set(gold), set(predicted)
        for start, end, label in sorted(g - p):
            print(f"  - {label} {text[start:end]!r}   | {text[:90]}")
        for start, end, label in sorted(p - g):
            print(f"  + {label} {text[start:end]!r}   | {text[:90]}")


def evaluate(
    tagger: TextTagger,
    title: str,
    sentences: list[Sentence],
    halves: bool,
    errors: bool,
    half_names: tuple[str, str] = ("even sentences", "odd sentences"),
) -> None:
    """Score one gold set; with ``halves`` also its even and odd sentences apart (ssj619's
    even half is the one the rules were tuned on: ``half_names`` says so in the titles)."""
    predictions = predict(tagger, sentences)
    print_table(f"{title} ({len(sentences)} sentences)", score(sentences, predictions))
    if halves:
        for name, parity in ((half_names[0], 0), (half_names[1], 1)):
            part = [i for i in range(len(sentences)) if i % 2 == parity]
            chosen = [sentences[i] for i in part], [predictions[i] for i in part]
            print_table(f"{title}, {name} ({len(part)} sentences)", score(*chosen))
    if errors:
        # With halves, only the tuning half's errors are shown: the other half stays unseen.
        shown = [i for i in range(len(sentences)) if not halves or i % 2 == 0]
        print_errors([sentences[i] for i in shown], [predictions[i] for i in shown])


def ablation(tagger: TextTagger, sentences: list[Sentence]) -> None:
    """Exact F1 with each rule family of ``lm_sl_names`` switched off in turn (and all of
    them), on the tuning half and the held-out half: what each idea is worth."""
    from livingmemory.tagging.names import RULES

    rules = tagger.pipeline.nlp.get_pipe("lm_sl_names").rules
    halves = [[s for i, s in enumerate(sentences) if i % 2 == p] for p in (0, 1)]
    print("\n### Each rule family switched off (exact F1, tuned half / held-out half)\n")
    print("| without | PER | LOC | ORG |")
    print("|---|---|---|---|")
    for off in (None, *RULES, "all"):
        saved = dict(rules)
        for name in RULES:
            rules[name] = off not in (name, "all")
        cells = []
        tables = [score(half, predict(tagger, half)) for half in halves]
        for label in LABELS:
            cells.append(" / ".join(f"{t[label]['exact'][2]:.2f}" for t in tables))
        rules.update(saved)
        print(f"| {off or '(nothing: all rules on)'} | " + " | ".join(cells) + " |")


def other_documents(tagger: TextTagger, show: bool) -> None:
    """How many organisations the rules guess in the SSJ test sentences outside ssj619 (no
    gold there: ``--errors`` lists them, to judge by eye)."""
    texts, current = [], None
    for line in SSJ.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newdoc id"):
            current = line.split("=", 1)[1].strip()
        elif line.startswith("# text =") and current != "ssj619":
            texts.append((line.split("=", 1)[1].strip(), []))
    guesses = [(text[a:b], text) for (text, _), spans in zip(texts, predict(tagger, texts),
               strict=True) for a, b, label in spans if label == "ORG"]  # fmt: skip
    print(f"\nORG guesses in the {len(texts)} SSJ test sentences outside ssj619 (no gold): "
          f"{len(guesses)}")  # fmt: skip
    if show:
        for name, text in guesses:
            print(f"  {name!r}   | {text[:90]}")


# -- the default run -------------------------------------------------------------------------


def default_run(tagger: TextTagger, errors: bool) -> None:
    en = TextTagger("en", tagger.gazetteer)
    for language, each in (("sl", tagger), ("en", en)):
        sentences = [parse_passage(p) for p in PASSAGES[language]]
        evaluate(each, f"Hand-written oral-history passages ({language}), not evidence of "
                 "accuracy", sentences, False, errors)  # fmt: skip
    if tagger.language == "sl":
        # Written before the organisation rules of issue 16 were tuned, never tuned on; its
        # errors are not printed, so that it stays unseen.
        evaluate(tagger, "Hand-written Slovenian sentences (benchmarks/data, not tuned on), "
                 "not evidence of accuracy", read_jsonl(HANDWRITTEN), False, False)  # fmt: skip
    if not SSJ.exists():
        print(f"\n(SSJ test set not found at {SSJ}: skipped)")
    else:
        gold = read_conllu(SSJ, "ssj619")
        evaluate(tagger, "SSJ test set, document ssj619 (gold NER)", gold, True, errors,
                 SSJ_HALVES)  # fmt: skip
        # Only its Wikipedia sentences carry annotation: the 53 fiction sentences at its
        # start have NER=O on every name (Lisl Cade, John Daniels), so there a name found
        # counts as a false alarm.
        wiki = [s for s, genre in zip(gold, read_genres(SSJ, "ssj619"), strict=True)
                if genre != "fiction"]  # fmt: skip
        evaluate(tagger, "ssj619 without its unannotated fiction sentences", wiki, False, False)
        if tagger.language == "sl":
            ablation(tagger, gold)
            other_documents(tagger, errors)
    others = sorted(p for p in SHARED.rglob("*") if p.suffix in (".jsonl", ".ndjson")
                    or (p.suffix == ".conllu" and "ner" in p.name.lower()))  # fmt: skip
    for path in others:
        evaluate(tagger, f"{path.relative_to(SHARED)} (not tuned on)", read_gold(path), False,
                 errors)  # fmt: skip
    if SSJ.exists():
        everything = read_conllu(SSJ)
        texts = [text for text, _ in everything]
        docs = [tagger.doc(t) for t in texts]  # also warms the caches
        tokens = sum(len(d) for d in docs)

        def best_of_two(disable: list[str]) -> float:
            times = []
            with tagger.pipeline.nlp.select_pipes(disable=disable):
                for _ in range(2):
                    started = time.perf_counter()
                    for text in texts:
                        tagger.doc(text)
                    times.append(time.perf_counter() - started)
            return min(times)

        elapsed = best_of_two([])
        print(f"\nThroughput (Slovenian pipeline, {len(texts)} SSJ sentences, best of 2): "
              f"{tokens / elapsed:,.0f} tokens/s ({tokens} tokens in {elapsed:.2f} s)")  # fmt: skip
        if "lm_sl_names" in tagger.pipeline.nlp.pipe_names:
            peer = best_of_two(["lm_sl_names"])
            print(f"Same run without the Slovenian name rules (lm_sl_names): {tokens / peer:,.0f}"
                  f" tokens/s (x{elapsed / peer:.2f} time with them)")  # fmt: skip
        found = [(m.text, m.canonical, m.distance) for d in docs for m in tagger.spotter.spot(d)]
        print(f"\nFuzzy place spotting on clean text: {len(found)} matches in {len(texts)} "
              f"sentences ({1000 * len(found) / len(texts):.1f} per 1000 sentences):")  # fmt: skip
        for text, canonical, distance in found:
            print(f"  {text!r} -> {canonical} (distance {distance})")
    if ROG.exists():
        texts = []
        for path in sorted((ROG / "ROG-Art" / "TXT").glob("*-std.txt")):
            texts += [
                line.split(":", 1)[-1].strip() for line in path.read_text("utf-8").splitlines()
            ]
        for path in sorted(ROG.glob("DERIVED_*.turns.tsv")):
            texts += [line.split("\t")[1] for line in path.read_text("utf-8").splitlines()[1:]]
        found_rog: Counter[tuple[str, str]] = Counter()
        tagger.new_document()
        for text in texts:
            for entity in tagger.entities(text, topics=False):
                found_rog[(entity["label"], entity["canonical"])] += 1
        print(f"\n### Real Gorenjska transcripts (ROG): {len(texts)} turns\n")
        for (label, name), count in sorted(found_rog.items(), key=lambda x: (x[0][0], -x[1])):
            print(f"- {label} {name} x{count}")
    else:
        print(f"\n(ROG transcripts not found at {ROG}: skipped)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gold", nargs="*", type=Path, help="CoNLL-U or JSON-lines gold files")
    parser.add_argument("--language", default="sl")
    parser.add_argument("--doc", help="CoNLL-U: only this document (e.g. ssj619)")
    parser.add_argument("--halves", action="store_true", help="also even/odd sentences apart")
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    args = parser.parse_args(argv)
    gazetteer = load_gazetteer()
    tagger = TextTagger(args.language, gazetteer)
    print(f"## Tagging benchmark\n\nGazetteer: {len(gazetteer)} entries; pipeline "
          f"{tagger.pipeline.name} {tagger.pipeline.version}.")  # fmt: skip
    if not args.gold:
        default_run(tagger, args.errors)
        return 0
    for path in args.gold:
        if not path.is_file():
            print(f"{path}: not found", file=sys.stderr)
            return 1
        doc_id = args.doc
        if doc_id is None and "ssj-ud" in path.name:
            doc_id = "ssj619"  # the only document of the SSJ test set with gold NER
        title = f"{path.name}" + (f", document {doc_id}" if doc_id else "")
        names = SSJ_HALVES if doc_id == "ssj619" else ("even sentences", "odd sentences")
        evaluate(tagger, title, read_gold(path, doc_id), args.halves, args.errors, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
