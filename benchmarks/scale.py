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
* ``livingmemory.site.publish.publish`` of the whole archive (every recording public), then again
  after one recording's transcript changed (incremental: only that recording is rewritten),
  and after one recording was made restricted (incremental too; FTS5 secure-delete takes
  the withdrawn text's words out of the full-text index, or, on a SQLite older than 3.42,
  the index is rewritten so no token of it stays);
* on the published database, served in-process by Datasette with the package's plug-in (the
  ASGI client, no network): the same searches through the ``search_transcripts`` canned
  query's JSON, and the public site's pages (home, an interview, the most mentioned place's
  page, search results for a common word), p50/p95 over ``--repeat`` requests each.

The ratio per tenfold (1,000 h / 100 h) is printed for each figure.

Usage::

    .venv/bin/python benchmarks/scale.py                     # 100 and 1,000 hours
    .venv/bin/python benchmarks/scale.py --sizes 100,1000,10000 --keep /tmp/scale
    .venv/bin/python benchmarks/scale.py --sizes 10000 --keep /tmp/scale --build-only  # first
    .venv/bin/python benchmarks/scale.py --sizes 100,1000,10000 --keep /tmp/scale --reuse
    .venv/bin/python benchmarks/scale.py --sizes 10000 --keep /tmp/scale --reuse --publish-only
    .venv/bin/python benchmarks/scale.py --sizes 10000 --keep /tmp/scale --reuse --publish-only \
        --reuse-public   # the incremental figures again, without the full publish

10,000 hours took 17 minutes to build and 24 to publish in full (10,000 public audio copies
included, two at a time) on a 2-core machine shared with a test run (about 2.7 GB for the
archive and 2.5 GB for the public database, in ``--keep`` or the temporary folder).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from livingmemory.archive.sqlite import sqlite3

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
    from livingmemory.archive.store import init_archive

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
    from livingmemory.archive.store import open_archive
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


def _datasette(public_db: Path, archive_root: Path) -> Any:
    """Datasette serving ``public_db`` as ``livingmemory serve`` does, with this checkout's
    plug-in registered directly (not through the installed entry point)."""
    sys._called_from_test = True  # type: ignore[attr-defined]  # datasette: no entry points
    from datasette.app import Datasette
    from datasette.plugins import pm

    from livingmemory.archive.store import open_archive
    from livingmemory.site import plugin
    from livingmemory.site.serve import site_metadata

    if not pm.is_registered(plugin):
        pm.register(plugin, "livingmemory")
    with open_archive(archive_root / "archive.db") as archive:
        metadata = site_metadata(archive)
    return Datasette(immutables=[str(public_db)], metadata=metadata)


def measure_site(
    public_db: Path, archive_root: Path, words: dict[str, list[str]], repeat: int
) -> dict[str, Any]:
    """Search through Datasette's JSON API and the public site's pages, p50/p95 ms."""
    import asyncio
    from urllib.parse import quote

    ds = _datasette(public_db, archive_root)
    conn = sqlite3.connect(f"file:{public_db}?mode=ro", uri=True)
    try:
        top_place = conn.execute(
            "SELECT name FROM browse WHERE kind = 'place' ORDER BY mentions DESC LIMIT 1"
        ).fetchone()[0]
        middle = conn.execute("SELECT id FROM recordings ORDER BY id LIMIT 1 OFFSET "
                              "(SELECT count(*) / 2 FROM recordings)").fetchone()[0]  # fmt: skip
    finally:
        conn.close()
    common = words["common"][0]
    pages = {
        "home": "/",
        "interview": f"/intervju/{middle}",
        "place": f"/kraj/{quote(top_place, safe='')}",
        "search page": f"/iskanje?q={quote(common)}",
    }

    async def timed(url: str) -> tuple[list[float], int, int]:
        response = await ds.client.get(url)  # warm: first request, templates, caches
        times = []
        for _ in range(repeat):
            clock = time.perf_counter()
            response = await ds.client.get(url)
            times.append(1000 * (time.perf_counter() - clock))
        return times, response.status_code, len(response.content)

    async def run() -> dict[str, Any]:
        await ds.invoke_startup()
        found: dict[str, Any] = {"datasette": {}, "pages": {}}
        for kind, terms in words.items():
            times: list[float] = []
            hits = {}
            for term in terms:
                url = f"/public/search_transcripts.json?q={quote(term)}&_shape=array"
                samples, status, _ = await timed(url)
                assert status == 200, (url, status)
                times += samples
                hits[term] = len((await ds.client.get(url)).json())
            found["datasette"][kind] = {
                "p50_ms": statistics.median(times),
                "p95_ms": percentile(times, 0.95),
                "hits": hits,
            }
        for name, url in pages.items():
            samples, status, size = await timed(url)
            assert status == 200, (url, status)
            found["pages"][name] = {
                "p50_ms": statistics.median(samples),
                "p95_ms": percentile(samples, 0.95),
                "url": url,
                "kb": size / 1000,
            }
        return found

    return asyncio.run(run())


