"""The public site's own pages (home, interview, place/person/topic/decade, search) through
Datasette's client, on a published archive with hostile markup and unpublished recordings.
The same pages in a real browser are in ``test_site_browser.py``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from datasette.app import Datasette
from site_fixtures import (
    EN_LINES,
    HIDDEN_TEXT,
    HOSTILE_LINE,
    HOSTILE_TITLE,
    OVERLAPPED_LINE,
    SL_LINES,
    build_site,
)

from livingmemory.archive.sqlite import sqlite3
from livingmemory.site import pages as site_pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]) -> dict[str, Any]:
    return build_site(tmp_path_factory.mktemp("site-pages") / "archive", audio_files)


@pytest.fixture(scope="module")
def ds(site: dict[str, Any]) -> Datasette:
    return Datasette(immutables=[str(site["public_db"])], metadata=site["metadata"])


def get(ds: Datasette, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.get(path, **kwargs)

    return asyncio.run(run())


def site_paths(site: dict[str, Any]) -> list[str]:
    sl = site["ids"]["sl"]
    return [
        "/",
        f"/intervju/{sl}",
        f"/intervju/{site['ids']['en']}",
        "/kraj/Kranj",
        "/oseba/Ana%20Novak",
        "/tema/war",
        "/desetletje/1950",
        "/iskanje?q=Kranj",
        "/iskanje?q=v%20%C5%A1oli",
    ]


def test_home_has_search_and_links_to_each_public_interview(
    site: dict[str, Any], ds: Datasette
) -> None:
    response = get(ds, "/")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="sl">' in html
    assert "<title>Živi spomin</title>" in html  # the site's name once, not "X · X"
    assert "· Živi spomin</title>" in get(ds, "/iskanje").text  # other pages: "page · site"
    assert re.search(r'<form[^>]+role="search"[^>]+action="/iskanje"', html)
    assert '<input id="q" type="search" name="q"' in html
    for key in ("sl", "en"):
        assert f'href="/intervju/{site["ids"][key]}"' in html
    for key in ("restricted", "embargoed"):
        assert f'href="/intervju/{site["ids"][key]}"' not in html
    # Browse by village, decade (of the stories, 1930s from "leta 1932"), topic in words.
    assert 'href="/kraj/Kranj"' in html and 'href="/kraj/Jesenice"' in html
    assert 'href="/desetletje/1930"' in html and 'href="/desetletje/1950"' in html
    assert 'href="/tema/war">vojna' in html
    assert ">Za raziskovalce</a>" in html and 'href="/public"' in html
    assert "SQL</a>" not in html and "rows in" not in html


def test_language_switch_is_remembered(ds: Datasette) -> None:
    response = get(ds, "/?lang=en")
    assert '<html lang="en">' in response.text
    assert "Newest interviews" in response.text and 'href="/tema/war">war' in response.text
    assert response.cookies.get(site_pages.LANG_COOKIE) == "en"
    again = get(ds, "/kraj/Kranj", headers={"cookie": f"{site_pages.LANG_COOKIE}=en"})
    assert '<html lang="en">' in again.text and "Recorded here" in again.text
    assert '<html lang="sl">' in get(ds, "/kraj/Kranj").text


def test_interview_page(site: dict[str, Any], ds: Datasette) -> None:
    recording_id = site["ids"]["sl"]
    html = get(ds, f"/intervju/{recording_id}").text
    starts = re.findall(r'<li class="line[^"]*" id="s\d+" data-start="([\d.]+)"', html)
    assert [float(s) for s in starts] == [start for start, _, _ in SL_LINES]
    assert re.search(
        r'<audio id="lm-audio" controls preload="metadata" src="/-/audio/\w+\.ogg"', html
    )
    # Narrator with birth year and home place, interviewer, date, place, licence.
    assert "roj. 1932" in html and 'href="/kraj/Jesenice"' in html
    assert "Miha Zupan" in html and "12. 5. 1954" in html and 'href="/kraj/Kranj"' in html
    assert "CC BY-NC-SA 4.0" in html
    # Speaker turns: the name once per turn, not per line.
    assert html.count('<span class="speaker">Ana Novak</span>') == 2
    assert html.count('<span class="speaker">Miha Zupan</span>') == 1
    # Index chips jump to their moments; topics in words.
    assert re.search(r'class="chip chip-loc" data-times="[\d.]+">Kranj', html)
    assert re.search(r'class="chip chip-topic" data-times="[\d.]+">vojna', html)
    # Time codes as mm:ss; a citation with the page's stable URL.
    assert ">00:02</a>" in html
    assert f'data-page-url="http://localhost/intervju/{recording_id}"' in html
    assert "Citiraj / Cite" in html


def test_an_overlapped_line_is_marked(site: dict[str, Any], ds: Datasette) -> None:
    """The line another voice talks over shows ⇄, named for screen readers and on hover
    (Slovenian first); the other lines and the interview without overlaps show nothing."""
    page = f"/intervju/{site['ids']['sl']}"
    html = get(ds, page).text
    lines = re.findall(r'<li class="line[^"]*".*?</li>', html, re.DOTALL)
    marked = [line for line in lines if "overlap" in line]
    assert len(lines) == len(SL_LINES) and len(marked) == 1
    assert marked[0].startswith('<li class="line overlap"') and OVERLAPPED_LINE in marked[0]
    assert (
        '<span class="overlap-mark" title="hkrati govori še nekdo"><span aria-hidden="true">⇄'
        '</span><span class="sr-only">(hkrati govori še nekdo)</span></span>' in marked[0]
    )
    assert "Znak ⇄ ob vrstici pomeni, da hkrati govori še nekdo" in html
    english = get(ds, page + "?lang=en").text
    assert english.count('title="someone else is speaking at the same time"') == 1
    assert "⇄" not in get(ds, f"/intervju/{site['ids']['en']}").text
    # The public database has the mark, and the downloads carry it.
    conn = sqlite3.connect(site["public_db"])
    try:
        rows = conn.execute("SELECT text FROM segments WHERE overlap = 1").fetchall()
    finally:
        conn.close()
    assert rows == [(OVERLAPPED_LINE,)]
    assert f"Miha Zupan: [hkrati] {OVERLAPPED_LINE}" in get(ds, page + "/prepis.srt").text
    assert f"<v.overlap Miha Zupan>{OVERLAPPED_LINE}" in get(ds, page + "/prepis.vtt").text


def test_a_public_database_from_before_the_overlap_mark_is_served() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE segments (id INTEGER, text TEXT)")
    assert site_pages.overlap_column(conn) == "0 AS overlap"
    conn.execute("ALTER TABLE segments ADD COLUMN overlap INTEGER")
    assert site_pages.overlap_column(conn) == "overlap"
    conn.close()


def test_hostile_text_is_escaped_everywhere(site: dict[str, Any], ds: Datasette) -> None:
    for path in [*site_paths(site), "/iskanje?q=vojno", f"/intervju/{site['ids']['sl']}?q=vojno"]:
        html = get(ds, path).text
        assert "<script>window.lmPwned" not in html, path
        assert "<img src=x" not in html, path
    html = get(ds, f"/intervju/{site['ids']['sl']}").text
    assert "&lt;script&gt;window.lmPwned" in html
    assert "&lt;img src=x onerror=" in html


def test_unpublished_recordings_never_appear(site: dict[str, Any], ds: Datasette) -> None:
    for key in ("restricted", "embargoed"):
        response = get(ds, f"/intervju/{site['ids'][key]}")
        assert response.status_code == 404
        assert "Te strani ni" in response.text
    assert get(ds, "/intervju/999999").status_code == 404
    assert get(ds, "/intervju/99999999999999999999999").status_code == 404
    assert get(ds, "/oseba/Ivana%20Zakritnik").status_code == 404
    for path in site_paths(site):
        text = get(ds, path).text
        assert [value for value in HIDDEN_TEXT if value in text] == [], path
    for query in ("Skrivnost", "QK43", "embargom"):
        text = get(ds, f"/iskanje?q={query}").text
        assert "Ni zadetkov" in text and "/intervju/" not in text.replace(query, "")


def test_entity_pages(site: dict[str, Any], ds: Datasette) -> None:
    sl, en = site["ids"]["sl"], site["ids"]["en"]
    kranj = get(ds, "/kraj/Kranj").text
    assert "Posneto v tem kraju" in kranj and f'href="/intervju/{sl}"' in kranj
    assert re.search(rf'href="/intervju/{sl}#t=\d+"', kranj)  # a moment of the mention
    assert 'class="lm-play play"' in kranj
    jesenice = get(ds, "/kraj/Jesenice").text
    assert "Pripovedovalci od tu" in jesenice and f'href="/intervju/{sl}"' in jesenice
    person = get(ds, "/oseba/Ana%20Novak").text
    assert "<h1>Ana Novak</h1>" in person and f'href="/intervju/{sl}"' in person
    topic = get(ds, "/tema/war").text
    assert "<h1>vojna</h1>" in topic and f'href="/intervju/{sl}#t=' in topic
    decade = get(ds, "/desetletje/1950").text
    assert "<h1>1950–1959</h1>" in decade and f'href="/intervju/{sl}"' in decade
    assert f'href="/intervju/{en}"' not in decade
    assert get(ds, "/kraj/Atlantida").status_code == 404
    assert get(ds, "/desetletje/1720").status_code == 404


def test_search_page_groups_hits_by_interview(site: dict[str, Any], ds: Datasette) -> None:
    sl, en = site["ids"]["sl"], site["ids"]["en"]
    html = get(ds, "/iskanje?q=Kranj").text
    assert "<mark>Kranju</mark>" in html  # the inflected form, highlighted
    assert f'href="/intervju/{sl}#t=0"' in html
    assert re.search(r'class="lm-play play" data-src="/-/audio/\w+\.ogg" data-start="0"', html)
    assert f'href="/intervju/{en}' not in html
    letters = get(ds, "/iskanje?q=letters").text
    assert f'href="/intervju/{en}#t=2"' in letters and "<mark>letters</mark>" in letters
    # Filters: place, narrator, decade and language of the recording.
    assert f"/intervju/{en}#t=" in get(ds, "/iskanje?q=Bohinj&kraj=Bohinj").text
    assert f"/intervju/{en}#t=" not in get(ds, "/iskanje?q=Bohinj&kraj=Kranj").text
    assert f"/intervju/{en}#t=" not in get(ds, "/iskanje?q=Bohinj&jezik=sl").text
    assert f"/intervju/{sl}#t=" in get(ds, "/iskanje?q=Kranj&desetletje=1950s").text
    assert f"/intervju/{sl}#t=" not in get(ds, "/iskanje?q=Kranj&pripovedovalec=Kos").text
    for query in ("", "!!!", '"', "*"):
        assert get(ds, "/iskanje", params={"q": query}).status_code == 200
    assert "Ni zadetkov" in get(ds, "/iskanje?q=nicesarnenajdem").text


def test_search_inside_an_interview(site: dict[str, Any], ds: Datasette) -> None:
    sl = site["ids"]["sl"]
    found = get(ds, f"/intervju/{sl}/najdi.json?q=jesenice").json()
    assert [hit["start"] for hit in found] == [2.0]
    assert found[0]["clock"] == "00:02" and "<mark>Jesenicah</mark>" in found[0]["html"]
    hostile = get(ds, f"/intervju/{sl}/najdi.json?q=vojno").json()
    assert len(hostile) == 1 and "<img" not in hostile[0]["html"]
    # The other interview's lines are never found from this one.
    assert get(ds, f"/intervju/{sl}/najdi.json?q=Bohinj").json() == []
    page = get(ds, f"/intervju/{sl}?q=Kranj").text
    assert 'class="line is-match"' in page and "<mark>Kranju</mark>" in page


def test_datasette_pages_stay_reachable(ds: Datasette) -> None:
    assert get(ds, "/public").status_code == 200
    assert get(ds, "/public/recordings.json").status_code == 200
    assert get(ds, "/.json").status_code == 200


def test_formatting() -> None:
    assert site_pages.clock(0) == "00:00"
    assert site_pages.clock(754.9) == "12:34"
    assert site_pages.clock(3600 + 62) == "1:01:02"
    assert site_pages.nice_date("1954-05-12", "sl") == "12. 5. 1954"
    assert site_pages.nice_date("1954-05-12", "en") == "12 May 1954"
    assert site_pages.nice_date("1954-05", "sl") == "maj 1954"
    assert site_pages.length(2700, "sl") == "45 min"
    assert site_pages.length(3900, "sl") == "1 h 05 min"
    assert site_pages.topic_name("ironworks", "sl") == "železarna in industrija"
    assert str(site_pages.highlight("<b>V Kranju</b>", "Kranj")) == (
        "&lt;b&gt;V <mark>Kranju</mark>&lt;/b&gt;"
    )


def test_page_queries_use_indexes(site: dict[str, Any]) -> None:
    """No page scans the big tables: every query on segments, entities and people is an
    index search, and the only scans (newest interviews, filter values) are LIMITed."""
    conn = sqlite3.connect(f"file:{site['public_db']}?mode=ro", uri=True)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    sl = site["ids"]["sl"]
    site_pages.newest(conn)
    for kind in ("place", "person", "topic", "decade", "organisation"):
        site_pages.browse(conn, kind)
    site_pages.interview(conn, sl)
    site_pages.find_in_interview(conn, sl, "Kranj")
    site_pages.entity_page(conn, "LOC", "Kranj")
    site_pages.entity_page(conn, "PER", "Ana Novak")
    site_pages.decade_page(conn, 1950)
    site_pages.search_page(conn, "Kranj", {"place": "Kranj", "narrator": "Novak"})
    site_pages.filter_options(conn)
    conn.set_trace_callback(None)
    assert len(statements) > 15
    for sql in statements:
        if not sql.lstrip().upper().startswith("SELECT") or "'main'." in sql:
            continue  # FTS5's own bookkeeping reads its small shadow tables
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        for step in plan:
            if not step.startswith("SCAN "):
                continue
            name = step.split()[1]
            if name == "sqlite_master":
                continue  # the schema itself (which tables this database has): a few rows
            distinct = sql.lstrip().upper().startswith("SELECT DISTINCT")
            if name in ("recordings", "people", "index_points") and distinct:
                # search's filters (and the places a query names) resolve a typed name
                # against the distinct values: one row per interview, person or index point
                # (10,000 at 10,000 hours), never the segments
                continue
            assert "VIRTUAL TABLE" in step or (
                name in ("recordings", "browse", "sqlite_master") and " LIMIT " in sql.upper()
            ), f"{step} in {sql}"


def test_publish_builds_the_browse_table(site: dict[str, Any]) -> None:
    conn = sqlite3.connect(f"file:{site['public_db']}?mode=ro", uri=True)
    rows = {(k, n): (m, r) for k, n, m, r in conn.execute(
        "SELECT kind, name, mentions, recordings FROM browse")}  # fmt: skip
    assert rows[("place", "Kranj")][1] == 1  # recorded there and mentioned: one interview
    assert rows[("place", "Jesenice")] == (1, 1)  # the narrator's home, and mentioned once
    assert rows[("place", "Bohinj")][1] == 1
    assert rows[("decade", "1930")] == (1, 1)  # "leta 1932": a story's decade
    assert rows[("decade", "1980")] == (0, 1)  # only the recording date
    assert ("topic", "war") in rows and ("person", "Ana Novak") in rows
    assert not [key for key in rows if any(hidden in key[1] for hidden in HIDDEN_TEXT)]
    assert EN_LINES and HOSTILE_LINE and HOSTILE_TITLE  # the fixtures these figures come from


def test_search_adapter_takes_rows_or_hits() -> None:
    """The page reads hits through one adapter, so the search behind it can change."""
    from livingmemory.search import Hit

    hit = Hit(recording_id=3, title="T", segment_id=9, start=75.5, end=80.0, speaker="A",
              text="v Kranju", snippet="v [Kranju]", file_path="x.wav", matched="text",
              link="/-/audio/x.wav#t=75.5")  # fmt: skip
    row = {"recording_id": 3, "title": "T", "segment_id": 9, "start": 75.5, "end": 80.0,
           "speaker": "A", "text": "v Kranju", "matched": "text", "extra": 1}  # fmt: skip
    assert site_pages.hit_dict(hit) == site_pages.hit_dict(row)
    assert set(site_pages.hit_dict(row)) == set(site_pages.HIT_FIELDS)
