"""The interview index people write: OHMS-style points at a time, kept as revisions.

OHMS's heart is the index: a point at a moment of the interview with a title, a partial
transcript, a synopsis, keywords, subjects, a place (with coordinates) and links, written by
the archive's people. Here each point is a row of ``index_points`` and every add, edit,
accept and removal adds an ``index_point_revisions`` row with who, when, and the point before
and after, as corrections keep theirs (:mod:`livingmemory.review.revisions`): nothing a
volunteer wrote is ever lost, a removed point stays in its history.

A volunteer's point is accepted when written (``draft=True`` keeps it a draft); the machine's
suggestions (:func:`suggest_points`: where the topics change, where names crowd together) are
drafts a volunteer accepts (:func:`accept_point`), and only accepted points are published
(:func:`livingmemory.archive.access.public_index_points`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livingmemory.archive.store import Archive, utc_now
from livingmemory.errors import InputError, LivingMemoryError

TEXT_FIELDS = ("title", "partial_transcript", "synopsis", "place")
LIST_FIELDS = ("keywords", "subjects")
EDITABLE = (
    "at", "title", "partial_transcript", "synopsis", "keywords", "subjects", "place", "lat",
    "lon", "links",
)  # fmt: skip
# A point may sit a little past the end (rounded durations), not further.
END_TOLERANCE = 1.0
MAX_TEXT = {"title": 300, "partial_transcript": 4000, "synopsis": 8000, "place": 200}
_URL_RE = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)
# Machine suggestions: windows of this many seconds, at most one suggestion per this spacing.
SUGGEST_WINDOW = 60.0
SUGGEST_SPACING = 90.0


def _split_list(value: Any, name: str) -> list[str]:
    """A list of short strings from a list or a comma-separated string ("a, b")."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise LivingMemoryError(f"{name}: naštej z vejicami / give a list or comma-separated words")
    items = [str(item).strip() for item in value if str(item).strip()]
    if any(len(item) > 200 for item in items):
        raise LivingMemoryError(
            f"{name}: vnos je daljši od 200 znakov / an entry is longer than 200 characters"
        )
    return list(dict.fromkeys(items))


def parse_link(value: Any) -> dict[str, str]:
    """``{"url", "label"}`` from a dict or ``"URL"`` / ``"URL label words"``; only http(s)
    addresses (a ``javascript:`` link on the public page would run in visitors' browsers)."""
    if isinstance(value, dict):
        url, label = str(value.get("url") or "").strip(), str(value.get("label") or "").strip()
    else:
        url, _, label = str(value).strip().partition(" ")
        label = label.strip()
    if not _URL_RE.match(url):
        raise LivingMemoryError(
            f"povezava {url!r}: naslov naj se začne s http:// ali https:// / link: use an "
            "address that starts with http:// or https://"
        )
    return {"url": url, "label": label or url}


