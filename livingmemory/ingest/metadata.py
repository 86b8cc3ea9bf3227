"""Interview metadata: what volunteers type, checked before anything touches the archive.

Metadata arrives from three places (command-line options, a YAML sidecar next to the audio, a
row of a spreadsheet saved as CSV). All three go through :func:`metadata_from_mapping` or the
:class:`RecordingMetadata` constructor and :meth:`RecordingMetadata.validate`, so the rules
(date forms, language codes, access levels, embargo dates) are enforced the same way everywhere
and a typo is reported with the file it came from.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from livingmemory.errors import InputError, LivingMemoryError, quoted
from livingmemory.ingest import safeyaml
from livingmemory.ingest.languages import normalize_language

ACCESS_LEVELS = ("public", "restricted", "embargoed")
# Volunteers may write access levels in Slovenian (sidecars, CSV, the workspace, the CLI).
ACCESS_ALIASES = {"javno": "public", "omejeno": "restricted", "embargo": "embargoed",
                  "zaprto": "restricted", "embargoed": "embargoed"}  # fmt: skip
# Safe by default: nothing is published until a volunteer records consent to publish.
DEFAULT_ACCESS = "restricted"
SIDECAR_SUFFIXES = (".yml", ".yaml")
# The phonograph is from 1877; an earlier recording date is a typo.
EARLIEST_YEAR = 1877


@dataclass(frozen=True)
class Person:
    """A narrator or interviewer; birth year and home place only where known."""

    name: str
    birth_year: int | None = None
    home_place: str | None = None


@dataclass(frozen=True)
class RecordingMetadata:
    """Everything a volunteer says about one recording. ``None`` means "not given"."""

    title: str | None = None
    narrators: tuple[Person, ...] = ()
    interviewers: tuple[Person, ...] = ()
    recorded_date: str | None = None
    place: str | None = None
    language: str | None = None
    access: str | None = None
    embargo_until: str | None = None
    consent_notes: str | None = None
    notes: str | None = None
    added_by: str | None = None
    interview: str | None = None  # parts of one interview (several tapes) share this key
    part: int | None = None

    def merged(self, override: RecordingMetadata) -> RecordingMetadata:
        """Values given in ``override`` win; people lists are replaced, not concatenated.

        An embargo date given without an access level means "embargoed", even when the
        sidecar or CSV row said public: the more private reading wins.
        """
        changes = {
            name: value
            for name in self.__dataclass_fields__
            if (value := getattr(override, name)) not in (None, (), {})
        }
        if override.embargo_until and not override.access:
            changes["access"] = "embargoed"
        return replace(self, **changes)

    def validate(self, source: str | Path) -> RecordingMetadata:
        """Return a normalised copy, or raise :class:`InputError` naming ``source``."""
        try:
            language = normalize_language(self.language) if self.language else None
        except LivingMemoryError as error:
            raise InputError(source, str(error)) from None
        recorded = parse_date(self.recorded_date, "date", source) if self.recorded_date else None
        if recorded and recorded > dt.date.today().isoformat():
            raise InputError(source, f"date {recorded} is in the future")
        embargo = parse_date(self.embargo_until, "embargo_until", source, full=True)
        access = (self.access or "").strip().lower() or None
        access = ACCESS_ALIASES.get(access, access) if access else None
        if access is None:
            access = "embargoed" if embargo else DEFAULT_ACCESS
        if access not in ACCESS_LEVELS:
            raise InputError(
                source,
                f"unknown access level {quoted(self.access)} (use {', '.join(ACCESS_LEVELS)})",
            )
        if access == "embargoed" and not embargo:
            raise InputError(source, "access 'embargoed' needs an embargo date (--embargo-until)")
        if embargo and access != "embargoed":
            raise InputError(source, f"an embargo date was given but access is {quoted(access)}")
        part = self.part
        if part is not None:
            digits = str(part).strip()
            # isdigit() first, then the length: int() of 4,300 digits raises (CVE-2020-10735).
            if not digits.isdigit() or len(digits) > 6 or int(digits) < 1:
                raise InputError(source, f"part {quoted(part)} is not a number from 1 up")
            part = int(part)
            if not self.interview:
                raise InputError(source, "a part number needs --interview (the interview's key)")
        return replace(
            self,
            narrators=_clean_people(self.narrators),
            interviewers=_clean_people(self.interviewers),
            title=_clean(self.title),
            place=_clean(self.place),
            language=language,
            recorded_date=recorded,
            access=access,
            embargo_until=embargo,
            consent_notes=_clean(self.consent_notes),
            notes=_clean(self.notes),
            added_by=_clean(self.added_by),
            interview=_clean(self.interview),
            part=part if part is not None else (1 if self.interview else None),
        )


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _clean_people(people: tuple[Person, ...]) -> tuple[Person, ...]:
    """Trim names and drop empty ones ("  Ana Zupan " is Ana Zupan; "" is nobody)."""
    return tuple(
        replace(person, name=" ".join(person.name.split()))
        for person in people
        if person.name and person.name.strip()
    )


_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_SLOVENIAN = re.compile(r"^(?:(\d{1,2})\.\s*)?(\d{1,2})\.\s*(\d{4})$")  # 13. 5. 1954 / 5. 1954


def parse_date(
    value: Any, field_name: str, source: str | Path, *, full: bool = False
) -> str | None:
    """Normalise a date to ISO 8601, keeping the precision the volunteer knew.

    Oral-history dates are often partial ("1954", "1954-05"); both ISO and the Slovenian
    "13. 5. 1954" forms are accepted. ``full=True`` demands a day (embargo dates).
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):  # YAML reads an unquoted 1954-05-13 as a date
        value = value.isoformat()
    text = str(value).strip()
    year = month = day = None
    if match := _ISO.match(text):
        year, month, day = match.groups()
    elif match := _SLOVENIAN.match(text):
        day, month, year = match.groups()
    if year is None:
        raise InputError(
            source, f"{field_name} {quoted(text)} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"
        )
    if full and day is None:
        raise InputError(source, f"{field_name} {quoted(text)} needs a full date YYYY-MM-DD")
    try:
        parsed = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise InputError(
            source, f"{field_name} {quoted(text)} is not a valid calendar date"
        ) from None
    if parsed.year < EARLIEST_YEAR:
        raise InputError(source, f"{field_name} {quoted(text)} is before {EARLIEST_YEAR}")
    if day:
        return parsed.isoformat()
    if month:
        return f"{parsed.year:04d}-{parsed.month:02d}"
    return f"{parsed.year:04d}"


