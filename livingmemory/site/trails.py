"""Heritage trails: a walk through places, with what local people remember of each spot.

Gorenjska's action plan digitalises its heritage theme trails; a walker at a stop, or a class
on an excursion, should hear an elder remember that very place. A trail is an ordered list of
stops; a stop is a place with coordinates (typed, or the gazetteer's for its name) and one or
more interview moments (a recording and the second to play from).

* Volunteers compose trails in a YAML file (``livingmemory trail import trails.yml``; ``trail
  list``, ``trail remove``) or in the workspace (the form at ``/-/delo/poti``), both through
  :func:`save_trail`, which checks everything before writing anything.
* Publishing copies only what the public may have (:func:`write_public_trails`): a moment of
  a recording that is not published, or at a redacted passage, is left out; a stop left with
  no moment is dropped, and a trail with no stop. Then the site shows a trail page (map,
  stops, a player at each moment), a GPX file (waypoints and a route, GPX 1.1) and a
  printable A4 poster per stop with a QR code that opens the moment (``/intervju/3#t=754``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livingmemory.archive.access import redaction_spans
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import Archive, current_user, utc_now
from livingmemory.errors import InputError, LivingMemoryError
from livingmemory.site.maps import archive_vocabulary, gazetteer_locator, has_table

MAX_STOPS = 60
MAX_MOMENTS = 12


@dataclass
class Moment:
    recording_id: int
    at: float
    note: str | None = None


@dataclass
class Stop:
    place: str
    latitude: float
    longitude: float
    moments: list[Moment] = field(default_factory=list)
    title: str | None = None
    description: str | None = None


@dataclass
class Trail:
    slug: str
    title: str
    stops: list[Stop] = field(default_factory=list)
    description: str | None = None
    language: str | None = None


# -- reading a trail (YAML or a form) ----------------------------------------------------------


def slugify(text: str) -> str:
    """``Spomini ob Blejskem jezeru`` -> ``spomini-ob-blejskem-jezeru`` (a URL part)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60]


def parse_at(value: Any, where: str) -> float:
    """Seconds from ``754``, ``754.5``, ``12:34`` or ``1:02:03``."""
    if isinstance(value, bool):
        raise LivingMemoryError(f"{where}: 'at' must be seconds or mm:ss")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        match = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)|\d+(?:\.\d+)?", text)
        if match is None:
            raise LivingMemoryError(f"{where}: 'at' must be seconds or mm:ss, not {text[:30]!r}")
        if ":" in text:
            hours, minutes, secs = match.group(1), match.group(2), match.group(3)
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        else:
            seconds = float(text)
    if not 0 <= seconds < 10**7:
        raise LivingMemoryError(f"{where}: 'at' out of range ({seconds:g})")
    return seconds