def _coordinate(value: Any, name: str, limit: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LivingMemoryError(f"{name} {value!r} ni število / is not a number") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise LivingMemoryError(f"{name} {value!r} je zunaj / is outside -{limit:g}..{limit:g}")
    return number


def place_coordinates(archive: Archive, place: str) -> tuple[float, float] | None:
    """A place's coordinates from the gazetteer (the shipped one, the archive's
    ``vocabulary.yml`` and ``vocab add`` entries), by its name or an alias, any case."""
    from livingmemory.tagging.gazetteer import load_gazetteer

    extra = [p for p in (archive.root / "vocabulary.yml",) if p.is_file()]
    wanted = place.strip().casefold()
    for entry in load_gazetteer(extra, vocabulary=archive.db["vocabulary"].rows):
        if entry.kind != "place" or entry.lat is None or entry.lon is None:
            continue
        if any(name.casefold() == wanted for name in entry.names):
            return entry.lat, entry.lon
    return None


def _clean(archive: Archive, recording: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the fields in ``values`` (only those given); one clear error."""
    clean: dict[str, Any] = {}
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise LivingMemoryError(f"unknown index point field(s): {', '.join(sorted(unknown))}")
    if "at" in values:
        at = _coordinate(values["at"], "time", 1e9)
        if at is None or at < 0:
            raise LivingMemoryError(
                "točka potrebuje čas 0 s ali več / an index point needs a time of 0 seconds or more"
            )
        if at > recording["duration"] + END_TOLERANCE:
            raise LivingMemoryError(
                f"{at:g} s je za koncem posnetka / is past the end of recording "
                f"#{recording['id']} ({recording['duration']:.1f} s)"
            )
        clean["at"] = round(at, 3)
    for name in TEXT_FIELDS:
        if name in values:
            text = (str(values[name]) if values[name] is not None else "").strip()
            if len(text) > MAX_TEXT[name]:
                raise LivingMemoryError(
                    f"{name}: največ {MAX_TEXT[name]} znakov / "
                    f"is longer than {MAX_TEXT[name]} characters"
                )
            clean[name] = text or None
    if "title" in values and not clean.get("title"):
        raise LivingMemoryError("točka potrebuje naslov / an index point needs a title")
    for name in LIST_FIELDS:
        if name in values:
            clean[name] = json.dumps(_split_list(values[name], name), ensure_ascii=False)
    if "links" in values:
        links = values["links"] or []
        if isinstance(links, str | dict):
            links = [links]
        clean["links"] = json.dumps([parse_link(link) for link in links], ensure_ascii=False)
    lat = _coordinate(values.get("lat"), "latitude", 90)
    lon = _coordinate(values.get("lon"), "longitude", 180)
    if "lat" in values or "lon" in values:
        if (lat is None) != (lon is None):
            raise LivingMemoryError(
                "vpiši obe koordinati ali nobene / give both latitude and longitude, or neither"
            )
        clean["lat"], clean["lon"] = lat, lon
    if clean.get("place") and lat is None and "lat" not in values:
        # A named place gets the gazetteer's coordinates unless some were typed.
        found = place_coordinates(archive, clean["place"])
        clean["lat"], clean["lon"] = found if found else (None, None)
    elif "place" in values and not clean.get("place") and "lat" not in values:
        clean["lat"], clean["lon"] = None, None
    return clean


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{k: json.loads(row[k] or "[]") for k in (*LIST_FIELDS, "links")}}


def get_point(archive: Archive, point_id: int) -> dict[str, Any]:
    """One index point (lists decoded); a clear error when there is none."""
    try:
        point_id = int(point_id)
    except (TypeError, ValueError):
        raise LivingMemoryError(f"{point_id!r} is not an index point id") from None
    rows = list(archive.db.query("SELECT * FROM index_points WHERE id = ?", [point_id]))
    if not rows:
        raise LivingMemoryError(f"ni točke #{point_id} / no index point #{point_id}")
    return _decode(rows[0])


def list_points(
    archive: Archive, recording_id: int, *, status: str | None = None
) -> list[dict[str, Any]]:
    """The recording's index points in time order (lists decoded); ``status`` 'draft' or
    'accepted' to see only those."""
    archive.recording(recording_id)
    if status not in (None, "draft", "accepted"):
        raise LivingMemoryError(f"unknown status {status!r} (use draft or accepted)")
    sql = "SELECT * FROM index_points WHERE recording_id = ?"
    params: list[Any] = [recording_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    return [_decode(row) for row in archive.db.query(sql + " ORDER BY at, id", params)]


def _snapshot(row: dict[str, Any]) -> str:
    keep = {k: row.get(k) for k in (*EDITABLE, "status", "source")}
    return json.dumps(keep, ensure_ascii=False, sort_keys=True)


def _revision(
    archive: Archive,
    point_id: int,
    recording_id: int,
    action: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    author: str | None,
    now: str,
    note: str | None,
) -> None:
    archive.db.table("index_point_revisions").insert(
        {
            "point_id": point_id,
            "recording_id": recording_id,
            "action": action,
            "old": _snapshot(old) if old else None,
            "new": _snapshot(new) if new else None,
            "author": author,
            "created_at": now,
            "note": note,
        }
    )


def add_point(
    archive: Archive,
    recording_id: int,
    *,
    at: float,
    title: str,
    partial_transcript: str | None = None,
    synopsis: str | None = None,
    keywords: Iterable[str] | str | None = None,
    subjects: Iterable[str] | str | None = None,
    place: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    links: Iterable[Any] | None = None,
    draft: bool = False,
    source: str = "volunteer",
    author: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Add a point to the recording's index and return it. A volunteer's point is accepted
    at once unless ``draft``; a machine's (``source='machine'``) is always a draft."""
    recording = archive.recording(recording_id)
    if source not in ("volunteer", "machine"):
        raise LivingMemoryError(f"unknown source {source!r}")
    values: dict[str, Any] = {
        "at": at, "title": title, "partial_transcript": partial_transcript,
        "synopsis": synopsis, "keywords": list(keywords or []) if not isinstance(keywords, str)
        else keywords, "subjects": list(subjects or []) if not isinstance(subjects, str)
        else subjects, "place": place, "links": list(links or []),
    }  # fmt: skip
    if lat is not None or lon is not None:
        values.update(lat=lat, lon=lon)
    row = _clean(archive, recording, values)
    now = utc_now()
    row.update(
        recording_id=recording_id,
        status="draft" if draft or source == "machine" else "accepted",
        source=source,
        created_by=author,
        created_at=now,
        updated_by=author,
        updated_at=now,
    )
    with archive.db.atomic():
        point_id = archive.db.table("index_points").insert(row).last_pk
        assert point_id is not None  # an insert of one row always sets it
        _revision(archive, point_id, recording_id, "add", None, row, author, now, note)
    return get_point(archive, point_id)


def edit_point(
    archive: Archive,
    point_id: int,
    changes: dict[str, Any],
    *,
    author: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Change some fields of a point (a revision records before and after). A machine's
    draft stays a draft until accepted; nothing changes when nothing differs."""
    old = archive.db.table("index_points").get(get_point(archive, point_id)["id"])
    recording = archive.recording(old["recording_id"])
    clean = _clean(archive, recording, changes)
    differs = {k: v for k, v in clean.items() if old.get(k) != v}
    if not differs:
        return get_point(archive, point_id)
    now = utc_now()
    new = {**old, **differs, "updated_by": author, "updated_at": now}
    with archive.db.atomic():
        archive.db.table("index_points").update(old["id"], {**differs, "updated_by": author,
                                                             "updated_at": now})  # fmt: skip
        _revision(archive, old["id"], old["recording_id"], "edit", old, new, author, now, note)
    return get_point(archive, point_id)


def accept_point(
    archive: Archive, point_id: int, *, author: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """Accept a draft (a machine's suggestion or a volunteer's draft): from now on it is
    published with the recording."""
    old = archive.db.table("index_points").get(get_point(archive, point_id)["id"])
    if old["status"] == "accepted":
        return get_point(archive, point_id)
    now = utc_now()
    new = {**old, "status": "accepted", "updated_by": author, "updated_at": now}
    with archive.db.atomic():
        archive.db.table("index_points").update(
            old["id"], {"status": "accepted", "updated_by": author, "updated_at": now}
        )
        _revision(archive, old["id"], old["recording_id"], "accept", old, new, author, now, note)
    return get_point(archive, point_id)


def remove_point(
    archive: Archive, point_id: int, *, author: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """Remove a point from the index; its history keeps what it said. Returns the point."""
    point = get_point(archive, point_id)
    old = archive.db.table("index_points").get(point["id"])
    with archive.db.atomic():
        archive.db.execute("DELETE FROM index_points WHERE id = ?", [old["id"]])
        _revision(archive, old["id"], old["recording_id"], "remove", old, None, author,
                  utc_now(), note)  # fmt: skip
    return point


def point_history(archive: Archive, point_id: int) -> list[dict[str, Any]]:
    """Every revision of a point, oldest first (also of a removed one)."""
    rows = list(
        archive.db.query(
            "SELECT * FROM index_point_revisions WHERE point_id = ? ORDER BY id", [int(point_id)]
        )
    )
    if not rows:
        raise LivingMemoryError(f"ni točke #{point_id} / no index point #{point_id}")
    return [
        {**row, "old": json.loads(row["old"]) if row["old"] else None,
         "new": json.loads(row["new"]) if row["new"] else None}
        for row in rows
    ]  # fmt: skip


# -- machine suggestions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    at: float
    title: str
    reason: str  # "topic" (the topics change) or "names" (names crowd together)
    keywords: tuple[str, ...]
    subjects: tuple[str, ...]
    place: str | None
    partial_transcript: str


def _windows(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """The current transcript in windows of :data:`SUGGEST_WINDOW` seconds, each with its
    tags (topics, people, places, organisations) and first words."""
    segments = archive.current_segments(recording_id)
    rows = list(
        archive.db.query(
            "SELECT e.segment_id, e.label, coalesce(e.canonical, e.text) AS name "
            "FROM entities e JOIN segments s ON s.id = e.segment_id "
            "JOIN current_transcripts c ON c.transcript_id = s.transcript_id "
            "WHERE e.recording_id = ? AND e.label IN ('TOPIC', 'PER', 'LOC', 'ORG')",
            [recording_id],
        )
    )
    by_segment: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_segment.setdefault(row["segment_id"], []).append(row)
    windows: list[dict[str, Any]] = []
    for segment in segments:
        if not windows or segment["start"] - windows[-1]["start"] >= SUGGEST_WINDOW:
            windows.append({"start": segment["start"], "tags": [], "text": []})
        windows[-1]["tags"] += by_segment.get(segment["id"], [])
        windows[-1]["text"].append(segment["text"])
    return windows


def _topic_name(code: str) -> str:
    """A topic's Slovenian name for a suggested title (its code without the tagger)."""
    try:
        from livingmemory.tagging.pipeline import topic_label
    except ImportError:  # tagging not installed: tags came from elsewhere
        return code
    return topic_label(code) or code


def suggestions(archive: Archive, recording_id: int) -> list[Suggestion]:
    """Where an index point might go: a window whose topics differ from the previous one's
    (a topic shift), or one with at least twice the recording's average number of names
    (entity density). Not stored; see :func:`suggest_points`."""
    windows = _windows(archive, recording_id)
    if not windows:
        return []
    names_per = [sum(t["label"] != "TOPIC" for t in w["tags"]) for w in windows]
    average = sum(names_per) / len(windows)
    found: list[Suggestion] = []
    previous: set[str] = set()
    for window, names in zip(windows, names_per, strict=True):
        topics = {t["name"] for t in window["tags"] if t["label"] == "TOPIC"}
        reason = None
        if topics and topics != previous and not topics <= previous:
            reason = "topic"
        elif names >= 3 and names >= 2 * average:
            reason = "names"
        previous = topics or previous
        if reason is None:
            continue
        others = [t for t in window["tags"] if t["label"] != "TOPIC"]
        keywords = tuple(dict.fromkeys(t["name"] for t in others))[:8]
        place = next((t["name"] for t in others if t["label"] == "LOC"), None)
        words = " ".join(window["text"]).split()
        subjects = tuple(sorted(topics))
        named = [_topic_name(code) for code in subjects]
        title = ", ".join(named or keywords[:3]) or " ".join(words[:6])
        found.append(
            Suggestion(window["start"], title[:120], reason, keywords, subjects, place,
                       " ".join(words[:30]))
        )  # fmt: skip
    return found


def suggest_points(
    archive: Archive, recording_id: int, *, author: str | None = None
) -> list[dict[str, Any]]:
    """Store :func:`suggestions` as machine drafts, none within :data:`SUGGEST_SPACING`
    seconds of a point already there (accepted or draft) or of another suggestion. A
    volunteer accepts, edits or removes them; drafts are never published. Returns the new
    drafts (running it again adds none)."""
    archive.recording(recording_id)
    taken = [p["at"] for p in list_points(archive, recording_id)]
    added = []
    for suggestion in suggestions(archive, recording_id):
        if any(abs(suggestion.at - at) < SUGGEST_SPACING for at in taken):
            continue
        taken.append(suggestion.at)
        added.append(
            add_point(
                archive, recording_id, at=suggestion.at, title=suggestion.title,
                partial_transcript=suggestion.partial_transcript,
                keywords=list(suggestion.keywords), subjects=list(suggestion.subjects),
                place=suggestion.place, source="machine", author=author,
                note=f"suggested: {'topic shift' if suggestion.reason == 'topic' else 'names'}",
            )
        )  # fmt: skip
    return added


# -- OHMS ------------------------------------------------------------------------------------


def import_ohms(
    archive: Archive,
    recording_id: int,
    path: Path,
    *,
    author: str | None = None,
    replace: bool = False,
) -> list[dict[str, Any]]:
    """Add the index of an OHMS XML record to the recording's index (accepted: an OHMS index
    is written by people). ``replace`` removes the recording's current points first (each
    removal a revision). The whole file is checked before anything is written."""
    from livingmemory.formats.ohms import ohms_links, parse_ohms

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read ({error})") from None
    record = parse_ohms(text)
    recording = archive.recording(recording_id)
    prepared = []
    for number, point in enumerate(record["index_points"], 1):
        lat = lon = None
        if point.get("gps"):
            parts = [part.strip() for part in point["gps"].split(",")]
            if len(parts) != 2:
                raise InputError(
                    path, f"index point {number}: GPS {point['gps']!r} is not 'lat, lon'"
                )
            lat, lon = parts
        values = {
            "at": point["time"], "title": point["title"] or f"Točka {number}",
            "partial_transcript": point["partial_transcript"], "synopsis": point["synopsis"],
            "keywords": point["keywords"], "subjects": point["subjects"],
            "place": point.get("gps_text") or None, "lat": lat, "lon": lon,
            "links": ohms_links(point),
        }  # fmt: skip
        try:
            _clean(archive, recording, values)
        except LivingMemoryError as error:
            raise InputError(path, f"index point {number}: {error}") from None
        prepared.append(values)
    added = []
    with archive.db.atomic():
        if replace:
            for old in list_points(archive, recording_id):
                remove_point(
                    archive, old["id"], author=author, note=f"replaced by {Path(path).name}"
                )
        for values in prepared:
            added.append(
                add_point(archive, recording_id, author=author, note=f"OHMS {Path(path).name}",
                          **values)
            )  # fmt: skip
    return added
