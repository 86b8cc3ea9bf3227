"""Public-site benchmark: how long each page's database work takes on a large archive.

Builds a synthetic public database the size of an N-hour archive (default 10,000 hours:
recordings of 90 minutes, one transcript segment per 6 seconds, a place, topic or date
mentioned in about a third of them, places drawn Zipf-like from the gazetteer so a few are
mentioned very often), with the same schema, search index, indexes and ``browse`` table that
``livingmemory publish`` makes. Then times the functions each page calls
(:mod:`livingmemory.site.pages`), median of 5 runs, including the worst cases: the most
mentioned place, a word in every tenth segment, a 90-minute interview page.

Nothing here is a pass/fail test; it prints figures for the README.
Run: ``.venv/bin/python benchmarks/site_pages.py [--hours 10000] [--keep FILE]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from livingmemory.archive.sqlite import sqlite3
from livingmemory.site import pages as site_pages
from livingmemory.site.publish import _create_schema, _finish
from livingmemory.tagging.gazetteer import load_gazetteer

WORDS = (  # noqa: SIM905
    "potem smo šli domov mama oče brat sestra hiša vas polje gozd delo šola učitelj cerkev "
    "vlak postaja tovarna železarna kmetija krava seno žito vojna partizani nemci leto zima "
    "poletje praznik božič velika noč ples veselica gora planina koča pot cesta kolo avto "
    "je bilo hudo lepo težko veselo vsak dan zjutraj zvečer nikoli vedno včasih "
).split()
TOPICS = list(site_pages.topic_labels())
SEGMENT_SECONDS = 6.0
RECORDING_MINUTES = 90


def build(path: Path, hours: int, seed: int = 13) -> dict[str, int]:
    rng = random.Random(seed)
    places = [e.name for e in load_gazetteer() if e.lat is not None][:400]
    weights = [1 / (rank + 1) for rank in range(len(places))]
    db = sqlite_utils.Database(path, recreate=True)
    _create_schema(db)
    recordings = hours * 60 // RECORDING_MINUTES
    per_recording = int(RECORDING_MINUTES * 60 / SEGMENT_SECONDS)
    segment_id = entity_id = 0
    db.conn.execute("PRAGMA journal_mode = OFF")
    db.conn.execute("PRAGMA synchronous = OFF")
    for place_id, name in enumerate(places, 1):
        db.conn.execute(
            "INSERT INTO places (id, name, kind) VALUES (?, ?, 'place')", [place_id, name]
        )
    place_ids = {name: i for i, name in enumerate(places, 1)}
    for rid in range(1, recordings + 1):
        year = rng.randrange(1975, 2026)
        place = rng.choices(places, weights)[0]
        db.conn.execute(
            "INSERT INTO recordings (id, title, narrators, recorded_date, decade, place, language,"
            " duration, audio_url) VALUES (?, ?, ?, ?, ?, ?, 'sl', ?, ?)",
            [rid, f"Intervju {rid}", f"Pripovedovalec {rid}", str(year), f"{year // 10 * 10}s",
             place, RECORDING_MINUTES * 60.0, f"/-/audio/{rid:016x}.opus"],
        )  # fmt: skip
        db.conn.execute(
            "INSERT INTO people (id, name, birth_year, home_place) VALUES (?, ?, ?, ?)",
            [rid, f"Pripovedovalec {rid}", year - 80, rng.choices(places, weights)[0]],
        )
        db.conn.execute("INSERT INTO recording_people VALUES (?, ?, 'narrator')", [rid, rid])
        segments, entities = [], []
        for position in range(per_recording):
            segment_id += 1
            start = position * SEGMENT_SECONDS
            words = rng.choices(WORDS, k=rng.randrange(6, 16))
            roll = rng.random()
            if roll < 0.15:
                name = rng.choices(places, weights)[0]
                words.insert(rng.randrange(len(words)), f"v {name}")
                entity_id += 1
                entities.append((entity_id, rid, segment_id, "LOC", name, name, None, None,
                                 start + 1, place_ids[name]))  # fmt: skip
            elif roll < 0.25:
                topic = rng.choice(TOPICS)
                entity_id += 1
                entities.append((entity_id, rid, segment_id, "TOPIC", topic, topic, None, None,
                                 start + 1, None))  # fmt: skip
            elif roll < 0.32:
                year = rng.randrange(1920, 2000)
                words.insert(0, f"leta {year}")
                entity_id += 1
                entities.append((entity_id, rid, segment_id, "DATE", f"leta {year}", str(year),
                                 str(year), year // 10 * 10, start, None))  # fmt: skip
            text = " ".join(words).capitalize() + "."
            play = f"/-/audio/{rid:016x}.opus#t={start:g}"
            segments.append((segment_id, rid, start, start + SEGMENT_SECONDS, None, text,
                             text.lower().rstrip("."), 0, play))  # fmt: skip
        db.conn.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", segments)
        db.conn.executemany(
            "INSERT INTO entities (id, recording_id, segment_id, label, text, canonical, value,"
            " decade, start_seconds, place_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entities,
        )
    db.conn.commit()
    _finish(db)
    db.close()
    return {"recordings": recordings, "segments": segment_id, "entities": entity_id}


def timed(fn: Callable[[], object], runs: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="keep the synthetic database here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lm-site-bench-"))
    path = args.keep or folder / "public.db"
    began = time.perf_counter()
    sizes = build(path, args.hours)
    built = time.perf_counter() - began
    print(
        f"synthetic public database: {args.hours} h, {sizes['recordings']} recordings, "
        f"{sizes['segments']} segments, {sizes['entities']} mentions, "
        f"{path.stat().st_size / 2**20:.0f} MiB, built in {built:.0f} s"
    )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    top_place = site_pages.browse(conn, "place", 1)[0]["name"]
    middle = sizes["recordings"] // 2
    cases: list[tuple[str, Callable[[], object]]] = [
        ("home (newest + 6 browse lists)", lambda: (
            site_pages.newest(conn),
            [site_pages.browse(conn, k, 48) for k in
             ("place", "decade", "topic", "person", "organisation")],
        )),
        (f"interview page ({RECORDING_MINUTES} min, chips)",
         lambda: site_pages.interview(conn, middle)),
        ("find in interview: 'mama' (common)",
         lambda: site_pages.find_in_interview(conn, middle, "mama")),
        (f"place page: most mentioned ({top_place})",
         lambda: site_pages.entity_page(conn, "LOC", top_place)),
        ("topic page: war", lambda: site_pages.entity_page(conn, "TOPIC", "war")),
        ("decade page: 1950s", lambda: site_pages.decade_page(conn, 1950)),
        ("person page (narrator)",
         lambda: site_pages.entity_page(conn, "PER", f"Pripovedovalec {middle}")),
        ("search 'mama' (common word)",
         lambda: site_pages.search_page(conn, "mama", {})),
        ("search 'v Kranju' + place filter",
         lambda: site_pages.search_page(conn, "v Kranju", {"place": top_place})),
        ("search 'mama' page 20 (offset 950)",
         lambda: site_pages.search_page(conn, "mama", {}, offset=950)),
        ("search filter values", lambda: site_pages.filter_options(conn)),
    ]  # fmt: skip
    print("| page | median ms (5 runs) |")
    print("|---|---:|")
    for name, fn in cases:
        ms, _ = timed(fn)
        print(f"| {name} | {ms:.1f} |")
    conn.close()
    if not args.keep:
        path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
