"""The workspace's "confirm a suggestion" form: a stored voice that only suggests a person.

Below the naming threshold a voice print names nobody (livingmemory/speakers/turns.py); the
interview page lists such voices ("Govorec 2 — morda Ana Zupan, 0,72") with a button that
accepts the suggestion, as ``livingmemory speakers ID --confirm LABEL`` does.
"""

from __future__ import annotations

from typing import Any

from datasette.utils.asgi import Response

from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError
from livingmemory.speakers.turns import confirm_suggestion, list_speakers


def suggestions(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """The recording's voices that carry a suggestion: label, suggested name, similarity."""
    return [
        {
            "label": row["label"],
            "suggestion": row["suggestion"],
            "similarity": row["suggestion_similarity"],
        }
        for row in list_speakers(archive, recording_id)
        if row.get("suggestion")
    ]


async def confirm(request: Any, datasette: Any) -> Response:
    """POST ``label``: the voice is named after the suggested person; back to the page.
    (Routed through the workspace's login guard, like every workspace page.)"""
    from livingmemory.site import workspace_pages as pages

    if request.method != "POST":
        return pages._not_found()
    recording_id = int(request.url_vars["id"])
    label = (await request.post_vars()).get("label", "")
    try:
        await pages.in_archive(datasette, lambda a: confirm_suggestion(a, recording_id, label))
    except LivingMemoryError as problem:
        return Response.text(f"Napaka: {problem}", status=400)
    return Response.redirect(datasette.urls.path(f"{pages.ROOT}/{recording_id}#govorci"))
