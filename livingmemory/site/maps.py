"""The map of places: coordinates for every place an interview names, and the map pages draw.

Three things, one module:

* **Coordinates at publish time.** The tagger gives coordinates only to places a transcript
  mentions; the place an interview was recorded in, a narrator's home and the place of an
  index point come from metadata as plain names. :func:`write_map_places` gives each such
  name the gazetteer's coordinates (``tagging/gazetteer.py``, the shipped
  ``data/gazetteer.yml`` plus the archive's own vocabulary; names and aliases, any case), or
  the tagger's, or those typed on an index point, and writes the small ``map_places`` table
  of the public database (one row per located place, with how many interviews name it). It
  is a whole-table rewrite: a few hundred rows, cheap on every publish.
* **One count.** :func:`place_interviews` is the one rule of which interviews belong to a
  place (recorded there, a narrator from there, mentioned, an index point there), used for
  the map's numbers.
* **The drawing.** :func:`render_map` projects the places (Web Mercator, as every tile
  server) into an SVG the server writes: tiles from a configurable tile server (OpenStreetMap
  by default, with its attribution; ``plugins: {livingmemory: {map: {tiles: ""}}}`` turns
  them off) over a bundled outline of Slovenia and Gorenjska (``data/outlines.geojson``, GURS
  statistical regions, CC BY 4.0), so without a network the map is still a map and never a
  grey box. Each place is an ``<a>`` with ``data-lat``/``data-lon`` linking to its page;
  places closer than a pin's width are drawn as one numbered cluster, which ``map.js`` opens
  (zooms in) on click or Enter, and a plain list under the map names every place for screen
  readers and for anyone without JavaScript. No map library, no request to anyone but the
  tile server.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from livingmemory.archive.sqlite import sqlite3

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
OSM_ATTRIBUTION_URL = "https://www.openstreetmap.org/copyright"
OUTLINES_ATTRIBUTION = "Meje / boundaries: GURS (CC BY 4.0)"
TILE = 256
# The drawing area in SVG units (pixels at the chosen zoom); the SVG scales to its box.
WIDTH, HEIGHT = 640, 440
PAD = 40
MAX_ZOOM = 13
CLUSTER_RADIUS = 40.0  # SVG units: about 22 px on a 390 px phone, where pins would touch
# What the map shows: Slovenia and its edges. Places further away (Cleveland, Dachau) stay
# in the list under the map; drawing them would shrink Gorenjska to a dot.
NEAR = (45.2, 47.0, 13.0, 16.8)  # south, north, west, east
# The smallest area a map covers (degrees), so one village is shown among its neighbours.
MIN_SPAN = (0.16, 0.32)  # latitude, longitude
# Gorenjska's bounding box: what an empty map shows.
GORENJSKA = (46.05, 46.53, 13.72, 14.62)


# -- coordinates (publish) ----------------------------------------------------------------


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the (public) database has table or view ``name``: tables other stages add
    (index points, trails) may be absent from an older file."""
    return bool(
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", [name]
        ).fetchone()
    )


def place_links_sql(conn: sqlite3.Connection) -> str:
    """``(name, recording_id, mention)`` rows: every way an interview belongs to a place.

    The browse table's rule for places (recorded there, a narrator from there, mentioned in
    the transcript: :data:`livingmemory.site.pages.BROWSE_LINKS`), plus an index point placed
    there when the public database has index points.
    """
    from livingmemory.site.pages import BROWSE_LINKS, INDEX_POINT_PLACES

    sql = BROWSE_LINKS["place"]
    if not has_table(conn, "index_points"):  # published before index points existed
        sql = sql.replace(INDEX_POINT_PLACES, "")
    return sql


