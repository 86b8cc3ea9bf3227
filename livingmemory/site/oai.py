"""OAI-PMH 2.0 at ``/oai``: the public interviews as Dublin Core records for harvesters.

Libraries, archives and aggregators (Europeana's partners, national union catalogues,
OpenAIRE) collect catalogue records with the Open Archives Initiative Protocol for Metadata
Harvesting, http://www.openarchives.org/OAI/openarchivesprotocol.html. This module answers
its six verbs over the published public database (read through Datasette's handle, like every
page of the site), so only what publishing let through can be harvested: no restricted or
embargoed recording, no tag from a redacted passage.

* records: one per public interview, ``oai_dc`` (title; creator = narrator; contributor =
  interviewer; date; coverage = the place recorded and the places mentioned; subject =
  topics in Slovenian and English; language; rights = licence; identifier = the interview's
  stable URL; relation = its audio and IIIF manifest), identifiers ``oai:<host>:<id>``;
* sets: ``kraj`` (by the place recorded, ``kraj:<name folded to ASCII>``) and
  ``desetletje`` (by the decade recorded, ``desetletje:1950``);
* lists come in pages of :data:`PAGE_SIZE` with resumption tokens that carry the request and
  the last id sent (not an offset: a publish between two pages neither repeats nor skips a
  record that stayed);
* datestamps: the public database keeps no per-record change time (publishing an unchanged
  archive is byte-identical), so every record carries the time the database file last
  changed. A harvester asking ``from`` its last visit gets every record again after any
  publish: coarse, never a missed change. Withdrawn records simply disappear
  (``deletedRecord`` is ``no``).

Errors are the protocol's own (``badVerb``, ``badArgument``, ``cannotDisseminateFormat``,
``idDoesNotExist``, ``noRecordsMatch``, ``badResumptionToken``); every response validates
against the official ``OAI-PMH.xsd`` and ``oai_dc.xsd`` (``tests/test_open_data.py``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from livingmemory.archive.sqlite import sqlite3
from livingmemory.site import pages
from livingmemory.site.downloads import slug

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
ADMIN_EMAIL = "arhiv@example.org"  # plugin setting ``oai_admin_email``
PAGE_SIZE = 100  # records per list response (plugin setting ``oai_page_size``)

# verb -> (required arguments, optional arguments); resumptionToken is handled apart.
VERBS: dict[str, tuple[set[str], set[str]]] = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
RESUMABLE = {"ListSets", "ListIdentifiers", "ListRecords"}
PLACE_SET, DECADE_SET = "kraj", "desetletje"
SET_NAMES = {PLACE_SET: "Po krajih / By place", DECADE_SET: "Po desetletjih / By decade"}

for _prefix, _uri in (("oai_dc", OAI_DC), ("dc", DC), ("xsi", XSI)):
    ET.register_namespace(_prefix, _uri)


class OAIError(Exception):
    """A protocol error: its code and a message for the harvester's log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _q(tag: str, ns: str = OAI) -> str:
    # The protocol's own elements are written unqualified under a default namespace
    # declared on the root (ElementTree would give them an ``ns0:`` prefix otherwise).
    return tag if ns == OAI else f"{{{ns}}}{tag}"