def _text(value: Any, where: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise LivingMemoryError(f"{where}: missing")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise LivingMemoryError(f"{where}: must be text")
    text = str(value).strip()
    if len(text) > limit:
        raise LivingMemoryError(f"{where}: longer than {limit} characters")
    return text


def trail_from_data(data: Any, archive: Archive, where: str = "trail") -> Trail:
    """A checked :class:`Trail` from a mapping (one trail of a YAML file, or a form).

    Every moment's recording must exist and the second lie inside it; a stop without typed
    ``lat``/``lon`` takes the gazetteer's coordinates for its place, and a place the gazetteer
    does not know needs them typed. Nothing is written here.
    """
    if not isinstance(data, dict):
        raise LivingMemoryError(f"{where}: must be a mapping with a title and stops")
    title = _text(data.get("title"), f"{where}: title", 200, required=True)
    assert title is not None
    slug = slugify(str(data.get("slug") or title))
    if not slug:
        raise LivingMemoryError(f"{where}: the title or slug needs letters or digits")
    where = f"trail {slug!r}"
    stops_data = data.get("stops")
    if not isinstance(stops_data, list) or not stops_data:
        raise LivingMemoryError(f"{where}: needs a list of stops")
    if len(stops_data) > MAX_STOPS:
        raise LivingMemoryError(f"{where}: more than {MAX_STOPS} stops")
    locator = gazetteer_locator(archive_vocabulary(archive))
    durations = {
        row["id"]: row["duration"]
        for row in archive.db.query("SELECT id, duration FROM recordings")
    }
    stops = []
    for number, item in enumerate(stops_data, 1):
        here = f"{where}, stop {number}"
        if not isinstance(item, dict):
            raise LivingMemoryError(f"{here}: must be a mapping with a place and moments")
        place = _text(item.get("place"), f"{here}: place", 200, required=True)
        assert place is not None
        lat, lon = item.get("lat", item.get("latitude")), item.get("lon", item.get("longitude"))
        if lat is None and lon is None:
            found = locator.find(place)
            if found is None:
                raise LivingMemoryError(
                    f"{here}: the gazetteer does not know {place!r}; give its lat and lon"
                )
            lat, lon = found[0], found[1]
        try:
            latitude, longitude = float(lat), float(lon)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise LivingMemoryError(f"{here}: lat and lon must both be numbers") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise LivingMemoryError(f"{here}: lat/lon out of range")
        moments_data = item.get("moments")
        if not isinstance(moments_data, list) or not moments_data:
            raise LivingMemoryError(f"{here}: needs at least one moment (recording and at)")
        if len(moments_data) > MAX_MOMENTS:
            raise LivingMemoryError(f"{here}: more than {MAX_MOMENTS} moments")
        moments = []
        for index, moment in enumerate(moments_data, 1):
            at_where = f"{here}, moment {index}"
            if not isinstance(moment, dict):
                raise LivingMemoryError(f"{at_where}: must be a mapping (recording, at)")
            try:
                recording_id = int(moment.get("recording"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise LivingMemoryError(f"{at_where}: 'recording' must be a number") from None
            if recording_id not in durations:
                raise LivingMemoryError(f"{at_where}: there is no recording #{recording_id}")
            at = parse_at(moment.get("at", 0), at_where)
            duration = durations[recording_id]
            if duration is not None and at >= duration:
                raise LivingMemoryError(
                    f"{at_where}: {at:g} s is past the end of recording #{recording_id} "
                    f"({duration:g} s)"
                )
            moments.append(Moment(recording_id, at, _text(moment.get("note"), at_where, 500)))
        stops.append(
            Stop(
                place=place,
                latitude=latitude,
                longitude=longitude,
                moments=moments,
                title=_text(item.get("title"), f"{here}: title", 200),
                description=_text(item.get("description"), f"{here}: description", 2000),
            )
        )
    return Trail(
        slug=slug,
        title=title,
        stops=stops,
        description=_text(data.get("description"), f"{where}: description", 4000),
        language=_text(data.get("language"), f"{where}: language", 10),
    )


def load_trails(archive: Archive, path: Path) -> list[Trail]:
    """Trails from a YAML file: ``trails: [...]``, a list, or one trail; all checked."""
    from livingmemory.ingest.safeyaml import load

    data = load(Path(path))
    if isinstance(data, dict) and "trails" in data:
        data = data["trails"]
    items = data if isinstance(data, list) else [data]
    if not items or items == [None]:
        raise InputError(path, "no trails in the file")
    trails = [
        trail_from_data(item, archive, f"{path}: trail {n}") for n, item in enumerate(items, 1)
    ]
    slugs = [t.slug for t in trails]
    if len(set(slugs)) != len(slugs):
        raise InputError(path, "two trails have the same title or slug")
    return trails


# -- the archive's trails -----------------------------------------------------------------------


def save_trail(archive: Archive, trail: Trail) -> int:
    """Write ``trail`` (replacing a trail with the same slug) in one transaction; its id."""
    db = archive.db
    with db.atomic():
        old = db.execute("SELECT id FROM trails WHERE slug = ?", [trail.slug]).fetchone()
        row = {
            "slug": trail.slug, "title": trail.title, "description": trail.description,
            "language": trail.language, "updated_at": utc_now(), "updated_by": current_user(),
        }  # fmt: skip
        if old:
            trail_id = int(old[0])
            db.table("trails").update(trail_id, row)
            db.execute(
                "DELETE FROM trail_moments WHERE stop_id IN "
                "(SELECT id FROM trail_stops WHERE trail_id = ?)",
                [trail_id],
            )
            db.execute("DELETE FROM trail_stops WHERE trail_id = ?", [trail_id])
        else:
            trail_id = int(db.table("trails").insert(row).last_pk)  # type: ignore[arg-type]
        for position, stop in enumerate(trail.stops, 1):
            stop_id = db.table("trail_stops").insert(
                {"trail_id": trail_id, "position": position, "place": stop.place,
                 "latitude": stop.latitude, "longitude": stop.longitude, "title": stop.title,
                 "description": stop.description}
            ).last_pk  # fmt: skip
            db.table("trail_moments").insert_all(
                {"stop_id": stop_id, "position": index, "recording_id": moment.recording_id,
                 "at": moment.at, "note": moment.note}
                for index, moment in enumerate(stop.moments, 1)
            )  # fmt: skip
    return trail_id


def import_trails(archive: Archive, path: Path) -> list[Trail]:
    """Check every trail of a YAML file, then write them all (or nothing)."""
    trails = load_trails(archive, path)
    with archive.db.atomic():
        for trail in trails:
            save_trail(archive, trail)
    return trails


def list_trails(archive: Archive) -> list[dict[str, Any]]:
    """The archive's trails with their number of stops and moments."""
    return list(
        archive.db.query(
            "SELECT t.id, t.slug, t.title, t.updated_at, t.updated_by, "
            "(SELECT count(*) FROM trail_stops s WHERE s.trail_id = t.id) AS stops, "
            "(SELECT count(*) FROM trail_moments m JOIN trail_stops s ON s.id = m.stop_id "
            " WHERE s.trail_id = t.id) AS moments FROM trails t ORDER BY t.title"
        )
    )


def get_trail(archive: Archive, slug: str) -> Trail | None:
    """A trail of the archive as composed (all its moments, public or not)."""
    row = archive.db.execute(
        "SELECT id, slug, title, description, language FROM trails WHERE slug = ?", [slug]
    ).fetchone()
    if row is None:
        return None
    trail = Trail(slug=row[1], title=row[2], description=row[3], language=row[4])
    for stop in archive.db.query(
        "SELECT * FROM trail_stops WHERE trail_id = ? ORDER BY position", [row[0]]
    ):
        trail.stops.append(
            Stop(
                place=stop["place"],
                latitude=stop["latitude"],
                longitude=stop["longitude"],
                title=stop["title"],
                description=stop["description"],
                moments=[
                    Moment(m["recording_id"], m["at"], m["note"])
                    for m in archive.db.query(
                        "SELECT recording_id, at, note FROM trail_moments WHERE stop_id = ? "
                        "ORDER BY position",
                        [stop["id"]],
                    )
                ],
            )
        )
    return trail


def remove_trail(archive: Archive, slug: str) -> None:
    with archive.db.atomic():
        row = archive.db.execute("SELECT id FROM trails WHERE slug = ?", [slug]).fetchone()
        if row is None:
            raise LivingMemoryError(f"there is no trail {slug!r} (see 'livingmemory trail list')")
        archive.db.execute(
            "DELETE FROM trail_moments WHERE stop_id IN "
            "(SELECT id FROM trail_stops WHERE trail_id = ?)",
            [row[0]],
        )
        archive.db.execute("DELETE FROM trail_stops WHERE trail_id = ?", [row[0]])
        archive.db.execute("DELETE FROM trails WHERE id = ?", [row[0]])


# -- publishing -----------------------------------------------------------------------------------


def _moment_is_public(
    archive: Archive, public: sqlite3.Connection, moment: sqlite3.Row | dict[str, Any]
) -> str | None:
    """The play link of a moment the public may hear, or None.

    The recording must be in the public database; the second must not fall in (or within a
    second before) a redacted passage, nor inside a transcript segment a redaction touches
    (publish withholds such a segment whole, and so does a trail).
    """
    found = public.execute(
        "SELECT audio_url FROM recordings WHERE id = ?", [moment["recording_id"]]
    ).fetchone()
    if found is None:
        return None
    at = float(moment["at"])
    spans = redaction_spans(archive, moment["recording_id"])
    if any(a - 1.0 <= at < b for a, b in spans):
        return None
    transcript = archive.current_transcript(moment["recording_id"])
    if transcript is not None and spans:
        for start, end in archive.db.execute(
            "SELECT start, end FROM segments WHERE transcript_id = ? AND start <= ? AND end > ?",
            [transcript["id"], at, at],
        ):
            if any(start < b and a < end for a, b in spans):
                return None
    return f"{found[0]}#t={at:g}" if found[0] else f"#t={at:g}"


def public_trail_rows(
    archive: Archive, public: sqlite3.Connection
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the public trail tables: only public moments, stops that keep one, trails
    that keep a stop; positions renumbered so the public never sees a gap."""
    out: dict[str, list[dict[str, Any]]] = {"trails": [], "trail_stops": [], "trail_moments": []}
    if "trails" not in archive.db.table_names():
        return out
    for trail in archive.db.query(
        "SELECT id, slug, title, description, language FROM trails ORDER BY slug"
    ):
        stops: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for stop in archive.db.query(
            "SELECT id, place, latitude, longitude, title, description FROM trail_stops "
            "WHERE trail_id = ? ORDER BY position",
            [trail["id"]],
        ):
            moments: list[dict[str, Any]] = []
            for moment in archive.db.query(
                "SELECT id, recording_id, at, note FROM trail_moments WHERE stop_id = ? "
                "ORDER BY position, id",
                [stop["id"]],
            ):
                play = _moment_is_public(archive, public, moment)
                if play is not None:
                    moments.append(
                        {"id": moment["id"], "stop_id": stop["id"], "position": len(moments) + 1,
                         "recording_id": moment["recording_id"], "at": moment["at"],
                         "note": moment["note"], "play": play}
                    )  # fmt: skip
            if moments:
                stops.append((stop, moments))
        if not stops:
            continue
        out["trails"].append({**trail})
        for position, (stop, moments) in enumerate(stops, 1):
            out["trail_stops"].append({**stop, "trail_id": trail["id"], "position": position})
            out["trail_moments"].extend(moments)
    return out


PUBLIC_COLUMNS = {
    "trails": ("id", "slug", "title", "description", "language"),
    "trail_stops": ("id", "trail_id", "position", "place", "latitude", "longitude", "title",
                    "description"),
    "trail_moments": ("id", "stop_id", "position", "recording_id", "at", "note", "play"),
}  # fmt: skip
PUBLIC_TABLES = {
    "trails": "id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL, "
    "description TEXT, language TEXT",
    "trail_stops": "id INTEGER PRIMARY KEY, trail_id INTEGER NOT NULL REFERENCES trails(id), "
    "position INTEGER NOT NULL, place TEXT NOT NULL, latitude REAL NOT NULL, "
    "longitude REAL NOT NULL, title TEXT, description TEXT",
    "trail_moments": "id INTEGER PRIMARY KEY, stop_id INTEGER NOT NULL "
    "REFERENCES trail_stops(id), position INTEGER NOT NULL, recording_id INTEGER NOT NULL "
    "REFERENCES recordings(id), at REAL NOT NULL, note TEXT, play TEXT",
}


def public_trail_tuples(
    archive: Archive, public: sqlite3.Connection
) -> dict[str, list[tuple[Any, ...]]]:
    """:func:`public_trail_rows` as sorted tuples in :data:`PUBLIC_COLUMNS` order."""
    rows = public_trail_rows(archive, public)
    return {
        table: sorted(tuple(row[c] for c in columns) for row in rows[table])
        for table, columns in PUBLIC_COLUMNS.items()
    }


def write_public_trails(archive: Archive, public: sqlite3.Connection) -> None:
    """Rewrite the public trail tables (whole tables: a few hundred rows at most)."""
    rows = public_trail_tuples(archive, public)
    for table, columns in PUBLIC_COLUMNS.items():
        public.execute(f"DROP TABLE IF EXISTS {table}")
        public.execute(f"CREATE TABLE {table} ({PUBLIC_TABLES[table]})")
        public.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows[table],
        )
    public.execute("CREATE INDEX idx_trail_stops_trail ON trail_stops (trail_id, position)")
    public.execute("CREATE INDEX idx_trail_moments_stop ON trail_moments (stop_id, position)")


def published_trail_rows(public: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """What the public trail tables hold now (to tell whether a publish must rewrite them)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, columns in PUBLIC_COLUMNS.items():
        exists = has_table(public, table)
        out[table] = (
            sorted(public.execute(f"SELECT {', '.join(columns)} FROM {table}")) if exists else []
        )
    return out
