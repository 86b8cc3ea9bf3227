"""The map of places and heritage trails (issue 25, parts 3 and 4), on one published archive.

The map: every place of the metadata gets the gazetteer's coordinates at publish, and the
home, place and interview pages draw a pin per place (an element with data-lat/data-lon
linking to the place page), clusters, the OpenStreetMap attribution (or none when tiles are
off) over the bundled outlines, and a text list.

Trails: imported from YAML with the CLI (bad files change nothing), published with public
moments only (a stop whose moments are all restricted or redacted is dropped), shown as a
page with a map and players, a GPX file gpxpy reads back, and A4 posters with QR codes."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from datasette.app import Datasette
from map_fixtures import HIDDEN, build_map_site
from support import run_cli

from livingmemory.archive.sqlite import sqlite3
from livingmemory.site import maps
from livingmemory.site.serve import merge
from livingmemory.tagging.gazetteer import load_gazetteer

PIN = re.compile(
    r'<a href="(?P<href>[^"]+)" class="pin[^"]*" data-lat="(?P<lat>[-\d.]+)" '
    r'data-lon="(?P<lon>[-\d.]+)" data-name="(?P<name>[^"]+)"'
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]) -> dict[str, Any]:
    return build_map_site(tmp_path_factory.mktemp("site-map") / "archive", audio_files)


def serve(site: dict[str, Any], **config: Any) -> Datasette:
    metadata = (
        merge(site["metadata"], {"plugins": {"livingmemory": config}})
        if config
        else site["metadata"]
    )
    return Datasette(immutables=[str(site["public_db"])], metadata=metadata)


@pytest.fixture(scope="module")
def ds(site: dict[str, Any]) -> Datasette:
    return serve(site)


def get(ds: Datasette, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.get(path)

    return asyncio.run(run())


def pins(html: str) -> dict[str, dict[str, str]]:
    return {m["name"]: m.groupdict() for m in PIN.finditer(html)}


def test_metadata_places_get_gazetteer_coordinates(site: dict[str, Any]) -> None:
    gazetteer = load_gazetteer()
    with sqlite3.connect(site["public_db"]) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT name, latitude, longitude, recordings, source FROM map_places"
            )
        }
    # Recorded there or a narrator's home, never mentioned in a transcript (not even tagged).
    for name in ("Bled", "Kranj", "Škofja Loka", "Lesce", "Radovljica", "Bohinjska Bistrica"):
        entry = gazetteer.get(name)
        assert entry is not None
        assert rows[name][:2] == (round(entry.lat, 5), round(entry.lon, 5)), name
        assert rows[name][3] == "gazetteer"
    assert rows["Bled"][2] == 1
    # Tržič is only the place of a restricted interview: it must not be on the public map.
    assert "Tržič" not in rows


def test_home_page_map_has_a_pin_per_place_clusters_and_a_list(ds: Datasette) -> None:
    html = get(ds, "/").text
    assert 'class="lm-map"' in html
    found = pins(html)
    assert {"Bled", "Kranj", "Škofja Loka", "Lesce", "Radovljica"} <= set(found)
    assert found["Kranj"]["href"] == "/kraj/Kranj"
    assert found["Škofja Loka"]["href"] == "/kraj/%C5%A0kofja%20Loka"
    assert abs(float(found["Kranj"]["lat"]) - 46.2389) < 0.01
    # Lesce and Radovljica lie 2 km apart: at the zoom that shows these places they are one
    # numbered cluster (their pins are still there, shown when it opens).
    clusters = re.findall(
        r'class="cluster" data-lat="[-\d.]+" data-lon="[-\d.]+" data-count="(\d+)"'
        r'[^>]*data-members="([^"]+)"',
        html,
    )
    assert clusters, "dense places are clustered"
    assert any({"Lesce", "Radovljica"} <= set(members.split("|")) for _, members in clusters)
    # The text list names every place, and the map has the outlines and OSM's attribution.
    listing = html[html.index('class="lm-map-list"') :]
    for name in ("Bled", "Kranj", "Škofja Loka", "Lesce", "Radovljica"):
        assert f">{name}</a>" in listing
    assert (
        'class="outline outline-slovenija"' in html and 'class="outline outline-gorenjska"' in html
    )
    assert "tile.openstreetmap.org/" in html and "https://www.openstreetmap.org/copyright" in html
    assert "GURS (CC BY 4.0)" in html
    for hidden in HIDDEN:
        assert hidden not in html


def test_tiles_are_configurable_and_can_be_off(site: dict[str, Any]) -> None:
    own = get(
        serve(
            site,
            map={"tiles": "https://tiles.example.si/{z}/{x}/{y}.png", "attribution": "Naše karte"},
        ),
        "/",
    ).text
    assert "https://tiles.example.si/" in own and "Naše karte" in own and "openstreetmap" not in own
    # Datasette's own map view follows the site's tile server.
    from livingmemory.archive.store import open_archive
    from livingmemory.site.serve import site_metadata

    metadata_file = site["folder"] / "metadata.yml"
    original = metadata_file.read_text("utf-8")
    metadata_file.write_text(
        original + "\nplugins:\n  livingmemory:\n    map:\n"
        "      tiles: https://tiles.example.si/{z}/{x}/{y}.png\n      attribution: Naše karte\n",
        "utf-8",
    )
    try:
        with open_archive(site["archive_db"]) as archive:
            cluster = site_metadata(archive)["plugins"]["datasette-cluster-map"]
    finally:
        metadata_file.write_text(original, "utf-8")
    assert cluster["tile_layer"] == "https://tiles.example.si/{z}/{x}/{y}.png"
    assert cluster["tile_layer_options"] == {"attribution": "Naše karte"}
    offline = get(serve(site, map={"tiles": ""}), "/").text
    assert "<image" not in offline and "openstreetmap" not in offline
    assert 'class="outline outline-gorenjska"' in offline and len(pins(offline)) >= 5


def test_interview_and_place_pages_have_maps(site: dict[str, Any], ds: Datasette) -> None:
    html = get(ds, f"/intervju/{site['ids']['bled']}").text
    # Recorded at Bled, narrator from Bohinjska Bistrica: both pinned, nothing else.
    assert set(pins(html)) == {"Bled", "Bohinjska Bistrica"}
    place = get(ds, "/kraj/Kranj").text
    found = pins(place)
    assert "Kranj" in found and 'class="pin current"' in place


def test_render_map_projection_and_far_places() -> None:
    places = [
        {"name": "Kranj", "latitude": 46.2389, "longitude": 14.3556, "recordings": 2},
        {"name": "Jesenice", "latitude": 46.4306, "longitude": 14.0669, "recordings": 1},
        {"name": "Cleveland", "latitude": 41.4995, "longitude": -81.6954, "recordings": 1},
    ]
    drawn = maps.render_map(places, href=lambda n: f"/kraj/{n}", tiles=maps.tile_settings({}))
    by_name = {p["name"]: p for p in drawn["pins"]}
    assert set(by_name) == {"Kranj", "Jesenice"}  # Cleveland is listed, not drawn
    assert [p["name"] for p in drawn["far"]] == ["Cleveland"]
    # North is up and east is right; both inside the drawing.
    assert by_name["Jesenice"]["y"] < by_name["Kranj"]["y"]
    assert by_name["Jesenice"]["x"] < by_name["Kranj"]["x"]
    for p in by_name.values():
        assert 0 < p["x"] < drawn["width"] and 0 < p["y"] < drawn["height"]
    # Tiles cover the whole view at the chosen zoom.
    xs = sorted({t["x"] for t in drawn["tiles"]})
    assert xs[0] <= 0 and xs[-1] + 256 >= drawn["width"]


def public(site: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(site["public_db"]) as conn:
        return list(conn.execute(sql))


def test_public_trail_keeps_only_public_moments(site: dict[str, Any]) -> None:
    ids = site["ids"]
    stops = public(site, "SELECT position, place, title FROM trail_stops ORDER BY position")
    # Škofja Loka's only moment is in a redacted passage, Tržič's in a restricted interview:
    # both stops are dropped and the rest renumbered.
    assert stops == [(1, "Bled", "Blejsko jezero"), (2, "Kranj", None)]
    moments = public(site, "SELECT recording_id, at FROM trail_moments ORDER BY stop_id, position")
    assert moments == [(ids["bled"], 0.0), (ids["kranj"], 1.5)]
    assert ids["secret"] not in {
        r[0] for r in public(site, "SELECT recording_id FROM trail_moments")
    }
    # The archive still has the whole trail as composed.
    result = run_cli("trail", "list", "--archive", site["archive_db"], "--json")
    listed = json.loads(result.stdout)
    assert [(t["slug"], t["stops"], t["moments"]) for t in listed] == [("po-poteh-spominov", 4, 5)]


def test_trail_page_map_stops_and_players(site: dict[str, Any], ds: Datasette) -> None:
    ids = site["ids"]
    html = get(ds, "/pot/po-poteh-spominov").text
    assert '<html lang="sl">' in html and "Po poteh spominov" in html
    found = pins(html)
    assert set(found) == {"Bled", "Kranj"}
    assert '<polyline class="route"' in html
    assert f'href="/intervju/{ids["bled"]}#t=0"' in html
    assert f'href="/intervju/{ids["kranj"]}#t=1"' in html
    assert 'class="lm-play play"' in html and 'data-start="1.5"' in html
    assert "Na Bledu smo vsako zimo drsali po jezeru." in html  # the words at the moment
    assert 'href="/pot/po-poteh-spominov.gpx"' in html
    for hidden in [*HIDDEN, "Škofjeloški"]:
        assert hidden not in html
    listing = get(ds, "/poti").text
    assert "Po poteh spominov" in listing and "2 postaji" in listing  # the dual, in Slovenian
    assert 'href="/pot/po-poteh-spominov"' in get(ds, "/").text
    assert get(ds, "/pot/ni-take-poti").status_code == 404


def test_gpx_export_reads_back_with_gpxpy(site: dict[str, Any], ds: Datasette) -> None:
    import gpxpy

    response = get(ds, "/pot/po-poteh-spominov.gpx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/gpx+xml")
    assert 'version="1.1"' in response.text and "http://www.topografix.com/GPX/1/1" in response.text
    gpx = gpxpy.parse(response.text)
    assert gpx.name == "Po poteh spominov"
    assert [w.name for w in gpx.waypoints] == ["1. Blejsko jezero", "2. Kranj"]
    assert abs(gpx.waypoints[1].latitude - 46.2389) < 0.01
    assert gpx.waypoints[0].link.endswith(f"/intervju/{site['ids']['bled']}#t=0")
    assert [(p.latitude, p.longitude) for p in gpx.routes[0].points] == [
        (w.latitude, w.longitude) for w in gpx.waypoints
    ]
    for hidden in HIDDEN:
        assert hidden not in response.text


def test_gpx_export_is_valid_against_the_gpx_1_1_schema(site: dict[str, Any], ds: Datasette):
    """The standard's own schema (TopoGrafix's gpx.xsd), not only a reader's leniency."""
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(Path(__file__).parent / "schemas" / "gpx" / "gpx.xsd")
    response = get(ds, "/pot/po-poteh-spominov.gpx")
    errors = [str(error.reason) for error in schema.iter_errors(response.text)]
    assert not errors, errors