def measure_publish(database: Path, full_publish: bool = True) -> dict[str, float]:
    from livingmemory.archive.store import open_archive
    from livingmemory.site.publish import publish

    with open_archive(database) as archive:
        clock = time.monotonic()
        # From scratch, even over a kept archive; or (``--reuse-public``) bring the kept
        # public database up to date, which an earlier run published in full.
        result = publish(archive, full=full_publish)
        full = time.monotonic() - clock if full_publish else float("nan")
        # The floor of an incremental publish: it copies the previous file before changing it.
        spare = result.database.with_name(".scale-copy.db")
        clock = time.monotonic()
        shutil.copyfile(result.database, spare)
        copy = time.monotonic() - clock
        spare.unlink()
        with archive.db.atomic():
            archive.db.execute(
                "UPDATE segments SET text = text || ' (popravek)' WHERE recording_id = 1 "
                "AND position = 0"
            )
        clock = time.monotonic()
        changed = publish(archive)
        again = time.monotonic() - clock
        assert changed.incremental and changed.rewritten == [1], changed.rewritten
        last = max(result.recordings)
        with archive.db.atomic():
            archive.db.execute("UPDATE recordings SET access = 'restricted' WHERE id = ?", [last])
        clock = time.monotonic()
        withdrawn = publish(archive)
        withdraw = time.monotonic() - clock
        assert withdrawn.incremental and last not in withdrawn.recordings
        with archive.db.atomic():  # as it was, for the site measurements
            archive.db.execute("UPDATE recordings SET access = 'public' WHERE id = ?", [last])
        clock = time.monotonic()
        publish(archive)
        restore = time.monotonic() - clock
        # The same withdrawal as the CLI and the workspace make it now (live.publish_due): at
        # once, only it; timed to the commit (the site shows it) and to publish's return.
        from livingmemory.site.live import due
        from livingmemory.site.publish import COMMITTED

        with archive.db.atomic():
            archive.db.execute("UPDATE recordings SET access = 'restricted' WHERE id = ?", [last])
        visible: list[float] = []

        def mark(share: float, message: str) -> None:
            if message == COMMITTED:
                visible.append(time.monotonic() - clock)

        clock = time.monotonic()
        at_once = publish(archive, only=due(archive), progress=mark)
        withdraw_due = time.monotonic() - clock
        assert at_once.removed == [last] and visible, at_once
        with archive.db.atomic():
            archive.db.execute("UPDATE recordings SET access = 'public' WHERE id = ?", [last])
        publish(archive)
    size = result.database.stat().st_size / 1e6
    return {
        "publish_full_s": full,
        "publish_after_change_s": again,
        "publish_after_withdrawal_s": withdraw,
        "publish_after_restore_s": restore,
        "withdrawal_at_once_s": withdraw_due,
        "withdrawal_visible_s": visible[0],
        "copy_public_db_s": copy,
        "public_mb": size,
    }


