"""The transcript model shared by every format, and the small helpers the readers share.

Nothing here touches the archive: a :class:`TranscriptDocument` is a list of timed cues plus
free-form header notes, and every reader/writer is a plain function over it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from livingmemory.errors import InputError, quoted
from livingmemory.timecodes import timecode


@dataclass(frozen=True)
class Cue:
    """One timed stretch of speech."""

    start: float  # seconds
    end: float
    text: str
    speaker: str | None = None
    id: str | None = None  # optional cue identifier (e.g. "seg-42" for a segment id)
    overlap: bool = False  # another voice talks over this cue (livingmemory/speakers/overlap.py)


@dataclass(frozen=True)
class TranscriptDocument:
    """Cues in time order plus header metadata (``{"recording": "3", "duration": "123.4"}``)."""

    cues: list[Cue]
    notes: dict[str, str] = field(default_factory=dict)


# -- timecodes ----------------------------------------------------------------------------


_TIMECODE_RE = re.compile(r"(?:(\d{1,7}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?")


def parse_timecode(text: str) -> float:
    """Seconds from ``HH:MM:SS.mmm``, ``MM:SS.mmm``, ``HH:MM:SS,mmm`` or ``HH:MM:SS``.

    Raises :class:`ValueError` (with the offending text) for anything else.
    """
    match = _TIMECODE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a timecode: {quoted(text)}")
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(f"not a timecode (minutes and seconds run 00-59): {quoted(text)}")
    whole = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return (whole * 1000 + int((fraction or "0").ljust(3, "0"))) / 1000


# -- speaker labels ("Ana Novak: text") ----------------------------------------------------

# 1-4 words, each starting with a capital letter, then a colon and a space (or the line's end).
# A number may close the label: voices nobody named are written "Govorec 1", "Govorec 2"
# (speakers/turns.py) and must read back as speakers, not as text.
_WORD = r"[^\W\d_][\w.'’-]*"
_LABEL_RE = re.compile(rf"({_WORD}(?: {_WORD}){{0,3}}(?: \d{{1,2}})?):(?:[ \t]+|$)")


def split_speaker(line: str) -> tuple[str | None, str]:
    """``("Ana Novak", "text")`` for ``"Ana Novak: text"``; ``(None, line)`` otherwise."""
    match = _LABEL_RE.match(line)
    if match is None:
        return None, line
    name = match.group(1)
    if not all(word[0].isupper() or word.isdigit() for word in name.split(" ")):
        return None, line
    return name, line[match.end() :]


def looks_like_label(line: str) -> bool:
    """Whether a reader would take the start of ``line`` for a speaker label."""
    return split_speaker(line)[0] is not None


# -- overlapped speech ("Ana Novak: [hkrati] text") -----------------------------------------

# Plain text and SRT have no field for "another voice talks over this cue", so the mark goes
# where transcription style guides put their crosstalk tag: in brackets at the start of the
# talked-over words, after the speaker's name. Slovenian, like every page volunteers read.
OVERLAP_MARK = "[hkrati]"
_OVERLAP_RE = re.compile(r"\[hkrati\](?:[ \t]+|$)", re.IGNORECASE)


def mark_overlap(line: str, overlap: bool) -> str:
    """``"[hkrati] line"`` for a cue another voice talks over; ``line`` otherwise."""
    return f"{OVERLAP_MARK} {line}".rstrip() if overlap else line


def split_overlap(line: str) -> tuple[bool, str]:
    """``(True, "text")`` for ``"[hkrati] text"``; ``(False, line)`` otherwise (older files,
    written before the mark, read as they always did)."""
    match = _OVERLAP_RE.match(line)
    if match is None:
        return False, line
    return True, line[match.end() :]


# -- header notes --------------------------------------------------------------------------

_UNESCAPE_RE = re.compile(r"\\(.)")
_UNESCAPES = {"n": "\n", "r": "\r"}


def escape_note(value: str) -> str:
    """A note value on one line: backslash, newline and carriage return escaped."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def unescape_note(value: str) -> str:
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(1)), value)


_NOTE_KEY_RE = re.compile(r"[^\s=:]+")


def check_note_keys(notes: dict[str, str], fmt: str) -> None:
    """Note keys must be single tokens (no spaces, ``=`` or ``:``) to survive a text header."""
    for key, value in notes.items():
        if not isinstance(key, str) or _NOTE_KEY_RE.fullmatch(key) is None:
            raise ValueError(f"{fmt} note key {key!r} must be one word without '=' or ':'")
        if not isinstance(value, str):
            raise ValueError(f"{fmt} note {key!r} must be a string, not {type(value).__name__}")


# -- text lines ----------------------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` with a BOM dropped and CRLF/CR line ends treated as LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def text_lines(text: str) -> list[str]:
    """Non-blank lines of a cue's text (cue formats end a cue at a blank line)."""
    return [line for line in text.split("\n") if line.strip()]


def check_cues(cues: Iterable[Cue], source: str | Path) -> list[Cue]:
    """Every cue has finite times, starts at or after 0 and does not end before it starts."""
    checked = []
    for number, cue in enumerate(cues, 1):
        if not (math.isfinite(cue.start) and math.isfinite(cue.end)):
            raise InputError(source, f"cue {number}: times must be finite numbers")
        if cue.start < 0:
            raise InputError(source, f"cue {number}: starts before 0 ({cue.start})")
        if cue.end < cue.start:
            raise InputError(
                source,
                f"cue {number}: ends ({timecode(max(cue.end, 0))}) "
                f"before it starts ({timecode(cue.start)})",
            )
        checked.append(cue)
    return checked


def parse_cue_timing(
    line: str, lineno: int, source: str | Path, sep: str = "."
) -> tuple[float, float]:
    """``start --> end`` of a WebVTT or SRT cue (settings after the end are ignored);
    ``sep`` is the decimal separator used in error messages (SRT writes a comma)."""
    left, _, right = line.partition("-->")
    parts = right.split()
    if not parts:
        raise InputError(source, f"line {lineno}: cue timing {quoted(line)} has no end time")
    try:
        start = parse_timecode(left)
        end = parse_timecode(parts[0])
    except ValueError as error:
        raise InputError(source, f"line {lineno}: {error}") from None
    if end < start:
        raise InputError(
            source,
            f"line {lineno}: cue ends ({timecode(end, sep)}) before it starts "
            f"({timecode(start, sep)})",
        )
    return start, end
