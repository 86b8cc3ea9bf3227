"""Search precision, metadata and tag hits, filters, and one search everywhere (issue 12).

The precision set (tests/search_cases.py) is tagged with the real Slovenian pipeline, as an
archive would be; every true hit must be found and no trap may be.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from search_cases import CASES, SENTENCES, score
from support import insert_recording, insert_transcript, run_cli

from livingmemory.archive.store import init_archive, open_archive, utc_now
from livingmemory.search import MATCH_KINDS, search
from livingmemory.tagging.pipeline import tag_transcripts

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quality(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("quality") / "archive"
    db_path = folder / "archive.db"
    init_archive(db_path)
    with open_archive(db_path) as archive:
        rid = insert_recording(archive, title="Spomini iz Gorenjske", narrators=["Ana Kos"])
        keys = list(SENTENCES)
        _, ids = insert_transcript(archive, rid, [SENTENCES[k] for k in keys])
        tag_transcripts(archive)
    return {"db": db_path, "segments": dict(zip(keys, ids, strict=True))}


def found_pairs(db: Path, segments: dict[str, int]) -> dict[tuple[str, str], bool]:
    found = {}
    with open_archive(db) as archive:
        for query in {q for q, _, _ in CASES}:
            ids = {h.segment_id for h in search(archive, query, limit=200)}
            for q, key, _ in CASES:
                if q == query:
                    found[(q, key)] = segments[key] in ids
    return found


def test_precision_set_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert sum(1 for *_, want in CASES if not want) >= 15  # traps


# lemmagen leaves lower-case "jeseni" (in autumn) as it is, so "jesen" misses it: a known
# gap of the lemmatiser, counted in the benchmark's recall, not hidden here.
KNOWN_MISSES = {("jesen", "jesen_1"), ("jesen", "jesen_2")}


@pytest.mark.parametrize(
    ("query", "key", "wanted"),
    [
        pytest.param(*case, marks=pytest.mark.xfail(strict=True, reason="lemmagen: jeseni"))
        if case[:2] in KNOWN_MISSES
        else case
        for case in CASES
    ],
)
def test_precision_pair(quality: dict[str, Any], query: str, key: str, wanted: bool) -> None:
    with open_archive(quality["db"]) as archive:
        ids = {h.segment_id for h in search(archive, query, limit=200)}
    assert (quality["segments"][key] in ids) == wanted, (query, SENTENCES[key])


def test_precision_and_recall(quality: dict[str, Any]) -> None:
    result = score(found_pairs(quality["db"], quality["segments"]))
    assert result["precision"] == 1.0, result  # no trap is ever found
    assert result["misses"] == len(KNOWN_MISSES), result


# -- metadata, tags, ranking -----------------------------------------------------------------


@pytest.fixture()
def catalogue(archive_db: Path) -> dict[str, Any]:
    """Three recordings: one titled and recorded in Jesenice (its text never says it), one
    whose text Whisper mangled but a person tagged, one in Kranj."""
    with open_archive(archive_db) as archive:
        db = archive.db
        jes = insert_recording(archive, title="Na Jesenicah po vojni", narrators=["Janez Novak"])
        db["recordings"].update(jes, {"place": "Jesenice", "recorded_date": "1987-05"})
        insert_transcript(archive, jes, ["Delali smo v treh izmenah.", "Hrana je bila slaba."])
        tagged = insert_recording(archive, title="Pri stari mami", narrators=["Marija Kos"],
                                  language="sl")  # fmt: skip
        db["recordings"].update(tagged, {"place": "Kranj", "recorded_date": "2003"})
        _, [mangled, fuzzy, said, story] = insert_transcript(
            archive,
            tagged,
            ["Potem sva šla na jese nitsa k teti.", "Pa v jesenitse smo hodili.",
             "Na Jesenicah je bilo veliko dela.", "Leta 1952 smo dobili elektriko."],
        )  # fmt: skip
        db["segments"].update(said, {"speaker": "Pripovedovalka"})
        tag_transcripts(archive)  # lemmas, as in a real archive; then tags a person added
        now = utc_now()
        for segment, method, confidence in ((mangled, None, 1.0), (fuzzy, "fuzzy", 0.4)):
            db.execute("DELETE FROM entities WHERE segment_id = ?", [segment])
            db["entities"].insert(
                {"recording_id": tagged, "segment_id": segment, "label": "LOC",
                 "text": "jese nitsa", "canonical": "Jesenice", "method": method,
                 "confidence": confidence, "source": "human" if method is None else "machine",
                 "start_seconds": 0.0},
            )  # fmt: skip
        db.execute("DELETE FROM entities WHERE segment_id = ?", [story])
        db["entities"].insert(
            {"recording_id": tagged, "segment_id": story, "label": "DATE", "text": "Leta 1952",
             "canonical": "1952", "value": "1952", "decade": 1950, "start_seconds": 15.0,
             "source": "machine", "method": "rule", "confidence": 0.75}
        )  # fmt: skip
        en = insert_recording(archive, title="Leaving Bohinj", language="en")
        insert_transcript(archive, en, ["We lived near Jesenice before the war."], language="en")
        _ = now
    return {"db": archive_db, "jes": jes, "tagged": tagged, "en": en, "mangled": mangled,
            "fuzzy": fuzzy, "said": said, "story": story}  # fmt: skip


def test_title_place_narrator_tag_hits_rank_first(catalogue: dict[str, Any]) -> None:
    with open_archive(catalogue["db"]) as archive:
        hits = search(archive, "Jesenice")
        assert {h.matched for h in hits} <= set(MATCH_KINDS)
        kinds = [(h.matched, h.recording_id, h.segment_id) for h in hits]
        assert kinds[0] == ("title", catalogue["jes"], None)
        assert ("tag", catalogue["tagged"], catalogue["mangled"]) in kinds
        assert kinds[-1] == ("approximate", catalogue["tagged"], catalogue["fuzzy"])
        order = [MATCH_KINDS.index(k) for k, _, _ in kinds]
        assert order == sorted(order)
        # The title hit marks the inflected word; a tag hit names its tag.
        assert "[Jesenicah]" in hits[0].snippet
        tag_hit = next(h for h in hits if h.matched == "tag")
        assert tag_hit.tags == ("Jesenice",)
        for query in ("na Jesenicah", "jesenice", "JESENICE"):
            assert [(h.matched, h.segment_id) for h in search(archive, query)][:2] == [
                ("title", None),
                ("tag", catalogue["mangled"]),
            ], query
        places = search(archive, "Kranj")
        assert [(h.matched, h.recording_id) for h in places] == [("place", catalogue["tagged"])]
        assert [h.matched for h in search(archive, "Novak")] == ["narrator"]
        assert [h.matched for h in search(archive, "Janeza Novaka")] == ["narrator"]


def test_metadata_changes_are_found_at_once(catalogue: dict[str, Any]) -> None:
    with open_archive(catalogue["db"]) as archive:
        assert search(archive, "Radovljica") == []
        archive.db["recordings"].update(catalogue["en"], {"title": "Iz Radovljice v svet"})
        [hit] = search(archive, "Radovljica")
        assert (hit.matched, hit.recording_id) == ("title", catalogue["en"])
        assert search(archive, "Bohinj") == []  # the old title is gone from the index


def test_filters(catalogue: dict[str, Any]) -> None:
    c = catalogue
    with open_archive(c["db"]) as archive:

        def ids(**filters: Any) -> set[tuple[int, int | None]]:
            return {(h.recording_id, h.segment_id) for h in search(archive, "Jesenice", **filters)}

        everything = ids()
        assert {r for r, _ in everything} == {c["jes"], c["tagged"], c["en"]}
        assert {r for r, _ in ids(narrator="novak")} == {c["jes"]}
        assert {r for r, _ in ids(narrator="Marija")} == {c["tagged"]}
        assert {r for r, _ in ids(place="Kranju")} == {c["tagged"]}
        assert {r for r, _ in ids(decade="1980s")} == {c["jes"]}
        assert {r for r, _ in ids(decade=2000)} == {c["tagged"]}
        assert {r for r, _ in ids(language="en")} == {c["en"]}
        assert {r for r, _ in ids(recording_id=c["tagged"])} == {c["tagged"]}
        assert ids(speaker="pripovedovalka") == {(c["tagged"], c["said"])}
        assert ids(narrator="nobody") == set()
    with open_archive(c["db"]) as archive:
        story = search(archive, "elektriko", story_decade="1950s")
        assert [h.segment_id for h in story] == [c["story"]]
        assert search(archive, "elektriko", story_decade=1960) == []
        assert search(archive, "jesenitse", story_decade=1950) == []  # said before any date


def test_paging_is_stable(catalogue: dict[str, Any]) -> None:
    with open_archive(catalogue["db"]) as archive:
        every = search(archive, "Jesenice")
        pages = [search(archive, "Jesenice", limit=2, offset=o) for o in range(0, len(every), 2)]
    assert [h for page in pages for h in page] == every


def test_json_output_has_what_a_site_needs(catalogue: dict[str, Any]) -> None:
    result = run_cli("search", "Jesenice", "--archive", catalogue["db"], "--json",
                     "--narrator", "Marija")  # fmt: skip
    assert result.exit_code == 0, str(result)
    hits = json.loads(result.stdout)
    assert hits and all(h["recording_id"] == catalogue["tagged"] for h in hits)
    hit = hits[0]
    for key in ("recording_id", "title", "narrators", "start", "end", "link", "matched"):
        assert key in hit
    assert hit["narrators"] == "Marija Kos"
    assert hit["link"].startswith("/-/audio/") and "#t=" in hit["link"]
    bad = run_cli("search", "Jesenice", "--archive", catalogue["db"], "--decade", "abc")
    assert bad.exit_code == 1 and bad.exception is None and "decade" in bad.stderr


# -- one search everywhere -------------------------------------------------------------------


def test_cli_canned_query_and_table_box_agree(catalogue: dict[str, Any]) -> None:
    from datasette.app import Datasette

    template = ROOT / "livingmemory" / "templates" / "metadata.yml"
    canned = yaml.safe_load(template.read_text())["databases"]["public"]["queries"]
    metadata = {"databases": {"archive": {"queries": {"search": canned["search_transcripts"]}}}}
    ds = Datasette([str(catalogue["db"])], metadata=metadata)

    def get(path: str, **params: str) -> list[dict[str, Any]]:
        async def fetch() -> httpx.Response:
            return await ds.client.get(path, params={**params, "_shape": "array"})

        import asyncio

        response = asyncio.run(fetch())
        assert response.status_code == 200, response.text[:500]
        return response.json()

    for query in ("Jesenice", "na Jesenicah", "Delali", "Bohinju", "dela"):
        cli = run_cli("search", query, "--archive", catalogue["db"], "--json", "--limit", "500")
        cli_hits = json.loads(cli.stdout)
        segment_ids = {h["segment_id"] for h in cli_hits if h["segment_id"] is not None}
        with open_archive(catalogue["db"]) as archive:
            assert [h.to_dict() for h in search(archive, query, limit=500)] == cli_hits
        canned_hits = get("/archive/search.json", q=query)
        from_canned = [
            (h["recording_id"], h["matched"].split(" / ")[1], h["start"]) for h in canned_hits
        ]
        assert (
            from_canned == [(h["recording_id"], h["matched"], h["start"]) for h in cli_hits][:100]
        )
        box = get("/archive/segments.json", _search=query, _size="max")
        assert {row["id"] for row in box} == segment_ids, query


def test_search_imports_no_spacy_or_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import livingmemory.search"],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    modules = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
               if line.startswith("import time:")}  # fmt: skip
    assert "livingmemory" in modules
    assert not {"spacy", "torch", "thinc", "faster_whisper", "ctranslate2"} & modules