def measure_index_purge(public_db: Path, recording_id: int) -> dict[str, float]:
    """Taking one recording's words out of the public full-text index, both ways, on two
    copies of the same public database: FTS5 secure-delete (the delete's commit does it)
    against a plain delete followed by a rewrite of the whole index (what a SQLite older
    than 3.42 needs)."""
    from livingmemory.archive.sqlite import FTS5_SECURE_DELETE, sqlite3

    figures: dict[str, float] = {}
    for secure in (True, False):
        if secure and not FTS5_SECURE_DELETE:
            continue
        copy = public_db.with_name(".scale-purge.db")
        shutil.copyfile(public_db, copy)
        try:
            conn = sqlite3.connect(copy, isolation_level=None)
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute(
                "INSERT INTO segments_fts (segments_fts, rank) VALUES ('secure-delete', ?)",
                [int(secure)],
            )
            clock = time.monotonic()
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO segments_fts (segments_fts, rowid, text, lemmas, tags, tags_loose) "
                "SELECT 'delete', id, text, lemmas, tags, tags_loose FROM segments "
                "WHERE recording_id = ?",
                [recording_id],
            )
            conn.execute("DELETE FROM segments WHERE recording_id = ?", [recording_id])
            conn.execute("COMMIT")
            deleted = time.monotonic() - clock
            if not secure:
                conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('optimize')")
            figures["purge_secure_s" if secure else "purge_rewrite_s"] = time.monotonic() - clock
            figures["delete_plain_s" if not secure else "delete_secure_s"] = deleted
            conn.close()
        finally:
            for leftover in (copy, Path(f"{copy}-journal")):
                leftover.unlink(missing_ok=True)
    return figures


def _pair(figure: dict[str, Any] | None) -> str:
    return f"{figure['p50_ms']:.1f} / {figure['p95_ms']:.1f}" if figure else "-"


def _ratio(large: float | None, small: float | None) -> str:
    if not large or not small or large != large or small != small:  # missing or NaN
        return "-"
    return f"{large / small:.1f}x"


