"""What an interview page tells machines: schema.org JSON-LD, and its open-data links.

Search engines and catalogues read a page's ``<script type="application/ld+json">``: the
interview as a schema.org ``AudioObject`` (a ``CreativeWork``) with what it is ``about``
(the places, people, organisations and topics its index names), where it was recorded
(``contentLocation``), when (``dateCreated``), in which language (``inLanguage``), who speaks
(``creator``) and who asked (``contributor``), under which licence. Everything in it is on the
page already (the published, redacted interview). The same page links the transcript
downloads (:mod:`livingmemory.site.downloads`), the IIIF manifest
(:mod:`livingmemory.site.iiif`) and the OAI-PMH record (:mod:`livingmemory.site.oai`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from livingmemory.site import pages
from livingmemory.site.downloads import transcript_links

ABOUT_TYPES = {"LOC": "Place", "PER": "Person", "ORG": "Organization", "TOPIC": "DefinedTerm"}


def iso_duration(seconds: float | None) -> str | None:
    """``3723.4`` -> ``PT1H2M3S`` (schema.org durations are ISO 8601)."""
    if not seconds:
        return None
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        "PT"
        + (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{secs}S" if secs or not (hours or minutes) else "")
    )


def json_ld(page: Any, recording: dict[str, Any]) -> dict[str, Any]:
    """The interview as a schema.org ``AudioObject`` (``recording`` as ``pages.interview``)."""
    from livingmemory.site.plugin import AUDIO_TYPES

    url = page.absolute(f"/intervju/{recording['id']}")
    metadata = page.datasette.metadata() or {}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "AudioObject",
        "@id": url,
        "url": url,
        "name": recording.get("title") or f"Posnetek {recording['id']}",
        "genre": "oral history",
    }
    audio = recording.get("audio_url")
    if audio:
        data["contentUrl"] = page.absolute(audio)
        data["encodingFormat"] = AUDIO_TYPES.get(Path(audio).suffix.lower())
    duration = iso_duration(recording.get("duration"))
    if duration:
        data["duration"] = duration
    if recording.get("recorded_date"):
        data["dateCreated"] = recording["recorded_date"]
    if recording.get("language"):
        data["inLanguage"] = recording["language"]
    if recording.get("place"):
        data["contentLocation"] = {"@type": "Place", "name": recording["place"]}
    people = {
        "creator": recording.get("narrator_list", []),
        "contributor": recording.get("interviewer_list", []),
    }
    for key, persons in people.items():
        if persons:
            data[key] = [{"@type": "Person", "name": p["name"]} for p in persons]
    about = []
    for label, chips in recording.get("chips", []):
        kind = ABOUT_TYPES.get(label)
        if kind is None:
            continue
        for chip in chips:
            name = pages.topic_name(chip["name"], "sl") if label == "TOPIC" else chip["name"]
            about.append({"@type": kind, "name": name})
    if about:
        data["about"] = about
    if metadata.get("license_url") or metadata.get("license"):
        data["license"] = metadata.get("license_url") or metadata.get("license")
    data["publisher"] = {"@type": "Organization", "name": page.context()["archive_title"]}
    data["subjectOf"] = {
        "@type": "CreativeWork",
        "url": page.absolute(f"/iiif/{recording['id']}/manifest.json"),
        "encodingFormat": "application/ld+json",
        "name": "IIIF Presentation 3 manifest",
    }
    return {key: value for key, value in data.items() if value is not None}


def script_json(data: dict[str, Any]) -> Markup:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` escaped, so no text in it (a
    hostile title) can close the element."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def interview_extras(page: Any, recording: dict[str, Any]) -> dict[str, Any]:
    """What the interview template's open-data block needs (``open_data.html``)."""
    from livingmemory.site.oai import oai_identifier

    oai_args = {
        "verb": "GetRecord",
        "metadataPrefix": "oai_dc",
        "identifier": oai_identifier(page, recording["id"]),
    }
    return {
        "downloads": transcript_links(recording, page.lang) if recording.get("segments") else [],
        "iiif_url": page.url(f"/iiif/{recording['id']}/manifest.json"),
        "oai_url": page.url("/oai") + "?" + urlencode(oai_args),
        "json_ld": script_json(json_ld(page, recording)),
    }
