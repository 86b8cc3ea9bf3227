"""The archive at scale: synthetic archives of 100 and 1,000 hours (10,000 with ``--sizes``).

Each archive is built directly in the schema (``init_archive`` for the tables, then plain
``executemany`` inserts with the FTS triggers active, as ``transcribe`` and ``tag`` fill them):
one recording per hour, 700 segments per hour (about 5 s each, the density the issue measured
on real transcripts), each with a machine transcript, narrators, and place entities.

Text: Slovenian words drawn with a Zipf distribution (exponent 1.07) over the word forms of the
SSJ UD test set in ``../shared/data/text/sl_ssj_ud`` (real Slovenian forms with their gold
lemmas, ranked by frequency), or, when that is absent, over a built-in list of common words.
About one segment in six also names a Gorenjska place in the locative ("v Kranju", "na
Jesenicah"), with the place's lemma in ``segments.lemmas`` and a LOC entity pointing at it, as
tagging leaves them.

Measured, per size:

* build time and file size;
* ``livingmemory.search.search`` in-process, p50/p95 over ``--repeat`` runs, for common words
  (ranks 20-40 of the vocabulary), rare words (seen about 50 times in 1,000 hours), and
  inflected place names (a locative form finding the lemma: "Kranju", "Škofji Loki");
* ``livingmemory.publish.publish`` of the whole archive (every recording public), and again
  after one recording's transcript changed.

The ratio per tenfold (1,000 h / 100 h) is printed for each figure.

Usage::

    .venv/bin/python benchmarks/scale.py                     # 100 and 1,000 hours
    .venv/bin/python benchmarks/scale.py --sizes 100,1000,10000 --keep /tmp/scale
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_SSJ = ROOT.parent / "shared" / "data" / "text" / "sl_ssj_ud" / "sl_ssj-ud-test.conllu"
SEGMENTS_PER_HOUR = 700
WORDS_PER_SEGMENT = (6, 18)
PLACE_SHARE = 1 / 6

# (locative phrase, lemma) for places of Gorenjska; the lemma is the gazetteer's name.
PLACES = [
    ("v Kranju", "Kranj"),
    ("na Jesenicah", "Jesenice"),
    ("v Škofji Loki", "Škofja Loka"),
    ("na Bledu", "Bled"),
    ("v Radovljici", "Radovljica"),
    ("v Tržiču", "Tržič"),
    ("v Kamniku", "Kamnik"),
    ("v Bohinju", "Bohinj"),
    ("v Ljubljani", "Ljubljana"),
    ("v Železnikih", "Železniki"),
    ("v Cerkljah", "Cerklje na Gorenjskem"),
    ("na Brezjah", "Brezje"),
    ("v Kranjski Gori", "Kranjska Gora"),
    ("v Naklem", "Naklo"),
    ("v Preddvoru", "Preddvor"),
]
FIRST_NAMES = ["Marija", "Janez", "Ana", "Franc", "Jožef", "Ivana", "Anton", "Frančiška",
               "Stanislav", "Angela", "Alojz", "Terezija", "Ivan", "Katarina"]  # fmt: skip
SURNAMES = ["Novak", "Horvat", "Kovačič", "Krajnc", "Zupančič", "Potočnik", "Kovač", "Mlakar",
            "Košir", "Zupan", "Kralj", "Bizjak", "Jereb", "Rozman", "Pintar", "Logar"]  # fmt: skip
# Used when ../shared is absent: common words of spoken Slovenian, (form, lemma).
BUILTIN = [
    ("je", "biti"), ("in", "in"), ("smo", "biti"), ("so", "biti"), ("pa", "pa"), ("da", "da"),
    ("se", "se"), ("na", "na"), ("v", "v"), ("ko", "ko"), ("sem", "biti"), ("tam", "tam"),
    ("bilo", "biti"), ("to", "ta"), ("ja", "ja"), ("potem", "potem"), ("mama", "mama"),
    ("oče", "oče"), ("delal", "delati"), ("delala", "delati"), ("hiši", "hiša"),
    ("hiša", "hiša"), ("vojni", "vojna"), ("vojna", "vojna"), ("šoli", "šola"), ("šolo", "šola"),
    ("tovarni", "tovarna"), ("železarni", "železarna"), ("kmetiji", "kmetija"),
    ("otroci", "otrok"), ("otrok", "otrok"), ("leta", "leto"), ("letih", "leto"),
    ("zjutraj", "zjutraj"), ("zvečer", "zvečer"), ("pozimi", "pozimi"), ("poleti", "poleti"),
    ("sneg", "sneg"), ("snega", "sneg"), ("vlak", "vlak"), ("vlakom", "vlak"), ("cerkvi", "cerkev"),
    ("nedeljo", "nedelja"), ("nedeljah", "nedelja"), ("brat", "brat"), ("sestra", "sestra"),
    ("teta", "teta"), ("stara", "star"), ("mati", "mati"), ("delo", "delo"), ("dela", "delo"),
    ("planino", "planina"), ("planini", "planina"), ("hribe", "hrib"), ("partizane", "partizan"),
    ("Nemci", "Nemec"), ("kruh", "kruh"), ("krave", "krava"), ("seno", "seno"), ("polje", "polje"),
    ("plačo", "plača"), ("denarja", "denar"), ("poroka", "poroka"), ("svatba", "svatba"),
    ("harmoniko", "harmonika"), ("pesmi", "pesem"), ("spominjam", "spominjati"),
    ("spomnim", "spomniti"), ("živeli", "živeti"), ("hodili", "hoditi"), ("šli", "iti"),
]  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def vocabulary(ssj: Path) -> tuple[list[tuple[str, str]], str]:
    """(form, lemma) pairs ranked by frequency, and where they came from."""
    if not ssj.is_file():
        log(f"note: {ssj} is absent; using the built-in word list")
        return BUILTIN, "built-in list of common spoken Slovenian words"
    counts: dict[tuple[str, str], int] = {}
    for line in ssj.read_text("utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or not fields[0].isdigit() or fields[3] == "PUNCT":
            continue
        key = (fields[1], fields[2])
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    tokens = sum(counts.values())
    return ranked, f"SSJ UD test set word forms ({len(ranked)} forms, {tokens} tokens)"


class Sampler:
    """Zipf-distributed words from a ranked vocabulary (deterministic for a seed)."""

    def __init__(self, ranked: list[tuple[str, str]], seed: int, exponent: float = 1.07) -> None:
        import numpy as np

        self.ranked = ranked
        weights = 1.0 / np.arange(1, len(ranked) + 1) ** exponent
        self.cumulative = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)

    def words(self, count: int) -> list[tuple[str, str]]:
        import numpy as np

        picks = np.searchsorted(self.cumulative, self.rng.random(count))
        return [self.ranked[min(i, len(self.ranked) - 1)] for i in picks]

    def probability(self, rank: int) -> float:
        low = self.cumulative[rank - 1] if rank > 1 else 0.0
        return float(self.cumulative[rank] - low) if rank < len(self.cumulative) else 0.0


def tiny_wav(path: Path, number: int = 0) -> str:
    """A tenth of a second of near-silence, different for every ``number``; its SHA-256
    (publish checks every recording's fixity, so each stands in with its own checksum)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(number.to_bytes(4, "little") + b"\0\0" * 1598)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(folder: Path, hours: int, ranked: list[tuple[str, str]], seed: int = 17) -> dict:
    """A synthetic archive of ``hours`` one-hour recordings; returns build facts."""
    from livingmemory.archive import init_archive

    if folder.exists():
        shutil.rmtree(folder)
    database = folder / "archive.db"
    clock = time.monotonic()
    init_archive(database)
    sampler = Sampler(ranked, seed)
    rng = random.Random(seed)
    place_ids: dict[str, int] = {}
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for _, lemma in PLACES:
        place_ids[lemma] = conn.execute(
            "INSERT INTO places (name, kind, type, region) VALUES (?, 'place', 'town', "
            "'Gorenjska')",
            [lemma],
        ).lastrowid
    now = "2026-11-30T08:00:00+00:00"
    segments_total = entities_total = 0
    for number in range(1, hours + 1):
        staging = folder / "recordings" / f".rec-{number:05d}.wav"
        digest = tiny_wav(staging, number)
        file_path = f"recordings/rec-{number:05d}-{digest[:8]}.wav"
        staging.rename(folder / file_path)
        place = rng.choice(PLACES)[1]
        recording_id = conn.execute(
            "INSERT INTO recordings (title, file_path, original_filename, sha256, size_bytes, "
            "format, codec, duration, sample_rate, channels, language, recorded_date, place, "
            "access, added_at) VALUES (?, ?, ?, ?, 3244, 'wav', 'pcm_s16le', 3600.0, 16000, 1, "
            "'sl', ?, ?, 'public', ?)",
            [f"Spomini {number}", file_path, f"tape{number}.wav", digest,
             str(rng.randint(1950, 2020)), place, now],
        ).lastrowid  # fmt: skip
        narrator = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        person_id = conn.execute("INSERT INTO people (name) VALUES (?)", [narrator]).lastrowid
        conn.execute(
            "INSERT INTO recording_people (recording_id, person_id, role) VALUES (?, ?, "
            "'narrator')",
            [recording_id, person_id],
        )
        transcript_id = conn.execute(
            "INSERT INTO transcripts (recording_id, source, engine, model, language, "
            "started_at, finished_at, audio_seconds, is_current) VALUES (?, 'machine', "
            "'faster-whisper', 'base', 'sl', ?, ?, 3600.0, 1)",
            [recording_id, now, now],
        ).lastrowid
        segment_rows, mentions = [], []
        for position in range(SEGMENTS_PER_HOUR):
            words = sampler.words(rng.randint(*WORDS_PER_SEGMENT))
            forms, lemmas = [w[0] for w in words], [w[1] for w in words]
            mention = None
            if rng.random() < PLACE_SHARE:
                phrase, lemma = rng.choice(PLACES)
                cut = rng.randint(0, len(forms))
                forms[cut:cut] = phrase.split()
                lemmas[cut:cut] = [phrase.split()[0], *lemma.split()]
                mention = (position, phrase, lemma)
            start = position * 3600.0 / SEGMENTS_PER_HOUR
            text = " ".join(forms)
            segment_rows.append(
                (transcript_id, recording_id, position, start, start + 5.0, text,
                 " ".join(lemmas), -0.3, 0.05, 1.4)
            )  # fmt: skip
            if mention:
                mentions.append(mention)
        cursor = conn.executemany(
            "INSERT INTO segments (transcript_id, recording_id, position, start, end, text, "
            "lemmas, avg_logprob, no_speech_prob, compression_ratio) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            segment_rows,
        )
        segments_total += cursor.rowcount
        first_id = conn.execute(
            "SELECT min(id) FROM segments WHERE transcript_id = ?", [transcript_id]
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO entities (recording_id, segment_id, label, text, canonical, "
            "start_seconds, confidence, pipeline, method, place_id) VALUES "
            "(?, ?, 'LOC', ?, ?, ?, 0.9, 'synthetic', 'gazetteer', ?)",
            [
                (recording_id, first_id + position, phrase.split(" ", 1)[1], lemma,
                 position * 3600.0 / SEGMENTS_PER_HOUR, place_ids[lemma])
                for position, phrase, lemma in mentions
            ],
        )  # fmt: skip
        entities_total += len(mentions)
        if number % 50 == 0 or number == hours:
            conn.commit()
            log(f"  {hours} h: {number} recordings, {segments_total} segments")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return {
        "hours": hours,
        "recordings": hours,
        "segments": segments_total,
        "entities": entities_total,
        "build_s": time.monotonic() - clock,
        "size_mb": database.stat().st_size / 1e6,
    }


def queries(ranked: list[tuple[str, str]], sampler: Sampler, hours: int) -> dict[str, list[str]]:
    """Common, rare and inflected queries chosen from the vocabulary, the same at every size."""
    content = [form for form, _ in ranked if len(form) >= 4 and form.isalpha()]
    common = content[5:8]
    words_per_1000h = 1000 * SEGMENTS_PER_HOUR * sum(WORDS_PER_SEGMENT) / 2
    rare = []
    for rank, (form, _) in enumerate(ranked, 1):  # about 50 occurrences in 1,000 hours
        if len(form) >= 5 and form.isalpha() and sampler.probability(rank) * words_per_1000h < 50:
            rare.append(form)
        if len(rare) == 3:
            break
    if len(rare) < 3:  # a small vocabulary (the built-in list) has no rare words: its rarest
        rare = [w for w in content if w not in common][-3:]
    inflected = ["Kranju", "Škofji Loki", "Jesenicah"]
    return {"common": common, "rare": rare, "inflected": inflected}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_search(database: Path, words: dict[str, list[str]], repeat: int) -> dict[str, Any]:
    from livingmemory.archive import open_archive
    from livingmemory.search import search

    found: dict[str, Any] = {}
    with open_archive(database) as archive:
        search(archive, "Kranj")  # load the lemmatisers once, outside the timings
        for kind, terms in words.items():
            times, hits = [], {}
            for _ in range(repeat):
                for term in terms:
                    clock = time.perf_counter()
                    result = search(archive, term)
                    times.append(1000 * (time.perf_counter() - clock))
                    hits[term] = len(result)
            found[kind] = {
                "p50_ms": statistics.median(times),
                "p95_ms": percentile(times, 0.95),
                "hits": hits,
            }
    return found


def measure_publish(database: Path) -> dict[str, float]:
    from livingmemory.archive import open_archive
    from livingmemory.publish import publish

    with open_archive(database) as archive:
        clock = time.monotonic()
        result = publish(archive)
        full = time.monotonic() - clock
        with archive.db.atomic():
            archive.db.execute(
                "UPDATE segments SET text = text || ' (popravek)' WHERE recording_id = 1 "
                "AND position = 0"
            )
        clock = time.monotonic()
        publish(archive)
        again = time.monotonic() - clock
    size = result.database.stat().st_size / 1e6
    return {"publish_full_s": full, "publish_after_change_s": again, "public_mb": size}


def render(rows: list[dict[str, Any]], source: str, words: dict[str, list[str]]) -> str:
    out = [
        f"Vocabulary: {source}. Queries: "
        + "; ".join(f"{kind}: {', '.join(terms)}" for kind, terms in words.items()),
        "",
        "| hours | recordings | segments | entities | archive MB | build s | "
        "search common p50/p95 ms | rare p50/p95 ms | inflected p50/p95 ms | publish s | "
        "publish after one change s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["search"]
        out.append(
            f"| {r['hours']:,} | {r['recordings']:,} | {r['segments']:,} | {r['entities']:,} | "
            f"{r['size_mb']:.0f} | {r['build_s']:.0f} | "
            + " | ".join(f"{s[k]['p50_ms']:.1f} / {s[k]['p95_ms']:.1f}" for k in words)
            + f" | {r['publish_full_s']:.1f} | {r['publish_after_change_s']:.1f} |"
        )
    if len(rows) >= 2:
        out += ["", "Growth per tenfold (each size over the one ten times smaller):", ""]
        out += ["| sizes | segments | search common p95 | rare p95 | inflected p95 | publish |"]
        out += ["|---|---:|---:|---:|---:|---:|"]
        for small, large in itertools.pairwise(rows):
            if large["hours"] != 10 * small["hours"]:
                continue
            ratio = [
                large["search"][k]["p95_ms"] / max(1e-9, small["search"][k]["p95_ms"])
                for k in words
            ]
            out.append(
                f"| {small['hours']:,} -> {large['hours']:,} h | "
                f"{large['segments'] / small['segments']:.1f}x | "
                + " | ".join(f"{x:.1f}x" for x in ratio)
                + f" | {large['publish_full_s'] / max(1e-9, small['publish_full_s']):.1f}x |"
            )
    out += ["", "Hits per query: " + "; ".join(
        f"{r['hours']} h: " + ", ".join(
            f"{t} {n}" for k in words for t, n in r["search"][k]["hits"].items()
        ) for r in rows
    )]  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=lambda v: [int(s) for s in v.split(",")], default=[100, 1000]
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--ssj", type=Path, default=DEFAULT_SSJ)
    parser.add_argument("--keep", type=Path, help="build the archives here and keep them")
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: use archives already built there"
    )
    parser.add_argument("--build-only", action="store_true", help="build, measure nothing")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    ranked, source = vocabulary(args.ssj)
    words = queries(ranked, Sampler(ranked, 0), 1000)
    base = args.keep or Path(tempfile.mkdtemp(prefix="lm-scale-"))
    rows = []
    try:
        for hours in args.sizes:
            log(f"building {hours} h")
            folder = base / f"{hours}h"
            facts = folder / "build.json"
            if args.reuse and facts.is_file() and (folder / "archive.db").is_file():
                row = json.loads(facts.read_text())
                log(f"  reusing {folder}")
            else:
                row = build(folder, hours, ranked)
                facts.write_text(json.dumps(row))
            if args.build_only:
                continue
            log(f"  built in {row['build_s']:.0f} s, {row['size_mb']:.0f} MB; searching")
            row["search"] = measure_search(folder / "archive.db", words, args.repeat)
            if not args.no_publish:
                log("  publishing")
                row |= measure_publish(folder / "archive.db")
            else:
                row |= {"publish_full_s": float("nan"), "publish_after_change_s": float("nan")}
            rows.append(row)
            log(json.dumps(row, ensure_ascii=False))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "queries": words, "source": source}))
    print(render(rows, source, words))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
