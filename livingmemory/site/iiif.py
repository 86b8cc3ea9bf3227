"""IIIF Presentation 3 manifests: ``/iiif/<id>/manifest.json`` for every public interview.

IIIF audio/video viewers (Ramp, Aviary, Clover, Theseus) and aggregators read a manifest:
one canvas as long as the recording, painted with its audio; the transcript as a WebVTT
*supplementing* annotation (the file the interview page offers for download,
``/intervju/<id>/prepis.vtt``, redacted like everything public); the interview's index points
as ranges (``structures``), read from the public database's ``index_points`` table when
publishing wrote one, and none otherwise; labels in Slovenian and English; the licence as
``rights``. https://iiif.io/api/presentation/3.0/

Built as plain JSON (no dependency at run time); the tests check every manifest with the
``iiif-prezi3`` models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livingmemory.archive.sqlite import sqlite3
from livingmemory.site import pages
from livingmemory.site.downloads import downloadable_formats, published_index_points
from livingmemory.timecodes import clock

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
CONTENT_TYPE = f'application/ld+json;profile="{CONTEXT}"'
RIGHTS_PREFIXES = ("http://creativecommons.org/", "https://creativecommons.org/",
                   "http://rightsstatements.org/", "https://rightsstatements.org/")  # fmt: skip


def both(key: str) -> dict[str, list[str]]:
    """A label in Slovenian and English from the site's words."""
    sl, en = pages.STRINGS[key]
    return {"sl": [sl], "en": [en]}


def _in_language(text: str, language: str | None) -> dict[str, list[str]]:
    """A value in the recording's own language (titles are not translated)."""
    return {language or "none": [text]}


def manifest(
    page: Any,
    recording: dict[str, Any],
    points: list[dict[str, Any]],
    has_transcript: bool,
) -> dict[str, Any]:
    """The manifest of one public recording (``recordings_by_id`` row, index points)."""
    from livingmemory.site.oai import oai_identifier
    from livingmemory.site.plugin import AUDIO_TYPES

    rid = recording["id"]
    base = page.absolute(f"/iiif/{rid}")
    canvas_id = f"{base}/canvas/1"
    duration = float(recording.get("duration") or 0) or 0.001  # a canvas needs a duration
    language = recording.get("language")
    title = recording.get("title") or f"Posnetek {rid}"
    metadata = []

    def fact(key: str, values: list[str]) -> None:
        values = [v for v in values if v]
        if values:
            metadata.append({"label": both(key), "value": {"none": values}})

    fact("narrator", [p["name"] for p in recording.get("narrator_list", [])])
    fact("interviewer", [p["name"] for p in recording.get("interviewer_list", [])])
    fact("recorded", [recording.get("recorded_date") or ""])
    fact("place", [recording.get("place") or ""])
    if language:
        metadata.append(
            {
                "label": both("language"),
                "value": {
                    "sl": [pages.language_name(language, "sl")],
                    "en": [pages.language_name(language, "en")],
                },
            }
        )
    canvas: dict[str, Any] = {
        "id": canvas_id,
        "type": "Canvas",
        "label": both("listen"),
        "duration": duration,
        "items": [],
    }
    audio = recording.get("audio_url")
    if audio:
        canvas["items"].append(
            {
                "id": f"{canvas_id}/page/1",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{canvas_id}/page/1/audio",
                        "type": "Annotation",
                        "motivation": "painting",
                        "body": {
                            "id": page.absolute(audio),
                            "type": "Sound",
                            "format": AUDIO_TYPES.get(Path(audio).suffix.lower(), "audio/ogg"),
                            "duration": duration,
                        },
                        "target": canvas_id,
                    }
                ],
            }
        )
    if has_transcript:
        body: dict[str, Any] = {
            "id": page.absolute(f"/intervju/{rid}/prepis.vtt"),
            "type": "Text",
            "format": "text/vtt",
            "label": both("transcript"),
        }
        if language:
            body["language"] = language
        canvas["annotations"] = [
            {
                "id": f"{canvas_id}/page/2",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{canvas_id}/page/2/transcript",
                        "type": "Annotation",
                        "motivation": "supplementing",
                        "body": body,
                        "target": canvas_id,
                    }
                ],
            }
        ]
    result: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"{base}/manifest.json",
        "type": "Manifest",
        "label": _in_language(title, language),
        "summary": both("interview"),
        "metadata": metadata,
        "homepage": [
            {
                "id": page.absolute(f"/intervju/{rid}"),
                "type": "Text",
                "label": _in_language(title, language),
                "format": "text/html",
            }
        ],
        "seeAlso": [
            {
                "id": page.absolute("/oai")
                + f"?verb=GetRecord&metadataPrefix=oai_dc&identifier={oai_identifier(page, rid)}",
                "type": "Dataset",
                "label": both("oai_record"),
                "format": "text/xml",
                "profile": "http://www.openarchives.org/OAI/2.0/oai_dc/",
            }
        ],
        "items": [canvas],
    }
    if has_transcript:
        result["rendering"] = [
            {
                "id": page.absolute(f"/intervju/{rid}/prepis.{ext}"),
                "type": "Text",
                "label": {"sl": [f"Prepis (.{ext})"], "en": [f"Transcript (.{ext})"]},
                "format": "text/vtt" if ext == "vtt" else "text/plain" if ext == "txt" else
                "application/json" if ext == "json" else "application/xml" if ext == "xml" else
                "application/x-subrip" if ext == "srt" else "text/plain",
            }
            for ext in downloadable_formats()
        ]  # fmt: skip
    metadata_all = page.datasette.metadata() or {}
    license_url = str(metadata_all.get("license_url") or "")
    if license_url.startswith(RIGHTS_PREFIXES):
        result["rights"] = license_url
    licence = metadata_all.get("license")
    if licence:
        result["requiredStatement"] = {
            "label": both("licence"),
            "value": {"none": [f"{page.context()['archive_title']}: {licence}"]},
        }
    ranges = index_ranges(canvas_id, points, duration, language)
    if ranges:
        result["structures"] = [
            {
                "id": f"{base}/range/0",
                "type": "Range",
                "label": both("index"),
                "items": ranges,
            }
        ]
    return result