def parse_birth_year(value: Any, source: str | Path) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}", text) or not 1850 <= int(text) <= dt.date.today().year:
        raise InputError(source, f"birth year {quoted(text)} is not a four-digit year")
    return int(text)


# Field names accepted in sidecars and CSV headers, and the attribute each one sets.
FIELDS: dict[str, str] = {
    "title": "title",
    "narrator": "narrators",
    "narrators": "narrators",
    "interviewer": "interviewers",
    "interviewers": "interviewers",
    "date": "recorded_date",
    "recorded_date": "recorded_date",
    "place": "place",
    "language": "language",
    "access": "access",
    "embargo_until": "embargo_until",
    "consent": "consent_notes",
    "consent_notes": "consent_notes",
    "notes": "notes",
    "added_by": "added_by",
    "narrator_birth_year": "narrator_birth_year",
    "narrator_home_place": "narrator_home_place",
    "interview": "interview",
    "part": "part",
    # Slovenian column names and sidecar keys, beside the English ones.
    "naslov": "title",
    "pripovedovalec": "narrators",
    "pripovedovalka": "narrators",
    "pripovedovalci": "narrators",
    "spraševalec": "interviewers",
    "spraševalka": "interviewers",
    "sprasevalec": "interviewers",
    "datum": "recorded_date",
    "kraj": "place",
    "jezik": "language",
    "dostop": "access",
    "soglasje": "consent_notes",
    "opombe": "notes",
    "embargo_do": "embargo_until",
    "dodal": "added_by",
    "dodala": "added_by",
}
PERSON_KEYS = {"name", "birth_year", "home_place"}


def _unknown_field(key: str, source: str | Path, allowed: Iterable[str]) -> InputError:
    near = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    # The hint names each field once, in English (the Slovenian names are aliases of them).
    known = ", ".join(sorted(set(FIELDS.get(name, name) for name in allowed)))
    hint = f" (did you mean {quoted(near[0])}?)" if near else f" (known fields: {known})"
    # The list of fields is long: a long unknown name is named by a shorter beginning, so
    # the whole message stays one line a volunteer can read.
    return InputError(source, f"unknown field {quoted(key, 30)}{hint}")


