"""The interview index people write (issue 25): points with revisions, the CLI, machine
drafts, the public table and page (Kazalo), search, OHMS round trips, and browse and search
agreeing on a place's interviews."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import add_json, db_rows, insert_recording, insert_transcript, run_cli, tone_files

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.errors import LivingMemoryError
from livingmemory.formats import parse_ohms
from livingmemory.formats._core import TranscriptDocument
from livingmemory.formats.exports import export_recording
from livingmemory.formats.ohms import ohms_xml
from livingmemory.review import index_points as ix
from livingmemory.search import place_recordings, search

OHMS_SAMPLE = Path(__file__).parent / "data" / "ohms_index_hyperlinks_example.xml"


@pytest.fixture
def recording(archive_db: Path) -> int:
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title="Spomini", narrators=["Ana Novak"])
        insert_transcript(
            archive,
            recording_id,
            ["Rodila sem se v Kranju.", "Oče je delal v železarni.", "Potem je prišla vojna."],
            starts=[0.0, 60.0, 200.0],
        )
    return recording_id


def cli(archive_db: Path, *args: object) -> Any:
    return run_cli("index", *args, "--archive", archive_db)


def test_cli_add_list_edit_remove_keeps_every_revision(archive_db: Path, recording: int) -> None:
    link = "https://sl.wikipedia.org/wiki/Kranj Kranj na Wikipediji"
    added = cli(archive_db, recording, "add", "--at", "1:05", "--title", "Otroštvo v Kranju",
                "--synopsis", "Šola in dom.", "--keywords", "šola, dom", "--place", "Kranj",
                "--link", link, "--json")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    point = json.loads(added.stdout)[0]
    assert point["at"] == 65.0 and point["status"] == "accepted" and point["source"] == "volunteer"
    assert point["keywords"] == ["šola", "dom"]
    assert point["lat"] == pytest.approx(46.24, abs=0.05)  # Kranj from the gazetteer
    assert point["links"] == [{"url": "https://sl.wikipedia.org/wiki/Kranj",
                               "label": "Kranj na Wikipediji"}]  # fmt: skip
    edited = cli(archive_db, recording, "edit", point["id"], "--title", "Otroštvo", "--lat",
                 "46.3", "--lon", "14.1", "--note", "krajši naslov")  # fmt: skip
    assert edited.exit_code == 0, edited.stderr
    listed = cli(archive_db, recording, "list", "--json")
    assert [p["title"] for p in json.loads(listed.stdout)] == ["Otroštvo"]
    assert json.loads(listed.stdout)[0]["lat"] == 46.3  # typed coordinates win
    assert cli(archive_db, recording, "remove", point["id"]).exit_code == 0
    assert json.loads(cli(archive_db, recording, "list", "--json").stdout) == []
    history = json.loads(cli(archive_db, recording, "history", point["id"], "--json").stdout)
    assert [h["action"] for h in history] == ["add", "edit", "remove"]
    assert history[1]["old"]["title"] == "Otroštvo v Kranju" and history[1]["new"]["title"] == (
        "Otroštvo"
    )
    assert history[1]["note"] == "krajši naslov" and all(h["created_at"] for h in history)
    assert history[2]["new"] is None and history[2]["old"]["title"] == "Otroštvo"
    # The recording's history (the 'revisions' command, the workspace page) lists them too.
    rows = json.loads(run_cli("revisions", recording, "--archive", archive_db, "--json").stdout)
    assert [r["what"] for r in rows] == ["index remove", "index edit", "index add"]
    assert rows[1]["old"] == "Otroštvo v Kranju" and rows[1]["new"] == "Otroštvo"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--at", "99999", "--title", "x"], "past the end"),
        (["add", "--at", "10", "--title", "  "], "needs a title"),
        (["add", "--at", "10", "--title", "x", "--link", "javascript:alert(1)"], "http"),
        (["add", "--at", "ab", "--title", "x"], "not a time"),
        (["add", "--at", "10", "--title", "x", "--lat", "46"], "both latitude"),
        (["edit", "999", "--title", "x"], "no index point #999"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    archive_db: Path, recording: int, args: list[str], message: str
) -> None:
    before = db_rows(archive_db, "SELECT count(*) AS n FROM index_point_revisions")
    result = cli(archive_db, recording, *args)
    assert result.exit_code != 0 and result.exception is None
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert db_rows(archive_db, "SELECT count(*) AS n FROM index_point_revisions") == before


def test_point_of_another_recording_is_refused(archive_db: Path, recording: int) -> None:
    with open_archive(archive_db) as archive:
        other = insert_recording(archive, title="Drugi")
        point = ix.add_point(archive, other, at=1, title="Tuja točka")
    result = cli(archive_db, recording, "remove", point["id"])
    assert result.exit_code == 1 and "another recording" in result.stderr
    assert db_rows(archive_db, "SELECT count(*) AS n FROM index_points")[0]["n"] == 1


def test_machine_suggestions_are_drafts_until_accepted(archive_db: Path) -> None:
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title="Teme")
        _, segments = insert_transcript(
            archive, recording_id, ["Delal sem v tovarni.", "Nato se je začela vojna."],
            starts=[0.0, 300.0],
        )  # fmt: skip
        for segment_id, (start, topic) in zip(segments, [(0.0, "work"), (300.0, "war")],
                                              strict=True):  # fmt: skip
            archive.db["entities"].insert(
                {"recording_id": recording_id, "segment_id": segment_id, "label": "TOPIC",
                 "text": topic, "canonical": topic, "start_seconds": start,
                 "source": "machine", "confidence": 0.9}
            )  # fmt: skip
        drafts = ix.suggest_points(archive, recording_id, author="stroj")
        assert [(d["at"], d["status"], d["source"]) for d in drafts] == [
            (0.0, "draft", "machine"), (300.0, "draft", "machine")
        ]  # fmt: skip
        assert drafts[1]["subjects"] == ["war"]
        assert ix.suggest_points(archive, recording_id) == []  # not suggested twice
        accepted = ix.accept_point(archive, drafts[1]["id"], author="Marija")
        assert accepted["status"] == "accepted" and accepted["updated_by"] == "Marija"
        from livingmemory.archive.access import public_index_points

        assert [p["at"] for p in public_index_points(archive, recording_id)] == [300.0]
        actions = [h["action"] for h in ix.point_history(archive, drafts[1]["id"])]
        assert actions == ["add", "accept"]


def test_public_index_leaves_out_drafts_redactions_and_redacted_words(
    archive_db: Path, recording: int
) -> None:
    from livingmemory.archive.access import public_index_points

    with open_archive(archive_db) as archive:
        archive.db.execute(
            "INSERT INTO redactions (recording_id, start, end, reason, added_at) "
            "VALUES (?, 55, 70, 'zasebno', '2024-01-01')",
            [recording],
        )
        ix.add_point(archive, recording, at=1, title="Začetek",
                     partial_transcript="Rodila sem se v Kranju.")  # fmt: skip
        ix.add_point(archive, recording, at=61, title="V redakciji")
        ix.add_point(archive, recording, at=200, title="Vojna",
                     partial_transcript="oče v železarni, potem vojna")  # fmt: skip
        ix.add_point(archive, recording, at=210, title="Osnutek", draft=True)
        points = public_index_points(archive, recording)
    assert [p["title"] for p in points] == ["Začetek", "Vojna"]
    assert points[0]["partial_transcript"] == "Rodila sem se v Kranju."
    assert points[1]["partial_transcript"] is None  # "železarni" is said only when redacted


# -- OHMS ------------------------------------------------------------------------------------


def test_ohms_sample_from_ohms_round_trips(archive_db: Path, recording: int) -> None:
    """OHMS's own export (tests/data, with its origin) comes in with every index field and
    goes out again the same: times, titles, partial transcripts, 34 keywords, three links."""
    sample = parse_ohms(OHMS_SAMPLE.read_text("utf-8"))
    assert len(sample["index_points"]) == 2
    with open_archive(archive_db) as archive:
        archive.db.execute("UPDATE recordings SET access = 'public' WHERE id = ?", [recording])
        imported = ix.import_ohms(archive, recording, OHMS_SAMPLE, author="uvoz")
        assert [p["at"] for p in imported] == [1.0, 3473.0]
        assert len(imported[1]["keywords"]) == 34 and len(imported[1]["links"]) == 3
        exported = parse_ohms(export_recording(archive, recording, "ohms"))
    for got, sent in zip(exported["index_points"], sample["index_points"], strict=True):
        for key in ("time", "title", "partial_transcript", "synopsis", "keywords", "subjects",
                    "links"):  # fmt: skip
            assert got[key] == sent[key], key
    # And our writer's own XML keeps every <hyperlinks> apart, as OHMS writes them.
    again = parse_ohms(ohms_xml({"title": "x"}, TranscriptDocument([]), sample["index_points"]))
    assert again["index_points"] == sample["index_points"]


def test_ohms_import_of_a_bad_file_changes_nothing(
    archive_db: Path, recording: int, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        OHMS_SAMPLE.read_text("utf-8").replace("<time>3473</time>", "<time>99999</time>")
    )
    result = cli(archive_db, recording, "import", bad)
    assert result.exit_code == 1 and "index point 2" in result.stderr
    assert db_rows(archive_db, "SELECT count(*) AS n FROM index_points")[0]["n"] == 0


# -- search ----------------------------------------------------------------------------------


def test_search_finds_index_titles_synopses_keywords_with_the_time(
    archive_db: Path, recording: int
) -> None:
    with open_archive(archive_db) as archive:
        ix.add_point(archive, recording, at=61, title="Delo v železarni",
                     synopsis="Oče pripoveduje o plavžu.",
                     keywords=["Jesenice", "plavž"])  # fmt: skip
        ix.add_point(archive, recording, at=90, title="Skrit osnutek o plavžih", draft=True)
        by_title = search(archive, "železarni")
        by_synopsis = search(archive, "plavžu")
        by_keyword = search(archive, "Jesenicah")
    assert by_title[0].matched == "index" and by_title[0].start == 61.0
    assert by_title[0].index_point_id is not None
    assert [h.matched for h in by_title[1:]] == ["text"]  # the transcript line, after it
    assert [h.start for h in by_synopsis if h.matched == "index"] == [61.0]  # not the draft
    assert [h.start for h in by_keyword if h.matched == "index"] == [61.0]


# -- the public site -------------------------------------------------------------------------


def get(public_db: Path, path: str) -> httpx.Response:
    from datasette.app import Datasette

    ds = Datasette(immutables=[str(public_db)])

    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.get(path)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def six(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Six interviews tied to Jesenice in every way an interview can be, and published:
    recorded there, told by a narrator from there, mentioning it (tagged), with an index
    point placed there, one elsewhere, and one recorded there but restricted."""
    from livingmemory.site.publish import publish
    from livingmemory.tagging.pipeline import tag_transcripts

    folder = tmp_path_factory.mktemp("six")
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    audio = tone_files(folder / "tapes", 6, 3.0)
    specs = [
        ("recorded", "Jesenice", "public", "Delali smo na polju."),
        ("home", "Kranj", "public", "Hodila sem v šolo."),
        ("mention", "Bled", "public", "Oče je delal na Jesenicah v železarni."),
        ("indexed", "Bohinj", "public", "Tam smo pasli krave."),
        ("elsewhere", "Bled", "public", "Jezero je pozimi zamrznilo."),
        ("restricted", "Jesenice", "restricted", "To je zasebna zgodba."),
    ]
    ids: dict[str, int] = {}
    for (key, place, access, _), path in zip(specs, audio, strict=True):
        result, added = add_json(archive_db, path, "--title", f"Intervju {key}", "--narrator",
                                 f"Pripovedovalec {key}", "--place", place, "--access", access,
                                 "--language", "sl")  # fmt: skip
        assert result.exit_code == 0, str(result)
        ids[key] = added[0]["recording_id"]
    with open_archive(archive_db) as archive:
        for key, _, _, text in specs:
            insert_transcript(archive, ids[key], [text], starts=[0.0])
        archive.db.execute(
            "UPDATE people SET home_place = 'Jesenice' WHERE name = 'Pripovedovalec home'"
        )
        archive.db.conn.commit()
        ix.add_point(archive, ids["indexed"], at=1, title="Na planini", place="Jesenice")
        ix.add_point(archive, ids["elsewhere"], at=1, title="Osnutek", place="Jesenice",
                     draft=True)  # fmt: skip
        tag_transcripts(archive)
        publish(archive)
    return {"archive_db": archive_db, "public_db": folder / PUBLIC_DIR / PUBLIC_DB, "ids": ids}


