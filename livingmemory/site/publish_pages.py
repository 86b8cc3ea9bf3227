"""The workspace's "Objavi" (publish) page: what the next publish changes, and a button.

* ``GET /-/workspace/objavi``: the preview (new, withdrawn and corrected interviews, with
  their warnings: suspect lines, nobody named in the metadata heard, files withheld because
  they no longer match their checksum) and the history of publishes (who, when, what).
  While a publish runs the page shows its progress and refreshes itself.
* ``POST /-/workspace/objavi``: starts a recorded publish in the background
  (:func:`livingmemory.site.live.start_publish`) and answers at once (303 to the page).
* ``GET /-/workspace/objavi.json``: the same as JSON, for scripts and the progress bar.

Like every workspace page: only on the private archive, only for a logged-in team member,
POSTs behind Datasette's CSRF check.
"""

from __future__ import annotations

from typing import Any

from datasette.utils.asgi import Response

from livingmemory.archive.fixity import damaged_recordings
from livingmemory.archive.store import Archive
from livingmemory.site import live
from livingmemory.site.workspace_pages import (
    ROOT,
    archive_path,
    guarded,
    in_archive,
    render,
    team_actor,
)

KINDS = {
    "publish": ("objava", "publish"),
    "full": ("celotna objava", "full publish"),
    "withdrawals": ("takojšnji umik ali sprostitev", "immediate withdrawal or release"),
}
STATUSES = {
    "running": ("v teku", "running"),
    "done": ("končano", "done"),
    "failed": ("ni uspelo", "failed"),
    "interrupted": ("prekinjeno", "interrupted"),
}


def _state(archive: Archive) -> dict[str, Any]:
    plan = live.preview(archive)
    # Files of the interviews about to be written are checked as publish will check them
    # (only files changed since their last check are read again).
    ids = {row["id"] for row in plan.new + plan.changed}
    candidates = archive.db.query("SELECT id, file_path, sha256 FROM recordings ORDER BY id")
    damaged = damaged_recordings(archive, [r for r in candidates if r["id"] in ids])
    titles = {row["id"]: row["title"] for row in plan.new + plan.changed}
    plan.damaged = [
        {"id": rid, "title": titles.get(rid, f"#{rid}"), "problem": problem}
        for rid, problem in sorted(damaged.items())
    ]
    runs = live.runs(archive)
    return {"preview": plan, "runs": runs, "running": any(r["status"] == "running" for r in runs)}


@guarded
async def page(request, datasette):
    if request.method == "POST":
        form = await request.post_vars()
        path = archive_path(datasette)
        assert path is not None  # guarded
        actor = team_actor(request) or {}
        await in_archive(
            datasette,
            lambda a: live.start_publish(path, by=actor.get("id"), full=bool(form.get("full"))),
        )
        return Response.redirect(datasette.urls.path(f"{ROOT}/objavi"), status=303)
    state = await in_archive(datasette, _state)
    return await render(
        datasette, request, "objavi.html", {**state, "kinds": KINDS, "statuses": STATUSES}
    )


@guarded
async def status_json(request, datasette):
    state = await in_archive(datasette, _state)
    return Response.json(
        {"preview": state["preview"].as_dict(), "runs": state["runs"], "running": state["running"]}
    )


def routes() -> list[tuple[str, Any]]:
    return [(rf"^{ROOT}/objavi$", page), (rf"^{ROOT}/objavi\.json$", status_json)]