def _people(value: Any, source: str | Path) -> tuple[Person, ...]:
    """People from a name, a "A; B" list, a mapping, or a YAML list of either."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else [value]
    people: list[Person] = []
    for item in items:
        if isinstance(item, Mapping):
            for key in item:
                if key not in PERSON_KEYS:
                    raise _unknown_field(str(key), source, sorted(PERSON_KEYS))
            name = _clean(item.get("name"))
            if not name:
                raise InputError(source, "a person entry has no name")
            people.append(
                Person(
                    name=name,
                    birth_year=parse_birth_year(item.get("birth_year"), source),
                    home_place=_clean(item.get("home_place")),
                )
            )
        else:
            people.extend(Person(n.strip()) for n in str(item).split(";") if n.strip())
    return tuple(people)


def metadata_from_mapping(data: Mapping[str, Any], source: str | Path) -> RecordingMetadata:
    """Build metadata from a sidecar's or CSV row's fields; unknown fields are errors."""
    values: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key).strip().lower().replace(" ", "_").replace("-", "_")
        if key not in FIELDS:
            raise _unknown_field(str(raw_key), source, sorted(FIELDS))
        values[FIELDS[key]] = value
    narrators = _people(values.pop("narrators", None), source)
    birth_year = parse_birth_year(values.pop("narrator_birth_year", None), source)
    home_place = _clean(values.pop("narrator_home_place", None))
    if (birth_year or home_place) and narrators:
        first = narrators[0]
        narrators = (
            replace(
                first,
                birth_year=first.birth_year or birth_year,
                home_place=first.home_place or home_place,
            ),
            *narrators[1:],
        )
    elif birth_year or home_place:
        raise InputError(source, "narrator_birth_year/narrator_home_place given without a narrator")
    interviewers = _people(values.pop("interviewers", None), source)
    scalars = {k: None if v is None else v for k, v in values.items()}
    for key in (
        "title",
        "place",
        "language",
        "access",
        "consent_notes",
        "notes",
        "added_by",
        "interview",
    ):
        if key in scalars and scalars[key] is not None:
            scalars[key] = str(scalars[key])
    return RecordingMetadata(narrators=narrators, interviewers=interviewers, **scalars)


def find_sidecar(audio: Path) -> Path | None:
    """``interview.yml`` (or ``.yaml``) beside ``interview.mp3``, if there is one."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = audio.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path) -> RecordingMetadata:
    """Metadata from a YAML sidecar file."""
    data = safeyaml.load(path)  # no aliases, no deep nesting, dates kept as text
    if data is None:
        return RecordingMetadata()
    if not isinstance(data, Mapping):
        raise InputError(path, "a sidecar must be a mapping of field: value")
    return metadata_from_mapping(data, path)


@dataclass(frozen=True)
class CsvEntry:
    """One spreadsheet row: the audio file it names and its metadata."""

    path: Path
    metadata: RecordingMetadata
    source: str
    error: InputError | None = None


MAX_CELL = 10_000  # characters: far more than any title or note a volunteer types


def _inside(folder: Path, cell: str) -> bool:
    """Whether ``cell`` names a path inside ``folder`` (its sub-folders included): a sheet
    must not pull in ``../../home/ana/private.wav`` or ``/etc/...``."""
    if Path(cell).is_absolute() or (len(cell) > 1 and cell[1] == ":"):  # C:\...
        return False
    target = Path(os.path.normpath(folder / cell))
    return target == folder or folder in target.parents


# Long: the dialect, the header check and the per-row errors of one spreadsheet, in reading order.
def read_csv(path: Path) -> list[CsvEntry]:
    """Rows of a volunteer spreadsheet; ``file`` is relative to the CSV's folder.

    The header is checked first (a typo'd column fails before any file is added); a problem in
    one row is attached to that row (``file.csv:3``) so the rest of the batch still goes in.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text (save the sheet as 'CSV UTF-8')") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="" keeps line breaks inside quoted cells; line_num gives the sheet's row number.
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "datoteka" in headers and "file" not in headers:
        headers = ["file" if h == "datoteka" else h for h in headers]
        reader.fieldnames = headers
    if "file" not in headers:
        raise InputError(path, "the CSV needs a 'file' column naming each recording")
    for header in headers:
        if header != "file" and header.replace(" ", "_").replace("-", "_") not in FIELDS:
            raise _unknown_field(header, path, ["file", *sorted(FIELDS)])
    entries = []
    folder = Path(os.path.normpath(path.parent.absolute()))
    first_row: dict[str, int] = {}  # each file's first row: a sheet names a recording once
    rows = iter(reader)
    while True:
        try:
            raw = next(rows)
        except StopIteration:
            break
        except csv.Error as error:  # a cell over the size limit, a NUL byte...
            raise InputError(f"{path}:{reader.line_num}", f"cannot be read ({error})") from None
        number = reader.line_num
        source = f"{path}:{number}"
        extra = raw.pop(None, None)  # DictReader puts cells past the header under None
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()) and not extra:
            continue
        file_cell = row.pop("file")
        target = path.parent / file_cell
        try:
            if extra and any(cell.strip() for cell in extra):
                raise InputError(source, f"{len(extra)} more cell(s) than the header has columns")
            if not file_cell:
                raise InputError(source, "the 'file' cell is empty")
            if not _inside(folder, file_cell):
                raise InputError(
                    source,
                    f"'file' must name a file in the sheet's folder, not {quoted(file_cell)}",
                )
            named = os.path.normcase(os.path.normpath(folder / file_cell))
            if first_row.setdefault(named, number) != number:
                # Refused here, before any file is read: 1,000 rows naming one file would
                # otherwise hash and compare it 1,000 times.
                raise InputError(source, f"names the same file as row {first_row[named]}")
            if any(len(v) > MAX_CELL for v in row.values()):
                raise InputError(source, f"a cell is longer than {MAX_CELL} characters")
            metadata = metadata_from_mapping({k: v for k, v in row.items() if v}, source)
        except InputError as error:
            entries.append(CsvEntry(target, RecordingMetadata(), source, error))
            continue
        entries.append(CsvEntry(path=target, metadata=metadata, source=source))
    return entries
