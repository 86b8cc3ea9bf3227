"""Composing heritage trails in the volunteers' workspace: one form per trail.

``/-/workspace/poti`` lists the archive's trails and opens an empty form;
``/-/workspace/poti/<slug>`` edits one (or removes it). The form is a table of rows, each a
place, an interview, a time (``12:34``) and a note; consecutive rows with the same place are
one stop with several moments, so a volunteer never types YAML. The rows go through the same
check and save as ``livingmemory trail import`` (:mod:`livingmemory.site.trails`), and like
every workspace page this needs a logged-in team member and Datasette's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from datasette.utils.asgi import Response

from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError
from livingmemory.site import trails as tr
from livingmemory.site.workspace_pages import ROOT, guarded, in_archive, render
from livingmemory.timecodes import clock

BLANK_ROWS = 4
MAX_ROWS = 80


def rows_from_trail(trail: tr.Trail | None) -> list[dict[str, Any]]:
    """The form's rows for a saved trail (one per moment), plus blank rows to add stops."""
    rows: list[dict[str, Any]] = []
    for stop in trail.stops if trail else []:
        for number, moment in enumerate(stop.moments):
            rows.append(
                {"place": stop.place, "recording": str(moment.recording_id),
                 "at": clock(moment.at) if moment.at == int(moment.at) else f"{moment.at:g}",
                 "note": moment.note or "",
                 "stop_title": stop.title or ""}
            )  # fmt: skip
            if number == 0:  # what the form has no field for rides along: see trail_data
                rows[-1]["kept"] = {"stop_place": stop.place, "lat": str(stop.latitude),
                                    "lon": str(stop.longitude),
                                    "stop_description": stop.description or ""}  # fmt: skip
    return (
        rows + [{"place": "", "recording": "", "at": "", "note": "", "stop_title": ""}] * BLANK_ROWS
    )


def trail_data(posted: Any) -> dict[str, Any]:
    """The mapping :func:`trails.trail_from_data` checks, from the form's rows: rows with a
    place, consecutive rows with the same place making one stop."""
    stops: list[dict[str, Any]] = []
    for index in range(1, MAX_ROWS + 1):
        place = (posted.get(f"place_{index}") or "").strip()
        if not place:
            continue
        moment = {
            "recording": (posted.get(f"recording_{index}") or "").strip() or None,
            "at": (posted.get(f"at_{index}") or "0").strip() or "0",
            "note": posted.get(f"note_{index}") or None,
        }
        title = (posted.get(f"stop_title_{index}") or "").strip() or None
        if stops and stops[-1]["place"] == place:
            stops[-1]["moments"].append(moment)
            stops[-1]["title"] = stops[-1]["title"] or title
        else:
            stops.append({"place": place, "title": title, "moments": [moment]})
        # A saved stop's description and coordinates (typed or the gazetteer's) come back in
        # hidden fields of its first row; kept only while the row still names that place, so
        # saving the form never drops what `trail import` wrote.
        if (posted.get(f"stop_place_{index}") or "").strip() == place:
            kept = {key: (posted.get(f"{key}_{index}") or "").strip()
                    for key in ("lat", "lon", "stop_description")}  # fmt: skip
            if kept["lat"] and kept["lon"] and "lat" not in stops[-1]:
                stops[-1]["lat"], stops[-1]["lon"] = kept["lat"], kept["lon"]
            if kept["stop_description"] and not stops[-1].get("description"):
                stops[-1]["description"] = kept["stop_description"]
    return {
        "title": posted.get("title"),
        "slug": posted.get("slug") or None,
        "description": posted.get("description") or None,
        "stops": stops,
    }


def _choices(archive: Archive) -> dict[str, Any]:
    recordings = list(archive.db.query("SELECT id, title, access FROM recordings ORDER BY id"))
    return {"recordings": recordings, "trails": tr.list_trails(archive)}


@guarded
async def trails_page(request: Any, datasette: Any) -> Response:
    slug = request.url_vars.get("slug")
    message = error = None
    posted: Any = None
    if request.method == "POST":
        posted = await request.post_vars()
        if posted.get("remove") and slug:
            try:
                await in_archive(datasette, lambda a: tr.remove_trail(a, slug))
            except LivingMemoryError as problem:
                error = str(problem)
            else:
                return Response.redirect(datasette.urls.path(f"{ROOT}/poti"))
        else:
            data = trail_data(posted)
            if slug and not data["slug"]:
                data["slug"] = slug

            def save(archive: Archive) -> str:
                trail = tr.trail_from_data(data, archive, "pot / trail")
                if slug and trail.slug != slug:
                    tr.remove_trail(archive, slug)
                tr.save_trail(archive, trail)
                return trail.slug

            try:
                saved = await in_archive(datasette, save)
            except LivingMemoryError as problem:
                error = str(problem)
            else:
                target = datasette.urls.path(f"{ROOT}/poti/{quote(saved)}")
                return Response.redirect(f"{target}?shranjeno=1")
    if request.args.get("shranjeno"):
        message = (
            "Pot je shranjena; na javni strani bo po naslednji objavi (publish). "
            "/ Saved; it reaches the public site with the next publish."
        )
    trail = await in_archive(datasette, lambda a: tr.get_trail(a, slug)) if slug else None
    if slug and trail is None and posted is None:
        return Response.html("<h1>404</h1>", status=404)
    if posted is not None and error:
        rows = [
            {key: posted.get(f"{key}_{i}") or "" for key in ("place", "recording", "at", "note",
                                                             "stop_title")}
            for i in range(1, MAX_ROWS + 1)
            if posted.get(f"place_{i}") is not None
        ]  # fmt: skip
        form = {"title": posted.get("title") or "", "description": posted.get("description") or ""}
    else:
        rows = rows_from_trail(trail)
        form = {"title": trail.title if trail else "",
                "description": (trail.description or "") if trail else ""}  # fmt: skip
    choices = await in_archive(datasette, _choices)
    return await render(
        datasette,
        request,
        "trails.html",
        {**choices, "slug": slug, "rows": rows, "form": form, "message": message, "error": error},
        status=400 if error else 200,
    )


def routes() -> list[tuple[str, Any]]:
    return [
        (rf"^{ROOT}/poti$", trails_page),
        (rf"^{ROOT}/poti/(?P<slug>[a-z0-9-]{{1,60}})$", trails_page),
    ]