# Characters XML 1.0 cannot carry at all (ElementTree would write them and break the document).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _sub(parent: ET.Element, tag: str, text: Any = None, ns: str = OAI, **attrs: str) -> Any:
    element = ET.SubElement(parent, _q(tag, ns), attrs)
    if text is not None:
        element.text = _NOT_XML.sub("", str(text))
    return element


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def parse_stamp(value: str, name: str, *, end: bool) -> tuple[dt.datetime, str]:
    """A ``from``/``until`` value as a UTC moment (a day ``until`` runs to its last second)
    and its granularity; anything else is ``badArgument``."""
    try:
        if _DAY_RE.match(value):
            day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
            return (day + dt.timedelta(days=1, seconds=-1) if end else day), "day"
        if _SECOND_RE.match(value):
            moment = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            return moment.replace(tzinfo=dt.timezone.utc), "second"
    except ValueError:
        pass
    raise OAIError("badArgument", f"{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


# -- the repository -----------------------------------------------------------------------


class Repository:
    """What one request sees of the repository: names, URLs and the public database."""

    def __init__(self, datasette: Any, request: Any) -> None:
        self.datasette = datasette
        self.page = pages.Page(datasette, request)
        config = datasette.plugin_config("livingmemory") or {}
        self.repository_id = repository_identifier(datasette, request)
        try:
            self.page_size = max(1, int(config.get("oai_page_size") or PAGE_SIZE))
        except (TypeError, ValueError):
            self.page_size = PAGE_SIZE
        metadata = datasette.metadata() or {}
        self.name = str(metadata.get("title") or "Živi spomin / Living Memory")
        self.license = metadata.get("license")
        self.license_url = metadata.get("license_url")
        # The protocol requires an address; example.org (reserved) until the archive sets one.
        self.admin_email = str(config.get("oai_admin_email") or ADMIN_EMAIL)
        self.base_url = self.page.absolute("/oai")
        self.datestamp = database_datestamp(datasette)

    def identifier(self, recording_id: int) -> str:
        return f"oai:{self.repository_id}:{recording_id}"

    def recording_id(self, identifier: str) -> int | None:
        prefix = f"oai:{self.repository_id}:"
        local = identifier[len(prefix) :] if identifier.startswith(prefix) else ""
        return int(local) if local.isdigit() and len(local) < 19 else None


def repository_identifier(datasette: Any, request: Any) -> str:
    """The repository's name in record identifiers: the plugin setting
    ``oai_repository_identifier`` (the archive's domain name), else the host asked for."""
    config = datasette.plugin_config("livingmemory") or {}
    host = (request.host or "localhost").rsplit(":", 1)[0] if request.host else "localhost"
    return str(config.get("oai_repository_identifier") or host)


def oai_identifier(page: Any, recording_id: int) -> str:
    """The OAI identifier of a recording, as a page of the site links it."""
    return f"oai:{repository_identifier(page.datasette, page.request)}:{recording_id}"


def database_datestamp(datasette: Any) -> dt.datetime:
    """When the public database last changed (its file's modification time), to the second."""
    database = datasette.get_database(pages.PUBLIC_DATABASE)
    path = getattr(database, "path", None)
    try:
        seconds = Path(path).stat().st_mtime if path else None
    except OSError:
        seconds = None
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc) if seconds else _now()
    return moment.replace(microsecond=0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# -- selections and tokens ----------------------------------------------------------------


def _set_where(conn: sqlite3.Connection, spec: str | None) -> tuple[str, list[Any]]:
    """The SQL condition (on ``recordings``) for set ``spec``; unknown sets match nothing."""
    if not spec:
        return "1", []
    head, _, tail = spec.partition(":")
    if head == PLACE_SET:
        if not tail:
            return "place IS NOT NULL", []
        names = [
            name
            for (name,) in conn.execute(
                "SELECT DISTINCT place FROM recordings WHERE place IS NOT NULL"
            )
            if slug(name, "") == tail
        ]
        return f"place IN ({pages._marks(names)})" if names else "0", names
    if head == DECADE_SET:
        if not tail:
            return "decade IS NOT NULL", []
        return ("decade = ?", [f"{tail}s"]) if re.fullmatch(r"\d{3}0", tail) else ("0", [])
    return "0", []


def record_sets(recording: dict[str, Any]) -> list[str]:
    """The leaf sets a recording is in (a harvest of a parent set includes them)."""
    sets = []
    if recording.get("place") and slug(recording["place"], ""):
        sets.append(f"{PLACE_SET}:{slug(recording['place'])}")
    decade = recording.get("decade") or ""
    if re.fullmatch(r"\d{3}0s", decade):
        sets.append(f"{DECADE_SET}:{decade[:4]}")
    return sets


def encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, verb: str) -> dict[str, Any]:
    """The state a resumption token carries; ``badResumptionToken`` when it is not one of
    ours, or is for another verb."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise OAIError("badResumptionToken", "the resumption token is not valid") from None
    valid = (
        isinstance(state, dict)
        and state.get("verb") == verb
        and isinstance(state.get("after"), int)
        and all(isinstance(state.get(k), str | None) for k in ("set", "from", "until"))
    )
    if not valid:
        raise OAIError("badResumptionToken", "the resumption token is not valid for this verb")
    return state


# -- records ------------------------------------------------------------------------------


def load_records(conn: sqlite3.Connection, ids: list[int]) -> list[dict[str, Any]]:
    """Recordings with their people, topics and places mentioned, in ``ids`` order."""
    found = pages.recordings_by_id(conn, ids)
    if not found:
        return []
    marks = pages._marks(found)
    tags: dict[int, dict[str, list[str]]] = {i: {"LOC": [], "TOPIC": []} for i in found}
    for row in conn.execute(
        "SELECT recording_id, label, canonical, min(start_seconds) AS first FROM entities "
        f"WHERE recording_id IN ({marks}) AND label IN ('LOC', 'TOPIC') "
        "AND canonical IS NOT NULL GROUP BY recording_id, label, canonical "
        "ORDER BY recording_id, first",
        list(found),
    ):
        tags[row[0]][row[1]].append(row[2])
    return [{**found[i], "tags": tags[i]} for i in ids if i in found]


def _header(parent: ET.Element, repo: Repository, recording: dict[str, Any]) -> None:
    header = _sub(parent, "header")
    _sub(header, "identifier", repo.identifier(recording["id"]))
    _sub(header, "datestamp", utc(repo.datestamp))
    for spec in record_sets(recording):
        _sub(header, "setSpec", spec)


def _dc(parent: ET.Element, repo: Repository, recording: dict[str, Any]) -> None:
    from livingmemory.site.plugin import AUDIO_TYPES

    dc = ET.SubElement(
        parent, _q("dc", OAI_DC), {f"{{{XSI}}}schemaLocation": f"{OAI_DC} {OAI_DC_SCHEMA}"}
    )

    def add(tag: str, value: Any, lang: str | None = None) -> None:
        if value is None or str(value).strip() == "":
            return
        element = _sub(dc, tag, value, DC)
        if lang:
            element.set(XML_LANG, lang)

    add("title", recording["title"], recording.get("language"))
    for person in recording["narrator_list"]:
        add("creator", person["name"])
    for person in recording["interviewer_list"]:
        add("contributor", person["name"])
    add("date", recording["recorded_date"])
    places = [recording["place"], *recording["tags"]["LOC"]] if recording["place"] else []
    places = places or recording["tags"]["LOC"]
    for place in dict.fromkeys(places):
        add("coverage", place)
    for topic in recording["tags"]["TOPIC"]:
        sl, en = pages.topic_name(topic, "sl"), pages.topic_name(topic, "en")
        add("subject", sl, "sl")
        if en != sl:
            add("subject", en, "en")
    add("type", "Sound")
    audio = recording.get("audio_url")
    if audio:
        add("format", AUDIO_TYPES.get(Path(audio).suffix.lower()))
    add("language", recording.get("language"))
    add("publisher", repo.name)
    if repo.license:
        add("rights", repo.license)
    if repo.license_url:
        add("rights", repo.license_url)
    add("identifier", repo.page.absolute(f"/intervju/{recording['id']}"))
    if audio:
        add("relation", repo.page.absolute(audio))
    add("relation", repo.page.absolute(f"/iiif/{recording['id']}/manifest.json"))


def _record(parent: ET.Element, repo: Repository, recording: dict[str, Any]) -> None:
    record = _sub(parent, "record")
    _header(record, repo, recording)
    _dc(_sub(record, "metadata"), repo, recording)


# -- verbs --------------------------------------------------------------------------------


def _check_prefix(prefix: str | None) -> None:
    if prefix != "oai_dc":
        raise OAIError("cannotDisseminateFormat", "only oai_dc is disseminated")


def identify(body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict) -> None:
    element = _sub(body, "Identify")
    _sub(element, "repositoryName", repo.name)
    _sub(element, "baseURL", repo.base_url)
    _sub(element, "protocolVersion", "2.0")
    _sub(element, "adminEmail", repo.admin_email)
    _sub(element, "earliestDatestamp", utc(repo.datestamp))
    _sub(element, "deletedRecord", "no")
    _sub(element, "granularity", "YYYY-MM-DDThh:mm:ssZ")


def list_metadata_formats(
    body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict
) -> None:
    if "identifier" in args:
        recording_id = repo.recording_id(args["identifier"])
        if recording_id is None or not load_records(conn, [recording_id]):
            raise OAIError("idDoesNotExist", "no such record")
    element = _sub(body, "ListMetadataFormats")
    fmt = _sub(element, "metadataFormat")
    _sub(fmt, "metadataPrefix", "oai_dc")
    _sub(fmt, "schema", OAI_DC_SCHEMA)
    _sub(fmt, "metadataNamespace", OAI_DC)


def list_sets(body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict) -> None:
    if "resumptionToken" in args:  # the whole list always fits in one response
        raise OAIError("badResumptionToken", "this repository sends its sets in one response")
    element = _sub(body, "ListSets")
    for spec, name in SET_NAMES.items():
        item = _sub(element, "set")
        _sub(item, "setSpec", spec)
        _sub(item, "setName", name)
    places: dict[str, str] = {}
    for (place,) in conn.execute(
        "SELECT DISTINCT place FROM recordings WHERE place IS NOT NULL ORDER BY place"
    ):
        if slug(place, ""):
            places.setdefault(slug(place), place)
    for key, place in places.items():
        item = _sub(element, "set")
        _sub(item, "setSpec", f"{PLACE_SET}:{key}")
        _sub(item, "setName", place)
    for (decade,) in conn.execute(
        "SELECT DISTINCT decade FROM recordings WHERE decade IS NOT NULL ORDER BY decade"
    ):
        if re.fullmatch(r"\d{3}0s", decade):
            item = _sub(element, "set")
            _sub(item, "setSpec", f"{DECADE_SET}:{decade[:4]}")
            _sub(item, "setName", f"{decade[:4]}–{int(decade[:4]) + 9}")


def get_record(body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict) -> None:
    _check_prefix(args["metadataPrefix"])
    recording_id = repo.recording_id(args["identifier"])
    found = load_records(conn, [recording_id]) if recording_id is not None else []
    if not found:
        raise OAIError("idDoesNotExist", "no such record")
    _record(_sub(body, "GetRecord"), repo, found[0])


def _list(
    body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict, verb: str
) -> None:
    if "resumptionToken" in args:
        state = decode_token(args["resumptionToken"], verb)
    else:
        _check_prefix(args["metadataPrefix"])
        state = {"verb": verb, "after": 0, "set": args.get("set"),
                 "from": args.get("from"), "until": args.get("until")}  # fmt: skip
    low = high = None
    if state["from"]:
        low, low_grain = parse_stamp(state["from"], "from", end=False)
    if state["until"]:
        high, high_grain = parse_stamp(state["until"], "until", end=True)
    if low and high:
        if low_grain != high_grain:
            raise OAIError("badArgument", "from and until must have the same granularity")
        if low > high:
            raise OAIError("badArgument", "from is later than until")
    stamp = repo.datestamp
    in_time = (low is None or stamp >= low) and (high is None or stamp <= high)
    where, params = _set_where(conn, state["set"])
    ids = (
        [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM recordings WHERE id > ? AND {where} ORDER BY id LIMIT ?",
                [state["after"], *params, repo.page_size + 1],
            )
        ]
        if in_time
        else []
    )
    if not ids:
        if state["after"]:
            raise OAIError("badResumptionToken", "the list this token continues has ended")
        raise OAIError("noRecordsMatch", "no records match this request")
    more = len(ids) > repo.page_size
    ids = ids[: repo.page_size]
    records = load_records(conn, ids)
    element = _sub(body, verb)
    for recording in records:
        if verb == "ListRecords":
            _record(element, repo, recording)
        else:
            _header(element, repo, recording)
    if more or state["after"]:
        total, before = conn.execute(
            f"SELECT count(*), sum(id <= ?) FROM recordings WHERE {where}",
            [state["after"], *params],
        ).fetchone()
        token = _sub(
            element, "resumptionToken", completeListSize=str(total), cursor=str(before or 0)
        )
        if more:
            token.text = encode_token({**state, "after": ids[-1]})


def list_identifiers(
    body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict
) -> None:
    _list(body, repo, conn, args, "ListIdentifiers")


def list_records(body: ET.Element, repo: Repository, conn: sqlite3.Connection, args: dict) -> None:
    _list(body, repo, conn, args, "ListRecords")


HANDLERS = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": list_identifiers,
    "ListRecords": list_records,
}


def check_arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, or the protocol's error for the request."""
    verbs = [value for key, value in pairs if key == "verb"]
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OAIError("badVerb", "missing, repeated or unknown verb")
    verb = verbs[0]
    args: dict[str, str] = {}
    for key, value in pairs:
        if key == "verb":
            continue
        if key in args:
            raise OAIError("badArgument", f"repeated argument {key}")
        args[key] = value
    required, optional = VERBS[verb]
    if "resumptionToken" in args:
        if verb not in RESUMABLE:
            raise OAIError("badArgument", f"{verb} takes no resumptionToken")
        if len(args) > 1:
            raise OAIError("badArgument", "resumptionToken is an exclusive argument")
        return verb, args
    illegal = sorted(set(args) - required - optional)
    if illegal:
        raise OAIError("badArgument", f"illegal argument {illegal[0]} for {verb}")
    missing = sorted(required - set(args))
    if missing:
        raise OAIError("badArgument", f"missing argument {missing[0]} for {verb}")
    return verb, args