def test_poster_has_a_qr_code_of_the_moment(site: dict[str, Any], ds: Datasette) -> None:
    import segno

    html = get(ds, "/pot/po-poteh-spominov/postaja/2").text
    url = f"http://localhost/intervju/{site['ids']['kranj']}#t=1"
    assert url in html
    # The code on the poster is the QR code of that address (segno draws the same path).
    expected = segno.make(url, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", omitsize=True
    )
    path = re.search(r'<path[^>]* d="([^"]+)"', expected)
    assert path and path.group(1) in html
    assert '<svg role="img" aria-label="Skeniraj in poslušaj' in html
    assert (
        "@page { size: A4"
        in (Path(__file__).parents[1] / "livingmemory/static/trails.css").read_text()
    )
    assert get(ds, "/pot/po-poteh-spominov/postaja/3").status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("recording: {kranj}, at: 1.5", "there is no recording #999"),
        ("place: Kranj", "the gazetteer does not know 'Nikjerdol'"),
        ("at: 1.5}", "past the end of recording"),
        ("title: Po poteh spominov", "no trails in the file"),
    ],
)
def test_bad_trail_files_change_nothing(
    site: dict[str, Any], tmp_path: Path, change: str, message: str
) -> None:
    text = site["trail_file"].read_text("utf-8")
    ids = site["ids"]
    bad = {
        "there is no recording #999": text.replace(
            f"recording: {ids['kranj']}, at: 1.5", "recording: 999, at: 1"
        ),
        "the gazetteer does not know 'Nikjerdol'": text.replace("place: Kranj", "place: Nikjerdol"),
        "past the end of recording": text.replace("at: 1.5}", "at: 99999}"),
        "no trails in the file": "",
    }[message]
    assert bad != text
    path = tmp_path / "bad.yml"
    path.write_text(bad, "utf-8")
    before = run_cli("trail", "list", "--archive", site["archive_db"], "--json").stdout
    result = run_cli("trail", "import", path, "--archive", site["archive_db"])
    assert result.exit_code != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert run_cli("trail", "list", "--archive", site["archive_db"], "--json").stdout == before