def place_interviews(
    conn: sqlite3.Connection, recording_ids: list[int] | None = None
) -> dict[str, dict[str, int]]:
    """Per place name: ``{"recordings": interviews, "mentions": mentions}`` in the public
    database (all of it, or only what ``recording_ids`` contribute). THE count of a place's
    interviews for the map; one function so the site's other counts can share it."""
    if recording_ids is None and has_table(conn, "browse"):
        # The same rule, already counted at publish (and kept up to date incrementally) in
        # the browse table: a few thousand rows instead of every mention in the archive.
        return {
            name: {"recordings": n, "mentions": m or 0}
            for name, n, m in conn.execute(
                "SELECT name, recordings, mentions FROM browse WHERE kind = 'place'"
            )
            if name
        }
    where = ""
    params: list[Any] = []
    if recording_ids is not None:
        if not recording_ids:
            return {}
        where = f"AND l.recording_id IN ({','.join('?' * len(recording_ids))})"
        params = list(recording_ids)
    rows = conn.execute(
        "SELECT l.name, count(DISTINCT l.recording_id), sum(l.mention) "
        f"FROM ({place_links_sql(conn)}) l WHERE trim(l.name) != '' {where} "
        "GROUP BY l.name",
        params,
    )
    return {name: {"recordings": n, "mentions": m or 0} for name, n, m in rows}


@dataclass
class Locator:
    """Coordinates by place name: typed ones, the tagger's, then the gazetteer's."""

    known: dict[str, tuple[float, float, str]] = field(default_factory=dict)

    def add(self, name: str | None, lat: Any, lon: Any, source: str) -> None:
        if not name or lat is None or lon is None:
            return
        try:
            point = (float(lat), float(lon))
        except (TypeError, ValueError):
            return
        if -90 <= point[0] <= 90 and -180 <= point[1] <= 180:
            self.known.setdefault(name.strip().casefold(), (*point, source))

    def find(self, name: str) -> tuple[float, float, str] | None:
        return self.known.get(name.strip().casefold())


@lru_cache(maxsize=1)
def _shipped_locator() -> Locator:
    """The shipped gazetteer's places, read once per process (a second or more of YAML)."""
    from livingmemory.tagging.gazetteer import load_gazetteer

    locator = Locator()
    # Later entries win a name in the gazetteer; the locator keeps the first it is given.
    for entry in reversed(list(load_gazetteer())):
        if entry.kind != "place" or entry.lat is None or entry.lon is None:
            continue
        for name in entry.names:
            locator.add(name, entry.lat, entry.lon, "gazetteer")
    return locator


def gazetteer_locator(vocabulary: list[dict[str, Any]] = ()) -> Locator:  # type: ignore[assignment]
    """A locator over the gazetteer, the archive's vocabulary winning a name (as in tagging)."""
    locator = Locator()
    for row in vocabulary:
        if row.get("kind") == "place":
            names = [row["name"], *(json.loads(row["aliases"]) if row.get("aliases") else [])]
            for name in names:
                locator.add(name, row.get("latitude"), row.get("longitude"), "gazetteer")
    for key, value in _shipped_locator().known.items():
        locator.known.setdefault(key, value)
    return locator


def archive_vocabulary(archive: Any) -> list[dict[str, Any]]:
    if "vocabulary" not in archive.db.table_names():
        return []
    return list(archive.db["vocabulary"].rows)


