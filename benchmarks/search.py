"""Search speed on synthetic archives of 100 and 1,000 hours, and precision on the test set.

    .venv/bin/python benchmarks/search.py                 # 100 and 1,000 hours
    .venv/bin/python benchmarks/search.py --hours 100     # quicker

Each archive is built directly in the schema (no audio, no Whisper, no spaCy): one recording
per hour, a finished transcript of 360 ten-second segments of generated Slovenian
oral-history sentences (about 9,000 words an hour), lemmas from lemmagen as tagging stores
them, and place tags on the segments that name a gazetteer place. Every insert goes through
the archive's triggers (full-text index, current-transcript flags, segment tags), as real
writes do. It prints build time and size, then p50/p95 over repeated queries for a common
word, a rare word and an inflected place name: in-process (``livingmemory.search.search``),
through Datasette's JSON API (the ``search_transcripts`` canned query, in-process ASGI), the
cold CLI on a one-hour archive, and (at 100 hours) the previous search query as a peer.
Finally precision and recall on tests/search_cases.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from livingmemory.archive.store import init_archive, open_archive, utc_now  # noqa: E402
from livingmemory.search import search  # noqa: E402
from livingmemory.words import lemmatize_word  # noqa: E402

SEGMENTS_PER_HOUR = 360
PLACES = ["Kranj", "Kranju", "Jesenice", "Jesenicah", "Bohinju", "Bledu", "Tržiču",
          "Škofji Loki", "Radovljici", "Ljubljani"]  # fmt: skip
CANONICAL = {"Kranj": "Kranj", "Kranju": "Kranj", "Jesenice": "Jesenice",
             "Jesenicah": "Jesenice", "Bohinju": "Bohinj", "Bledu": "Bled", "Tržiču": "Tržič",
             "Škofji Loki": "Škofja Loka", "Radovljici": "Radovljica",
             "Ljubljani": "Ljubljana"}  # fmt: skip
WORDS = """je bil sem smo so da in pa ko ki to tam tudi še potem takrat oče mama brat sestra
hiša delo šola vojna kmetija krava seno polje gozd cerkev vas mesto tovarna železarna vlak kolo
pot zima poletje jesen otroci sosedje hrana kruh mleko denar praznik božič maša učiteljica vojak
partizan Nemci lakota strah veselje ples pesem harmonika planina ovce pastir kovač mizar šivilja
čipke""".split()  # noqa: SIM905
RARE = "harmonikaš"  # once in about 2,000 segments


def sentence(rng: random.Random) -> tuple[str, str | None]:
    """A segment of about 25 words; a place name in roughly one segment in ten."""
    words = [rng.choice(WORDS[:12]) if rng.random() < 0.45 else rng.choice(WORDS)
             for _ in range(24)]  # fmt: skip
    place = None
    if rng.random() < 0.1:
        place = rng.choice(PLACES)
        words.insert(rng.randrange(len(words)), f"v {place}")
    if rng.random() < 0.0005:
        words.insert(rng.randrange(len(words)), RARE)
    text = " ".join(words)
    return text[0].upper() + text[1:] + ".", place


_LEMMAS: dict[str, str] = {}


def lemmas(text: str) -> str:
    out = []
    for word in text.rstrip(".").split():
        if word not in _LEMMAS:
            _LEMMAS[word] = lemmatize_word(word, "sl")
        out.append(_LEMMAS[word])
    return " ".join(out)


def build(path: Path, hours: int, seed: int = 12) -> dict[str, float]:
    rng = random.Random(seed)
    started = time.perf_counter()
    init_archive(path)
    with open_archive(path) as archive:
        db = archive.db
        db.execute("PRAGMA synchronous = OFF")
        now = utc_now()
        with db.atomic():
            for hour in range(hours):
                rid = db.execute(
                    "INSERT INTO recordings (title, file_path, original_filename, sha256, "
                    "size_bytes, format, duration, language, recorded_date, place, access, "
                    "added_at) VALUES (?, ?, ?, ?, 1, 'wav', 3600, 'sl', ?, ?, 'public', ?)",
                    [f"Pričevanje {hour + 1}", f"recordings/t{hour}.wav", f"t{hour}.wav",
                     f"{hour:064x}", f"{1970 + hour % 50}", rng.choice(list(CANONICAL.values())),
                     now],
                ).lastrowid  # fmt: skip
                tid = db.execute(
                    "INSERT INTO transcripts (recording_id, source, language, finished_at, "
                    "is_current) VALUES (?, 'machine', 'sl', ?, 1)",
                    [rid, now],
                ).lastrowid
                for position in range(SEGMENTS_PER_HOUR):
                    text, place = sentence(rng)
                    sid = db.execute(
                        "INSERT INTO segments (transcript_id, recording_id, position, start, "
                        "end, text, lemmas) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [tid, rid, position, position * 10.0, position * 10.0 + 10, text,
                         lemmas(text)],
                    ).lastrowid  # fmt: skip
                    if place:
                        db.execute(
                            "INSERT INTO entities (recording_id, segment_id, label, text, "
                            "canonical, method, confidence, source) VALUES "
                            "(?, ?, 'LOC', ?, ?, 'gazetteer', 0.95, 'machine')",
                            [rid, sid, place, CANONICAL[place]],
                        )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.perf_counter() - started
    return {"build_s": seconds, "size_mb": path.stat().st_size / 1e6}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


# common: in most segments; rare: one segment in 2,000; inflected: only other forms are in
# the text ("krava", "krave"), found through lemmas; place: a tag, typed in another case.
QUERIES = {"common": "je", "rare": RARE, "inflected": "kravo", "place": "na Jesenicah"}


def time_in_process(path: Path, repeats: int) -> dict[str, tuple[float, float, int]]:
    results = {}
    with open_archive(path) as archive:
        for kind, query in QUERIES.items():
            search(archive, query)  # warm the page cache and lemmagen
            samples, hits = [], 0
            for _ in range(repeats):
                started = time.perf_counter()
                hits = len(search(archive, query, limit=50))
                samples.append(time.perf_counter() - started)
            results[kind] = (*percentiles(samples), hits)
    return results


FILTERED = [("je", {"place": "Kranj"}), ("je", {"decade": 1970}), ("kravo", {"recording_id": 7}),
            ("je", {"story_decade": 1950}), ("je bil", {}), ("xyzzy", {}),
            ("je", {"offset": 1000})]  # fmt: skip


def time_filtered(path: Path, repeats: int) -> list[tuple[str, float, float, int]]:
    """Filters, phrases of common words, no hits at all, a deep page: in-process."""
    results = []
    with open_archive(path) as archive:
        for query, filters in FILTERED:
            search(archive, query, **filters)
            samples, hits = [], 0
            for _ in range(repeats):
                started = time.perf_counter()
                hits = len(search(archive, query, **filters))
                samples.append(time.perf_counter() - started)
            label = f"{query!r} {', '.join(f'{k}={v}' for k, v in filters.items())}"
            results.append((label, *percentiles(samples), hits))
    return results


def time_datasette(path: Path, repeats: int) -> dict[str, tuple[float, float, int]]:
    import yaml
    from datasette.app import Datasette

    template = ROOT / "livingmemory" / "templates" / "metadata.yml"
    canned = yaml.safe_load(template.read_text())["databases"]["public"]["queries"]
    name = path.stem
    metadata = {"databases": {name: {"queries": {"search": canned["search_transcripts"]}}}}
    ds = Datasette([str(path)], metadata=metadata, immutables=[])

    async def run() -> dict[str, tuple[float, float, int]]:
        results = {}
        for kind, query in QUERIES.items():
            url = f"/{name}/search.json"
            await ds.client.get(url, params={"q": query, "_shape": "array"})
            samples, hits = [], 0
            for _ in range(repeats):
                started = time.perf_counter()
                response = await ds.client.get(url, params={"q": query, "_shape": "array"})
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:300]
                hits = len(response.json())
            results[kind] = (*percentiles(samples), hits)
        return results

    return asyncio.run(run())


def time_old_query(path: Path, query: str) -> float:
    """The query search ran before issue 12: join the view, rank every match, snippets."""
    from livingmemory.search import parse_query

    parsed = parse_query(query)
    expression = " OR ".join([f"text : {parsed.exact_phrase}",
                              f"lemmas : ({' OR '.join(parsed.lemma_phrases())})"])  # fmt: skip
    with open_archive(path) as archive:
        started = time.perf_counter()
        archive.db.execute(
            """SELECT s.id, snippet(segments_fts, 0, '[', ']', '…', 12)
               FROM segments_fts JOIN segments s ON s.rowid = segments_fts.rowid
               JOIN current_transcripts c ON c.transcript_id = s.transcript_id
               JOIN recordings r ON r.id = s.recording_id
               WHERE segments_fts MATCH ? ORDER BY segments_fts.rank, s.recording_id, s.start
               LIMIT 50""",
            [expression],
        ).fetchall()
        return time.perf_counter() - started


def time_command(arguments: list[str], repeats: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, *arguments], check=True, capture_output=True, cwd=ROOT)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def time_cold_cli(path: Path, repeats: int = 5) -> dict[str, tuple[float, float]]:
    """The cold CLI search, and as peers in the same run: a bare Python start, and a start
    that only imports the CLI module (typer, rich, sqlite_utils: what every command pays)."""
    return {
        "python -c pass": time_command(["-c", "pass"], repeats),
        "import livingmemory.cli": time_command(["-c", "import livingmemory.cli"], repeats),
        "livingmemory search Jesenice": time_command(
            ["-m", "livingmemory", "search", "Jesenice", "--archive", str(path)], repeats
        ),
    }


def precision_recall() -> dict[str, float]:
    from search_cases import CASES, SENTENCES, score

    from livingmemory.tagging.pipeline import tag_transcripts

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.db"
        init_archive(path)
        with open_archive(path) as archive:
            from support import insert_recording, insert_transcript

            rid = insert_recording(archive, title="Spomini iz Gorenjske")
            keys = list(SENTENCES)
            _, ids = insert_transcript(archive, rid, [SENTENCES[k] for k in keys])
            tag_transcripts(archive)
            segments = dict(zip(keys, ids, strict=True))
            found = {}
            for query in {q for q, _, _ in CASES}:
                got = {h.segment_id for h in search(archive, query, limit=200)}
                for q, key, _ in CASES:
                    if q == query:
                        found[(q, key)] = segments[key] in got
    return score(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="build the archives in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="lm-search-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"material: synthetic Slovenian oral-history text, {SEGMENTS_PER_HOUR} segments of "
          "~25 words per hour, 10% with a place tag")  # fmt: skip

    small = folder / "h1" / "archive.db"
    if not small.exists():
        build(small, 1)
    for label, (p50, p95) in time_cold_cli(small).items():
        print(f"cold {label!r} (1-hour archive): p50 {p50:.0f} ms, p95 {p95:.0f} ms")

    for hours in args.hours:
        path = folder / f"h{hours}" / "archive.db"
        if path.exists():
            figures = {"build_s": float("nan"), "size_mb": path.stat().st_size / 1e6}
        else:
            figures = build(path, hours)
        print(f"\n{hours} hours: {hours * SEGMENTS_PER_HOUR:,} segments, built in "
              f"{figures['build_s']:.0f} s, {figures['size_mb']:.0f} MB")  # fmt: skip
        for label, timer in (("in-process", time_in_process), ("Datasette JSON", time_datasette)):
            for kind, (p50, p95, hits) in timer(path, args.repeats).items():
                print(f"  {label:15s} {kind:9s} {QUERIES[kind]!r:16s} p50 {p50:7.1f} ms  "
                      f"p95 {p95:7.1f} ms  ({hits} hits)")  # fmt: skip
        for label, p50, p95, hits in time_filtered(path, max(5, args.repeats // 3)):
            print(f"  in-process      {label:32s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                  f"({hits} hits)")  # fmt: skip
        if hours <= 100:
            old = time_old_query(path, QUERIES["common"])
            new = time_in_process(path, 5)["common"][0] / 1000
            print(f"  previous search query, common word: {old * 1000:.0f} ms "
                  f"({old / new:.0f}x the new p50)")  # fmt: skip

    result = precision_recall()
    print(f"\nprecision/recall on tests/search_cases.py ({result['pairs']} query/text pairs): "
          f"precision {result['precision']:.2f}, recall {result['recall']:.2f} "
          f"({result['wrong_hits']} wrong hits, {result['misses']} misses)")  # fmt: skip


if __name__ == "__main__":
    main()