def test_stop_with_typed_coordinates(site: dict[str, Any], tmp_path: Path) -> None:
    from livingmemory.archive.store import open_archive
    from livingmemory.site.trails import get_trail, load_trails

    path = tmp_path / "one.yml"
    path.write_text(
        f"title: Skrita pot\nstops:\n  - place: Nikjerdol\n    lat: 46.3\n    lon: 14.2\n"
        f"    moments: [{{recording: {site['ids']['bled']}, at: '0:01'}}]\n",
        "utf-8",
    )
    with open_archive(site["archive_db"]) as archive:
        (trail,) = load_trails(archive, path)
        assert (trail.slug, trail.stops[0].latitude, trail.stops[0].moments[0].at) == (
            "skrita-pot",
            46.3,
            1.0,
        )
        assert get_trail(archive, "skrita-pot") is None  # loading writes nothing


def test_stop_at_a_place_without_interviews_links_to_itself(site: dict[str, Any]) -> None:
    """A stop whose place no interview belongs to has no place page: its pin and list entry
    link to the stop on the trail page instead of a page that would not exist."""
    from livingmemory.archive.store import open_archive
    from livingmemory.site.publish import publish
    from livingmemory.site.trails import remove_trail, save_trail, trail_from_data

    data = {"title": "Skrita pot", "stops": [
        {"place": "Nikjerdol", "lat": 46.3, "lon": 14.2,
         "moments": [{"recording": site["ids"]["kranj"], "at": 1}]},
        {"place": "Kranj", "moments": [{"recording": site["ids"]["kranj"], "at": 0}]},
    ]}  # fmt: skip
    with open_archive(site["archive_db"]) as archive:
        save_trail(archive, trail_from_data(data, archive))
        publish(archive)
    try:
        html = get(serve(site), "/pot/skrita-pot").text
        found = pins(html)
        assert found["Nikjerdol"]["href"] == "#postaja-1"
        assert found["Kranj"]["href"] == "/kraj/Kranj"
        assert "/kraj/Nikjerdol" not in html
    finally:
        with open_archive(site["archive_db"]) as archive:
            remove_trail(archive, "skrita-pot")
            publish(archive)