def map_rows(archive: Any, conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The ``map_places`` rows for a public database: located places with their counts."""
    counts = place_interviews(conn)
    locator = Locator()
    if has_table(conn, "index_points"):
        columns = {row[1] for row in conn.execute("PRAGMA table_info(index_points)")}
        if {"place", "lat", "lon"} <= columns:
            for name, lat, lon in conn.execute(
                "SELECT place, lat, lon FROM index_points WHERE lat IS NOT NULL ORDER BY id"
            ):
                locator.add(name, lat, lon, "index")
    for name, lat, lon in conn.execute(
        "SELECT name, latitude, longitude FROM places WHERE latitude IS NOT NULL ORDER BY id"
    ):
        locator.add(name, lat, lon, "tagger")
    gazetteer: Locator | None = None
    rows = []
    for name in sorted(counts):
        found = locator.find(name)
        if found is None:
            if gazetteer is None:  # read only when some place needs it
                gazetteer = gazetteer_locator(archive_vocabulary(archive))
            found = gazetteer.find(name)
        if found is None:
            continue
        rows.append(
            {"name": name, "latitude": round(found[0], 5), "longitude": round(found[1], 5),
             "recordings": counts[name]["recordings"], "mentions": counts[name]["mentions"],
             "source": found[2]}
        )  # fmt: skip
    return rows


MAP_TABLE = "map_places"


def write_map_places(archive: Any, conn: sqlite3.Connection) -> None:
    """Rewrite the public ``map_places`` table (called by publish, full and incremental)."""
    rows = map_rows(archive, conn)
    conn.execute(f"DROP TABLE IF EXISTS {MAP_TABLE}")
    conn.execute(
        f"CREATE TABLE {MAP_TABLE} (name TEXT PRIMARY KEY, latitude REAL NOT NULL, "
        "longitude REAL NOT NULL, recordings INTEGER NOT NULL, mentions INTEGER NOT NULL, "
        "source TEXT NOT NULL)"
    )
    conn.executemany(
        f"INSERT INTO {MAP_TABLE} VALUES (:name, :latitude, :longitude, :recordings, "
        ":mentions, :source)",
        rows,
    )


def published_map_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """What ``map_places`` holds now (empty when the table is missing)."""
    if not has_table(conn, MAP_TABLE):
        return []
    cursor = conn.execute(f"SELECT * FROM {MAP_TABLE} ORDER BY name")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


# -- reading (site pages) -------------------------------------------------------------------


def map_places(
    conn: sqlite3.Connection, names: list[str] | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Located places from ``map_places`` (all, or those named), most interviews first."""
    if not has_table(conn, MAP_TABLE):
        return []
    where, params = "", []
    if names is not None:
        names = sorted({n.strip() for n in names if n and n.strip()})
        if not names:
            return []
        where = f"WHERE name IN ({','.join('?' * len(names))})"
        params = names
    cursor = conn.execute(
        f"SELECT name, latitude, longitude, recordings, mentions FROM {MAP_TABLE} {where} "
        "ORDER BY recordings DESC, mentions DESC, name LIMIT ?",
        [*params, limit],
    )
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor]


def places_of_recordings(conn: sqlite3.Connection, recording_ids: list[int]) -> list[str]:
    """The place names recordings ``recording_ids`` belong to (by :func:`place_interviews`)."""
    return sorted(place_interviews(conn, recording_ids))


# -- drawing ------------------------------------------------------------------------------


