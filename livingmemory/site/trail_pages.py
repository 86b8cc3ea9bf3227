"""The heritage trails on the public site: list, trail page, GPX file, printable stop posters.

Everything is read from the public database's trail tables, which publish fills with public
moments only (:func:`livingmemory.site.trails.write_public_trails`); a page never looks at
the archive. Routes (added to the site by :func:`livingmemory.site.pages.site_routes`):

* ``/poti``: the trails;
* ``/pot/<slug>``: the map with numbered stops and the route, and each stop with a player
  at each moment;
* ``/pot/<slug>.gpx``: waypoints and a route (GPX 1.1, written by gpxpy) for a walker's phone;
* ``/pot/<slug>/postaja/<n>``: an A4 poster for stop ``n`` (print CSS), with a QR code per
  moment that opens the interview at that second (``/intervju/3#t=754``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from livingmemory.archive.sqlite import sqlite3
from livingmemory.site import maps
from livingmemory.site.pages import Page, _allowed, _db_call, _not_found, _rows, recordings_by_id
from livingmemory.timecodes import clock

TRAIL_STRINGS: dict[str, tuple[str, str]] = {
    "trail": ("Pot", "Trail"),
    "stops": ("Postaje", "Stops"),
    "stop": ("Postaja", "Stop"),
    "gpx": ("Prenesi pot za telefon ali GPS (GPX)", "Download the trail for a phone or GPS (GPX)"),
    "poster": ("Plakat za tisk (A4)", "Poster to print (A4)"),
    "scan": ("Skeniraj in poslušaj", "Scan and listen"),
    "poster_hint": (
        "Skeniraj kodo s telefonom: intervju se odpre pri trenutku, ko pripovedovalec govori o tem kraju.",  # noqa: E501
        "Scan the code with a phone: the interview opens at the moment the narrator speaks of this place.",  # noqa: E501
    ),
    "print": ("Natisni", "Print"),
    "back_trail": ("Nazaj na pot", "Back to the trail"),
    "no_trails": ("Poti še ni.", "No trails yet."),
    "trail_map": ("Zemljevid poti", "Map of the trail"),
    # The map's own caption speaks of clusters; on a trail the numbers are the stops.
    "map_caption": (
        "Zemljevid poti: številka je postaja, črta vodi od postaje do postaje. Klikni postajo.",
        "Map of the trail: a number is a stop, the line leads from stop to stop. Click a stop.",
    ),
}


def trail_translator(page: Page) -> Callable[[str], str]:
    index = 1 if page.lang == "en" else 0
    return lambda key: TRAIL_STRINGS[key][index] if key in TRAIL_STRINGS else page.t(key)


def has_trails(conn: sqlite3.Connection) -> bool:
    return maps.has_table(conn, "trails")


def trail_list(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Public trails with their number of stops (empty when the database has none)."""
    if not has_trails(conn):
        return []
    return _rows(
        conn,
        "SELECT t.slug, t.title, t.description, (SELECT count(*) FROM trail_stops s "
        "WHERE s.trail_id = t.id) AS stops FROM trails t ORDER BY t.title LIMIT 200",
    )


def snippet(conn: sqlite3.Connection, recording_id: int, at: float) -> str:
    """The published words spoken from second ``at``: the segment under it and the next."""
    lines = _rows(
        conn,
        "SELECT text FROM segments WHERE recording_id = ? AND end > ? ORDER BY start LIMIT 2",
        [recording_id, at],
    )
    return " ".join(line["text"] for line in lines)


def public_trail(conn: sqlite3.Connection, slug: str) -> dict[str, Any] | None:
    """One public trail with its stops, each with its moments (recording, snippet)."""
    if not has_trails(conn):
        return None
    found = _rows(conn, "SELECT * FROM trails WHERE slug = ?", [slug])
    if not found:
        return None
    trail = found[0]
    stops = _rows(
        conn, "SELECT * FROM trail_stops WHERE trail_id = ? ORDER BY position", [trail["id"]]
    )
    moments = _rows(
        conn,
        "SELECT m.* FROM trail_moments m JOIN trail_stops s ON s.id = m.stop_id "
        "WHERE s.trail_id = ? ORDER BY s.position, m.position",
        [trail["id"]],
    )
    recordings = recordings_by_id(conn, [m["recording_id"] for m in moments])
    for stop in stops:
        stop["moments"] = []
    by_stop = {stop["id"]: stop for stop in stops}
    for moment in moments:
        if moment["recording_id"] not in recordings:
            continue
        moment["recording"] = recordings[moment["recording_id"]]
        moment["text"] = snippet(conn, moment["recording_id"], moment["at"])
        by_stop[moment["stop_id"]]["moments"].append(moment)
    trail["stops"] = [stop for stop in stops if stop["moments"]]
    # A stop's place has a page only if an interview belongs to it (else the link would 404).
    names = sorted({stop["place"] for stop in trail["stops"]})
    with_page: set[str] = set()
    if names and maps.has_table(conn, "browse"):
        marks = ",".join("?" * len(names))
        with_page = {
            row[0]
            for row in conn.execute(
                f"SELECT name FROM browse WHERE kind = 'place' AND name IN ({marks})", names
            )
        }
    for number, stop in enumerate(trail["stops"], 1):
        stop["number"] = number
        stop["has_page"] = stop["place"] in with_page
    return trail


