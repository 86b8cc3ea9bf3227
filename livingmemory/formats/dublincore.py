"""Dublin Core records as CSV, one interview a row, for catalogues and repository imports.

Multi-valued fields (narrators, interviewers, topics) are joined with ``"; "``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from livingmemory.errors import InputError
from livingmemory.timecodes import hms

# Column -> the row keys it is filled from (the first present wins).
COLUMNS: dict[str, tuple[str, ...]] = {
    "dc:identifier": ("dc:identifier", "identifier", "id"),
    "dc:title": ("dc:title", "title"),
    "dc:creator": ("dc:creator", "creator", "narrators", "interviewees"),
    "dc:contributor": ("dc:contributor", "contributor", "interviewers"),
    "dc:date": ("dc:date", "date"),
    "dc:coverage": ("dc:coverage", "coverage", "place"),
    "dc:language": ("dc:language", "language"),
    "dc:type": ("dc:type", "type"),
    "dc:format": ("dc:format", "format"),
    "dc:extent": ("dc:extent", "extent", "duration"),
    "dc:subject": ("dc:subject", "subject", "topics", "subjects"),
    "dc:description": ("dc:description", "description"),
    "dc:rights": ("dc:rights", "rights"),
}
MULTI_VALUED = ("dc:creator", "dc:contributor", "dc:subject")
SEPARATOR = "; "
DEFAULT_TYPE = "Sound"


def _extent(value: Any) -> str:
    """Seconds as ``H:MM:SS``; text as given."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return hms(value, pad_hours=False, nearest=True)
    return str(value)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "dc:extent":
        return _extent(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return SEPARATOR.join(str(item) for item in value if item not in (None, ""))
    return str(value)


def dublin_core_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text with a header row of the ``dc:`` columns above, one row per interview.

    A row may use the column names (``"dc:title"``) or plain keys (``title``, ``narrators``,
    ``interviewers``, ``place``, ``duration`` in seconds, ``topics``, …); lists are joined with
    ``"; "`` and ``dc:type`` defaults to ``"Sound"``. Other keys are ignored.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cells = []
        for column, keys in COLUMNS.items():
            value = next((row[key] for key in keys if key in row), None)
            if column == "dc:type" and value in (None, ""):
                value = DEFAULT_TYPE
            cells.append(_cell(column, value))
        writer.writerow(cells)
    return buffer.getvalue()


def parse_dublin_core_csv(text: str, source: str | Path = "<dublin core csv>") -> list[dict]:
    """Rows keyed by column name; ``dc:creator``, ``dc:contributor``, ``dc:subject`` as lists.

    Columns other than the ``dc:`` ones above are kept as text.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        if not any(column in COLUMNS for column in header):
            raise InputError(source, "no Dublin Core columns (expected dc:identifier, dc:title, …)")
        rows = []
        for row in reader:
            if None in row:
                raise InputError(source, f"line {reader.line_num}: more cells than columns")
            parsed: dict[str, Any] = {}
            for column, value in row.items():
                value = value or ""
                if column in MULTI_VALUED:
                    parsed[column] = [part.strip() for part in value.split(";") if part.strip()]
                else:
                    parsed[column] = value
            rows.append(parsed)
    except csv.Error as error:
        raise InputError(source, f"not valid CSV: {error}") from None
    return rows