def test_place_page_search_and_map_count_the_same_interviews(six: dict[str, Any]) -> None:
    ids, public_db = six["ids"], six["public_db"]
    public_set = {ids[k] for k in ("recorded", "home", "mention", "indexed")}
    assert set(place_recordings(public_db, "Jesenice")) == public_set
    with open_archive(six["archive_db"]) as archive:  # the archive also knows the restricted one
        assert set(place_recordings(archive, "Jesenice")) == public_set | {ids["restricted"]}
        assert {h.recording_id for h in search(archive, "Jesenice")} == public_set | {
            ids["restricted"]
        }
    for query in ("Jesenice", "na Jesenicah"):
        assert {h.recording_id for h in search(public_db, query)} == public_set, query
    page = get(public_db, "/kraj/Jesenice").text
    count = re.search(r'class="interview-count">(\d+)<', page)
    assert count and int(count.group(1)) == 4
    for key in ("recorded", "home", "mention", "indexed"):
        assert f'href="/intervju/{ids[key]}' in page, key
    assert "Na planini" in page  # the index point placed there
    found = get(public_db, "/iskanje?q=Jesenice").text
    groups = re.search(r"Intervjuji: (\d+)", found)
    assert groups and int(groups.group(1)) == 4
    with sqlite3.connect(public_db) as conn:  # what the browse pages and the map read
        (browsed,) = conn.execute(
            "SELECT recordings FROM browse WHERE kind = 'place' AND name = 'Jesenice'"
        ).fetchone()
        (mapped,) = conn.execute(
            "SELECT recordings FROM map_places WHERE name = 'Jesenice'"
        ).fetchone()
    assert browsed == mapped == 4