def index_ranges(
    canvas_id: str, points: list[dict[str, Any]], duration: float, language: str | None
) -> list[dict[str, Any]]:
    """One range per index point, from its time to the next point's (the last to the end)."""
    times = [min(max(float(p["at"] or 0), 0.0), duration) for p in points]
    ranges = []
    for number, (point, start) in enumerate(zip(points, times, strict=True), start=1):
        end = times[number] if number < len(times) else duration
        if end <= start:
            continue  # two points at one second: the later one carries the stretch
        ranges.append(
            {
                "id": f"{canvas_id.rsplit('/canvas/', 1)[0]}/range/{number}",
                "type": "Range",
                "label": _in_language(point["title"] or clock(start), language),
                "items": [{"id": f"{canvas_id}#t={start:g},{end:g}", "type": "Canvas"}],
            }
        )
    return ranges


def load(conn: sqlite3.Connection, recording_id: int) -> tuple[dict | None, list, bool]:
    found = pages.recordings_by_id(conn, [recording_id])
    if not found:
        return None, [], False
    has_transcript = bool(
        conn.execute("SELECT 1 FROM segments WHERE recording_id = ? LIMIT 1", [recording_id])
        .fetchone()
    )  # fmt: skip
    return found[recording_id], published_index_points(conn, recording_id), has_transcript


async def manifest_view(datasette: Any, request: Any) -> Any:
    import json

    from datasette.utils.asgi import Response

    await pages._allowed(datasette, request)
    page = pages.Page(datasette, request)
    recording_id = min(int(request.url_vars["id"]), 2**62)
    recording, points, has_transcript = await pages._db_call(
        datasette, lambda conn: load(conn, recording_id)
    )
    if recording is None:
        return pages._not_found(page)
    body = json.dumps(manifest(page, recording, points, has_transcript), ensure_ascii=False)
    response = Response(body, content_type=CONTENT_TYPE)
    response.headers["access-control-allow-origin"] = "*"  # viewers on other sites load it
    return response