def moment_url(page: Page, moment: dict[str, Any]) -> str:
    """The absolute address that opens an interview at a moment (what a QR code holds)."""
    return page.absolute(f"/intervju/{moment['recording_id']}") + f"#t={int(moment['at'])}"


def qr_svg(url: str, label: str) -> Markup:
    """A QR code for ``url`` as inline SVG (segno), named for screen readers."""
    import segno

    svg = segno.make(url, error="m").svg_inline(scale=5, dark="#000", light="#fff", omitsize=True)
    return Markup(
        svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    )  # segno's own markup, and the label escaped


def trail_gpx(trail: dict[str, Any], trail_url: str, moment_link: Callable[[Any], str]) -> str:
    """GPX 1.1: a waypoint per stop (name, what is told there, a link to the moment) and the
    route through them in order."""
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Living Memory (livingmemory)"
    gpx.name = trail["title"]
    gpx.description = trail["description"]
    gpx.link, gpx.link_text = trail_url, trail["title"]
    route = gpxpy.gpx.GPXRoute(name=trail["title"], description=trail["description"])
    for number, stop in enumerate(trail["stops"], 1):
        name = f"{number}. {stop['title'] or stop['place']}"
        told = "; ".join(f"{m['recording']['title']} ({clock(m['at'])})" for m in stop["moments"])
        description = " ".join(filter(None, [stop["description"], told]))
        waypoint = gpxpy.gpx.GPXWaypoint(
            stop["latitude"], stop["longitude"], name=name, description=description
        )
        waypoint.link = moment_link(stop["moments"][0])  # type: ignore[assignment]
        waypoint.link_text = stop["moments"][0]["recording"]["title"]
        gpx.waypoints.append(waypoint)
        route.points.append(gpxpy.gpx.GPXRoutePoint(stop["latitude"], stop["longitude"], name=name))
    gpx.routes.append(route)
    return gpx.to_xml(version="1.1")


def _trail_map(page: Page, trail: dict[str, Any]) -> dict[str, Any]:
    places = [
        {"name": stop["place"], "latitude": stop["latitude"], "longitude": stop["longitude"],
         "recordings": len(stop["moments"]), "number": number}
        for number, stop in enumerate(trail["stops"], 1)
    ]  # fmt: skip
    anchors = {stop["place"]: stop for stop in reversed(trail["stops"])}

    def href(name: str) -> str:
        stop = anchors[name]
        if stop["has_page"]:
            return page.url(f"/kraj/{quote(name, safe='')}")
        return f"#postaja-{stop['number']}"

    return maps.page_map(page, places, route=[p["name"] for p in places], href=href)


# -- routes -------------------------------------------------------------------------------------


async def trails_view(datasette: Any, request: Any) -> Any:
    await _allowed(datasette, request)
    page = Page(datasette, request)
    found = await _db_call(datasette, trail_list)
    return page.render("trails.html", trails=found, t=trail_translator(page))


async def _load(datasette: Any, request: Any) -> tuple[Page, dict[str, Any] | None]:
    await _allowed(datasette, request)
    page = Page(datasette, request)
    slug = request.url_vars["slug"]
    return page, await _db_call(datasette, lambda conn: public_trail(conn, slug))


async def trail_view(datasette: Any, request: Any) -> Any:
    page, trail = await _load(datasette, request)
    if trail is None or not trail["stops"]:
        return _not_found(page)
    return page.render(
        "trail.html",
        trail=trail,
        trail_map=_trail_map(page, trail),
        t=trail_translator(page),
        moment_url=lambda m: moment_url(page, m),
    )


async def trail_gpx_view(datasette: Any, request: Any) -> Any:
    from datasette.utils.asgi import Response

    page, trail = await _load(datasette, request)
    if trail is None or not trail["stops"]:
        return _not_found(page)
    xml = trail_gpx(
        trail, page.absolute(f"/pot/{quote(trail['slug'])}"), lambda m: moment_url(page, m)
    )
    response = Response(xml, content_type="application/gpx+xml; charset=utf-8")
    response.headers["content-disposition"] = f'attachment; filename="{trail["slug"]}.gpx"'
    return response


async def poster_view(datasette: Any, request: Any) -> Any:
    page, trail = await _load(datasette, request)
    number = int(request.url_vars["n"])
    if trail is None or not 1 <= number <= len(trail["stops"]):
        return _not_found(page)
    stop = trail["stops"][number - 1]
    t = trail_translator(page)
    codes = [
        qr_svg(moment_url(page, m), f"{t('scan')}: {m['recording']['title']}, {clock(m['at'])}")
        for m in stop["moments"]
    ]
    return page.render(
        "poster.html",
        trail=trail,
        stop=stop,
        number=number,
        codes=codes,
        t=t,
        moment_url=lambda m: moment_url(page, m),
    )


def trail_routes() -> list[tuple[str, Callable[..., Any]]]:
    slug = r"(?P<slug>[a-z0-9-]{1,60})"
    return [
        (r"^/poti$", trails_view),
        (rf"^/pot/{slug}$", trail_view),
        (rf"^/pot/{slug}\.gpx$", trail_gpx_view),
        (rf"^/pot/{slug}/postaja/(?P<n>\d{{1,3}})$", poster_view),
    ]