def respond(repo: Repository, conn: sqlite3.Connection, pairs: list[tuple[str, str]]) -> bytes:
    """The whole OAI-PMH response document for a request's arguments."""
    root = ET.Element("OAI-PMH", {"xmlns": OAI, f"{{{XSI}}}schemaLocation": f"{OAI} {OAI_SCHEMA}"})
    _sub(root, "responseDate", utc(_now()))
    request_element = _sub(root, "request", repo.base_url)
    try:
        verb, args = check_arguments(pairs)
        # The request's attributes are echoed only for a request that is well formed.
        for key, value in [("verb", verb), *args.items()]:
            request_element.set(key, value)
        body = ET.Element("body")
        HANDLERS[verb](body, repo, conn, args)
        root.extend(list(body))
    except OAIError as error:
        if error.code in ("badVerb", "badArgument"):
            request_element.attrib.clear()
        for child in list(root)[2:]:
            root.remove(child)
        _sub(root, "error", error.message, code=error.code)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


async def oai_view(datasette: Any, request: Any) -> Any:
    """``GET`` or ``POST /oai``: one OAI-PMH request (arguments in the query or the form)."""
    from datasette.utils.asgi import Response

    await pages._allowed(datasette, request)
    if request.method == "POST":
        body = (await request.post_body()).decode("utf-8", "replace")
        pairs = parse_qsl(body, keep_blank_values=True)
    else:
        pairs = parse_qsl(request.query_string, keep_blank_values=True)
    repo = Repository(datasette, request)
    document = await pages._db_call(datasette, lambda conn: respond(repo, conn, pairs))
    response = Response(document.decode("utf-8"), content_type="text/xml; charset=utf-8")
    response.headers["access-control-allow-origin"] = "*"
    return response