def test_public_table_and_kazalo(six: dict[str, Any]) -> None:
    ids, public_db = six["ids"], six["public_db"]
    rows = db_rows(public_db, "SELECT * FROM index_points ORDER BY id")
    assert [r["title"] for r in rows] == ["Na planini"]  # the draft stays in the archive
    assert list(rows[0]) == ["id", "recording_id", "at", "title", "partial_transcript",
                             "synopsis", "keywords", "subjects", "place", "lat", "lon",
                             "links"]  # fmt: skip
    assert rows[0]["recording_id"] == ids["indexed"] and rows[0]["lat"] is not None
    html = get(public_db, f"/intervju/{ids['indexed']}").text
    kazalo = html[
        html.index('<nav class="kazalo"') : html.index("</nav>", html.index('class="kazalo"'))
    ]
    assert ">Kazalo<" in kazalo and "<details>" in kazalo and "Na planini" in kazalo
    assert 'href="#t=1"' in kazalo and 'href="/kraj/Jesenice"' in kazalo
    assert 'class="kazalo"' not in get(public_db, f"/intervju/{ids['home']}").text


def test_publish_follows_index_changes_incrementally(six: dict[str, Any]) -> None:
    """An accepted draft appears and a removed point goes at the next (incremental) publish,
    and a recording withdrawn from the public takes its points with it."""
    from livingmemory.site.publish import publish

    ids, public_db = six["ids"], six["public_db"]
    with open_archive(six["archive_db"]) as archive:
        draft = ix.list_points(archive, ids["elsewhere"])[0]
        ix.accept_point(archive, draft["id"], author="Marija")
        kept = ix.add_point(archive, ids["home"], at=2, title="Šola", keywords=["šola"])
        result = publish(archive)
        assert result.incremental
        titles = {r["title"] for r in db_rows(public_db, "SELECT title FROM index_points")}
        assert titles == {"Na planini", "Osnutek", "Šola"}
        assert {h.start for h in search(public_db, "šola") if h.matched == "index"} == {2.0}
        ix.remove_point(archive, kept["id"])
        archive.db.execute("UPDATE recordings SET access = 'restricted' WHERE id = ?",
                           [ids["indexed"]])  # fmt: skip
        archive.db.conn.commit()
        publish(archive)
    titles = {r["title"] for r in db_rows(public_db, "SELECT title FROM index_points")}
    assert titles == {"Osnutek"}
    assert not [h for h in search(public_db, "šola") if h.matched == "index"]
    assert b"Na planini" not in public_db.read_bytes()  # not left in free pages or the index