def test_map_table_follows_incremental_publish(site: dict[str, Any], tmp_path: Path) -> None:
    """A vocabulary place added later (no recording changed) reaches the map on the next
    publish, which stays incremental."""
    from livingmemory.archive.store import open_archive
    from livingmemory.site.publish import publish
    from livingmemory.tagging.vocabulary import add_entry

    with open_archive(site["archive_db"]) as archive:
        before = publish(archive)
        assert before.incremental
        archive.db.execute(
            "UPDATE people SET home_place = 'Planina Zgornja QZ' WHERE name = 'Jože Pavlin'"
        )
        archive.db.conn.commit()
        add_entry(archive, "Planina Zgornja QZ", "place", "pasture", 46.33, 14.0, [], False)
        result = publish(archive)
    with sqlite3.connect(site["public_db"]) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM map_places")}
    assert "Planina Zgornja QZ" in names
    assert result.rewritten  # the narrator's home changed: that recording was rewritten


def test_withdrawn_interview_leaves_the_published_trail(site: dict[str, Any]) -> None:
    """An interview made restricted after the trail was published: the next (incremental)
    publish drops its moments, and the stop they were the only moments of."""
    from livingmemory.archive.store import open_archive
    from livingmemory.site.publish import publish

    kranj = site["ids"]["kranj"]
    with open_archive(site["archive_db"]) as archive:
        archive.db.execute("UPDATE recordings SET access = 'restricted' WHERE id = ?", [kranj])
        archive.db.conn.commit()
        assert publish(archive).incremental
    try:
        assert public(site, "SELECT place FROM trail_stops ORDER BY position") == [("Bled",)]
        moments = f"SELECT count(*) FROM trail_moments WHERE recording_id = {int(kranj)}"
        assert public(site, moments) == [(0,)]
        html = get(serve(site), "/pot/po-poteh-spominov").text
        assert "Kranj po vojni" not in html and f"/intervju/{kranj}" not in html
    finally:
        with open_archive(site["archive_db"]) as archive:
            archive.db.execute("UPDATE recordings SET access = 'public' WHERE id = ?", [kranj])
            archive.db.conn.commit()
            publish(archive)
    assert public(site, "SELECT place FROM trail_stops ORDER BY position") == [
        ("Bled",),
        ("Kranj",),
    ]