def _project(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel coordinates at ``zoom`` (the tile servers' projection)."""
    scale = TILE * 2**zoom
    lat = max(-85.0, min(85.0, lat))
    x = (lon + 180.0) / 360.0 * scale
    sin = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale
    return x, y


@lru_cache(maxsize=1)
def outlines() -> list[dict[str, Any]]:
    """Slovenia's and Gorenjska's outlines (GeoJSON features, lon/lat)."""
    path = resources.files("livingmemory") / "data" / "outlines.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["features"])


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def _path(geometry: dict[str, Any], zoom: int, origin: tuple[float, float]) -> str:
    parts = []
    for ring in _rings(geometry):
        points = []
        for lon, lat in ring:
            x, y = _project(lat, lon, zoom)
            points.append(f"{x - origin[0]:.1f} {y - origin[1]:.1f}")
        parts.append("M" + " L".join(points) + " Z")
    return " ".join(parts)


def _near(place: dict[str, Any]) -> bool:
    south, north, west, east = NEAR
    return south <= place["latitude"] <= north and west <= place["longitude"] <= east


def _view(places: list[dict[str, Any]]) -> tuple[int, tuple[float, float], int, int]:
    """The zoom and top-left corner (pixels) of the smallest map showing every near place."""
    if places:
        lats = [p["latitude"] for p in places]
        lons = [p["longitude"] for p in places]
        south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    else:
        south, north, west, east = GORENJSKA
    middle_lat, middle_lon = (south + north) / 2, (west + east) / 2
    south, north = (
        min(south, middle_lat - MIN_SPAN[0] / 2),
        max(north, middle_lat + MIN_SPAN[0] / 2),
    )
    west, east = min(west, middle_lon - MIN_SPAN[1] / 2), max(east, middle_lon + MIN_SPAN[1] / 2)
    zoom = MAX_ZOOM
    while zoom > 5:
        x0, y0 = _project(north, west, zoom)
        x1, y1 = _project(south, east, zoom)
        if x1 - x0 <= WIDTH - 2 * PAD and y1 - y0 <= HEIGHT - 2 * PAD:
            break
        zoom -= 1
    x0, y0 = _project(north, west, zoom)
    x1, y1 = _project(south, east, zoom)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return zoom, (cx - WIDTH / 2, cy - HEIGHT / 2), WIDTH, HEIGHT


def _clusters(points: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Places closer on screen than :data:`CLUSTER_RADIUS`, linked in chains (single
    linkage), as groups in the order of their first point: a dense valley becomes one
    numbered circle, whichever place comes first. Neighbours are found through a grid of
    cells one radius wide, so hundreds of places cost milliseconds."""
    parent = list(range(len(points)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    cells: dict[tuple[int, int], list[int]] = {}
    for i, point in enumerate(points):
        cell = (int(point["x"] // CLUSTER_RADIUS), int(point["y"] // CLUSTER_RADIUS))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in cells.get((cell[0] + dx, cell[1] + dy), ()):
                    other = points[j]
                    if (
                        math.hypot(point["x"] - other["x"], point["y"] - other["y"])
                        < CLUSTER_RADIUS
                    ):
                        parent[root(i)] = root(j)
        cells.setdefault(cell, []).append(i)
    groups: dict[int, list[dict[str, Any]]] = {}
    for i, point in enumerate(points):
        groups.setdefault(root(i), []).append(point)
    return list(groups.values())


def tile_settings(config: dict[str, Any] | None) -> dict[str, str]:
    """The tile server from ``plugins.livingmemory.map`` (OpenStreetMap unless changed;
    an empty ``tiles`` means the bundled outline only, for an offline site)."""
    settings = dict((config or {}).get("map") or {})
    tiles = settings.get("tiles", OSM_TILES)
    if not tiles:
        return {"tiles": "", "attribution": "", "attribution_url": ""}
    if tiles == OSM_TILES:
        default, default_url = OSM_ATTRIBUTION, OSM_ATTRIBUTION_URL
    else:
        default, default_url = "", ""
    return {
        "tiles": str(tiles),
        "attribution": str(settings.get("attribution", default) or ""),
        "attribution_url": str(settings.get("attribution_url", default_url) or ""),
    }


def render_map(
    places: list[dict[str, Any]],
    *,
    href: Any,
    tiles: dict[str, str] | None = None,
    current: str | None = None,
    route: list[str] | None = None,
) -> dict[str, Any]:
    """Everything the ``place_map`` macro draws: the view, tiles, outlines, pins, clusters.

    ``places`` are rows with name, latitude, longitude, recordings (and mentions);
    ``href(name)`` gives a place's page. ``current`` marks the place a page is about (never
    clustered away). ``route`` names places in order: a trail, drawn as a line with numbered
    stops (no clustering: every stop is a stop).
    """
    tiles = tiles if tiles is not None else tile_settings(None)
    places = [
        {**p, "number": p.get("number"), "far": not _near(p), "href": href(p["name"])}
        for p in places
    ]
    near = [p for p in places if _near(p)]
    far = [p for p in places if not _near(p)]
    zoom, origin, width, height = _view(near)
    points = []
    for index, place in enumerate(near):
        x, y = _project(place["latitude"], place["longitude"], zoom)
        points.append(
            {**place, "x": round(x - origin[0], 1), "y": round(y - origin[1], 1),
             "number": place.get("number"),
             "r": round(10 + 2.5 * math.sqrt(max(1, place.get("recordings") or 1)), 1),
             "current": place["name"] == current, "id": f"p{index}", "hidden": False}
        )  # fmt: skip
    if route is not None:
        groups = [[p] for p in points]
    else:
        ordered = sorted(points, key=lambda p: (not p["current"], -(p.get("recordings") or 0)))
        groups = _clusters(ordered)
    pins, clusters = [], []
    for group in groups:
        if len(group) == 1 or any(p["current"] for p in group):
            pins.extend(group)
            continue
        members = sorted(group, key=lambda p: p["name"])
        xs = [p["x"] for p in members]
        ys = [p["y"] for p in members]
        clusters.append(
            {"x": round(sum(xs) / len(xs), 1), "y": round(sum(ys) / len(ys), 1),
             "count": len(members), "members": members,
             "latitude": round(sum(p["latitude"] for p in members) / len(members), 5),
             "longitude": round(sum(p["longitude"] for p in members) / len(members), 5),
             "box": [min(xs), min(ys), max(xs), max(ys)],
             "r": round(15 + 3 * math.sqrt(len(members)), 1)}
        )  # fmt: skip
        for member in members:
            member["hidden"] = True
            pins.append(member)
    tile_images = []
    if tiles.get("tiles"):
        first_x, first_y = int(origin[0] // TILE), int(origin[1] // TILE)
        last_x, last_y = int((origin[0] + width) // TILE), int((origin[1] + height) // TILE)
        for tx in range(first_x, last_x + 1):
            for ty in range(first_y, last_y + 1):
                url = tiles["tiles"].replace("{z}", str(zoom)).replace("{x}", str(tx))
                tile_images.append(
                    {"href": url.replace("{y}", str(ty)).replace("{s}", "a"),
                     "x": round(tx * TILE - origin[0], 1), "y": round(ty * TILE - origin[1], 1)}
                )  # fmt: skip
    shapes = [
        {"id": feature["properties"]["id"], "name": feature["properties"]["name"],
         "d": _path(feature["geometry"], zoom, origin)}
        for feature in outlines()
    ]  # fmt: skip
    line = ""
    if route is not None:
        by_name = {p["name"]: p for p in points}
        stops = [by_name[name] for name in route if name in by_name]
        line = " ".join(f"{p['x']},{p['y']}" for p in stops)
    return {
        "width": width, "height": height, "zoom": zoom, "tiles": tile_images,
        "attribution": tiles.get("attribution", "") if tile_images else "",
        "attribution_url": tiles.get("attribution_url", "") if tile_images else "",
        "outlines_attribution": OUTLINES_ATTRIBUTION, "outlines": shapes,
        "pins": sorted(pins, key=lambda p: (p.get("number") or 0, p["name"])),
        "clusters": clusters, "far": far, "line": line,
        "places": sorted(places, key=lambda p: (p.get("number") or 0, p["name"])),
        "route": route is not None,
    }  # fmt: skip


def place_page_places(
    conn: sqlite3.Connection, name: str, data: dict[str, Any]
) -> list[dict[str, Any]]:
    """A place page's map: the place and the places of the interviews its page lists."""
    ids = [r["id"] for r in data.get("recorded_here") or []]
    for key in ("narrators", "mentioned"):
        ids += [row["recording_id"] for row in data.get(key) or [] if row.get("recording")]
    names = [name, *places_of_recordings(conn, sorted(set(ids)))]
    return map_places(conn, names)


def page_map(
    page: Any,
    places: list[dict[str, Any]],
    *,
    current: str | None = None,
    route: list[str] | None = None,
    href: Any = None,
) -> dict[str, Any]:
    """:func:`render_map` for a site page (its links, and the archive's tile settings)."""
    from urllib.parse import quote

    config = page.datasette.plugin_config("livingmemory") or {}
    return render_map(
        places,
        href=href or (lambda name: page.url(f"/kraj/{quote(str(name), safe='')}")),
        tiles=tile_settings(config),
        current=current,
        route=route,
    )