def test_workspace_actions_check_everything_first(archive_db: Path, recording: int) -> None:
    """What the index editor's POST does (site/workspace_index.apply): the volunteer's name
    on every change, and a clear refusal for a bad action or another recording's point."""
    from livingmemory.site.workspace_index import apply

    with open_archive(archive_db) as archive:
        other = insert_recording(archive, title="Drugi")
        foreign = ix.add_point(archive, other, at=1, title="Tuja")
        points = apply(archive, recording, {"action": "add", "point": {"at": 5, "title": "A",
                                                                        "keywords": "x, y"}},
                       "Ana")  # fmt: skip
        assert [(p["title"], p["keywords"], p["updated_by"]) for p in points] == [
            ("A", ["x", "y"], "Ana")
        ]
        for bad, message in [
            ({"action": "drop"}, "unknown action"),
            ({"action": "add", "point": {"title": "brez časa"}}, "missing: at"),
            ({"action": "remove", "id": foreign["id"]}, "another recording"),
            ({"action": "edit", "id": points[0]["id"], "point": {"at": -1}}, "0 seconds or more"),
        ]:
            with pytest.raises(LivingMemoryError, match=message):
                apply(archive, recording, bad, "Ana")
        assert [p["title"] for p in ix.list_points(archive, recording)] == ["A"]
        assert ix.get_point(archive, foreign["id"])["title"] == "Tuja"
