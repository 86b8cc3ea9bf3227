"""JSON: ``{"notes": {...}, "cues": [{"start", "end", "text", "speaker", "id"}, ...]}``;
a cue another voice talks over also has ``"overlap": true``.

:func:`dumps_json` can merge extra per-cue data (word timings, entities) keyed by cue id; the
reader ignores keys it does not know. It also reads Whisper's ``{"segments": [...]}`` output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livingmemory.errors import InputError, quoted
from livingmemory.formats._core import Cue, TranscriptDocument, check_cues
from livingmemory.formats.base import Format
from livingmemory.plugins import Register, hookimpl

if TYPE_CHECKING:
    from livingmemory.formats.base import ExportSource

CUE_KEYS = ("start", "end", "text", "speaker", "id", "overlap")
ENTITY_KEYS = ("label", "text", "canonical", "value", "confidence", "source", "start_seconds")


def _seconds(value: float) -> float:
    return round(float(value), 3)


def dumps_json(doc: TranscriptDocument, extras: dict[str, Any] | None = None) -> str:
    """The document as indented UTF-8 JSON (not ASCII-escaped), ending with a newline.

    ``extras`` maps a cue id to a dict of additional keys for that cue, e.g.
    ``{"seg-42": {"words": [...], "entities": [...]}}``. Extras for ids that no cue has are
    ignored; an extra key that would overwrite a cue field raises :class:`ValueError`.
    """
    extras = extras or {}
    cues = []
    for cue in doc.cues:
        item: dict[str, Any] = {
            "start": _seconds(cue.start),
            "end": _seconds(cue.end),
            "text": cue.text,
            "speaker": cue.speaker,
            "id": cue.id,
        }
        if cue.overlap:  # another voice talks over this cue
            item["overlap"] = True
        if cue.id is not None and cue.id in extras:
            clash = set(extras[cue.id]) & set(CUE_KEYS)
            if clash:
                raise ValueError(f"extras for cue {cue.id!r} would overwrite {sorted(clash)}")
            item.update(extras[cue.id])
        cues.append(item)
    document = {"notes": dict(doc.notes), "cues": cues}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _number(item: dict[str, Any], key: str, where: str, source: str | Path) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(
            source, f"{where}: '{key}' must be a number of seconds, not {quoted(value)}"
        )
    return float(value)


def _optional_text(item: dict[str, Any], key: str, where: str, source: str | Path) -> str | None:
    value = item.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # Whisper numbers its segments
    raise InputError(source, f"{where}: '{key}' must be text or null, not {quoted(value)}")


def _integer(digits: str) -> int | float:
    """A JSON integer; one of thousands of digits (no time or id has them) becomes a float
    (``inf``, refused as a time with the rest), where ``int()`` would raise past 4,300."""
    return int(digits) if len(digits) <= 30 else float(digits)


def loads_json(text: str, source: str | Path = "<json>") -> TranscriptDocument:
    """Parse the JSON layout above; unknown keys (``words``, ``entities``) are ignored."""
    try:
        data = json.loads(text[1:] if text.startswith("\ufeff") else text, parse_int=_integer)
    except json.JSONDecodeError as error:
        raise InputError(
            source, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:  # [[[[...]]]] 100,000 deep: no transcript looks like that
        raise InputError(source, "not a transcript: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError(source, "expected a JSON object with a 'cues' list")
    whisper = "cues" not in data and "segments" in data
    items = data.get("segments") if whisper else data.get("cues")
    if not isinstance(items, list):
        raise InputError(source, "expected a JSON object with a 'cues' list")
    raw_notes = data.get("notes") or {}
    if not isinstance(raw_notes, dict):
        raise InputError(source, "'notes' must be an object of text values")
    notes: dict[str, str] = {}
    for key, value in raw_notes.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InputError(source, f"note {quoted(key)} must be text, not {quoted(value)}")
        notes[key] = value if isinstance(value, str) else str(value)
    cues = []
    for number, item in enumerate(items, 1):
        where = f"cue {number}"
        if not isinstance(item, dict):
            raise InputError(source, f"{where}: expected an object, not {quoted(item)}")
        cue_text = item.get("text", "")
        if not isinstance(cue_text, str):
            raise InputError(source, f"{where}: 'text' must be text, not {quoted(cue_text)}")
        cues.append(
            Cue(
                start=_number(item, "start", where, source),
                end=_number(item, "end", where, source),
                text=cue_text.strip() if whisper else cue_text,
                speaker=_optional_text(item, "speaker", where, source),
                id=_optional_text(item, "id", where, source),
                overlap=item.get("overlap") is True,
            )
        )
    return TranscriptDocument(cues=check_cues(cues, source), notes=notes)


def export_json(context: ExportSource) -> str:
    """A recording as JSON: each cue with its tags and word timings (redacted ones left out)."""
    extras: dict[str, dict[str, Any]] = {}
    for entity in context.entities():
        extras.setdefault(f"seg-{entity['segment_id']}", {}).setdefault("entities", []).append(
            {key: entity[key] for key in ENTITY_KEYS}
        )
    for segment_id, words in context.words().items():
        extras.setdefault(f"seg-{segment_id}", {})["words"] = words
    return dumps_json(context.document, extras)


@hookimpl
def register_formats(register: Register[Format]) -> None:
    register(
        Format(
            ".json",
            "JSON: cues with their words and tags",
            loads=loads_json,
            dumps=dumps_json,
            export=export_json,
        ),
        "json",
    )
