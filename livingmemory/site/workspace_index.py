"""The index editor in the volunteers' workspace: points beside the player, as JSON routes.

The editor page includes ``templates/workspace/_index_editor.html`` and ``static/index.js``;
they talk to two routes here, both behind the workspace's login and CSRF check (the
``x-csrftoken`` header, as the transcript editor's save):

* ``GET /-/workspace/<id>/index.json``: the recording's points (drafts too), in time order;
* ``POST /-/workspace/<id>/index``: ``{"action": "add" | "edit" | "accept" | "remove" |
  "suggest", "id": point, "point": {fields}}``; answers the points as they are now, or
  ``{"ok": false, "error": "..."}`` (400) with nothing changed.

Every change is made by :mod:`livingmemory.review.index_points` under the logged-in
volunteer's name, so the history says who wrote what, as for corrections.
"""

from __future__ import annotations

import json
from typing import Any

from datasette.utils.asgi import Response

from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError
from livingmemory.review import index_points as ix
from livingmemory.site.workspace_pages import ROOT, guarded, in_archive, team_actor

MAX_BODY_BYTES = 256 * 1024
ACTIONS = ("add", "edit", "accept", "remove", "suggest")


def _points(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    return [
        {key: point[key] for key in ("id", "at", "title", "partial_transcript", "synopsis",
                                     "keywords", "subjects", "place", "lat", "lon", "links",
                                     "status", "source", "updated_by", "updated_at")}
        for point in ix.list_points(archive, recording_id)
    ]  # fmt: skip


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    point = data.get("point")
    if not isinstance(point, dict):
        raise LivingMemoryError("manjka točka / no point given")
    return {key: value for key, value in point.items() if key in ix.EDITABLE}


def apply(archive: Archive, recording_id: int, data: Any, author: str) -> list[dict[str, Any]]:
    """Do what one POST asks for (see the module docstring) and return the points."""
    if not isinstance(data, dict) or data.get("action") not in ACTIONS:
        raise LivingMemoryError(f"neznano dejanje / unknown action (use {', '.join(ACTIONS)})")
    action = data["action"]
    if action == "add":
        fields = _fields(data)
        missing = [key for key in ("at", "title") if key not in fields]
        if missing:
            raise LivingMemoryError(f"manjka / missing: {', '.join(missing)}")
        ix.add_point(archive, recording_id, author=author, **fields)
    elif action == "suggest":
        ix.suggest_points(archive, recording_id, author=author)
    else:
        point = ix.get_point(archive, data.get("id", 0))
        if point["recording_id"] != recording_id:
            raise LivingMemoryError(
                f"točka #{point['id']} je v drugem posnetku / another recording"
            )
        if action == "edit":
            ix.edit_point(archive, point["id"], _fields(data), author=author)
        elif action == "accept":
            ix.accept_point(archive, point["id"], author=author)
        else:
            ix.remove_point(archive, point["id"], author=author)
    return _points(archive, recording_id)


@guarded
async def points_json(request, datasette):
    recording_id = int(request.url_vars["id"])
    try:
        points = await in_archive(datasette, lambda a: _points(a, recording_id))
    except LivingMemoryError as problem:
        return Response.json({"ok": False, "error": str(problem)}, status=404)
    return Response.json({"ok": True, "points": points}, headers={"cache-control": "no-store"})


@guarded
async def change(request, datasette):
    if request.method != "POST":
        return Response.json({"ok": False, "error": "POST"}, status=405)
    recording_id = int(request.url_vars["id"])
    author = team_actor(request)["id"]
    body = await request.post_body()
    if len(body) > MAX_BODY_BYTES:
        return Response.json({"ok": False, "error": "preveliko / too large"}, status=413)
    try:
        data = json.loads(body)
        points = await in_archive(datasette, lambda a: apply(a, recording_id, data, author))
    except (ValueError, TypeError, LivingMemoryError) as problem:
        return Response.json({"ok": False, "error": str(problem)}, status=400)
    return Response.json({"ok": True, "points": points})


def routes() -> list[tuple[str, Any]]:
    """The index editor's routes, for ``datasette_plugin.register_routes``."""
    return [
        (rf"^{ROOT}/(?P<id>\d+)/index\.json$", points_json),
        (rf"^{ROOT}/(?P<id>\d+)/index$", change),
    ]