def render(rows: list[dict[str, Any]], source: str, words: dict[str, list[str]]) -> str:
    """Markdown tables: sizes, search, pages, publish, and the growth per tenfold."""
    site = [r.get("site") or {"datasette": {}, "pages": {}} for r in rows]
    pages = list(site[0]["pages"]) if site and site[0]["pages"] else []
    out = [
        f"Vocabulary: {source}. Queries: "
        + "; ".join(f"{kind}: {', '.join(terms)}" for kind, terms in words.items()),
        "",
        "| hours | recordings | segments | entities | archive MB | public MB | build s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['hours']:,} | {r['recordings']:,} | {r['segments']:,} | {r['entities']:,} | "
            f"{r['size_mb']:.0f} | {r.get('public_mb', float('nan')):.0f} | {r['build_s']:.0f} |"
        )
    out += [
        "",
        "Search, p50 / p95 ms (in-process `search()`; Datasette `search_transcripts` JSON):",
        "",
    ]
    out += ["| hours | " + " | ".join(f"{k} in-process" for k in words) + " | "
            + " | ".join(f"{k} Datasette" for k in words) + " |"]  # fmt: skip
    out += ["|---:|" + "---:|" * (2 * len(words))]
    for r, x in zip(rows, site, strict=True):
        out.append(
            f"| {r['hours']:,} | "
            + " | ".join(_pair(r["search"][k]) for k in words)
            + " | "
            + " | ".join(_pair(x["datasette"].get(k)) for k in words)
            + " |"
        )
    if pages:
        out += ["", "Public site pages through Datasette, p50 / p95 ms:", ""]
        out += ["| hours | " + " | ".join(pages) + " |", "|---:|" + "---:|" * len(pages)]
        for r, x in zip(rows, site, strict=True):
            out.append(
                f"| {r['hours']:,} | " + " | ".join(_pair(x["pages"].get(n)) for n in pages) + " |"
            )
    out += ["", "Publish, seconds:", ""]
    out += ["| hours | full | after one changed recording | after one made restricted | "
            "one withdrawal at once: visible / returned | copying public.db once (peer: what "
            "an incremental publish by copy and rename paid before the rest) |",
            "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        out.append(
            f"| {r['hours']:,} | {r['publish_full_s']:.1f} | {r['publish_after_change_s']:.1f} | "
            f"{r.get('publish_after_withdrawal_s', float('nan')):.2f} | "
            f"{r.get('withdrawal_visible_s', float('nan')):.2f} / "
            f"{r.get('withdrawal_at_once_s', float('nan')):.2f} | "
            f"{r.get('copy_public_db_s', float('nan')):.2f} |"
        )
    out += [
        "",
        "Taking one recording's words out of the public full-text index (a copy of "
        "public.db), seconds: FTS5 secure-delete / plain delete + rewriting the index:",
        "",
    ]
    out += [f"- {r['hours']:,} h: {r.get('purge_secure_s', float('nan')):.2f} / "
            f"{r.get('delete_plain_s', float('nan')):.2f} + "
            f"{r.get('purge_rewrite_s', float('nan')) - r.get('delete_plain_s', float('nan')):.2f}"
            for r in rows]  # fmt: skip
    pairs = [(a, b, x, y) for (a, x), (b, y) in itertools.pairwise(zip(rows, site, strict=True))
             if b["hours"] == 10 * a["hours"]]  # fmt: skip
    if pairs:
        out += [
            "",
            "Growth per tenfold (each size over the one ten times smaller), of p95 and seconds:",
        ]
        heads = ["segments", *(f"search {k}" for k in words), *(f"Datasette {k}" for k in words),
                 *pages, "publish full", "after one change", "after one restricted"]  # fmt: skip
        out += ["", "| sizes | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
        for small, large, xs, xl in pairs:
            cells = [f"{large['segments'] / small['segments']:.1f}x"]
            cells += [_ratio((large["search"][k] or {}).get("p95_ms"),
                             (small["search"][k] or {}).get("p95_ms"))
                      for k in words]  # fmt: skip
            for group, names in (("datasette", list(words)), ("pages", pages)):
                cells += [
                    _ratio(
                        (xl[group].get(n) or {}).get("p95_ms"),
                        (xs[group].get(n) or {}).get("p95_ms"),
                    )
                    for n in names
                ]
            for key in ("publish_full_s", "publish_after_change_s", "publish_after_withdrawal_s"):
                cells.append(_ratio(large.get(key), small.get(key)))
            out.append(
                f"| {small['hours']:,} -> {large['hours']:,} h | " + " | ".join(cells) + " |"
            )
    out += ["", "Hits per query: " + "; ".join(
        f"{r['hours']} h: " + ", ".join(
            f"{t} {n}" for k in words for t, n in (r["search"][k] or {"hits": {}})["hits"].items()
        ) for r in rows
    )]  # fmt: skip
    if pages:
        out += ["Pages: " + ", ".join(f"{n} {x['pages'][n]['url']} ({x['pages'][n]['kb']:.0f} kB)"
                                      for n in pages for x in site[-1:])]  # fmt: skip
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
    parser.add_argument(
        "--publish-only", action="store_true", help="measure publishing only (no searches, pages)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--reuse-public",
        action="store_true",
        help="with --reuse: skip the full publish where a kept public database exists",
    )
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
            row["search"] = (
                dict.fromkeys(words)
                if args.publish_only
                else measure_search(folder / "archive.db", words, args.repeat)
            )
            if not args.no_publish:
                log("  publishing")
                row |= measure_publish(
                    folder / "archive.db",
                    full_publish=not (args.reuse_public and (folder / "public").is_dir()),
                )
                row |= measure_index_purge(folder / "public" / "public.db", row["recordings"] // 2)
                if not args.publish_only:
                    log("  Datasette and the site's pages")
                    row["site"] = measure_site(
                        folder / "public" / "public.db", folder, words, args.repeat
                    )
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
