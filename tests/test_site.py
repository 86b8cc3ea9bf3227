"""The public site: Datasette over a published archive, its canned queries and ranged audio.

One archive is built per module from real audio (``livingmemory add``), with transcripts
written straight into it, tagged with the real tagger (so lemmas, places and coordinates are
what ``livingmemory tag`` makes) and published. Requests go through ``Datasette.client`` with
the metadata ``livingmemory serve`` would give Datasette (:func:`site_metadata`); no server,
no browser (those are in ``test_browser.py``).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from datasette.app import Datasette
from datasette_auth_passwords.utils import hash_password
from support import add_json, db_rows, insert_transcript, run_cli

from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.site.publish import publish
from livingmemory.site.serve import PASSWORD_ENV, site_metadata
from livingmemory.tagging.pipeline import tag_transcripts

PUBLIC_SL = {
    "title": "Spomini na Kranj",
    "narrator": "Ana Novak",
    "texts": [(0.0, "Rodila sem se leta 1932 v Kranju."), (2.0, "Oče je delal v Železarni.")],
}
PUBLIC_EN = {
    "title": "Letters from Bohinj",
    "narrator": "John Kos",
    "texts": [(0.0, "My father left Bohinj for America."), (2.0, "He wrote <b>bold</b> words.")],
}
RESTRICTED = {
    "title": "Zaprta zgodba QK41",
    "narrator": "Ivana Zakritnik",
    "texts": [(0.0, "Skrivnost iz Kranja QK43."), (2.0, "Tudi v Kranju je bilo QK44.")],
}
EMBARGOED = {
    "title": "Pod embargom QF71",
    "narrator": "Ljudmila Prihodnja",
    "texts": [(0.0, "V Kranju pod embargom QF73.")],
}
HIDDEN_TEXT = ["QK41", "QK43", "QK44", "QF71", "QF73", "Zakritnik", "Prihodnja"]


def get(ds: Datasette, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.get(path, **kwargs)

    return asyncio.run(run())


def head(ds: Datasette, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.head(path, **kwargs)

    return asyncio.run(run())


def rows(ds: Datasette, path: str, **params: str) -> list[dict[str, Any]]:
    response = get(ds, path, params={**dict(httpx.URL(path).params), **params, "_shape": "array"})
    assert response.status_code == 200, response.text[:500]
    return response.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("site") / "archive"
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    ids = {}
    specs = [
        ("sl", PUBLIC_SL, "wav", ["--access", "public", "--date", "1954-05-12",
                                  "--place", "Kranj", "--language", "sl"]),
        ("en", PUBLIC_EN, "ogg", ["--access", "public", "--date", "1987",
                                  "--place", "Bohinj", "--language", "en"]),
        ("restricted", RESTRICTED, "flac", ["--access", "restricted", "--date", "1961",
                                            "--place", "Kranj", "--language", "sl"]),
        ("embargoed", EMBARGOED, "mp3", ["--embargo-until", "2099-01-01", "--date", "1962",
                                         "--place", "Kranj", "--language", "sl"]),
    ]  # fmt: skip
    for key, values, audio_format, options in specs:
        result, added = add_json(
            archive_db,
            audio_files[audio_format],
            "--title", values["title"], "--narrator", values["narrator"], *options,
        )  # fmt: skip
        assert result.exit_code == 0, str(result)
        ids[key] = added[0]["recording_id"]
    with open_archive(archive_db) as archive:
        for key, values, _, options in specs:
            insert_transcript(
                archive,
                ids[key],
                [text for _, text in values["texts"]],
                starts=[start for start, _ in values["texts"]],
                language=options[options.index("--language") + 1],
            )
        tag_transcripts(archive)
        publish(archive)
        metadata = site_metadata(archive)
        private_metadata = site_metadata(archive, private=True)
    public_db = folder / PUBLIC_DIR / PUBLIC_DB
    recordings = {
        key: db_rows(archive_db, "SELECT * FROM recordings WHERE id = ?", (rid,))[0]
        for key, rid in ids.items()
    }
    return {
        "folder": folder,
        "archive_db": archive_db,
        "public_db": public_db,
        "ids": ids,
        "recordings": recordings,
        "metadata": metadata,
        "private_metadata": private_metadata,
    }


@pytest.fixture(scope="module")
def ds(site: dict[str, Any]) -> Datasette:
    """What ``livingmemory serve`` runs: the public database, immutable, with its metadata."""
    return Datasette(immutables=[str(site["public_db"])], metadata=site["metadata"])


@pytest.fixture(scope="module")
def audio(site: dict[str, Any], ds: Datasette) -> dict[str, Any]:
    """The published audio file of the Slovenian recording: URL and bytes."""
    url = rows(ds, f"/public/recordings/{site['ids']['sl']}.json")[0]["audio_url"]
    assert re.fullmatch(r"/-/audio/[0-9a-f]{16}\.wav", url), url
    path = site["folder"] / PUBLIC_DIR / AUDIO_DIR / url.rsplit("/", 1)[1]
    return {"url": url, "data": path.read_bytes()}


# -- tables and facets ---------------------------------------------------------------------


def test_recordings_lists_only_public_recordings(site: dict[str, Any], ds: Datasette) -> None:
    listed = rows(ds, "/public/recordings.json")
    assert sorted(r["title"] for r in listed) == sorted([PUBLIC_SL["title"], PUBLIC_EN["title"]])
    assert sorted(r["id"] for r in listed) == sorted([site["ids"]["sl"], site["ids"]["en"]])
    for path in ("/public/recordings.json", "/public/segments.json", "/public/people.json"):
        text = get(ds, path).text
        assert [value for value in HIDDEN_TEXT if value in text] == [], path


def test_recordings_facet_by_decade(ds: Datasette) -> None:
    response = get(ds, "/public/recordings.json?_facet=decade")
    assert response.status_code == 200
    facets = response.json()["facet_results"]
    decades = {r["value"]: r["count"] for r in facets["decade"]["results"]}
    assert decades == {"1950s": 1, "1980s": 1}
    # The facets metadata.yml asks for are there without asking.
    assert {"place", "language", "narrators"} <= set(facets)
    places = {r["value"]: r["count"] for r in facets["place"]["results"]}
    assert places == {"Kranj": 1, "Bohinj": 1}

    selected = rows(ds, "/public/recordings.json?decade=1980s")
    assert [r["title"] for r in selected] == [PUBLIC_EN["title"]]


def test_segments_search_index_works_through_datasette(ds: Datasette) -> None:
    found = rows(ds, "/public/segments.json?_search=father")
    assert [r["text"] for r in found] == [PUBLIC_EN["texts"][0][1]]


@pytest.mark.parametrize(
    "path",
    [
        "/public/segments_fts",
        "/public/segments_fts.json?_search=father",
        "/public/segments_fts_data.json",
        "/public/segments_fts_idx.csv",
        "/public/recording_search.json",
        "/public/search_tags_fts_config.json",
    ],
)
def test_full_text_index_tables_are_not_served(ds: Datasette, path: str) -> None:
    """Index tables hold raw index pages (a withdrawn text's words for the moment between
    its withdrawal and their purge): no page, JSON or CSV of them; searches still work."""
    assert get(ds, path).status_code == 403
    assert rows(ds, "/public/segments.json?_search=father")


# -- canned queries --------------------------------------------------------------------------


def test_canned_queries_are_listed(ds: Datasette) -> None:
    response = get(ds, "/public.json")
    assert response.status_code == 200
    names = {query["name"] for query in response.json()["queries"]}
    assert {
        "search_transcripts",
        "narrator",
        "place_mentions",
        "interviews_by_decade",
        "most_mentioned",
    } <= names


def test_search_transcripts_returns_hits_with_play_links(
    site: dict[str, Any], ds: Datasette, audio: dict[str, Any]
) -> None:
    hits = rows(ds, "/public/search_transcripts.json?q=Kranju")
    # The title ("Spomini na Kranj") first, then the segment that says it.
    # Slovenian first: "naslov / title", "oznaka / tag" (the segment is tagged Kranj).
    assert [h["matched"] for h in hits] == ["naslov / title", "oznaka / tag"], hits
    hit = hits[1]
    assert set(hit) == {"recording_id", "title", "start", "speaker", "matched", "snippet", "play"}
    assert hit["recording_id"] == site["ids"]["sl"]
    assert hit["title"] == PUBLIC_SL["title"]
    assert "[Kranju]" in hit["snippet"]
    assert hit["play"] == f"{audio['url']}#t=0"
    assert hits[0]["recording_id"] == site["ids"]["sl"]
    assert "[Kranj]" in hits[0]["snippet"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Kranj", "Rodila sem se leta 1932 v Kranju."),  # the lemma finds the inflected form
        ("kranj", "Rodila sem se leta 1932 v Kranju."),
        ("v Kranju", "Rodila sem se leta 1932 v Kranju."),
        ("zelezarna", "Oče je delal v Železarni."),  # no diacritics, another case
        ("Železarna", "Oče je delal v Železarni."),
        ('"Bohinj', "My father left Bohinj for America."),  # a stray quote is not an error
    ],
)
def test_search_transcripts_finds_inflected_forms(ds: Datasette, query: str, expected: str) -> None:
    hits = rows(ds, "/public/search_transcripts.json", q=query)
    # Recording-level hits (the title "Spomini na Kranj", the place Bohinj) come first.
    segments = [h for h in hits if h["matched"].split(" / ")[1] not in ("title", "place")]
    snippets = [re.sub(r"[\[\]]", "", hit["snippet"]) for hit in segments]
    assert snippets == [expected]


@pytest.mark.parametrize("query", ["QK43", "Skrivnost", "embargom", "Zakritnik"])
def test_search_transcripts_never_finds_unpublished_text(ds: Datasette, query: str) -> None:
    assert rows(ds, "/public/search_transcripts.json", q=query) == []


@pytest.mark.parametrize("query", ["", "!!!", "*"])
def test_search_transcripts_with_nothing_to_search_for(ds: Datasette, query: str) -> None:
    response = get(ds, "/public/search_transcripts.json", params={"q": query, "_shape": "array"})
    assert response.status_code == 200, response.text[:300]
    assert response.json() == []


def test_narrator_query(site: dict[str, Any], ds: Datasette, audio: dict[str, Any]) -> None:
    said = rows(ds, "/public/narrator.json?name=Novak")
    assert [(r["start"], r["text"]) for r in said] == PUBLIC_SL["texts"]
    assert {r["title"] for r in said} == {PUBLIC_SL["title"]}
    assert [r["play"] for r in said] == [f"{audio['url']}#t=0", f"{audio['url']}#t=2"]
    assert rows(ds, "/public/narrator.json?name=Zakritnik") == []


def test_place_mentions_query(site: dict[str, Any], ds: Datasette, audio: dict[str, Any]) -> None:
    # Kranj is mentioned once in public, three more times in unpublished recordings.
    assert db_rows(
        site["archive_db"], "SELECT count(*) AS n FROM entities WHERE canonical = 'Kranj'"
    ) == [{"n": 4}]
    mentions = rows(ds, "/public/place_mentions.json?place=Kranj")
    assert len(mentions) == 1, mentions
    mention = mentions[0]
    assert mention["place"] == "Kranj"
    assert mention["said"] == "Kranju"
    assert mention["title"] == PUBLIC_SL["title"]
    assert mention["text"] == PUBLIC_SL["texts"][0][1]
    # The play link starts at the mention (estimated inside its segment), not the segment.
    assert 0 < mention["start_seconds"] < 5
    assert mention["play"] == f"{audio['url']}#t={mention['start_seconds']:g}"


def test_interviews_by_decade_query(ds: Datasette) -> None:
    table = rows(ds, "/public/interviews_by_decade.json")
    assert [(r["decade"], r["place"], r["language"], r["interviews"]) for r in table] == [
        ("1950s", "Kranj", "sl", 1),
        ("1980s", "Bohinj", "en", 1),
    ]
    assert all(r["minutes"] is not None and 0 < r["minutes"] < 1 for r in table)


def test_most_mentioned_query(ds: Datasette) -> None:
    table = rows(ds, "/public/most_mentioned.json")
    counts = {(r["label"], r["canonical"]): (r["mentions"], r["recordings"]) for r in table}
    assert counts[("LOC", "Kranj")] == (1, 1)
    assert counts[("LOC", "Bohinj")] == (1, 1)
    assert all(label in ("PER", "LOC", "ORG") for label, _ in counts)


def test_place_map_has_coordinates(ds: Datasette) -> None:
    places = {r["name"]: r for r in rows(ds, "/public/place_map.json")}
    assert {"Kranj", "Bohinj"} <= set(places)
    for place in places.values():
        assert isinstance(place["latitude"], float) and isinstance(place["longitude"], float)
    assert places["Kranj"]["latitude"] == pytest.approx(46.24, abs=0.05)
    assert places["Kranj"]["longitude"] == pytest.approx(14.36, abs=0.05)
    assert places["Kranj"]["mentions"] == 1


def test_plugins_are_installed(ds: Datasette) -> None:
    names = {plugin["name"] for plugin in get(ds, "/-/plugins.json").json()}
    assert {"livingmemory", "datasette-cluster-map"} <= names


# -- HTML: play buttons, the player, escaping ------------------------------------------------


def test_search_page_has_play_buttons_and_the_player(ds: Datasette, audio: dict[str, Any]) -> None:
    response = get(ds, "/public/search_transcripts?q=Kranju")
    assert response.status_code == 200
    html = response.text
    assert f'class="lm-play" data-src="{audio["url"]}" data-start="0"' in html
    assert "/-/static-plugins/livingmemory/player.js" in html
    script = get(ds, "/-/static-plugins/livingmemory/player.js")
    assert script.status_code == 200
    assert "lm-player" in script.text


def test_transcript_markup_is_shown_as_text(ds: Datasette) -> None:
    for path in ("/public/segments", "/public/narrator?name=Kos"):
        html = get(ds, path).text
        assert "&lt;b&gt;bold&lt;/b&gt;" in html, path
        assert "<b>bold</b>" not in html, path


# -- ranged audio ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=10-99", 10, 99),
        ("bytes=0-0", 0, 0),
        ("bytes=100-", 100, None),
        ("bytes=-16", -16, None),
    ],
)
def test_audio_range_request(
    ds: Datasette, audio: dict[str, Any], header: str, start: int, end: int | None
) -> None:
    data, size = audio["data"], len(audio["data"])
    response = get(ds, audio["url"], headers={"Range": header})
    assert response.status_code == 206
    first = start % size
    last = size - 1 if end is None else end
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "audio/wav"
    assert response.content == data[first : last + 1]


def test_audio_whole_file_and_head(ds: Datasette, audio: dict[str, Any]) -> None:
    response = get(ds, audio["url"])
    assert response.status_code == 200
    assert response.content == audio["data"]
    assert response.headers["accept-ranges"] == "bytes"
    headers = head(ds, audio["url"]).headers
    assert headers["content-length"] == str(len(audio["data"]))


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{size}", "bytes=9-3"])
def test_audio_bad_range_is_416(ds: Datasette, audio: dict[str, Any], header: str) -> None:
    size = len(audio["data"])
    response = get(ds, audio["url"], headers={"Range": header.format(size=size)})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert audio["data"][:16] not in response.content


@pytest.mark.parametrize("header", ["lines=1-2", "items=0-", ""])
def test_audio_range_in_an_unknown_unit_is_ignored(
    ds: Datasette, audio: dict[str, Any], header: str
) -> None:
    response = get(ds, audio["url"], headers={"Range": header})  # RFC 9110 14.2
    assert response.status_code == 200
    assert response.content == audio["data"]


def test_audio_route_serves_nothing_else(site: dict[str, Any], ds: Datasette) -> None:
    restricted = site["recordings"]["restricted"]
    paths = [
        "/-/audio/..%2Farchive.db",
        "/-/audio/..%2F..%2Farchive.db",
        "/-/audio/..%2Fpublic.db",
        "/-/audio/archive.db",
        f"/-/audio/..%2F..%2F{restricted['file_path'].replace('/', '%2F')}",
        # The restricted recording under the name it would have if it were published.
        f"/-/audio/{restricted['sha256'][:16]}.flac",
        f"/-/audio/{Path(restricted['file_path']).name}",
    ]
    for path in paths:
        response = get(ds, path, headers={"Range": "bytes=0-"})
        assert response.status_code == 404, path
        assert b"SQLite format" not in response.content


# -- serve: refusals -------------------------------------------------------------------------


def test_serve_without_a_published_database(archive_dir: Path) -> None:
    result = run_cli("serve", "--archive", archive_dir / "archive.db", "--port", "0")
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert "livingmemory publish" in result.error_lines[0]
    assert not (archive_dir / PUBLIC_DIR / PUBLIC_DB).exists()


def test_serve_private_needs_a_password(archive_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    result = run_cli("serve", "--private", "--archive", archive_dir / "archive.db", "--port", "0")
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert PASSWORD_ENV in result.error_lines[0]


# -- the private archive ---------------------------------------------------------------------


def test_private_metadata_requires_the_archive_actor(site: dict[str, Any]) -> None:
    public, private = site["metadata"], site["private_metadata"]
    assert "allow" not in public
    assert "datasette-auth-passwords" not in public["plugins"]
    assert public["plugins"]["livingmemory"]["audio_dir"] == str(
        (site["folder"] / PUBLIC_DIR / AUDIO_DIR).resolve()
    )
    # The team: the shared-password account and the workspace's volunteers
    # (livingmemory.review.workspace).
    assert private["allow"] == {"team": "livingmemory"}
    auth = private["plugins"]["datasette-auth-passwords"]
    assert auth["archive_password_hash"] == {"$env": "LIVINGMEMORY_PASSWORD_HASH"}
    assert auth["actors"] == {"archive": {"id": "archive", "team": "livingmemory"}}
    assert private["plugins"]["livingmemory"]["workspace_archive"] == str(
        site["archive_db"].resolve()
    )
    assert private["plugins"]["livingmemory"]["audio_dir"] == str(
        (site["folder"] / "recordings").resolve()
    )
    assert "databases" not in private  # the public database's canned queries do not apply


@pytest.fixture
def private_ds(site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Datasette:
    """What ``livingmemory serve --private`` runs, with the password ``geslo-123``."""
    monkeypatch.setenv("LIVINGMEMORY_PASSWORD_HASH", hash_password("geslo-123"))
    return Datasette([str(site["archive_db"])], metadata=site["private_metadata"])


def login(ds: Datasette, password: str) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        form = await ds.client.get("/-/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        cookie = form.cookies["ds_csrftoken"]
        return await ds.client.post(
            "/-/login",
            data={"username": "archive", "password": password, "csrftoken": token.group(1)},
            headers={"cookie": f"ds_csrftoken={cookie}"},
        )

    return asyncio.run(run())


def test_private_archive_refuses_anonymous_visitors(
    site: dict[str, Any], private_ds: Datasette
) -> None:
    restricted = site["recordings"]["restricted"]
    for path in ("/archive.json", "/archive/recordings.json", "/archive/segments.json", "/"):
        response = get(private_ds, path)
        assert response.status_code == 403, path
        assert "QK41" not in response.text
    response = get(
        private_ds, f"/-/audio/{Path(restricted['file_path']).name}", headers={"Range": "bytes=0-"}
    )
    assert response.status_code == 403
    sound = (site["folder"] / restricted["file_path"]).read_bytes()
    assert sound[:64] not in response.content


def test_private_archive_opens_with_the_password(
    site: dict[str, Any], private_ds: Datasette
) -> None:
    wrong = login(private_ds, "napacno")
    assert "ds_actor" not in wrong.cookies

    response = login(private_ds, "geslo-123")
    assert response.status_code == 302, response.text[:300]
    actor = response.cookies["ds_actor"]
    headers = {"cookie": f"ds_actor={actor}"}
    listed = get(private_ds, "/archive/recordings.json?_shape=array", headers=headers)
    assert listed.status_code == 200
    assert RESTRICTED["title"] in {row["title"] for row in listed.json()}
    restricted = site["recordings"]["restricted"]
    sound = get(private_ds, f"/-/audio/{Path(restricted['file_path']).name}", headers=headers)
    assert sound.status_code == 200
    assert sound.content == (site["folder"] / restricted["file_path"]).read_bytes()


def test_python_search_on_the_public_database(site: dict[str, Any], audio: dict[str, Any]) -> None:
    """The public site calls livingmemory.search.search on public.db (a path or a
    sqlite_utils Database): same hits as the archive, public ones only, links to the
    published audio."""
    import sqlite_utils

    from livingmemory.search import search

    by_path = search(site["public_db"], "v Kranju")
    assert [(h.matched, h.recording_id) for h in by_path] == [
        ("title", site["ids"]["sl"]),
        ("tag", site["ids"]["sl"]),
    ]
    assert by_path[1].link == f"{audio['url']}#t=0"
    assert by_path[1].narrators == PUBLIC_SL["narrator"]
    db = sqlite_utils.Database(site["public_db"])
    assert search(db, "v Kranju") == by_path
    assert [h.recording_id for h in search(db, "Kranj", narrator="Kos")] == []
    assert [h.matched for h in search(db, "Bohinj", language="en")] == ["title", "tag"]
    assert search(db, "Skrivnost") == []  # restricted text is not in the file at all
    db.close()
