"""OHMS (Oral History Metadata Synchronizer) record XML, for the OHMS viewer and CMS imports.

:func:`ohms_xml` writes one ``<ROOT><record>`` in the element order of real OHMS 5.4 exports
(namespace ``https://www.weareavp.com/nunncenter/ohms``), with the interview's metadata, the
transcript as WebVTT inside ``<transcript>`` and one ``<point>`` per index segment.
:func:`parse_ohms` reads such a record back (with or without the namespace) for validation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from livingmemory.errors import InputError, quoted
from livingmemory.formats._core import Cue, TranscriptDocument
from livingmemory.formats.base import Format
from livingmemory.formats.vtt import dumps_vtt, loads_vtt
from livingmemory.plugins import Register, hookimpl
from livingmemory.timecodes import hms

if TYPE_CHECKING:
    from livingmemory.formats.base import ExportSource

OHMS_NAMESPACE = "https://www.weareavp.com/nunncenter/ohms"
OHMS_VERSION = "5.4"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA_LOCATION = "https://www.weareavp.com/nunncenter/ohms/ohms.xsd"
# Characters XML 1.0 cannot carry at all (controls other than tab, newline, carriage return).
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _clean(value: Any) -> str:
    if value is None:
        return ""
    return _NOT_XML_RE.sub("", str(value))


def _add(parent: ET.Element, tag: str, text: Any = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text not in (None, ""):
        element.text = _clean(text)
    return element


def _add_each(parent: ET.Element, tag: str, values: Iterable[Any] | None) -> None:
    """One element per value (OHMS repeats <subject>, <interviewee>, …), an empty one if none."""
    values = [value for value in (values or []) if value not in (None, "")]
    for value in values or [None]:
        _add(parent, tag, value)


def _duration(interview: dict[str, Any], doc: TranscriptDocument) -> str:
    value = interview.get("duration")
    if value is None or value == "":
        value = doc.notes.get("duration")
    if isinstance(value, str):
        text = value
        try:
            value = float(text)
        except ValueError:
            return text  # already "0:28:06" or similar
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return hms(value, pad_hours=False, nearest=True)
    return ""


def _semicolons(values: Iterable[Any] | None) -> str:
    return ";".join(str(value) for value in (values or []) if value not in (None, ""))


# Long: one statement per OHMS element, in the order the OHMS schema lists them.
def ohms_xml(
    interview: dict[str, Any],
    doc: TranscriptDocument,
    index_points: list[dict[str, Any]],
    *,
    exported: dt.date | None = None,
) -> str:
    """An OHMS record as pretty-printed UTF-8 XML text (with its XML declaration).

    ``interview`` keys (all optional): id, title, date (ISO ``YYYY-MM-DD``; anything else goes
    to ``date_nonpreferred_format``), duration (seconds or ``H:MM:SS``; default: the
    document's ``duration`` note), interviewees, interviewers, keywords, subjects (lists),
    description, rights, language, media_url, and also accession, repository, repository_url,
    collection_id, collection_name, series_id, series_name, funding, file_name, type,
    fmt (``audio``/``video``, default ``audio``).
    ``index_points`` items: time (seconds; written as whole seconds), title, synopsis,
    partial_transcript, keywords, subjects (lists), gps (``"lat, lon"`` or None), gps_zoom,
    gps_text, links (``[{"url", "label"}]``; or one hyperlink, hyperlink_text).
    ``exported`` is the record's ``dt`` (default today).
    """
    get = interview.get
    root = ET.Element(
        "ROOT",
        {"xmlns": OHMS_NAMESPACE, "xmlns:xsi": _XSI, "xsi:schemaLocation": _SCHEMA_LOCATION},
    )
    record = _add(
        root, "record", id=_clean(get("id")), dt=(exported or dt.date.today()).isoformat()
    )
    _add(record, "version", OHMS_VERSION)
    date = get("date")
    if isinstance(date, dt.date):
        date = date.isoformat()[:10]
    date = _clean(date)
    preferred = _ISO_DATE_RE.fullmatch(date) is not None
    _add(record, "date", value=date if preferred else "", format="yyyy-mm-dd")
    _add(record, "date_nonpreferred_format", None if preferred else date)
    _add(record, "cms_record_id")
    _add(record, "title", get("title"))
    _add(record, "accession", get("accession"))
    _add(record, "duration", _duration(interview, doc))
    for key in ("collection_id", "collection_name", "series_id", "series_name"):
        _add(record, key, get(key))
    _add(record, "repository", get("repository"))
    _add(record, "funding", get("funding"))
    _add(record, "repository_url", get("repository_url"))
    _add_each(record, "subject", get("subjects"))
    _add_each(record, "keyword", get("keywords"))
    _add_each(record, "interviewee", get("interviewees"))
    _add_each(record, "interviewer", get("interviewers"))
    fmt = get("fmt") or "audio"
    _add_each(
        record, "format", [get("format")] if isinstance(get("format"), str) else get("format")
    )
    _add(record, "file_name", get("file_name"))
    _add(record, "sync")
    _add(record, "sync_alt")
    _add(record, "transcript_alt_lang")
    _add(record, "translate", "0")
    _add(record, "media_id")
    _add(record, "media_url", get("media_url"))
    mediafile = _add(record, "mediafile")
    _add(mediafile, "host", "Other")
    for key in ("avalon_target_domain", "host_account_id", "host_player_id", "host_clip_id"):
        _add(mediafile, key)
    _add(mediafile, "clip_format", fmt)
    _add(record, "kembed")
    _add(record, "language", get("language"))
    _add(record, "user_notes")
    index = _add(record, "index")
    for point in index_points:
        _add_point(index, point)
    _add(record, "type", get("type"))
    _add(record, "description", get("description"))
    _add(record, "rel")
    _add(record, "transcript", dumps_vtt(doc) if doc.cues or doc.notes else None)
    _add(record, "rights", get("rights"))
    _add(record, "fmt", fmt)
    _add(record, "usage")
    _add(record, "userestrict", "0")
    for key in ("xmllocation", "xmlfilename", "collection_link", "series_link"):
        _add(record, key)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _add_point(index: ET.Element, point: dict[str, Any]) -> None:
    seconds = point.get("time")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError(f"index point time must be seconds, not {seconds!r}")
    element = _add(index, "point")
    _add(element, "time", str(max(int(seconds), 0)))
    for key in ("title", "partial_transcript", "synopsis"):
        _add(element, key, point.get(key))
        _add(element, f"{key}_alt")
    _add(element, "keywords", _semicolons(point.get("keywords")))
    _add(element, "keywords_alt")
    _add(element, "subjects", _semicolons(point.get("subjects")))
    _add(element, "subjects_alt")
    gps = _add(element, "gpspoints")
    _add(gps, "gps", point.get("gps"))
    _add(gps, "gps_zoom", point.get("gps_zoom") or ("17" if point.get("gps") else None))
    _add(gps, "gps_text", point.get("gps_text"))
    _add(gps, "gps_text_alt")
    # OHMS repeats <hyperlinks> once per link (an empty one when there is none).
    links: list[dict[str, Any]] = ohms_links(point) or [{"url": None, "label": None}]
    for link in links:
        each = _add(element, "hyperlinks")
        _add(each, "hyperlink", link["url"])
        _add(each, "hyperlink_text", link["label"])
        _add(each, "hyperlink_text_alt")


def ohms_links(point: dict[str, Any]) -> list[dict[str, str]]:
    """A point's links as ``{"url", "label"}``: its ``links`` list, else its single
    ``hyperlink``/``hyperlink_text`` (the older shape of these dicts)."""
    links = point.get("links")
    if links is None:
        links = [{"url": point.get("hyperlink"), "label": point.get("hyperlink_text")}]
    return [
        {"url": str(link["url"]), "label": str(link.get("label") or link["url"])}
        for link in links
        if link.get("url")
    ]


# -- reading back ---------------------------------------------------------------------------


def _text(parent: ET.Element | None, tag: str) -> str:
    element = parent.find(tag) if parent is not None else None
    return (element.text or "").strip() if element is not None else ""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


# Long: one statement per OHMS element read back, in the order the OHMS schema lists them.
def parse_ohms(xml: str) -> dict[str, Any]:
    """The main fields of an OHMS record, its index points and its transcript cues.

    Returns ``id``, ``dt``, ``version``, ``title``, ``date``, ``duration``, ``interviewees``,
    ``interviewers``, ``keywords``, ``subjects``, ``description``, ``rights``, ``language``,
    ``media_url``, ``index_points`` (dicts as :func:`ohms_xml` takes them, ``time`` an int,
    ``gps`` None when empty, every ``<hyperlinks>`` in ``links``),
    ``cues`` and ``notes`` (from a WebVTT transcript; empty for an
    older plain-text transcript, which is returned as ``transcript_text``).
    """
    source = "<ohms>"
    declaration = re.match(r"\s*<\?xml[^>]*\?>", xml)
    try:
        root = ET.fromstring(xml[declaration.end() :] if declaration else xml)
    except ET.ParseError as error:
        raise InputError(source, f"not well-formed XML: {error}") from None
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    record = root if root.tag == "record" else root.find("record")
    if record is None:
        raise InputError(source, "no <record> element (not an OHMS export)")
    date_element = record.find("date")
    points = []
    for point in record.iterfind("index/point"):
        time_text = _text(point, "time")
        try:
            seconds = int(float(time_text))
        except ValueError:
            raise InputError(
                source, f"index point time {quoted(time_text)} is not seconds"
            ) from None
        gpspoints = point.find("gpspoints")
        links = point.find("hyperlinks")
        every = [
            {"url": _text(each, "hyperlink"), "label": _text(each, "hyperlink_text")}
            for each in point.iterfind("hyperlinks")
            if _text(each, "hyperlink")
        ]
        points.append(
            {
                "time": seconds,
                "title": _text(point, "title"),
                "partial_transcript": _text(point, "partial_transcript"),
                "synopsis": _text(point, "synopsis"),
                "keywords": _split(_text(point, "keywords")),
                "subjects": _split(_text(point, "subjects")),
                "gps": _text(gpspoints, "gps") or None,
                "gps_zoom": _text(gpspoints, "gps_zoom"),
                "gps_text": _text(gpspoints, "gps_text"),
                "hyperlink": _text(links, "hyperlink"),
                "hyperlink_text": _text(links, "hyperlink_text"),
                "links": every,
            }
        )
    transcript = record.findtext("vtt_transcript") or record.findtext("transcript") or ""
    cues: list[Cue] = []
    notes: dict[str, str] = {}
    if transcript.lstrip().startswith("WEBVTT"):
        parsed = loads_vtt(transcript.lstrip(), source="<ohms transcript>")
        cues, notes = parsed.cues, parsed.notes
    return {
        "id": record.get("id", ""),
        "dt": record.get("dt", ""),
        "version": _text(record, "version"),
        "title": _text(record, "title"),
        "date": (date_element.get("value", "") if date_element is not None else "")
        or _text(record, "date_nonpreferred_format"),
        "duration": _text(record, "duration"),
        "interviewees": [e.text.strip() for e in record.iterfind("interviewee") if e.text],
        "interviewers": [e.text.strip() for e in record.iterfind("interviewer") if e.text],
        "keywords": [e.text.strip() for e in record.iterfind("keyword") if e.text],
        "subjects": [e.text.strip() for e in record.iterfind("subject") if e.text],
        "description": _text(record, "description"),
        "rights": _text(record, "rights"),
        "language": _text(record, "language"),
        "media_url": _text(record, "media_url"),
        "index_points": points,
        "cues": cues,
        "notes": notes,
        "transcript_text": "" if cues or notes else transcript,
    }


def export_ohms(context: ExportSource) -> str:
    """A recording as an OHMS record: its metadata, keywords and subjects from its tags, the
    transcript, and its index: the accepted points people wrote, else one point per two
    minutes (redacted passages left out either way)."""
    recording = context.recording
    entities = context.entities()
    interview = {
        "id": str(recording["id"]),
        "title": context.title(),
        "date": recording["recorded_date"],
        "duration": recording["duration"],
        "interviewees": context.people("narrator"),
        "interviewers": context.people("interviewer"),
        "keywords": list(
            dict.fromkeys(e["canonical"] for e in entities if e["label"] in ("PER", "LOC", "ORG"))
        ),
        "subjects": list(dict.fromkeys(e["canonical"] for e in entities if e["label"] == "TOPIC")),
        "language": recording["language"],
        "description": recording["place"] and f"Recorded in {recording['place']}",
    }
    points = context.people_index()
    if points is None:  # no index written by people: two-minute stretches of the transcript
        points = context.index_points()
    return ohms_xml(interview, context.document, points)


@hookimpl
def register_formats(register: Register[Format]) -> None:
    register(Format(".xml", "OHMS XML record (export only)", export=export_ohms), "ohms")