def test_trail_changes_reach_an_incremental_publish(site: dict[str, Any]) -> None:
    """Removing a trail changes no recording; the next (incremental) publish still drops it."""
    from livingmemory.archive.store import open_archive
    from livingmemory.site.publish import publish

    result = run_cli("trail", "remove", "po-poteh-spominov", "--archive", site["archive_db"])
    assert result.exit_code == 0, str(result)
    with open_archive(site["archive_db"]) as archive:
        done = publish(archive)
    assert done.incremental and not done.rewritten
    assert public(site, "SELECT count(*) FROM trails") == [(0,)]
    again = run_cli("trail", "remove", "po-poteh-spominov", "--archive", site["archive_db"])
    assert again.exit_code != 0 and "there is no trail" in again.stderr


def test_index_points_places_reach_the_map(tmp_path: Path) -> None:
    """The contract with index points: a public ``index_points`` table's places count towards
    their interview, with typed coordinates first, else the gazetteer's; no table, no rows."""
    from livingmemory.archive.store import init_archive, open_archive

    init_archive(tmp_path / "archive.db")
    conn = sqlite3.connect(tmp_path / "public.db")
    conn.executescript(
        """
        CREATE TABLE recordings (id INTEGER PRIMARY KEY, place TEXT);
        CREATE TABLE people (id INTEGER PRIMARY KEY, home_place TEXT);
        CREATE TABLE recording_people (recording_id INT, person_id INT, role TEXT);
        CREATE TABLE entities (recording_id INT, label TEXT, canonical TEXT);
        CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT, latitude REAL, longitude REAL);
        INSERT INTO recordings VALUES (1, 'Kranj'), (2, NULL);
        """
    )
    with open_archive(tmp_path / "archive.db") as archive:
        assert {r["name"] for r in maps.map_rows(archive, conn)} == {"Kranj"}
        conn.executescript(
            """
            CREATE TABLE index_points (id INTEGER PRIMARY KEY, recording_id INT, at REAL,
              title TEXT, place TEXT, lat REAL, lon REAL);
            INSERT INTO index_points VALUES
              (1, 2, 10, 'Na planini', 'Planina Kofce QZ', 46.41, 14.2),
              (2, 2, 20, 'V Kranju', 'Kranj', NULL, NULL),
              (3, 1, 5, 'Jesenice', 'Jesenice', NULL, NULL);
            """
        )
        rows = {r["name"]: r for r in maps.map_rows(archive, conn)}
    assert (
        rows["Planina Kofce QZ"]["latitude"] == 46.41
        and rows["Planina Kofce QZ"]["source"] == "index"
    )
    assert rows["Kranj"]["recordings"] == 2 and rows["Kranj"]["source"] == "gazetteer"
    assert rows["Jesenice"]["recordings"] == 1
    # An index point places its interview there; it is not a mention in the transcript.
    assert maps.place_interviews(conn, [2]) == {
        "Kranj": {"recordings": 1, "mentions": 0},
        "Planina Kofce QZ": {"recordings": 1, "mentions": 0},
    }
