"""The gazetteer: places and organisations the tagger knows, with coordinates for the map.

The package ships ``data/gazetteer.yml`` (Gorenjska and the places its life stories reach;
sources documented in ``data/GAZETTEER.md``). Archive owners extend it without code changes:
``livingmemory vocab add`` stores entries in the archive's ``vocabulary`` table, and any YAML
file in the same format can be passed in. Later entries override earlier ones by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from livingmemory.errors import InputError, quoted

# Shipped files, in order: later entries override earlier ones with the same name.
SHIPPED = ("world.yml", "gazetteer.yml")
LABELS = {"place": "LOC", "organisation": "ORG", "person": "PER"}


@dataclass(frozen=True)
class Entry:
    """One name the tagger should recognise, and what it refers to."""

    name: str
    kind: str  # place | organisation | person
    type: str = ""
    lat: float | None = None
    lon: float | None = None
    aliases: tuple[str, ...] = ()
    ambiguous: bool = False  # also an ordinary word: only matched when capitalised
    region: str | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass
class Gazetteer:
    entries: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        self.entries[entry.name] = entry

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def fingerprint(self) -> str:
        """Changes whenever an entry changes, so re-tagging knows the vocabulary moved on."""
        data = json.dumps([e.__dict__ for e in self.entries.values()], sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()[:10]


def _entries(data: dict[str, Any], source: str) -> Iterable[Entry]:
    for key, kind in (("places", "place"), ("organisations", "organisation"), ("people", "person")):
        for item in data.get(key) or []:
            if not isinstance(item, dict) or not item.get("name"):
                raise InputError(source, f"every entry under {quoted(key)} needs a name")
            yield Entry(
                name=str(item["name"]),
                kind=kind,
                type=str(item.get("type", "")),
                lat=float(item["lat"]) if item.get("lat") is not None else None,
                lon=float(item["lon"]) if item.get("lon") is not None else None,
                aliases=tuple(str(a) for a in item.get("aliases") or ()),
                ambiguous=bool(item.get("ambiguous", False)),
                region=item.get("region"),
                source=item.get("source"),
            )


def load_yaml(path: Path) -> list[Entry]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise InputError(path, f"cannot read gazetteer ({str(error).splitlines()[0]})") from None
    return list(_entries(data, str(path)))


def load_gazetteer(
    extra_files: Iterable[Path] = (), vocabulary: Iterable[dict[str, Any]] = ()
) -> Gazetteer:
    """The shipped gazetteer, then extra YAML files, then the archive's own vocabulary."""
    gazetteer = Gazetteer()
    # The wider world first, so that Gorenjska's own entries (with coordinates) win a name.
    for name in SHIPPED:
        shipped = resources.files("livingmemory") / "data" / name
        # libyaml's safe loader when present: the same data, five times faster than PyYAML's.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        text = shipped.read_text(encoding="utf-8")
        for entry in _entries(yaml.load(text, Loader=loader), name):
            gazetteer.add(entry)
    for path in extra_files:
        for entry in load_yaml(path):
            gazetteer.add(entry)
    for row in vocabulary:
        gazetteer.add(
            Entry(
                name=row["name"],
                kind=row["kind"],
                type=row.get("type") or "",
                lat=row.get("latitude"),
                lon=row.get("longitude"),
                aliases=tuple(json.loads(row["aliases"]) if row.get("aliases") else ()),
                ambiguous=bool(row.get("ambiguous")),
                source="archive vocabulary",
            )
        )
    return gazetteer
